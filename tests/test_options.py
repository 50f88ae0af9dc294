"""Job options: validated before Redis, stored exactly as Node BullMQ 6.7 stores them (wire-format 3.2).

The expected dicts below are what a Node 6.7.0 producer stored for the same options (checked live
against /tmp/nodeprobe): the stored ``opts`` is what Node workers and Bull Board read back.
"""

from __future__ import annotations

from typing import Any

import pytest

from pybull.errors import ValidationError
from pybull.options import (
    JobOptions,
    keep_jobs_rule,
    merge_options,
    parse_job_options,
    public_opts,
    stored_job_opts,
    validate_job_id,
)


def stored(options: dict[str, Any]) -> dict[str, Any]:
    return stored_job_opts("job", {}, options)[1]


def test_full_option_set_is_stored_with_node_names_and_abbreviations() -> None:
    opts = stored(
        {
            "job_id": "u-1",
            "delay": 5000,
            "priority": 2,
            "attempts": 3,
            "backoff": {"type": "exponential", "delay": 1000},
            "lifo": False,
            "remove_on_complete": True,
            "remove_on_fail": {"age": 3600, "count": 500},
            "keep_logs": 100,
            "deduplication": {"id": "k", "ttl": 10000, "keep_last_if_active": True},
            "stack_trace_limit": 3,
            "size_limit": 1000,
            "telemetry": {"metadata": "m", "omit_context": True},
        }
    )
    assert opts == {
        "jobId": "u-1",
        "delay": 5000,
        "priority": 2,
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 1000},
        "lifo": False,
        "removeOnComplete": True,
        "removeOnFail": {"age": 3600, "count": 500},
        "kl": 100,
        "de": {"id": "k", "ttl": 10000, "keepLastIfActive": True},
        "stackTraceLimit": 3,
        "sizeLimit": 1000,
        "tm": "m",
        "omc": True,
    }


def test_camel_case_and_snake_case_give_the_same_stored_opts() -> None:
    camel = {"removeOnComplete": 5, "keepLogs": 2, "deduplication": {"id": "x", "keepLastIfActive": True}}
    snake = {
        "remove_on_complete": 5,
        "keep_logs": 2,
        "deduplication": {"id": "x", "keep_last_if_active": True},
    }
    assert (
        stored(camel)
        == stored(snake)
        == {
            "removeOnComplete": 5,
            "kl": 2,
            "de": {"id": "x", "keepLastIfActive": True},
            "attempts": 0,
        }
    )


def test_defaults_match_node_job_constructor() -> None:
    # attempts: 0 is always added; a numeric backoff becomes {type: fixed, delay: n}; no jobId unless custom
    assert stored({}) == {"attempts": 0}
    assert stored_job_opts("job", {}, None)[1] == {"attempts": 0}
    assert stored({"backoff": 1000}) == {"backoff": {"type": "fixed", "delay": 1000}, "attempts": 0}
    assert stored({"failParentOnFailure": True, "parent": {"id": "P1", "queue": "bull:pq"}}) == {
        "fpof": True,
        "parent": {"id": "P1", "queue": "bull:pq"},
        "attempts": 0,
    }
    # a custom backoff type is left to the worker's strategy
    assert stored({"backoff": {"type": "linear"}})["backoff"] == {"type": "linear"}
    # JavaScript numbers: 5.0 is an integer
    assert stored({"delay": 5.0})["delay"] == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delay": -1}, "delay"),
        ({"priority": 2097152}, "priority"),
        ({"priority": -1}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"attempts": 0}, "attempts"),
        ({"backoff": {"type": "fixed"}}, "needs a delay"),
        ({"backoff": {"type": "exponential", "delay": -5}}, "backoff"),
        ({"backoff": {"type": "custom", "jitter": 1.5}}, "jitter"),
        ({"lifo": "yes"}, "lifo"),
        ({"removeOnFail": {"age": 1, "cnt": 2}}, "cnt"),
        ({"lockDuration": 5}, "lockDuration"),
        ({"debounce": {"id": "x"}}, "Debounce option has been removed"),
        ({"repeat": {"every": 1000}}, "job scheduler"),
        ({"deduplication": {"ttl": 5}}, "deduplication.id"),
        (
            {"deduplication": {"id": "d"}, "parent": {"id": "p", "queue": "bull:q"}},
            "Deduplication and parent options cannot be used together",
        ),
        (
            {"failParentOnFailure": True, "ignoreDependencyOnFailure": True},
            "cannot be used together: failParentOnFailure, ignoreDependencyOnFailure",
        ),
    ],
)
def test_bad_options_raise_validation_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_job_options(options)


