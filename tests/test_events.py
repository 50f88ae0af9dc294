"""QueueEvents: the events stream as Node's QueueEvents delivers it, and wait_until_finished."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
import redis.asyncio as aioredis

from pybull import Job, JobFailedError, Queue, QueueEvents, Worker

FAST = {"lock_duration": 2000, "stalled_interval": 1000, "drain_delay": 0.2}


async def test_iterating_yields_parsed_events_in_order(queue: Queue, redis_url: str, queue_name: str) -> None:
    """An iterator sees every event written after it started iterating."""
    qe = QueueEvents(queue_name, connection=redis_url)
    await qe.wait_until_ready()
    seen: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in qe:
            seen.append(event)
            if event["event"] == "completed":
                return

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    job = await queue.add("j", {"x": 1})

    async def process(j: Job) -> dict[str, int]:
        await j.update_progress({"step": 1})
        return {"y": 2}

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await asyncio.wait_for(consumer, 5)
    await worker.close()
    await qe.close()
    names = [e["event"] for e in seen]
    assert names == ["added", "waiting", "active", "progress", "completed"]
    assert seen[3] == {"event": "progress", "jobId": job.id, "data": {"step": 1}}
    assert seen[4] == {"event": "completed", "jobId": job.id, "returnvalue": {"y": 2}, "prev": "active"}


async def test_listeners_per_event_and_per_job(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    qe = QueueEvents(queue_name, connection=redis_url)
    await qe.wait_until_ready()
    b64 = base64.b64encode(queue_name.encode()).decode()
    assert f"bull:{b64}:qe" in [c["name"] for c in await client.client_list()]
    delayed: list[dict[str, Any]] = []
    mine: list[dict[str, Any]] = []
    drained: list[str] = []
    qe.on("delayed", lambda args, _id: delayed.append(args))
    qe.on("drained", drained.append)
    job = await queue.add("later", {}, delay=100)
    qe.on(f"completed:{job.id}", lambda args, _id: mine.append(args))
    worker = Worker(queue_name, lambda j: "ok", connection=redis_url, **FAST)
    assert await job.wait_until_finished(qe, timeout=5) == "ok"
    await asyncio.sleep(0.05)
    await worker.close()
    await qe.close()
    assert delayed and isinstance(delayed[0]["delay"], int) and delayed[0]["delay"] >= job.timestamp + 100
    assert mine == [{"jobId": job.id, "returnvalue": "ok", "prev": "active"}]
    assert drained and drained[0].count("-") == 1


async def test_wait_until_finished_raises_on_failure_and_times_out(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    qe = QueueEvents(queue_name, connection=redis_url)
    bad = await queue.add("bad", {})
    never = await queue.add("never", {}, delay=60_000)

    async def process(j: Job) -> None:
        raise RuntimeError("nope")

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    with pytest.raises(JobFailedError, match="nope"):
        await bad.wait_until_finished(qe, timeout=5)
    # already finished before the call: answered from the job's state
    with pytest.raises(JobFailedError, match="nope"):
        await bad.wait_until_finished(qe, timeout=5)
    with pytest.raises(TimeoutError):
        await never.wait_until_finished(qe, timeout=0.2)
    await worker.close()
    await qe.close()


async def test_close_ends_iteration(redis_url: str, queue_name: str) -> None:
    qe = QueueEvents(queue_name, connection=redis_url)
    await qe.wait_until_ready()

    async def consume() -> int:
        return len([e async for e in qe])

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await qe.close()
    assert await asyncio.wait_for(task, 2) == 0
    await qe.close()


async def test_explicit_run_with_autorun_off_delivers_each_event_once(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    """Regression: run() started by hand, then wait_until_ready(), used to start a second reader
    and deliver every event twice."""
    qe = QueueEvents(queue_name, connection=redis_url, autorun=False)
    runner = asyncio.create_task(qe.run())
    await qe.wait_until_ready()
    added: list[str] = []
    qe.on("added", lambda fields, _id: added.append(fields["jobId"]))
    job = await queue.add("once", {})
    await queue.add("marker", {})
    for _ in range(100):
        if len(added) >= 2:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    await qe.close()
    await asyncio.wait_for(runner, 5)
    assert added.count(job.id) == 1
    assert len(added) == 2
