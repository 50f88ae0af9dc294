"""Job methods: each one atomic script with BullMQ's fields, codes and events (wire-format 8.8, 15.8)."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
from queue_helpers import activate, add_raw, events, finished_job

from pybull import Job, Queue, ValidationError
from pybull.errors import JobNotFoundError, JobNotInStateError, LockMismatchError


async def test_job_reads_back_what_was_added(queue: Queue) -> None:
    added = await queue.add("welcome", {"to": "x"}, attempts=2, deduplication={"id": "d"})
    job = await queue.get_job(added.id)
    assert job is not None
    assert (job.id, job.name, job.data, job.attempts_made, job.progress) == (
        added.id,
        "welcome",
        {"to": "x"},
        0,
        0,
    )
    assert job.opts == {"attempts": 2, "deduplication": {"id": "d"}}  # public names, as Node reads them
    assert added.opts == job.opts
    assert job.deduplication_id == "d"
    assert job.timestamp == added.timestamp
    assert job.to_json()["attemptsMade"] == 0


async def test_update_progress_stores_json_and_emits_progress(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("a", {})
    await job.update_progress(50)
    await job.update_progress({"step": "x"})
    assert await client.hget(queue.keys.job(job.id), "progress") == '{"step":"x"}'
    assert (await events(client, queue))[-2:] == [
        {"event": "progress", "jobId": job.id, "data": "50"},
        {"event": "progress", "jobId": job.id, "data": '{"step":"x"}'},
    ]
    assert (await queue.get_job(job.id)).progress == {"step": "x"}  # type: ignore[union-attr]


async def test_update_data_replaces_data_without_event(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("a", {"v": 1})
    before = await client.xlen(queue.keys.events)
    await job.update_data({"v": 2})
    assert await client.hget(queue.keys.job(job.id), "data") == '{"v":2}'
    assert job.data == {"v": 2}
    assert await client.xlen(queue.keys.events) == before
    with pytest.raises(ValidationError):
        await job.update_data({"bad": object()})


async def test_methods_on_a_missing_job_raise_job_not_found(queue: Queue) -> None:
    ghost = Job(ctx=queue.ctx, id="ghost")
    for call in (ghost.update_progress(1), ghost.update_data({}), ghost.log("x"), ghost.change_delay(10)):
        with pytest.raises(JobNotFoundError):
            await call
    with pytest.raises(JobNotFoundError):
        await ghost.change_priority(1)


async def test_change_delay_reschedules_from_now(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("d", {}, delay=60000)
    await job.change_delay(120_000)
    score = await client.zscore(queue.keys.delayed, job.id)
    due = int(score) // 4096
    assert await client.hget(queue.keys.job(job.id), "delay") == "120000"
    assert (await events(client, queue))[-1] == {"event": "delayed", "jobId": job.id, "delay": str(due)}
    assert await client.zscore(queue.keys.marker, "1") == due
    waiting = await queue.add("w", {})
    with pytest.raises(JobNotInStateError):
        await waiting.change_delay(5)
    with pytest.raises(ValidationError):
        await job.change_delay(-1)


async def test_change_priority_requeues_waiting_jobs(queue: Queue, client: aioredis.Redis) -> None:
    a = await queue.add("a", {})
    b = await queue.add("b", {})
    await a.change_priority(3)
    assert await client.lrange(queue.keys.wait, 0, -1) == [b.id]
    assert await client.zscore(queue.keys.prioritized, a.id) == 3 * 2**32 + 1
    await a.change_priority(2, lifo=True)
    assert await client.zscore(queue.keys.prioritized, a.id) == 2 * 2**32  # push-back score
    await a.change_priority(0, lifo=True)
    assert await client.lrange(queue.keys.wait, 0, -1) == [b.id, a.id]  # RPUSH: next to run
    assert await client.hget(queue.keys.job(a.id), "priority") == "0"
    delayed = await queue.add("d", {}, delay=60000)
    await delayed.change_priority(7)  # another state: only the field changes
    assert await queue.get_job_state(delayed.id) == "delayed"
    assert await client.hget(queue.keys.job(delayed.id), "priority") == "7"
    with pytest.raises(ValidationError):
        await a.change_priority(2097152)


async def test_promote_moves_a_delayed_job_to_the_back_of_wait(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.add("w", {})
    job = await queue.add("d", {}, delay=60000)
    await job.promote()
    assert await client.lrange(queue.keys.wait, 0, -1) == [job.id, first.id]
    assert await client.hget(queue.keys.job(job.id), "delay") == "0"
    assert (await events(client, queue))[-1] == {"event": "waiting", "jobId": job.id, "prev": "delayed"}
    with pytest.raises(JobNotInStateError):
        await job.promote()
    prio = await queue.add("p", {}, delay=60000, priority=4)
    await prio.promote()
    assert await queue.get_job_state(prio.id) == "prioritized"


async def test_retry_puts_a_failed_job_back_and_clears_its_result(
    queue: Queue, client: aioredis.Redis
) -> None:
    job_id = await finished_job(queue, "f", failed=True, priority=2)
    job = await queue.get_job(job_id)
    assert job is not None and job.failed_reason == "boom"
    await job.retry(reset_attempts_made=True)
    raw = await client.hgetall(queue.keys.job(job_id))
    assert not {"failedReason", "finishedOn", "processedOn", "atm"} & set(raw)
    assert raw["ats"] == "1"
    assert await queue.get_job_state(job_id) == "prioritized"  # 6.7: priority is respected
    assert (await events(client, queue))[-1] == {"event": "waiting", "jobId": job_id, "prev": "failed"}
    with pytest.raises(JobNotInStateError):
        await job.retry()
    done_id = await finished_job(queue, "c")
    done = await queue.get_job(done_id)
    assert done is not None
    await done.retry("completed")
    assert "returnvalue" not in await client.hgetall(queue.keys.job(done_id))
    assert await queue.get_job_state(done_id) == "waiting"


async def test_remove_refuses_a_locked_job(queue: Queue, client: aioredis.Redis) -> None:
    job = await queue.add("a", {})
    await activate(queue)
    with pytest.raises(LockMismatchError, match="locked by another worker"):
        await job.remove()
    free = await queue.add("b", {})
    await free.log("line")
    await free.remove()
    assert await client.exists(queue.keys.job(free.id), queue.keys.logs(free.id)) == 0
    assert (await events(client, queue))[-1] == {"event": "removed", "jobId": free.id, "prev": "wait"}


async def test_removing_the_last_pending_child_releases_its_parent(
    queue: Queue, client: aioredis.Redis
) -> None:
    """Flow detach (15.10): a removed child leaves the parent's dependencies; the last one frees it."""
    base = queue.keys.base
    # A flow parent with two children, written through the add script as FlowProducer does.
    assert await add_raw(queue, "P1", "parent", {"asParent": True}) == ["P1", 0]
    assert (await events(client, queue))[-1] == {"event": "waiting-children", "jobId": "P1"}
    kids = [
        await queue.add("kid", {"i": i}, job_id=f"C{i}", parent={"id": "P1", "queue": queue.qualified_name})
        for i in range(2)
    ]
    assert await client.smembers(f"{base}P1:dependencies") == {f"{base}C0", f"{base}C1"}
    assert json.loads(await client.hget(queue.keys.job("C0"), "parent")) == {
        "id": "P1",
        "queueKey": queue.qualified_name,
    }
    await kids[0].remove()
    assert await queue.get_job_state("P1") == "waiting-children"
    await kids[1].remove()
    assert await queue.get_job_state("P1") == "waiting"
    assert (await events(client, queue))[-2:] == [
        {"event": "waiting", "jobId": "P1", "prev": "waiting-children"},
        {"event": "removed", "jobId": "C1", "prev": "wait"},
    ]


async def test_child_of_a_missing_parent_is_refused(queue: Queue, client: aioredis.Redis) -> None:
    from pybull.errors import ParentNotFoundError

    with pytest.raises(ParentNotFoundError):
        await queue.add("kid", {}, parent={"id": "nope", "queue": queue.qualified_name})
    assert await client.exists(queue.keys.id) == 0  # nothing written, not even the counter
