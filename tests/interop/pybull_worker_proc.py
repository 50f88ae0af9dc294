"""A pybull Worker in its own process, for crash tests: ``python pybull_worker_proc.py '<json>'``.

Prints one JSON line per event (``ready``, then ``start`` per job) and never finishes a job whose
data says ``"hang": true`` (it sleeps), so the test can SIGKILL it mid-job like a real crash.
The JSON argument: ``{"url", "queue", "prefix", "concurrency", "lock_duration", "stalled_interval"}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pybull import Worker


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main(cfg: dict[str, Any]) -> None:
    async def process(job: Any, *_: Any) -> Any:
        emit({"type": "start", "id": job.id, "attemptsMade": job.attempts_made})
        if isinstance(job.data, dict) and job.data.get("hang"):
            await asyncio.sleep(3600)
        return {"by": "pybull-proc", "id": job.id}

    worker = Worker(
        cfg["queue"],
        process,
        connection=cfg["url"],
        prefix=cfg.get("prefix", "bull"),
        concurrency=cfg.get("concurrency", 1),
        lock_duration=cfg.get("lock_duration", 1000),
        stalled_interval=cfg.get("stalled_interval", 1000),
        autorun=False,
    )
    task = asyncio.create_task(worker.run())
    emit({"type": "ready"})
    await task


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
