"""Getters Bull Board and Node's API rely on (wire-format 11.8, 12.7, 14, 15), against real servers.

Jobs reach active/completed/failed through the worker scripts (queue_helpers.py). Two kinds of
state cannot be produced by pybull itself and are written here with a plain client, as another
client would leave them: a job hash that vanished while its id stayed listed, and job scheduler
definitions (pybull has no scheduler writer yet; the shapes are Node 6.7's, wire-format 12.2).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from queue_helpers import activate, add_raw, finish, finished_job

from pybull import Job, Queue
from pybull._context import now_ms
from pybull._serde import pack
from pybull.errors import ValidationError


async def finish_at(queue: Queue, job_id: str, token: str, now: int, *, metrics: int = 60) -> None:
    """Complete an active job at a chosen clock time, recording metrics as a worker with metrics on."""
    entry = [job_id, token, 0, '"ok"', [], -1, None, None, 0]
    fetch = pack({"count": 0, "token": token, "seq": 0, "lockDuration": 30000, "metrics": metrics})
    result: Any = await queue.ctx.run("moveToFinished", now, pack([entry]), fetch)
    assert result[0] == [0], result


async def test_metrics_report_counts_and_per_minute_points_newest_first(queue: Queue) -> None:
    minute = 28_333_334 * 60_000
    for at in (minute, minute + 10_000, minute + 20_000, minute + 180_000):
        await queue.add("m", {})
        [(job_id, token)] = await activate(queue)
        await finish_at(queue, job_id, token, at)
    # first finish opens the window; two more in the same minute; three minutes later: 3 jobs, 2 idle
    assert await queue.get_metrics("completed") == {
        "meta": {"count": 4, "prev_ts": minute + 180_000, "prev_count": 3},
        "data": [0, 0, 3],
        "count": 3,
    }
    assert (await queue.get_metrics("completed", 2, 2))["data"] == [3]
    assert await queue.get_metrics("failed") == {
        "meta": {"count": 0, "prev_ts": 0, "prev_count": 0},
        "data": [],
        "count": 0,
    }
    with pytest.raises(ValidationError):
        await queue.get_metrics("active")


async def test_counts_per_state_priority_and_delay_cutoff(queue: Queue) -> None:
    await finished_job(queue, "done")
    await finished_job(queue, "broken", failed=True)
    for priority in (0, 0, 1, 1, 1, 5, 5):
        await queue.add("p", {}, priority=priority)
    t0 = now_ms() + 3_600_000  # in the future: activation must not promote them
    for delay in (1000, 2000, 3000):
        await queue.add("d", {}, delay=delay, timestamp=t0)
    await queue.add("now", {})
    await activate(queue)  # takes the oldest waiting job
    assert await queue.get_counts_per_priority([0, 1, 5, 7, 1]) == {0: 2, 1: 3, 5: 2, 7: 0}
    assert await queue.get_counts_per_priority([]) == {}
    assert await queue.get_delayed_count() == 3
    assert await queue.get_delayed_count(t0 + 2000) == 1  # strictly before: the 2000 ms job is not
    assert await queue.get_delayed_count(t0 + 2001) == 2
    assert await queue.get_delayed_count(t0) == 0
    assert (
        await queue.get_waiting_count(),
        await queue.get_active_count(),
        await queue.get_prioritized_count(),
        await queue.get_completed_count(),
        await queue.get_failed_count(),
        await queue.get_waiting_children_count(),
    ) == (2, 1, 5, 1, 1, 0)
    with pytest.raises(ValidationError):
        await queue.get_counts_per_priority([-1])
    with pytest.raises(ValidationError):
        await queue.get_delayed_count(2**60)


async def test_get_jobs_backfills_bounded_pages_past_vanished_hashes(
    queue: Queue, client: aioredis.Redis
) -> None:
    jobs = [await queue.add(f"w{i}", {}) for i in range(6)]
    delayed = [await queue.add(f"d{i}", {}, delay=60_000 + i) for i in range(2)]
    await client.delete(queue.keys.job(jobs[1].id), queue.keys.job(jobs[2].id))

    async def names(*args: Any, **kwargs: Any) -> list[str]:
        return [j.name for j in await queue.get_jobs(*args, **kwargs)]

    assert await names("waiting", 0, 2, asc=True) == ["w0", "w3", "w4"]
    assert await names("waiting", 2, 3) == ["w3", "w0"]  # newest first: w5 w4 w3 (w2) (w1) w0
    assert await names("waiting") == ["w5", "w4", "w3", "w0"]  # unbounded: the window as it is
    assert await names(["waiting", "delayed"], 0, 1, asc=True) == ["w0", "w3", "d0", "d1"]
    assert await names("waiting", 10, 12, asc=True) == []
    # the top-up is bounded as Node's (5 reads): past five vanished jobs a one-job page stays empty
    await client.delete(*(queue.keys.job(j.id) for j in jobs[:5]))
    assert await names("waiting", 0, 0, asc=True) == []
    assert await names("waiting", 0, 1, asc=True) == ["w5"]
    assert [j.id for j in await queue.get_jobs("delayed")] == [delayed[1].id, delayed[0].id]


async def test_clear_logs_keeps_the_newest_lines_or_none(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("logged", {})
    for i in range(5):
        await job.log(f"line {i}")
    await job.clear_logs(2)
    assert await queue.get_job_logs(job.id) == {"logs": ["line 3", "line 4"], "count": 2}
    await job.clear_logs()
    assert await client.exists(queue.keys.logs(job.id)) == 0
    with pytest.raises(ValidationError):
        await job.clear_logs(-1)


async def test_trim_events_cuts_the_stream_to_about_max_len(queue: Queue, client: aioredis.Redis) -> None:
    await queue.add_bulk([{"name": "e"} for _ in range(200)])
    before = await client.xlen(queue.keys.events)
    assert before >= 400  # added + waiting per job
    removed = await queue.trim_events(10)
    after = await client.xlen(queue.keys.events)
    assert removed > 0 and removed == before - after
    assert 10 <= after < before
    with pytest.raises(ValidationError):
        await queue.trim_events(-1)


async def test_global_rate_limit_is_read_by_fetches_and_the_ttl_getter(
    queue: Queue, client: aioredis.Redis
) -> None:
    assert await queue.get_global_rate_limit() is None
    await queue.set_global_rate_limit(1, 60_000)
    assert await client.hmget(queue.keys.meta, ["max", "duration"]) == ["1", "60000"]
    assert await queue.get_global_rate_limit() == {"max": 1, "duration": 60_000}
    assert await queue.get_rate_limit_ttl() == 0  # a max is set but nothing ran yet
    for _ in range(2):
        await queue.add("r", {})
    assert len(await activate(queue, count=2)) == 1  # the meta max holds back the second job
    assert 0 < await queue.get_rate_limit_ttl() <= 60_000
    assert await queue.remove_rate_limit_key() == 1
    assert await queue.get_rate_limit_ttl() == 0
    await queue.remove_global_rate_limit()
    assert await queue.get_global_rate_limit() is None
    assert await client.hmget(queue.keys.meta, ["max", "duration"]) == [None, None]
    assert await queue.get_rate_limit_ttl() == -2  # no max anywhere: the raw PTTL of a missing key
    with pytest.raises(ValidationError):
        await queue.set_global_rate_limit(0, 1000)
    with pytest.raises(ValidationError):
        await queue.set_global_rate_limit(5, True)


async def _run_child(queue: Queue, child_id: str, *, failed: bool = False) -> None:
    [(job_id, token)] = await activate(queue)
    assert job_id == child_id
    await finish(queue, job_id, token, failed=failed, value="boom" if failed else '"ok"')


async def test_parent_dependencies_by_outcome_in_full_paged_and_counted(queue: Queue, redis_url: str) -> None:
    base = queue.keys.base
    # the parent lives in its own queue, so its release (first failParentOnFailure child) does not
    # put it in front of the children still to run here
    parents = Queue(f"{queue.name}-parents", connection=redis_url)
    assert await add_raw(parents, "P1", "parent", {"asParent": True}) == ["P1", 0]
    parent_ref = {"id": "P1", "queue": parents.qualified_name}
    await queue.add("kid", {}, job_id="C0", parent=parent_ref)
    await queue.add("kid", {}, job_id="C1", parent=parent_ref, ignore_dependency_on_failure=True)
    for i in (3, 4, 5):
        await queue.add("kid", {}, job_id=f"C{i}", parent=parent_ref, fail_parent_on_failure=True)
    await queue.add("kid", {}, job_id="C2", parent=parent_ref)
    await _run_child(queue, "C0")
    await _run_child(queue, "C1", failed=True)
    for i in (3, 4, 5):
        await _run_child(queue, f"C{i}", failed=True)
    parent = await parents.get_job("P1")
    assert parent is not None
    try:
        await _check_dependencies(parent, base)
    finally:
        await parents.close()
    lone = await queue.add("lone", {})
    assert await lone.get_dependencies() == {"processed": {}, "unprocessed": [], "ignored": {}, "failed": []}
    assert await lone.get_dependencies_count(unprocessed=True) == {"unprocessed": 0}


async def _check_dependencies(parent: Job, base: str) -> None:

    assert await parent.get_dependencies() == {
        "processed": {f"{base}C0": "ok"},
        "unprocessed": [f"{base}C2"],
        "ignored": {f"{base}C1": "boom"},
        "failed": [f"{base}C3", f"{base}C4", f"{base}C5"],
    }
    assert await parent.get_children_values() == {f"{base}C0": "ok"}
    assert await parent.get_ignored_children_failures() == {f"{base}C1": "boom"}
    assert await parent.get_dependencies_count() == {
        "processed": 1,
        "unprocessed": 1,
        "ignored": 1,
        "failed": 3,
    }
    assert await parent.get_dependencies_count(failed=True, processed=True) == {"processed": 1, "failed": 3}

    page = await parent.get_dependencies(processed=True, failed={"count": 2})
    assert page == {
        "processed": {f"{base}C0": "ok"},
        "next_processed_cursor": 0,
        "failed": [f"{base}C3", f"{base}C4"],
        "next_failed_cursor": 2,
    }
    page = await parent.get_dependencies(failed={"cursor": 2, "count": 2}, unprocessed={"count": 5})
    assert page == {
        "unprocessed": [f"{base}C2"],
        "next_unprocessed_cursor": 0,
        "failed": [f"{base}C5"],
        "next_failed_cursor": 4,
    }
    with pytest.raises(ValidationError):
        await parent.get_dependencies(failed={"start": 1})


async def test_job_schedulers_read_as_node_describes_them(queue: Queue, client: aioredis.Redis) -> None:
    repeat = queue.keys.repeat
    await client.hset(
        f"{repeat}:cron-1",
        mapping={
            "name": "cron",
            "pattern": "*/2 * * * * *",
            "tz": "Europe/Paris",
            "limit": "3",
            "offset": "0",
            "ic": "2",
            "data": '{"c":1}',
            "opts": '{"removeOnComplete":2,"kl":5,"attempts":3}',
        },
    )
    await client.hset(
        f"{repeat}:every-1", mapping={"name": "every-1", "every": "1000", "offset": "610", "ic": "1"}
    )
    await client.zadd(repeat, {"cron-1": 1795342954000, "every-1": 1795342953610, "ghost": 1795342955000})

    cron = {
        "key": "cron-1",
        "name": "cron",
        "next": 1795342954000,
        "iteration_count": 2,
        "limit": 3,
        "tz": "Europe/Paris",
        "pattern": "*/2 * * * * *",
        "offset": 0,
        "template": {"data": {"c": 1}, "opts": {"removeOnComplete": 2, "keepLogs": 5, "attempts": 3}},
    }
    every = {
        "key": "every-1",
        "name": "every-1",
        "next": 1795342953610,
        "iteration_count": 1,
        "every": 1000,
        "offset": 610,
    }
    assert await queue.get_job_scheduler("cron-1") == cron
    assert await queue.get_job_scheduler("ghost") is None
    assert await queue.get_job_scheduler("nope") is None
    assert await queue.get_job_schedulers() == [cron, every]  # latest next run first; no hash, no entry
    assert await queue.get_job_schedulers(0, 0, asc=True) == [every]
    assert await queue.get_job_schedulers_count() == 3  # reading never deletes the broken entry
