"""Key names Node BullMQ reads, and the Lua error-code table."""

from __future__ import annotations

import re

import pytest

from pybull._lua import lua_dir
from pybull.errors import ERROR_CODES, JobNotFoundError, LockMissingError, ValidationError, error_for_code
from pybull.keys import QueueKeys


def test_keys_follow_bullmq_layout() -> None:
    keys = QueueKeys("emails")
    assert keys.wait == "bull:emails:wait"
    assert keys.waiting_children == "bull:emails:waiting-children"
    assert keys.stalled_check == "bull:emails:stalled-check"
    assert keys.job("42") == "bull:emails:42"
    assert keys.lock("42") == "bull:emails:42:lock"
    assert keys.logs("42") == "bull:emails:42:logs"
    assert keys.dedup("k") == "bull:emails:de:k"
    assert keys.metrics("completed") == "bull:emails:metrics:completed"
    assert keys.qualified_name == "bull:emails"


def test_hash_tags_are_kept_verbatim() -> None:
    assert QueueKeys("q", prefix="{bull}").wait == "{bull}:q:wait"
    assert QueueKeys("{q}").job("1") == "bull:{q}:1"


def test_connection_names_match_node_worker_discovery() -> None:
    keys = QueueKeys("q2")
    assert keys.connection_name("w-one") == "bull:cTI=:w:w-one"
    assert keys.connection_name() == "bull:cTI="
    assert keys.connection_name(kind="events") == "bull:cTI=:qe"


@pytest.mark.parametrize("name", ["", "a:b"])
def test_bad_queue_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError):
        QueueKeys(name)


def test_every_lua_error_code_is_mapped() -> None:
    codes: set[int] = set()
    for path in lua_dir().rglob("*.lua"):
        codes.update(-int(n) for n in re.findall(r"return\s+-(\d+)", path.read_text()))
    assert codes <= set(ERROR_CODES), codes - set(ERROR_CODES)


def test_error_codes_become_typed_exceptions() -> None:
    err = error_for_code(-2, script="moveToFinished", job_id="7")
    assert isinstance(err, LockMissingError)
    assert err.code == -2 and err.script == "moveToFinished" and err.job_id == "7"
    assert "Missing lock for job 7" in str(err)
    assert isinstance(error_for_code(-1, script="x"), JobNotFoundError)
