"""Retry and Catch: ErrorEquals, States.ALL placement, retrier ranges, catcher targets."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import assert_valid, errors, machine, only_error

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def task(**fields: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": FN, "End": True, **fields}
    return machine({"T": state, "Handler": {"Type": "Fail"}}, start="T")


CATCH_ALL = {"ErrorEquals": ["States.ALL"], "Next": "Handler"}


def test_valid_retry_and_catch() -> None:
    retry = [
        {
            "ErrorEquals": ["States.Timeout"],
            "IntervalSeconds": 2,
            "MaxAttempts": 0,
            "BackoffRate": 1.5,
            "MaxDelaySeconds": 10,
            "JitterStrategy": "FULL",
            "Comment": "c",
        },
        {"ErrorEquals": ["States.ALL"]},
    ]
    assert_valid(
        task(
            Retry=retry,
            Catch=[{"ErrorEquals": ["A", "B"], "Next": "Handler", "ResultPath": "$.e"}, CATCH_ALL],
        )
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("IntervalSeconds", 0),
        ("IntervalSeconds", 1.5),
        ("MaxAttempts", -1),
        ("BackoffRate", 0.5),
        ("BackoffRate", "2"),
        ("MaxDelaySeconds", 0),
        ("MaxDelaySeconds", 31622401),
        ("JitterStrategy", "HALF"),
    ],
)
def test_retrier_ranges(field: str, value: Any) -> None:
    d = only_error(task(Retry=[{"ErrorEquals": ["X"], field: value}], Catch=[CATCH_ALL]))
    assert d.pointer == f"/States/T/Retry/0/{field}"


@pytest.mark.parametrize("value", [[], "States.ALL", [1], None])
def test_error_equals_shape(value: Any) -> None:
    d = only_error(task(Retry=[{"ErrorEquals": value}], Catch=[CATCH_ALL]))
    assert d.pointer == "/States/T/Retry/0/ErrorEquals"


def test_error_equals_required() -> None:
    assert errors(task(Retry=[{"MaxAttempts": 1}], Catch=[CATCH_ALL])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Retry/0")
    ]


def test_states_all_must_be_alone() -> None:
    d = only_error(task(Catch=[{"ErrorEquals": ["States.ALL", "X"], "Next": "Handler"}]))
    assert d.pointer == "/States/T/Catch/0/ErrorEquals"
    assert d.message.startswith("States.ALL can only appear in the last element, and by itself")


def test_states_all_must_be_last() -> None:
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]
    assert errors(task(Retry=retry, Catch=[CATCH_ALL])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Retry/0/ErrorEquals")
    ]


def test_catcher_needs_next_and_a_real_target() -> None:
    assert ("SCHEMA_VALIDATION_FAILED", "/States/T/Catch/0") in errors(task(Catch=[{"ErrorEquals": ["X"]}]))
    d = only_error(task(Catch=[{"ErrorEquals": ["X"], "Next": "Handlr"}, CATCH_ALL]))
    assert (d.code, d.pointer) == ("MISSING_TRANSITION_TARGET", "/States/T/Catch/0/Next")
    assert "did you mean 'Handler'?" in d.message


def test_catcher_target_is_reachable_through_the_catcher() -> None:
    assert_valid(task(Catch=[CATCH_ALL]))


def test_catcher_fields_per_language() -> None:
    d = only_error(task(Catch=[CATCH_ALL | {"Output": {}}]))
    assert d.pointer == "/States/T/Catch/0/Output"
    assert errors(task(Catch=[CATCH_ALL | {"ResultPath": "$$.x"}])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Catch/0/ResultPath")
    ]
    assert errors(task(Catch=[CATCH_ALL | {"Unknown": 1}])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Catch/0/Unknown")
    ]


def test_retry_must_be_an_array_of_objects() -> None:
    assert errors(task(Retry={"ErrorEquals": ["X"]}, Catch=[CATCH_ALL])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Retry")
    ]
    assert errors(task(Retry=["X"], Catch=[CATCH_ALL])) == [("SCHEMA_VALIDATION_FAILED", "/States/T/Retry/0")]
