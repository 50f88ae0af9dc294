"""Client-side decisions BullMQ makes in the worker process, kept pure so they are easy to test.

Retry or not, with which delay (wire-format 8.6, 9); which retention rule a finished job gets
(8.5, the job's option overrides the worker's); what ``failedReason`` and ``stacktrace`` hold.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from pybull import backoff as backoffs
from pybull.errors import (
    DelayedError,
    RateLimitError,
    UnrecoverableError,
    ValidationError,
    WaitingChildrenError,
)
from pybull.options import keep_jobs_rule

if TYPE_CHECKING:
    from pybull.job import Job

RATE_LIMIT_MESSAGE = "bullmq:rateLimitExceeded"
#: Errors that mean "the processor already moved the job": matched by class or by name, as Node does.
_MOVED_BY_PROCESSOR = ("DelayedError", "WaitingError", "WaitingChildrenError")

KeepRule = tuple[int | None, float | None, int | None]
KEEP_ALL: KeepRule = (-1, None, None)


def keep_rule(job_value: Any, worker_rule: KeepRule) -> KeepRule:
    """``(count, age, limit)`` for the finish script; the job's own option wins over the worker's."""
    if job_value is None:
        return worker_rule
    return rule_from_option(job_value)


def rule_from_option(value: Any) -> KeepRule:
    if value is None:
        return KEEP_ALL
    try:
        rule = keep_jobs_rule(value)
    except ValidationError:
        return KEEP_ALL  # a value another client stored that we cannot read: keep the job
    count = rule.get("count")
    return (
        None if count is None else int(count),
        rule.get("age"),
        None if rule.get("limit") is None else int(rule["limit"]),
    )


def is_rate_limit(exc: BaseException) -> bool:
    return isinstance(exc, RateLimitError) or str(exc) == RATE_LIMIT_MESSAGE


def moved_by_processor(exc: BaseException) -> bool:
    return isinstance(exc, DelayedError | WaitingChildrenError) or type(exc).__name__ in _MOVED_BY_PROCESSOR


def is_unrecoverable(exc: BaseException) -> bool:
    return isinstance(exc, UnrecoverableError) or type(exc).__name__ == "UnrecoverableError"


def failure_message(exc: BaseException) -> str:
    """``failedReason``: the error's message (plain text), or its class name when it has none."""
    return str(exc) or type(exc).__name__


def add_stacktrace(job: Job, exc: BaseException) -> list[str]:
    """Append this failure's traceback, trimmed to ``opts.stackTraceLimit`` (0 keeps none)."""
    trace = "".join(traceback.format_exception(exc)).rstrip("\n")
    stack = [*job.stacktrace, trace]
    limit = job.opts.get("stackTraceLimit")
    if limit == 0:
        stack = []
    elif isinstance(limit, int) and limit > 0:
        stack = stack[-limit:]
    job.stacktrace = stack
    return stack


async def retry_delay(
    job: Job,
    exc: BaseException,
    *,
    max_started_attempts: int | None,
    strategy: backoffs.BackoffStrategy | None,
) -> int | None:
    """Delay (ms, 0 = at once) before the next attempt, or None when the job must fail for good."""
    attempts = job.opts.get("attempts") or 0
    if is_unrecoverable(exc) or job.attempts_made + 1 >= attempts:
        return None
    if max_started_attempts and max_started_attempts <= job.attempts_started:
        return None
    delay = await backoffs.calculate(job.opts.get("backoff"), job.attempts_made + 1, exc, job, strategy)
    if delay is None:
        return 0
    if delay == -1:
        return None
    return max(int(delay), 0)


def refusal_reason(job: Job, max_started_attempts: int | None) -> str | None:
    """Why a fetched job must fail without running (deferred failure, corrupt data, too many starts)."""
    if job.deferred_failure:
        return job.deferred_failure
    if job.decode_error:
        return f"job {job.id} cannot be decoded: {job.decode_error}"
    if max_started_attempts and max_started_attempts < job.attempts_started:
        return "job started more than allowable limit"
    return None
