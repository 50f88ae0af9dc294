"""Finishing a child updates its parent (wire-format 11.3, 11.5) and releases dedup keys (13.3, 13.4)."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from pybull import Job, Queue, WaitingChildrenError, Worker

FAST = {"lock_duration": 2000, "stalled_interval": 1000, "drain_delay": 0.2}


async def run_family(
    queue: Queue, redis_url: str, child_opts: dict[str, Any], child_fails: bool
) -> dict[str, Any]:
    """A parent spawns two children (ok + maybe failing) and waits for them; returns what happened."""
    qualified = f"bull:{queue.name}"
    parent = await queue.add("parent", {})
    seen: dict[str, Any] = {"parent_runs": 0}

    async def process(j: Job) -> Any:
        if j.name == "parent":
            seen["parent_runs"] += 1
            if seen["parent_runs"] == 1:
                opts = {"parent": {"id": j.id, "queue": qualified}}
                seen["ok"] = await queue.add("ok", {}, opts)
                seen["bad"] = await queue.add("bad", {}, {**opts, **child_opts})
                assert await j.move_to_waiting_children(j.token)
                raise WaitingChildrenError()
            return "parent done"
        if j.name == "bad" and child_fails:
            raise RuntimeError("child broke")
        return f"{j.name} result"

    worker = Worker(queue.name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    seen["parent"] = parent
    return seen


async def test_completed_children_release_the_parent(
    queue: Queue, client: aioredis.Redis, redis_url: str
) -> None:
    seen = await run_family(queue, redis_url, {}, child_fails=False)
    parent_key = f"bull:{queue.name}:{seen['parent'].id}"
    processed = await client.hgetall(parent_key + ":processed")
    assert processed == {
        f"bull:{queue.name}:{seen['ok'].id}": '"ok result"',
        f"bull:{queue.name}:{seen['bad'].id}": '"bad result"',
    }
    assert seen["parent_runs"] == 2
    assert await client.hget(parent_key, "returnvalue") == '"parent done"'
    events = [
        f for _i, f in await client.xrange(f"bull:{queue.name}:events") if f.get("jobId") == seen["parent"].id
    ]
    assert {"event": "waiting", "jobId": seen["parent"].id, "prev": "waiting-children"} in events


async def test_fail_parent_on_failure_fails_the_parent(
    queue: Queue, client: aioredis.Redis, redis_url: str
) -> None:
    seen = await run_family(queue, redis_url, {"fail_parent_on_failure": True}, child_fails=True)
    parent_key = f"bull:{queue.name}:{seen['parent'].id}"
    bad_key = f"bull:{queue.name}:{seen['bad'].id}"
    assert await client.hget(parent_key, "failedReason") == f"child {bad_key} failed"
    assert await client.zrange(parent_key + ":unsuccessful", 0, -1) == [bad_key]
    assert seen["parent_runs"] == 1


async def test_ignore_dependency_on_failure_records_and_continues(
    queue: Queue, client: aioredis.Redis, redis_url: str
) -> None:
    seen = await run_family(queue, redis_url, {"ignore_dependency_on_failure": True}, child_fails=True)
    parent_key = f"bull:{queue.name}:{seen['parent'].id}"
    assert await client.hgetall(parent_key + ":failed") == {
        f"bull:{queue.name}:{seen['bad'].id}": "child broke"
    }
    assert await client.hget(parent_key, "returnvalue") == '"parent done"'


async def test_finishing_releases_the_dedup_key_and_requeues_keep_last(
    queue: Queue, client: aioredis.Redis, redis_url: str
) -> None:
    first = await queue.add("d", {"v": 1}, deduplication={"id": "k", "keep_last_if_active": True})
    values: list[int] = []
    release = asyncio.Event()

    async def process(j: Job) -> None:
        values.append(j.data["v"])
        if len(values) == 1:
            for v in (2, 3):
                assert (
                    await queue.add("d", {"v": v}, deduplication={"id": "k", "keep_last_if_active": True})
                ).id == first.id
            release.set()

    worker = Worker(queue.name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert values == [1, 3]  # the last payload parked while the owner was active runs next
    assert not await client.exists(f"bull:{queue.name}:de:k")
    assert not await client.exists(f"bull:{queue.name}:dn:k")
