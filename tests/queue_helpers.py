"""Helpers shared by the queue/job/dedup tests (no tests here).

Jobs reach ``active``, ``completed`` and ``failed`` through the worker's own scripts (moveToActive,
moveToFinished), so these tests exercise the same transitions a Worker would, without its loop.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from pybull import Queue
from pybull._context import now_ms
from pybull._serde import pack


def fetch_options(count: int, token: str) -> bytes:
    return pack({"count": count, "token": token, "seq": 0, "lockDuration": 30000})


async def activate(queue: Queue, count: int = 1, token: str = "tok") -> list[tuple[str, str]]:
    """Move up to ``count`` ready jobs to active; returns (job id, lock token) pairs."""
    await queue.connection.ensure_ready()
    jobs, _ttl, _due = await queue.ctx.run("moveToActive", now_ms(), fetch_options(count, token))  # type: ignore[misc]
    return [(str(jobs[i]), str(jobs[i + 1])) for i in range(0, len(jobs), 3)]


async def finish(queue: Queue, job_id: str, token: str, *, failed: bool = False, value: str = "null") -> None:
    """Complete (or finally fail) one active job, keeping it."""
    entry = [job_id, token, 1 if failed else 0, value, [], -1, None, None, 0]
    result: Any = await queue.ctx.run("moveToFinished", now_ms(), pack([entry]), fetch_options(0, token))
    assert result[0] == [0], result


async def finished_job(queue: Queue, name: str = "j", *, failed: bool = False, **opts: Any) -> str:
    """Add a job and run it to completed/failed; returns its id."""
    job = await queue.add(name, {"n": 1}, **opts)
    [(job_id, token)] = await activate(queue)
    assert job_id == job.id
    await finish(queue, job_id, token, failed=failed, value="boom" if failed else '"ok"')
    return job_id


async def add_raw(queue: Queue, job_id: str, name: str, extras: dict[str, Any]) -> Any:
    """The add script with the extras FlowProducer / schedulers pass (parent kind, rjk)."""
    await queue.connection.ensure_ready()
    opts = pack({"jobId": job_id, "attempts": 0})
    args = (queue.keys.base, job_id, name, str(now_ms()), "{}", opts, pack(extras))
    return await queue.ctx.scripts.call("addJob", queue.keys.all, args)


async def events(client: aioredis.Redis, queue: Queue) -> list[dict[str, str]]:
    """Every entry of the queue's events stream, oldest first."""
    return [fields for _id, fields in await client.xrange(queue.keys.events)]
