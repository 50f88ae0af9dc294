"""Connections that heal: killed connections and a restarted server cost time, never a job or a duplicate.

Every job must complete exactly once: counted by the processor, present in the completed set, and
with attemptsMade 1 (a script whose reply was lost is read back, never blindly re-sent).
"""

from __future__ import annotations

import asyncio
import collections
import logging

import pytest
import redis.asyncio as aioredis

from pybull import Job, Queue, Worker
from pybull._server import EmbeddedServer

N = 300


async def run_with_trouble(
    url: str, queue_name: str, trouble, *, lock_duration: int = 5000
) -> collections.Counter[str]:  # type: ignore[no-untyped-def]
    queue = Queue(queue_name, connection=url)
    await queue.add_bulk([{"name": "j", "data": {"i": i}} for i in range(N)])
    runs: collections.Counter[str] = collections.Counter()
    all_done = asyncio.Event()
    completed: set[str] = set()

    async def process(j: Job) -> int:
        runs[j.id] += 1
        await asyncio.sleep(0.01)
        return int(j.data["i"])

    def on_completed(j: Job, result: object, prev: str) -> None:
        completed.add(j.id)
        if len(completed) == N:
            all_done.set()

    worker = Worker(
        queue_name, process, connection=url, concurrency=10, lock_duration=lock_duration,
        stalled_interval=lock_duration, drain_delay=0.5,
    )  # fmt: skip
    worker.on("completed", on_completed)
    await trouble()
    await asyncio.wait_for(all_done.wait(), 30)
    await worker.close()
    admin = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        assert await admin.zcard(f"bull:{queue_name}:completed") == N
        assert await admin.llen(f"bull:{queue_name}:active") == 0
        async with admin.pipeline(transaction=False) as pipe:
            for job_id in runs:
                pipe.hget(f"bull:{queue_name}:{job_id}", "atm")
            assert set(await pipe.execute()) == {"1"}
    finally:
        await admin.aclose()
        await queue.close()
    return runs


async def test_killed_connections_lose_and_duplicate_nothing(redis_url: str, queue_name: str) -> None:
    killer = aioredis.Redis.from_url(redis_url, decode_responses=True)

    async def trouble() -> None:
        for _ in range(6):
            await asyncio.sleep(0.08)
            await killer.client_kill_filter(_type="normal", skipme=True)

    try:
        runs = await run_with_trouble(redis_url, queue_name, trouble)
    finally:
        await killer.aclose()
    assert len(runs) == N and set(runs.values()) == {1}


@pytest.mark.slow
async def test_server_restart_mid_run(caplog: pytest.LogCaptureFixture, queue_name: str) -> None:
    with EmbeddedServer("any", appendonly=True) as server:

        async def trouble() -> None:
            await asyncio.sleep(0.15)
            await asyncio.to_thread(server.restart, down_for=2.0)

        with caplog.at_level(logging.WARNING, logger="pybull"):
            runs = await run_with_trouble(server.url, queue_name, trouble)
    assert len(runs) == N and set(runs.values()) == {1}
    # a server down for 2 s: about one line per second, not one per failed call
    assert len([r for r in caplog.records if r.name == "pybull"]) <= 6
