"""Backoff arithmetic matches BullMQ's (wire-format 9): the delay a retry waits."""

from __future__ import annotations

import pytest

from pybull import ValidationError
from pybull import backoff as b


async def test_number_means_fixed() -> None:
    assert b.normalize(300) == {"type": "fixed", "delay": 300}
    assert await b.calculate(300, 1, RuntimeError(), None) == 300
    assert await b.calculate(None, 1, RuntimeError(), None) is None


async def test_exponential_doubles_from_the_first_retry() -> None:
    spec = {"type": "exponential", "delay": 100}
    assert [await b.calculate(spec, n, RuntimeError(), None) for n in (1, 2, 3, 4)] == [100, 200, 400, 800]


async def test_jitter_stays_in_range_and_uses_javascript_rounding() -> None:
    assert b.fixed(1000, 0.5, rand=lambda: 0.0) == 500
    assert b.fixed(1000, 0.5, rand=lambda: 0.999999) == 999
    assert b.exponential(100, 3, 0.25, rand=lambda: 0.0) == 300
    assert b.exponential(2.5, 1) == 3  # Math.round(2.5) == 3, Python's round(2.5) == 2


async def test_custom_strategy_sync_or_async_and_unknown_type() -> None:
    seen: list[tuple[int, str]] = []

    def strategy(attempts: int, kind: str, err: BaseException, job: object) -> int:
        seen.append((attempts, kind))
        return 42

    async def async_strategy(attempts: int, kind: str, err: BaseException, job: object) -> int:
        return -1

    assert await b.calculate({"type": "mine"}, 2, RuntimeError(), None, strategy) == 42
    assert seen == [(2, "mine")]
    assert await b.calculate({"type": "mine"}, 2, RuntimeError(), None, async_strategy) == -1
    with pytest.raises(ValidationError, match="Unknown backoff strategy mine"):
        await b.calculate({"type": "mine"}, 1, RuntimeError(), None)
