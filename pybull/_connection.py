"""Turning what the user gives (URL, client, environment, nothing) into clients pybull can trust.

Two things matter beyond convenience:

* **No blind resends.** redis-py retries a command after a connection error by default. For a Lua
  script that changes a job's state, a reply lost after the script ran would run it twice (a job
  completed twice, a counter bumped twice). Every client built here has command retries switched
  off; callers that meet a connection error find out what happened by reading the job back.
* **Errors that say what to fix.** A wrong URL, a refused connection, a bad password or a server
  that is too old each become one :class:`pybull.errors.ConnectionError` with the remedy in it.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import quote, urlsplit

import redis.exceptions as rexc
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pybull._lua import Scripts
from pybull.errors import ConnectionError, ServerVersionError, ValidationError

log = logging.getLogger("pybull")

#: LPOS (6.0.6), LMOVE and GETDEL (6.2) and fractional BZPOPMIN timeouts (6.0) are used by our scripts.
MIN_SERVER_VERSION = (6, 2, 0)
DEFAULT_URL = "redis://127.0.0.1:6379/0"

ConnectionLike = str | Redis | None


def url_from_env(environ: dict[str, str] | None = None) -> str:
    """``REDIS_URL``, else the ``REDIS_HOST``/``REDIS_PORT``/... variables Bull apps already set."""
    env = os.environ if environ is None else environ
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    if not any(k in env for k in ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB", "REDIS_TLS")):
        return DEFAULT_URL
    tls = env.get("REDIS_TLS", "").lower() in ("1", "true", "yes", "on")
    scheme = "rediss" if tls else "redis"
    host = env.get("REDIS_HOST") or "127.0.0.1"
    port = env.get("REDIS_PORT") or "6379"
    db = env.get("REDIS_DB") or "0"
    auth = ""
    if env.get("REDIS_PASSWORD"):
        user = quote(env.get("REDIS_USERNAME", ""), safe="")
        auth = f"{user}:{quote(env['REDIS_PASSWORD'], safe='')}@"
    return f"{scheme}://{auth}{host}:{port}/{db}"


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


def client_from_url(url: str, **overrides: Any) -> Redis:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValidationError(
            f"connection URL {redact(url)!r} must start with redis://, rediss:// or unix:// "
            "(for example redis://127.0.0.1:6379/0)"
        )
    try:
        if parts.port is not None and not 0 < parts.port < 65536:
            raise ValueError("port out of range")
        pool = ConnectionPool.from_url(url, decode_responses=True, retry=_no_retry(), **overrides)
    except ValueError as exc:
        raise ValidationError(f"malformed connection URL {redact(url)!r}: {exc}") from exc
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its sockets


def client_like(client: Redis, **overrides: Any) -> Redis:
    """A new client on the same server and credentials as ``client``, with pybull's settings.

    We never change the caller's client: it may rely on its own retry policy or decoding.
    """
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": True, "retry": _no_retry(), **overrides}
    kwargs.pop("retry_on_error", None)
    new_pool = ConnectionPool(connection_class=pool.connection_class, **kwargs)
    return Redis.from_pool(new_pool)


def describe_target(client: Redis) -> str:
    kw = client.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix:{kw['path']}"
    return f"{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}"


def translate_error(exc: Exception, target: str) -> ConnectionError:
    """One actionable message per way a connection fails."""
    text = str(exc).rstrip(".")
    if isinstance(exc, rexc.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
        return ConnectionError(
            f"Redis at {target} rejected the credentials ({text}). Check the password/username in the "
            "URL or REDIS_PASSWORD/REDIS_USERNAME."
        )
    if isinstance(exc, rexc.TimeoutError):
        return ConnectionError(f"Redis at {target} did not answer in time ({text}). Is the host reachable?")
    if isinstance(exc, rexc.ConnectionError | OSError):
        return ConnectionError(
            f"cannot connect to Redis at {target}: {text}. Start the server or point pybull at it with "
            "a redis:// URL or REDIS_URL."
        )
    return ConnectionError(f"Redis at {target}: {text}")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


class RedisConnection:
    """A client plus its registered scripts, checked once against the server before first use."""

    def __init__(self, connection: ConnectionLike = None, *, client_name: str | None = None) -> None:
        if isinstance(connection, Redis):
            self._template: str | Redis = connection
            self.client = client_like(connection)
        else:
            url = connection if connection is not None else url_from_env()
            self._template = url
            self.client = client_from_url(url)
        self.client_name = client_name
        self.target = describe_target(self.client)
        self.scripts = Scripts(self.client)
        self.server_version: tuple[int, ...] = ()
        self._ready = False

    def blocking_client(self, *, socket_timeout: float | None, client_name: str | None = None) -> Redis:
        """A separate single-purpose client for blocking reads (BZPOPMIN, XREAD BLOCK).

        ``socket_timeout`` bounds every call so a half-open connection can never hang a worker.
        """
        overrides: dict[str, Any] = {"socket_timeout": socket_timeout, "max_connections": 2}
        if client_name:
            overrides["client_name"] = client_name
        if isinstance(self._template, Redis):
            return client_like(self._template, **overrides)
        return client_from_url(self._template, **overrides)

    async def ensure_ready(self) -> None:
        """Check the server once: reachable, authenticated, new enough; warn on a lossy eviction policy."""
        if self._ready:
            return
        try:
            info = await self.client.info("server")
        except (rexc.RedisError, OSError) as exc:
            await self.client.connection_pool.disconnect()
            raise translate_error(exc, self.target) from exc
        version_text = str(info.get("redis_version", "0.0.0"))
        self.server_version = parse_version(version_text)
        if self.server_version < MIN_SERVER_VERSION:
            raise ServerVersionError(
                f"Redis at {self.target} is version {version_text}; pybull needs "
                f"{'.'.join(map(str, MIN_SERVER_VERSION))} or newer (LPOS, LMOVE, GETDEL). "
                "Upgrade the server."
            )
        await self._warn_on_eviction()
        self._ready = True

    async def _warn_on_eviction(self) -> None:
        try:
            memory = await self.client.info("memory")
            policy = str(memory.get("maxmemory_policy", "noeviction"))
        except rexc.ResponseError:
            return
        if policy != "noeviction":
            log.warning(
                'IMPORTANT! Eviction policy is %s. It should be "noeviction" (Redis at %s may drop jobs).',
                policy,
                self.target,
            )

    async def close(self) -> None:
        await self.client.aclose()