@pytest.mark.parametrize("job_id", ["123", "0", "-5", "0:1", "a:b", "a:b:c:d", ""])
def test_job_ids_node_refuses_are_refused(job_id: str) -> None:
    with pytest.raises(ValidationError):
        validate_job_id(job_id)
    with pytest.raises(ValidationError):
        parse_job_options({"job_id": job_id})


@pytest.mark.parametrize("job_id", ["0123", "12a", "+5", "a:b:c", "repeat:x:1700000000000", "u-1", "1e3"])
def test_job_ids_node_accepts_are_accepted(job_id: str) -> None:
    assert validate_job_id(job_id) == job_id


def test_integer_job_id_is_refused() -> None:
    with pytest.raises(ValidationError, match="integers"):
        validate_job_id(123)


def test_data_must_be_json_and_error_names_the_job() -> None:
    with pytest.raises(ValidationError, match="'sendmail'"):
        stored_job_opts("sendmail", {"when": object()}, None)
    with pytest.raises(ValidationError, match="sendmail"):
        stored_job_opts("sendmail", float("nan"), None)


def test_size_limit_counts_utf8_bytes_of_the_json() -> None:
    data = {"s": "é" * 10}  # {"s":"éééééééééé"} = 8 + 20 bytes
    assert stored_job_opts("big", data, {"size_limit": 28})[0] == '{"s":"éééééééééé"}'
    with pytest.raises(ValidationError, match="The size of job big exceeds the limit 27 bytes"):
        stored_job_opts("big", data, {"size_limit": 27})


def test_merge_options_later_layers_win_key_by_key() -> None:
    merged = merge_options({"attempts": 3, "removeOnComplete": True}, {"remove_on_complete": 10}, None)
    assert merged == {"attempts": 3, "remove_on_complete": 10}
    model = JobOptions(attempts=2)
    assert merge_options(model, {"delay": 5}) == {"attempts": 2, "delay": 5}


@pytest.mark.parametrize(
    ("value", "default", "rule"),
    [
        (None, None, {"count": -1}),
        (True, None, {"count": 0}),
        (False, None, {"count": -1}),
        (5, None, {"count": 5}),
        ({"age": 3600}, None, {"age": 3600}),
        ({"age": 60, "count": 10, "limit": 100}, None, {"age": 60, "count": 10, "limit": 100}),
        (None, 7, {"count": 7}),
        (None, {"age": 1}, {"age": 1}),
        (False, True, {"count": -1}),
    ],
)
def test_keep_jobs_rule_follows_the_wire_format_table(value: Any, default: Any, rule: dict[str, int]) -> None:
    assert keep_jobs_rule(value, default) == rule


def test_keep_jobs_rule_rejects_garbage() -> None:
    with pytest.raises(ValidationError):
        keep_jobs_rule("forever")
    with pytest.raises(ValidationError):
        keep_jobs_rule({"age": -1})


def test_public_opts_expands_abbreviations() -> None:
    assert public_opts({"kl": 3, "de": {"id": "x"}, "fpof": True, "tm": "m", "attempts": 0}) == {
        "keepLogs": 3,
        "deduplication": {"id": "x"},
        "failParentOnFailure": True,
        "telemetry": {"metadata": "m"},
        "attempts": 0,
    }
