"""The pybull twin of run.mjs's processor: the job's data chooses what happens.

Both processors must behave identically so that a run with a Node worker and a run with a pybull
worker can be compared field by field and event by event:

* ``{"behave": "ok", "result": x}`` returns ``x`` (default ``{"ok": true, "id": <job id>}``);
* ``{"behave": "fail", "message": m}`` raises ``Exception(m)`` (default message ``boom``);
* ``{"behave": "fail_until", "attempts": n}`` raises while ``attempts_made < n``, then succeeds;
* ``{"behave": "unrecoverable"}`` raises ``UnrecoverableError``;
* ``{"behave": "sleep", "ms": n}`` (or any ``ms``) sleeps first;
* ``"progress": [...]`` / ``"log": [...]`` update progress / append log lines first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pybull import UnrecoverableError


def make_processor(
    record: list[dict[str, Any]] | None = None, *, default_ms: int = 0
) -> Callable[..., Awaitable[Any]]:
    async def process(job: Any, *_: Any) -> Any:
        data = job.data if isinstance(job.data, dict) else {}
        behave = data.get("behave", "ok")
        if record is not None:
            record.append(
                {
                    "id": job.id,
                    "name": job.name,
                    "attemptsMade": job.attempts_made,
                    "t": int(time.time() * 1000),
                }
            )
        for p in data.get("progress", []):
            await job.update_progress(p)
        for line in data.get("log", []):
            await job.log(line)
        ms = data.get("ms", default_ms)
        if behave == "sleep" or ms > 0:
            await asyncio.sleep(ms / 1000)
        message = data.get("message", "boom")
        if behave == "fail":
            raise Exception(message)
        if behave == "unrecoverable":
            raise UnrecoverableError(message)
        if behave == "fail_until" and job.attempts_made < data.get("attempts", 1):
            raise Exception(message)
        return data.get("result", {"ok": True, "id": job.id})

    return process
