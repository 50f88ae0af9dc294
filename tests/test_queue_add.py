"""Queue.add / add_bulk write exactly what Node BullMQ 6.7 writes (wire-format 3, 4, 5, 7, 10)."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
from queue_helpers import events

import pybull
from pybull import Job, Queue, ValidationError


async def test_standard_add_writes_the_job_hash_events_list_and_marker(
    queue: Queue, client: aioredis.Redis
) -> None:
    job = await queue.add("welcome", {"to": "a@b.c"})
    assert isinstance(job, Job)
    assert job.id == "1"
    raw = await client.hgetall(queue.keys.job("1"))
    assert raw == {
        "name": "welcome",
        "data": '{"to":"a@b.c"}',
        "opts": '{"attempts":0}',
        "timestamp": str(job.timestamp),
        "delay": "0",
        "priority": "0",
    }
    assert await client.lrange(queue.keys.wait, 0, -1) == ["1"]
    assert await client.zrange(queue.keys.marker, 0, -1, withscores=True) == [("0", 0.0)]
    assert await client.get(queue.keys.id) == "1"
    assert await events(client, queue) == [
        {"event": "added", "jobId": "1", "name": "welcome"},
        {"event": "waiting", "jobId": "1"},
    ]
    assert await client.hgetall(queue.keys.meta) == {
        "opts.maxLenEvents": "10000",
        "version": f"pybull:{pybull.__version__}",
    }


async def test_add_without_data_stores_empty_object_and_none_stores_null(
    queue: Queue, client: aioredis.Redis
) -> None:
    a = await queue.add("a")
    b = await queue.add("b", None)
    assert await client.hget(queue.keys.job(a.id), "data") == "{}"
    assert await client.hget(queue.keys.job(b.id), "data") == "null"


async def test_custom_id_bumps_counter_and_duplicate_never_overwrites(
    queue: Queue, client: aioredis.Redis
) -> None:
    await queue.add("a", {})
    first = await queue.add("custom", {"v": 1}, job_id="my-id", attempts=3, backoff=1000)
    third = await queue.add("c", {})
    assert (first.id, third.id) == ("my-id", "3")  # the counter moved for the custom id too
    dup = await queue.add("other", {"v": 2}, job_id="my-id", delay=1000)
    assert dup.id == "my-id"
    assert dup.data == {"v": 1} and dup.name == "custom"  # the existing job, untouched
    stored = json.loads(await client.hget(queue.keys.job("my-id"), "opts"))
    assert stored == {"jobId": "my-id", "attempts": 3, "backoff": {"type": "fixed", "delay": 1000}}
    assert await client.get(queue.keys.id) == "4"
    assert await client.zcard(queue.keys.delayed) == 0
    assert (await events(client, queue))[-1] == {"event": "duplicated", "jobId": "my-id"}


async def test_lifo_jobs_run_first(queue: Queue, client: aioredis.Redis) -> None:
    for name, lifo in (("a", False), ("b", False), ("c", True), ("d", False)):
        await queue.add(name, {}, job_id=f"id-{name}", lifo=lifo)
    # Node observed: [d, b, a, c] left to right; workers pop from the right
    assert await client.lrange(queue.keys.wait, 0, -1) == ["id-d", "id-b", "id-a", "id-c"]
    assert [j.name for j in await queue.get_waiting()] == ["c", "a", "b", "d"]
    assert [j.name for j in await queue.get_jobs("waiting")] == ["d", "b", "a", "c"]


async def test_delayed_scores_keep_insertion_order_within_a_millisecond(
    queue: Queue, client: aioredis.Redis
) -> None:
    ts = 1_700_000_000_000
    a = await queue.add("a", {}, delay=60000, timestamp=ts)
    b = await queue.add("b", {}, delay=60000, timestamp=ts)
    due = ts + 60000
    assert await client.zrange(queue.keys.delayed, 0, -1, withscores=True) == [
        (a.id, float(due * 4096)),
        (b.id, float(due * 4096 + 1)),
    ]
    assert await client.zscore(queue.keys.marker, "1") == due
    assert await client.hget(queue.keys.job(a.id), "delay") == "60000"
    assert await client.hget(queue.keys.job(a.id), "timestamp") == str(ts)
    assert (await events(client, queue))[1] == {"event": "delayed", "jobId": a.id, "delay": str(due)}
    assert await queue.get_job_state(a.id) == "delayed"


async def test_prioritized_score_uses_the_priority_counter(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.add("p5", {}, priority=5)
    second = await queue.add("p5b", {}, priority=5)
    top = await queue.add("p1", {}, priority=1)
    assert await client.zrange(queue.keys.prioritized, 0, -1, withscores=True) == [
        (top.id, float(1 * 2**32 + 3)),
        (first.id, float(5 * 2**32 + 1)),
        (second.id, float(5 * 2**32 + 2)),
    ]
    assert await client.get(queue.keys.pc) == "3"
    assert await client.hget(queue.keys.job(first.id), "priority") == "5"
    assert await queue.get_job_state(first.id) == "prioritized"
    assert [j.id for j in await queue.get_prioritized()] == [top.id, first.id, second.id]


async def test_paused_queue_keeps_jobs_in_wait_without_a_marker(queue: Queue, client: aioredis.Redis) -> None:
    await queue.pause()
    job = await queue.add("a", {})
    prio = await queue.add("b", {}, priority=3)
    assert await client.lrange(queue.keys.wait, 0, -1) == [job.id]
    assert await client.zcard(queue.keys.prioritized) == 1
    assert await client.exists(queue.keys.marker) == 0
    assert await queue.get_job_state(prio.id) == "prioritized"
    await queue.resume()
    assert await client.zrange(queue.keys.marker, 0, -1, withscores=True) == [("0", 0.0)]


async def test_bad_input_raises_before_redis_is_touched(queue: Queue, client: aioredis.Redis) -> None:
    for bad in (
        {"delay": -1},
        {"priority": 2097152},
        {"job_id": "123"},
        {"job_id": "a:b"},
        {"attempts": 0},
        {"size_limit": 3},
        {"bogus": 1},
    ):
        with pytest.raises(ValidationError):
            await queue.add("welcome", {"to": "someone"}, **bad)
    with pytest.raises(ValidationError, match="'welcome'"):
        await queue.add("welcome", {"x": {1, 2}})
    assert await client.keys(f"{queue.keys.base}*") == []


async def test_add_bulk_validates_every_entry_before_sending_any(
    queue: Queue, client: aioredis.Redis
) -> None:
    with pytest.raises(ValidationError):
        await queue.add_bulk([{"name": "ok", "data": {}}, {"name": "bad", "data": {}, "opts": {"delay": -5}}])
    with pytest.raises(ValidationError):
        await queue.add_bulk([{"name": "ok", "data": {}}, {"data": {}}])
    assert await client.keys(f"{queue.keys.base}*") == []


async def test_add_bulk_adds_all_kinds_in_order(queue: Queue, client: aioredis.Redis) -> None:
    jobs = await queue.add_bulk(
        [
            {"name": "a", "data": {"i": 1}},
            {"name": "b", "data": {"i": 2}, "opts": {"delay": 100}},
            {"name": "c", "data": {"i": 3}, "opts": {"priority": 2, "removeOnComplete": True}},
            {"name": "d", "data": {"i": 4}, "opts": {"job_id": "custom", "keep_logs": 5}},
        ]
    )
    assert [j.id for j in jobs] == ["1", "2", "3", "custom"]
    assert [j.data for j in jobs] == [{"i": 1}, {"i": 2}, {"i": 3}, {"i": 4}]
    assert json.loads(await client.hget(queue.keys.job("3"), "opts")) == {
        "priority": 2,
        "removeOnComplete": True,
        "attempts": 0,
    }
    assert json.loads(await client.hget(queue.keys.job("custom"), "opts")) == {
        "jobId": "custom",
        "kl": 5,
        "attempts": 0,
    }
    counts = await queue.get_job_counts("waiting", "delayed", "prioritized")
    assert counts == {"waiting": 2, "delayed": 1, "prioritized": 1}
    assert await queue.add_bulk([]) == []


async def test_default_job_options_are_merged_under_the_add_options(
    redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    async with Queue(
        queue_name, connection=redis_url, default_job_options={"attempts": 5, "lifo": True}
    ) as q:
        job = await q.add("a", {}, lifo=False)
        assert json.loads(await client.hget(q.keys.job(job.id), "opts")) == {"attempts": 5, "lifo": False}
    with pytest.raises(ValidationError):
        Queue(queue_name, connection=redis_url, default_job_options={"attempts": -1})


async def test_connection_may_be_a_redis_client_and_prefix_is_honoured(
    redis_url: str, queue_name: str, client: aioredis.Redis
) -> None:
    user_client = aioredis.Redis.from_url(redis_url)
    try:
        async with Queue(queue_name, connection=user_client, prefix="{pb}") as q:
            job = await q.add("a", {"k": 1})
            assert await client.hget(f"{{pb}}:{queue_name}:{job.id}", "data") == '{"k":1}'
            assert (await q.get_job(job.id)) is not None
    finally:
        await user_client.aclose()


async def test_add_bulk_spans_batches_in_order_and_returns_existing_jobs(
    queue: Queue, client: aioredis.Redis
) -> None:
    count = Queue.BULK_BATCH * 2 + 7
    entries = [{"name": "n", "data": {"i": i}} for i in range(count)]
    entries.append({"name": "dup", "data": {"i": -1}, "opts": {"jobId": "x-1"}})
    entries.append({"name": "dup", "data": {"i": -2}, "opts": {"jobId": "x-1"}})
    entries.append({"name": "dd", "data": {"i": -3}, "opts": {"deduplication": {"id": "q"}}})
    entries.append({"name": "dd", "data": {"i": -4}, "opts": {"deduplication": {"id": "q"}}})
    jobs = await queue.add_bulk(entries)
    assert [j.id for j in jobs[:count]] == [str(i + 1) for i in range(count)]
    assert [(j.id, j.data) for j in jobs[count:]] == [
        ("x-1", {"i": -1}),
        ("x-1", {"i": -1}),
        (str(count + 3), {"i": -3}),
        (str(count + 3), {"i": -3}),
    ]
    assert await client.llen(queue.keys.wait) == count + 2
    assert [j.data["i"] for j in await queue.get_waiting(0, 2)] == [0, 1, 2]
