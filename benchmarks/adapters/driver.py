"""The role logic of the asyncio adapters, written once over a small per-system interface.

An adapter subclasses :class:`System` with what differs between libraries (how to add one job,
how to add a chunk, how to run a worker until a condition) and calls :func:`main`. Everything
that is measured (the clock, the handshake, the loops) is here, so every system is timed by
the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from common import JOB_NAME, Clock, emit, handshake, job_data, now_ms, parse_args

CLOSE_TIMEOUT_S = 15.0


class System:
    """One library. Subclasses fill in the hooks; ``notes`` end up on the result line."""

    version: str = "?"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.notes: list[str] = []

    async def bounded(self, awaitable: Awaitable[Any], what: str) -> None:
        """Await a shutdown step, but never hang the benchmark on it: a close() that does not
        return is noted on the result line (it is a finding), and the process exits anyway."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(awaitable)), CLOSE_TIMEOUT_S)
        except TimeoutError:
            self.notes.append(f"{what} did not return within {CLOSE_TIMEOUT_S:.0f} s")

    async def wait_for_stop(self, stop: asyncio.Event) -> None:
        """Return when told to stop or, with --until-empty, once the BullMQ wait list is empty."""
        if not self.args.until_empty:
            await stop.wait()
            return
        import redis.asyncio as aioredis

        probe = aioredis.Redis.from_url(self.args.url)
        try:
            while await probe.llen(f"bull:{self.args.queue}:wait") > 0:  # noqa: ASYNC110 (polls Redis)
                await asyncio.sleep(0.01)
        finally:
            await probe.aclose()

    async def open_producer(self) -> None:
        raise NotImplementedError

    async def close_producer(self) -> None:
        raise NotImplementedError

    async def add(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    async def add_bulk(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def run_worker(self, on_completed: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
        """Start the worker, call ``on_completed(data)`` per finished job, return once ``stop`` is set
        and the worker has closed. With ``args.until_empty`` the worker itself stops when the queue has
        nothing left to hand out (setting ``stop`` is then the adapter's job)."""
        raise NotImplementedError

    async def prepare_worker(self) -> None:
        """Connect and load what the worker needs before READY (kept out of the figures)."""


async def enqueue(system: System, bulk: bool, timed: bool) -> None:
    args = system.args
    await system.open_producer()
    clock = Clock()
    if timed:
        handshake()
    clock.start()
    if bulk:
        for base in range(0, args.n, args.chunk):
            items = [job_data(i) for i in range(base, min(base + args.chunk, args.n))]
            t0 = now_ms()
            await system.add_bulk(items)
            clock.latencies_ms.append(now_ms() - t0)
            clock.count += len(items)
    else:
        for i in range(args.n):
            t0 = now_ms()
            await system.add(job_data(i))
            clock.latencies_ms.append(now_ms() - t0)
            clock.count += 1
    clock.stop()
    await system.close_producer()
    emit(clock, system.version)


async def produce_timed(system: System) -> None:
    args = system.args
    await system.open_producer()
    clock = Clock()
    handshake()
    clock.start()
    begin = now_ms()
    for i in range(args.n):
        wait = begin + i * args.interval_ms - now_ms()
        if wait > 0:
            await asyncio.sleep(wait / 1000.0)
        await system.add({"i": i, "t": now_ms()})
        clock.count += 1
    clock.stop()
    await system.close_producer()
    emit(clock, system.version)


async def work(system: System) -> None:
    args = system.args
    clock = Clock()
    stop = asyncio.Event()
    last_done = 0.0

    def on_completed(data: dict[str, Any]) -> None:
        nonlocal last_done
        last_done = now_ms()
        if args.latency:
            clock.latencies_ms.append(last_done - float(data["t"]))
        clock.count += 1
        if args.until_empty or stop.is_set():
            return
        if clock.count >= args.n or (args.max_seconds and time.time() - clock.t_start >= args.max_seconds):
            clock.stop()  # the figure ends here (n-th completion or time box), before the worker closes
            stop.set()

    await system.prepare_worker()
    await asyncio.get_running_loop().run_in_executor(None, handshake)
    clock.start()
    await system.run_worker(on_completed, stop)
    if args.until_empty:  # the fleet is done when its last job is, not when its close returns
        clock.stop()
        clock.t_end = last_done / 1000.0 if last_done else clock.t_start
    extra = {"note": "; ".join(system.notes)} if system.notes else {}
    emit(clock, system.version, **extra)
    if system.notes:  # something did not shut down: do not wait for it at interpreter exit
        os._exit(0)


async def version_only(system: System) -> None:
    print(f'{{"version": "{system.version}"}}', flush=True)


def main(factory: Callable[[argparse.Namespace], System]) -> None:
    args = parse_args()
    system = factory(args)
    role = args.role
    if role == "version":
        coro = version_only(system)
    elif role in ("enqueue-single", "enqueue-bulk", "preload"):
        coro = enqueue(system, bulk=role != "enqueue-single", timed=role != "preload")
    elif role == "produce-timed":
        coro = produce_timed(system)
    else:
        coro = work(system)
    asyncio.run(coro)


__all__ = ["JOB_NAME", "System", "main"]
