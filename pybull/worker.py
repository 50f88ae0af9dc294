"""Worker: fetch jobs, run the processor, finish them, with BullMQ 6.7's guarantees.

The life of a job here (wire-format 8): ``moveToActive`` hands the worker up to N jobs at once,
each with its own lock token ``<worker uuid>:<n>``; the processor runs (``async def`` on the loop,
plain ``def`` in a thread pool); finishes that complete in the same loop tick go to Redis together
in one ``moveToFinished`` call, which also fetches the jobs for the slots they free. Failures are
decided here (retry, backoff, give up) and applied by their own scripts. One ``extendLocks`` call
renews every held lock; every worker runs the stalled check.

Delivery is at least once: a job runs again only when its worker lost the lock (crashed, blocked
the loop longer than ``lock_duration``, or lost Redis for that long). A processor that hangs is
bounded only by its lock: the job stays active while this worker keeps renewing, unless the
worker's ``timeout`` (or the job's ``opts.timeout`` in ms) fails it first. A thread running a
plain ``def`` processor cannot be stopped; on timeout the job fails and the thread runs on.

Connections heal by themselves: every blocking read is bounded, every failed call is retried with
a growing pause (at most one log line per second), and a script whose reply was lost is never sent
again blindly: the worker reads back what happened (``_recovery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pybull import _serde
from pybull._connection import ConnectionLike, RedisConnection
from pybull._context import QueueContext, now_ms
from pybull._emitter import EventEmitter
from pybull._jobflow import KEEP_ALL, KeepRule, rule_from_option
from pybull._locks import CONNECTION_ERRORS, Backoff, ErrorThrottle, LockKeeper, PeriodicTask, StalledChecker
from pybull._processing import Processing
from pybull.errors import PybullError, ValidationError
from pybull.job import Job
from pybull.keys import DEFAULT_PREFIX, QueueKeys
from pybull.options import keep_jobs_rule

log = logging.getLogger("pybull")

Processor = Callable[[Job], Any]


def _positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _setting(mapping: dict[str, Any] | None, *names: str) -> Any:
    for name in names:
        if mapping and name in mapping:
            return mapping[name]
    return None


class Worker(EventEmitter):
    """Processes the jobs of one queue.

    Events (``worker.on(name, callback)``; callbacks may be ``async``): ``active(job, prev)``,
    ``progress(job, progress)``, ``completed(job, result, prev)``, ``failed(job, error, prev)`` (every
    failed attempt, as Node's worker emits it), ``stalled(job_id, prev)``, ``drained()``,
    ``error(error)``, ``lock_renewal_failed(job_ids)``, ``paused()``, ``resumed()``, ``ready()``,
    ``closing()``, ``closed()``.
    """

    def __init__(
        self,
        queue_name: str,
        processor: Processor | None = None,
        *,
        connection: ConnectionLike = None,
        prefix: str = DEFAULT_PREFIX,
        name: str | None = None,
        concurrency: int = 1,
        lock_duration: int = 30000,
        lock_renew_time: int | None = None,
        stalled_interval: int = 30000,
        max_stalled_count: int = 1,
        skip_stalled_check: bool = False,
        skip_lock_renewal: bool = False,
        limiter: dict[str, int] | None = None,
        remove_on_complete: bool | int | dict[str, int] | None = None,
        remove_on_fail: bool | int | dict[str, int] | None = None,
        drain_delay: float = 5,
        metrics: dict[str, int] | None = None,
        settings: dict[str, Any] | None = None,
        backoff_strategy: Callable[..., Any] | None = None,
        max_started_attempts: int | None = None,
        maximum_rate_limit_delay: int = 30000,
        timeout: float | None = None,
        autorun: bool = True,
    ) -> None:
        super().__init__()
        self.keys = QueueKeys(queue_name, prefix)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        for opt, val in (("lock_duration", lock_duration), ("stalled_interval", stalled_interval)):
            _positive(opt, val)
        _positive("lock_renew_time", lock_renew_time)
        _positive("drain_delay", drain_delay)
        _positive("timeout", timeout)
        _positive("max_stalled_count", max_stalled_count, allow_zero=True)
        _positive("max_started_attempts", max_started_attempts, allow_zero=True)
        if limiter is not None:
            if not isinstance(limiter, dict) or "max" not in limiter or "duration" not in limiter:
                raise ValidationError("limiter must be {'max': jobs, 'duration': ms}")
            _positive("limiter max", limiter["max"])
            _positive("limiter duration", limiter["duration"])
        if processor is not None and not callable(processor):
            raise ValidationError("processor must be callable (async def or def taking the job)")
        self.name = queue_name
        self.worker_name = name
        self.id = str(uuid.uuid4())
        self.concurrency = concurrency
        self.lock_duration = int(lock_duration)
        self.lock_renew_time = int(lock_renew_time or lock_duration / 2)
        self.stalled_interval = int(stalled_interval)
        self.max_stalled_count = int(max_stalled_count)
        self.skip_stalled_check = skip_stalled_check
        self.skip_lock_renewal = skip_lock_renewal
        self.limiter = dict(limiter) if limiter else None
        self.drain_delay = float(drain_delay)
        self.maximum_rate_limit_delay = int(maximum_rate_limit_delay)
        self.max_started_attempts = max_started_attempts
        self.timeout = timeout
        self.backoff_strategy = backoff_strategy or _setting(settings, "backoff_strategy", "backoffStrategy")
        points = _setting(metrics, "max_data_points", "maxDataPoints")
        if metrics is not None:
            _positive("metrics max_data_points", points)
        self.metric_points: int | None = int(points) if points else None
        for _opt, value in (("remove_on_complete", remove_on_complete), ("remove_on_fail", remove_on_fail)):
            if value is not None:
                keep_jobs_rule(value)  # raises ValidationError on a bad value
        self.keep_completed: KeepRule = (
            rule_from_option(remove_on_complete) if remove_on_complete is not None else KEEP_ALL
        )
        self.keep_failed: KeepRule = (
            rule_from_option(remove_on_fail) if remove_on_fail is not None else KEEP_ALL
        )

        self.connection = RedisConnection(connection)
        self.ctx = QueueContext(self.keys, self.connection)
        self.processor = processor
        self._executor: ThreadPoolExecutor | None = None
        if processor is not None and not _is_async(processor):
            self._executor = ThreadPoolExecutor(
                max_workers=concurrency, thread_name_prefix=f"pybull-{queue_name}"
            )
        self.throttle = ErrorThrottle()
        self._running = False
        self._closing = False
        self._paused = False
        self._closed = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._core: Processing | None = None
        if autorun and _loop_running():
            self._run_task = asyncio.get_running_loop().create_task(
                self._autorun(), name=f"pybull-worker-{queue_name}"
            )

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def started(self) -> bool:
        """True once run() was called or scheduled by ``autorun`` (even before it began fetching)."""
        return self._running or self._run_task is not None

    @property
    def closing(self) -> bool:
        return self._closing

    def is_paused(self) -> bool:
        return self._paused

    async def _autorun(self) -> None:
        try:
            await self.run()
        except Exception as exc:
            log.exception("pybull worker for %s stopped", self.name)
            self.emit("error", exc)

    async def run(self) -> None:
        """Process jobs until :meth:`close`; returns once closed."""
        if self._running:
            raise PybullError("Worker is already running.")
        if self.processor is None:
            raise ValidationError("cannot run a worker without a processor")
        self._running = True
        try:
            if self._closing:
                return
            await self._wait_for_server()
            core = Processing(self)
            self._core = core
            keeper = LockKeeper(
                self.ctx, core.held_locks, lock_duration=self.lock_duration, on_lost=core.locks_lost
            )
            stalled = StalledChecker(
                self.ctx,
                max_stalled_count=self.max_stalled_count,
                interval=self.stalled_interval,
                on_stalled=self._stalled_event,
            )
            self._stalled = stalled
            timers = []
            if not self.skip_lock_renewal:
                timers.append(
                    PeriodicTask("lock renewal", self.lock_renew_time / 1000, keeper.renew,
                                 throttle=self.throttle, on_error=self._report)
                )  # fmt: skip
            if not self.skip_stalled_check:
                timers.append(
                    PeriodicTask("stalled check", self.stalled_interval / 1000, stalled.tick,
                                 throttle=self.throttle, on_error=self._report, run_first=True)
                )  # fmt: skip
            await core.open()
            for timer in timers:
                timer.start()
            self.emit("ready")
            try:
                await core.run()
            finally:
                for timer in timers:
                    await timer.stop()
                await core.shut()
        finally:
            self._running = False
            await self._release_resources()
            self.emit("closed")
            self._closed.set()

    async def _wait_for_server(self) -> None:
        """First contact: a wrong URL or password fails at once; a server not up yet is waited for."""
        backoff = Backoff()
        while not self._closing:
            try:
                await self.connection.ensure_ready()
                return
            except PybullError as exc:
                if not isinstance(exc.__cause__, CONNECTION_ERRORS) or "credentials" in str(exc):
                    raise
                self.throttle.log("pybull worker %s: %s", self.name, exc)
                await backoff.sleep()

    async def _release_resources(self) -> None:
        with contextlib.suppress(Exception):
            await self.connection.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def close(self, force: bool = False) -> None:
        """Stop fetching and wait for the active jobs to finish (``force``: abandon them to the stalled
        check). Idempotent; safe to call from a signal handler's scheduled callback."""
        first = not self._closing
        self._closing = True
        if first:
            self.emit("closing")
        if self._core is not None:
            self._core.closing(force=force)
            if self._core.called_from_job():
                return  # a processor closing its own worker must not wait for itself
        if self._running or (self._run_task is not None and not self._run_task.done()):
            await self._closed.wait()
        elif not self._closed.is_set():
            await self._release_resources()
            self._closed.set()
            self.emit("closed")

    async def wait_until_closed(self) -> None:
        if self._running or self._run_task is not None:
            await self._closed.wait()

    async def pause(self, do_not_wait_active: bool = False) -> None:
        """Stop fetching (this worker only); wait for the active jobs unless ``do_not_wait_active``."""
        if not self._paused:
            self._paused = True
            if self._core is not None:
                self._core.paused_changed()
            self.emit("paused")
        if not do_not_wait_active and self._core is not None:
            await self._core.wait_for_active()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self._core is not None:
                self._core.paused_changed()
            self.emit("resumed")

    async def rate_limit(self, expire_ms: int) -> None:
        """Stop every worker of the queue from fetching for ``expire_ms`` (BullMQ ``rateLimit``).

        Raise :class:`pybull.RateLimitError` from the processor afterwards to put the current job back.
        """
        _positive("expire_ms", expire_ms, allow_zero=True)
        await self.connection.ensure_ready()
        await self.connection.client.set(self.keys.limiter, 9007199254740991, px=max(int(expire_ms), 1))
        if self._core is not None:
            self._core.limit_until = max(self._core.limit_until, now_ms() + int(expire_ms))

    async def check_stalled(self) -> list[str]:
        """Run the stalled-job check now (throttled by ``stalled-check`` like every worker's timer)."""
        await self.connection.ensure_ready()
        checker = StalledChecker(
            self.ctx,
            max_stalled_count=self.max_stalled_count,
            interval=self.stalled_interval,
            on_stalled=self._stalled_event,
        )
        return await checker.check()

    async def run_until_drained(self, *, include_delayed: bool = True) -> int:
        """Run until nothing is left to do, then close; returns how many jobs finished meanwhile.

        "Nothing left" = this worker holds no job (nor is fetching one) and the queue has nothing
        waiting or prioritized (nor delayed, unless ``include_delayed=False``). Jobs other workers
        hold do not count. For tests and scripts.
        """
        # Jobs finished before this call count only if the worker was already processing then;
        # an autorun worker may finish its first jobs while we wait for it to start.
        baseline = self._core.finished_count if self._core is not None else 0
        if not self._running and (self._run_task is None or self._run_task.done()):
            self._run_task = asyncio.get_running_loop().create_task(self.run())
        while self._core is None:
            if self._run_task is not None and self._run_task.done():
                await self._run_task
                return 0
            await asyncio.sleep(0.005)
        core = self._core
        while not self._closing:
            await core.wait_idle()
            if await self._queue_is_empty(include_delayed) and core.is_idle():
                break
            core.clear_idle()
        count = core.finished_count - baseline
        await self.close()
        return count

    async def _queue_is_empty(self, include_delayed: bool) -> bool:
        client = self.connection.client
        async with client.pipeline(transaction=False) as pipe:
            pipe.llen(self.keys.wait)
            pipe.zcard(self.keys.prioritized)
            pipe.zcard(self.keys.delayed)
            waiting, prioritized, delayed = await pipe.execute()
        return not waiting and not prioritized and (not include_delayed or not delayed)

    def _stalled_event(self, job_id: str) -> None:
        self.emit("stalled", job_id, "active")

    def _report(self, exc: BaseException) -> None:
        self.emit("error", exc)

    def connection_name(self) -> str:
        return self.keys.connection_name(self.worker_name)

    def fetch_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"lockDuration": self.lock_duration, "token": self.id}
        if self.limiter:
            opts["limiter"] = {"max": self.limiter["max"], "duration": self.limiter["duration"]}
        if self.worker_name:
            opts["name"] = self.worker_name
        if self.metric_points:
            opts["metrics"] = self.metric_points
        return opts

    def dumps_result(self, result: Any) -> str:
        return _serde.dumps(result, what="processor result")

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)
