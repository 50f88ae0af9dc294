"""``pybull``: look at and operate queues from a shell, run a worker, check health, run the demo.

The CLI is a thin layer: every command calls the async :class:`pybull.queue.Queue` /
:class:`pybull.worker.Worker` API through :func:`asyncio.run`; no Redis logic lives here apart from
finding queue names (a read-only SCAN). Errors pybull raises on purpose print one line on stderr and
exit with code 2, so scripts, cron and Kubernetes probes can tell "unhealthy" (1) from "broken" (2).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import redis.exceptions as rexc
import typer

from pybull._connection import RedisConnection, redact, url_from_env
from pybull.errors import PybullError
from pybull.keys import DEFAULT_PREFIX

if TYPE_CHECKING:
    from pybull.queue import Queue

T = TypeVar("T")

app = typer.Typer(
    name="pybull",
    help="BullMQ-compatible job queues for Python: inspect and operate queues, run workers, try the demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: States in the order BullMQ's getJobCounts lists them (what Bull Board shows).
STATES = ["waiting", "prioritized", "delayed", "active", "waiting-children", "completed", "failed"]

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="redis:// URL (default: REDIS_URL, else REDIS_HOST/PORT/..., else localhost)"),
]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="Key prefix shared with Node BullMQ.")]
QueueArg = Annotated[str, typer.Argument(help="Queue name.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only show what would be removed.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


# ----------------------------------------------------------------------------------------- plumbing


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"pybull: {message}", err=True)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with pybull and connection errors turned into one line and exit code 2."""
    try:
        return asyncio.run(coro)
    except PybullError as exc:
        fail(str(exc) or type(exc).__name__)
    except (rexc.RedisError, OSError) as exc:
        fail(f"{type(exc).__name__}: {exc}")


def resolve_url(url: str | None) -> str:
    return url or url_from_env()


