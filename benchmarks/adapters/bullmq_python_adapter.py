"""The official Python port of BullMQ (PyPI ``bullmq``), through its public ``Queue``/``Worker``.

Options are the library's defaults except ``concurrency`` and ``autorun=False`` (so the clock starts
with ``run()``). ``remove_on_complete`` is the ``removeOnComplete`` job option, set at add time, as
in the other BullMQ-family adapters.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from bullmq import Queue, Worker
from driver import JOB_NAME, System, main


class BullmqPython(System):
    version = version("bullmq")

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.opts: dict[str, Any] = {"removeOnComplete": True} if args.remove_on_complete else {}
        self.queue: Queue | None = None
        self.worker: Worker | None = None

    async def open_producer(self) -> None:
        self.queue = Queue(self.args.queue, {"connection": self.args.url})
        await self.queue.client.ping()  # connect before the clock starts

    async def close_producer(self) -> None:
        assert self.queue is not None
        await self.queue.close()

    async def add(self, data: dict[str, Any]) -> None:
        assert self.queue is not None
        await self.queue.add(JOB_NAME, data, self.opts)

    async def add_bulk(self, items: list[dict[str, Any]]) -> None:
        assert self.queue is not None
        await self.queue.addBulk([{"name": JOB_NAME, "data": d, "opts": self.opts} for d in items])

    async def prepare_worker(self) -> None:
        async def processor(job: Any, token: str) -> None:
            return None

        self.worker = Worker(
            self.args.queue,
            processor,
            {"connection": self.args.url, "concurrency": self.args.concurrency, "autorun": False},
        )
        await self.worker.client.ping()

    async def run_worker(self, on_completed: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
        worker = self.worker
        assert worker is not None
        worker.on("completed", lambda job, result: on_completed(job.data))
        running = asyncio.ensure_future(worker.run())
        await self.wait_for_stop(stop)
        await self.bounded(worker.close(), "Worker.close()")
        await self.bounded(running, "Worker.run()")


if __name__ == "__main__":
    main(BullmqPython)
