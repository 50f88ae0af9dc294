"""The one place that loads and calls Lua scripts.

Scripts live in ``lua/commands/<name>-<numkeys>.lua``; shared helpers in ``lua/includes/<name>.lua``
are pulled in by a line ``--- @include "<name>"``. Includes are flattened once per process: each
include appears once per script however often it is requested (so helpers can include helpers),
a cycle or a missing include fails loudly at load time, never halfway through a state change.

Calls go through redis-py's ``register_script``: EVALSHA, and on NOSCRIPT (server restart,
``SCRIPT FLUSH``) one SCRIPT LOAD and a second EVALSHA. That resend is safe: NOSCRIPT means the
script never ran. Any *other* lost reply must not be resent; the clients pybull builds have
command retries switched off for that reason (see ``_connection``).

The hottest calls (``Queue.add``, the worker's finish-and-fetch) use :class:`PackedScript`, the
same EVALSHA with the constant part of the command encoded once and sent on connections of its
own, under the same rules.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis.exceptions as rexc
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

from pybull.errors import PybullError, ScriptError, error_for_code

_INCLUDE = re.compile(r'^---\s*@include\s+"([\w\-/]+)"\s*$', re.M)
_COMMAND_FILE = re.compile(r"^(?P<name>[A-Za-z][\w]*)-(?P<numkeys>\d+)\.lua$")

KeyT = str | bytes
ArgT = str | bytes | int | float


class LuaLoadError(PybullError):
    """A script or include is missing, malformed or includes itself."""


def lua_dir() -> Path:
    """``pybull/lua`` inside a wheel; the repo's top-level ``lua/`` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "lua", here.parent / "lua"):
        if (candidate / "commands").is_dir():
            return candidate
    raise LuaLoadError(f"no Lua scripts found next to {here}")


@dataclass(frozen=True)
class LuaScript:
    name: str
    numkeys: int
    source: str


