"""The packed script calls (Queue.add, the worker's finish-and-fetch): same safety rules as any call.

A NOSCRIPT reply (server restart, SCRIPT FLUSH) must be answered by loading the script and sending
again, since the script never ran. A lost reply must never be resent: the error reaches the
caller, the job is written once, and the next call works on a fresh connection.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from pybull import Job, Queue, Worker
from pybull._lua import PackedScript
from pybull.errors import ConnectionError as PybullConnectionError

FAST = {"lock_duration": 2000, "stalled_interval": 1000, "drain_delay": 0.2}

#: Keeps the server busy for a few tenths of a second (a counted loop: Valkey freezes TIME in
#: scripts), so a call sent meanwhile gets its reply late.
BUSY_LUA = "local x = 0 for i = 1, 100000000 do x = x + i end return 1"


async def test_add_recovers_after_script_flush(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.add("before", {"n": 1})
    await client.script_flush()
    second = await queue.add("after", {"n": 2})
    assert int(second.id) == int(first.id) + 1
    assert await queue.get_job_state(second.id) == "waiting"
    assert await client.llen(f"bull:{queue.name}:wait") == 2


async def test_worker_finishes_jobs_after_script_flush(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    done: list[str] = []

    async def process(job: Job) -> int:
        done.append(job.id)
        if len(done) == 2:
            await client.script_flush()  # the finish of this very job meets NOSCRIPT
        return len(done)

    await queue.add_bulk([{"name": "j", "data": {"i": i}} for i in range(5)])
    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    assert await worker.run_until_drained() == 5
    assert sorted(done, key=int) == ["1", "2", "3", "4", "5"]
    assert await client.zcard(f"bull:{queue_name}:completed") == 5
    finished = [e for _, e in await client.xrange(f"bull:{queue_name}:events") if e["event"] == "completed"]
    assert len(finished) == 5  # each finish ran exactly once


async def test_killed_connection_fails_the_call_and_the_next_call_reconnects(
    queue: Queue, client: aioredis.Redis
) -> None:
    before = {c["id"] for c in await client.client_list()}
    await queue.add("warm", {})
    mine = {c["id"] for c in await client.client_list()} - before - {str(await client.client_id())}
    assert mine  # the queue's own connections (other tests' clients on this server are left alone)
    for client_id in mine:
        await client.execute_command("CLIENT", "KILL", "ID", client_id)
    with pytest.raises(PybullConnectionError):
        await queue.add("lost", {})  # sent on a dead socket: an error, not a silent resend
    job = await queue.add("next", {})
    names = [await client.hget(f"bull:{queue.name}:{i}", "name") for i in range(1, 4)]
    assert names == ["warm", "next", None]  # "lost" never ran; the counter moved once per run
    assert job.id == "2"


async def test_lost_reply_is_not_resent(queue: Queue, client: aioredis.Redis) -> None:
    """The script ran but its reply came too late: the caller sees a timeout, the job exists once."""
    await queue.add("warm", {})
    assert queue._add_call is not None
    await queue._add_call.close()
    queue._add_call = PackedScript(
        queue.connection.client, "addJob", queue.keys.all, (queue.keys.base,), timeout=0.1
    )
    await queue.add("warm", {})  # the call's connection is open and idle before the server stalls
    blocker = asyncio.create_task(client.eval(BUSY_LUA, 0))
    await asyncio.sleep(0.05)
    with pytest.raises(PybullConnectionError, match="did not answer in time"):
        await queue.add("late", {})
    assert await blocker == 1
    job = await queue.add("next", {})
    # Redis runs the orphaned command once (id 3); Valkey may drop it with the closed connection.
    # Never twice: a resend would have taken ids 3 and 4.
    names = [await client.hget(f"bull:{queue.name}:{i}", "name") for i in range(1, 6)]
    assert names in (["warm", "warm", "late", "next", None], ["warm", "warm", "next", None, None])
    assert job.id == str(names.index("next") + 1)


async def test_concurrent_adds_each_get_their_own_reply(queue: Queue, client: aioredis.Redis) -> None:
    jobs = await asyncio.gather(*(queue.add("j", {"i": i}) for i in range(50)))
    assert sorted(int(j.id) for j in jobs) == list(range(1, 51))
    for job in jobs:
        assert await client.hget(f"bull:{queue.name}:{job.id}", "data") == f'{{"i":{job.data["i"]}}}'
