"""Deduplication modes at add time (wire-format 13), checked field by field as Node 6.7 writes them."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis
from queue_helpers import activate, events, finish

from pybull import Queue


def deduplicated(kept: str, dedup_id: str, rejected: str) -> dict[str, str]:
    return {
        "event": "deduplicated",
        "jobId": kept,
        "deduplicationId": dedup_id,
        "deduplicatedJobId": rejected,
    }


async def test_simple_mode_keeps_the_first_job_until_it_is_gone(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.add("a", {"v": 1}, deduplication={"id": "k"})
    second = await queue.add("a", {"v": 2}, deduplication={"id": "k"})
    assert second.id == first.id == "1"
    assert second.data == {"v": 1}
    assert await client.get(queue.keys.dedup("k")) == "1"
    assert await client.pttl(queue.keys.dedup("k")) == -1
    assert await client.hget(queue.keys.job("1"), "deid") == "k"
    assert await client.get(queue.keys.id) == "2"  # the rejected add still took a counter value
    assert (await events(client, queue))[-1] == deduplicated("1", "k", "2")
    assert await client.exists(queue.keys.job("2")) == 0
    assert await queue.get_deduplication_job_id("k") == "1"
    await queue.remove("1")
    assert await client.exists(queue.keys.dedup("k")) == 0
    third = await queue.add("a", {"v": 3}, deduplication={"id": "k"})
    assert third.id == "3"


async def test_throttle_mode_lets_a_new_job_in_after_the_ttl(queue: Queue, client: aioredis.Redis) -> None:
    first = await queue.add("a", {}, deduplication={"id": "t", "ttl": 150})
    assert 0 < await client.pttl(queue.keys.dedup("t")) <= 150
    assert (await queue.add("a", {}, deduplication={"id": "t", "ttl": 150})).id == first.id
    await asyncio.sleep(0.2)
    later = await queue.add("a", {}, deduplication={"id": "t", "ttl": 150})
    assert later.id != first.id
    assert await client.get(queue.keys.dedup("t")) == later.id


async def test_extend_mode_restarts_the_window(queue: Queue, client: aioredis.Redis) -> None:
    opts = {"id": "e", "ttl": 1000, "extend": True}
    first = await queue.add("a", {}, deduplication=opts)
    await asyncio.sleep(0.3)
    again = await queue.add("a", {}, deduplication=opts)
    assert again.id == first.id
    assert await client.pttl(queue.keys.dedup("e")) > 900
    assert (await events(client, queue))[-1] == deduplicated(first.id, "e", "2")


async def test_replace_mode_swaps_a_delayed_owner_for_the_new_job(
    queue: Queue, client: aioredis.Redis
) -> None:
    opts = {"id": "r", "ttl": 5000, "replace": True}
    old = await queue.add("debounce", {"v": 1}, delay=1000, deduplication=opts)
    new = await queue.add("debounce", {"v": 2}, delay=1000, deduplication=opts)
    assert new.id != old.id and new.data == {"v": 2}
    assert await client.exists(queue.keys.job(old.id)) == 0
    assert await client.zrange(queue.keys.delayed, 0, -1) == [new.id]
    assert await client.get(queue.keys.dedup("r")) == new.id
    assert 0 < await client.pttl(queue.keys.dedup("r")) <= 5000  # KEEPTTL: the window is not restarted
    log = await events(client, queue)
    assert log[-4:-2] == [
        {"event": "removed", "jobId": old.id, "prev": "delayed"},
        deduplicated(new.id, "r", old.id),
    ]
    assert log[-2:] == [
        {"event": "added", "jobId": new.id, "name": "debounce"},
        {"event": "delayed", "jobId": new.id, "delay": str(new.timestamp + 1000)},
    ]


async def test_replace_mode_cannot_replace_a_started_owner(queue: Queue, client: aioredis.Redis) -> None:
    owner = await queue.add("a", {}, deduplication={"id": "r2", "replace": True})
    before = await client.xlen(queue.keys.events)
    again = await queue.add("a", {"v": 2}, deduplication={"id": "r2", "replace": True})
    assert again.id == owner.id
    # BullMQ 6.7 emits nothing on this path
    assert await client.xlen(queue.keys.events) == before


async def test_reschedule_moves_the_delayed_owner(queue: Queue, client: aioredis.Redis) -> None:
    opts = {"id": "s", "reschedule": True}
    owner = await queue.add("a", {}, delay=60000, deduplication=opts, timestamp=1_700_000_000_000)
    again = await queue.add("a", {}, delay=30000, deduplication=opts, timestamp=1_700_000_100_000)
    assert again.id == owner.id
    due = 1_700_000_130_000
    assert await client.zscore(queue.keys.delayed, owner.id) == due * 4096
    assert await client.hget(queue.keys.job(owner.id), "delay") == "30000"
    assert (await events(client, queue))[-2:] == [
        deduplicated(owner.id, "s", "2"),
        {"event": "delayed", "jobId": owner.id, "delay": str(due)},
    ]


async def test_keep_last_if_active_requeues_the_newest_payload(queue: Queue, client: aioredis.Redis) -> None:
    opts = {"id": "K", "keepLastIfActive": True, "ttl": 10000}
    owner = await queue.add("sync", {"v": 1}, deduplication=opts)
    assert await client.pttl(queue.keys.dedup("K")) == -1  # keep-last keys never expire
    [(job_id, token)] = await activate(queue)
    assert job_id == owner.id
    assert (await queue.add("sync", {"v": 2}, deduplication=opts)).id == owner.id
    assert (await queue.add("sync", {"v": 3}, deduplication=opts)).id == owner.id
    pending = await client.hgetall(f"{queue.keys.base}dn:K")
    assert pending["jid"] == "3" and pending["data"] == '{"v":3}' and pending["name"] == "sync"
    assert json.loads(pending["opts"]) == {
        "de": {"id": "K", "keepLastIfActive": True, "ttl": 10000},
        "attempts": 0,
    }
    await finish(queue, job_id, token)
    assert await client.exists(f"{queue.keys.base}dn:K") == 0
    assert await client.get(queue.keys.dedup("K")) == "3"
    requeued = await queue.get_job("3")
    assert requeued is not None and requeued.data == {"v": 3}
    assert await queue.get_job_state("3") == "waiting"


async def test_stale_key_without_ttl_is_taken_over(queue: Queue, client: aioredis.Redis) -> None:
    # what an outage can leave: a TTL-less key naming a job that no longer exists
    await client.set(queue.keys.dedup("z"), "gone")
    job = await queue.add("a", {}, deduplication={"id": "z"})
    assert job.id == "1"
    assert await client.get(queue.keys.dedup("z")) == "1"
    assert await queue.get_job_state("1") == "waiting"
