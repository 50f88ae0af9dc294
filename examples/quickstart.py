"""The README's first example: add a job, process it, print the result.

Runs against REDIS_URL (or a throwaway embedded server when it is unset).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pybull import Job, Queue, Worker
from pybull._server import EmbeddedServer


async def send_email(job: Job) -> dict[str, Any]:
    await job.update_progress(50)
    await job.log(f"sending to {job.data['to']}")
    return {"sent": True}  # stored as the job's returnvalue (JSON)


async def main(url: str) -> None:
    queue = Queue("quickstart-emails", connection=url)
    job = await queue.add(
        "welcome", {"to": "a@b.c"}, attempts=3, backoff={"type": "exponential", "delay": 1000}
    )
    done = asyncio.Event()
    worker = Worker("quickstart-emails", send_email, connection=url, concurrency=50)
    worker.on("completed", lambda job, result, prev: (print("completed", job.name, result), done.set()))
    await asyncio.wait_for(done.wait(), 10)
    await worker.close()
    print("state:", await queue.get_job_state(job.id), "logs:", (await queue.get_job_logs(job.id))["logs"])
    await queue.obliterate(force=True)
    await queue.close()


if __name__ == "__main__":
    if os.environ.get("REDIS_URL"):
        asyncio.run(main(os.environ["REDIS_URL"]))
    else:
        with EmbeddedServer() as server:
            asyncio.run(main(server.url))
