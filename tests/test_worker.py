"""Worker: fetching, processing, completing, with the fields and events Node BullMQ 6.7 writes."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from pybull import Job, Queue, ValidationError, Worker

FAST = {"lock_duration": 2000, "stalled_interval": 1000, "drain_delay": 0.2}


async def stream_events(client: aioredis.Redis, queue_name: str) -> list[dict[str, str]]:
    return [dict(fields) for _id, fields in await client.xrange(f"bull:{queue_name}:events")]


async def test_completes_jobs_with_bullmq_fields_and_events(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("greet", {"who": "ada"})

    async def process(j: Job) -> dict[str, Any]:
        return {"hello": j.data["who"]}

    worker = Worker(queue_name, process, connection=redis_url, name="w-one", **FAST)
    assert await worker.run_until_drained() == 1
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert json.loads(raw["returnvalue"]) == {"hello": "ada"}
    assert raw["atm"] == "1" and raw["ats"] == "1" and raw["pb"] == "w-one"
    assert int(raw["finishedOn"]) >= int(raw["processedOn"]) >= job.timestamp
    assert await client.zscore(f"bull:{queue_name}:completed", job.id) == int(raw["finishedOn"])
    assert not await client.exists(f"bull:{queue_name}:{job.id}:lock")
    events = [e for e in await stream_events(client, queue_name) if e["event"] not in ("added", "waiting")]
    assert events[0] == {"event": "active", "jobId": job.id, "prev": "waiting"}
    assert events[1] == {
        "event": "completed",
        "jobId": job.id,
        "returnvalue": '{"hello":"ada"}',
        "prev": "active",
    }
    assert events[-1] == {"event": "drained"}


async def test_blocking_connection_is_named_for_get_workers(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    worker = Worker(queue_name, lambda j: None, connection=redis_url, name="w-one", **FAST)
    await asyncio.sleep(0.2)
    names = [c["name"] for c in await client.client_list()]
    b64 = base64.b64encode(queue_name.encode()).decode()
    assert f"bull:{b64}:w:w-one" in names
    assert any(w.get("rawname") == f"bull:{b64}:w:w-one" for w in await queue.get_workers())
    await worker.close()
    await asyncio.sleep(0.05)
    assert f"bull:{b64}:w:w-one" not in [c["name"] for c in await client.client_list()]


async def test_sync_processor_runs_in_a_thread_and_reports_progress(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("t", {"n": 2})
    threads: list[str] = []
    progress: list[Any] = []

    def process(j: Job) -> int:
        threads.append(threading.current_thread().name)
        j.update_progress(50)
        j.log("half way")
        return int(j.data["n"]) * 21

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    worker.on("progress", lambda j, p: progress.append(p))
    await worker.run_until_drained()
    assert threads and threads[0] != threading.current_thread().name
    raw = await client.hgetall(f"bull:{queue_name}:{job.id}")
    assert raw["returnvalue"] == "42" and raw["progress"] == "50"
    assert await client.lrange(f"bull:{queue_name}:{job.id}:logs", 0, -1) == ["half way"]
    assert progress == [50]


async def test_concurrency_bounds_parallel_jobs_and_each_job_gets_its_own_lock(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    await queue.add_bulk([{"name": "j", "data": {"i": i}} for i in range(20)])
    running = 0
    peak = 0
    tokens: set[str] = set()

    async def process(j: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        tokens.add(await client.get(f"bull:{queue_name}:{j.id}:lock") or "")
        await asyncio.sleep(0.03)
        running -= 1

    worker = Worker(queue_name, process, connection=redis_url, concurrency=5, **FAST)
    assert await worker.run_until_drained() == 20
    assert peak == 5
    assert len(tokens) == 20 and all(t.startswith(worker.id + ":") for t in tokens)


async def test_a_failing_processor_fails_the_job_not_the_worker(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    bad = await queue.add("bad", {})
    good = await queue.add("good", {})
    failed: list[tuple[str, str]] = []

    async def process(j: Job) -> str:
        if j.name == "bad":
            raise ValueError("boom")
        return "fine"

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    worker.on("failed", lambda j, err, prev: failed.append((j.id, str(err))))
    await worker.run_until_drained()
    raw = await client.hgetall(f"bull:{queue_name}:{bad.id}")
    assert raw["failedReason"] == "boom" and raw["atm"] == "1"
    trace = json.loads(raw["stacktrace"])
    assert len(trace) == 1 and "ValueError: boom" in trace[0]
    assert failed == [(bad.id, "boom")]
    assert await client.zscore(f"bull:{queue_name}:failed", bad.id) is not None
    assert await client.zscore(f"bull:{queue_name}:completed", good.id) is not None
    events = [e["event"] for e in await stream_events(client, queue_name)]
    assert "retries-exhausted" in events  # attempts 0: BullMQ emits it on every final failure


async def test_corrupt_job_data_fails_that_job_with_a_clear_reason(
    client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    base = f"bull:{queue_name}:"
    # hand-written job (wire-format 3.1) whose data is not JSON
    await client.hset(
        base + "x1",
        mapping={"name": "n", "data": "{not json", "opts": "{}", "timestamp": 1, "delay": 0, "priority": 0},
    )
    await client.lpush(base + "wait", "x1")
    await client.zadd(base + "marker", {"0": 0})
    worker = Worker(queue_name, lambda j: "never", connection=redis_url, **FAST)
    await worker.run_until_drained()
    raw = await client.hgetall(base + "x1")
    assert "cannot be decoded" in raw["failedReason"] and "data" in raw["failedReason"]
    assert await client.zscore(base + "failed", "x1") is not None


async def test_remove_on_complete_and_fail_worker_option_and_job_override(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    kept = await queue.add("keep", {}, remove_on_complete=False)
    gone = [await queue.add("j", {}) for _ in range(4)]
    fail_gone = await queue.add("fail", {}, remove_on_fail=True)

    async def process(j: Job) -> None:
        if j.name == "fail":
            raise RuntimeError("x")

    worker = Worker(queue_name, process, connection=redis_url, remove_on_complete=2, **FAST)
    await worker.run_until_drained()
    completed = await client.zrange(f"bull:{queue_name}:completed", 0, -1)
    assert kept.id not in completed or len(completed) <= 2  # count rule prunes oldest
    assert len(completed) == 2 and completed == [gone[2].id, gone[3].id]
    assert not await client.exists(f"bull:{queue_name}:{gone[0].id}")
    assert not await client.exists(f"bull:{queue_name}:{fail_gone.id}")
    assert await client.zcard(f"bull:{queue_name}:failed") == 0


async def test_metrics_are_collected_when_enabled(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    await queue.add_bulk([{"name": "j", "data": {}} for _ in range(3)])
    worker = Worker(queue_name, lambda j: 1, connection=redis_url, metrics={"max_data_points": 60}, **FAST)
    await worker.run_until_drained()
    meta = await client.hgetall(f"bull:{queue_name}:metrics:completed")
    assert meta["count"] == "3" and meta["prevCount"] == "0" and "prevTS" in meta


async def test_prioritized_and_delayed_jobs_are_fetched_in_order(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    order: list[str] = []
    await queue.add("late", {}, delay=300)
    await queue.add("p5", {}, priority=5)
    await queue.add("p1", {}, priority=1)
    await queue.add("plain", {})
    started = time.monotonic()

    async def process(j: Job) -> None:
        order.append(j.name)

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await worker.run_until_drained()
    assert order == ["plain", "p1", "p5", "late"]
    assert time.monotonic() - started >= 0.28


async def test_queue_pause_and_worker_pause_stop_fetching(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    done: list[str] = []
    worker = Worker(queue_name, lambda j: done.append(j.id), connection=redis_url, **FAST)
    await queue.pause()
    await queue.add("a", {})
    await asyncio.sleep(0.3)
    assert done == []
    await queue.resume()
    for _ in range(100):
        if done:
            break
        await asyncio.sleep(0.02)
    assert len(done) == 1
    await worker.pause()
    await queue.add("b", {})
    await asyncio.sleep(0.3)
    assert len(done) == 1
    worker.resume()
    await worker.run_until_drained()
    assert len(done) == 2


async def test_queue_rate_limiter_spaces_out_jobs(queue: Queue, redis_url: str, queue_name: str) -> None:
    await queue.add_bulk([{"name": "j", "data": {}} for _ in range(6)])
    stamps: list[float] = []
    worker = Worker(
        queue_name,
        lambda j: stamps.append(time.monotonic()),
        connection=redis_url,
        concurrency=6,
        limiter={"max": 2, "duration": 300},
        **FAST,
    )
    await worker.run_until_drained()
    assert len(stamps) == 6
    assert stamps[-1] - stamps[0] >= 0.55  # 3 windows of 2 jobs


async def test_global_concurrency_from_meta_is_honoured(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    await queue.set_global_concurrency(2)
    await queue.add_bulk([{"name": "j", "data": {}} for _ in range(8)])
    running = 0
    peak = 0

    async def process(j: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    worker = Worker(queue_name, process, connection=redis_url, concurrency=8, **FAST)
    assert await worker.run_until_drained() == 8
    assert peak == 2


async def test_timeout_fails_a_hanging_job(
    queue: Queue, client: aioredis.Redis, redis_url: str, queue_name: str
) -> None:
    job = await queue.add("slow", {})

    async def process(j: Job) -> None:
        await asyncio.sleep(10)

    worker = Worker(queue_name, process, connection=redis_url, timeout=0.1, **FAST)
    await worker.run_until_drained()
    assert "timed out" in (await client.hget(f"bull:{queue_name}:{job.id}", "failedReason") or "")


async def test_close_waits_for_active_jobs_and_is_idempotent(
    queue: Queue, redis_url: str, queue_name: str
) -> None:
    await queue.add("j", {})
    started = asyncio.Event()
    finished: list[str] = []

    async def process(j: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(j.id)

    worker = Worker(queue_name, process, connection=redis_url, **FAST)
    await started.wait()
    await asyncio.gather(worker.close(), worker.close())
    await worker.close()
    assert finished and not worker.running
    assert await queue.get_job_counts("completed") == {"completed": 1}


async def test_autorun_needs_a_running_loop_and_run_works_without_it(redis_url: str, queue_name: str) -> None:
    worker = Worker(queue_name, lambda j: None, connection=redis_url, autorun=False)
    assert not worker.running
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.1)
    assert worker.running
    await worker.close()
    await task
    with pytest.raises(ValidationError):
        Worker(queue_name, lambda j: None, connection=redis_url, concurrency=0)


def test_worker_built_outside_a_loop_does_not_start(redis_url: str, queue_name: str) -> None:
    worker = Worker(queue_name, lambda j: None, connection=redis_url)
    assert not worker.running
    asyncio.run(worker.close())
