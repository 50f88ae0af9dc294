"""Job: one BullMQ job as stored in its hash (wire-format 3).

The hash field names are Node's (``atm``, ``ats``, ``stc``, ``pb``, ...); this module is the one place
that maps them to pybull's attribute names, so a job written by Node and one written by pybull read
back the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pybull import _readers, _serde
from pybull._context import now_ms
from pybull._lua import raise_for_code
from pybull.errors import LockMismatchError, ValidationError
from pybull.options import PRIORITY_LIMIT, public_opts

if TYPE_CHECKING:
    from pybull._context import QueueContext
    from pybull.events import QueueEvents

#: BullMQ's state names (wire-format 15.1), in the order a lookup checks them.
JOB_STATES = ("completed", "failed", "delayed", "prioritized", "active", "waiting", "waiting-children")


def _int(value: str | None, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)  # the usual case: Redis integers
    except ValueError:
        pass
    try:
        return int(float(value))
    except ValueError:
        return default


def _parse_json(raw: dict[str, str], name: str, errors: list[str]) -> Any:
    """A JSON object field of a job hash ({} when missing); a parse error is noted, not raised."""
    text = raw.get(name)
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        errors.append(f"{name} is not valid JSON ({exc})")
        return {}


def _opt_int(value: str | None) -> int | None:
    return None if value is None or value == "" else _int(value)


@dataclass
class Job:
    """A job and the values its hash held when it was read; methods act on the live job in Redis."""

    ctx: QueueContext = field(repr=False, compare=False)
    id: str
    name: str = ""
    data: Any = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)
    timestamp: int = 0
    delay: int = 0
    priority: int = 0
    progress: Any = 0
    attempts_made: int = 0
    attempts_started: int = 0
    stalled_counter: int = 0
    processed_on: int | None = None
    finished_on: int | None = None
    returnvalue: Any = None
    failed_reason: str | None = None
    stacktrace: list[str] = field(default_factory=list)
    parent_key: str | None = None
    parent: dict[str, Any] | None = None
    processed_by: str | None = None
    deduplication_id: str | None = None
    repeat_job_key: str | None = None
    deferred_failure: str | None = None
    #: Lock token while a worker processes the job (None otherwise).
    token: str | None = field(default=None, repr=False, compare=False)
    #: Set when the stored data/opts could not be parsed: the worker fails the job with this reason.
    decode_error: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_hash(cls, ctx: QueueContext, job_id: str, raw: dict[str, str]) -> Job:
        """Decode a job hash as Node's ``Job.fromJSON`` does; never raises on corrupt fields."""
        errors: list[str] = []
        opts = _parse_json(raw, "opts", errors)
        if isinstance(opts, dict):
            opts = public_opts(opts)  # Node's Job.fromJSON expands kl/de/fpof/... the same way
        else:
            errors.append("opts is not a JSON object")
            opts = {}
        try:
            stacktrace = _serde.loads(raw.get("stacktrace"), [])
        except ValueError:
            stacktrace = []
        parent = None
        if raw.get("parent"):
            try:
                parent = _serde.loads(raw["parent"])
            except ValueError:
                parent = None
        atm = raw.get("atm", raw.get("attemptsMade"))
        return cls(
            ctx=ctx,
            id=job_id,
            name=raw.get("name", ""),
            data=_parse_json(raw, "data", errors),
            opts=opts,
            timestamp=_int(raw.get("timestamp")),
            delay=_int(raw.get("delay")),
            priority=_int(raw.get("priority")),
            progress=_serde.loads_lenient(raw.get("progress"), 0),
            attempts_made=_int(atm),
            attempts_started=_int(raw.get("ats")),
            stalled_counter=_int(raw.get("stc")),
            processed_on=_opt_int(raw.get("processedOn")),
            finished_on=_opt_int(raw.get("finishedOn")),
            returnvalue=_serde.loads_lenient(raw.get("returnvalue")),
            failed_reason=raw.get("failedReason"),
            stacktrace=stacktrace if isinstance(stacktrace, list) else [],
            parent_key=raw.get("parentKey"),
            parent=parent if isinstance(parent, dict) else None,
            processed_by=raw.get("pb"),
            deduplication_id=raw.get("deid"),
            repeat_job_key=raw.get("rjk"),
            deferred_failure=raw.get("defa"),
            decode_error="; ".join(errors) or None,
        )

    @property
    def queue_name(self) -> str:
        return self.ctx.keys.name

    @property
    def key(self) -> str:
        return self.ctx.keys.job(self.id)

    def to_json(self) -> dict[str, Any]:
        """The same shape as Node's ``job.toJSON()`` (what Bull Board shows)."""
        return {
            "id": self.id,
            "name": self.name,
            "data": self.data,
            "opts": self.opts,
            "progress": self.progress,
            "delay": self.delay,
            "timestamp": self.timestamp,
            "attemptsMade": self.attempts_made,
            "attemptsStarted": self.attempts_started,
            "stalledCounter": self.stalled_counter,
            "failedReason": self.failed_reason,
            "stacktrace": self.stacktrace,
            "returnvalue": self.returnvalue,
            "finishedOn": self.finished_on,
            "processedOn": self.processed_on,
            "processedBy": self.processed_by,
            "priority": self.priority,
            "parentKey": self.parent_key,
            "deduplicationId": self.deduplication_id,
            "repeatJobKey": self.repeat_job_key,
        }

    # -- reading -----------------------------------------------------------------------------------

    @classmethod
    async def from_id(cls, ctx: QueueContext, job_id: str) -> Job | None:
        """The job as stored now, or None when its hash does not exist."""
        await ctx.connection.ensure_ready()
        raw = await ctx.connection.client.hgetall(ctx.keys.job(job_id))
        return cls.from_hash(ctx, job_id, _serde.decode_hash(raw)) if raw else None

    async def get_state(self) -> str:
        """BullMQ's state name, ``"unknown"`` when the job is in no state (or gone)."""
        return await read_job_state(self.ctx, self.id)

    async def get_dependencies(
        self,
        *,
        processed: Mapping[str, int] | bool | None = None,
        unprocessed: Mapping[str, int] | bool | None = None,
        ignored: Mapping[str, int] | bool | None = None,
        failed: Mapping[str, int] | bool | None = None,
    ) -> dict[str, Any]:
        """This parent's children by outcome (wire-format 11.8).

        Without arguments, every set in full: ``processed`` (child key -> return value),
        ``unprocessed`` (pending child keys), ``ignored`` (child key -> failure reason) and
        ``failed`` (child keys). Pass ``True`` or ``{"cursor": c, "count": n}`` for some of them to
        page through large flows instead; each comes back with ``next_<type>_cursor``.
        """
        await self.ctx.connection.ensure_ready()
        pages = {"processed": processed, "unprocessed": unprocessed, "ignored": ignored, "failed": failed}
        return await _readers.dependencies(self.ctx, self.id, pages)

    async def get_dependencies_count(
        self,
        *,
        processed: bool = False,
        unprocessed: bool = False,
        ignored: bool = False,
        failed: bool = False,
    ) -> dict[str, int]:
        """Number of children per outcome: the types asked for, or all four when none is."""
        await self.ctx.connection.ensure_ready()
        flags = {"processed": processed, "unprocessed": unprocessed, "ignored": ignored, "failed": failed}
        return await _readers.dependency_counts(self.ctx, self.id, [kind for kind, on in flags.items() if on])

    async def get_children_values(self) -> dict[str, Any]:
        """Return values of the completed children, keyed by child job key (``P:Q:id``)."""
        await self.ctx.connection.ensure_ready()
        return await _readers.children_values(self.ctx, self.id)

    async def get_ignored_children_failures(self) -> dict[str, str]:
        """Failure reasons of children whose failure did not fail this parent (ignore/continue policies)."""
        await self.ctx.connection.ensure_ready()
        return await _readers.ignored_children_failures(self.ctx, self.id)

    # -- changes (each one atomic script) -----------------------------------------------------------

    async def _run(self, script: str, *args: str | bytes | int | float, state: str = "") -> Any:
        result = await self.ctx.run(script, self.id, *args)
        raise_for_code(result, script=script, job_id=self.id, state=state)
        return result

    async def update_data(self, data: Any) -> None:
        """Replace the job's data (no event, as in BullMQ)."""
        await self._run("updateData", _serde.dumps(data, what=f"data of job {self.name!r}"))
        self.data = data

    async def update_progress(self, progress: Any) -> None:
        """Store progress (a number or any JSON value) and emit ``progress``."""
        await self._run("updateProgress", _serde.dumps(progress, what="progress"))
        self.progress = progress

    async def log(self, row: str) -> int:
        """Append a log line; with ``keep_logs`` only the newest lines stay. Returns the lines kept."""
        keep = self.opts.get("keepLogs")
        return int(await self._run("addLog", str(row), "" if keep is None else int(keep)))

    async def clear_logs(self, keep: int = 0) -> None:
        """Drop the log lines, or all but the newest ``keep`` (a trim, not a state change: LTRIM/DEL)."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValidationError(f"keep must be an integer >= 0, got {keep!r}")
        await self.ctx.connection.ensure_ready()
        key = self.ctx.keys.logs(self.id)
        if keep:
            await self.ctx.connection.client.ltrim(key, -keep, -1)
        else:
            await self.ctx.connection.client.delete(key)

    async def change_delay(self, delay: int) -> None:
        """Reschedule a delayed job to now + ``delay`` ms."""
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise ValidationError(f"delay must be an integer >= 0 (ms), got {delay!r}")
        await self._run("changeDelay", delay, now_ms(), state="delayed")
        self.delay = delay

    async def change_priority(self, priority: int = 0, lifo: bool = False) -> None:
        """New priority; a waiting job is re-queued under it, other states keep their place."""
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= PRIORITY_LIMIT:
            raise ValidationError(
                f"Priority should be an integer between 0 and {PRIORITY_LIMIT}, got {priority!r}"
            )
        await self._run("changePriority", priority, "1" if lifo else "0")
        self.priority = priority

    async def promote(self) -> None:
        """Run a delayed job now (back of the line)."""
        await self._run("promote", state="delayed")
        self.delay = 0

    async def retry(
        self,
        state: str = "failed",
        *,
        reset_attempts_made: bool = False,
        reset_attempts_started: bool = False,
    ) -> None:
        """Put a failed (or completed) job back in line, keeping its attempt counters unless reset."""
        if state not in ("failed", "completed"):
            raise ValidationError(f"retry state must be 'failed' or 'completed', got {state!r}")
        await self._run(
            "reprocessJob",
            state,
            "1" if self.opts.get("lifo") else "0",
            "1" if reset_attempts_made else "0",
            "1" if reset_attempts_started else "0",
            state=state,
        )
        self.failed_reason = None
        self.finished_on = None
        self.processed_on = None
        self.returnvalue = None
        if reset_attempts_made:
            self.attempts_made = 0
        if reset_attempts_started:
            self.attempts_started = 0

    async def remove(self, *, remove_children: bool = True) -> None:
        """Delete the job (and its children) with its logs; refuses while a worker holds a lock."""
        result = await self._run("removeJob", "1" if remove_children else "0")
        if result == 0:
            raise LockMismatchError(
                f"Job {self.id} could not be removed because it is locked by another worker",
                script="removeJob",
                job_id=self.id,
            )

    # -- worker-side operations (implemented in pybull._worker_ops) ---------------------------------

    def _token(self, token: str | None) -> str:
        return token if token is not None else (self.token or "0")

    async def move_to_delayed(self, timestamp: int, token: str | None = None) -> None:
        """From a processor: park the job until ``timestamp`` (ms); then raise DelayedError."""
        from pybull import _worker_ops

        await _worker_ops.move_to_delayed(self, timestamp, self._token(token))

    async def move_to_waiting_children(self, token: str | None = None, child_key: str | None = None) -> bool:
        """From a processor: wait for pending children; False when there are none (job stays active)."""
        from pybull import _worker_ops

        return await _worker_ops.move_to_waiting_children(self, self._token(token), child_key)

    async def extend_lock(self, token: str, duration: int) -> bool:
        from pybull import _worker_ops

        return await _worker_ops.extend_lock(self, token, duration)

    async def wait_until_finished(
        self,
        queue_events: QueueEvents,
        timeout: float | None = None,  # noqa: ASYNC109 - the public contract names it timeout
    ) -> Any:
        """The job's return value once it completes; raises JobFailedError when it fails."""
        from pybull import _worker_ops

        return await _worker_ops.wait_until_finished(self, queue_events, timeout)


async def read_job_state(ctx: QueueContext, job_id: str) -> str:
    """wire-format 15.1, read in one MULTI so a job moving between states is never seen in none."""
    await ctx.connection.ensure_ready()
    keys = ctx.keys
    async with ctx.connection.client.pipeline(transaction=True) as pipe:
        pipe.zscore(keys.completed, job_id)
        pipe.zscore(keys.failed, job_id)
        pipe.zscore(keys.delayed, job_id)
        pipe.zscore(keys.prioritized, job_id)
        pipe.lpos(keys.active, job_id)
        pipe.lpos(keys.wait, job_id)
        pipe.lpos(keys.paused, job_id)
        pipe.zscore(keys.waiting_children, job_id)
        found = await pipe.execute()
    names = (
        "completed",
        "failed",
        "delayed",
        "prioritized",
        "active",
        "waiting",
        "waiting",
        "waiting-children",
    )
    for name, hit in zip(names, found, strict=True):
        if hit is not None:
            return name
    return "unknown"
