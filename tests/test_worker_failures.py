"""Failed attempts: retries and backoff decided in the worker, and the processor signal errors."""

from __future__ import annotations

import asyncio
import json
import time

import redis.asyncio as aioredis

from pybull import DelayedError, Job, Queue, RateLimitError, UnrecoverableError, Worker

FAST = {"lock_duration": 2000, "stalled_interval": 1000, "drain_delay": 0.2}


async def events_of(client: aioredis.Redis, queue_name: str, job_id: str) -> list[dict[str, str]]:
    entries = await client.xrange(f"bull:{queue_name}:events")
    return [f for _id, f in entries if f.get("jobId") == job_id and f["event"] != "added"]


async def test_retries_with_fixed_backoff_then_fails_for_good(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("flaky", {}, attempts=3, backoff=100, stack_trace_limit=2)
    attempts: list[float] = []
    local_failed: list[int] = []

    async def process(j: Job) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError(f"boom {len(attempts)}")

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    worker.on("failed", lambda j, err, prev: local_failed.append(j.attempts_made))
    await worker.run_until_drained()
    assert len(attempts) == 3 and attempts[1] - attempts[0] >= 0.09
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert raw["atm"] == "3" and raw["failedReason"] == "boom 3" and raw["delay"] == "0"
    trace = json.loads(raw["stacktrace"])
    assert len(trace) == 2 and "boom 3" in trace[-1]
    assert local_failed == [1, 2, 3]  # the worker's listener fires for every attempt, as Node's does
    names = [e["event"] for e in await events_of(client, queue_name, job.id)]
    assert names.count("delayed") == 2 and names.count("failed") == 1
    assert names[-2:] == ["failed", "retries-exhausted"]


async def test_retry_without_backoff_goes_back_to_wait(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("again", {}, attempts=2)
    seen: list[int] = []

    async def process(j: Job) -> str:
        seen.append(j.attempts_made)
        if len(seen) == 1:
            raise RuntimeError("first")
        return "second"

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert seen == [0, 1]
    events = await events_of(client, queue_name, job.id)
    assert {"event": "waiting", "jobId": job.id, "prev": "active"} in events
    assert await client.hget(f"bull:{queue_name}:{job.id}", "atm") == "2"


async def test_unrecoverable_error_by_class_or_name_stops_retries(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    a = await queue.add("a", {}, attempts=5)
    b = await queue.add("b", {}, attempts=5)

    class UnrecoverableErrorFromElsewhere(Exception):
        pass

    UnrecoverableErrorFromElsewhere.__name__ = "UnrecoverableError"

    async def process(j: Job) -> None:
        if j.name == "a":
            raise UnrecoverableError("stop now")
        raise UnrecoverableErrorFromElsewhere("by name")

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    for job, reason in ((a, "stop now"), (b, "by name")):
        raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
        assert raw["atm"] == "1" and raw["failedReason"] == reason


async def test_exponential_and_custom_backoff(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    exp = await queue.add("exp", {}, attempts=3, backoff={"type": "exponential", "delay": 50})
    custom = await queue.add("custom", {}, attempts=4, backoff={"type": "mine"})
    calls: list[tuple[int, str]] = []

    def strategy(attempts_made: int, kind: str, err: BaseException, job: Job) -> int:
        calls.append((attempts_made, kind))
        return 20 if attempts_made < 2 else -1

    dues: dict[str, list[int]] = {}

    async def process(j: Job) -> None:
        raise RuntimeError(j.name)

    worker = Worker(queue_name, process, connection=redis_url, backoff_strategy=strategy, **FAST)
    await worker.run_until_drained()
    for job in (exp, custom):
        dues[job.id] = [
            int(e["delay"]) for e in await events_of(client, queue_name, job.id) if e["event"] == "delayed"
        ]
    assert await client.hget(f"bull:{queue_name}:{exp.id}", "atm") == "3"
    assert len(dues[exp.id]) == 2
    assert calls == [(1, "mine"), (2, "mine")]  # -1 on the second call: no more retries
    assert await client.hget(f"bull:{queue_name}:{custom.id}", "atm") == "2"


async def test_max_started_attempts_fails_a_job_started_too_often(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("j", {}, attempts=10)

    async def process(j: Job) -> None:
        raise RuntimeError("again")

    worker = Worker(queue_name, process, connection=redis_url, max_started_attempts=2, **FAST)
    await worker.run_until_drained()
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert raw["ats"] == "2" and raw["atm"] == "2"


async def test_delayed_error_after_move_to_delayed_keeps_the_attempt(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("later", {})
    runs: list[int] = []

    async def process(j: Job) -> str:
        runs.append(j.attempts_made)
        if len(runs) == 1:
            await j.move_to_delayed(int(time.time() * 1000) + 150, j.token)
            raise DelayedError()
        return "done"

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert runs == [0, 0]
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert raw["returnvalue"] == '"done"' and raw["atm"] == "1" and raw["ats"] == "2"


async def test_rate_limit_error_puts_the_job_back_and_pauses_fetching(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("limited", {})
    runs: list[float] = []

    async def process(j: Job) -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            await worker.rate_limit(250)
            raise RateLimitError()

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert len(runs) == 2 and runs[1] - runs[0] >= 0.2
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert raw["atm"] == "1" and raw["ats"] == "2"
    assert {"event": "waiting", "jobId": job.id, "prev": "active"} in await events_of(
        client, queue_name, job.id
    )


async def test_move_to_waiting_children_without_children_keeps_the_job_active(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    await queue.add("parent", {})
    moved: list[bool] = []

    async def process(j: Job) -> str:
        moved.append(await j.move_to_waiting_children(j.token))
        return "no children"

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert moved == [False]
    assert await queue.get_job_counts("completed") == {"completed": 1}


async def test_lost_lock_is_reported_not_completed(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("j", {})
    errors: list[BaseException] = []

    async def process(j: Job) -> None:
        await client.set(f"bull:{queue_name}:{j.id}:lock", "someone-else")

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    worker.on("error", errors.append)
    await asyncio.wait_for(worker.run_until_drained(), 5)
    assert errors and "Lock mismatch" in str(errors[0])
    assert await client.zscore(f"bull:{queue_name}:completed", job.id) is None
