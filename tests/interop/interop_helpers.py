"""Small shared pieces of the interop tests: opening pybull objects lazily, comparing Redis state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

import pybull


def py_queue(name: str, url: str, **kwargs: Any) -> Any:
    """``pybull.Queue`` (looked up at call time so a missing class fails one test, not collection)."""
    return pybull.Queue(name, connection=url, prefix="bull", **kwargs)


def py_worker(queue_name: str, processor: Any, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("autorun", False)
    kwargs.setdefault("drain_delay", 1)
    return pybull.Worker(queue_name, processor, connection=url, prefix="bull", **kwargs)


async def run_worker_until(
    worker: Any, done: Callable[[], Awaitable[bool]], *, limit_s: float = 20, poll_s: float = 0.02
) -> None:
    """Run a pybull worker until ``done()`` is true, then close it (fails after ``limit_s``)."""
    task = asyncio.create_task(worker.run())
    deadline = time.monotonic() + limit_s
    try:
        while not await done():
            if task.done():
                task.result()  # surfaces the worker's exception
                raise AssertionError("pybull worker stopped before the jobs were finished")
            if time.monotonic() > deadline:
                raise AssertionError(f"pybull worker did not finish the jobs within {limit_s}s")
            await asyncio.sleep(poll_s)
    finally:
        await worker.close()
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            task.cancel()


async def finished_count(client: aioredis.Redis, queue_name: str) -> int:
    base = f"bull:{queue_name}:"
    return int(await client.zcard(base + "completed")) + int(await client.zcard(base + "failed"))


async def snapshot(client: aioredis.Redis, queue_name: str, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every key of a queue, by suffix, with a comparable value (scores included)."""
    base = f"bull:{queue_name}:"
    out: dict[str, Any] = {}
    async for key in client.scan_iter(match=base + "*", count=1000):
        suffix = key[len(base) :]
        if suffix in skip:
            continue
        kind = await client.type(key)
        if kind == "list":
            value: Any = await client.lrange(key, 0, -1)
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(await client.smembers(key))
        elif kind == "hash":
            value = await client.hgetall(key)
        elif kind == "stream":
            value = [fields for _, fields in await client.xrange(key)]
        else:
            value = await client.get(key)
        out[suffix] = (kind, value)
    return out


def events_by_job(events: list[dict[str, Any]], fields: tuple[str, ...] = ("prev",)) -> dict[str, list[Any]]:
    """Per-job event sequences (``drained`` and job-less events left out)."""
    out: dict[str, list[Any]] = {}
    for ev in events:
        job_id = ev.get("jobId")
        if job_id is None:
            continue
        out.setdefault(job_id, []).append((ev["event"], *(ev.get(f) for f in fields)))
    return out
