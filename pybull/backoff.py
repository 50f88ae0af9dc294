"""Retry delays, computed in the worker as BullMQ does (wire-format 9); Lua only sees the final ms.

``attempts_made`` below is the count *including* the attempt that just failed (BullMQ passes
``job.attemptsMade + 1``), so the first retry of an exponential backoff waits ``delay``.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

from pybull.errors import ValidationError

#: ``fn(attempts_made, backoff_type, error, job) -> delay ms`` (-1 = do not retry); may be async.
BackoffStrategy = Callable[[int, str, BaseException, Any], float | Awaitable[float]]

BUILTIN_TYPES = ("fixed", "exponential")


def normalize(backoff: Any) -> dict[str, Any] | None:
    """``n`` means ``{"type": "fixed", "delay": n}``; a dict passes through; anything else is none."""
    if isinstance(backoff, bool):
        return None
    if isinstance(backoff, int | float):
        return {"type": "fixed", "delay": backoff}
    if isinstance(backoff, dict) and backoff:
        return backoff
    return None


def _jittered(base: float, jitter: float, rand: Callable[[], float]) -> int:
    # uniform in [base * (1 - jitter), base), floored like Node's Math.floor
    return math.floor(rand() * base * jitter + base * (1 - jitter))


def fixed(delay: float, jitter: float = 0, *, rand: Callable[[], float] = random.random) -> int:
    if jitter > 0:
        return _jittered(delay, jitter, rand)
    return int(delay)


def exponential(
    delay: float, attempts_made: int, jitter: float = 0, *, rand: Callable[[], float] = random.random
) -> int:
    # JavaScript's Math.round rounds halves up, Python's round() to even: floor(x + 0.5) matches JS.
    top = math.floor(2 ** (attempts_made - 1) * delay + 0.5)
    if jitter > 0:
        return _jittered(top, jitter, rand)
    return int(top)


async def calculate(
    backoff: Any,
    attempts_made: int,
    error: BaseException,
    job: Any,
    custom: BackoffStrategy | None = None,
    *,
    rand: Callable[[], float] = random.random,
) -> int | None:
    """Delay in ms before the next attempt; ``None`` when no backoff is configured (retry at once).

    -1 from a custom strategy means "do not retry". An unknown type without a custom strategy
    raises :class:`ValidationError`, as Node throws "Unknown backoff strategy".
    """
    spec = normalize(backoff)
    if spec is None:
        return None
    kind = str(spec.get("type", ""))
    delay = float(spec.get("delay") or 0)
    jitter = float(spec.get("jitter") or 0)
    if kind == "fixed":
        return fixed(delay, jitter, rand=rand)
    if kind == "exponential":
        return exponential(delay, attempts_made, jitter, rand=rand)
    if custom is None:
        raise ValidationError(
            f"Unknown backoff strategy {kind}. If a custom backoff strategy is used, pass "
            "backoff_strategy= (or settings={'backoff_strategy': fn}) to the Worker."
        )
    result = custom(attempts_made, kind, error, job)
    if inspect.isawaitable(result):
        result = await result
    return int(result)
