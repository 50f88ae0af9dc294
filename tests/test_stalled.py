"""Stalled jobs (wire-format 8.7): a vanished worker's job is recovered, at most max_stalled_count times."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from pybull import Job, Queue, Worker


async def abandon_one_job(redis_url: str, queue_name: str) -> None:
    """A worker takes the job and dies without finishing it (its lock then expires after 300 ms)."""
    started = asyncio.Event()

    async def hang(j: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    dying = Worker(queue_name, hang, connection=redis_url, lock_duration=300, skip_stalled_check=True)
    await asyncio.wait_for(started.wait(), 5)
    await dying.close(force=True)


async def test_abandoned_job_is_recovered_and_processed_again(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("j", {})
    await abandon_one_job(redis_url, queue_name)
    assert await client.lrange(f"bull:{queue_name}:active", 0, -1) == [job.id]
    stalled: list[str] = []
    done = asyncio.Event()
    rescuer = Worker(
        queue_name, lambda j: "rescued", connection=redis_url, stalled_interval=150, drain_delay=0.2
    )
    rescuer.on("stalled", lambda job_id, prev: stalled.append(job_id))
    rescuer.on("completed", lambda j, r, p: done.set())
    await asyncio.wait_for(done.wait(), 5)
    await rescuer.close()
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert stalled == [job.id]
    assert raw["stc"] == "1" and raw["ats"] == "2" and raw["atm"] == "1" and raw["returnvalue"] == '"rescued"'
    events = [
        f["event"] for _i, f in await client.xrange(f"bull:{queue_name}:events") if f.get("jobId") == job.id
    ]
    assert events[events.index("stalled") - 1] == "waiting"


async def test_job_stalled_too_often_fails_through_deferred_failure(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("j", {})
    await abandon_one_job(redis_url, queue_name)
    ran: list[str] = []
    failed = asyncio.Event()
    rescuer = Worker(
        queue_name,
        ran.append,
        connection=redis_url,
        stalled_interval=150,
        max_stalled_count=0,
        drain_delay=0.2,
    )
    rescuer.on("failed", lambda j, err, prev: failed.set())
    await asyncio.wait_for(failed.wait(), 5)
    await rescuer.close()
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert ran == []
    assert raw["failedReason"] == "job stalled more than allowable limit"
    assert raw["atm"] == "1" and "defa" not in raw


async def test_lock_renewal_keeps_a_long_job_from_stalling(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    await queue.add("long", {})
    stalled: list[str] = []
    runs: list[str] = []

    async def process(j: Job) -> None:
        runs.append(j.id)
        await asyncio.sleep(1.0)

    worker = Worker(
        queue_name, process, connection=redis_url, lock_duration=300, stalled_interval=100, drain_delay=0.2
    )
    watcher = Worker(queue_name, process, connection=redis_url, stalled_interval=100, autorun=False)
    worker.on("stalled", lambda job_id, prev: stalled.append(job_id))
    for _ in range(8):
        await asyncio.sleep(0.13)
        stalled.extend(await watcher.check_stalled())
    await worker.run_until_drained()
    await watcher.close()
    assert stalled == [] and len(runs) == 1
