"""arq (PyPI ``arq``) through ``ArqRedis.enqueue_job`` and ``arq.worker.Worker``.

Nearest equivalents, since arq lacks the feature:
- bulk add: arq has no bulk API, so a chunk is enqueued as concurrent ``enqueue_job`` calls
  (``asyncio.gather``, at most 64 in flight on the pool's connections);
- ``remove_on_complete``: the worker's ``keep_result=0`` (arq stores a result per job unless told not to);
- the completion point is arq's ``after_job_end`` hook (runs after the result is recorded).
- ``poll_delay=0.01 s`` instead of arq's default 0.5 s: arq polls its queue rather than blocking on
  it, and each poll starts at most ``max_jobs`` jobs, so the default caps a worker at
  ``2 * max_jobs`` jobs/s (measured: 2 jobs/s at ``max_jobs=1``). 10 ms is a tuned setting that a
  throughput-minded user would choose; it still shows in the latency scenario (``ARQ_POLL_DELAY``
  overrides it).
Everything else is arq's default. ``max_jobs`` is the concurrency.
arq runs in its own virtualenv (benchmarks/.venv/arq) because it pins ``redis<6``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func
from driver import System, main

BULK_IN_FLIGHT = 64
POLL_DELAY_S = float(os.environ.get("ARQ_POLL_DELAY", "0.01"))


async def noop(ctx: dict[str, Any], data: dict[str, Any]) -> None:
    ctx["bench_data"] = data  # after_job_end receives this same ctx


class Arq(System):
    version = version("arq")

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.settings = RedisSettings.from_dsn(args.url)
        self.pool: ArqRedis | None = None
        self.worker: Worker | None = None

    async def open_producer(self) -> None:
        self.pool = await create_pool(self.settings, default_queue_name=self.args.queue)

    async def close_producer(self) -> None:
        assert self.pool is not None
        await self.pool.aclose()

    async def add(self, data: dict[str, Any]) -> None:
        assert self.pool is not None
        await self.pool.enqueue_job("noop", data)

    async def add_bulk(self, items: list[dict[str, Any]]) -> None:
        pool = self.pool
        assert pool is not None
        gate = asyncio.Semaphore(BULK_IN_FLIGHT)

        async def one(data: dict[str, Any]) -> None:
            async with gate:
                await pool.enqueue_job("noop", data)

        await asyncio.gather(*(one(d) for d in items))

    async def prepare_worker(self) -> None:
        self.pool = await create_pool(self.settings, default_queue_name=self.args.queue)

    async def run_worker(self, on_completed: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
        async def after_job_end(ctx: dict[str, Any]) -> None:
            on_completed(ctx.get("bench_data") or {})

        options: dict[str, Any] = {}
        if self.args.remove_on_complete:
            options["keep_result"] = 0
        worker = Worker(
            functions=[func(noop, name="noop")],
            queue_name=self.args.queue,
            redis_pool=self.pool,
            # Fleet: burst mode ends by itself once the queue is empty. (``max_burst_jobs`` is not
            # used to stop at n: arq 0.28 counts a finished job twice until its next poll and stops
            # one job early.)
            burst=self.args.until_empty,
            max_jobs=self.args.concurrency,
            poll_delay=POLL_DELAY_S,
            handle_signals=False,
            after_job_end=after_job_end,
            **options,
        )
        main_task = asyncio.ensure_future(worker.main())
        if self.args.until_empty:
            await main_task
        else:
            await stop.wait()
            # Stop picking jobs and let the running ones finish (close() would cancel them).
            worker.allow_pick_jobs = False
            await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
            with contextlib.suppress(asyncio.CancelledError):
                await worker.close()
            main_task.cancel()
            await asyncio.gather(main_task, return_exceptions=True)
        assert self.pool is not None
        await self.pool.aclose()


if __name__ == "__main__":
    main(Arq)
