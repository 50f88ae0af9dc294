"""Connection handling: where pybull connects, and one clear message for each way that fails."""

from __future__ import annotations

import logging

import pytest
import redis.asyncio as aioredis

from pybull._connection import RedisConnection, client_from_url, redact, url_from_env
from pybull._server import EmbeddedServer, free_port
from pybull.errors import ConnectionError, ServerVersionError, ValidationError


def test_env_url_wins_then_bull_style_variables_then_default() -> None:
    assert url_from_env({"REDIS_URL": "redis://h:1/2", "REDIS_HOST": "x"}) == "redis://h:1/2"
    assert url_from_env({}) == "redis://127.0.0.1:6379/0"
    url = url_from_env(
        {"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_PASSWORD": "p@ss", "REDIS_USERNAME": "app",
         "REDIS_DB": "3", "REDIS_TLS": "true"}
    )  # fmt: skip
    assert url == "rediss://app:p%40ss@cache:6380/3"
    pool = client_from_url(url).connection_pool
    assert pool.connection_kwargs["password"] == "p@ss"
    assert pool.connection_kwargs["username"] == "app"
    assert pool.connection_kwargs["db"] == 3


def test_password_is_never_printed() -> None:
    assert redact("redis://u:secret@h:1/0") == "redis://u:***@h:1/0"


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379", "redis://h:99999/0"])
def test_malformed_urls_are_rejected_before_connecting(url: str) -> None:
    with pytest.raises(ValidationError, match="redis://"):
        RedisConnection(url)


async def test_unreachable_server_gives_one_actionable_error() -> None:
    conn = RedisConnection(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConnectionError, match=r"cannot connect to Redis at 127\.0\.0\.1:.*Start the server"):
        await conn.ensure_ready()
    await conn.close()


async def test_wrong_password_says_so() -> None:
    with EmbeddedServer("any") as server:
        admin = aioredis.Redis.from_url(server.url)
        await admin.config_set("requirepass", "right")
        await admin.aclose()
        conn = RedisConnection(f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(ConnectionError, match="rejected the credentials"):
            await conn.ensure_ready()
        await conn.close()
        good = RedisConnection(f"redis://:right@127.0.0.1:{server.port}/0")
        await good.ensure_ready()
        await good.close()


async def test_too_old_server_is_refused(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = RedisConnection(redis_url)

    async def old_info(section: str) -> dict[str, str]:
        return {"redis_version": "5.0.7"}

    monkeypatch.setattr(conn.client, "info", old_info)
    with pytest.raises(ServerVersionError, match=r"5\.0\.7; pybull needs 6\.2\.0"):
        await conn.ensure_ready()
    await conn.close()


async def test_eviction_policy_warning(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    admin = aioredis.Redis.from_url(redis_url)
    await admin.config_set("maxmemory-policy", "allkeys-lru")
    try:
        conn = RedisConnection(redis_url)
        with caplog.at_level(logging.WARNING, logger="pybull"):
            await conn.ensure_ready()
        await conn.close()
        assert "Eviction policy is allkeys-lru" in caplog.text
    finally:
        await admin.config_set("maxmemory-policy", "noeviction")
        await admin.aclose()


async def test_user_client_is_not_modified(redis_url: str) -> None:
    """We derive our own retry-free client; the caller's client keeps its own settings."""
    user = aioredis.Redis.from_url(redis_url)
    before = user.get_retry()
    conn = RedisConnection(user)
    await conn.ensure_ready()
    assert user.get_retry() is before
    assert conn.client.get_retry() is not None and conn.client.get_retry().get_retries() == 0
    assert (
        conn.client.connection_pool.connection_kwargs["port"]
        == user.connection_pool.connection_kwargs["port"]
    )
    await conn.close()
    await user.aclose()
