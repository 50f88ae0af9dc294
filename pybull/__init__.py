"""pybull: a BullMQ-compatible Redis job queue for Python."""

from pybull.errors import (
    ConnectionError,
    DelayedError,
    JobFailedError,
    JobNotFoundError,
    LockMismatchError,
    LockMissingError,
    PybullError,
    RateLimitError,
    ScriptError,
    UnrecoverableError,
    ValidationError,
    WaitingChildrenError,
)
from pybull.job import Job

__version__ = "0.1.0"

__all__ = [
    "ConnectionError",
    "DelayedError",
    "Job",
    "JobFailedError",
    "JobNotFoundError",
    "LockMismatchError",
    "LockMissingError",
    "PybullError",
    "RateLimitError",
    "ScriptError",
    "UnrecoverableError",
    "ValidationError",
    "WaitingChildrenError",
    "__version__",
]
