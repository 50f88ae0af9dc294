"""Typed message envelopes: one queue, many message types, validated with pydantic on both sides.

Modelled on apps that push a uniform ``{messageType, timestamp, userId, data}`` envelope through a
single queue and dispatch on ``messageType`` in the worker. The producer builds the envelope from a
pydantic model, so a bad message fails in the web request, not later in the worker; the worker
validates again (a Node producer or an old deploy may have written it) and fails a message it cannot
understand with ``UnrecoverableError``: retrying would not make it valid.

Run: ``python examples/typed_messages.py`` (uses REDIS_URL, or starts an embedded server).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from pybull import UnrecoverableError
from pybull.demo import redis_or_embedded
from pybull.queue import Queue
from pybull.worker import Worker

QUEUE = "app-messages"


class Envelope(BaseModel):
    timestamp: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    userId: str | None = None
    metadata: dict[str, Any] = {}


class WorkoutChanges(BaseModel):
    sets: int
    reps: int
    weight: float


class WorkoutUpdate(Envelope):
    messageType: Literal["WORKOUT_UPDATE"] = "WORKOUT_UPDATE"
    data: dict[str, str | WorkoutChanges]


class Notification(Envelope):
    messageType: Literal["NOTIFICATION"] = "NOTIFICATION"
    data: dict[str, str]


class Email(Envelope):
    messageType: Literal["EMAIL"] = "EMAIL"
    data: dict[str, str]


QueueMessage = Annotated[WorkoutUpdate | Notification | Email, Field(discriminator="messageType")]
parse_message: TypeAdapter[WorkoutUpdate | Notification | Email] = TypeAdapter(QueueMessage)


async def handle(message: WorkoutUpdate | Notification | Email) -> dict[str, Any]:
    await asyncio.sleep(0.005)  # the real work: a database write, a push, an SMTP call
    if isinstance(message, WorkoutUpdate):
        return {"updated": message.data["exerciseId"]}
    if isinstance(message, Notification):
        return {"pushed_to": message.userId}
    return {"sent_to": message.data["to"]}


async def process(job: Any) -> dict[str, Any]:
    try:
        message = parse_message.validate_python(job.data)
    except ValidationError as exc:
        kind = job.data.get("messageType", "?")
        raise UnrecoverableError(f"invalid {kind} message: {exc.errors()[0]['msg']}") from None
    return await handle(message)


async def main(url: str) -> None:
    queue = Queue(QUEUE, connection=url)
    await queue.obliterate(force=True)  # example queue: start clean
    messages: list[BaseModel] = [
        WorkoutUpdate(
            userId="user-123",
            data={"exercisePlanId": "plan-456", "exerciseId": "exercise-202",
                  "changes": WorkoutChanges(sets=4, reps=12, weight=135)},
        ),
        Notification(userId="user-123", data={"title": "Workout complete!", "variant": "success"}),
        Email(userId="user-9", data={"to": "ada@example.com", "subject": "Your plan", "template": "plan"}),
    ]  # fmt: skip
    for i, message in enumerate(messages * 5):
        payload = message.model_dump(mode="json")
        await queue.add(payload["messageType"].lower(), payload, attempts=3, priority=1 + i % 3)
    # A message from an older producer that forgot a required field: it must fail once, not retry.
    await queue.add("email", {"messageType": "EMAIL", "data": {"subject": 42}}, attempts=3)
    total = len(messages) * 5 + 1

    outcome: Counter[str] = Counter()
    done = asyncio.Event()

    def finished(kind: str) -> Any:
        def on_event(job: Any, *_: Any) -> None:
            if kind == "failed" and job.attempts_made < job.opts.get("attempts", 1) and not job.failed_reason:
                return
            outcome[f"{job.data.get('messageType')} {kind}"] += 1
            if outcome.total() >= total:
                done.set()

        return on_event

    worker = Worker(QUEUE, process, connection=url, concurrency=10, autorun=False)
    worker.on("completed", finished("completed"))
    worker.on("failed", finished("failed"))
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(done.wait(), 20)
    await worker.close()
    await runner
    for key, n in sorted(outcome.items()):
        print(f"{key}: {n}")
    failed = await queue.get_jobs(["failed"])
    for job in failed:
        print(f"failed job {job.id}: {job.failed_reason} (attempts made: {job.attempts_made})")
    await queue.obliterate(force=True)
    await queue.close()


if __name__ == "__main__":
    with redis_or_embedded() as server_url:
        asyncio.run(main(server_url))
