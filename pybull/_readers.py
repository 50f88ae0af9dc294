"""Read-only getters behind Queue and Job: metrics, counts, listings, schedulers, flow dependencies.

Each reads exactly the keys Node BullMQ 6.7's getter reads (wire-format 11.8, 12.7, 14.3, 15.2,
15.3), with plain commands grouped in a MULTI where one consistent snapshot matters. Nothing here
changes a job's state, so no Lua is involved. Kept apart from ``queue.py``/``job.py`` so those
modules stay small; Queue and Job expose these as methods.

Differences from Node, all on the side of not writing: a legacy v5 ``0:`` marker at the tail of
``wait`` is skipped, not popped; a scheduler whose hash is missing is left out of a listing, not
deleted (Node removes it while listing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.asyncio.client import Pipeline

from pybull import _serde
from pybull._context import QueueContext
from pybull.errors import ValidationError
from pybull.options import PRIORITY_LIMIT, public_opts

#: Extra reads get_jobs makes into a bounded range to replace ids whose hash is gone (Node: 5).
BACKFILL_ROUNDS = 5
#: Node's getDependencies page size when a cursor option omits ``count``.
DEPENDENCY_PAGE = 20
#: Node's names for a parent's four child sets, in its order (wire-format 11.8).
DEPENDENCY_TYPES = ("processed", "unprocessed", "ignored", "failed")
METRICS_KINDS = ("completed", "failed")

_PRIORITY_BAND = 1 << 32  # priority p holds scores [p * 2**32, (p + 1) * 2**32 - 1] (wire-format 5.2)
_DELAY_SCALE = 4096  # delayed score = due ms * 4096 + an order counter in the low 12 bits (5.3)
_MAX_SAFE_INTEGER = 2**53 - 1
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")

#: One jobs-of-a-state read: (job id, its hash) in the order asked for.
JobRow = tuple[str, dict[str, str]]


def parse_int(text: str | None) -> int:
    """JavaScript ``parseInt(text || '0', 10)``: the leading integer, 0 when there is none."""
    match = _LEADING_INT.match(text or "")
    return int(match.group(1)) if match else 0


def _number(text: str) -> int | float:
    """JavaScript ``+text || 0`` for a metrics data point."""
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return 0
        return 0 if math.isnan(value) else value


def _is_list(state: str) -> bool:
    return state in ("waiting", "wait", "paused", "active")


# -- queue-level ----------------------------------------------------------------------------------


async def get_metrics(ctx: QueueContext, kind: str, start: int, end: int) -> dict[str, Any]:
    """``{"meta": {"count", "prev_ts", "prev_count"}, "data": [newest first...], "count": points}``."""
    if kind not in METRICS_KINDS:
        raise ValidationError(f"metrics kind must be one of {METRICS_KINDS}, got {kind!r}")
    key = ctx.keys.metrics(kind)
    async with ctx.connection.client.pipeline(transaction=True) as pipe:
        pipe.hmget(key, ["count", "prevTS", "prevCount"])
        pipe.lrange(f"{key}:data", start, end)
        pipe.llen(f"{key}:data")
        (count, prev_ts, prev_count), points, total = await pipe.execute()
    return {
        "meta": {
            "count": parse_int(count),
            "prev_ts": parse_int(prev_ts),
            "prev_count": parse_int(prev_count),
        },
        "data": [_number(point) for point in points],
        "count": int(total),
    }


async def counts_per_priority(ctx: QueueContext, priorities: Iterable[int]) -> dict[int, int]:
    """Jobs ready to run per priority: 0 counts ``wait``, p > 0 counts p's band of ``prioritized``."""
    wanted = list(dict.fromkeys(priorities))
    for p in wanted:
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= PRIORITY_LIMIT:
            raise ValidationError(f"priority must be an integer between 0 and {PRIORITY_LIMIT}, got {p!r}")
    if not wanted:
        return {}
    async with ctx.connection.client.pipeline(transaction=True) as pipe:
        for p in wanted:
            if p == 0:
                pipe.llen(ctx.keys.wait)
            else:
                pipe.zcount(ctx.keys.prioritized, p * _PRIORITY_BAND, (p + 1) * _PRIORITY_BAND - 1)
        counts = await pipe.execute()
    return {p: int(n) for p, n in zip(wanted, counts, strict=True)}


