"""Issue #4: a pybull Worker processes Node BullMQ 6.7.0's jobs exactly as a Node Worker would.

* Node adds jobs of every kind; a pybull worker runs them; Node reads the same results (returnvalue,
  failedReason, stacktrace, attemptsMade, finishedOn, state) and its QueueEvents sees the same event
  sequence per job as in a twin run with a Node worker.
* Mixed fleet: a Node worker and a pybull worker share one queue of 5,000 jobs; each job runs once.
* Crash: a pybull worker process is SIGKILLed mid-job; the stalled check (Node's or pybull's) puts
  the jobs back and they complete, with the counters BullMQ records.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from interop_behave import make_processor
from interop_helpers import events_by_job, py_queue, py_worker, run_worker_until
from node import NodeWorkerProcess, arun_node, run_node

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent

#: (name, data, opts): every kind of job a Node producer makes, with the behaviour the processor follows.
KINDS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("ok-obj", {"behave": "ok", "result": {"r": 1}, "progress": [10, {"p": 2}], "log": ["a", "b"]}, {}),
    ("ok-null", {"behave": "ok", "result": None}, {}),
    ("ok-str", {"behave": "ok", "result": "text/ü"}, {"jobId": "custom-ok"}),
    ("fail-once", {"behave": "fail", "message": "plain failure"}, {}),
    ("fail-fixed", {"behave": "fail", "message": "fixed"}, {"attempts": 3, "backoff": 100}),
    (
        "fail-expo",
        {"behave": "fail", "message": "expo"},
        {"attempts": 2, "backoff": {"type": "exponential", "delay": 50}},
    ),
    ("fail-immediate", {"behave": "fail", "message": "again"}, {"attempts": 2}),
    ("fail-then-ok", {"behave": "fail_until", "attempts": 1, "result": "second"}, {"attempts": 3}),
    ("unrecoverable", {"behave": "unrecoverable", "message": "never"}, {"attempts": 3}),
    ("delayed", {"behave": "ok", "result": "late"}, {"delay": 200}),
    ("prioritized", {"behave": "ok", "result": "prio"}, {"priority": 4}),
    ("lifo", {"behave": "ok", "result": "lifo"}, {"lifo": True}),
    ("stack-limit", {"behave": "fail", "message": "lim"}, {"attempts": 3, "stackTraceLimit": 1}),
    ("remove-ok", {"behave": "ok"}, {"removeOnComplete": True}),
    ("remove-fail", {"behave": "fail"}, {"removeOnFail": True}),
    ("keep-logs", {"behave": "ok", "log": ["1", "2", "3"]}, {"keepLogs": 2}),
]

COMPARED = (
    "name",
    "data",
    "opts",
    "state",
    "returnvalue",
    "failedReason",
    "attemptsMade",
    "attemptsStarted",
    "stalledCounter",
    "progress",
    "delay",
    "priority",
)


def add_ops(queue: str) -> list[dict[str, Any]]:
    return [{"op": "add", "queue": queue, "name": n, "data": d, "opts": o} for n, d, o in KINDS]


async def all_finished(client: aioredis.Redis, queue_name: str, ids: list[str]) -> bool:
    for job_id in ids:
        key = f"bull:{queue_name}:{job_id}"
        if await client.exists(key) and not await client.hget(key, "finishedOn"):
            return False
    return True


async def test_pybull_worker_results_equal_node_worker_results(
    redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    node_q, py_q = f"{queue_name}-node", queue_name
    base = {"url": redis_url, "prefix": "bull", "queue": py_q}
    added = run_node(
        {**base, "ops": [*add_ops(node_q), *add_ops(py_q)]}
    )  # same ids in both queues (same counter sequence)
    ids = [j["id"] for j in added[: len(KINDS)]]
    assert ids == [j["id"] for j in added[len(KINDS) :]]

    node_run = await arun_node({**base, "queue": node_q, "op": "work", "count": len(KINDS), "concurrency": 1})
    assert node_run["finished"] == len(KINDS), node_run
    worker = py_worker(py_q, make_processor(), redis_url, concurrency=1)

    async def done() -> bool:
        return await all_finished(client, py_q, ids)

    await run_worker_until(worker, done)

    res = run_node(
        {
            **base,
            "ops": [
                {"op": "getJobsById", "queue": node_q, "ids": ids},
                {"op": "getJobsById", "queue": py_q, "ids": ids},
                {"op": "getJobLogs", "queue": node_q, "id": ids[0]},
                {"op": "getJobLogs", "queue": py_q, "id": ids[0]},
                {"op": "getJobLogs", "queue": node_q, "id": ids[-1]},
                {"op": "getJobLogs", "queue": py_q, "id": ids[-1]},
                {"op": "getJobCounts", "queue": node_q},
                {"op": "getJobCounts", "queue": py_q},
                {"op": "events", "queue": node_q, "lastEventId": "0", "duration_ms": 250},
                {"op": "events", "queue": py_q, "lastEventId": "0", "duration_ms": 250},
            ],
        }
    )
    node_jobs, py_jobs = res[0], res[1]
    for (name, _, _), theirs, mine in zip(KINDS, node_jobs, py_jobs, strict=True):
        if theirs is None:  # removed on finish
            assert mine is None, f"{name}: pybull kept a job Node's worker removed"
            continue
        assert mine is not None, f"{name}: pybull removed a job Node's worker kept"
        for field in COMPARED:
            assert mine.get(field) == theirs.get(field), (
                f"{name}: {field}: pybull worker {mine.get(field)!r} != Node worker {theirs.get(field)!r}"
            )
        assert len(mine["stacktrace"]) == len(theirs["stacktrace"]), f"{name}: stacktrace length"
        assert all(isinstance(line, str) and line for line in mine["stacktrace"])
        if theirs.get("finishedOn"):
            assert isinstance(mine.get("finishedOn"), int), f"{name}: finishedOn {mine.get('finishedOn')!r}"
            assert mine["finishedOn"] >= mine["processedOn"] >= mine["timestamp"], name
    assert res[3] == res[2] and res[5] == res[4]
    assert res[7] == res[6]

    node_events, py_events = res[8], res[9]
    fields = ("prev", "failedReason", "returnvalue", "attemptsMade", "data")
    node_seq, py_seq = events_by_job(node_events, fields), events_by_job(py_events, fields)
    for job_id in ids:
        assert py_seq.get(job_id) == node_seq.get(job_id), f"events of job {job_id}"


async def test_node_queue_events_live_with_pybull_worker(redis_url: str, queue_name: str) -> None:
    """A QueueEvents listening while the pybull worker runs (not replaying the stream) sees every event."""
    base = {"url": redis_url, "prefix": "bull", "queue": queue_name}
    # From the start of the (still empty) stream: nothing is missed however slowly Node starts,
    # and the events still arrive through QueueEvents' blocking XREAD while the worker runs.
    listener = asyncio.create_task(
        arun_node({**base, "op": "events", "lastEventId": "0", "duration_ms": 2500})
    )
    await asyncio.sleep(0.3)
    q = py_queue(queue_name, redis_url)
    try:
        ok = await q.add("ok", {"behave": "ok", "result": 7, "progress": [33]})
        bad = await q.add("bad", {"behave": "fail", "message": "x"}, attempts=2, backoff=50)
        worker = py_worker(queue_name, make_processor(), redis_url)

        async def done() -> bool:
            counts = await q.get_job_counts("completed", "failed")
            return bool(counts["completed"] == 1 and counts["failed"] == 1)

        await run_worker_until(worker, done)
    finally:
        await q.close()
    events = events_by_job(await listener, ("prev", "returnvalue", "data", "failedReason"))
    assert events[ok.id] == [
        ("added", None, None, None, None),
        ("waiting", None, None, None, None),
        ("active", "waiting", None, None, None),
        ("progress", None, None, 33, None),
        ("completed", "active", 7, None, None),
    ]
    assert events[bad.id] == [
        ("added", None, None, None, None),
        ("waiting", None, None, None, None),
        ("active", "waiting", None, None, None),
        ("delayed", None, None, None, None),
        ("waiting", "delayed", None, None, None),
        ("active", "waiting", None, None, None),
        ("failed", "active", None, None, "x"),
        ("retries-exhausted", None, None, None, None),
    ]


@pytest.mark.timeout(120)
async def test_mixed_fleet_runs_each_job_exactly_once(
    redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    total = 5000
    py_ran: list[dict[str, Any]] = []
    q = py_queue(queue_name, redis_url)
    worker = py_worker(queue_name, make_processor(py_ran), redis_url, concurrency=10)
    py_task: asyncio.Task[Any] | None = None
    try:
        with NodeWorkerProcess(redis_url, queue_name, concurrency=10, quiet_finishes=True) as node_worker:
            py_task = asyncio.create_task(worker.run())
            # Half the jobs from each producer; a little work per job so both workers get a share.
            node_seed = asyncio.create_task(
                arun_node(
                    {
                        "url": redis_url,
                        "prefix": "bull",
                        "queue": queue_name,
                        "op": "addMany",
                        "n": total // 2,
                        "data": {"behave": "ok", "ms": 1},
                    }
                )
            )
            await q.add_bulk(
                [
                    {"name": "py", "data": {"behave": "ok", "ms": 1, "i": i}, "opts": {}}
                    for i in range(total // 2)
                ]
            )
            await node_seed
            deadline = time.monotonic() + 90
            while await client.zcard(f"bull:{queue_name}:completed") < total:
                assert time.monotonic() < deadline, "the fleet did not complete 5000 jobs in 90s"
                assert not py_task.done(), py_task.result()
                await asyncio.sleep(0.1)
            await worker.close()
            await py_task
            node_worker.stop()
            node_ran = [line["id"] for line in node_worker.of_type("start")]
            assert not node_worker.of_type("error"), node_worker.of_type("error")[:3]
    finally:
        if py_task is not None and not py_task.done():
            await worker.close()
        await q.close()
    py_ids = [r["id"] for r in py_ran]
    everything = py_ids + node_ran
    assert len(everything) == len(set(everything)) == total, (
        f"{len(everything) - len(set(everything))} jobs ran twice; {total - len(set(everything))} never ran"
    )
    assert py_ids and node_ran, f"one worker starved: pybull {len(py_ids)}, Node {len(node_ran)}"
    assert await client.zcard(f"bull:{queue_name}:completed") == total
    assert await client.llen(f"bull:{queue_name}:active") == 0
    assert await client.llen(f"bull:{queue_name}:wait") == 0


async def crash_pybull_worker(
    redis_url: str, queue_name: str, ids: list[str], client: aioredis.Redis
) -> None:
    """Run a pybull worker in a child process until it holds every job, then SIGKILL it."""
    cfg = {
        "url": redis_url,
        "queue": queue_name,
        "concurrency": len(ids),
        "lock_duration": 1000,
        "stalled_interval": 1000,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "pybull_worker_proc.py"),
        json.dumps(cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=HERE.parent.parent,
        env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    started: set[str] = set()
    try:
        async with asyncio.timeout(15):
            while len(started) < len(ids):
                line = await proc.stdout.readline()
                if not line:
                    err = (await proc.stderr.read()).decode()[-3000:]
                    raise AssertionError(f"pybull worker process exited: {err}")
                msg = json.loads(line)
                if msg["type"] == "start":
                    started.add(msg["id"])
        assert started == set(ids)
        assert sorted(await client.lrange(f"bull:{queue_name}:active", 0, -1)) == sorted(ids)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)  # a crash: no close, no lock release
        await proc.wait()


async def crash_node_worker(redis_url: str, queue_name: str, ids: list[str]) -> None:
    worker = NodeWorkerProcess(
        redis_url,
        queue_name,
        concurrency=len(ids),
        honor_hang=True,
        worker_opts={"lockDuration": 1000, "stalledInterval": 1000},
    )
    with worker:
        for job_id in ids:
            await worker.await_for(lambda line, j=job_id: line.get("type") == "start" and line["id"] == j, 15)
        worker.kill()


@pytest.mark.parametrize(
    ("crashed", "recoverer"), [("pybull", "node"), ("pybull", "pybull"), ("node", "pybull")]
)
async def test_killed_worker_jobs_are_recovered(
    redis_url: str, queue_name: str, client: aioredis.Redis, crashed: str, recoverer: str
) -> None:
    """SIGKILL mid-job: the stalled check puts the jobs back and they complete, counted as BullMQ does."""
    q = py_queue(queue_name, redis_url)
    try:
        ids = [
            (await q.add("crash", {"hang": True, "behave": "ok", "result": "recovered"})).id for _ in range(2)
        ]
    finally:
        await q.close()
    if crashed == "pybull":
        await crash_pybull_worker(redis_url, queue_name, ids, client)
    else:
        await crash_node_worker(redis_url, queue_name, ids)

    base = {"url": redis_url, "prefix": "bull", "queue": queue_name}
    if recoverer == "node":
        run = await arun_node(
            {
                **base,
                "op": "work",
                "count": 2,
                "concurrency": 2,
                "timeout_ms": 15000,
                "worker_opts": {"stalledInterval": 300, "lockDuration": 5000},
            }
        )
        assert run["finished"] == 2, run
    else:
        worker = py_worker(
            queue_name, make_processor(), redis_url, concurrency=2, stalled_interval=300, lock_duration=5000
        )

        async def done() -> bool:
            return bool(await client.zcard(f"bull:{queue_name}:completed") == 2)

        await run_worker_until(worker, done, limit_s=15)

    res = run_node(
        {
            **base,
            "ops": [
                {"op": "getJobsById", "ids": ids},
                {"op": "events", "lastEventId": "0", "duration_ms": 250},
            ],
        }
    )
    for job in res[0]:
        assert job["state"] == "completed", job
        assert job["returnvalue"] == "recovered"
        assert (job["stalledCounter"], job["attemptsMade"], job["attemptsStarted"]) == (1, 1, 2), job
    per_job = events_by_job(res[1])
    for job_id in ids:
        assert per_job[job_id] == [
            ("added", None),
            ("waiting", None),
            ("active", "waiting"),
            ("waiting", "active"),
            ("stalled", None),
            ("active", "waiting"),
            ("completed", "active"),
        ], job_id


async def test_pybull_queue_events_equal_node_queue_events(redis_url: str, queue_name: str) -> None:
    """While a Node worker runs Node's jobs, pybull's QueueEvents hears exactly what Node's does."""
    import pybull

    qe = pybull.QueueEvents(queue_name, connection=redis_url, last_event_id="0")
    heard: list[dict[str, Any]] = []

    async def listen() -> None:
        async for event in qe:
            heard.append(event)

    listen_task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(qe.wait_until_ready(), 10)
        base = {"url": redis_url, "prefix": "bull", "queue": queue_name}
        work = {"op": "work", "count": len(KINDS), "collect_events": True, "lastEventId": "0"}
        res = await arun_node({**base, "ops": [*add_ops(queue_name), work]})
        node_heard = res[-1]["events"]
        for _ in range(100):
            if len(heard) >= len(node_heard):
                break
            await asyncio.sleep(0.02)
    finally:
        await qe.close()
        await asyncio.wait_for(listen_task, 10)
    assert res[-1]["finished"] == len(KINDS)
    assert len(node_heard) > 3 * len(KINDS)
    assert heard == node_heard


