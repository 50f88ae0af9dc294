"""The benchmark suite's smoke test: it must never rot between full runs.

Runs ``benchmarks/run.py`` for pybull alone in a tiny configuration (about 200 jobs per scenario,
every scenario, one repetition) with the current interpreter, not the bench venv, and checks that
every run produced a complete result line. A full run is never a timed test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIELDS = {
    "system", "version", "scenario", "n", "concurrency", "seconds", "jobs_per_s", "p50_ms", "p95_ms",
    "p99_ms", "worker_rss_mb", "worker_cpu_s", "redis_cpu_s",
}  # fmt: skip
TINY_PYBULL_ONLY = [
    "--profile", "tiny", "--systems", "pybull", "--no-install", "--pybull-python", "current", "--no-chart",
]  # fmt: skip
SCENARIOS = {"enqueue-single", "enqueue-bulk", "process", "latency", "scale", "fleet"}


@pytest.mark.timeout(180)
def test_quick_benchmark_for_pybull_writes_complete_lines(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), *TINY_PYBULL_ONLY, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {line["scenario"] for line in lines} == SCENARIOS
    for line in lines:
        assert line.keys() >= FIELDS, line
        assert line["system"] == "pybull" and line.get("note") is None, line
        assert line["jobs_per_s"] > 0 and line["seconds"] > 0, line
        assert line["worker_rss_mb"] > 0 and line["worker_cpu_s"] >= 0 and line["redis_cpu_s"] >= 0, line
        if line["scenario"] in ("enqueue-single", "latency"):
            assert 0 < line["p50_ms"] <= line["p95_ms"] <= line["p99_ms"], line
    latency = next(line for line in lines if line["scenario"] == "latency")
    assert latency["p50_ms"] < 1000, "an idle pybull worker should pick a job up within a second"

    results = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(results["runs"]) == len(lines)
    assert results["meta"]["versions"]["pybull"]
    assert "| enqueue-single |" in next(tmp_path.glob("*.md")).read_text()
