"""Encoding at the Redis boundary: JSON for what Node reads, msgpack for structured script arguments.

Job data, return values and progress are JSON because Node BullMQ stores them that way and because
JSON cannot execute code when another client writes a hostile payload (no pickle here, ever).
"""

from __future__ import annotations

import json
from typing import Any

import msgpack

from pybull.errors import ValidationError

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any, *, what: str = "value") -> str:
    """JSON text the way ``JSON.stringify`` writes it (compact, UTF-8, no NaN/Infinity)."""
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} is not JSON-serialisable: {exc}") from exc


def loads(text: str | bytes | None, default: Any = None) -> Any:
    """Parse JSON written by any client; missing text gives ``default``."""
    if text is None or text in ("", b""):
        return default
    return json.loads(text)


def loads_lenient(text: str | bytes | None, default: Any = None) -> Any:
    """Parse JSON, returning the raw text when it is not JSON (Node's guarded ``JSON.parse``)."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return text.decode() if isinstance(text, bytes) else text


def pack(value: Any) -> bytes:
    """msgpack for script arguments that are structured (decoded in Lua with ``cmsgpack.unpack``)."""
    return msgpack.packb(value, use_bin_type=False)


def to_str(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def decode_hash(raw: dict[Any, Any]) -> dict[str, str]:
    """HGETALL result (bytes or str keys) -> ``str`` dict."""
    out: dict[str, str] = {}
    for k, v in raw.items():
        out[k.decode() if isinstance(k, bytes) else str(k)] = v.decode() if isinstance(v, bytes) else str(v)
    return out


def flat_pairs_to_dict(flat: list[Any]) -> dict[str, str]:
    """A Lua ``HGETALL`` reply (flat list) -> dict."""
    it = iter(flat)
    return {to_str(k) or "": to_str(v) or "" for k, v in zip(it, it, strict=True)}
