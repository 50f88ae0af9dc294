"""Operations on an active job, for processors (through ``Job`` methods) and for the worker itself.

Each is one Lua script (lua/commands/); nothing here moves a job with plain Redis commands. The
functions take the job (or its queue context) rather than living on Worker so that ``Job`` methods
can call them without knowing which worker holds the job.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybull import _serde
from pybull._context import QueueContext, now_ms
from pybull._lua import raise_for_code
from pybull.errors import JobFailedError

if TYPE_CHECKING:
    from pybull.events import QueueEvents
    from pybull.job import Job


async def _run(ctx: QueueContext, script: str, *args: str | bytes | int | float, job_id: str = "") -> Any:
    result = await ctx.run(script, *args)
    raise_for_code(result, script=script, job_id=job_id, state="active")
    return result


async def move_to_delayed(job: Job, timestamp_ms: int, token: str) -> None:
    """Processor-side delay (BullMQ ``job.moveToDelayed``): no attempt is counted; raise DelayedError next."""
    delay = max(int(timestamp_ms) - now_ms(), 0)
    await _run(job.ctx, "moveToDelayed", now_ms(), job.id, token, delay, "1", _serde.pack([]), job_id=job.id)
    job.delay = delay


async def move_to_waiting_children(job: Job, token: str, child_key: str | None = None) -> bool:
    """Park the job until its children finish. False when nothing is pending (the job stays active)."""
    result = await _run(
        job.ctx, "moveToWaitingChildren", now_ms(), job.id, token, child_key or "", job_id=job.id
    )
    return int(result) == 0


async def extend_lock(job: Job, token: str, duration_ms: int) -> bool:
    """Renew one job's lock; False when the lock is gone or held by another token."""
    lost = await extend_locks(job.ctx, [job.id], [token], duration_ms)
    return not lost


async def extend_locks(ctx: QueueContext, ids: list[str], tokens: list[str], duration_ms: int) -> list[str]:
    """Renew many locks in one call; returns the ids whose lock was lost."""
    lost = await ctx.run("extendLocks", int(duration_ms), _serde.pack(ids), _serde.pack(tokens))
    return [str(x) for x in lost] if isinstance(lost, list) else []


async def retry_job(ctx: QueueContext, job_id: str, token: str, *, lifo: bool, fields: list[str]) -> None:
    await _run(
        ctx, "retryJob", now_ms(), job_id, token, "1" if lifo else "0", _serde.pack(fields), job_id=job_id
    )


async def delay_retry(ctx: QueueContext, job_id: str, token: str, delay: int, fields: list[str]) -> None:
    await _run(ctx, "moveToDelayed", now_ms(), job_id, token, delay, "0", _serde.pack(fields), job_id=job_id)


async def move_back_to_wait(ctx: QueueContext, job_id: str, token: str) -> int:
    """Rate-limit push-back; returns the limiter's remaining TTL in ms."""
    return int(await _run(ctx, "moveJobFromActiveToWait", job_id, token, job_id=job_id))


async def move_stalled_jobs_to_wait(ctx: QueueContext, max_stalled_count: int, interval_ms: int) -> list[str]:
    recovered = await ctx.run("moveStalledJobsToWait", now_ms(), int(max_stalled_count), int(interval_ms))
    return [str(x) for x in recovered] if isinstance(recovered, list) else []


async def finished_state(ctx: QueueContext, job_id: str) -> tuple[str, Any]:
    """``("completed", returnvalue)``, ``("failed", reason)`` or ``("", None)`` (Node's ``isFinished``)."""
    keys = ctx.keys
    async with ctx.connection.client.pipeline(transaction=False) as pipe:
        pipe.zscore(keys.completed, job_id)
        pipe.zscore(keys.failed, job_id)
        pipe.hmget(keys.job(job_id), "returnvalue", "failedReason")
        completed, failed, fields = await pipe.execute()
    if completed is not None:
        return "completed", _serde.loads_lenient(fields[0])
    if failed is not None:
        return "failed", fields[1] or ""
    return "", None


async def wait_until_finished(
    job: Job,
    queue_events: QueueEvents,
    timeout: float | None = None,  # noqa: ASYNC109 - the public contract names it timeout
) -> Any:
    """The job's returnvalue once it completes; raises JobFailedError when it fails for good.

    Listens for ``completed:<id>`` / ``failed:<id>`` first and only then reads the job's state, so a
    finish that happens in between is seen one way or the other (BullMQ's order). ``timeout`` in
    seconds raises :class:`TimeoutError`.
    """
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[tuple[str, Any]] = loop.create_future()

    def on_completed(args: dict[str, Any], _event_id: str = "") -> None:
        if not outcome.done():
            outcome.set_result(("completed", args.get("returnvalue")))

    def on_failed(args: dict[str, Any], _event_id: str = "") -> None:
        if not outcome.done():
            outcome.set_result(("failed", args.get("failedReason", "")))

    queue_events.on(f"completed:{job.id}", on_completed)
    queue_events.on(f"failed:{job.id}", on_failed)
    try:
        await queue_events.wait_until_ready()
        state, value = await finished_state(job.ctx, job.id)
        if not state:
            state, value = await asyncio.wait_for(outcome, timeout)
        if state == "failed":
            raise JobFailedError(job.id, str(value))
        return value
    finally:
        queue_events.off(f"completed:{job.id}", on_completed)
        queue_events.off(f"failed:{job.id}", on_failed)


def bridge_to_loop(job: Job, loop: asyncio.AbstractEventLoop) -> Job:
    """Make the job's async methods callable from a processor thread.

    A plain ``def`` processor runs in a thread pool, where ``job.update_progress(50)`` would only
    create a coroutine nobody awaits. Each coroutine method is shadowed on this instance: called
    from another thread it runs on the worker's loop and blocks until done; called on the loop it
    returns the coroutine as usual.
    """
    loop_thread = threading.get_ident()
    for name, _member in inspect.getmembers(type(job), inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        setattr(job, name, _threadsafe(getattr(job, name), loop, loop_thread))
    return job


def _threadsafe(
    method: Callable[..., Any], loop: asyncio.AbstractEventLoop, loop_thread: int
) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        coro = method(*args, **kwargs)
        if threading.get_ident() == loop_thread:
            return coro
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    return call