FLOWS: list[dict[str, Any]] = [
    {
        "name": "P",
        "data": {"behave": "ok", "result": "parent"},
        "opts": {"jobId": "P"},
        "children": [
            {"name": "C1", "data": {"behave": "ok", "result": "r1"}, "opts": {"jobId": "C1"}},
            {
                "name": "C2",
                "data": {"behave": "ok", "result": {"x": 2}},
                "opts": {"jobId": "C2", "delay": 100},
            },
            {
                "name": "C3",
                "data": {"behave": "fail", "message": "c3"},
                "opts": {"jobId": "C3", "ignoreDependencyOnFailure": True},
            },
        ],
    },
    {
        "name": "Q",
        "data": {"behave": "ok"},
        "opts": {"jobId": "Q"},
        "children": [
            {
                "name": "D1",
                "data": {"behave": "fail", "message": "d1"},
                "opts": {"jobId": "D1", "failParentOnFailure": True},
            },
            {"name": "D2", "data": {"behave": "ok", "result": "d2"}, "opts": {"jobId": "D2"}},
        ],
    },
]
FLOW_IDS = ["P", "C1", "C2", "C3", "Q", "D1", "D2"]


async def test_pybull_worker_runs_node_flows_like_node_worker(
    redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    """Node FlowProducer flows: children, parents released or failed, dependencies, as with Node."""
    node_q, py_q = f"{queue_name}-node", queue_name
    base = {"url": redis_url, "prefix": "bull", "queue": py_q}
    adds = [{"op": "addFlow", "queue": q, "flow": f} for q in (node_q, py_q) for f in FLOWS]
    run_node({**base, "ops": [*adds, {"op": "work", "queue": node_q, "count": len(FLOW_IDS)}]})
    worker = py_worker(py_q, make_processor(), redis_url)

    async def done() -> bool:
        return await all_finished(client, py_q, FLOW_IDS)

    await run_worker_until(worker, done)

    reads: list[dict[str, Any]] = []
    for q in (node_q, py_q):
        reads += [
            {"op": "getJobsById", "queue": q, "ids": FLOW_IDS},
            {"op": "jobDependencies", "queue": q, "id": "P"},
            {"op": "jobDependencies", "queue": q, "id": "Q"},
            {"op": "events", "queue": q, "lastEventId": "0", "duration_ms": 200},
        ]
    res = run_node({**base, "ops": reads})
    # Child keys name their queue: compare with the queue name neutralised.
    theirs = json.loads(json.dumps(res[:4]).replace(node_q, "Q_NAME"))
    mine = json.loads(json.dumps(res[4:]).replace(py_q, "Q_NAME"))
    for job_id, t_job, m_job in zip(FLOW_IDS, theirs[0], mine[0], strict=True):
        for field in ("state", "returnvalue", "failedReason", "attemptsMade", "parentKey", "opts", "delay"):
            assert m_job.get(field) == t_job.get(field), (
                f"{job_id}: {field}: pybull worker {m_job.get(field)!r} != Node worker {t_job.get(field)!r}"
            )
    assert mine[1] == theirs[1], "dependencies of parent P"
    assert mine[2] == theirs[2], "dependencies of parent Q"
    fields = ("prev", "failedReason", "returnvalue")
    node_seq, py_seq = events_by_job(theirs[3], fields), events_by_job(mine[3], fields)
    for job_id in FLOW_IDS:
        assert py_seq.get(job_id) == node_seq.get(job_id), f"events of flow job {job_id}"
