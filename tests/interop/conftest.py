"""Fixtures for the Node BullMQ interop tests.

These tests run once, against Redis 7 (the server Node BullMQ is released against), instead of once
per server kind: ``redis_url`` is overridden here to point at a session Redis 7 (or at
``PYBULL_TEST_REDIS_URL`` when set). A missing ``node``/``node_modules`` makes every test here FAIL
with the install command: a skipped interop test would hide a broken compatibility.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from node import NodeError, check_installation

from pybull._server import EmbeddedServer
from pybull.errors import PybullError


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session", autouse=True)
def node_bullmq() -> str:
    """Fail (never skip) when Node BullMQ is not installed where run.mjs expects it."""
    try:
        return check_installation()
    except NodeError as exc:
        pytest.fail(f"interop tests need Node BullMQ: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def interop_server_url() -> Iterator[str]:
    if os.environ.get("PYBULL_TEST_REDIS_URL"):
        yield os.environ["PYBULL_TEST_REDIS_URL"]
        return
    try:
        server = EmbeddedServer("redis")
    except PybullError as exc:
        pytest.fail(f"interop tests run against redis-server 7: {exc}", pytrace=False)
    with server:
        yield server.url


@pytest.fixture
def redis_url(interop_server_url: str) -> str:
    """Overrides tests/conftest.py's per-server-kind ``redis_url``: interop runs on Redis 7 only."""
    return interop_server_url


@pytest.fixture
def node_base(redis_url: str, queue_name: str) -> dict[str, Any]:
    """The part of every Node command that says where the queue is."""
    return {"url": redis_url, "prefix": "bull", "queue": queue_name}
