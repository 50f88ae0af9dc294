"""pybull through its public ``Queue``/``Worker``, with the library's defaults.

Only ``concurrency`` and ``autorun=False`` are set (so the clock starts with ``run()``).
``remove_on_complete`` is the job option at add time, as in the other BullMQ-family adapters.
This adapter needs nothing but pybull and its dependencies: it runs under the bench venv
(``pip install -e .``) or any interpreter that can import pybull (the CI smoke test uses the
current one with the repository on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from driver import JOB_NAME, System, main

import pybull

try:
    from pybull import Queue, Worker
except ImportError:  # before __init__ re-exports them
    from pybull.queue import Queue  # type: ignore[no-redef]
    from pybull.worker import Worker  # type: ignore[no-redef]


async def noop(job: Any) -> None:
    return None


class Pybull(System):
    version = pybull.__version__

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.opts: dict[str, Any] = {"remove_on_complete": True} if args.remove_on_complete else {}
        self.queue: Queue | None = None
        self.worker: Worker | None = None

    async def open_producer(self) -> None:
        self.queue = Queue(self.args.queue, connection=self.args.url)
        await self.queue.get_waiting_count()  # connect and load scripts before the clock starts

    async def close_producer(self) -> None:
        assert self.queue is not None
        await self.queue.close()

    async def add(self, data: dict[str, Any]) -> None:
        assert self.queue is not None
        await self.queue.add(JOB_NAME, data, self.opts or None)

    async def add_bulk(self, items: list[dict[str, Any]]) -> None:
        assert self.queue is not None
        await self.queue.add_bulk([{"name": JOB_NAME, "data": d, "opts": self.opts} for d in items])

    async def prepare_worker(self) -> None:
        self.worker = Worker(
            self.args.queue,
            noop,
            connection=self.args.url,
            concurrency=self.args.concurrency,
            autorun=False,
        )

    async def run_worker(self, on_completed: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
        worker = self.worker
        assert worker is not None
        worker.on("completed", lambda job, *rest: on_completed(job.data))
        running = asyncio.ensure_future(worker.run())
        await self.wait_for_stop(stop)
        await self.bounded(worker.close(), "Worker.close()")
        await self.bounded(running, "Worker.run()")


if __name__ == "__main__":
    main(Pybull)