def flatten(source: str, includes_dir: Path, *, origin: str) -> str:
    """Replace include lines with the included text, depth first, each include once."""
    emitted: set[str] = set()

    def expand(text: str, stack: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            inc = match.group(1)
            if inc in stack:
                raise LuaLoadError(f"include cycle in {origin}: {' -> '.join((*stack, inc))}")
            if inc in emitted:
                return ""
            path = includes_dir / f"{inc}.lua"
            if not path.is_file():
                raise LuaLoadError(f"{origin}: missing include {inc!r} ({path})")
            emitted.add(inc)
            return f"-- include {inc}\n" + expand(path.read_text(), (*stack, inc))

        return _INCLUDE.sub(replace, text)

    return expand(source, (origin,))


@cache
def load_scripts(root: Path | None = None) -> dict[str, LuaScript]:
    """Every command script, flattened; cached because the files never change while we run."""
    base = root or lua_dir()
    scripts: dict[str, LuaScript] = {}
    for path in sorted((base / "commands").glob("*.lua")):
        match = _COMMAND_FILE.match(path.name)
        if not match:
            raise LuaLoadError(f"script file name {path.name!r} is not <name>-<numkeys>.lua")
        name = match["name"]
        if name in scripts:
            raise LuaLoadError(f"two scripts named {name!r}")
        source = flatten(path.read_text(), base / "includes", origin=path.name)
        scripts[name] = LuaScript(name, int(match["numkeys"]), source)
    return scripts


class Scripts:
    """Scripts registered on one client; create one per client, never share across clients."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._registered: dict[str, tuple[LuaScript, AsyncScript]] = {
            name: (script, client.register_script(script.source)) for name, script in load_scripts().items()
        }

    def __contains__(self, name: str) -> bool:
        return name in self._registered

    async def call(
        self,
        name: str,
        keys: Sequence[KeyT],
        args: Sequence[ArgT] = (),
        *,
        pipeline: Pipeline | None = None,
    ) -> Any:
        """Run script ``name``. With ``pipeline`` the call is queued and its result comes from execute()."""
        try:
            script, registered = self._registered[name]
        except KeyError:
            raise LuaLoadError(f"no script named {name!r}") from None
        if len(keys) != script.numkeys:
            raise LuaLoadError(f"{name} takes {script.numkeys} keys, got {len(keys)}")
        if pipeline is not None:
            pipeline.scripts.add(registered)  # type: ignore[arg-type]  # redis-py types it as the sync Script
            return pipeline.evalsha(registered.sha, len(keys), *keys, *args)
        try:
            return await registered(keys=keys, args=args)
        except ResponseError as exc:
            raise ScriptError(f"{name}: {exc}", script=name) from exc

    async def call_checked(
        self, name: str, keys: Sequence[KeyT], args: Sequence[ArgT] = (), *, job_id: str = "", state: str = ""
    ) -> Any:
        """As :meth:`call`, turning a negative integer result into its typed exception."""
        result = await self.call(name, keys, args)
        raise_for_code(result, script=name, job_id=job_id, state=state)
        return result


def raise_for_code(result: Any, *, script: str, job_id: str = "", state: str = "") -> None:
    if isinstance(result, int) and result < 0:
        raise error_for_code(result, script=script, job_id=job_id, state=state or "expected")


def _bulk(value: ArgT) -> bytes:
    """One RESP bulk string; numbers as Redis reads them (ints exactly, floats by repr)."""
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, int):
        data = b"%d" % value
    else:
        data = repr(float(value)).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


class PackedScript:
    """``await packed(arg, ...)`` = ``EVALSHA <sha> <numkeys> <keys...> <fixed...> <arg...>``, cheaply.

    For the calls made once per job, redis-py's generic command path (argument encoding, pool
    checkout with its health probe, a timeout task around every send) costs more Python than the
    script costs Redis. Here the constant head (sha, key count, KEYS, fixed leading ARGV) is encoded
    once, and calls go out on connections this object owns: an idle one is reused, a new one is
    opened when all are busy, and at most ``max_idle`` are kept between calls. A caller with a
    fixed number of overlapping calls (the worker's finisher: at most two batches out) so gets
    that many dedicated connections; one with open-ended callers (``Queue.add``) a small pool.

    Safety rules, as for every pybull call: a NOSCRIPT reply means the script never ran, so the
    script is loaded and the call sent again; an error reply becomes :class:`ScriptError` (the
    connection is in a clean state and stays); anything else (connection lost, timeout,
    cancellation) drops that connection and propagates, never resent: the caller reads back what
    happened. The timeout is the client's ``socket_timeout``, enforced for the whole call by one
    shared timer instead of a timeout context per call.
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        keys: Sequence[str],
        fixed: Sequence[ArgT] = (),
        *,
        max_idle: int = 1,
        timeout: float | None = -1.0,
    ) -> None:
        script = load_scripts()[name]
        if len(keys) != script.numkeys:
            raise LuaLoadError(f"{name} takes {script.numkeys} keys, got {len(keys)}")
        self.name = name
        self._client = client
        self._source = script.source
        sha = hashlib.sha1(script.source.encode()).hexdigest()  # what SCRIPT LOAD answers
        parts: list[ArgT] = ["EVALSHA", sha, len(keys), *keys, *fixed]
        self._head = b"".join(_bulk(p) for p in parts)
        self._head_count = len(parts)
        pool = client.connection_pool
        self._conn_kwargs = {**pool.connection_kwargs, "socket_timeout": None}
        self._conn_class = pool.connection_class
        configured = pool.connection_kwargs.get("socket_timeout")
        self._timeout: float | None = configured if timeout is not None and timeout < 0 else timeout
        self._max_idle = max_idle
        self._idle: list[AbstractConnection] = []
        self._busy: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def encode(self, args: Sequence[ArgT]) -> bytes:
        """The whole command as sent (exposed for tests and for reading what goes on the wire)."""
        return b"*%d\r\n%s%s" % (self._head_count + len(args), self._head, b"".join(map(_bulk, args)))

    async def __call__(self, *args: ArgT) -> Any:
        payload = self.encode(args)
        for _attempt in range(2):
            try:
                return await self._roundtrip(payload)
            except NoScriptError:
                await self._client.script_load(self._source)  # never ran: load and send again
            except ResponseError as exc:
                raise ScriptError(f"{self.name}: {exc}", script=self.name) from exc
        raise ScriptError(f"{self.name}: the server keeps forgetting the script", script=self.name)

    async def _roundtrip(self, payload: bytes) -> Any:
        conn = self._idle.pop() if self._idle else self._conn_class(**self._conn_kwargs)
        task = asyncio.current_task()
        timeout = self._timeout
        if timeout and task is not None:
            loop = asyncio.get_running_loop()
            self._busy[task] = loop.time() + timeout
            if self._timer is None:
                self._timer = loop.call_later(timeout, self._watch)
        try:
            await conn.send_packed_command(payload, check_health=False)
            reply = await conn.read_response(timeout=math.inf)
        except ResponseError:
            await self._keep(conn)
            raise
        except asyncio.CancelledError:
            await conn.disconnect(nowait=True)
            if task is not None and task in self._expired and task.uncancel() == 0:
                raise rexc.TimeoutError(f"{self.name}: no reply within {timeout} s") from None
            raise
        except BaseException:
            # half-sent command or unread reply: the connection's state is unknown, never reuse it
            await conn.disconnect(nowait=True)
            raise
        finally:
            if task is not None:
                self._busy.pop(task, None)
                self._expired.discard(task)
        if self._closed or len(self._idle) >= self._max_idle:
            await conn.disconnect()
        else:
            self._idle.append(conn)
        return reply

    async def _keep(self, conn: AbstractConnection) -> None:
        if self._closed or len(self._idle) >= self._max_idle:
            await conn.disconnect()
        else:
            self._idle.append(conn)

    def _watch(self) -> None:
        """The shared timer: cancel calls past their deadline, re-arm while any call is out."""
        self._timer = None
        if not self._busy:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, deadline in list(self._busy.items()):
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        pending = [d for t, d in self._busy.items() if t not in self._expired]
        if pending:
            self._timer = loop.call_at(min(pending), self._watch)

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()
