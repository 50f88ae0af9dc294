"""Job schedulers (wire-format 12): upsert, iterations, every/cron arithmetic, limits, removal.

The worker side is exercised through ``schedule_next_iteration`` directly (what the worker calls
when it starts an iteration); ``test_worker_runs_iterations_and_schedules_the_next`` drives a real
Worker and passes once the worker calls that hook.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from queue_helpers import activate, events, finish

from pybull import Queue, Worker
from pybull._context import now_ms
from pybull._cron import next_cron_millis, parse_pattern
from pybull.errors import SchedulerJobError, ValidationError
from pybull.scheduler import has_legacy_key_shape, schedule_next_iteration


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


async def stored_opts(client: aioredis.Redis, queue: Queue, job_id: str) -> dict[str, Any]:
    return dict(json.loads(await client.hget(queue.keys.job(job_id), "opts")))


async def start(queue: Queue, job_id: str) -> Any:
    """Activate the (ready) iteration like a worker and create its successor; returns the job."""
    [(got, token)] = await activate(queue)
    assert got == job_id
    job = await queue.get_job(job_id)
    assert job is not None
    job.token = token
    await schedule_next_iteration(queue.ctx, job)
    return job


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("s", {"pattern": "* * * * *", "every": 1000}, None, "Both .pattern and .every"),
        ("s", {}, None, "Either .pattern or .every"),
        (
            "s",
            {"pattern": "* * * * *", "immediately": True, "start_date": 1},
            None,
            "immediately and .startDate",
        ),
        ("s", {"every": 1000, "end_date": 1}, None, "End date must be greater"),
        ("s:x", {"every": 1000}, None, "must not contain ':'"),
        ("", {"every": 1000}, None, "non-empty"),
        ("s", {"pattern": "61 * * * *"}, None, "outside"),
        ("s", {"pattern": "* * * * * * *"}, None, "too many fields"),
        ("s", {"pattern": "0 0 15W * *"}, None, "unsupported"),
        ("s", {"pattern": "* * * * *", "tz": "Mars/Olympus"}, None, "unknown time zone"),
        ("s", {"every": 0}, None, "every"),
        ("s", {"every": 1000, "bogus": 1}, None, "bogus"),
        ("s", {"every": 1000}, {"opts": {"jobId": "x"}}, "jobId"),
        ("s", {"every": 1000}, {"opts": {"debounce": {"id": "x"}}}, "Debounce"),
        ("s", {"every": 1000}, {"opts": {"priority": -1}}, "priority"),
        ("s", {"every": 1000}, {"other": 1}, "template keys"),
    ],
)
async def test_invalid_schedulers_are_refused_before_redis(
    queue: Queue, client: aioredis.Redis, case: tuple[str, dict[str, Any], dict[str, Any] | None, str]
) -> None:
    scheduler_id, repeat, template, message = case
    with pytest.raises(ValidationError, match=message):
        await queue.upsert_job_scheduler(scheduler_id, repeat, template)
    assert await client.exists(queue.keys.repeat) == 0


# -- upsert -------------------------------------------------------------------------------------------


async def test_cron_upsert_writes_the_scheduler_and_a_delayed_first_iteration(
    queue: Queue, client: aioredis.Redis
) -> None:
    before = now_ms()
    job = await queue.upsert_job_scheduler(
        "cron-1",
        {"pattern": "0 0 12 * * *", "tz": "Europe/Paris", "limit": 3},
        {"name": "cron", "data": {"c": 1}, "opts": {"removeOnComplete": 2, "backoff": 1000}},
    )
    assert job is not None
    due = next_cron_millis("0 0 12 * * *", before, tz="Europe/Paris")
    assert due is not None
    assert job.id == f"repeat:cron-1:{due}"
    assert await client.zscore(queue.keys.repeat, "cron-1") == due
    assert await client.hgetall(f"{queue.keys.repeat}:cron-1") == {
        "name": "cron",
        "tz": "Europe/Paris",
        "limit": "3",
        "pattern": "0 0 12 * * *",
        "offset": "0",
        "opts": '{"backoff":1000,"removeOnComplete":2}',
        "data": '{"c":1}',
        "ic": "1",
    }
    raw = await client.hgetall(queue.keys.job(job.id))
    assert raw["rjk"] == "cron-1" and raw["name"] == "cron" and raw["data"] == '{"c":1}'
    assert int(raw["delay"]) == due - int(raw["timestamp"])
    opts = json.loads(raw["opts"])
    assert opts == {
        "backoff": 1000,
        "removeOnComplete": 2,
        "repeat": {"pattern": "0 0 12 * * *", "tz": "Europe/Paris", "limit": 3, "count": 1},
        "repeatJobKey": "cron-1",
        "prevMillis": due,
        "jobId": job.id,
        "delay": int(raw["delay"]),
        "timestamp": int(raw["timestamp"]),
    }
    assert await queue.get_job_state(job.id) == "delayed"
    assert [(e["event"], e["jobId"]) for e in await events(client, queue)] == [
        ("added", job.id),
        ("delayed", job.id),
    ]
    scheduler = await queue.get_job_scheduler("cron-1")
    assert scheduler is not None and scheduler["next"] == due and scheduler["iteration_count"] == 1


async def test_every_upsert_runs_at_once_and_records_the_phase(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler("ev", {"every": 1000}, {"data": {"e": 1}, "opts": {"attempts": 3}})
    assert job is not None
    due = int(job.id.rsplit(":", 1)[1])
    assert job.delay == 0 and job.name == "ev"  # the name defaults to the scheduler id
    assert await client.lrange(queue.keys.wait, 0, -1) == [job.id]
    stored = await client.hgetall(f"{queue.keys.repeat}:ev")
    assert stored["every"] == "1000" and stored["offset"] == str(due % 1000)
    opts = await stored_opts(client, queue, job.id)
    assert opts["repeat"] == {"every": 1000, "count": 1} and "prevMillis" not in opts
    assert opts["attempts"] == 3 and opts["delay"] == 0


async def test_every_with_offset_and_start_date(queue: Queue, client: aioredis.Redis) -> None:
    now = now_ms()
    job = await queue.upsert_job_scheduler("off", {"every": 10_000, "offset": 1234})
    assert job is not None
    due = int(job.id.rsplit(":", 1)[1])
    assert due % 10_000 == 1234 and now < due <= now + 10_000 + 1000
    assert (await stored_opts(client, queue, job.id))["repeat"] == {
        "every": 10_000,
        "offset": 1234,
        "count": 1,
    }
    start_at = now + 60_000
    later = await queue.upsert_job_scheduler("start", {"every": 5000, "start_date": start_at})
    assert later is not None and later.id == f"repeat:start:{start_at}"
    assert await client.hget(f"{queue.keys.repeat}:start", "startDate") == str(start_at)
    assert (await stored_opts(client, queue, later.id))["repeat"]["startDate"] == start_at


async def test_reupsert_replaces_the_pending_iteration(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.upsert_job_scheduler("s", {"pattern": "0 0 5 * * *"}, {"data": {"v": 1}})
    assert first is not None
    second = await queue.upsert_job_scheduler("s", {"pattern": "0 0 6 * * *"}, {"data": {"v": 2}})
    assert second is not None and second.id != first.id
    assert await client.exists(queue.keys.job(first.id)) == 0
    assert await client.zrange(queue.keys.delayed, 0, -1) == [second.id]
    assert await client.hget(f"{queue.keys.repeat}:s", "data") == '{"v":2}'
    assert await client.hget(f"{queue.keys.repeat}:s", "ic") == "1"
    # same `every`: the replacement keeps the pending slot; the data is the new one
    ev1 = await queue.upsert_job_scheduler("e", {"every": 60_000, "offset": 5}, {"data": {"v": 1}})
    ev2 = await queue.upsert_job_scheduler("e", {"every": 60_000, "offset": 5}, {"data": {"v": 2}})
    assert ev1 is not None and ev2 is not None and ev1.id == ev2.id
    assert await client.hget(queue.keys.job(ev2.id), "data") == '{"v":2}'
    assert await queue.get_delayed_count() == 2


async def test_limit_and_end_date_stop_iterations(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler("lim", {"every": 50, "limit": 2})
    assert job is not None
    await start(queue, job.id)
    assert await client.hget(f"{queue.keys.repeat}:lim", "ic") == "2"
    second_id = f"repeat:lim:{int(await client.zscore(queue.keys.repeat, 'lim') or 0)}"
    await asyncio.sleep(0.1)
    await queue.promote_jobs()
    await start(queue, second_id)  # count 2 == limit: no third iteration
    assert await client.hget(f"{queue.keys.repeat}:lim", "ic") == "2"
    assert await client.zscore(queue.keys.repeat, "lim") == int(second_id.rsplit(":", 1)[1])
    assert await queue.get_delayed_count() == 0
    # past end_date the started iteration has no successor
    cron = await queue.upsert_job_scheduler("end", {"pattern": "* * * * * *", "end_date": now_ms() + 1200})
    assert cron is not None
    await asyncio.sleep(max(0, int(cron.id.rsplit(":", 1)[1]) + 1300 - now_ms()) / 1000)
    await queue.promote_jobs()
    await start(queue, cron.id)
    assert await client.zscore(queue.keys.repeat, "end") == int(cron.id.rsplit(":", 1)[1])
    assert await client.hget(f"{queue.keys.repeat}:end", "ic") == "1"
    assert await queue.get_delayed_count() == 0
    assert await queue.upsert_job_scheduler("none", {"every": 10, "limit": 1, "count": 1}) is None
    assert await client.exists(f"{queue.keys.repeat}:none") == 0


async def test_next_iteration_every_arithmetic_and_events(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler("ev", {"every": 1000}, {"name": "tick", "opts": {"backoff": 5}})
    assert job is not None
    due = int(job.id.rsplit(":", 1)[1])
    started = await start(queue, job.id)
    nxt = f"repeat:ev:{due + 1000}"
    assert await client.zscore(queue.keys.repeat, "ev") == due + 1000
    raw = await client.hgetall(queue.keys.job(nxt))
    assert raw["name"] == "tick" and raw["rjk"] == "ev"
    opts = json.loads(raw["opts"])
    # what a Node worker writes: attempts 0 and a normalised backoff from the Job it read
    assert opts["repeat"] == {"every": 1000, "count": 2} and "prevMillis" not in opts
    assert opts["backoff"] == {"type": "fixed", "delay": 5} and opts["attempts"] == 0
    assert opts["jobId"] == nxt and opts["repeatJobKey"] == "ev"
    assert [e["event"] for e in await events(client, queue)][-3:] == ["active", "added", "delayed"]
    # the same iteration starting again (a redelivery) creates nothing more
    await schedule_next_iteration(queue.ctx, started)
    assert await queue.get_delayed_count() == 1
    assert await client.hget(f"{queue.keys.repeat}:ev", "ic") == "2"


async def test_missed_every_runs_realign_on_the_phase(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler("ev", {"every": 200, "offset": 37})
    assert job is not None
    await asyncio.sleep(0.7)  # the pending slot and a few after it are in the past now
    await queue.promote_jobs()
    await start(queue, job.id)
    due = int(await client.zscore(queue.keys.repeat, "ev") or 0)
    assert due % 200 == 37 and due > now_ms() - 5


async def test_next_iteration_cron_uses_prev_millis(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler(
        "cr", {"pattern": "*/1 * * * * *", "tz": "America/New_York"}, {"data": {"x": [1]}}
    )
    assert job is not None
    due = int(job.id.rsplit(":", 1)[1])
    await asyncio.sleep(max(0, due - now_ms()) / 1000 + 0.05)
    await queue.promote_jobs()
    await start(queue, job.id)
    nxt_due = int(await client.zscore(queue.keys.repeat, "cr") or 0)
    assert nxt_due == next_cron_millis("*/1 * * * * *", max(now_ms() - 40, due), tz="America/New_York")
    opts = await stored_opts(client, queue, f"repeat:cr:{nxt_due}")
    assert opts["prevMillis"] == nxt_due
    assert opts["repeat"] == {"pattern": "*/1 * * * * *", "tz": "America/New_York", "count": 2}
    assert await client.hget(queue.keys.job(f"repeat:cr:{nxt_due}"), "data") == '{"x":[1]}'


async def test_removed_scheduler_stops_and_reports(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.upsert_job_scheduler("r", {"pattern": "0 0 3 * * *"})
    assert job is not None
    assert await queue.remove_job_scheduler("r") is True
    assert await client.exists(queue.keys.job(job.id), f"{queue.keys.repeat}:r") == 0
    assert await client.zcard(queue.keys.delayed) == 0 and await client.zcard(queue.keys.repeat) == 0
    assert (await events(client, queue))[-1] == {"event": "removed", "jobId": job.id, "prev": "delayed"}
    assert await queue.remove_job_scheduler("r") is False
    # an iteration already running does not schedule a successor for a removed scheduler
    ev = await queue.upsert_job_scheduler("ev", {"every": 1000})
    assert ev is not None
    [(got, token)] = await activate(queue)
    assert await queue.remove_job_scheduler("ev") is True
    running = await queue.get_job(got)
    assert running is not None
    await schedule_next_iteration(queue.ctx, running)
    assert await client.zcard(queue.keys.repeat) == 0 and await queue.get_delayed_count() == 0
    await finish(queue, got, token)


async def test_current_iteration_is_protected_from_remove_clean_and_drain(queue: Queue) -> None:
    job = await queue.upsert_job_scheduler("p", {"pattern": "0 0 4 * * *"})
    ready = await queue.upsert_job_scheduler("w", {"every": 60_000})
    assert job is not None and ready is not None
    with pytest.raises(SchedulerJobError):
        await queue.remove(job.id)
    assert await queue.clean(0, 0, "delayed") == []
    assert await queue.clean(0, 0, "wait") == []
    await queue.drain(delayed=True)
    assert await queue.get_job_state(job.id) == "delayed"
    assert await queue.get_job_state(ready.id) == "waiting"


async def test_worker_runs_iterations_and_schedules_the_next(redis_url: str, queue: Queue) -> None:
    """Needs the worker hook (schedule_next_iteration at job start) to pass."""
    seen: list[str] = []
    job = await queue.upsert_job_scheduler("w", {"every": 100}, {"name": "tick", "data": {"n": 1}})
    assert job is not None

    async def process(j: Any) -> str:
        seen.append(j.id)
        return "ok"

    worker = Worker(queue.name, process, connection=redis_url, autorun=False, drain_delay=0.05)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.close()
        await asyncio.wait_for(task, 10)
    assert len(seen) >= 3 and seen[0] == job.id
    dues = [int(i.rsplit(":", 1)[1]) for i in seen[:3]]
    assert dues[1] - dues[0] == 100 and dues[2] - dues[1] == 100


# -- cron and helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "tz", "after", "expected"),
    [
        # spring forward: 02:30 does not exist, it runs at 03:30 (cron-parser), then daily
        ("30 2 * * *", "Europe/Paris", "2025-03-29T22:00:00+01:00", "2025-03-30T03:30:00+02:00"),
        ("30 2 * * *", "Europe/Paris", "2025-03-30T03:30:00+02:00", "2025-03-31T02:30:00+02:00"),
        ("*/30 2 * * *", "America/New_York", "2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"),
        # fall back: a restricted hour runs once, on the first pass
        ("0 2 * * *", "Europe/Paris", "2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00"),
        ("0 1 * * *", "America/New_York", "2025-11-02T01:30:00-04:00", "2025-11-03T01:00:00-05:00"),
        ("*/20 1 * * *", "America/New_York", "2025-11-02T01:10:00-05:00", "2025-11-02T01:20:00-05:00"),
        # ... but every-hour patterns run in both passes
        ("0 * * * *", "Europe/Paris", "2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00"),
        ("*/5 * * * * *", "UTC", "2025-06-15T12:00:00.500+00:00", "2025-06-15T12:00:05+00:00"),
        ("0 12 * * 5L", "UTC", "2025-06-01T00:00:00+00:00", "2025-06-27T12:00:00+00:00"),
        ("0 12 * * 1#2", "UTC", "2025-06-01T00:00:00+00:00", "2025-06-09T12:00:00+00:00"),
        ("0 0 L * *", "UTC", "2024-02-01T00:00:00+00:00", "2024-02-29T00:00:00+00:00"),
        ("@weekly", "UTC", "2025-06-15T00:00:00+00:00", "2025-06-22T00:00:00+00:00"),
        ("0 9 * * mon-fri", "Asia/Kolkata", "2025-06-14T10:00:00+05:30", "2025-06-16T09:00:00+05:30"),
    ],
)
def test_cron_next_times_match_cron_parser(pattern: str, tz: str, after: str, expected: str) -> None:
    assert next_cron_millis(pattern, ms(after), tz=tz) == ms(expected)


def test_cron_start_and_end_dates() -> None:
    base = ms("2025-06-15T12:00:00+00:00")
    start = base + 3 * 3600_000 + 17
    assert next_cron_millis("0 * * * *", base, tz="UTC", start_date=start) == base + 4 * 3600_000
    assert next_cron_millis("0 * * * *", base, tz="UTC", end_date=base + 3600_000) == base + 3600_000
    assert next_cron_millis("0 * * * *", base + 3600_000, tz="UTC", end_date=base + 3600_000) is None
    assert datetime.fromtimestamp(base / 1000, UTC).hour == 12


def test_bad_patterns_and_legacy_keys() -> None:
    for bad in ("0 0 31 2 *", "a b c d e", "*/0 * * * *", "1#2,3 * * * * *"):
        with pytest.raises(ValidationError):
            parse_pattern(bad if "#" not in bad else "0 0 0 * * 1#2,3")
    assert has_legacy_key_shape("name:id::Europe/Paris:0 * * * *")
    assert has_legacy_key_shape("name:id:1700000000000::5000")
    assert not has_legacy_key_shape("my-scheduler")
    assert not has_legacy_key_shape("a:b:c:d:e")
