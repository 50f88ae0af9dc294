"""The one place that spells BullMQ's key names.

Every queue key is ``<prefix>:<queue>:<suffix>`` and every job key ``<prefix>:<queue>:<job id>``
(wire-format section 2). Node BullMQ 6.7 builds the same strings, so a key spelled here is the key a
Node worker, producer or Bull Board reads. Braces in the prefix or the queue name (Redis Cluster hash
tags) are kept verbatim: escaping them would move the keys away from where Node looks.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from pybull.errors import ValidationError

DEFAULT_PREFIX = "bull"

#: Suffixes of the queue-level keys (wire-format 2.2), in the order scripts usually take them.
QUEUE_KEY_SUFFIXES: tuple[str, ...] = (
    "wait",
    "paused",
    "meta",
    "id",
    "active",
    "prioritized",
    "pc",
    "delayed",
    "waiting-children",
    "completed",
    "failed",
    "marker",
    "stalled",
    "stalled-check",
    "limiter",
    "events",
    "repeat",
    "metrics:completed",
    "metrics:failed",
)


def validate_queue_name(name: str) -> None:
    """Reject names Node BullMQ refuses, so that a queue pybull creates is one Node can open."""
    if not name:
        raise ValidationError("queue name must not be empty")
    if ":" in name:
        raise ValidationError(f"queue name {name!r} must not contain ':' (BullMQ splits keys on it)")


@dataclass(frozen=True)
class QueueKeys:
    """Key names of one queue; immutable so it can be shared by every object that uses the queue."""

    name: str
    prefix: str = DEFAULT_PREFIX
    base: str = field(init=False)

    def __post_init__(self) -> None:
        validate_queue_name(self.name)
        if not self.prefix:
            raise ValidationError("prefix must not be empty")
        object.__setattr__(self, "base", f"{self.prefix}:{self.name}:")

    @property
    def qualified_name(self) -> str:
        """``<prefix>:<queue>``, how flow parents name a queue (``parent.queue`` in opts)."""
        return f"{self.prefix}:{self.name}"

    @property
    def all(self) -> list[str]:
        """Every queue-level key, in the order ``lua/includes/queue_keys.lua`` expects them as KEYS."""
        return [self.base + suffix for suffix in QUEUE_KEY_SUFFIXES]

    def key(self, suffix: str) -> str:
        return self.base + suffix

    def job(self, job_id: str) -> str:
        return self.base + job_id

    def lock(self, job_id: str) -> str:
        return f"{self.base}{job_id}:lock"

    def logs(self, job_id: str) -> str:
        return f"{self.base}{job_id}:logs"

    def dedup(self, dedup_id: str) -> str:
        return f"{self.base}de:{dedup_id}"

    # Attribute access for the common keys keeps call sites short and greppable.
    @property
    def wait(self) -> str:
        return self.base + "wait"

    @property
    def paused(self) -> str:
        return self.base + "paused"

    @property
    def meta(self) -> str:
        return self.base + "meta"

    @property
    def id(self) -> str:
        return self.base + "id"

    @property
    def active(self) -> str:
        return self.base + "active"

    @property
    def prioritized(self) -> str:
        return self.base + "prioritized"

    @property
    def pc(self) -> str:
        return self.base + "pc"

    @property
    def delayed(self) -> str:
        return self.base + "delayed"

    @property
    def waiting_children(self) -> str:
        return self.base + "waiting-children"

    @property
    def completed(self) -> str:
        return self.base + "completed"

    @property
    def failed(self) -> str:
        return self.base + "failed"

    @property
    def marker(self) -> str:
        return self.base + "marker"

    @property
    def stalled(self) -> str:
        return self.base + "stalled"

    @property
    def stalled_check(self) -> str:
        return self.base + "stalled-check"

    @property
    def limiter(self) -> str:
        return self.base + "limiter"

    @property
    def events(self) -> str:
        return self.base + "events"

    @property
    def repeat(self) -> str:
        return self.base + "repeat"

    def metrics(self, kind: str) -> str:
        """``metrics:completed`` or ``metrics:failed`` (a hash; its data points live at ``...:data``)."""
        return f"{self.base}metrics:{kind}"

    def state_key(self, state: str) -> str:
        """Key holding jobs of a BullMQ state name (``waiting`` lives in ``wait``)."""
        return self.base + ("wait" if state == "waiting" else state)

    def connection_name(self, worker_name: str | None = None, *, kind: str = "worker") -> str:
        """CLIENT SETNAME value Node's ``getWorkers`` and Bull Board look for (wire-format 8.2)."""
        encoded = base64.b64encode(self.name.encode()).decode()
        head = f"{self.prefix}:{encoded}"
        if kind == "events":
            return f"{head}:qe"
        return f"{head}:w:{worker_name}" if worker_name else head
