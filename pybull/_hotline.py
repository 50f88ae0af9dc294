"""A dedicated connection for the worker's hottest call (moveToFinished + fetch).

Going through ``Redis.execute_command`` costs more Python per call than the script costs Redis:
pool checkout and health probe, argument encoding, retry wrapper. This line keeps one connection
for one caller at a time (the finisher never has two batches in flight) and sends the EVALSHA
with its constant head (sha, key count, the 19 keys, the base key) packed once.

Same safety rules as every pybull client: a NOSCRIPT reply (the script never ran) is answered by
loading the script and sending again; any other failure drops the connection and propagates, and
the caller reads back what happened instead of re-sending (``_processing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError

from pybull._lua import load_scripts
from pybull.errors import ScriptError


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _encode(value: str | bytes | int | float) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return str(value).encode()
    return repr(float(value)).encode()


class HotLine:
    """``await line.call(arg, ...)`` = EVALSHA <script> 19 <keys> <base> <args...> on its own socket."""

    def __init__(self, client: Redis, script: str, keys: Sequence[str], base: str, *, timeout: float) -> None:
        self._client = client
        self._name = script
        source = load_scripts()[script].source
        self._source = source
        self._timeout = timeout
        self._conn: AbstractConnection | None = None
        self._sha = ""
        self._fixed: list[bytes] = [_bulk(k.encode()) for k in keys]
        self._fixed.append(_bulk(base.encode()))
        self._numkeys = len(keys)
        self._head = b""

    async def _ensure(self) -> AbstractConnection:
        if not self._sha:
            self._sha = str(await self._client.script_load(self._source))
            self._head = _bulk(b"EVALSHA") + _bulk(self._sha.encode()) + _bulk(str(self._numkeys).encode())
            self._head += b"".join(self._fixed)
        if self._conn is None:
            self._conn = self._client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        await self._conn.connect()
        return self._conn

    def _packed(self, args: Sequence[str | bytes | int | float]) -> bytes:
        count = 3 + len(self._fixed) + len(args)
        body = b"".join(_bulk(_encode(a)) for a in args)
        return b"*%d\r\n%s%s" % (count, self._head, body)

    async def call(self, *args: str | bytes | int | float) -> Any:
        for _attempt in range(2):
            conn = await self._ensure()
            try:
                await conn.send_packed_command(self._packed(args), check_health=False)
                return await conn.read_response(timeout=self._timeout)
            except NoScriptError:
                self._sha = ""  # the script never ran: load it and send again
                continue
            except ResponseError as exc:
                raise ScriptError(f"{self._name}: {exc}", script=self._name) from exc
            except BaseException:
                await conn.disconnect(nowait=True)
                raise
        raise ScriptError(f"{self._name}: script could not be loaded", script=self._name)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.disconnect(nowait=True)
            self._conn = None
