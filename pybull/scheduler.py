"""Job schedulers: a template plus a schedule, producing one iteration job at a time (wire-format 12).

Node BullMQ 6.7 and pybull share schedulers through Redis, so three things here must match Node
exactly: the options written into each iteration job (a Node worker reads ``opts.repeat`` and
``opts.prevMillis`` to create the next one), the iteration ids ``repeat:<id>:<due ms>`` and the cron
arithmetic, i.e. cron-parser 5.x's next-time rules, DST included (see :func:`next_cron_millis`).
``every`` arithmetic lives in Lua (lua/includes/scheduler.lua) because it depends on the stored
schedule. The state changes are the scripts upsertJobScheduler, updateJobScheduler and
removeJobScheduler; reads are in ``_readers``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import redis.exceptions as rexc
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from pybull import _serde
from pybull._context import QueueContext, now_ms
from pybull._cron import next_cron_millis, parse_pattern, to_ms, zone_of
from pybull._lua import raise_for_code
from pybull.errors import ValidationError
from pybull.job import Job
from pybull.options import STORED_TO_PUBLIC, merge_options, parse_job_options, public_opts

log = logging.getLogger("pybull")

# -- options --------------------------------------------------------------------------------------------


def _date_ms(value: Any) -> Any:
    """``new Date(value).getTime()`` for the forms a Python caller passes (ms, datetime, ISO text)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.astimezone()
        return to_ms(moment)
    if isinstance(value, str):
        try:
            return _date_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    return value


DateMs = Annotated[int, BeforeValidator(_date_ms)]


class RepeatOptions(BaseModel):
    """A scheduler's schedule: exactly one of ``pattern`` (cron, optional ``tz``) and ``every`` (ms)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, alias_generator=to_camel, frozen=True
    )

    pattern: str | None = Field(default=None, min_length=1)
    every: int | None = Field(default=None, gt=0)
    tz: str | None = None
    limit: int | None = Field(default=None, ge=1)
    start_date: DateMs | None = None
    end_date: DateMs | None = None
    immediately: bool | None = None
    offset: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> RepeatOptions:
        if self.pattern and self.every:
            raise ValueError("Both .pattern and .every options are defined for this repeatable job")
        if not self.pattern and not self.every:
            raise ValueError("Either .pattern or .every options must be defined for this repeatable job")
        if self.immediately and self.start_date:
            raise ValueError("Both .immediately and .startDate options are defined for this repeatable job")
        return self


def parse_repeat(repeat: Mapping[str, Any] | RepeatOptions) -> RepeatOptions:
    if isinstance(repeat, RepeatOptions):
        parsed = repeat
    else:
        try:
            parsed = RepeatOptions.model_validate(dict(repeat))
        except PydanticValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}".lstrip(
                    ": "
                )
                for e in exc.errors(include_url=False)
            )
            raise ValidationError(f"invalid repeat options: {errors}") from None
    if parsed.pattern:
        parse_pattern(parsed.pattern)
    if parsed.tz:
        zone_of(parsed.tz)
    return parsed


#: Template options Node's type forbids (JobSchedulerTemplateOptions); parent is not supported either.
_TEMPLATE_FORBIDDEN = ("job_id", "delay", "deduplication", "parent")


def template_stored_opts(opts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated template options in the form Node stores them for a scheduler (wire-format 3.2):
    abbreviated keys, but no ``attempts: 0`` added and a numeric backoff kept as given."""
    merged = merge_options(opts)
    for name in _TEMPLATE_FORBIDDEN:
        if name in merged:
            raise ValidationError(f"job scheduler template options cannot contain {to_camel(name)!r}")
    parsed = parse_job_options(merged, what="job scheduler template options")
    stored = parsed.stored()
    if "attempts" not in parsed.model_fields_set:
        stored.pop("attempts", None)
    if isinstance(parsed.backoff, int):
        stored["backoff"] = parsed.backoff
    return stored


_PUBLIC_TO_STORED = {public: short for short, public in STORED_TO_PUBLIC.items()}


