"""The job function rq workers import by name (``rq_jobs.noop``)."""

from __future__ import annotations

from typing import Any


def noop(data: dict[str, Any]) -> None:
    return None
