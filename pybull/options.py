"""Job options: validated in Python, stored exactly as Node BullMQ 6.7 stores them (wire-format 3.2).

Node validates options in its client, and its Lua trusts them; a pybull job therefore has to pass the
same checks *before* it reaches Redis, or a Node worker may choke on it later. Every model here takes
snake_case names and BullMQ's camelCase aliases (``remove_on_complete`` or ``removeOnComplete``),
refuses unknown keys (a typo must not be silently ignored) and renders the ``opts`` dict that the
add script stores with ``cjson.encode`` (abbreviated keys ``de``/``kl``/``fpof``..., ``attempts: 0``
added when absent, a numeric backoff normalised to ``{"type": "fixed", "delay": n}``).

The add hot path avoids pydantic when a job has no options at all; see :func:`stored_job_opts`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from pybull import _serde
from pybull.errors import ValidationError

#: Highest priority BullMQ accepts (2^21 - 1); lower numbers run first, 0 means "no priority".
PRIORITY_LIMIT = 2_097_151

_BUILTIN_BACKOFFS = ("fixed", "exponential")


def _integral(value: Any) -> Any:
    """Accept ``5.0`` where an integer is expected (JavaScript has one number type); keep the rest."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_integral)]
NonNegInt = Annotated[int, BeforeValidator(_integral), Field(ge=0)]


class _Options(BaseModel):
    """Shared config: strict types, forbid unknown keys, snake_case names with camelCase aliases."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=True,
        alias_generator=to_camel,
        frozen=True,
    )

    def stored(self) -> dict[str, Any]:
        """The fields that were set, under their BullMQ (camelCase) names."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)


class BackoffOptions(_Options):
    """``{type, delay?, jitter?}``; types other than fixed/exponential go to the worker's strategy."""

    type: str = Field(min_length=1)
    delay: NonNegInt | None = None
    jitter: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _builtin_needs_delay(self) -> BackoffOptions:
        if self.type in _BUILTIN_BACKOFFS and self.delay is None:
            raise ValueError(f"{self.type} backoff needs a delay (ms)")
        return self


class KeepJobs(_Options):
    """Retention of finished jobs: ``age`` in seconds, ``count`` newest kept, ``limit`` deletions per call."""

    age: NonNegInt | None = None
    count: Int | None = None
    limit: NonNegInt | None = None


class DeduplicationOptions(_Options):
    """Stored as ``opts.de``; the key ``P:Q:de:<id>`` names the job that owns the id (wire-format 13)."""

    id: str = Field(min_length=1)
    ttl: NonNegInt | None = None
    extend: bool | None = None
    replace: bool | None = None
    reschedule: bool | None = None
    keep_last_if_active: bool | None = None


class ParentOptions(_Options):
    """``{id, queue}`` where ``queue`` is the parent's qualified name ``<prefix>:<queue>``."""

    id: str = Field(min_length=1)
    queue: str = Field(min_length=1)


class TelemetryOptions(_Options):
    metadata: str | None = None
    omit_context: bool | None = None


KeepJobsValue = bool | Int | KeepJobs


