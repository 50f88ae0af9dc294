"""Queue: add jobs and administer a queue, writing exactly what Node BullMQ 6.7 writes.

Every change goes through one Lua script (lua/commands/*); reads use plain commands, grouped in a
MULTI where a consistent snapshot matters. The constructor does no I/O: the connection is checked
and the queue's meta hash written on first use, so creating a Queue is cheap anywhere (including
the blocking facade in ``pybull.sync``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis.exceptions as rexc
from redis.exceptions import ResponseError

from pybull import _readers, _serde
from pybull._connection import ConnectionLike, RedisConnection, translate_error
from pybull._context import QueueContext, now_ms
from pybull._lua import PackedScript, raise_for_code
from pybull.errors import (
    QueueHasActiveJobsError,
    QueueNotPausedError,
    ScriptError,
    ValidationError,
)
from pybull.job import Job, read_job_state
from pybull.keys import DEFAULT_PREFIX, QueueKeys
from pybull.options import JobOptions, merge_options, parse_job_options, public_opts, stored_job_opts

#: getJobs / getJobCounts default states (Node's order; no legacy "paused").
DEFAULT_STATES = ("active", "completed", "delayed", "failed", "prioritized", "waiting", "waiting-children")
_LIST_STATES = frozenset(("wait", "paused", "active"))
_CLEAN_STATES = frozenset(
    ("completed", "failed", "delayed", "prioritized", "wait", "paused", "active", "waiting-children")
)

#: ``add(name)`` without data stores ``{}`` (Node's ``undefined``); an explicit None stores ``null``.
_NO_DATA: Any = object()

#: Connections kept open between adds (more are opened while more adds are in flight at once).
ADD_IDLE_CONNECTIONS = 8

#: addJob's second result element: how the add ended.
_CREATED, _DUPLICATED, _DEDUPLICATED = 0, 1, 2


class Queue:
    """A BullMQ queue: ``Queue("emails", connection="redis://...", prefix="bull")``.

    ``connection`` is a ``redis://`` URL, a ``redis.asyncio.Redis`` (its server and credentials are
    reused on a client of pybull's own) or None (``REDIS_URL`` / ``REDIS_HOST``... or localhost).
    ``default_job_options`` apply to every add, overridden key by key by the add's own options.
    """

    #: Jobs per addJobs call in add_bulk: big enough to amortise a call, small enough that one
    #: call keeps the server busy for only a few milliseconds.
    BULK_BATCH = 200

    def __init__(
        self,
        name: str,
        connection: ConnectionLike = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        default_job_options: Mapping[str, Any] | JobOptions | None = None,
        max_len_events: int = 10000,
        skip_meta_update: bool = False,
    ) -> None:
        self.keys = QueueKeys(name, prefix)
        self.connection = RedisConnection(connection)
        self.ctx = QueueContext(self.keys, self.connection)
        self.default_job_options = merge_options(default_job_options)
        if self.default_job_options:
            parse_job_options(self.default_job_options, what="default_job_options")
        if isinstance(max_len_events, bool) or not isinstance(max_len_events, int) or max_len_events < 0:
            raise ValidationError(f"max_len_events must be an integer >= 0, got {max_len_events!r}")
        self.max_len_events = max_len_events
        self.skip_meta_update = skip_meta_update
        self._all_keys = self.keys.all
        self._meta_written = False
        self._add_call: PackedScript | None = None

    def __repr__(self) -> str:
        return f"Queue({self.name!r}, prefix={self.prefix!r}, target={self.connection.target!r})"

    @property
    def name(self) -> str:
        return self.keys.name

    @property
    def prefix(self) -> str:
        return self.keys.prefix

    @property
    def qualified_name(self) -> str:
        return self.keys.qualified_name

    async def __aenter__(self) -> Queue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._add_call is not None:
            await self._add_call.close()
            self._add_call = None
        await self.connection.close()

    async def _ready(self) -> None:
        """Check the server once and record this queue in meta (what Node's Queue constructor does)."""
        if self._meta_written:
            return
        await self.connection.ensure_ready()
        if not self.skip_meta_update:
            from pybull import __version__

            await self.connection.client.hset(
                self.keys.meta,
                mapping={"opts.maxLenEvents": self.max_len_events, "version": f"pybull:{__version__}"},
            )
        self._meta_written = True

    async def _run(
        self, script: str, *args: str | bytes | int | float, job_id: str = "", state: str = ""
    ) -> Any:
        await self._ready()
        result = await self.ctx.run(script, *args)
        raise_for_code(result, script=script, job_id=job_id, state=state)
        return result

    # -- adding ------------------------------------------------------------------------------------

    def _prepare(
        self, name: str, data: Any, options: Mapping[str, Any] | JobOptions | None
    ) -> tuple[Job, list[Any]]:
        """Validate one job; returns it with its add entry [custom id, name, timestamp, data, opts, extras].

        Raises before anything is sent.
        """
        if not isinstance(name, str):
            raise ValidationError(f"job name must be a string, got {type(name).__name__}")
        if self.default_job_options:
            options = merge_options(self.default_job_options, options)
        if data is _NO_DATA:
            data = {}
        data_json, stored, parsed = stored_job_opts(name, data, options)
        job = Job(ctx=self.ctx, id="", name=name, data=data, opts=public_opts(stored))
        custom_id = ""
        extras: dict[str, Any] | None = None
        if parsed is None:
            job.timestamp = now_ms()
        else:
            job.timestamp = parsed.timestamp or now_ms()
            job.delay = parsed.delay or 0
            job.priority = parsed.priority or 0
            custom_id = parsed.job_id or ""
            if parsed.deduplication is not None:
                job.deduplication_id = parsed.deduplication.id
            if parsed.parent is not None:
                extras = self._child_of(job, parsed)
        return job, [custom_id, name, str(job.timestamp), data_json, stored, extras]

    @staticmethod
    def _child_of(job: Job, parsed: JobOptions) -> dict[str, Any]:
        """Parent fields of a child job (``parentKey``, ``parent`` JSON with its failure policy)."""
        assert parsed.parent is not None
        job.parent_key = f"{parsed.parent.queue}:{parsed.parent.id}"
        job.parent = {"id": parsed.parent.id, "queueKey": parsed.parent.queue}
        for flag, on in (
            ("fpof", parsed.fail_parent_on_failure),
            ("rdof", parsed.remove_dependency_on_failure),
            ("idof", parsed.ignore_dependency_on_failure),
            ("cpof", parsed.continue_parent_on_failure),
        ):
            if on:
                job.parent[flag] = True
        return {
            "parentKey": job.parent_key,
            "parentDependenciesKey": f"{job.parent_key}:dependencies",
            "parent": job.parent,
        }

    async def _settle(self, job: Job, result: Any) -> Job:
        """Turn an addJob result into the Job the caller gets (the existing one when not created)."""
        if isinstance(result, BaseException):
            if isinstance(result, ResponseError):
                raise ScriptError(f"addJob: {result}", script="addJob") from result
            raise result
        if isinstance(result, int):
            raise_for_code(result, script="addJob", job_id=str(job.opts.get("jobId", "")))
            raise ScriptError(f"addJob returned {result!r}", script="addJob")
        job_id, status = str(result[0]), int(result[1])
        job.id = job_id
        if status != _CREATED:
            existing = await Job.from_id(self.ctx, job_id)
            if existing is not None:
                return existing
        return job

    async def add(
        self,
        name: str,
        data: Any = _NO_DATA,
        opts: Mapping[str, Any] | JobOptions | None = None,
        **options: Any,
    ) -> Job:
        """Add one job. Options as keywords (``delay=5000``) or a mapping, snake_case or camelCase.

        A duplicate custom id or a deduplicated add writes nothing new and returns the existing job.
        """
        if options:
            opts = merge_options(opts, options)
        job, (custom_id, name, timestamp, data_json, stored, extras) = self._prepare(name, data, opts)
        args = (
            custom_id,
            name,
            timestamp,
            data_json,
            _serde.pack(stored),
            "" if extras is None else _serde.pack(extras),
        )
        await self._ready()
        return await self._settle(job, await self._call_add(args))

    async def _call_add(self, args: tuple[str | bytes | int, ...]) -> Any:
        call = self._add_call
        if call is None:
            call = self._add_call = PackedScript(
                self.connection.client,
                "addJob",
                self._all_keys,
                (self.keys.base,),
                max_idle=ADD_IDLE_CONNECTIONS,
            )
        try:
            return await call(*args)
        except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
            raise translate_error(exc, self.connection.target) from exc

    async def add_bulk(self, jobs: Iterable[Mapping[str, Any]]) -> list[Job]:
        """Add many jobs, in order (like Node's addBulk: not atomic as a whole).

        Every entry (``{"name", "data", "opts"}``) is validated first: one bad entry raises and
        nothing is sent. The jobs then go in batches of :attr:`BULK_BATCH` per addJobs call, all
        calls in one pipeline: one round trip, and no call blocks the server for long.
        """
        prepared: list[tuple[Job, list[Any]]] = []
        for index, entry in enumerate(jobs):
            if not isinstance(entry, Mapping) or "name" not in entry:
                raise ValidationError(f"add_bulk entry {index} must be a mapping with a 'name'")
            unknown = set(entry) - {"name", "data", "opts"}
            if unknown:
                raise ValidationError(f"add_bulk entry {index} has unknown keys {sorted(unknown)}")
            prepared.append(self._prepare(entry["name"], entry.get("data", _NO_DATA), entry.get("opts")))
        if not prepared:
            return []
        await self._ready()
        scripts = self.ctx.scripts
        size = self.BULK_BATCH
        async with self.connection.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(prepared), size):
                batch = _serde.pack([entry for _, entry in prepared[start : start + size]])
                await scripts.call("addJobs", self._all_keys, (self.keys.base, batch), pipeline=pipe)
            replies = await pipe.execute(raise_on_error=False)
        results: list[Any] = []
        for start, reply in zip(range(0, len(prepared), size), replies, strict=True):
            if isinstance(reply, BaseException):
                results.extend([reply] * len(prepared[start : start + size]))
            else:
                results.extend(reply)
        return [await self._settle(job, result) for (job, _), result in zip(prepared, results, strict=True)]

    # -- reading -----------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job | None:
        await self._ready()
        return await Job.from_id(self.ctx, job_id)

    async def get_job_state(self, job_id: str) -> str:
        await self._ready()
        return await read_job_state(self.ctx, job_id)

    async def get_job_counts(self, *types: str) -> dict[str, int]:
        """Jobs per state (``waiting`` counts the wait list); default: every 6.x state."""
        await self._ready()
        wanted = list(dict.fromkeys(types)) or list(DEFAULT_STATES)
        async with self.connection.client.pipeline(transaction=True) as pipe:
            for state in wanted:
                key = self.keys.state_key(state)
                if self._is_list(state):
                    pipe.llen(key)
                    pipe.lindex(key, -1)
                else:
                    pipe.zcard(key)
            replies = iter(await pipe.execute())
        counts: dict[str, int] = {}
        for state in wanted:
            count = int(next(replies))
            if self._is_list(state):
                tail = next(replies)
                if count and isinstance(tail, str) and tail.startswith("0:"):
                    count -= 1  # a legacy v5 marker is not a job
            counts[state] = count
        return counts

    async def get_job_count_by_types(self, *types: str) -> int:
        return sum((await self.get_job_counts(*types)).values())

    async def count(self) -> int:
        """Jobs not yet processed: waiting + delayed + prioritized + waiting-children."""
        return await self.get_job_count_by_types("waiting", "delayed", "prioritized", "waiting-children")

    async def get_waiting_count(self) -> int:
        return await self.get_job_count_by_types("waiting")

    async def get_active_count(self) -> int:
        return await self.get_job_count_by_types("active")

    async def get_prioritized_count(self) -> int:
        return await self.get_job_count_by_types("prioritized")

    async def get_waiting_children_count(self) -> int:
        return await self.get_job_count_by_types("waiting-children")

    async def get_completed_count(self) -> int:
        return await self.get_job_count_by_types("completed")

    async def get_failed_count(self) -> int:
        return await self.get_job_count_by_types("failed")

    async def get_delayed_count(self, timestamp: int | None = None) -> int:
        """Delayed jobs; with ``timestamp`` (ms) only those due strictly before it."""
        if timestamp is None:
            return await self.get_job_count_by_types("delayed")
        await self._ready()
        return await _readers.delayed_count_before(self.ctx, timestamp)

    async def get_counts_per_priority(self, priorities: Iterable[int]) -> dict[int, int]:
        """Ready jobs per priority (0 = the wait list), keyed by priority."""
        await self._ready()
        return await _readers.counts_per_priority(self.ctx, priorities)

    async def get_metrics(self, kind: str, start: int = 0, end: int = -1) -> dict[str, Any]:
        """Per-minute throughput of ``"completed"`` or ``"failed"`` jobs, newest point first (14.3).

        ``{"meta": {"count", "prev_ts", "prev_count"}, "data": [...], "count": points stored}``;
        points are recorded by workers started with metrics enabled.
        """
        await self._ready()
        return await _readers.get_metrics(self.ctx, kind, start, end)

    @staticmethod
    def _is_list(state: str) -> bool:
        return state in ("waiting", "wait", "paused", "active")

    async def get_jobs(
        self, types: str | Sequence[str] | None = None, start: int = 0, end: int = -1, asc: bool = False
    ) -> list[Job]:
        """Jobs of the given states, state by state, de-duplicated (wire-format 15.3).

        ``asc`` lists in processing order (lists from the tail, zsets lowest score first). Jobs
        removed meanwhile are skipped; a bounded page is topped up from the jobs after it.
        """
        await self._ready()
        states = [types] if isinstance(types, str) else list(dict.fromkeys(types or DEFAULT_STATES))
        rows = await _readers.collect_jobs(self.ctx, states, start, end, asc)
        return [Job.from_hash(self.ctx, job_id, raw) for job_id, raw in rows]

    async def get_waiting(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["waiting"], start, end, asc=True)

    async def get_active(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["active"], start, end, asc=True)

    async def get_delayed(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["delayed"], start, end, asc=True)

    async def get_prioritized(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["prioritized"], start, end, asc=True)

    async def get_completed(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["completed"], start, end, asc=False)

    async def get_failed(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["failed"], start, end, asc=False)

    async def get_waiting_children(self, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(["waiting-children"], start, end, asc=True)

    async def get_job_logs(
        self, job_id: str, start: int = 0, end: int = -1, asc: bool = True
    ) -> dict[str, Any]:
        """``{"logs": [...], "count": n}``; descending reads from the newest line."""
        await self._ready()
        key = self.keys.logs(job_id)
        async with self.connection.client.pipeline(transaction=True) as pipe:
            if asc:
                pipe.lrange(key, start, end)
            else:
                pipe.lrange(key, -(end + 1), -(start + 1))
            pipe.llen(key)
            logs, count = await pipe.execute()
        return {"logs": logs if asc else list(reversed(logs)), "count": int(count)}

    async def get_meta(self) -> dict[str, Any]:
        """Meta hash as Node's ``getMeta`` returns it (numbers parsed, ``paused`` a bool)."""
        await self._ready()
        raw = _serde.decode_hash(await self.connection.client.hgetall(self.keys.meta))
        meta: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "opts.maxLenEvents":
                meta["maxLenEvents"] = int(value)
            elif key in ("concurrency", "max", "duration"):
                meta[key] = int(value)
            elif key != "paused":
                meta[key] = value
        meta["paused"] = raw.get("paused") == "1"
        return meta

    async def is_paused(self) -> bool:
        await self._ready()
        return bool(await self.connection.client.hexists(self.keys.meta, "paused"))

    async def get_workers(self) -> list[dict[str, str]]:
        """Connections named like workers of this queue (wire-format 8.2), as Bull Board lists them."""
        await self._ready()
        head = f"{self.prefix}:{base64.b64encode(self.name.encode()).decode()}"
        clients = await self.connection.client.client_list()
        workers = []
        for info in clients:
            raw_name = str(info.get("name", ""))
            if raw_name == head or raw_name.startswith(f"{head}:w:"):
                workers.append(
                    {**{k: str(v) for k, v in info.items()}, "name": self.name, "rawname": raw_name}
                )
        return workers

    async def get_rate_limit_ttl(self, max_jobs: int | None = None) -> int:
        """Remaining ms of the rate limit (0 when not limited; the raw PTTL, -2/-1, without any max)."""
        await self._ready()
        ttl: Any = await self.ctx.run("getRateLimitTtl", max_jobs or 0)
        return int(ttl)

    async def get_global_concurrency(self) -> int | None:
        await self._ready()
        value = await self.connection.client.hget(self.keys.meta, "concurrency")
        return int(value) if value else None

    async def set_global_concurrency(self, concurrency: int) -> None:
        """At most ``concurrency`` active jobs across all workers (meta ``concurrency``)."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"global concurrency must be an integer >= 1, got {concurrency!r}")
        await self._ready()
        await self.connection.client.hset(self.keys.meta, "concurrency", concurrency)

    async def remove_global_concurrency(self) -> None:
        await self._ready()
        await self.connection.client.hdel(self.keys.meta, "concurrency")

    async def get_global_rate_limit(self) -> dict[str, int] | None:
        """``{"max", "duration"}`` when both meta fields are set (14.1), else None."""
        await self._ready()
        max_jobs, duration = await self.connection.client.hmget(self.keys.meta, ["max", "duration"])
        if not max_jobs or not duration:
            return None
        return {
            "max": _readers.parse_int(_serde.to_str(max_jobs)),
            "duration": _readers.parse_int(_serde.to_str(duration)),
        }

    async def set_global_rate_limit(self, max_jobs: int, duration: int) -> None:
        """At most ``max_jobs`` activations per ``duration`` ms across all workers (meta max/duration)."""
        for what, value in (("max", max_jobs), ("duration", duration)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"global rate limit {what} must be an integer >= 1, got {value!r}")
        await self._ready()
        await self.connection.client.hset(self.keys.meta, mapping={"max": max_jobs, "duration": duration})

    async def remove_global_rate_limit(self) -> None:
        await self._ready()
        await self.connection.client.hdel(self.keys.meta, "max", "duration")

    async def get_job_scheduler(self, scheduler_id: str) -> dict[str, Any] | None:
        """One job scheduler (wire-format 12.7) or None; see :func:`pybull._readers.scheduler_from_hash`."""
        await self._ready()
        return await _readers.job_scheduler(self.ctx, scheduler_id)

    async def get_job_schedulers(
        self, start: int = 0, end: int = -1, asc: bool = False
    ) -> list[dict[str, Any]]:
        """Job schedulers by next run time (default latest first, as Node's ``getJobSchedulers``)."""
        await self._ready()
        return await _readers.job_schedulers(self.ctx, start, end, asc)

    async def get_job_schedulers_count(self) -> int:
        await self._ready()
        return int(await self.connection.client.zcard(self.keys.repeat))

    async def upsert_job_scheduler(
        self, scheduler_id: str, repeat: Mapping[str, Any], template: Mapping[str, Any] | None = None
    ) -> Job | None:
        """Create or replace a job scheduler (``repeat={"pattern": ..., "tz": ...}`` or ``{"every": ms}``,
        ``template={"name", "data", "opts"}``); returns its pending iteration (see ``pybull.scheduler``)."""
        from pybull import scheduler

        await self._ready()
        return await scheduler.upsert_job_scheduler(
            self.ctx, scheduler_id, repeat, template, default_job_options=self.default_job_options
        )

    async def remove_job_scheduler(self, scheduler_id: str) -> bool:
        """Remove a job scheduler and its delayed iteration; False when it did not exist."""
        from pybull import scheduler

        await self._ready()
        return await scheduler.remove_job_scheduler(self.ctx, scheduler_id)

    async def get_deduplication_job_id(self, dedup_id: str) -> str | None:
        await self._ready()
        value = await self.connection.client.get(self.keys.dedup(dedup_id))
        return str(value) if value is not None else None

    async def remove_deduplication_key(self, dedup_id: str) -> int:
        await self._ready()
        return int(await self.connection.client.delete(self.keys.dedup(dedup_id)))

    # -- administration ----------------------------------------------------------------------------

    async def pause(self) -> None:
        """Workers stop fetching; jobs stay where they are (BullMQ 6 semantics)."""
        await self._run("pause")

    async def resume(self) -> None:
        left = await self._run("resume", "1")
        while left:
            left = await self._run("resume", "0")

    async def rate_limit(self, ms: int) -> None:
        """Hold every fetch of this queue for ``ms`` milliseconds."""
        if isinstance(ms, bool) or not isinstance(ms, int) or ms <= 0:
            raise ValidationError(f"rate limit must be a positive integer (ms), got {ms!r}")
        await self._run("rateLimit", ms)

    async def remove_rate_limit_key(self) -> int:
        await self._ready()
        return int(await self.connection.client.delete(self.keys.limiter))

    async def trim_events(self, max_len: int) -> int:
        """Trim the events stream to about ``max_len`` entries (XTRIM MAXLEN ~); returns entries removed."""
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
            raise ValidationError(f"max_len must be an integer >= 0, got {max_len!r}")
        await self._ready()
        return int(await self.connection.client.xtrim(self.keys.events, maxlen=max_len, approximate=True))

    async def remove(self, job_id: str, *, remove_children: bool = True) -> int:
        """Delete a job (and its children). Returns 1, or 0 when a worker holds its lock."""
        return int(await self._run("removeJob", job_id, "1" if remove_children else "0", job_id=job_id))

    async def clean(self, grace: int, limit: int = 0, type: str = "completed") -> list[str]:
        """Remove jobs of one state older than ``grace`` ms, at most ``limit`` (0 = all); returns ids."""
        state = "wait" if type == "waiting" else type
        if state not in _CLEAN_STATES:
            raise ValidationError(f"cannot clean state {type!r}; one of {sorted(_CLEAN_STATES)}")
        if grace < 0 or limit < 0:
            raise ValidationError("grace and limit must be >= 0")
        per_call = min(10000, limit) if limit else 10000
        cutoff = now_ms() - grace
        removed: list[str] = []
        while not limit or len(removed) < limit:
            ids = await self._run("clean", state, cutoff, per_call)
            removed.extend(str(i) for i in ids)
            if len(ids) < per_call:
                break
        return removed

    async def drain(self, delayed: bool = False) -> None:
        """Remove every job that has not started (wait, prioritized and, if asked, delayed)."""
        await self._run("drain", "1" if delayed else "0")

    async def obliterate(self, *, force: bool = False, count: int = 1000) -> None:
        """Delete the queue with all its jobs. Pauses it first; active jobs need ``force``."""
        await self.pause()
        while True:
            result = await self.ctx.run("obliterate", count, "1" if force else "")
            if result == -1:
                raise QueueNotPausedError(f"Cannot obliterate non-paused queue {self.name!r}")
            if result == -2:
                raise QueueHasActiveJobsError(f"Cannot obliterate queue {self.name!r} with active jobs")
            if not result:
                break
        self._meta_written = False

    async def retry_jobs(
        self, state: str = "failed", count: int = 1000, timestamp: int | None = None
    ) -> None:
        """Move failed (or completed) jobs finished before ``timestamp`` back to wait, ``count`` per call."""
        if state not in ("failed", "completed"):
            raise ValidationError(f"retry_jobs state must be 'failed' or 'completed', got {state!r}")
        when = now_ms() if timestamp is None else timestamp
        while await self._run("retryJobs", state, count, when):
            pass

    async def promote_jobs(self, count: int = 1000) -> None:
        """Move every delayed job to wait now, ``count`` per call."""
        while await self._run("promoteJobs", count):
            pass
