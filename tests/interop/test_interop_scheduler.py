"""Job schedulers shared with Node BullMQ 6.7.0 (wire-format 12), in both directions.

* Cron next times: pybull's cron arithmetic against BullMQ's own repeat strategy (cron-parser 5.x),
  DST transitions included, because iteration ids embed the run time.
* Node upserts; pybull reads the scheduler and creates the next iteration exactly as a Node worker
  does (compared with a twin queue where a Node worker did it).
* pybull upserts; Node's getJobSchedulers reads the same scheduler and a Node worker runs the
  iterations and creates the next ones without errors.
* A pybull Worker runs Node's iterations (passes once the worker calls schedule_next_iteration).
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from interop_helpers import py_queue, py_worker, run_worker_until
from node import arun_node, run_node

from pybull._context import now_ms
from pybull._cron import next_cron_millis
from pybull.scheduler import schedule_next_iteration

pytestmark = pytest.mark.interop

#: opts keys whose values depend on the clock (compared for presence only)
_CLOCK_KEYS = ("timestamp", "delay", "jobId", "prevMillis")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _cron_cases() -> list[dict[str, Any]]:
    patterns = [
        "*/5 * * * * *",
        "0 */15 * * * *",
        "30 2 * * *",
        "0 2 * * *",
        "15 1-3 * * *",
        "*/20 1-2 * * *",
        "0 * * * *",
        "0 0 * * *",
        "0 9 * * 1-5",
        "0 12 * * 5L",
        "0 12 * * 1#2",
        "0 0 L * *",
        "0 0 29 2 *",
        "5 4 * * sun",
        "59 59 1 * * *",
        "0 22 * * 1-5",
        "@hourly",
    ]
    starts = {
        "Europe/Paris": [
            "2025-03-30T00:59:59+01:00",
            "2025-10-26T01:50:00+02:00",
            "2025-10-26T02:10:00+01:00",
        ],
        "America/New_York": [
            "2025-03-09T01:30:00.500-05:00",
            "2025-11-02T00:50:00-04:00",
            "2025-11-02T01:10:00-05:00",
        ],
        "UTC": ["2024-02-28T23:59:59.999+00:00"],
        "Asia/Kolkata": ["2025-06-15T12:34:56.789+05:30"],
    }
    rng = random.Random(7)
    cases = []
    for pattern in patterns:
        for tz, times in starts.items():
            for text in times:
                cases.append(
                    {"millis": _ms(text) + rng.choice((0, 0, 1, 999)), "opts": {"pattern": pattern, "tz": tz}}
                )
    base = _ms("2025-06-15T12:00:00+00:00")
    cases.append(
        {"millis": base, "opts": {"pattern": "0 * * * *", "tz": "UTC", "startDate": base + 3 * 3600_000 + 17}}
    )
    cases.append(
        {"millis": base + 3600_000, "opts": {"pattern": "0 * * * *", "tz": "UTC", "endDate": base + 3600_000}}
    )
    return cases


def test_cron_next_times_match_node(node_base: dict[str, Any]) -> None:
    """Chains of next times (each from the previous, as a scheduler advances) agree with Node's."""
    cases = _cron_cases()
    chains: list[list[int | None]] = [[] for _ in cases]
    current = [dict(c) for c in cases]
    for _step in range(4):
        node = run_node({**node_base, "op": "cronNext", "cases": current})
        for i, case in enumerate(current):
            opts = case["opts"]
            mine = next_cron_millis(
                opts["pattern"],
                case["millis"],
                tz=opts.get("tz"),
                start_date=opts.get("startDate"),
                end_date=opts.get("endDate"),
            )
            assert mine == node[i], (opts, case["millis"], chains[i], node[i], mine)
            chains[i].append(mine)
            if isinstance(mine, int):
                case["millis"] = mine
        current = [c for c in current]


async def _hash(client: aioredis.Redis, key: str) -> dict[str, str]:
    return dict(await client.hgetall(key))


def _shape(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: (k if k in _CLOCK_KEYS else v) for k, v in opts.items()}


async def _next_iteration(
    client: aioredis.Redis, queue_name: str, scheduler_id: str
) -> tuple[str, dict[str, str]]:
    base = f"bull:{queue_name}:"
    due = await client.zscore(base + "repeat", scheduler_id)
    assert due is not None
    job_id = f"repeat:{scheduler_id}:{int(due)}"
    return job_id, await _hash(client, base + job_id)


