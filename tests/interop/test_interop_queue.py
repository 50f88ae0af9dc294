"""Issue #3: pybull producers and Node BullMQ 6.7.0 agree on jobs, order and getters.

* pybull ``Queue.add`` with every option: Node's ``Job.fromId`` sees what it sees for the same add made
  by Node itself (name, data, opts, timestamp, delay, priority, state), and the queue's keys, scores and
  events are the ones Node writes.
* A Node Worker runs pybull's jobs in BullMQ's order (LIFO, FIFO, priority, delay, pause/resume).
* pybull's getters equal Node's on a queue Node filled; Node's Bull Board getters and actions work on
  a queue pybull filled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from interop_behave import make_processor
from interop_helpers import events_by_job, finished_count, py_queue, py_worker, run_worker_until, snapshot
from node import run_node

from pybull.keys import QueueKeys

pytestmark = pytest.mark.interop

NODE_VIEW = ("name", "data", "opts", "delay", "priority", "state", "deduplicationId", "attemptsMade")

#: (label, pybull keyword options, the same options as Node takes them)
ADD_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("plain", {}, {}),
    ("custom-id", {"job_id": "custom-1"}, {"jobId": "custom-1"}),
    ("three-part-id", {"job_id": "a:b:c"}, {"jobId": "a:b:c"}),
    ("delay", {"delay": 60000}, {"delay": 60000}),
    ("priority", {"priority": 7}, {"priority": 7}),
    ("prio-lifo", {"priority": 2, "lifo": True}, {"priority": 2, "lifo": True}),
    ("prio-delay", {"priority": 3, "delay": 50000}, {"priority": 3, "delay": 50000}),
    (
        "fixed",
        {"attempts": 3, "backoff": {"type": "fixed", "delay": 1000}},
        {"attempts": 3, "backoff": {"type": "fixed", "delay": 1000}},
    ),
    ("numeric-backoff", {"attempts": 2, "backoff": 300}, {"attempts": 2, "backoff": 300}),
    (
        "exponential",
        {"attempts": 5, "backoff": {"type": "exponential", "delay": 200, "jitter": 0.5}},
        {"attempts": 5, "backoff": {"type": "exponential", "delay": 200, "jitter": 0.5}},
    ),
    ("lifo", {"lifo": True}, {"lifo": True}),
    ("roc-true", {"remove_on_complete": True}, {"removeOnComplete": True}),
    ("roc-int", {"remove_on_complete": 10}, {"removeOnComplete": 10}),
    (
        "roc-obj",
        {"remove_on_complete": {"age": 3600, "count": 5}},
        {"removeOnComplete": {"age": 3600, "count": 5}},
    ),
    ("rof-false", {"remove_on_fail": False}, {"removeOnFail": False}),
    ("rof-age", {"remove_on_fail": {"age": 60, "limit": 10}}, {"removeOnFail": {"age": 60, "limit": 10}}),
    ("keep-logs", {"keep_logs": 5}, {"keepLogs": 5}),
    ("limits", {"stack_trace_limit": 3, "size_limit": 1000}, {"stackTraceLimit": 3, "sizeLimit": 1000}),
    ("timestamp", {"timestamp": 1700000000000}, {"timestamp": 1700000000000}),
    ("ts-delay", {"timestamp": 1700000000000, "delay": 1000}, {"timestamp": 1700000000000, "delay": 1000}),
    ("dedup-simple", {"deduplication": {"id": "s1"}}, {"deduplication": {"id": "s1"}}),
    (
        "dedup-ttl",
        {"deduplication": {"id": "t1", "ttl": 60000}},
        {"deduplication": {"id": "t1", "ttl": 60000}},
    ),
    (
        "dedup-extend",
        {"deduplication": {"id": "e1", "ttl": 60000, "extend": True}},
        {"deduplication": {"id": "e1", "ttl": 60000, "extend": True}},
    ),
    (
        "dedup-replace",
        {"deduplication": {"id": "r1", "ttl": 60000, "replace": True}, "delay": 30000},
        {"deduplication": {"id": "r1", "ttl": 60000, "replace": True}, "delay": 30000},
    ),
    # Second adds: deduplicated / replaced / duplicate id.
    ("dedup-simple-again", {"deduplication": {"id": "s1"}}, {"deduplication": {"id": "s1"}}),
    (
        "dedup-ttl-again",
        {"deduplication": {"id": "t1", "ttl": 60000}},
        {"deduplication": {"id": "t1", "ttl": 60000}},
    ),
    (
        "dedup-extend-again",
        {"deduplication": {"id": "e1", "ttl": 60000, "extend": True}},
        {"deduplication": {"id": "e1", "ttl": 60000, "extend": True}},
    ),
    (
        "dedup-replace-again",
        {"deduplication": {"id": "r1", "ttl": 60000, "replace": True}, "delay": 30000},
        {"deduplication": {"id": "r1", "ttl": 60000, "replace": True}, "delay": 30000},
    ),
    ("duplicate-id", {"job_id": "custom-1"}, {"jobId": "custom-1"}),
]


@pytest.fixture
async def queue(redis_url: str, queue_name: str) -> AsyncIterator[Any]:
    q = py_queue(queue_name, redis_url)
    yield q
    await q.close()


def case_data(label: str) -> dict[str, Any]:
    return {"case": label, "nested": {"list": [1, 2.5, "x/y"], "u": "é€😀", "none": None}}


def strip_times(fields: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k != "delay"}


async def test_pybull_add_options_are_what_node_stores(
    queue: Any, redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    twin = f"{queue_name}-node"
    before = int(time.time() * 1000)
    py_ids = []
    for label, py_opts, _ in ADD_CASES:
        job = await queue.add(label, case_data(label), **py_opts)
        py_ids.append(job.id)
    after = int(time.time() * 1000)
    ops: list[dict[str, Any]] = [
        {"op": "add", "queue": twin, "name": label, "data": case_data(label), "opts": node_opts}
        for label, _, node_opts in ADD_CASES
    ]
    ops.append({"op": "getJobsById", "queue": queue_name, "ids": py_ids})
    res = run_node({"url": redis_url, "prefix": "bull", "queue": queue_name, "ops": ops})
    node_added, node_view_of_py = res[: len(ADD_CASES)], res[-1]

    # Same ids (auto ids follow the same counter; dedup hits and duplicates return the existing id).
    assert py_ids == [j["id"] for j in node_added]
    for (label, py_opts, _), mine, theirs in zip(ADD_CASES, node_view_of_py, node_added, strict=True):
        if label == "dedup-replace":  # replaced by the second add in both queues
            assert mine is None and theirs["state"] == "delayed"
            continue
        assert mine is not None, f"{label}: Node cannot read pybull's job {theirs['id']}"
        for field in NODE_VIEW:
            if label.endswith("-again") or label == "duplicate-id":
                continue  # the returned job is the earlier one; compared in its own case
            assert mine.get(field) == theirs.get(field), (
                f"{label}: {field}: pybull {mine.get(field)!r} != Node {theirs.get(field)!r}"
            )
        if "timestamp" in py_opts:
            assert mine["timestamp"] == py_opts["timestamp"]
        else:
            assert before <= mine["timestamp"] <= after, (
                f"{label}: timestamp {mine['timestamp']} not client clock"
            )

    # Keys, scores, raw hashes and events are the ones Node writes for the same adds.
    py_snap = await snapshot(client, queue_name)
    node_snap = await snapshot(client, twin)
    assert sorted(py_snap) == sorted(node_snap)
    for suffix, (kind, node_value) in node_snap.items():
        py_kind, py_value = py_snap[suffix]
        assert py_kind == kind, f"{suffix}: type {py_kind} != Node {kind}"
        if suffix == "meta":
            assert sorted(py_value) == sorted(node_value)
            assert py_value["opts.maxLenEvents"] == node_value["opts.maxLenEvents"]
        elif suffix == "events":
            assert [strip_times(e) for e in py_value] == [strip_times(e) for e in node_value]
        elif suffix in ("delayed", "marker"):
            assert sorted(m for m, _ in py_value) == sorted(m for m, _ in node_value), suffix
        elif kind == "hash":
            assert sorted(py_value) == sorted(node_value), f"hash {suffix}: fields differ"
            for field in node_value:
                if field == "timestamp":
                    continue
                mine_v, theirs_v = py_value[field], node_value[field]
                if field in ("opts", "data"):
                    mine_v, theirs_v = json.loads(mine_v), json.loads(theirs_v)
                if field == "opts" and "timestamp" not in theirs_v:
                    theirs_v.pop("timestamp", None)
                assert mine_v == theirs_v, f"hash {suffix}.{field}: pybull {mine_v!r} != Node {theirs_v!r}"
        else:
            assert py_value == node_value, f"{suffix}: pybull {py_value!r} != Node {node_value!r}"
    for dedup in ("s1", "t1", "e1", "r1"):
        py_ttl = await client.pttl(f"bull:{queue_name}:de:{dedup}")
        node_ttl = await client.pttl(f"bull:{twin}:de:{dedup}")
        assert (py_ttl > 0) == (node_ttl > 0), f"de:{dedup} ttl pybull {py_ttl} Node {node_ttl}"


async def test_node_worker_runs_pybull_jobs_in_bullmq_order(
    queue: Any, redis_url: str, queue_name: str
) -> None:
    plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("a", {}, {}),
        ("b", {}, {}),
        ("c", {"lifo": True}, {"lifo": True}),
        ("d", {"priority": 2}, {"priority": 2}),
        ("e", {"priority": 1}, {"priority": 1}),
        ("f", {"priority": 1}, {"priority": 1}),
        ("g", {"delay": 2000}, {"delay": 2000}),
        ("h", {"priority": 1, "lifo": True}, {"priority": 1, "lifo": True}),
        ("i", {}, {}),
    ]
    for name, py_opts, _ in plan:
        await queue.add(name, {}, **py_opts)
    twin = f"{queue_name}-node"
    ops: list[dict[str, Any]] = [{"op": "add", "queue": twin, "name": n, "opts": o} for n, _, o in plan]
    # Both workers start together, well before "g" is due (2 s after its add) in either queue.
    ops.append(
        {
            "op": "parallel",
            "ops": [
                {"op": "work", "queue": queue_name, "count": len(plan), "timeout_ms": 8000},
                {"op": "work", "queue": twin, "count": len(plan), "timeout_ms": 8000},
            ],
        }
    )
    res = run_node({"url": redis_url, "prefix": "bull", "queue": queue_name, "ops": ops})
    py_run, node_run = res[-1]
    order = [s["name"] for s in py_run["starts"]]
    assert order == ["c", "a", "b", "i", "e", "f", "h", "d", "g"]
    assert order == [s["name"] for s in node_run["starts"]]

    # Pause: a Node worker takes nothing; after resume it runs them in order.
    await queue.pause()
    await queue.add("x1", {})
    await queue.add("x2", {}, lifo=True)
    await queue.add("x3", {}, priority=1)
    await queue.add("x4", {}, delay=100)
    paused = run_node(
        {
            "url": redis_url,
            "prefix": "bull",
            "queue": queue_name,
            "ops": [
                {"op": "isPaused"},
                {"op": "work", "count": 1, "timeout_ms": 700},
                {"op": "getJobCounts", "types": ["waiting", "prioritized", "delayed", "active"]},
            ],
        }
    )
    assert paused[0] is True
    assert paused[1]["finished"] == 0 and paused[1]["starts"] == []
    # The delayed job is promoted into wait even while paused (moveToActive promotes first).
    assert paused[2] == {"waiting": 3, "prioritized": 1, "delayed": 0, "active": 0}
    await queue.resume()
    resumed = run_node({"url": redis_url, "prefix": "bull", "queue": queue_name, "op": "work", "count": 4})
    assert [s["name"] for s in resumed["starts"]] == ["x2", "x1", "x4", "x3"]


async def test_pybull_getters_equal_node_getters_on_node_jobs(
    queue: Any, redis_url: str, queue_name: str, node_base: dict[str, Any]
) -> None:
    adds: list[dict[str, Any]] = [
        {"op": "add", "name": "ok1", "data": {"behave": "ok", "result": 1}},
        {"op": "add", "name": "ok2", "data": {"behave": "ok", "result": [1, 2]}},
        {"op": "add", "name": "bad1", "data": {"behave": "fail", "message": "m1"}},
        {"op": "add", "name": "bad2", "data": {"behave": "fail"}, "opts": {"attempts": 2}},
        {"op": "work", "count": 4},
        {"op": "add", "name": "s1", "data": {"v": 1}},
        {"op": "add", "name": "s2", "data": "str"},
        {"op": "add", "name": "d1", "opts": {"delay": 60000}},
        {"op": "add", "name": "d2", "opts": {"delay": 30000}},
        {"op": "add", "name": "p1", "opts": {"priority": 3}},
        {"op": "add", "name": "p2", "opts": {"priority": 1}},
        {"op": "add", "name": "l1", "opts": {"lifo": True}},
        {"op": "add", "name": "c1", "opts": {"jobId": "cust-1", "attempts": 4, "backoff": 10}},
        {"op": "add", "name": "dd1", "opts": {"deduplication": {"id": "dd", "ttl": 100000}}},
        {"op": "add", "name": "dd2", "opts": {"deduplication": {"id": "dd", "ttl": 100000}}},
        {
            "op": "addBulk",
            "jobs": [
                {"name": "b1", "data": {"k": 1}},
                {"name": "b2", "opts": {"delay": 5000}},
                {"name": "b3", "opts": {"priority": 2, "jobId": "bulk-3"}},
            ],
        },
    ]
    types_list = [
        ["waiting"],
        ["delayed"],
        ["prioritized"],
        ["completed"],
        ["failed"],
        ["active"],
        ["waiting-children"],
        ["completed", "failed"],
        ["waiting", "prioritized", "delayed"],
    ]
    listings: list[dict[str, Any]] = []
    for types in types_list:
        for asc in (False, True):
            listings.append({"types": types, "start": 0, "end": -1, "asc": asc})
    listings += [
        {"types": ["waiting"], "start": 1, "end": 2, "asc": False},
        {"types": ["waiting"], "start": 0, "end": 0, "asc": True},
        {"types": ["delayed", "prioritized"], "start": 0, "end": 1, "asc": True},
    ]
    # Auto ids follow the id counter, which custom ids and dedup hits also advance (wire-format 4.1).
    ids = [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
        "cust-1",
        "13",
        "15",
        "16",
        "bulk-3",
        "nope",
    ]
    getters: list[dict[str, Any]] = [
        {"op": "getJobCounts"},
        {"op": "getJobCounts", "types": ["waiting", "delayed", "failed"]},
        *({"op": "getJobs", **listing} for listing in listings),
        *({"op": "getJobState", "id": i} for i in ids),
        {"op": "getJobsById", "ids": ids},
    ]
    res = run_node({**node_base, "ops": adds + getters})
    out = res[len(adds) :]
    counts, some_counts = out[0], out[1]
    node_lists = out[2 : 2 + len(listings)]
    node_states = out[2 + len(listings) : 2 + len(listings) + len(ids)]
    node_jobs = out[-1]
    assert res[4]["finished"] == 4
    added_ids = [r["id"] for r in res[: len(adds) - 1] if isinstance(r, dict) and "id" in r] + res[
        len(adds) - 1
    ]
    assert sorted(set(added_ids)) == sorted(ids[:-1])

    assert await queue.get_job_counts() == counts
    assert await queue.get_job_counts("waiting", "delayed", "failed") == some_counts
    for listing, node_list in zip(listings, node_lists, strict=True):
        mine = await queue.get_jobs(listing["types"], listing["start"], listing["end"], listing["asc"])
        assert [j.id for j in mine] == [j["id"] for j in node_list], listing
    for job_id, node_state in zip(ids, node_states, strict=True):
        assert await queue.get_job_state(job_id) == node_state, job_id
    for job_id, node_job in zip(ids, node_jobs, strict=True):
        mine = await queue.get_job(job_id)
        if node_job is None:
            assert mine is None
            continue
        as_json = mine.to_json()
        for field in (
            "id",
            "name",
            "data",
            "timestamp",
            "delay",
            "priority",
            "progress",
            "attemptsMade",
            "attemptsStarted",
            "returnvalue",
            "failedReason",
            "finishedOn",
            "processedOn",
            "deduplicationId",
            "opts",
        ):
            assert as_json[field] == node_job.get(field), (
                f"job {job_id} {field}: {as_json[field]!r} != {node_job.get(field)!r}"
            )
        assert len(as_json["stacktrace"]) == len(node_job["stacktrace"])


async def test_bull_board_getters_and_actions_work_on_pybull_queue(
    queue: Any, redis_url: str, queue_name: str, node_base: dict[str, Any], client: aioredis.Redis
) -> None:
    """What Bull Board calls (through Node BullMQ) reads and acts on a queue pybull produced and ran."""
    ok_ids = [
        (
            await queue.add(
                f"ok{i}", {"behave": "ok", "result": {"i": i}, "log": [f"line {i}a", f"line {i}b"]}
            )
        ).id
        for i in range(3)
    ]
    bad = await queue.add("bad", {"behave": "fail_until", "attempts": 1, "message": "first try fails"})
    worker = py_worker(queue_name, make_processor(), redis_url, concurrency=2)

    async def four_done() -> bool:
        return await finished_count(client, queue_name) >= 4

    await run_worker_until(worker, four_done)
    delayed = await queue.add("later", {}, delay=600000)
    prio = await queue.add("prio", {}, priority=4)
    waiting = await queue.add("plain", {})

    res = run_node(
        {
            **node_base,
            "ops": [
                {"op": "getJobCounts"},
                {"op": "getJobs", "types": ["completed"], "start": 0, "end": 1},
                {"op": "getJobs", "types": ["completed"], "start": 2, "end": 3},
                {"op": "getJobs", "types": ["failed"], "start": 0, "end": 9},
                {"op": "getJobs", "types": ["delayed"], "start": 0, "end": 9},
                {"op": "getJobs", "types": ["prioritized"], "start": 0, "end": 9},
                {"op": "getJobs", "types": ["waiting"], "start": 0, "end": 9},
                {"op": "getJob", "id": ok_ids[0]},
                {"op": "getJobLogs", "id": ok_ids[0]},
                {"op": "getJob", "id": bad.id},
                {"op": "jobRetry", "id": bad.id, "state": "failed"},
                {"op": "jobPromote", "id": delayed.id},
                {"op": "remove", "id": prio.id},
                {"op": "clean", "grace": 0, "type": "completed"},
                {"op": "pause"},
                {"op": "isPaused"},
            ],
        }
    )
    counts, done_page1, done_page2, failed, delayed_l, prio_l, wait_l = res[:7]
    job0, logs0, bad_json, retried, promoted, removed, cleaned, _, paused = res[7:]
    assert counts == {
        "active": 0,
        "completed": 3,
        "delayed": 1,
        "failed": 1,
        "prioritized": 1,
        "waiting": 1,
        "waiting-children": 0,
    }
    assert len(done_page1) == 2 and len(done_page2) == 1
    assert sorted(j["id"] for j in done_page1 + done_page2) == sorted(ok_ids)
    assert [j["id"] for j in failed] == [bad.id]
    assert [j["id"] for j in delayed_l] == [delayed.id]
    assert [j["id"] for j in prio_l] == [prio.id]
    assert [j["id"] for j in wait_l] == [waiting.id]
    assert job0["returnvalue"] == {"i": 0} and job0["attemptsMade"] == 1 and job0["state"] == "completed"
    assert job0["finishedOn"] >= job0["processedOn"] >= job0["timestamp"]
    assert logs0 == {"logs": ["line 0a", "line 0b"], "count": 2}
    assert bad_json["failedReason"] == "first try fails" and bad_json["attemptsMade"] == 1
    assert len(bad_json["stacktrace"]) == 1 and bad_json["state"] == "failed"
    assert retried["state"] == "waiting" and "failedReason" not in retried and "finishedOn" not in retried
    assert promoted["state"] == "waiting" and promoted["delay"] == 0
    assert removed == 1
    assert sorted(cleaned) == sorted(ok_ids)
    assert paused is True

    # pybull sees every change Node made.
    assert await queue.is_paused() is True
    assert await queue.get_job(prio.id) is None
    assert await queue.get_job_state(bad.id) == "waiting"
    assert await queue.get_job_state(delayed.id) == "waiting"
    assert (await queue.get_job_counts("completed"))["completed"] == 0
    run_node({**node_base, "op": "resume"})
    assert await queue.is_paused() is False
    worker = py_worker(queue_name, make_processor(), redis_url)

    async def all_done() -> bool:
        return (await queue.get_job_counts("completed"))["completed"] == 3

    await run_worker_until(worker, all_done)
    again = await queue.get_job(bad.id)
    assert again.returnvalue == {"ok": True, "id": bad.id} and again.attempts_made == 2
    events = run_node({**node_base, "op": "events", "lastEventId": "0", "duration_ms": 300})
    per_job = events_by_job(events)
    assert per_job[bad.id] == [
        ("added", None),
        ("waiting", None),
        ("active", "waiting"),
        ("failed", "active"),
        ("retries-exhausted", None),
        ("waiting", "failed"),
        ("active", "waiting"),
        ("completed", "active"),
    ]
    assert per_job[prio.id][-1] == ("removed", "prioritized")
    assert any(e["event"] == "cleaned" and e["count"] == "3" for e in events)
    assert [e["event"] for e in events if e["event"] in ("paused", "resumed")] == ["paused", "resumed"]


async def test_bull_board_bulk_actions_and_worker_list_on_pybull_queue(
    queue: Any, redis_url: str, queue_name: str, node_base: dict[str, Any], client: aioredis.Redis
) -> None:
    """Bull Board's retry-all, promote-all, empty, obliterate, edits and worker list on pybull's queue."""
    failing = [(await queue.add("f", {"behave": "fail", "message": "x"})).id for _ in range(3)]

    async def three_failed() -> bool:
        return await finished_count(client, queue_name) == 3

    await run_worker_until(py_worker(queue_name, make_processor(), redis_url), three_failed)
    d1 = (await queue.add("d1", {}, delay=600000)).id
    d2 = (await queue.add("d2", {}, delay=600000)).id
    p1 = (await queue.add("p1", {}, priority=1)).id
    p2 = (await queue.add("p2", {}, priority=2)).id
    w1 = (await queue.add("w1", {})).id
    await queue.pause()
    idle = py_worker(queue_name, make_processor(), redis_url, name="py-board")
    idle_task = asyncio.create_task(idle.run())
    wanted = QueueKeys(queue_name).connection_name("py-board")
    try:
        for _ in range(250):
            if any(c.get("name") == wanted for c in await client.client_list()):
                break
            await asyncio.sleep(0.02)
        res = run_node(
            {
                **node_base,
                "ops": [
                    {"op": "getWorkers"},
                    {"op": "jobChangeDelay", "id": d1, "delay": 900000},
                    {"op": "jobChangePriority", "id": p2, "priority": 5},
                    {"op": "jobUpdateProgress", "id": w1, "progress": {"pct": 50}},
                    {"op": "jobUpdateData", "id": w1, "data": {"edited": True}},
                ],
            }
        )
    finally:
        await idle.close()
        await idle_task
    workers, changed_delay, changed_prio, progressed, edited = res
    assert [w["rawname"] for w in workers] == [wanted]
    mine = await queue.get_job(d1)
    assert mine.delay == changed_delay["delay"] == 900000
    assert await queue.get_job_state(d1) == "delayed"
    assert (await queue.get_job(p2)).priority == changed_prio["priority"] == 5
    assert await queue.get_job_state(p2) == "prioritized"
    got = await queue.get_job(w1)
    assert got.progress == progressed["progress"] == {"pct": 50}
    assert got.data == edited["data"] == {"edited": True}
    # p2 now runs after p1 by score, as Node orders it.
    assert [j.id for j in await queue.get_jobs(["prioritized"], 0, -1, True)] == [p1, p2]

    res = run_node(
        {
            **node_base,
            "ops": [
                {"op": "retryJobs", "state": "failed"},
                {"op": "promoteJobs"},
                {"op": "getJobCounts"},
                {"op": "getJobs", "types": ["waiting"], "asc": True},
            ],
        }
    )
    counts, waiting = res[2], res[3]
    assert await queue.get_job_counts() == counts
    assert counts["waiting"] == 6 and counts["failed"] == 0 and counts["delayed"] == 0
    assert [j.id for j in await queue.get_jobs(["waiting"], 0, -1, True)] == [j["id"] for j in waiting]
    for job_id in failing:
        assert await queue.get_job_state(job_id) == "waiting"
        again = await queue.get_job(job_id)
        assert again.failed_reason is None and again.finished_on is None and again.attempts_made == 1
    for job_id in (d1, d2):
        assert await queue.get_job_state(job_id) == "waiting"

    res = run_node({**node_base, "ops": [{"op": "drain"}, {"op": "getJobCounts"}]})
    assert await queue.get_job_counts() == res[1]
    assert sum(res[1].values()) == 0
    run_node({**node_base, "op": "obliterate", "force": True})
    assert await client.keys(f"bull:{queue_name}:*") == []
    assert await queue.get_job_counts() == dict.fromkeys(res[1], 0)