class JobOptions(_Options):
    """Options of one job, as ``Queue.add`` takes them (snake_case) or as BullMQ spells them."""

    job_id: str | None = None
    timestamp: NonNegInt | None = None
    delay: NonNegInt | None = None
    priority: Annotated[int, BeforeValidator(_integral), Field(ge=0, le=PRIORITY_LIMIT)] | None = None
    attempts: Annotated[int, BeforeValidator(_integral), Field(ge=1)] | None = None
    backoff: NonNegInt | BackoffOptions | None = None
    lifo: bool | None = None
    remove_on_complete: KeepJobsValue | None = None
    remove_on_fail: KeepJobsValue | None = None
    keep_logs: NonNegInt | None = None
    stack_trace_limit: NonNegInt | None = None
    size_limit: Annotated[int, BeforeValidator(_integral), Field(ge=1)] | None = None
    parent: ParentOptions | None = None
    fail_parent_on_failure: bool | None = None
    continue_parent_on_failure: bool | None = None
    ignore_dependency_on_failure: bool | None = None
    remove_dependency_on_failure: bool | None = None
    deduplication: DeduplicationOptions | None = None
    telemetry: TelemetryOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_removed_options(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            if "debounce" in data:
                raise ValueError("Debounce option has been removed. Use deduplication option instead")
            if "repeat" in data:
                raise ValueError("repeat was removed in BullMQ 6: use a job scheduler instead")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> JobOptions:
        policies = [
            name
            for name, on in (
                ("removeDependencyOnFailure", self.remove_dependency_on_failure),
                ("failParentOnFailure", self.fail_parent_on_failure),
                ("continueParentOnFailure", self.continue_parent_on_failure),
                ("ignoreDependencyOnFailure", self.ignore_dependency_on_failure),
            )
            if on
        ]
        if len(policies) > 1:
            raise ValueError(f"The following options cannot be used together: {', '.join(policies)}")
        if self.deduplication is not None and self.parent is not None:
            raise ValueError("Deduplication and parent options cannot be used together")
        if self.job_id is not None:
            validate_job_id(self.job_id)
        return self

    def stored(self) -> dict[str, Any]:
        """The ``opts`` dict Node's ``Job`` would store for the same options (jobId included if set)."""
        out: dict[str, Any] = {}
        fields_set = self.model_fields_set
        for name in type(self).model_fields:
            if name not in fields_set:
                continue
            value = getattr(self, name)
            if value is None:
                continue
            key = _STORED_KEY.get(name)
            if key is None:
                if name == "telemetry":
                    if value.metadata is not None:
                        out["tm"] = value.metadata
                    if value.omit_context is not None:
                        out["omc"] = value.omit_context
                continue
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
            out[key] = value
        if isinstance(self.backoff, int):
            out["backoff"] = {"type": "fixed", "delay": self.backoff}
        out.setdefault("attempts", 0)
        return out


#: Options stored under an abbreviated key (wire-format 3.2), by field name.
_ABBREVIATED: dict[str, str] = {
    "deduplication": "de",
    "fail_parent_on_failure": "fpof",
    "continue_parent_on_failure": "cpof",
    "ignore_dependency_on_failure": "idof",
    "remove_dependency_on_failure": "rdof",
    "keep_logs": "kl",
}

#: Field name -> key in the stored opts (the abbreviations; the rest camelCase).
_STORED_KEY: dict[str, str] = {
    name: to_camel(name) for name in JobOptions.model_fields if name not in ("telemetry",)
} | _ABBREVIATED

#: Stored key -> public camelCase name, to read Node-stored opts back (Node's optsDecodeMap).
STORED_TO_PUBLIC: dict[str, str] = {short: to_camel(name) for name, short in _ABBREVIATED.items()}

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def _js_int_text(text: str) -> str | None:
    """``String(parseInt(text, 10))`` as JavaScript computes it (None for NaN)."""
    match = _LEADING_INT.match(text)
    if not match:
        return None
    number = int(match.group(1))
    if abs(number) < 2**53:
        return str(number)
    as_double = float(number)
    return str(int(as_double)) if abs(as_double) < 1e21 else None


def validate_job_id(job_id: Any) -> str:
    """Node's client-side id rules (wire-format 4.2), so every id pybull writes is valid for Node."""
    if not isinstance(job_id, str):
        raise ValidationError(
            f"Custom Id must be a string, got {type(job_id).__name__} (Custom Id cannot be integers)"
        )
    if job_id == "":
        raise ValidationError("Custom Id cannot be empty")
    if job_id == "0" or job_id.startswith("0:"):
        raise ValidationError("JobId cannot be '0' or start with '0:'")
    if _js_int_text(job_id) == job_id:
        raise ValidationError(f"Custom Id cannot be integers ({job_id!r})")
    if ":" in job_id and len(job_id.split(":")) != 3:
        raise ValidationError(f"Custom Id cannot contain : ({job_id!r})")
    return job_id


def _format_error(exc: PydanticValidationError, what: str) -> str:
    """One readable line; for unions (``backoff: int | {...}``) the type mismatches of the branch
    the user clearly did not mean are dropped when another branch has a real complaint."""
    entries: list[tuple[str, str, bool]] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if "[" not in str(p))
        msg = str(err["msg"]).removeprefix("Value error, ")
        entries.append((loc, msg, str(err["type"]).endswith("_type")))
    top_with_real_error = {loc.split(".")[0] for loc, _, is_type in entries if not is_type}
    parts: list[str] = []
    for loc, msg, is_type in entries:
        if is_type and loc.split(".")[0] in top_with_real_error:
            continue
        text = f"{loc}: {msg}" if loc else msg
        if text not in parts:
            parts.append(text)
    return f"invalid {what}: " + "; ".join(parts)


