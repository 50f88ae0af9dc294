"""What every Python adapter shares: the command line, the READY/GO handshake and the result line.

An adapter is one process that plays one *role* for one system:

``enqueue-single``  add ``n`` jobs one awaited call at a time (per-add latency percentiles)
``enqueue-bulk``    add ``n`` jobs in chunks of ``--chunk`` (per-chunk latency percentiles)
``preload``         bulk-add ``n`` jobs before a ``work`` run (not a measured figure)
``work``            one worker process: run until ``n`` jobs completed (or, with ``--until-empty``,
                    until the queue has nothing left to hand out: the fleet scenario)
``produce-timed``   add ``n`` jobs ``--interval-ms`` apart, each stamped with its add time, for the
                    latency scenario; the ``work`` process (``--latency``) reports add-to-completion

The handshake keeps interpreter start-up, imports and connection set-up out of every figure: the
adapter connects, prints ``READY``, waits for ``GO`` on stdin, and only then starts the clock. Its
last stdout line is one JSON object; the orchestrator (``benchmarks/run.py``) adds the Redis side.

CPU and peak RSS come from ``getrusage`` of this process, so no psutil is needed and the pybull
adapter runs under any interpreter that can import pybull (the CI smoke test relies on that).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

JOB_NAME = "bench"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument(
        "--role",
        required=True,
        choices=["enqueue-single", "enqueue-bulk", "preload", "work", "produce-timed", "version"],
    )
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--remove-on-complete", action="store_true")
    parser.add_argument("--until-empty", action="store_true")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument(
        "--max-seconds", type=float, default=0.0, help="work: stop early after this long (0: never)"
    )
    return parser.parse_args(argv)


def now_ms() -> float:
    """Wall clock in ms (float): producer and worker are different processes on one machine."""
    return time.time() * 1000.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak RSS of this process. /proc's VmHWM, not ru_maxrss: on Linux ru_maxrss survives fork+exec,
    so a child would report its parent's size if the parent was bigger."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` when there is nothing to rank."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return round(ordered[rank - 1], 3)


def handshake() -> None:
    """Print READY and block until the orchestrator writes GO (or closes stdin)."""
    print("READY", flush=True)
    sys.stdin.readline()


@dataclass
class Clock:
    """The measured window of one role: wall time, this process's CPU, per-item latencies."""

    t_start: float = 0.0
    t_end: float = 0.0
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    count: int = 0

    def start(self) -> None:
        self.cpu_start = cpu_seconds()
        self.t_start = time.time()

    def stop(self) -> None:
        self.t_end = time.time()
        self.cpu_end = cpu_seconds()


def emit(clock: Clock, version: str, **extra: Any) -> None:
    """Write the adapter's one JSON result line."""
    seconds = max(clock.t_end - clock.t_start, 1e-9)
    line = {
        "version": version,
        "count": clock.count,
        "t_start": clock.t_start,
        "t_end": clock.t_end,
        "seconds": round(seconds, 4),
        "jobs_per_s": round(clock.count / seconds, 1),
        "p50_ms": percentile(clock.latencies_ms, 50),
        "p95_ms": percentile(clock.latencies_ms, 95),
        "p99_ms": percentile(clock.latencies_ms, 99),
        "worker_rss_mb": round(peak_rss_mb(), 1),
        "worker_cpu_s": round(clock.cpu_end - clock.cpu_start, 3),
        **extra,
    }
    print(json.dumps(line), flush=True)


def job_data(i: int) -> dict[str, Any]:
    """The payload every system carries: tiny, JSON, the same everywhere."""
    return {"i": i}