async def test_node_scheduler_read_and_continued_by_pybull(
    node_base: dict[str, Any], redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    template = {
        "name": "tick",
        "data": {"t": 1},
        "opts": {"attempts": 2, "backoff": 300, "removeOnComplete": 5},
    }
    repeat = {"every": 60_000, "offset": 1234, "limit": 5}
    twin = f"{queue_name}-node"
    run_node(
        {
            **node_base,
            "ops": [
                {"op": "upsertJobScheduler", "id": "ev", "repeat": repeat, "template": template},
                {
                    "op": "upsertJobScheduler",
                    "id": "ev",
                    "repeat": repeat,
                    "template": template,
                    "queue": twin,
                },
                {
                    "op": "upsertJobScheduler",
                    "id": "cr",
                    "repeat": {"pattern": "0 30 3 * * *", "tz": "Europe/Paris"},
                },
            ],
        }
    )
    queue = py_queue(queue_name, redis_url)
    try:
        mine = {s["key"]: s for s in await queue.get_job_schedulers(asc=True)}
        node = {s["key"]: s for s in run_node({**node_base, "op": "getJobSchedulers", "asc": True})}
        assert set(mine) == set(node) == {"ev", "cr"}
        for key, theirs in node.items():
            ours = mine[key]
            assert ours["next"] == theirs["next"] and ours["name"] == theirs["name"]
            assert ours.get("iteration_count") == theirs.get("iterationCount") == 1
            assert ours.get("every") == theirs.get("every") and ours.get("pattern") == theirs.get("pattern")
            assert ours.get("template") == theirs.get("template")
        # the Node-made iteration is promoted and started; pybull creates the successor
        job_id, _ = await _next_iteration(client, queue_name, "ev")
        await queue.promote_jobs()
        from queue_helpers import activate

        [(got, _token)] = await activate(queue)
        assert got == job_id
        job = await queue.get_job(job_id)
        assert job is not None
        await schedule_next_iteration(queue.ctx, job)
        # the twin: a Node worker starts the same iteration in its own queue
        twin_job, _ = await _next_iteration(client, twin, "ev")
        await client.zadd(f"bull:{twin}:delayed", {twin_job: 0})
        await client.zadd(f"bull:{twin}:marker", {"1": 0})
        result = run_node({**node_base, "queue": twin, "op": "work", "count": 1, "timeout_ms": 10000})
        assert result["errors"] == [] and result["order"] == [twin_job]
        ours_id, ours = await _next_iteration(client, queue_name, "ev")
        theirs_id, theirs = await _next_iteration(client, twin, "ev")
        assert (
            ours_id.rsplit(":", 1)[1] == theirs_id.rsplit(":", 1)[1]
            or int(ours_id.rsplit(":", 1)[1]) % 60_000 == 1234
        )
        assert _shape(json.loads(ours.pop("opts"))) == _shape(json.loads(theirs.pop("opts")))
        for fields in (ours, theirs):
            for volatile in ("timestamp", "delay"):
                fields.pop(volatile)
        assert ours == theirs
        sched_ours = await _hash(client, f"bull:{queue_name}:repeat:ev")
        sched_theirs = await _hash(client, f"bull:{twin}:repeat:ev")
        assert sched_ours == sched_theirs and sched_ours["ic"] == "2"
    finally:
        await queue.close()


async def test_pybull_scheduler_seen_and_run_by_node(
    node_base: dict[str, Any], redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    queue = py_queue(queue_name, redis_url)
    try:
        ev = await queue.upsert_job_scheduler(
            "ev", {"every": 150}, {"name": "tick", "data": {"behave": "ok"}, "opts": {"backoff": 100}}
        )
        cron = await queue.upsert_job_scheduler(
            "cr",
            {"pattern": "*/1 * * * * *", "tz": "America/New_York", "limit": 2},
            {"data": {"behave": "ok"}},
        )
        assert ev is not None and cron is not None
        node = {s["key"]: s for s in run_node({**node_base, "op": "getJobSchedulers"})}
        mine = {s["key"]: s for s in await queue.get_job_schedulers()}
        assert (
            node["ev"]["every"] == 150 and node["ev"]["name"] == "tick" and node["ev"]["iterationCount"] == 1
        )
        assert node["cr"]["pattern"] == "*/1 * * * * *" and node["cr"]["tz"] == "America/New_York"
        assert node["cr"]["limit"] == 2 and node["cr"]["next"] == mine["cr"]["next"]
        assert node["ev"]["template"] == {"data": {"behave": "ok"}, "opts": {"backoff": 100}}
        node_job = run_node({**node_base, "op": "getJob", "id": cron.id})
        assert node_job["opts"]["repeat"] == {
            "pattern": "*/1 * * * * *",
            "tz": "America/New_York",
            "limit": 2,
            "count": 1,
        }
        # a Node worker runs pybull's iterations and keeps the schedule going
        result = await arun_node({**node_base, "op": "work", "count": 5, "timeout_ms": 15000})
        assert result["errors"] == [] and not result["timed_out"]
        done = [i for i in result["order"] if i.startswith("repeat:ev:")]
        dues = [int(i.rsplit(":", 1)[1]) for i in done]
        # missed slots (Node's start-up) are skipped, the phase is kept (wire-format 12.6)
        assert len(dues) >= 2 and dues == sorted(set(dues)) and all((d - dues[0]) % 150 == 0 for d in dues)
        assert int(await client.hget(f"bull:{queue_name}:repeat:ev", "ic") or 0) >= len(done)
        # the Node-made next iteration carries the shape pybull wrote
        _, nxt = await _next_iteration(client, queue_name, "ev")
        assert json.loads(nxt["opts"])["repeat"]["every"] == 150
        assert await queue.remove_job_scheduler("ev") is True
        assert run_node({**node_base, "op": "getJobScheduler", "id": "ev"}) is None
    finally:
        await queue.close()


async def test_pybull_worker_runs_node_iterations(
    node_base: dict[str, Any], redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    """Passes once the Worker calls schedule_next_iteration when it starts an iteration."""
    run_node(
        {
            **node_base,
            "op": "upsertJobScheduler",
            "id": "ev",
            "repeat": {"every": 120},
            "template": {"name": "t"},
        }
    )
    seen: list[str] = []

    async def process(job: Any) -> str:
        seen.append(job.id)
        return "ok"

    worker = py_worker(queue_name, process, redis_url)

    async def enough() -> bool:
        return len(seen) >= 3

    await run_worker_until(worker, enough, limit_s=6)
    dues = [int(i.rsplit(":", 1)[1]) for i in seen]
    assert dues == sorted(set(dues)) and all((d - dues[0]) % 120 == 0 for d in dues)
    assert int(await client.hget(f"bull:{queue_name}:repeat:ev", "ic") or 0) >= 3
    node = run_node({**node_base, "op": "getJobScheduler", "id": "ev"})
    assert node["iterationCount"] >= 3 and node["next"] > now_ms() - 1000
