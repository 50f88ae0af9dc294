"""The one place that loads and calls Lua scripts.

Scripts live in ``lua/commands/<name>-<numkeys>.lua``; shared helpers in ``lua/includes/<name>.lua``
are pulled in by a line ``--- @include "<name>"``. Includes are flattened once per process: each
include appears once per script however often it is requested (so helpers can include helpers),
a cycle or a missing include fails loudly at load time, never halfway through a state change.

Calls go through redis-py's ``register_script``: EVALSHA, and on NOSCRIPT (server restart,
``SCRIPT FLUSH``) one SCRIPT LOAD and a second EVALSHA. That resend is safe: NOSCRIPT means the
script never ran. Any *other* lost reply must not be resent; the clients pybull builds have
command retries switched off for that reason (see ``_connection``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

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