async def delayed_count_before(ctx: QueueContext, timestamp: int) -> int:
    """Delayed jobs due strictly before ``timestamp`` ms (Node's ``getDelayedCount(ts)``, 6.7)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or abs(timestamp) > _MAX_SAFE_INTEGER:
        raise ValidationError(f"timestamp must be a safe integer in milliseconds, got {timestamp!r}")
    return int(await ctx.connection.client.zcount(ctx.keys.delayed, "-inf", timestamp * _DELAY_SCALE - 1))


def _queue_range(pipe: Pipeline, ctx: QueueContext, state: str, lo: int, hi: int, *, asc: bool) -> None:
    """Ids of one state in positions lo..hi: lists ``asc`` from the tail (processing order)."""
    key = ctx.keys.state_key(state)
    if _is_list(state):
        if asc:
            pipe.lrange(key, 0 if hi == -1 else -(hi + 1), 0 if lo == -1 else -(lo + 1))
        else:
            pipe.lrange(key, lo, hi)
    elif asc:
        pipe.zrange(key, lo, hi)
    else:
        pipe.zrevrange(key, lo, hi)


async def collect_jobs(
    ctx: QueueContext, states: Sequence[str], start: int, end: int, asc: bool
) -> list[JobRow]:
    """Ids and hashes of jobs in ``states``, state after state, de-duplicated (wire-format 15.3).

    Ids whose hash is gone are skipped. For a bounded range (start and end >= 0) a short page is
    topped up from the ids after the window, up to :data:`BACKFILL_ROUNDS` reads, as Node's getJobs
    does, so a page of a busy queue keeps its size while jobs are being removed.
    """
    client = ctx.connection.client
    bounded = start >= 0 and end >= 0
    needed = end - start + 1
    found: list[list[JobRow]] = [[] for _ in states]
    cursors = [start] * len(states)
    pending = [i for i in range(len(states)) if not bounded or needed > 0]
    rounds = 0
    while pending:
        async with client.pipeline(transaction=True) as pipe:
            for i in pending:
                lo, hi = (cursors[i], cursors[i] + needed - 1) if bounded else (start, end)
                _queue_range(pipe, ctx, states[i], lo, hi, asc=asc)
            windows: list[list[str]] = await pipe.execute()
        for i, window in zip(pending, windows, strict=True):
            if asc and _is_list(states[i]):
                window.reverse()
        async with client.pipeline(transaction=False) as pipe:
            for window in windows:
                for job_id in window:
                    pipe.hgetall(ctx.keys.job(job_id))
            hashes = iter(await pipe.execute())
        rounds += 1
        still: list[int] = []
        for i, window in zip(pending, windows, strict=True):
            rows = found[i]
            for job_id in window:
                raw = next(hashes)
                legacy_marker = _is_list(states[i]) and job_id.startswith("0:")
                if raw and not legacy_marker and (not bounded or len(rows) < needed):
                    rows.append((job_id, _serde.decode_hash(raw)))
            cursors[i] += len(window)
            if bounded and window and len(rows) < needed and rounds < BACKFILL_ROUNDS:
                still.append(i)
        pending = still
    seen: set[str] = set()
    out: list[JobRow] = []
    for rows in found:
        for row in rows:
            if row[0] not in seen:
                seen.add(row[0])
                out.append(row)
    return out


# -- job schedulers (read-only; wire-format 12.7) --------------------------------------------------


def scheduler_from_hash(key: str, raw: Mapping[str, str], next_ms: int | None) -> dict[str, Any] | None:
    """A scheduler as Node's getters describe it (snake_case names); None for an empty hash.

    Fields appear only when stored (Node tests each for a non-empty string), so ``offset`` "0" of a
    cron scheduler is reported as 0. ``template`` holds the decoded ``data`` and ``opts`` (with
    BullMQ's abbreviations expanded, as Node's ``Job.optsFromJSON``).
    """
    if not raw:
        return None
    out: dict[str, Any] = {"key": key, "name": raw.get("name"), "next": next_ms}
    for field, name in (
        ("ic", "iteration_count"),
        ("limit", "limit"),
        ("startDate", "start_date"),
        ("endDate", "end_date"),
    ):
        if raw.get(field):
            out[name] = parse_int(raw[field])
    for field in ("tz", "pattern"):
        if raw.get(field):
            out[field] = raw[field]
    for field in ("every", "offset"):
        if raw.get(field):
            out[field] = parse_int(raw[field])
    if raw.get("data") or raw.get("opts"):
        template: dict[str, Any] = {}
        if raw.get("data"):
            template["data"] = _serde.loads_lenient(raw["data"])
        if raw.get("opts"):
            opts = _serde.loads_lenient(raw["opts"], {})
            template["opts"] = public_opts(opts) if isinstance(opts, dict) else opts
        out["template"] = template
    return out


async def job_scheduler(ctx: QueueContext, scheduler_id: str) -> dict[str, Any] | None:
    """One scheduler: its ``repeat`` score (the next run) and hash; None unless both exist."""
    async with ctx.connection.client.pipeline(transaction=True) as pipe:
        pipe.zscore(ctx.keys.repeat, scheduler_id)
        pipe.hgetall(f"{ctx.keys.repeat}:{scheduler_id}")
        score, raw = await pipe.execute()
    if score is None:
        return None
    return scheduler_from_hash(scheduler_id, _serde.decode_hash(raw), int(score))


async def job_schedulers(ctx: QueueContext, start: int, end: int, asc: bool) -> list[dict[str, Any]]:
    """Schedulers by next run time (``asc`` soonest first), skipping any whose hash is missing."""
    client = ctx.connection.client
    entries: list[tuple[str, float]]
    if asc:
        entries = await client.zrange(ctx.keys.repeat, start, end, withscores=True)  # type: ignore[assignment]
    else:
        entries = await client.zrevrange(ctx.keys.repeat, start, end, withscores=True)  # type: ignore[assignment]
    if not entries:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for scheduler_id, _score in entries:
            pipe.hgetall(f"{ctx.keys.repeat}:{scheduler_id}")
        hashes = await pipe.execute()
    out = []
    for (scheduler_id, score), raw in zip(entries, hashes, strict=True):
        scheduler = scheduler_from_hash(str(scheduler_id), _serde.decode_hash(raw), int(score))
        if scheduler is not None:
            out.append(scheduler)
    return out


# -- flow dependencies of a parent job (wire-format 11.8) ------------------------------------------


def _dependency_keys(ctx: QueueContext, job_id: str) -> dict[str, str]:
    base = ctx.keys.job(job_id)
    return {
        "processed": f"{base}:processed",
        "unprocessed": f"{base}:dependencies",
        "ignored": f"{base}:failed",
        "failed": f"{base}:unsuccessful",
    }


def _page(kind: str, spec: Mapping[str, int] | bool) -> tuple[int, int]:
    given: Mapping[str, int] = {} if spec is True else spec  # type: ignore[assignment]
    unknown = set(given) - {"cursor", "count"}
    if unknown:
        raise ValidationError(f"{kind} page takes 'cursor' and 'count', got {sorted(unknown)}")
    cursor, count = given.get("cursor", 0), given.get("count", DEPENDENCY_PAGE)
    for value in (cursor, count):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{kind} cursor and count must be integers >= 0, got {dict(given)}")
    return cursor, count


def _parsed_values(raw: Mapping[str, str]) -> dict[str, Any]:
    return {key: _serde.loads_lenient(value) for key, value in raw.items()}


async def dependencies(
    ctx: QueueContext, job_id: str, pages: Mapping[str, Mapping[str, int] | bool | None]
) -> dict[str, Any]:
    """Node's ``job.getDependencies(opts)``: all four sets, or cursor pages of the ones asked for.

    Without pages: ``processed`` (child key -> parsed return value), ``unprocessed`` (pending child
    keys), ``ignored`` (child key -> failure reason), ``failed`` (child keys, oldest first). With
    pages, each asked-for set is read from its cursor (HSCAN/SSCAN, or a ZRANGE window for
    ``failed``) and comes with ``next_<type>_cursor``; 0 means the scan is complete for the scanned
    sets. ``failed`` pages read ``cursor .. cursor + count - 1``: Node 6.7 reads ``0 .. count - 1``
    whatever the cursor, which repeats the first page.
    """
    keys = _dependency_keys(ctx, job_id)
    asked = {kind: spec for kind, spec in pages.items() if spec}
    unknown = set(asked) - set(DEPENDENCY_TYPES)
    if unknown:
        raise ValidationError(f"dependency types are {DEPENDENCY_TYPES}, got {sorted(unknown)}")
    client = ctx.connection.client
    if not asked:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys["processed"])
            pipe.smembers(keys["unprocessed"])
            pipe.hgetall(keys["ignored"])
            pipe.zrange(keys["failed"], 0, -1)
            processed, unprocessed, ignored, failed = await pipe.execute()
        return {
            "processed": _parsed_values(processed),
            "unprocessed": sorted(unprocessed),
            "ignored": dict(ignored),
            "failed": list(failed),
        }
    order = [kind for kind in DEPENDENCY_TYPES if kind in asked]
    windows = {kind: _page(kind, asked[kind]) for kind in order}
    async with client.pipeline(transaction=True) as pipe:
        for kind in order:
            cursor, count = windows[kind]
            if kind == "unprocessed":
                pipe.sscan(keys[kind], cursor, count=count)
            elif kind == "failed":
                pipe.zrange(keys[kind], cursor, cursor + count - 1)
            else:
                pipe.hscan(keys[kind], cursor, count=count)
        replies = await pipe.execute()
    out: dict[str, Any] = {}
    for kind, reply in zip(order, replies, strict=True):
        if kind == "failed":
            cursor, count = windows[kind]
            out["failed"] = list(reply)
            out["next_failed_cursor"] = cursor + count
            continue
        next_cursor, items = reply
        if kind == "processed":
            out["processed"] = _parsed_values(items)
        elif kind == "ignored":
            out["ignored"] = dict(items)
        else:
            out["unprocessed"] = list(items)
        out[f"next_{kind}_cursor"] = int(next_cursor)
    return out


async def dependency_counts(ctx: QueueContext, job_id: str, types: Sequence[str]) -> dict[str, int]:
    """Sizes of the asked-for child sets (all four when ``types`` is empty)."""
    wanted = list(dict.fromkeys(types)) or list(DEPENDENCY_TYPES)
    unknown = set(wanted) - set(DEPENDENCY_TYPES)
    if unknown:
        raise ValidationError(f"dependency types are {DEPENDENCY_TYPES}, got {sorted(unknown)}")
    keys = _dependency_keys(ctx, job_id)
    async with ctx.connection.client.pipeline(transaction=True) as pipe:
        for kind in wanted:
            if kind in ("processed", "ignored"):
                pipe.hlen(keys[kind])
            elif kind == "unprocessed":
                pipe.scard(keys[kind])
            else:
                pipe.zcard(keys[kind])
        counts = await pipe.execute()
    return {kind: int(n) for kind, n in zip(wanted, counts, strict=True)}


async def children_values(ctx: QueueContext, job_id: str) -> dict[str, Any]:
    """Child job key -> parsed return value, for every child that completed."""
    raw = await ctx.connection.client.hgetall(_dependency_keys(ctx, job_id)["processed"])
    return _parsed_values(_serde.decode_hash(raw))


async def ignored_children_failures(ctx: QueueContext, job_id: str) -> dict[str, str]:
    """Child job key -> failure reason, for children whose failure the parent ignored or continued past."""
    raw = await ctx.connection.client.hgetall(_dependency_keys(ctx, job_id)["ignored"])
    return _serde.decode_hash(raw)