def stored_form(opts: Mapping[str, Any]) -> dict[str, Any]:
    """Node's ``optsAsJSON``: public option names -> stored names (telemetry -> tm/omc)."""
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key == "telemetry" and isinstance(value, Mapping):
            if value.get("metadata") is not None:
                out["tm"] = value["metadata"]
            if value.get("omitContext") is not None:
                out["omc"] = value["omitContext"]
        else:
            out[_PUBLIC_TO_STORED.get(key, key)] = value
    return out


def _iteration_repeat(repeat: Mapping[str, Any], count: int, every_offset: int | None) -> dict[str, Any]:
    """``opts.repeat`` of an iteration: the schedule minus ``immediately``, plus count (Node's shape)."""
    out = {k: v for k, v in repeat.items() if k not in ("immediately", "offset") and v is not None}
    out["count"] = count
    if every_offset:
        out["offset"] = every_offset
    for key in ("startDate", "endDate"):
        if repeat.get(key):
            out[key] = _date_ms(repeat[key])
        else:
            out.pop(key, None)
    return out


def _cron_next(repeat: Mapping[str, Any], now: int) -> int | None:
    """BullMQ's default repeat strategy (``immediately`` means the current clock)."""
    if repeat.get("immediately"):
        return now_ms()
    return next_cron_millis(
        str(repeat["pattern"]),
        now,
        tz=repeat.get("tz") or None,
        start_date=_date_ms(repeat.get("startDate")) or None,
        end_date=_date_ms(repeat.get("endDate")) or None,
    )


# -- operations -------------------------------------------------------------------------------------------


def validate_scheduler_id(scheduler_id: Any) -> str:
    if not isinstance(scheduler_id, str) or not scheduler_id:
        raise ValidationError("job scheduler id must be a non-empty string")
    if ":" in scheduler_id:
        raise ValidationError(f"job scheduler id {scheduler_id!r} must not contain ':' (job ids split on it)")
    return scheduler_id


async def upsert_job_scheduler(
    ctx: QueueContext,
    scheduler_id: str,
    repeat: Mapping[str, Any] | RepeatOptions,
    template: Mapping[str, Any] | None = None,
    *,
    default_job_options: Mapping[str, Any] | None = None,
) -> Job | None:
    """Create or replace scheduler ``scheduler_id``; returns its pending iteration (None when the
    schedule has nothing left to run: ``limit`` reached or no cron time before ``end_date``)."""
    validate_scheduler_id(scheduler_id)
    parsed = parse_repeat(repeat)
    template = dict(template or {})
    unknown = set(template) - {"name", "data", "opts"}
    if unknown:
        raise ValidationError(f"job scheduler template keys must be name, data, opts; got {sorted(unknown)}")
    name = template.get("name")
    name = scheduler_id if name is None else name
    if not isinstance(name, str):
        raise ValidationError("job scheduler template name must be a string")
    data = template.get("data")
    data_json = _serde.dumps({} if data is None else data, what=f"data of job scheduler {scheduler_id!r}")
    layers = merge_options(default_job_options, template.get("opts"))
    template_opts = template_stored_opts(layers)
    now = now_ms()
    if parsed.end_date is not None and parsed.end_date < now:
        raise ValidationError("End date must be greater than current timestamp")
    count = (parsed.count or 0) + 1
    if parsed.limit is not None and count > parsed.limit:
        return None
    repeat_public = parsed.model_dump(by_alias=True, exclude_none=True)
    every_offset = parsed.offset if parsed.every and parsed.offset else None
    due: int | None = None
    if parsed.pattern:
        due = _cron_next(repeat_public, now)
        if due is None:
            return None
        due = max(due, now)
    opts = dict(template_opts)
    opts.update(
        repeat=_iteration_repeat(repeat_public, count, every_offset), timestamp=now, repeatJobKey=scheduler_id
    )
    if due is not None:
        opts["prevMillis"] = due
    scheduler_opts = {
        "name": name,
        "pattern": parsed.pattern,
        "every": parsed.every,
        "tz": parsed.tz,
        "limit": parsed.limit,
        "startDate": parsed.start_date,
        "endDate": parsed.end_date,
        "offset": every_offset,
    }
    result = await ctx.run(
        "upsertJobScheduler",
        scheduler_id,
        "" if due is None else due,
        _serde.pack({k: v for k, v in scheduler_opts.items() if v is not None}),
        data_json,
        _serde.pack(template_opts),
        _serde.pack(opts),
        now,
    )
    raise_for_code(result, script="upsertJobScheduler", job_id=f"repeat:{scheduler_id}:{due}")
    assert isinstance(result, list)
    job_id, delay = _serde.to_str(result[0]) or "", int(result[1])
    opts.update(jobId=job_id, delay=delay)
    job = Job(ctx=ctx, id=job_id, name=name, data=_serde.loads(data_json), opts=public_opts(opts))
    job.timestamp, job.delay, job.repeat_job_key = now, delay, scheduler_id
    job.priority = int(opts.get("priority") or 0)
    return job


