"""Issue #2: pybull's key names are the keys Node BullMQ 6.7.0 reads and writes.

A job added by Node is found through ``pybull.keys.QueueKeys`` (hash, state containers, dedup key,
logs, lock, metrics) and decoded by ``Job.from_hash`` to what Node's ``toJSON()`` says; and a job
written at pybull's key names is one Node's getters find and Node's worker runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from node import arun_node, run_node

from pybull._connection import RedisConnection
from pybull._context import QueueContext
from pybull.job import Job
from pybull.keys import QueueKeys

pytestmark = pytest.mark.interop

#: Fields of Node's toJSON() that Job.to_json() mirrors (Node omits the ones that are undefined).
COMPARED = (
    "id",
    "name",
    "data",
    "opts",
    "timestamp",
    "delay",
    "priority",
    "progress",
    "attemptsMade",
    "attemptsStarted",
    "stalledCounter",
    "returnvalue",
    "stacktrace",
    "failedReason",
    "finishedOn",
    "processedOn",
    "processedBy",
    "deduplicationId",
)


@pytest.fixture
async def ctx(redis_url: str, queue_name: str) -> AsyncIterator[QueueContext]:
    conn = RedisConnection(redis_url)
    yield QueueContext(QueueKeys(queue_name), conn)
    await conn.close()


#: Stored (abbreviated) option names and the public names Node's Job.fromJSON turns them into.
ABBREVIATIONS = {
    "de": "deduplication",
    "fpof": "failParentOnFailure",
    "cpof": "continueParentOnFailure",
    "idof": "ignoreDependencyOnFailure",
    "rdof": "removeDependencyOnFailure",
    "kl": "keepLogs",
    "tm": "telemetryMetadata",
    "omc": "omitContext",
}


def expand(opts: dict[str, Any]) -> dict[str, Any]:
    return {ABBREVIATIONS.get(k, k): v for k, v in opts.items()}


def assert_same_job(py: Job, node: dict[str, Any], *, strict_opts: bool = False) -> None:
    """pybull's decoding of the hash equals Node's; ``strict_opts`` also wants public option names."""
    mine = py.to_json()
    if not strict_opts:
        mine["opts"] = expand(mine["opts"])
    for name in COMPARED:
        expected = node.get(name)
        assert mine[name] == expected, f"job {py.id}: {name}: pybull {mine[name]!r} != Node {expected!r}"


async def test_node_added_jobs_live_at_pybull_keys(
    node_base: dict[str, Any], client: aioredis.Redis, ctx: QueueContext
) -> None:
    keys = ctx.keys
    adds: list[dict[str, Any]] = [
        {"name": "plain", "data": {"n": 1, "s": "é/ü"}},
        {
            "name": "custom",
            "data": [1, 2, 3],
            "opts": {
                "jobId": "my-id",
                "attempts": 3,
                "backoff": 1000,
                "removeOnComplete": True,
                "removeOnFail": {"age": 3600, "count": 10},
            },
        },
        {"name": "delayed", "data": "text", "opts": {"delay": 60000, "timestamp": 1700000000000}},
        {"name": "prio", "data": None, "opts": {"priority": 5, "keepLogs": 4}},
        {"name": "lifo", "data": {"x": True}, "opts": {"lifo": True}},
        {"name": "dedup", "data": {}, "opts": {"deduplication": {"id": "d1", "ttl": 60000}}},
        {
            "name": "expo",
            "opts": {"backoff": {"type": "exponential", "delay": 500, "jitter": 0.5}, "attempts": 2},
        },
    ]
    added = run_node({**node_base, "ops": [{"op": "add", **a} for a in adds]})
    ids = [job["id"] for job in added]
    assert ids[1] == "my-id"

    # Every hash is at keys.job(id), decodes to what Node's toJSON() says.
    for node_job in added:
        raw = await client.hgetall(keys.job(node_job["id"]))
        assert raw, f"no hash at {keys.job(node_job['id'])}"
        assert_same_job(Job.from_hash(ctx, node_job["id"], raw), node_job)

    plain, custom, delayed, prio, lifo, dedup, expo = ids
    # FIFO adds on the left, LIFO on the right (next to run).
    assert await client.lrange(keys.wait, 0, -1) == [expo, dedup, custom, plain, lifo]
    assert await client.zscore(keys.prioritized, prio) == 5 * 2**32 + 1
    assert await client.get(keys.pc) == "1"
    assert await client.zscore(keys.delayed, delayed) == (1700000000000 + 60000) * 4096
    assert await client.get(keys.dedup("d1")) == dedup
    assert await client.get(keys.id) == str(len(adds))
    meta = await client.hgetall(keys.meta)
    assert meta["opts.maxLenEvents"] == "10000"
    assert meta["version"] == "bullmq:6.7.0"
    marker = dict(await client.zrange(keys.marker, 0, -1, withscores=True))
    assert marker.get("0") == 0
    assert marker.get("1") == 1700000060000
    for suffix in ("wait", "prioritized", "delayed", "marker", "meta", "id", "events", "pc"):
        assert keys.key(suffix) in keys.all
    events = await client.xrange(keys.events)
    assert [e[1]["event"] for e in events][:2] == ["added", "waiting"]

    # State key names agree with Node's getJobState for each container.
    for state, job_id in (("waiting", plain), ("prioritized", prio), ("delayed", delayed)):
        key = keys.state_key(state)
        kind = await client.type(key)
        members = await client.lrange(key, 0, -1) if kind == "list" else await client.zrange(key, 0, -1)
        assert job_id in members, (state, key)
        assert next(j for j in added if j["id"] == job_id)["state"] == state


async def test_job_opts_decode_to_public_names_like_node(
    node_base: dict[str, Any], client: aioredis.Redis, ctx: QueueContext
) -> None:
    """Node's Job.fromJSON expands stored abbreviations (kl, de, ...): job.opts must read the same."""
    added = run_node(
        {
            **node_base,
            "ops": [
                {"op": "add", "name": "a", "opts": {"keepLogs": 3, "deduplication": {"id": "x"}}},
                {"op": "add", "name": "b", "opts": {"failParentOnFailure": True, "lifo": True}},
            ],
        }
    )
    for node_job in added:
        raw = await client.hgetall(ctx.keys.job(node_job["id"]))
        assert_same_job(Job.from_hash(ctx, node_job["id"], raw), node_job, strict_opts=True)


