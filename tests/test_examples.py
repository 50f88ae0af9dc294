"""Every example in examples/ runs end to end against the test server and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: example file -> lines its output must contain (what a reader of the example expects to see).
EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        "completed welcome {'sent': True}",
        "state: completed logs: ['sending to a@b.c']",
    ],
    "typed_messages.py": [
        "WORKOUT_UPDATE completed: 5",
        "NOTIFICATION completed: 5",
        "EMAIL completed: 5",
        "EMAIL failed: 1",
        "invalid EMAIL message",
        "(attempts made: 1)",
    ],
    "email_report_worker.py": [
        "'low-stock-alert': 2",
        "'report-ready': 2",
        "retried after an SMTP timeout: 2",
        "progress 100",
        "report logs: query done; aggregate done; render done; upload done",
    ],
    "webhook_dlq.py": [
        "delivered: 6, dead-lettered: 6",
        "'analytics': 6",
        "'legacy': 9",
        "legacy after 3 attempt(s): POST https://legacy.example.com/hooks: 503",
        "old-partner after 1 attempt(s): POST https://old-partner.example.com/hooks: 410 Gone",
    ],
    "sync_web_producer.py": [
        "POST /exports -> 202",
        "POST /exports?wait=1 -> 200",
        "'rows': 1200",
        "'state': 'completed'",
    ],
}


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_example_runs(example: str, redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    env["REDIS_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        env=env, capture_output=True, text=True, timeout=45, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in EXPECTED[example]:
        assert line in proc.stdout, f"{line!r} missing from:\n{proc.stdout}\n{proc.stderr}"
