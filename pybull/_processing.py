"""The worker's engine: fetch loop, one task per job, batched finishing, recovery after lost replies.

Slots: ``concurrency - held jobs - reserved``, where *reserved* counts the jobs an in-flight fetch
may bring. Two places fetch: the fetch loop (when slots are free and the queue looked non-empty,
else it blocks on the marker with BZPOPMIN on its own connection) and the finish batch, whose
``moveToFinished`` call fetches for the slots it frees. Finishes are sent by the job tasks
themselves (``_flush``): up to ``MAX_IN_FLIGHT`` batches in flight, each on its own connection,
the next collecting meanwhile. All bookkeeping between one await and the next is synchronous, so
the slot count never overshoots, however many batches are out.

Lost replies: a state-changing script is never re-sent blindly. After a connection error the
worker waits for the server, then reads back: a job whose lock still holds our token was not
touched (send again); jobs a lost fetch activated are found by their lock tokens and adopted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from typing import TYPE_CHECKING, Any

from pybull import _serde
from pybull._context import now_ms
from pybull._jobflow import (
    add_stacktrace,
    failure_message,
    is_rate_limit,
    keep_rule,
    moved_by_processor,
    refusal_reason,
    retry_delay,
)
from pybull._locks import CONNECTION_ERRORS, Backoff
from pybull._lua import PackedScript
from pybull._worker_ops import bridge_to_loop, delay_retry, move_back_to_wait, retry_job
from pybull.errors import ScriptError, UnrecoverableError, error_for_code
from pybull.job import Job
from pybull.scheduler import schedule_next_iteration

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import Redis

    from pybull.worker import Worker

log = logging.getLogger("pybull")

pack = _serde.pack

# Finish batches out at once. One leaves the worker idle while Redis runs the batch and Redis idle
# while the worker handles the reply; two overlap the two. Each batch is independent (own jobs,
# own fetch reservation and token range), so recovery after a lost reply works per batch.
MAX_IN_FLIGHT = 2


class _Finish:
    """One job waiting to be sent in a moveToFinished batch."""

    __slots__ = ("entry", "error", "failed", "job", "result")

    def __init__(
        self, job: Job, entry: list[Any], failed: bool, result: Any, error: BaseException | None
    ) -> None:
        self.job = job
        self.entry = entry
        self.failed = failed
        self.result = result
        self.error = error


class Processing:
    def __init__(self, worker: Worker) -> None:
        self.w = worker
        self.ctx = worker.ctx
        self.keys = worker.keys
        self.scripts = worker.connection.scripts
        self.client = worker.connection.client
        self.keys_all = worker.keys.all
        self.base = worker.keys.base
        self.loop = asyncio.get_running_loop()
        self.fetch_opts = worker.fetch_options()
        self.jobs: dict[str, Job] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending: list[_Finish] = []
        self._handoff: Job | None = None
        self._handoff_open = False
        self.inflight = 0
        self.gathering = 0
        self.reserved = 0
        self.seq = 0
        self.limit_until = 0
        self.block_until = 0
        self.drained = False
        self.drained_emitted = False
        self.force = False
        self.finished_count = 0
        self.wake = asyncio.Event()
        self.changed = asyncio.Event()
        self.idle = asyncio.Event()
        self.closed_signal = asyncio.Event()
        self.block_backoff = Backoff()
        self.block_task: asyncio.Task[Any] | None = None
        self.bclient: Redis | None = None
        # At most MAX_IN_FLIGHT calls overlap (``_flush``): that many dedicated connections.
        self.finish_call = PackedScript(
            self.client, "moveToFinished", self.keys_all, (self.base,), max_idle=MAX_IN_FLIGHT, timeout=30.0
        )
        version = worker.connection.server_version
        self.min_block = 0.001 if version >= (7, 0, 8) else 0.002

    # --- lifecycle ----------------------------------------------------------------------------------

    async def open(self) -> None:
        block_max = max(self.w.drain_delay, 0.01)
        self.bclient = self.w.connection.blocking_client(
            socket_timeout=block_max + 10, client_name=self.w.connection_name()
        )
        # Connect now so the worker shows in getWorkers / Bull Board before its first block.
        with contextlib.suppress(*CONNECTION_ERRORS):
            await self.bclient.ping()

    async def run(self) -> None:
        await self._fetch_loop()
        if self.force:
            for task in list(self.tasks):
                task.cancel()
        await self.wait_for_active()

    async def shut(self) -> None:
        if self.block_task is not None:
            self.block_task.cancel()
        if self.bclient is not None:
            with contextlib.suppress(Exception):
                await self.bclient.aclose()
        with contextlib.suppress(Exception):
            await self.finish_call.close()

    def closing(self, *, force: bool) -> None:
        self.force = self.force or force
        self.closed_signal.set()
        if self.block_task is not None:
            self.block_task.cancel()
        if force:
            for task in list(self.tasks):
                task.cancel()
        self.wake.set()
        self.changed.set()

    def paused_changed(self) -> None:
        if self.w.is_paused() and self.block_task is not None:
            self.block_task.cancel()
        self.wake.set()

    def called_from_job(self) -> bool:
        return asyncio.current_task() in self.tasks

    async def wait_for_active(self) -> None:
        while (self.jobs or self.pending or self.inflight or self.tasks) and not self.force:
            self.changed.clear()
            await self.changed.wait()

    async def wait_idle(self) -> None:
        await self.idle.wait()

    def is_idle(self) -> bool:
        return not (self.jobs or self.pending or self.inflight or self.reserved or self.tasks)

    def clear_idle(self) -> None:
        """Wait for the next fetch to report idle again (the fetch loop blocks until then)."""
        self.idle.clear()

    def held_locks(self) -> tuple[list[str], list[str]]:
        jobs = list(self.jobs.values())
        return [j.id for j in jobs], [j.token or "" for j in jobs]

    def locks_lost(self, ids: list[str]) -> None:
        log.warning(
            "pybull worker %s lost the lock of jobs %s (they may run again elsewhere)", self.w.name, ids
        )
        self.w.emit("lock_renewal_failed", ids)

    def _free(self) -> int:
        return self.w.concurrency - len(self.jobs) - self.reserved

    def _allowance(self) -> int:
        w = self.w
        if w.closing or w.is_paused() or self.limit_until > now_ms():
            return 0
        return max(self._free(), 0)

    def _changed(self) -> None:
        self.changed.set()
        if self._free() > 0:
            self.wake.set()
        if self.drained and self.is_idle():
            self.idle.set()

    # --- fetching ----------------------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        w = self.w
        while not w.closing:
            if w.is_paused() or self._free() <= 0:
                self.wake.clear()
                if w.is_paused() or self._free() <= 0:
                    await self.wake.wait()
                continue
            wait_ms = self.limit_until - now_ms()
            if wait_ms > 0:
                await self._nap(min(wait_ms, w.maximum_rate_limit_delay) / 1000)
                continue
            if self.drained:
                if not await self._block():
                    continue
                if w.closing or w.is_paused():
                    continue
                if self.block_until > 0 and self.block_until - now_ms() >= 1:
                    continue
            await self._fetch()

    async def _nap(self, seconds: float) -> None:
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)

    def _block_timeout(self, due: int) -> float | None:
        if due:
            delay = (due - now_ms()) / 1000
            if delay <= 0:
                return None
            return max(min(delay, self.w.drain_delay), self.min_block)
        return max(self.w.drain_delay, self.min_block)

    async def _block(self) -> bool:
        """BZPOPMIN on the marker; False when interrupted or the connection failed (already handled)."""
        due, self.block_until = self.block_until, 0
        timeout = self._block_timeout(due)
        if timeout is None or self.bclient is None:
            return True
        task = self.loop.create_task(_bzpopmin(self.bclient, self.keys.marker, timeout))
        self.block_task = task
        try:
            await asyncio.wait([task])
        finally:
            self.block_task = None
        if task.cancelled():
            return False
        exc = task.exception()
        if exc is not None:
            if isinstance(exc, CONNECTION_ERRORS):
                self.w.throttle.log(
                    "pybull worker %s: blocking connection failed (%s); reconnecting", self.w.name, exc
                )
            else:
                log.error("pybull worker %s: waiting for jobs failed", self.w.name, exc_info=exc)
                self.w.emit("error", exc)
            await self._pause(1.0 if not isinstance(exc, CONNECTION_ERRORS) else self._next_backoff())
            return False
        self.block_backoff.reset()
        result = task.result()
        if result:
            score = int(float(result[2]))
            self.block_until = due if due and score > due else score
        return True

    def _next_backoff(self) -> float:
        current = self.block_backoff.current
        self.block_backoff.current = min(current * 2, self.block_backoff.cap)
        return current

    async def _pause(self, seconds: float) -> None:
        """Sleep that only closing interrupts (error backoff must not be cut short by job traffic)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed_signal.wait(), seconds)

    def _reserve(self, want: int) -> tuple[int, bytes]:
        """Claim ``want`` slots for a fetch in flight; returns its first token sequence number and
        the packed fetch options (the script names lock tokens ``<worker uuid>:<seq + i>``)."""
        self.reserved += want
        seq = self.seq
        self.seq += want
        fo = self.fetch_opts
        fo["count"] = want
        fo["seq"] = seq
        return seq, pack(fo)

    async def _fetch(self) -> None:
        want = self._allowance()
        if want <= 0:
            return
        seq, fetch = self._reserve(want)
        try:
            reply = await self.scripts.call("moveToActive", self.keys_all, (self.base, now_ms(), fetch))
        except CONNECTION_ERRORS as exc:
            self.w.throttle.log("pybull worker %s: fetch interrupted (%s); recovering", self.w.name, exc)
            await self._adopt_after_loss(seq, want)
            self.drained = False
            return
        except Exception as exc:
            self.reserved -= want
            log.error("pybull worker %s: moveToActive failed", self.w.name, exc_info=exc)
            self.w.emit("error", exc)
            await self._pause(1.0)
            return
        self.reserved -= want
        fetched, ttl, due = reply
        self._took(fetched, want, int(ttl), int(due))

    def _took(self, fetched: list[Any], want: int, ttl: int, due: int) -> None:
        """Bookkeeping after any fetch (no awaits: slots stay consistent)."""
        if ttl > 0:  # a local limit (rate_limit(), RateLimitError) simply runs out; never cut it short
            self.limit_until = max(self.limit_until, now_ms() + ttl)
        self.block_until = due
        count = len(fetched) // 3
        for i in range(0, len(fetched), 3):
            raw = fetched[i + 2]
            it = iter(raw)
            self._start(fetched[i], fetched[i + 1], dict(zip(it, it, strict=True)))
        if count < want:
            self.drained = True
            if count == 0 and not self.drained_emitted:
                self.drained_emitted = True
                self.w.emit("drained")
        else:
            self.drained = False
        if count:
            self.drained_emitted = False
            self.idle.clear()
        self._changed()

    def _start(self, job_id: str, token: str, raw: dict[str, str]) -> None:
        job = Job.from_hash(self.ctx, job_id, raw)
        job.token = token
        self.jobs[job_id] = job
        self.w.emit("active", job, "waiting")
        if self._handoff_open:
            # The job task whose finish fetched this job is about to end: it runs this one next,
            # saving a task and an event-loop turn per job (see _send).
            self._handoff_open = False
            self._handoff = job
            return
        task = self.loop.create_task(self._process(job))
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pybull worker %s: job task crashed", self.w.name, exc_info=task.exception())
        self._changed()

    # --- processing --------------------------------------------------------------------------------

    async def _process(self, job: Job) -> None:
        """A job task: runs its job, then any job its own finish call fetched and handed to it."""
        next_job: Job | None = job
        while next_job is not None:
            await self._process_one(next_job)
            next_job, self._handoff = self._handoff, None

    async def _process_one(self, job: Job) -> None:
        w = self.w
        if job.repeat_job_key is not None and not await self._schedule_next(job):
            return
        try:
            reason = refusal_reason(job, w.max_started_attempts)
            if reason is not None:
                raise UnrecoverableError(reason)
            result = await self._invoke(job)
            value = w.dumps_result(result)
        except asyncio.CancelledError:
            self.jobs.pop(job.id, None)  # abandoned (force close): the stalled check recovers it
            raise
        except Exception as exc:
            await self._failed(job, exc)
            return
        self._queue_finish(job, False, value, result, None, None)
        await self._flush()

    async def _schedule_next(self, job: Job) -> bool:
        """A scheduler iteration first creates its successor (wire-format 12.5), as Node's worker does.

        If that keeps failing, the job is let go without being run: its lock is no longer renewed,
        so the stalled check puts it back in wait (Node leaves it active the same way).
        """
        try:
            await schedule_next_iteration(self.ctx, job)
        except Exception as exc:
            log.error("pybull worker %s: next iteration of %s failed", self.w.name, job.id, exc_info=exc)
            self.w.emit("error", exc)
            self.jobs.pop(job.id, None)
            return False
        return True

    async def _invoke(self, job: Job) -> Any:
        w = self.w
        if w.listens("progress"):
            _report_progress(job, w)
        if w._executor is None:
            pending: Awaitable[Any] = w.processor(job)  # type: ignore[misc]
        else:
            pending = self.loop.run_in_executor(w._executor, w.processor, bridge_to_loop(job, self.loop))  # type: ignore[arg-type]
        timeout = job.opts.get("timeout")
        seconds = timeout / 1000 if isinstance(timeout, int | float) and timeout > 0 else w.timeout
        if seconds:
            try:
                result = await asyncio.wait_for(pending, seconds)
            except TimeoutError:
                raise TimeoutError(f"job {job.id} timed out after {seconds:g} s") from None
        else:
            result = await pending
        if inspect.isawaitable(result):  # a plain def that returned a coroutine
            result = await result
        return result

    async def _failed(self, job: Job, exc: BaseException) -> None:
        w = self.w
        queued = False
        try:
            token = job.token or "0"
            if is_rate_limit(exc):
                ttl = await self._until_applied(job, lambda: move_back_to_wait(self.ctx, job.id, token))
                if isinstance(ttl, int) and ttl > 0:
                    self.limit_until = max(self.limit_until, now_ms() + ttl)
                return
            if moved_by_processor(exc):
                return
            reason = failure_message(exc)
            job.failed_reason = reason
            fields = ["failedReason", reason, "stacktrace", _serde.dumps(add_stacktrace(job, exc))]
            try:
                delay = await retry_delay(
                    job, exc, max_started_attempts=w.max_started_attempts, strategy=w.backoff_strategy
                )
            except Exception as strategy_error:
                w.emit("error", strategy_error)
                delay = None
            if delay is None:
                self._queue_finish(job, True, reason, None, exc, fields)
                queued = True
                await self._flush()
                return
            if delay > 0:
                done = await self._until_applied(
                    job, lambda: delay_retry(self.ctx, job.id, token, delay, fields)
                )
                job.delay = delay
            else:
                done = await self._until_applied(
                    job,
                    lambda: retry_job(
                        self.ctx, job.id, token, lifo=bool(job.opts.get("lifo")), fields=fields
                    ),
                )
            if done is not _NOT_APPLIED:
                job.attempts_made += 1
                w.emit("failed", job, exc, "active")
        except ScriptError as err:
            log.warning("pybull worker %s: %s", w.name, err)
            w.emit("error", err)
        finally:
            if not queued:
                self.jobs.pop(job.id, None)
                self._changed()

    async def _until_applied(self, job: Job, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run a single-job script; after a lost reply, run it again only if it provably did not run."""
        while True:
            try:
                return await call()
            except CONNECTION_ERRORS as exc:
                self.w.throttle.log("pybull worker %s: lost reply for job %s (%s)", self.w.name, job.id, exc)
            holder = await self._read_when_back(lambda: self.client.get(self.keys.lock(job.id)))
            if holder != job.token:
                return _NOT_APPLIED if holder is _GAVE_UP else None

    async def _read_when_back(self, read: Callable[[], Awaitable[Any]]) -> Any:
        backoff = Backoff()
        while not (self.force and self.w.closing):
            await backoff.sleep()
            try:
                return await read()
            except CONNECTION_ERRORS as exc:
                self.w.throttle.log("pybull worker %s: Redis unreachable (%s)", self.w.name, exc)
        return _GAVE_UP

    # --- finishing ---------------------------------------------------------------------------------

    def _queue_finish(  # noqa: PLR0917 - hot path: positional on purpose
        self,
        job: Job,
        failed: bool,
        value: str,
        result: Any,
        error: BaseException | None,
        fields: list[str] | None,
    ) -> None:
        w = self.w
        if failed:
            count, age, limit = keep_rule(job.opts.get("removeOnFail"), w.keep_failed)
        else:
            count, age, limit = keep_rule(job.opts.get("removeOnComplete"), w.keep_completed)
        entry = [job.id, job.token or "0", 1 if failed else 0, value, fields, count, age, limit,
                 job.opts.get("attempts") or 0]  # fmt: skip
        self.pending.append(_Finish(job, entry, failed, result, error))

    async def _flush(self) -> None:
        """Send the queued finishes; whoever finds a free in-flight place sends (and keeps sending).

        Finishes queued while all places are taken ride in the next batch, so under load one call
        carries many jobs, and an idle worker pays one round trip per job, on the job's own task.
        A sender first lets the finishes of this loop turn gather, then senders that gathered
        together share them evenly: the worker handles one batch's jobs while Redis runs the other.
        """
        if self.inflight >= MAX_IN_FLIGHT:
            return
        self.inflight += 1
        try:
            while self.pending:
                if self.w.concurrency > 1:  # alone, nothing else can finish in the meantime
                    self.gathering += 1
                    try:
                        await asyncio.sleep(0)
                    finally:
                        self.gathering -= 1
                share = -(-len(self.pending) // (self.gathering + 1))
                batch = self.pending[:share]
                del self.pending[:share]
                if batch:
                    await self._send(batch)
        finally:
            self.inflight -= 1
            self._changed()

    async def _send(self, batch: list[_Finish]) -> None:
        jobs = self.jobs
        for f in batch:
            jobs.pop(f.job.id, None)
        want = self._allowance()
        seq, fetch = self._reserve(want)
        now = now_ms()
        try:
            reply = await self.finish_call(now, pack([f.entry for f in batch]), fetch)
        except CONNECTION_ERRORS as exc:
            self.w.throttle.log(
                "pybull worker %s: lost reply finishing %d jobs (%s)", self.w.name, len(batch), exc
            )
            await self._recover_batch(batch, seq, want, now)
            return
        except Exception as exc:
            self.reserved -= want
            log.error("pybull worker %s: moveToFinished failed; jobs left to the stalled check", self.w.name,
                      exc_info=exc)  # fmt: skip
            self.w.emit("error", exc)
            return
        self.reserved -= want
        codes, fetched, ttl, due = reply
        for f, code in zip(batch, codes, strict=True):
            self._finished(f, int(code), now)
        # Nothing left to send: _flush returns without another await, so the job task running it
        # is free and can take the first fetched job itself.
        self._handoff_open = not self.pending
        try:
            self._took(fetched, want, int(ttl), int(due))
        finally:
            self._handoff_open = False

    def _finished(self, f: _Finish, code: int, now: int) -> None:
        job = f.job
        w = self.w
        if code < 0:
            err = error_for_code(code, script="moveToFinished", job_id=job.id, state="active")
            log.warning("pybull worker %s: could not finish job %s: %s", w.name, job.id, err)
            w.emit("error", err)
            return
        self.finished_count += 1
        job.attempts_made += 1
        job.finished_on = now
        if f.failed:
            w.emit("failed", job, f.error, "active")
        else:
            job.returnvalue = f.result
            w.emit("completed", job, f.result, "active")

    async def _recover_batch(self, batch: list[_Finish], seq: int, want: int, now: int) -> None:
        """After a lost moveToFinished reply: which finishes happened, which jobs did it fetch?"""

        async def read() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                for f in batch:
                    pipe.get(self.keys.lock(f.job.id))
                    pipe.zscore(self.keys.failed if f.failed else self.keys.completed, f.job.id)
                    pipe.exists(self.keys.job(f.job.id))
                return list(await pipe.execute())

        states = await self._read_when_back(read)
        again: list[_Finish] = []
        if states is not _GAVE_UP:
            for i, f in enumerate(batch):
                holder, score, exists = states[3 * i : 3 * i + 3]
                if holder == f.job.token:
                    again.append(f)  # the script never ran: send it again
                elif score is not None or not exists:
                    self._finished(f, 0, now)
                else:
                    self._finished(f, -2, now)
        await self._adopt_after_loss(seq, want)
        for f in again:
            self.jobs[f.job.id] = f.job
        self.pending[:0] = again

    async def _adopt_after_loss(self, seq: int, want: int) -> None:
        """Jobs a lost fetch activated hold locks with tokens seq..seq+want-1: find and process them."""
        tokens = {f"{self.w.id}:{seq + i}" for i in range(want)}

        async def read() -> list[tuple[str, str, dict[str, str]]]:
            ids: list[str] = await self.client.lrange(self.keys.active, 0, -1) if tokens else []  # type: ignore[assignment]
            found: list[tuple[str, str, dict[str, str]]] = []
            if ids:
                holders = await self.client.mget([self.keys.lock(i) for i in ids])
                for job_id, holder in zip(ids, holders, strict=True):
                    if holder in tokens:
                        raw: dict[str, str] = await self.client.hgetall(self.keys.job(job_id))  # type: ignore[assignment]
                        found.append((job_id, holder, raw))
            return found

        found = await self._read_when_back(read)
        self.reserved -= want
        if found is not _GAVE_UP:
            for job_id, token, raw in found:
                if job_id not in self.jobs:
                    self._start(job_id, token, raw)
        self._changed()


async def _bzpopmin(client: Redis, key: str, seconds: float) -> Any:
    return await client.bzpopmin(key, seconds)


_GAVE_UP: Any = object()
_NOT_APPLIED: Any = object()


def _report_progress(job: Job, worker: Worker) -> None:
    """Emit the worker's ``progress`` event when the processor reports progress."""
    original = getattr(job, "update_progress", None)
    if original is None or not inspect.iscoroutinefunction(original):
        return

    async def update_progress(progress: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(progress, *args, **kwargs)
        worker.emit("progress", job, progress)
        return result

    job.update_progress = update_progress  # type: ignore[method-assign]
