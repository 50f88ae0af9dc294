"""The script engine: include flattening, loading every script on a real server, NOSCRIPT recovery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from pybull._lua import LuaLoadError, flatten, load_scripts, lua_dir
from pybull.keys import QUEUE_KEY_SUFFIXES, QueueKeys

LUA = lua_dir()


def test_include_is_emitted_once_and_nested(tmp_path: Path) -> None:
    inc = tmp_path / "includes"
    inc.mkdir()
    (inc / "a.lua").write_text('--- @include "b"\nlocal function a() return b() end\n')
    (inc / "b.lua").write_text("local function b() return 1 end\n")
    out = flatten('--- @include "a"\n--- @include "b"\nreturn a()\n', inc, origin="t.lua")
    assert out.count("local function b()") == 1
    assert out.index("local function b()") < out.index("local function a()")


def test_include_cycle_and_missing_include_fail_loudly(tmp_path: Path) -> None:
    inc = tmp_path / "includes"
    inc.mkdir()
    (inc / "a.lua").write_text('--- @include "b"\n')
    (inc / "b.lua").write_text('--- @include "a"\n')
    with pytest.raises(LuaLoadError, match="cycle"):
        flatten('--- @include "a"\n', inc, origin="t.lua")
    with pytest.raises(LuaLoadError, match="missing include 'nope'"):
        flatten('--- @include "nope"\n', inc, origin="t.lua")


def test_every_include_is_used_by_some_script() -> None:
    used: set[str] = set()
    pattern = re.compile(r'^---\s*@include\s+"([\w\-/]+)"', re.M)
    for path in [*LUA.glob("commands/*.lua"), *LUA.glob("includes/*.lua")]:
        used.update(pattern.findall(path.read_text()))
    defined = {p.stem for p in LUA.glob("includes/*.lua")}
    assert defined - used == set()


def test_lua_queue_keys_match_python_key_order() -> None:
    text = (LUA / "includes" / "queue_keys.lua").read_text()
    pairs = re.findall(r'(?:\["?)?([\w]+)"?\]?\s*=\s*KEYS\[(\d+)\]', text)
    lua_order = [name for name, _ in sorted(pairs, key=lambda p: int(p[1]))]
    python_order = [s.replace("-", "_").replace(":", "_") for s in QUEUE_KEY_SUFFIXES]
    assert lua_order == python_order
    assert len(QueueKeys("q").all) == len(QUEUE_KEY_SUFFIXES)


def test_every_command_declares_all_queue_keys() -> None:
    for script in load_scripts().values():
        assert script.numkeys == len(QUEUE_KEY_SUFFIXES), script.name


async def test_every_script_loads_on_the_server(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        for script in load_scripts().values():
            sha = await client.script_load(script.source)
            assert len(sha) == 40, script.name
    finally:
        await client.aclose()


async def test_scripts_survive_script_flush(redis_url: str, queue_name: str) -> None:
    """A worker must not break when the server forgets its scripts (restart, SCRIPT FLUSH)."""
    from pybull import Queue

    queue = Queue(queue_name, connection=redis_url)
    admin = aioredis.Redis.from_url(redis_url)
    try:
        await queue.pause()
        await admin.script_flush()
        await queue.resume()
        assert not await queue.is_paused()
        await admin.script_flush()
        job = await queue.add("after-flush", {"n": 1})
        assert await queue.get_job_state(job.id) == "waiting"
    finally:
        await queue.close()
        await admin.aclose()