def parse_job_options(
    options: Mapping[str, Any] | JobOptions | None, *, what: str = "job options"
) -> JobOptions:
    """Validate user options (snake_case or camelCase); raises :class:`pybull.errors.ValidationError`."""
    if isinstance(options, JobOptions):
        return options
    try:
        return JobOptions.model_validate(options or {})
    except PydanticValidationError as exc:
        raise ValidationError(_format_error(exc, what)) from None


def merge_options(*layers: Mapping[str, Any] | JobOptions | None) -> dict[str, Any]:
    """Later layers win, key by key (Node's ``{...defaultJobOptions, ...opts}``), names normalised."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        if isinstance(layer, JobOptions):
            items: Mapping[str, Any] = {name: getattr(layer, name) for name in layer.model_fields_set}
        else:
            items = layer
        for key, value in items.items():
            merged[_FIELD_BY_NAME.get(key, key)] = value
    return merged


_FIELD_BY_NAME: dict[str, str] = {to_camel(name): name for name in JobOptions.model_fields} | {
    name: name for name in JobOptions.model_fields
}

#: The stored opts of a job added without options (Node's Job constructor adds ``attempts: 0``).
_EMPTY_STORED = {"attempts": 0}


def stored_job_opts(
    name: str, data: Any, options: Mapping[str, Any] | JobOptions | None
) -> tuple[str, dict[str, Any], JobOptions | None]:
    """Validate one job: returns (data JSON, stored opts, parsed options or None when there were none).

    This is the one check every add goes through, so a bad job raises before anything is sent.
    """
    data_json = _serde.dumps(data, what=f"data of job {name!r}")
    if not options:
        return data_json, dict(_EMPTY_STORED), None
    parsed = parse_job_options(options, what=f"options of job {name!r}")
    if parsed.size_limit is not None and len(data_json.encode()) > parsed.size_limit:
        raise ValidationError(f"The size of job {name} exceeds the limit {parsed.size_limit} bytes")
    return data_json, parsed.stored(), parsed


def keep_jobs_rule(value: Any, default: Any = None) -> dict[str, Any]:
    """Retention rule the finish script takes (wire-format 8.5): ``{"count": n}`` or ``{age, count, limit}``.

    ``value`` is a job's ``removeOnComplete``/``removeOnFail`` as stored (or given); ``default`` is the
    worker's option, used when the job has none. ``True`` deletes at once, ``False`` keeps everything.
    """
    if value is None:
        return keep_jobs_rule(default) if default is not None else {"count": -1}
    if isinstance(value, bool):
        return {"count": 0 if value else -1}
    if isinstance(value, int | float):
        return {"count": int(value)}
    if isinstance(value, KeepJobs):
        return value.stored()
    if isinstance(value, Mapping):
        try:
            return KeepJobs.model_validate(value).stored()
        except PydanticValidationError as exc:
            raise ValidationError(_format_error(exc, "keep-jobs option")) from None
    raise ValidationError(f"keep-jobs option must be a bool, an int or {{age, count, limit}}, got {value!r}")


def public_opts(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored opts with abbreviations expanded (what Node's ``Job.opts`` holds after ``fromJSON``)."""
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if key == "tm":
            out.setdefault("telemetry", {})["metadata"] = value
        elif key == "omc":
            out.setdefault("telemetry", {})["omitContext"] = value
        else:
            out[STORED_TO_PUBLIC.get(key, key)] = value
    return out


JobStateName = Literal[
    "completed", "failed", "delayed", "active", "waiting", "waiting-children", "prioritized", "unknown"
]

__all__ = [
    "PRIORITY_LIMIT",
    "BackoffOptions",
    "DeduplicationOptions",
    "JobOptions",
    "JobStateName",
    "KeepJobs",
    "ParentOptions",
    "TelemetryOptions",
    "keep_jobs_rule",
    "merge_options",
    "parse_job_options",
    "public_opts",
    "stored_job_opts",
    "validate_job_id",
]
