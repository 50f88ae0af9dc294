"""The built wheel carries every Lua script and works outside the repository."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from pybull._lua import load_scripts

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(180)
def test_wheel_installs_outside_the_repo_and_loads_every_script(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(dist.glob("pybull-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True
    )
    probe = (
        "import pybull, pybull._lua as l, json; d = l.lua_dir(); s = l.load_scripts(); "
        "print(json.dumps({'file': pybull.__file__, 'lua': str(d), 'scripts': sorted(s)}))"
    )
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    assert str(env_dir) in found["file"], "imported the repo copy instead of the wheel"
    assert found["lua"].startswith(str(env_dir)) and found["lua"].endswith("pybull/lua")
    assert found["scripts"] == sorted(load_scripts())
    cli = subprocess.run([env_dir / "bin" / "pybull", "--help"], check=False, capture_output=True, text=True)
    assert cli.returncode == 0 and "demo" in cli.stdout