async def test_node_processed_jobs_live_at_pybull_keys(
    node_base: dict[str, Any], client: aioredis.Redis, ctx: QueueContext
) -> None:
    keys = ctx.keys
    result = run_node(
        {
            **node_base,
            "ops": [
                {"op": "add", "name": "ok", "data": {"behave": "ok", "result": {"r": 42}, "log": ["l1", "l2"],
                                                     "progress": [50, {"step": "x"}]}},
                {"op": "add", "name": "bad", "data": {"behave": "fail", "message": "nope"},
                 "opts": {"attempts": 2}},
                {"op": "add", "name": "unrec", "data": {"behave": "unrecoverable", "message": "never"}},
                {"op": "work", "count": 3, "concurrency": 1,
                 "worker_opts": {"name": "w-one", "metrics": {"maxDataPoints": 60}}},
                {"op": "getJobsById", "ids": ["1", "2", "3"]},
            ],
        }
    )  # fmt: skip
    work, node_jobs = result[3], result[4]
    assert work["finished"] == 3, work
    for node_job in node_jobs:
        raw = await client.hgetall(keys.job(node_job["id"]))
        assert_same_job(Job.from_hash(ctx, node_job["id"], raw), node_job)
    ok, bad, unrec = [Job.from_hash(ctx, i, await client.hgetall(keys.job(i))) for i in ("1", "2", "3")]
    assert ok.returnvalue == {"r": 42} and ok.progress == {"step": "x"} and ok.processed_by == "w-one"
    assert bad.failed_reason == "nope" and bad.attempts_made == 2 and len(bad.stacktrace) == 2
    assert unrec.attempts_made == 1 and unrec.failed_reason == "never"
    assert await client.lrange(keys.logs("1"), 0, -1) == ["l1", "l2"]
    assert await client.zrange(keys.completed, 0, -1) == ["1"]
    assert sorted(await client.zrange(keys.failed, 0, -1)) == ["2", "3"]
    assert (await client.hgetall(keys.metrics("completed")))["count"] == "1"
    assert (await client.hgetall(keys.metrics("failed")))["count"] == "2"
    assert await client.exists(keys.stalled_check) == 1


async def test_lock_and_active_keys_while_node_processes(
    node_base: dict[str, Any], client: aioredis.Redis, ctx: QueueContext
) -> None:
    keys = ctx.keys
    run_node({**node_base, "op": "add", "name": "slow", "data": {"behave": "sleep", "ms": 1500}})
    worker = asyncio.create_task(arun_node({**node_base, "op": "work", "count": 1, "timeout_ms": 10000}))
    seen_lock = None
    for _ in range(200):
        seen_lock = await client.get(keys.lock("1"))
        if seen_lock:
            break
        await asyncio.sleep(0.01)
    assert seen_lock, f"no lock at {keys.lock('1')} while Node processed job 1"
    assert await client.lrange(keys.active, 0, -1) == ["1"]
    assert 0 < await client.pttl(keys.lock("1")) <= 30000
    result = await worker
    assert result["finished"] == 1
    assert await client.exists(keys.lock("1")) == 0


