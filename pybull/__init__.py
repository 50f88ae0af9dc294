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
from pybull.events import QueueEvents
from pybull.job import Job
from pybull.options import BackoffOptions, DeduplicationOptions, JobOptions, KeepJobs
from pybull.queue import Queue
from pybull.worker import Worker

__version__ = "0.1.0"

__all__ = [
    "BackoffOptions",
    "ConnectionError",
    "DeduplicationOptions",
    "DelayedError",
    "Job",
    "JobFailedError",
    "JobNotFoundError",
    "JobOptions",
    "KeepJobs",
    "LockMismatchError",
    "LockMissingError",
    "PybullError",
    "Queue",
    "QueueEvents",
    "RateLimitError",
    "ScriptError",
    "UnrecoverableError",
    "ValidationError",
    "WaitingChildrenError",
    "Worker",
    "__version__",
]