@contextlib.asynccontextmanager
async def open_queue(name: str, url: str | None, prefix: str) -> AsyncIterator[Queue]:
    from pybull.queue import Queue

    queue = Queue(name, connection=resolve_url(url), prefix=prefix)
    try:
        yield queue
    finally:
        await queue.close()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, None: 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """``500``/``500ms``, ``30s``, ``5m``, ``1h``, ``7d`` -> milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration (examples: 500, 30s, 5m, 1h, 7d)")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


def _ts(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _confirm(message: str, yes: bool) -> None:
    if not yes and not typer.confirm(message, default=False):
        fail("aborted", code=1)


async def discover_queues(url: str | None, prefix: str) -> list[str]:
    """Queue names under ``prefix`` (read-only SCAN for each queue's ``meta``/``id`` key)."""
    conn = RedisConnection(resolve_url(url))
    try:
        await conn.ensure_ready()
        names: set[str] = set()
        for suffix in ("meta", "id"):
            async for key in conn.client.scan_iter(match=f"{prefix}:*:{suffix}", count=1000):
                name = str(key)[len(prefix) + 1 : -(len(suffix) + 1)]
                if name and ":" not in name:
                    names.add(name)
        return sorted(names)
    finally:
        await conn.close()


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        from pybull import __version__

        typer.echo(f"pybull {__version__}")
        raise typer.Exit(0)


# ------------------------------------------------------------------------------------------ reading


@app.command()
def inspect(
    queue: Annotated[str | None, typer.Argument(help="Queue name (omit to list every queue).")] = None,
    *,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
    as_json: JsonOpt = False,
) -> None:
    """Queue overview: job counts per state, paused flag, meta and connected workers."""

    async def one(name: str) -> dict[str, Any]:
        async with open_queue(name, url, prefix) as q:
            info: dict[str, Any] = {"queue": name, "counts": await q.get_job_counts(*STATES)}
            info["paused"] = await q.is_paused()
            info["meta"] = {k: v for k, v in (await q.get_meta()).items() if k != "paused"}
            info["workers"] = await q.get_workers()
            return info

    async def main() -> list[dict[str, Any]]:
        names = [queue] if queue else await discover_queues(url, prefix)
        return [await one(name) for name in names]

    infos = run(main())
    if as_json:
        _print_json(infos if queue is None else infos[0])
        return
    if not infos:
        typer.echo(f"no queues under prefix {prefix!r} at {redact(resolve_url(url))}")
        return
    if queue is None:
        typer.echo(f"{'queue':<24} " + " ".join(f"{s:>9}" for s in STATES) + "  paused")
        for info in infos:
            cells = " ".join(f"{info['counts'].get(s, 0):>{max(9, len(s))}}" for s in STATES)
            typer.echo(f"{info['queue']:<30} {cells}  {'yes' if info['paused'] else 'no'}")
        return
    info = infos[0]
    typer.echo(f"queue {prefix}:{queue}{'  (PAUSED)' if info['paused'] else ''}")
    for state in STATES:
        typer.echo(f"  {state:<17} {info['counts'].get(state, 0):>9}")
    for key, value in sorted(info["meta"].items()):
        typer.echo(f"  meta {key} = {value}")
    typer.echo(f"  workers: {len(info['workers'])}")
    for worker in info["workers"]:
        raw = str(worker.get("rawname", ""))
        name = raw.split(":w:", 1)[1] if ":w:" in raw else "(unnamed)"
        typer.echo(f"    {name}  addr={worker.get('addr', '?')}  age={worker.get('age', '?')}s")


@app.command("list")
def list_jobs(
    queue: QueueArg,
    state: Annotated[str, typer.Argument(help=f"One of: {', '.join(STATES)}.")] = "failed",
    *,
    page: Annotated[int, typer.Option(min=1, help="Page (1 = newest, or oldest with --asc).")] = 1,
    size: Annotated[int, typer.Option(min=1, max=10_000, help="Jobs per page.")] = 20,
    asc: Annotated[bool, typer.Option("--asc", help="Oldest first.")] = False,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
    as_json: JsonOpt = False,
) -> None:
    """List the jobs in one state, a page at a time."""
    if state not in STATES:
        fail(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    start = (page - 1) * size

    async def main() -> tuple[list[Any], int]:
        async with open_queue(queue, url, prefix) as q:
            jobs = await q.get_jobs([state], start, start + size - 1, asc)
            total = (await q.get_job_counts(state))[state]
            return jobs, int(total)

    jobs, total = run(main())
    if as_json:
        _print_json({"state": state, "total": total, "page": page, "jobs": [j.to_json() for j in jobs]})
        return
    typer.echo(f"{state}: {total} job(s); page {page} shows {len(jobs)}")
    for job in jobs:
        reason = f"  {job.failed_reason[:60]}" if job.failed_reason else ""
        typer.echo(
            f"  {job.id:<12} {job.name:<20} attempts={job.attempts_made}  {_ts(job.timestamp)}{reason}"
        )


@app.command()
def job(
    queue: QueueArg,
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    *,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
    as_json: JsonOpt = False,
) -> None:
    """Show one job: its state, data, options, result or failure, and its logs."""

    async def main() -> tuple[Any, str, Any]:
        async with open_queue(queue, url, prefix) as q:
            found = await q.get_job(job_id)
            if found is None:
                return None, "unknown", []
            return found, await q.get_job_state(job_id), await q.get_job_logs(job_id)

    found, state, logs = run(main())
    if found is None:
        fail(f"job {job_id!r} not found in queue {queue!r}", code=1)
    lines = logs.get("logs", []) if isinstance(logs, dict) else list(logs)
    if as_json:
        _print_json({**found.to_json(), "state": state, "logs": lines})
        return
    typer.echo(f"job {found.id} ({found.name}) in {prefix}:{queue}: {state}")
    typer.echo(f"  added      {_ts(found.timestamp)}   processed {_ts(found.processed_on)}")
    typer.echo(f"  finished   {_ts(found.finished_on)}   attempts {found.attempts_made}")
    typer.echo(f"  data       {json.dumps(found.data)[:500]}")
    typer.echo(f"  opts       {json.dumps(found.opts)[:500]}")
    if found.returnvalue is not None:
        typer.echo(f"  result     {json.dumps(found.returnvalue, default=str)[:500]}")
    if found.failed_reason:
        typer.echo(f"  failed     {found.failed_reason}")
        for frame in found.stacktrace[-1:]:
            typer.echo("  " + str(frame).replace("\n", "\n  "))
    typer.echo(f"  logs       {len(lines)}")
    for line in lines:
        typer.echo(f"    {line}")


# ---------------------------------------------------------------------------------------- operating


@app.command()
def retry(
    queue: QueueArg,
    *,
    state: Annotated[str, typer.Option(help="failed or completed.")] = "failed",
    count: Annotated[int, typer.Option(min=1, help="Jobs moved per server call.")] = 1000,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
) -> None:
    """Move every failed (or completed) job back to waiting."""
    if state not in ("failed", "completed"):
        fail("--state must be failed or completed")

    async def main() -> int:
        async with open_queue(queue, url, prefix) as q:
            before = int((await q.get_job_counts(state))[state])
            await q.retry_jobs(state=state, count=count)
            return before

    moved = run(main())
    typer.echo(f"retried {moved} {state} job(s) in {queue}")


@app.command()
def clean(
    queue: QueueArg,
    *,
    grace: Annotated[str, typer.Option(help="Keep jobs younger than this (500, 30s, 5m, 1h, 7d).")] = "0",
    limit: Annotated[int, typer.Option(min=0, help="Remove at most this many (0 = all).")] = 0,
    state: Annotated[str, typer.Option(help="State to clean.")] = "completed",
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
) -> None:
    """Remove jobs of one state that finished (or were added) more than --grace ago."""
    grace_ms = parse_duration(grace)
    if state not in STATES:
        fail(f"unknown state {state!r}; use one of {', '.join(STATES)}")

    async def count() -> int:
        async with open_queue(queue, url, prefix) as q:
            return int((await q.get_job_counts(state))[state])

    present = run(count())
    bound = min(present, limit) if limit else present
    what = f"up to {bound} {state} job(s) older than {grace} from {queue}"
    if dry_run:
        typer.echo(f"would remove {what} ({present} {state} in total)")
        return
    _confirm(f"Remove {what}?", yes)

    async def main() -> list[str]:
        async with open_queue(queue, url, prefix) as q:
            return list(await q.clean(grace_ms, limit, state))

    removed = run(main())
    typer.echo(f"removed {len(removed)} {state} job(s) from {queue}")


@app.command()
def promote(
    queue: QueueArg,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
) -> None:
    """Move every delayed job to waiting now."""

    async def main() -> int:
        async with open_queue(queue, url, prefix) as q:
            before = int((await q.get_job_counts("delayed"))["delayed"])
            await q.promote_jobs()
            return before

    typer.echo(f"promoted {run(main())} delayed job(s) in {queue}")


@app.command()
def pause(queue: QueueArg, url: UrlOpt = None, prefix: PrefixOpt = DEFAULT_PREFIX) -> None:
    """Stop workers from taking new jobs (active jobs finish; adds keep working)."""

    async def main() -> None:
        async with open_queue(queue, url, prefix) as q:
            await q.pause()

    run(main())
    typer.echo(f"paused {queue}")


@app.command()
def resume(queue: QueueArg, url: UrlOpt = None, prefix: PrefixOpt = DEFAULT_PREFIX) -> None:
    """Let workers take jobs again."""

    async def main() -> None:
        async with open_queue(queue, url, prefix) as q:
            await q.resume()

    run(main())
    typer.echo(f"resumed {queue}")


@app.command()
def drain(
    queue: QueueArg,
    *,
    delayed: Annotated[bool, typer.Option("--delayed", help="Also remove delayed jobs.")] = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
) -> None:
    """Remove every waiting (and prioritized; with --delayed also delayed) job."""
    states = ["waiting", "prioritized", *(["delayed"] if delayed else [])]

    async def count() -> dict[str, int]:
        async with open_queue(queue, url, prefix) as q:
            return {k: int(v) for k, v in (await q.get_job_counts(*states)).items()}

    counts = run(count())
    what = ", ".join(f"{n} {s}" for s, n in counts.items())
    if dry_run:
        typer.echo(f"would remove {what} job(s) from {queue}")
        return
    _confirm(f"Remove {what} job(s) from {queue}?", yes)

    async def main() -> None:
        async with open_queue(queue, url, prefix) as q:
            await q.drain(delayed=delayed)

    run(main())
    typer.echo(f"drained {queue} ({what})")


@app.command()
def obliterate(
    queue: QueueArg,
    *,
    force: Annotated[bool, typer.Option("--force", help="Also remove active jobs.")] = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
) -> None:
    """Delete the whole queue: every job, its events and meta."""

    async def count() -> dict[str, int]:
        async with open_queue(queue, url, prefix) as q:
            return {k: int(v) for k, v in (await q.get_job_counts(*STATES)).items()}

    counts = run(count())
    total = sum(counts.values())
    detail = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if dry_run:
        typer.echo(f"would obliterate {queue}: {total} job(s){f' ({detail})' if detail else ''}")
        return
    _confirm(f"Obliterate {queue} and its {total} job(s)?", yes)

    async def main() -> None:
        async with open_queue(queue, url, prefix) as q:
            await q.obliterate(force=force)

    run(main())
    typer.echo(f"obliterated {queue} ({total} job(s))")


# ----------------------------------------------------------------------------------------- worker


def load_processor(spec: str) -> Callable[..., Any]:
    """``package.module:function`` -> the function (the current directory is importable)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise typer.BadParameter(f"{spec!r} must look like module:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        fail(f"cannot import {module_name!r}: {exc}")
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            fail(f"{module_name!r} has no attribute {attr!r}")
    if not callable(target):
        fail(f"{spec} is not callable")
    return target  # type: ignore[no-any-return]


@app.command()
def worker(
    processor: Annotated[str, typer.Argument(help="The processor, as module:function (def or async def).")],
    *,
    queue: Annotated[str, typer.Option("--queue", "-q", help="Queue to process.")],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Jobs at once.")] = 1,
    name: Annotated[str | None, typer.Option(help="Worker name (shown in Bull Board).")] = None,
    lock_duration: Annotated[str, typer.Option(help="Lock duration (30s, 30000).")] = "30s",
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job.")] = False,
) -> None:
    """Process a queue until SIGTERM/SIGINT, then finish active jobs and exit 0."""
    fn = load_processor(processor)
    lock_ms = parse_duration(lock_duration)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(message)s")
    log = logging.getLogger("pybull.cli")

    async def main() -> None:
        from pybull.worker import Worker

        w = Worker(
            queue,
            fn,
            connection=resolve_url(url),
            prefix=prefix,
            concurrency=concurrency,
            name=name,
            lock_duration=lock_ms,
            autorun=False,
        )
        w.on("completed", lambda job, *_: log.debug("completed %s %s", job.id, job.name))
        w.on(
            "failed",
            lambda job, err, *_: log.warning(
                "job %s failed (attempt %s): %s", job.id, job.attempts_made, err
            ),
        )
        loop = asyncio.get_running_loop()
        closing: list[asyncio.Task[None]] = []

        def stop() -> None:
            forced = bool(closing)
            log.info("closing worker%s", " (forced)" if forced else "; active jobs finish first")
            closing.append(loop.create_task(w.close(force=forced)))

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        log.info("worker on %s:%s, concurrency %d (%s)", prefix, queue, concurrency, redact(resolve_url(url)))
        try:
            await w.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("worker closed")

    run(main())


# ----------------------------------------------------------------------------------------- health


@app.command()
def health(
    queues: Annotated[list[str] | None, typer.Argument(help="Queues to check (default: all found).")] = None,
    *,
    max_failed: Annotated[int | None, typer.Option(help="Unhealthy above this many failed jobs.")] = None,
    max_waiting: Annotated[int | None, typer.Option(help="Unhealthy above this many waiting jobs.")] = None,
    url: UrlOpt = None,
    prefix: PrefixOpt = DEFAULT_PREFIX,
    as_json: JsonOpt = False,
) -> None:
    """Exit 0 when healthy, 1 when a threshold is exceeded or eviction may drop jobs, 2 when unreachable."""

    async def main() -> dict[str, Any]:
        conn = RedisConnection(resolve_url(url))
        try:
            await conn.ensure_ready()
            memory = await conn.client.info("memory")
        finally:
            await conn.close()
        report: dict[str, Any] = {
            "server": redact(resolve_url(url)),
            "version": ".".join(map(str, conn.server_version)),
            "eviction_policy": str(memory.get("maxmemory_policy", "noeviction")),
            "problems": [],
            "queues": {},
        }
        if report["eviction_policy"] != "noeviction":
            report["problems"].append(f"maxmemory-policy is {report['eviction_policy']}, jobs may be evicted")
        for name in queues or await discover_queues(url, prefix):
            async with open_queue(name, url, prefix) as q:
                counts = await q.get_job_counts("waiting", "prioritized", "active", "delayed", "failed")
            waiting = int(counts["waiting"]) + int(counts["prioritized"])
            report["queues"][name] = {k: int(v) for k, v in counts.items()}
            if max_waiting is not None and waiting > max_waiting:
                report["problems"].append(f"{name}: {waiting} waiting > {max_waiting}")
            if max_failed is not None and int(counts["failed"]) > max_failed:
                report["problems"].append(f"{name}: {counts['failed']} failed > {max_failed}")
        return report

    report = run(main())
    report["status"] = "unhealthy" if report["problems"] else "ok"
    if as_json:
        _print_json(report)
    else:
        typer.echo(
            f"{report['status']}: {report['server']} version {report['version']}, "
            f"maxmemory-policy {report['eviction_policy']}"
        )
        for name, counts in report["queues"].items():
            typer.echo(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for problem in report["problems"]:
            typer.echo(f"  PROBLEM {problem}")
    raise typer.Exit(1 if report["problems"] else 0)


# ------------------------------------------------------------------------------------------- demo


@app.command()
def demo(
    *,
    jobs: Annotated[int, typer.Option("--jobs", "-n", min=1, help="How many jobs to add.")] = 3000,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Worker concurrency.")] = 50,
    queue: Annotated[str, typer.Option(help="Demo queue (emptied first).")] = "pybull-demo",
    url: Annotated[
        str | None, typer.Option("--url", help="Server (default: REDIS_URL, else embedded).")
    ] = None,
) -> None:
    """Add a few thousand realistic jobs (emails, reports, webhooks) and process them, with a summary."""
    from pybull.demo import run_demo

    try:
        run_demo(jobs=jobs, concurrency=concurrency, queue_name=queue, url=url)
    except PybullError as exc:
        fail(str(exc) or type(exc).__name__)
    except (rexc.RedisError, OSError) as exc:
        fail(f"{type(exc).__name__}: {exc}")
