"""The ``pybull`` command: what operators type, against a real server, with the exit codes they script on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pybull import sync
from pybull.cli import app, parse_duration

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def cli(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def queue(redis_url: str, queue_name: str) -> Iterator[sync.Queue]:
    with sync.Queue(queue_name, connection=redis_url) as q:
        yield q


def _process(redis_url: str, name: str, processor: Any, until: Any) -> None:
    """Run a sync worker until ``until()`` holds."""
    import threading

    worker = sync.Worker(name, processor, connection=redis_url, autorun=False, concurrency=4)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not until():
            assert time.monotonic() < deadline, "worker did not get there in time"
            time.sleep(0.02)
    finally:
        worker.close()
        thread.join(10)


# ----------------------------------------------------------------------------------------------- basics


def test_help_lists_every_command() -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("inspect", "list", "job", "retry", "clean", "promote", "pause", "resume", "drain"):
        assert command in result.output
    for command in ("obliterate", "worker", "health", "demo"):
        assert command in result.output
    proc = subprocess.run(
        [sys.executable, "-m", "pybull", "--help"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout


def test_parse_duration() -> None:
    assert parse_duration("500") == 500
    assert parse_duration("30s") == 30_000
    assert parse_duration("5m") == 300_000
    assert parse_duration("1.5h") == 5_400_000
    assert parse_duration("7d") == 604_800_000


def test_unreachable_server_is_one_line_and_exit_2(queue_name: str) -> None:
    result = cli("inspect", queue_name, "--url", "redis://127.0.0.1:1/0")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "cannot connect" in result.stderr
    bad = cli("pause", queue_name, "--url", "http://nope")
    assert bad.exit_code == 2 and "redis://" in bad.stderr


# --------------------------------------------------------------------------------------- admin commands


def test_inspect_list_job_promote_pause_resume(redis_url: str, queue: sync.Queue) -> None:
    name = queue.name
    first = queue.add("email", {"to": "ada@example.com"})
    queue.add("report", {"id": 7}, priority=2)
    queue.add("later", {}, delay=3_600_000)

    result = cli("inspect", name, "--url", redis_url)
    assert result.exit_code == 0, result.output
    assert "waiting" in result.output and "prioritized" in result.output
    as_json = cli("inspect", name, "--url", redis_url, "--json")
    info = __import__("json").loads(as_json.output)
    assert info["counts"]["waiting"] == 1 and info["counts"]["delayed"] == 1 and info["paused"] is False

    everything = cli("inspect", "--url", redis_url)
    assert name in everything.output

    listed = cli("list", name, "waiting", "--url", redis_url, "--json")
    jobs = __import__("json").loads(listed.output)
    assert jobs["total"] == 1 and jobs["jobs"][0]["id"] == first.id

    shown = cli("job", name, first.id, "--url", redis_url)
    assert shown.exit_code == 0 and "waiting" in shown.output and "ada@example.com" in shown.output
    missing = cli("job", name, "no-such-job", "--url", redis_url)
    assert missing.exit_code == 1

    assert cli("pause", name, "--url", redis_url).exit_code == 0
    assert queue.is_paused()
    assert cli("resume", name, "--url", redis_url).exit_code == 0
    assert not queue.is_paused()

    promoted = cli("promote", name, "--url", redis_url)
    assert promoted.exit_code == 0 and "promoted 1" in promoted.output
    assert queue.get_job_counts("delayed")["delayed"] == 0


def test_retry_failed_jobs(redis_url: str, queue: sync.Queue) -> None:
    for i in range(3):
        queue.add("flaky", {"i": i})

    def fail(job: Any) -> None:
        raise RuntimeError("downstream is down")

    _process(redis_url, queue.name, fail, lambda: queue.get_job_counts("failed")["failed"] == 3)
    failed = cli("list", queue.name, "failed", "--url", redis_url)
    assert "downstream is down" in failed.output
    result = cli("retry", queue.name, "--url", redis_url)
    assert result.exit_code == 0 and "retried 3" in result.output
    assert queue.get_job_counts("failed", "waiting") == {"failed": 0, "waiting": 3}


def test_destructive_commands_confirm_and_dry_run(redis_url: str, queue: sync.Queue) -> None:
    name = queue.name
    for i in range(4):
        queue.add("job", {"i": i})
    queue.add("later", {}, delay=3_600_000)

    dry = cli("drain", name, "--delayed", "--dry-run", "--url", redis_url)
    assert dry.exit_code == 0 and "4 waiting" in dry.output and "1 delayed" in dry.output
    assert queue.get_job_counts("waiting")["waiting"] == 4

    refused = cli("drain", name, "--url", redis_url, input="n\n")
    assert refused.exit_code == 1
    assert queue.get_job_counts("waiting")["waiting"] == 4

    drained = cli("drain", name, "--url", redis_url, input="y\n")
    assert drained.exit_code == 0, drained.output
    assert queue.get_job_counts("waiting", "delayed") == {"waiting": 0, "delayed": 1}

    for i in range(3):
        queue.add("done", {"i": i})
    _process(redis_url, name, lambda job: "ok", lambda: queue.get_job_counts("completed")["completed"] == 3)
    dry_clean = cli("clean", name, "--dry-run", "--url", redis_url)
    assert "3 completed" in dry_clean.output
    cleaned = cli("clean", name, "--yes", "--grace", "0", "--url", redis_url)
    assert cleaned.exit_code == 0 and "removed 3" in cleaned.output
    assert queue.get_job_counts("completed")["completed"] == 0

    dry_ob = cli("obliterate", name, "--dry-run", "--url", redis_url)
    assert "1 job" in dry_ob.output
    gone = cli("obliterate", name, "--yes", "--url", redis_url)
    assert gone.exit_code == 0, gone.output + gone.stderr
    assert sum(queue.get_job_counts().values()) == 0


def test_health_exit_codes(redis_url: str, queue: sync.Queue) -> None:
    for i in range(3):
        queue.add("job", {"i": i})
    healthy = cli("health", queue.name, "--max-waiting", "10", "--url", redis_url)
    assert healthy.exit_code == 0, healthy.output
    assert "ok" in healthy.output and "version" in healthy.output
    backlog = cli("health", queue.name, "--max-waiting", "2", "--url", redis_url)
    assert backlog.exit_code == 1 and "3 waiting > 2" in backlog.output
    down = cli("health", "--url", "redis://127.0.0.1:1/0")
    assert down.exit_code == 2


# ------------------------------------------------------------------------------------ worker and demo


def test_worker_command_stops_gracefully_on_sigterm(
    redis_url: str, queue: sync.Queue, tmp_path: Path
) -> None:
    (tmp_path / "examples_module.py").write_text(
        textwrap.dedent(
            """
            import time

            def process(job):
                time.sleep(0.05)
                return {"echo": job.data["n"]}
            """
        )
    )
    for i in range(10):
        queue.add("echo", {"n": i})
    proc = subprocess.Popen(
        [sys.executable, "-m", "pybull", "worker", "examples_module:process", "--queue", queue.name,
         "--concurrency", "3", "--name", "cli-test", "--url", redis_url],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while queue.get_job_counts("completed")["completed"] < 10:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert queue.get_job(queue.get_jobs(["completed"])[0].id).returnvalue["echo"] in range(10)


def _run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pybull", "demo", "--jobs", "300", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_demo_against_redis_url(redis_url: str, queue_name: str) -> None:
    started = time.monotonic()
    proc = _run_demo(_env(REDIS_URL=redis_url), "--queue", queue_name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "jobs/s" in out and "where each kind ended" in out
    for kind in ("email", "report", "webhook"):
        assert kind in out
    assert "did not finish" not in out
    assert time.monotonic() - started < 30
    with sync.Queue(queue_name, connection=redis_url) as q:
        counts = q.get_job_counts("completed", "failed")
        assert counts["completed"] + counts["failed"] == 300
        assert counts["failed"] > 0  # permanent failures are part of the mix


def test_demo_starts_an_embedded_server_without_redis_url() -> None:
    proc = _run_demo(_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "started embedded" in proc.stdout and "stopped" in proc.stdout
    assert "jobs/s" in proc.stdout and "did not finish" not in proc.stdout