async def remove_job_scheduler(ctx: QueueContext, scheduler_id: str) -> bool:
    """Delete a scheduler and its delayed iteration; False when there was no such scheduler."""
    result = await ctx.run("removeJobScheduler", scheduler_id)
    return bool(result)


# -- the worker side (wire-format 12.5) -------------------------------------------------------------------


def has_legacy_key_shape(key: str) -> bool:
    """A v5 repeatable-job key ``name:id:endDate:tz:<cron|every>`` (Node refuses those, 12.8)."""
    parts = key.split(":", 4)
    if len(parts) < 5:
        return False
    end_date, suffix = parts[2], parts[4]
    if end_date and not (end_date.isascii() and end_date.isdigit()):
        return False
    return bool(suffix) and (" " in suffix or (suffix.isascii() and suffix.isdigit()))


#: Attempts at the update call before giving up (Node's worker retries the same way).
SCHEDULE_RETRIES = 3


async def schedule_next_iteration(ctx: QueueContext, job: Job) -> None:
    """Create the iteration after ``job`` (a scheduler iteration a worker just started), as a Node
    worker does before running it. A no-op for jobs without ``repeat_job_key``, for a scheduler that
    was removed, and when the job is not the scheduler's current iteration (Lua checks both)."""
    key = job.repeat_job_key
    if not key:
        return
    if has_legacy_key_shape(key) and not await ctx.connection.client.hexists(
        f"{ctx.keys.repeat}:{key}", "ic"
    ):
        log.error(
            "job %s: legacy repeatable job key %r is not supported by BullMQ 6; not rescheduled", job.id, key
        )
        return
    repeat = job.opts.get("repeat")
    if not isinstance(repeat, Mapping) or bool(repeat.get("pattern")) == bool(repeat.get("every")):
        log.error("job %s of scheduler %r has no usable opts.repeat; next iteration not created", job.id, key)
        return
    count = int(repeat.get("count") or 0) + 1
    limit = repeat.get("limit")
    if isinstance(limit, int | float) and count > limit:
        return
    now = now_ms()
    end_date = _date_ms(repeat.get("endDate"))
    if end_date and now > end_date:
        return
    prev_millis = job.opts.get("prevMillis") or 0
    clock = max(now, prev_millis) if isinstance(prev_millis, int | float) else now
    due: int | None = None
    if repeat.get("pattern"):
        due = _cron_next(repeat, int(clock))
        if due is None:
            return
        due = max(due, int(clock))
    offset = repeat.get("offset") if repeat.get("every") else None
    # what Node's Job constructor does to the options it read: attempts default, backoff normalised
    public = {k: v for k, v in job.opts.items() if k != "repeatJobKey"}
    public.setdefault("attempts", 0)
    backoff = public.get("backoff")
    if isinstance(backoff, int | float) and not isinstance(backoff, bool):
        public["backoff"] = {"type": "fixed", "delay": backoff}
    opts = stored_form(public)
    opts.update(repeat=_iteration_repeat(repeat, count, offset), timestamp=now, repeatJobKey=key)
    opts.pop("prevMillis", None)
    if due is not None:
        opts["prevMillis"] = due
    packed = _serde.pack(opts)
    for attempt in range(SCHEDULE_RETRIES):
        try:
            await ctx.run("updateJobScheduler", key, "" if due is None else due, packed, now, job.id)
            return
        except (rexc.ConnectionError, rexc.TimeoutError):
            if attempt == SCHEDULE_RETRIES - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
