"""pybull's exceptions, in one tree so callers can catch as widely or narrowly as they need.

::

    PybullError
    ├── ValidationError            bad options, ids or data; raised before anything reaches Redis
    ├── ConnectionError            cannot reach or use the server (message says what to fix)
    │   └── ServerVersionError     the server is older than pybull supports
    ├── ScriptError                a Lua script failed; carries ``script`` and ``code``
    │   ├── JobNotFoundError       -1  the job hash does not exist
    │   ├── LockMissingError       -2  the job's lock is gone (lock expired: the job may run twice)
    │   ├── JobNotInStateError     -3  the job is not in the state the operation needs
    │   ├── PendingChildrenError   -4  completing a parent with pending children
    │   ├── ParentNotFoundError    -5  the parent job does not exist
    │   ├── LockMismatchError      -6  another worker owns the job's lock
    │   ├── ParentCannotBeReplacedError -7
    │   ├── SchedulerJobError      -8  the job is the current iteration of a job scheduler
    │   ├── FailedChildrenError    -9  a child failed with failParentOnFailure
    │   ├── SchedulerIdCollisionError -10
    │   └── SchedulerSlotsBusyError   -11
    ├── QueueNotPausedError        obliterate needs a paused queue
    ├── QueueHasActiveJobsError    obliterate without force found active jobs
    ├── JobFailedError             wait_until_finished: the job failed (message = failedReason)
    └── processor signals (raise them from a processor):
        ├── UnrecoverableError     fail now, no more attempts
        ├── DelayedError           the processor moved the job to delayed itself
        ├── WaitingChildrenError   the processor moved the job to waiting-children itself
        └── RateLimitError         push the job back and stop fetching while the limiter runs

The numeric codes are BullMQ's (wire-format section 20): our Lua returns the same numbers so a code
means the same thing whichever client reports it.
"""

from __future__ import annotations

import builtins


class PybullError(Exception):
    """Root of every error pybull raises on purpose."""


class ValidationError(PybullError, ValueError):
    """Options, ids or data that BullMQ would refuse; nothing was written to Redis."""


class ConnectionError(PybullError, builtins.ConnectionError):
    """The server cannot be reached or used; the message says what to fix."""


class ServerVersionError(ConnectionError):
    """The server is older than the oldest version pybull's scripts support."""


class ScriptError(PybullError):
    """A Lua script refused the operation; ``code`` is BullMQ's error code when there is one."""

    code: int = 0

    def __init__(self, message: str, *, script: str = "", code: int | None = None, job_id: str = "") -> None:
        super().__init__(message)
        self.script = script
        self.job_id = job_id
        if code is not None:
            self.code = code


class JobNotFoundError(ScriptError):
    code = -1


class LockMissingError(ScriptError):
    code = -2


class JobNotInStateError(ScriptError):
    code = -3


class PendingChildrenError(ScriptError):
    code = -4


class ParentNotFoundError(ScriptError):
    code = -5


class LockMismatchError(ScriptError):
    code = -6


class ParentCannotBeReplacedError(ScriptError):
    code = -7


class SchedulerJobError(ScriptError):
    code = -8


class FailedChildrenError(ScriptError):
    code = -9


class SchedulerIdCollisionError(ScriptError):
    code = -10


class SchedulerSlotsBusyError(ScriptError):
    code = -11


#: Lua return code -> exception class. tests/test_errors.py checks every ``return -N`` in lua/ is here.
ERROR_CODES: dict[int, type[ScriptError]] = {
    cls.code: cls
    for cls in (
        JobNotFoundError,
        LockMissingError,
        JobNotInStateError,
        PendingChildrenError,
        ParentNotFoundError,
        LockMismatchError,
        ParentCannotBeReplacedError,
        SchedulerJobError,
        FailedChildrenError,
        SchedulerIdCollisionError,
        SchedulerSlotsBusyError,
    )
}

_MESSAGES: dict[int, str] = {
    -1: "Missing key for job {job}",
    -2: "Missing lock for job {job}",
    -3: "Job {job} is not in the {state} state",
    -4: "Job {job} has pending dependencies",
    -5: "Missing key for parent job of {job}",
    -6: "Lock mismatch for job {job}",
    -7: "The parent job of {job} cannot be replaced",
    -8: "Job {job} belongs to a job scheduler and cannot be removed directly",
    -9: "Job {job} has failed children",
    -10: "Cannot create job scheduler iteration {job}: id already used",
    -11: "Cannot create job scheduler iteration {job}: slots busy",
}


def error_for_code(code: int, *, script: str, job_id: str = "", state: str = "expected") -> ScriptError:
    """Turn a negative script result into the typed exception (messages match BullMQ's wording)."""
    cls = ERROR_CODES.get(code, ScriptError)
    template = _MESSAGES.get(code, "Script returned error code {code}")
    message = template.format(job=job_id, state=state, code=code) + f" ({script})"
    return cls(message, script=script, code=code, job_id=job_id)


class QueueNotPausedError(PybullError):
    """Obliterate refuses a queue that is not paused (it would race with producers)."""


class QueueHasActiveJobsError(PybullError):
    """Obliterate without ``force`` found active jobs."""


class JobFailedError(PybullError):
    """The awaited job failed; the message is its ``failedReason``."""

    def __init__(self, job_id: str, failed_reason: str) -> None:
        super().__init__(failed_reason)
        self.job_id = job_id
        self.failed_reason = failed_reason


class UnrecoverableError(PybullError):
    """Raise from a processor to fail the job at once, whatever attempts remain."""


class DelayedError(PybullError):
    """Raise after ``job.move_to_delayed``: the job has been moved, the worker only fetches the next."""


class WaitingChildrenError(PybullError):
    """Raise after ``job.move_to_waiting_children``: the job has been moved already."""


class RateLimitError(PybullError):
    """Raise (usually after ``worker.rate_limit(ms)``) to put the job back and wait out the limiter."""

    def __init__(self, message: str = "bullmq:rateLimitExceeded") -> None:
        super().__init__(message)
