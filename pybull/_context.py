"""What every queue-facing object shares: the queue's key names and a checked connection."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pybull._connection import RedisConnection
from pybull._lua import Scripts
from pybull.keys import QueueKeys


def now_ms() -> int:
    """Client clock in ms: BullMQ passes client time into scripts, so ordering matches Node's."""
    return int(time.time() * 1000)


@dataclass
class QueueContext:
    keys: QueueKeys
    connection: RedisConnection

    @property
    def scripts(self) -> Scripts:
        return self.connection.scripts

    async def run(self, script: str, *args: str | bytes | int | float) -> object:
        """Run a state-changing script with the queue's standard KEYS and the base key as ARGV[1]."""
        await self.connection.ensure_ready()
        return await self.scripts.call(script, self.keys.all, (self.keys.base, *args))
