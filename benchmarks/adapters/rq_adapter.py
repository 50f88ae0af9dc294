"""RQ (PyPI ``rq``) through ``Queue.enqueue`` / ``Queue.enqueue_many`` and a ``SimpleWorker``.

RQ is synchronous, so its calls run directly inside the driver's event loop (nothing else runs
there). Nearest equivalents, since RQ lacks the feature:
- concurrency: an RQ worker runs one job at a time, so only concurrency 1 is measured; the fleet
  scenario (several worker processes) is RQ's way to scale;
- ``SimpleWorker`` runs jobs in the worker process (the default ``Worker`` forks per job, which is
  far slower and not what a throughput-minded user would pick);
- ``remove_on_complete``: ``result_ttl=0`` at enqueue;
- the completion point is after ``handle_job_success`` (the job is marked finished in Redis).
Logging is set to WARNING so RQ does not print a line per job (the other systems do not either).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from driver import System, main
from redis import Redis
from rq import Queue, SimpleWorker
from rq_jobs import noop


class Rq(System):
    version = version("rq")

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.redis = Redis.from_url(args.url)
        self.queue = Queue(args.queue, connection=self.redis)
        self.kwargs: dict[str, Any] = {"result_ttl": 0} if args.remove_on_complete else {}

    async def open_producer(self) -> None:
        self.redis.ping()

    async def close_producer(self) -> None:
        self.redis.close()

    async def add(self, data: dict[str, Any]) -> None:
        self.queue.enqueue(noop, data, **self.kwargs)

    async def add_bulk(self, items: list[dict[str, Any]]) -> None:
        self.queue.enqueue_many([Queue.prepare_data(noop, args=(d,), **self.kwargs) for d in items])

    async def prepare_worker(self) -> None:
        self.redis.ping()

    async def run_worker(self, on_completed: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
        if self.args.concurrency != 1:
            raise SystemExit("rq runs one job at a time per worker: concurrency must be 1")

        class BenchWorker(SimpleWorker):
            def handle_job_success(self, job: Any, *args: Any, **kwargs: Any) -> None:
                super().handle_job_success(job, *args, **kwargs)
                on_completed(job.args[0])
                if stop.is_set():  # n reached or time box: leave the work loop after this job
                    self._stop_requested = True

        worker = BenchWorker([self.queue], connection=self.redis)
        if self.args.until_empty:
            worker.work(burst=True, logging_level="WARNING")
        else:
            worker.work(burst=False, max_jobs=self.args.n, logging_level="WARNING")


if __name__ == "__main__":
    main(Rq)
