"""Job: one BullMQ job as stored in its hash (wire-format 3).

The hash field names are Node's (``atm``, ``ats``, ``stc``, ``pb``, ...); this module is the one place
that maps them to pybull's attribute names, so a job written by Node and one written by pybull read
back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pybull import _serde

if TYPE_CHECKING:
    from pybull._context import QueueContext


def _int(value: str | None, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except ValueError:
        return default


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

        def parse(name: str, default: Any) -> Any:
            try:
                return _serde.loads(raw.get(name), default)
            except ValueError as exc:
                errors.append(f"{name} is not valid JSON ({exc})")
                return default

        opts = parse("opts", {})
        if not isinstance(opts, dict):
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
            data=parse("data", {}),
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
