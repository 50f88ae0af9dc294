"""Webhook delivery with retries, exponential backoff and a dead-letter queue.

Modelled on apps that deliver webhooks from a queue: a delivery that fails is retried with
exponential backoff; when the last attempt fails, a ``failed`` listener copies the job to
``<queue>-dlq`` (with the reason and attempt count) so an operator can look at it, fix the endpoint
and replay it, instead of the event being lost in the failed list after retention trims it.

Run: ``python examples/webhook_dlq.py`` (uses REDIS_URL, or starts an embedded server).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from pybull import UnrecoverableError
from pybull.demo import redis_or_embedded
from pybull.queue import Queue
from pybull.worker import Worker

QUEUE = "webhooks"
DLQ = f"{QUEUE}-dlq"
RETRY: dict[str, Any] = {
    "attempts": 3,
    "backoff": {"type": "exponential", "delay": 100},
}  # 100 ms, then 200 ms

#: What each simulated receiver does: "ok" answers 200, "flaky" fails its first call, "down" always
#: fails, "gone" answers 410 (no point retrying).
RECEIVERS = {"crm": "ok", "analytics": "flaky", "legacy": "down", "old-partner": "gone"}
calls: Counter[str] = Counter()
attempts_seen: Counter[str] = Counter()


class DeliveryError(Exception):
    """The receiver did not accept the webhook; worth another attempt."""


async def deliver(job: Any) -> dict[str, Any]:
    receiver = job.data["receiver"]
    calls[receiver] += 1
    attempts_seen[job.id] += 1
    await asyncio.sleep(0.005)  # the HTTP POST
    behaviour = RECEIVERS[receiver]
    if behaviour == "down" or (behaviour == "flaky" and attempts_seen[job.id] == 1):
        raise DeliveryError(f"POST {job.data['url']}: 503 Service Unavailable")
    if behaviour == "gone":
        raise UnrecoverableError(f"POST {job.data['url']}: 410 Gone")
    return {"status": 200, "receiver": receiver}


def is_final_failure(job: Any, error: BaseException) -> bool:
    """True when the job will not be retried: attempts used up, or an UnrecoverableError."""
    return isinstance(error, UnrecoverableError) or job.attempts_made >= int(job.opts.get("attempts") or 1)


async def main(url: str) -> None:
    queue, dlq = Queue(QUEUE, connection=url), Queue(DLQ, connection=url)
    for q in (queue, dlq):
        await q.obliterate(force=True)  # example queues: start clean

    pending: set[asyncio.Task[Any]] = set()

    def on_failed(job: Any, error: BaseException, *_: Any) -> None:
        if job is None or not is_final_failure(job, error):
            return
        dead_letter = {
            "queue": QUEUE,
            "jobId": job.id,
            "name": job.name,
            "data": job.data,
            "failedReason": str(error),
            "attemptsMade": job.attempts_made,
        }
        task = asyncio.get_running_loop().create_task(dlq.add(job.name, dead_letter))
        pending.add(task)
        task.add_done_callback(pending.discard)

    worker = Worker(QUEUE, deliver, connection=url, concurrency=8, autorun=False)
    worker.on("failed", on_failed)
    runner = asyncio.create_task(worker.run())

    deliveries = [(receiver, i) for i in range(3) for receiver in RECEIVERS]
    for receiver, i in deliveries:
        data = {"receiver": receiver, "url": f"https://{receiver}.example.com/hooks", "event": "qr.scanned",
                "payload": {"qrCode": f"QR{i}", "userId": "user_456"}}  # fmt: skip
        await queue.add("qr.scanned", data, **RETRY)

    for _ in range(200):  # until every delivery succeeded or was dead-lettered (at most ~10 s)
        completed = (await queue.get_job_counts("completed"))["completed"]
        dead = (await dlq.get_job_counts("waiting"))["waiting"]
        if completed + dead >= len(deliveries):
            break
        await asyncio.sleep(0.05)
    await worker.close()
    await runner

    print(f"delivered: {completed}, dead-lettered: {dead}")
    print(f"HTTP calls per receiver: {dict(sorted(calls.items()))}")
    for entry in sorted(await dlq.get_jobs(["waiting"]), key=lambda j: (j.data["data"]["receiver"], j.id)):
        d = entry.data
        receiver = d["data"]["receiver"]
        print(f"DLQ {entry.id}: {receiver} after {d['attemptsMade']} attempt(s): {d['failedReason']}")
    for q in (queue, dlq):
        await q.obliterate(force=True)
        await q.close()


if __name__ == "__main__":
    with redis_or_embedded() as server_url:
        asyncio.run(main(server_url))
