"""Drive the real Node BullMQ 6.7.0 from pytest (through ``run.mjs``) and check what it installed.

Every interop test talks to Node through these helpers: ``run_node``/``arun_node`` for one command (or
a batch of ``ops`` run on one set of connections, so a test pays Node's start-up once) and
``NodeWorkerProcess`` for a long-lived Node worker that a mixed-fleet or crash test stops later.
Nothing here skips: a missing ``node`` or ``node_modules`` is a failure with the command that fixes it,
because a skipped interop test would hide a broken compatibility.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run.mjs"
NODE_MODULES = HERE / "node_modules"
BULLMQ_VERSION = "6.7.0"
INSTALL_HINT = "cd tests/interop && npm install --no-audit --no-fund"


class NodeError(RuntimeError):
    """The Node runner failed: the message carries Node's error, stack and stderr."""


def node_binary() -> str:
    path = shutil.which("node")
    if not path:
        raise NodeError("`node` (Node.js >= 18) is not on PATH: interop tests need it (install Node 20).")
    return path


def check_installation() -> str:
    """Return the installed bullmq version, or raise with the command that installs it."""
    node_binary()
    manifest = NODE_MODULES / "bullmq" / "package.json"
    if not manifest.exists():
        raise NodeError(f"{manifest} is missing: run `{INSTALL_HINT}` first.")
    version = str(json.loads(manifest.read_text())["version"])
    if version != BULLMQ_VERSION:
        raise NodeError(
            f"bullmq {version} is installed, the interop tests pin {BULLMQ_VERSION}: {INSTALL_HINT}"
        )
    if not (NODE_MODULES / "ioredis" / "package.json").exists():
        raise NodeError(f"ioredis is missing from {NODE_MODULES}: run `{INSTALL_HINT}`.")
    return version


def _parse(cmd: dict[str, Any], returncode: int, stdout: str, stderr: str) -> Any:
    line = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    try:
        reply = json.loads(line) if line else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or not reply.get("ok"):
        what = cmd.get("op") or [step.get("op") for step in cmd.get("ops", [])]
        error = reply.get("error") if isinstance(reply, dict) else None
        stack = reply.get("stack") if isinstance(reply, dict) else None
        raise NodeError(
            f"Node BullMQ op {what} failed (exit {returncode}): {error}\n"
            f"stack: {stack}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-4000:]}"
        )
    return reply["result"]


def run_node(cmd: dict[str, Any], timeout: float = 60) -> Any:
    """Run one command (or ``{"ops": [...]}`` batch) with Node BullMQ; return its parsed result."""
    proc = subprocess.run(
        [node_binary(), str(RUNNER), "-"],
        input=json.dumps(cmd),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
        check=False,
    )
    return _parse(cmd, proc.returncode, proc.stdout, proc.stderr)


async def arun_node(cmd: dict[str, Any], wait_s: float = 60) -> Any:
    """``run_node`` without blocking the event loop (a pybull worker can run meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        node_binary(),
        str(RUNNER),
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=HERE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(cmd).encode()), wait_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise NodeError(f"Node BullMQ command timed out after {wait_s}s: {cmd.get('op') or 'ops'}") from None
    return _parse(cmd, proc.returncode or 0, out.decode(), err.decode())


class NodeWorkerProcess:
    """A Node BullMQ Worker in its own process, printing one JSON line per job it starts/finishes.

    ``with NodeWorkerProcess(url, queue, concurrency=10) as w: ...`` waits until the worker is
    connected; leaving the block stops it gracefully (SIGTERM) unless it was killed already.
    """

    def __init__(self, url: str, queue_name: str, *, prefix: str = "bull", **opts: Any) -> None:
        self.cmd: dict[str, Any] = {
            "url": url,
            "queue": queue_name,
            "prefix": prefix,
            "op": "work",
            "stream": True,
            **opts,
        }
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._eof = False
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._err_reader: threading.Thread | None = None
        self._stderr: list[str] = []

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self, ready_timeout: float = 20) -> NodeWorkerProcess:
        self._proc = subprocess.Popen(
            [node_binary(), str(RUNNER), json.dumps(self.cmd)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()
        self.wait_for(lambda line: line.get("type") == "ready", ready_timeout)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"type": "garbage", "text": raw}
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            self._stderr.append(raw)

    def wait_for(self, pred: Any, timeout: float) -> dict[str, Any]:
        """Block until a line matching ``pred`` has arrived (every line so far is checked, in order)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                if self._eof:
                    raise NodeError(
                        f"Node worker exited early; lines: {self.lines[-5:]}; stderr: {self.stderr}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NodeError(f"Node worker: no matching line within {timeout}s; stderr: {self.stderr}")
                self._cond.wait(remaining)

    async def await_for(self, pred: Any, wait_s: float) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for, pred, wait_s)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)[-4000:]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("type") == kind]

    def stop(self, timeout: float = 20) -> None:
        """Graceful close (waits for running jobs), like a deploy would do."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)

    def kill(self) -> None:
        """SIGKILL: a crash; the jobs it held stay active with their locks until they expire."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def close_pipes(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> NodeWorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            for thread in (self._reader, self._err_reader):
                if thread is not None:
                    thread.join(timeout=5)
            self.close_pipes()
