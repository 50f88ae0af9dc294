"""The worker's two timers: lock renewal and the stalled-job check (wire-format 8.4, 8.7).

Both are one script call per tick whatever the number of jobs: renewal sends every active job's id
and token in one ``extendLocks`` call every ``lock_renew_time`` ms (lock_duration / 2 by default),
the stalled check one ``moveStalledJobsToWait`` call every ``stalled_interval`` ms. A connection
error skips a tick (retried sooner) and is logged at most once per second: when Redis is gone
nothing here can help, and the stalled check recovers whatever the outage cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import redis.exceptions as rexc

from pybull._worker_ops import extend_locks, move_stalled_jobs_to_wait

log = logging.getLogger("pybull")

#: What a dropped connection or a restarting server raises.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (rexc.ConnectionError, rexc.TimeoutError, OSError)


class ErrorThrottle:
    """At most one log line per ``every`` seconds for a recurring failure (a server that is down)."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._last = 0.0
        self.suppressed = 0

    def log(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            if self.suppressed:
                message += f" ({self.suppressed} similar errors suppressed)"
            log.warning(message, *args)
            self._last = now
            self.suppressed = 0
        else:
            self.suppressed += 1


class Backoff:
    """Growing pause between attempts while the server does not answer (0.05 s doubling to ``cap``)."""

    def __init__(self, first: float = 0.05, cap: float = 1.0) -> None:
        self.first = first
        self.cap = cap
        self.current = first

    def reset(self) -> None:
        self.current = self.first

    async def sleep(self) -> None:
        await asyncio.sleep(self.current)
        self.current = min(self.current * 2, self.cap)


class PeriodicTask:
    """Run ``tick`` every ``interval`` seconds on its own task until stopped; errors never escape."""

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], Coroutine[Any, Any, None]],
        *,
        throttle: ErrorThrottle,
        on_error: Callable[[BaseException], None],
        run_first: bool = False,
    ) -> None:
        self.name = name
        self.interval = interval
        self._tick = tick
        self._throttle = throttle
        self._on_error = on_error
        self._run_first = run_first
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"pybull-{self.name}")

    async def _loop(self) -> None:
        delay = 0.0 if self._run_first else self.interval
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return
            delay = self.interval
            try:
                await self._tick()
            except CONNECTION_ERRORS as exc:
                self._throttle.log("pybull %s: Redis unreachable (%s); retrying", self.name, exc)
                delay = min(self.interval, 0.5)
            except Exception as exc:
                log.exception("pybull %s failed", self.name)
                self._on_error(exc)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            with contextlib.suppress(asyncio.CancelledError):
                await task


class LockKeeper:
    """Renews the locks of every job the worker holds, in one script call per tick."""

    def __init__(
        self,
        ctx: Any,
        held: Callable[[], tuple[list[str], list[str]]],
        *,
        lock_duration: int,
        on_lost: Callable[[list[str]], None],
    ) -> None:
        self._ctx = ctx
        self._held = held
        self._lock_duration = lock_duration
        self._on_lost = on_lost

    async def renew(self) -> None:
        ids, tokens = self._held()
        if not ids:
            return
        lost = await extend_locks(self._ctx, ids, tokens, self._lock_duration)
        if lost:
            self._on_lost(lost)


class StalledChecker:
    """Recovers jobs whose worker died (lock expired) and reports them (``stalled`` events)."""

    def __init__(
        self, ctx: Any, *, max_stalled_count: int, interval: int, on_stalled: Callable[[str], None]
    ) -> None:
        self._ctx = ctx
        self._max_stalled_count = max_stalled_count
        self._interval = interval
        self._on_stalled = on_stalled

    async def check(self) -> list[str]:
        recovered = await move_stalled_jobs_to_wait(self._ctx, self._max_stalled_count, self._interval)
        for job_id in recovered:
            self._on_stalled(job_id)
        return recovered

    async def tick(self) -> None:
        await self.check()
