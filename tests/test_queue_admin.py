"""Queue readers and administration (wire-format 6, 14, 15) against real servers."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from queue_helpers import activate, add_raw, events, finish, finished_job

import pybull
from pybull import Queue
from pybull.errors import QueueHasActiveJobsError, SchedulerJobError, ValidationError


async def test_pause_and_resume_flags_meta_marker_and_events(queue: Queue, client: aioredis.Redis) -> None:
    await queue.add("a", {})
    await queue.pause()
    assert await queue.is_paused()
    assert await client.hget(queue.keys.meta, "paused") == "1"
    assert await client.exists(queue.keys.marker) == 0
    meta = await queue.get_meta()
    assert meta == {"maxLenEvents": 10000, "version": f"pybull:{pybull.__version__}", "paused": True}
    await queue.resume()
    assert not await queue.is_paused()
    assert await client.zrange(queue.keys.marker, 0, -1, withscores=True) == [("0", 0.0)]
    assert [e["event"] for e in await events(client, queue)][-2:] == ["paused", "resumed"]


async def test_resume_with_only_delayed_jobs_sets_the_delayed_marker(
    queue: Queue, client: aioredis.Redis
) -> None:
    job = await queue.add("later", {}, delay=60000, timestamp=1_700_000_000_000)
    await queue.pause()
    await queue.resume()
    assert await client.zrange(queue.keys.marker, 0, -1, withscores=True) == [("1", 1_700_000_060_000.0)]
    assert await queue.get_job_state(job.id) == "delayed"


async def test_job_state_covers_every_state(queue: Queue) -> None:
    done = await finished_job(queue, "done")
    failed = await finished_job(queue, "bad", failed=True)
    active = await queue.add("active", {})
    await activate(queue)
    waiting = await queue.add("waiting", {})
    delayed = await queue.add("delayed", {}, delay=60000)
    prio = await queue.add("prio", {}, priority=1)
    assert [
        await queue.get_job_state(i) for i in (done, failed, active.id, waiting.id, delayed.id, prio.id)
    ] == [
        "completed",
        "failed",
        "active",
        "waiting",
        "delayed",
        "prioritized",
    ]
    assert await queue.get_job_state("missing") == "unknown"
    assert await (await queue.get_job(done)).get_state() == "completed"  # type: ignore[union-attr]
    counts = await queue.get_job_counts()
    assert counts == {
        "active": 1,
        "completed": 1,
        "delayed": 1,
        "failed": 1,
        "prioritized": 1,
        "waiting": 1,
        "waiting-children": 0,
    }
    assert await queue.count() == 3
    completed = await queue.get_completed()
    assert [j.id for j in completed] == [done] and completed[0].returnvalue == "ok"
    assert (await queue.get_failed())[0].failed_reason == "boom"


async def test_get_jobs_orders_per_state_and_skips_missing_hashes(queue: Queue) -> None:
    for i in range(4):
        await queue.add(f"w{i}", {})
    d1 = await queue.add("d1", {}, delay=1000, timestamp=1_700_000_000_000)
    d2 = await queue.add("d2", {}, delay=500, timestamp=1_700_000_000_000)
    assert [j.name for j in await queue.get_jobs(["waiting", "delayed"], asc=True)] == [
        "w0",
        "w1",
        "w2",
        "w3",
        d2.name,
        d1.name,
    ]
    assert [j.name for j in await queue.get_jobs(["delayed", "waiting"])] == [
        "d1",
        "d2",
        "w3",
        "w2",
        "w1",
        "w0",
    ]
    assert [j.name for j in await queue.get_jobs("waiting", 0, 1, asc=True)] == ["w0", "w1"]
    assert [j.name for j in await queue.get_jobs("waiting", 1, 2)] == ["w2", "w1"]
    assert await queue.get_job("nope") is None


async def test_logs_are_kept_trimmed_and_read_both_ways(queue: Queue) -> None:
    job = await queue.add("logged", {}, keep_logs=3)
    for i in range(5):
        kept = await job.log(f"line {i}")
    assert kept == 3
    assert await queue.get_job_logs(job.id) == {"logs": ["line 2", "line 3", "line 4"], "count": 3}
    assert await queue.get_job_logs(job.id, 0, 1, asc=False) == {"logs": ["line 4", "line 3"], "count": 3}
    assert await queue.get_job_logs("missing") == {"logs": [], "count": 0}


async def test_remove_deletes_job_logs_and_emits_removed(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("a", {}, delay=1000)
    await job.log("x")
    assert await queue.remove(job.id) == 1
    assert await client.exists(queue.keys.job(job.id), queue.keys.logs(job.id)) == 0
    assert await client.zcard(queue.keys.delayed) == 0
    assert (await events(client, queue))[-1] == {"event": "removed", "jobId": job.id, "prev": "delayed"}
    # a locked (active) job is refused
    other = await queue.add("b", {})
    await activate(queue)
    assert await queue.remove(other.id) == 0
    assert await queue.get_job_state(other.id) == "active"


async def test_remove_refuses_the_pending_scheduler_iteration(queue: Queue, client: aioredis.Redis) -> None:
    job_id = "repeat:sched:1700000000000"
    await add_raw(queue, job_id, "tick", {"repeatJobKey": "sched"})
    assert await client.hget(queue.keys.job(job_id), "rjk") == "sched"
    # upsertJobScheduler would also write repeat:sched; only the repeat zset entry matters here
    await queue.ctx.connection.client.zadd(queue.keys.repeat, {"sched": 1_700_000_000_000})
    with pytest.raises(SchedulerJobError):
        await queue.remove(job_id)
    assert await client.exists(queue.keys.job(job_id)) == 1
    await queue.drain()
    assert await client.exists(queue.keys.job(job_id)) == 1  # drain keeps the pending iteration


async def test_clean_removes_old_finished_jobs_up_to_limit(queue: Queue, client: aioredis.Redis) -> None:
    ids = [await finished_job(queue, f"j{i}") for i in range(3)]
    assert await queue.clean(60_000, 10) == []  # all inside the grace period
    removed = await queue.clean(0, 2)
    assert removed == ids[:2]
    assert await client.zrange(queue.keys.completed, 0, -1) == [ids[2]]
    assert await client.exists(queue.keys.job(ids[0])) == 0
    cleaned = [e for e in await events(client, queue) if e["event"] == "cleaned"]
    assert cleaned == [{"event": "cleaned", "count": "0"}, {"event": "cleaned", "count": "2"}]
    assert await queue.clean(0, 0, "completed") == [ids[2]]


async def test_clean_waiting_takes_the_oldest_from_the_tail(queue: Queue, client: aioredis.Redis) -> None:
    jobs = [await queue.add(f"w{i}", {}) for i in range(4)]
    assert await queue.clean(0, 2, "waiting") == [jobs[0].id, jobs[1].id]
    assert await client.lrange(queue.keys.wait, 0, -1) == [jobs[3].id, jobs[2].id]
    with pytest.raises(ValidationError):
        await queue.clean(0, 1, "nonsense")


async def test_drain_removes_unstarted_jobs_only(queue: Queue, client: aioredis.Redis) -> None:
    done = await finished_job(queue)
    waiting = await queue.add("w", {}, deduplication={"id": "dd"})
    prio = await queue.add("p", {}, priority=2)
    delayed = await queue.add("d", {}, delay=60000)
    await queue.drain()
    assert await client.exists(queue.keys.job(waiting.id), queue.keys.job(prio.id)) == 0
    assert await client.exists(queue.keys.dedup("dd")) == 0
    assert await queue.get_job_state(delayed.id) == "delayed"
    assert await queue.get_job_state(done) == "completed"
    await queue.drain(delayed=True)
    assert await client.exists(queue.keys.job(delayed.id)) == 0
    assert await queue.get_job_counts("waiting", "prioritized", "delayed", "completed") == {
        "waiting": 0,
        "prioritized": 0,
        "delayed": 0,
        "completed": 1,
    }


async def test_obliterate_needs_force_for_active_jobs_and_deletes_everything(
    queue: Queue, client: aioredis.Redis
) -> None:
    await finished_job(queue)
    await queue.add("w", {})
    await queue.add("d", {}, delay=5000)
    await queue.add("active", {})
    await activate(queue)
    with pytest.raises(QueueHasActiveJobsError):
        await queue.obliterate()
    await queue.obliterate(force=True, count=2)
    assert await client.keys(f"{queue.keys.base}*") == []


async def test_retry_jobs_and_promote_jobs_move_jobs_back_to_wait(
    queue: Queue, client: aioredis.Redis
) -> None:
    failed = [await finished_job(queue, f"f{i}", failed=True) for i in range(3)]
    await queue.retry_jobs(count=2)
    assert sorted(await client.lrange(queue.keys.wait, 0, -1)) == sorted(failed)
    raw = await client.hgetall(queue.keys.job(failed[0]))
    assert "failedReason" not in raw and "finishedOn" not in raw and "processedOn" not in raw
    assert raw["atm"] == "1"  # attempts are not reset
    waiting_events = [e for e in await events(client, queue) if e.get("prev") == "failed"]
    assert [e["jobId"] for e in waiting_events] == failed
    d = await queue.add("d", {}, delay=60000)
    await queue.promote_jobs()
    assert await queue.get_job_state(d.id) == "waiting"
    assert await client.hget(queue.keys.job(d.id), "delay") == "60000"  # left as is, like Node
    assert (await events(client, queue))[-1] == {"event": "waiting", "jobId": d.id, "prev": "delayed"}


async def test_rate_limit_and_global_concurrency(queue: Queue, client: aioredis.Redis) -> None:
    assert await queue.get_rate_limit_ttl() == -2
    await queue.rate_limit(5000)
    assert await client.get(queue.keys.limiter) == "9007199254740991"
    assert 0 < await queue.get_rate_limit_ttl() <= 5000
    assert 0 < await queue.get_rate_limit_ttl(10) <= 5000
    with pytest.raises(ValidationError):
        await queue.rate_limit(0)
    assert await queue.get_global_concurrency() is None
    await queue.set_global_concurrency(4)
    assert await queue.get_global_concurrency() == 4
    assert (await queue.get_meta())["concurrency"] == 4
    await queue.remove_global_concurrency()
    assert await queue.get_global_concurrency() is None


async def test_get_workers_lists_connections_named_like_workers(queue: Queue, redis_url: str) -> None:
    named = aioredis.Redis.from_url(redis_url, client_name=queue.keys.connection_name("w-one"))
    unrelated = aioredis.Redis.from_url(redis_url, client_name=queue.keys.connection_name(kind="events"))
    try:
        await named.ping()
        await unrelated.ping()
        workers = await queue.get_workers()
        assert [(w["name"], w["rawname"]) for w in workers] == [
            (queue.name, queue.keys.connection_name("w-one"))
        ]
    finally:
        await named.aclose()
        await unrelated.aclose()


async def test_finish_helper_sanity(queue: Queue) -> None:
    """The helpers drive the worker scripts; if their contract changes these tests must say so."""
    job = await queue.add("x", {})
    [(job_id, token)] = await activate(queue, token="t")
    assert job_id == job.id and token == "t:0"
    await finish(queue, job_id, token)
    assert await queue.get_job_state(job.id) == "completed"