async def test_jobs_written_at_pybull_keys_are_read_and_run_by_node(
    node_base: dict[str, Any], client: aioredis.Redis, ctx: QueueContext, redis_url: str
) -> None:
    """The minimal hash of wire-format 3.1, written at QueueKeys names, is a job for Node."""
    keys = ctx.keys

    async def write(
        job_id: str, name: str, data: Any, opts: dict[str, Any], *, ts: int, prio: int = 0
    ) -> None:
        await client.hset(
            keys.job(job_id),
            mapping={
                "name": name,
                "data": json.dumps(data),
                "opts": json.dumps(opts),
                "timestamp": ts,
                "delay": opts.get("delay", 0),
                "priority": prio,
            },
        )

    ts = 1795000000000
    await write("a1", "first", {"behave": "ok", "result": "A"}, {"attempts": 0}, ts=ts)
    await write("a2", "second", {"behave": "ok", "result": "B"}, {"attempts": 0}, ts=ts + 1)
    await write(
        "p1", "prio", {"behave": "ok", "result": "P"}, {"priority": 2, "attempts": 0}, ts=ts + 2, prio=2
    )
    await write("d1", "later", {"k": 1}, {"delay": 10**9, "attempts": 0}, ts=ts + 3)
    await client.lpush(keys.wait, "a1", "a2")  # a1 runs first (rightmost)
    await client.zadd(keys.prioritized, {"p1": 2 * 2**32 + 1})
    await client.zadd(keys.delayed, {"d1": (ts + 3 + 10**9) * 4096})

    named = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await named.client_setname(keys.connection_name("py-w"))
    try:
        before = run_node(
            {
                **node_base,
                "ops": [
                    {"op": "getJob", "id": "a1"},
                    {"op": "getJobCounts"},
                    {"op": "getJobState", "id": "p1"},
                    {"op": "getJobState", "id": "d1"},
                    {"op": "getJobs", "types": ["waiting"], "asc": True},
                    {"op": "getWorkers"},
                    {"op": "work", "count": 3},
                    {"op": "getJobsById", "ids": ["a1", "a2", "p1", "d1"]},
                ],
            }
        )
    finally:
        await named.aclose()
    job, counts, p_state, d_state, waiting, workers, work, after = before
    assert (
        job["name"] == "first"
        and job["data"] == {"behave": "ok", "result": "A"}
        and job["state"] == "waiting"
    )
    assert job["timestamp"] == ts
    assert counts == {
        "active": 0,
        "completed": 0,
        "delayed": 1,
        "failed": 0,
        "prioritized": 1,
        "waiting": 2,
        "waiting-children": 0,
    }
    assert (p_state, d_state) == ("prioritized", "delayed")
    assert [j["id"] for j in waiting] == ["a1", "a2"]
    assert [w["rawname"] for w in workers] == [keys.connection_name("py-w")]
    assert work["order"] == ["a1", "a2", "p1"]
    assert [j["state"] for j in after] == ["completed", "completed", "completed", "delayed"]
    assert [j["returnvalue"] for j in after[:3]] == ["A", "B", "P"]
    # Node wrote its results where pybull's keys (and decoder) look.
    for node_job in after:
        raw = await client.hgetall(keys.job(node_job["id"]))
        assert_same_job(Job.from_hash(ctx, node_job["id"], raw), node_job)
    assert sorted(await client.zrange(keys.completed, 0, -1)) == ["a1", "a2", "p1"]


async def test_connection_names_match_node_discovery(redis_url: str, node_base: dict[str, Any]) -> None:
    """getWorkers (Bull Board's worker list) finds pybull's worker connection names, not events ones."""
    keys = QueueKeys(node_base["queue"])
    clients = []
    try:
        for name in (
            keys.connection_name("alpha"),
            keys.connection_name(),
            keys.connection_name(kind="events"),
        ):
            conn = aioredis.Redis.from_url(redis_url, decode_responses=True)
            await conn.client_setname(name)
            clients.append(conn)
        workers = run_node({**node_base, "op": "getWorkers"})
    finally:
        for conn in clients:
            await conn.aclose()
    assert sorted(w["rawname"] for w in workers) == sorted(
        [keys.connection_name("alpha"), keys.connection_name()]
    )


def test_braced_prefix_and_queue_keys_match_node(redis_url: str) -> None:
    """Hash-tagged prefixes and queue names are used verbatim by both sides (Redis Cluster)."""
    keys = QueueKeys("{emails}", prefix="{bull}")
    res = run_node(
        {"url": redis_url, "prefix": "{bull}", "queue": "{emails}", "ops": [{"op": "add", "name": "n"}]}
    )
    import redis

    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert sync.lrange(keys.wait, 0, -1) == [res[0]["id"]]
        assert sync.hget(keys.job(res[0]["id"]), "name") == "n"
        assert keys.qualified_name == res[0]["queueQualifiedName"]
    finally:
        sync.close()
