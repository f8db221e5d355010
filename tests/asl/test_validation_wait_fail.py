"""Wait (exactly one timing field, RFC 3339 timestamps) and Fail (Error/Cause and their paths)."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import assert_valid, errors, machine, only_error


def wait(ql: str | None = None, **fields: Any) -> dict[str, Any]:
    top = {"QueryLanguage": ql} if ql else {}
    return machine({"W": {"Type": "Wait", "End": True, **fields}}, **top)


def fail(ql: str | None = None, **fields: Any) -> dict[str, Any]:
    top = {"QueryLanguage": ql} if ql else {}
    return machine({"F": {"Type": "Fail", **fields}}, **top)


@pytest.mark.parametrize(
    "fields",
    [
        {"Seconds": 0},
        {"Seconds": 99999999},
        {"Timestamp": "2016-03-14T01:59:00Z"},
        {"Timestamp": "2016-03-14T01:59:00.123+02:00"},
        {"SecondsPath": "$.s"},
        {"TimestampPath": "$$.Execution.Input.t"},
    ],
)
def test_valid_waits(fields: dict[str, Any]) -> None:
    assert_valid(wait(**fields))


def test_exactly_one_timing_field() -> None:
    d = only_error(wait())
    assert d.pointer == "/States/W"
    d = only_error(wait(Seconds=1, TimestampPath="$.t"))
    assert d.pointer == "/States/W/TimestampPath"


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"Seconds": -1}, "/States/W/Seconds"),
        ({"Seconds": 1.5}, "/States/W/Seconds"),
        ({"Seconds": "5"}, "/States/W/Seconds"),
        ({"SecondsPath": "s"}, "/States/W/SecondsPath"),
        ({"TimestampPath": "$.t[?(@.x)]"}, "/States/W/TimestampPath"),
    ],
)
def test_invalid_timing_values(fields: dict[str, Any], pointer: str) -> None:
    assert errors(wait(**fields)) == [("SCHEMA_VALIDATION_FAILED", pointer)]


@pytest.mark.parametrize(
    "stamp", ["2016-03-14 01:59:00Z", "2016-03-14T01:59:00", "2016-13-14T01:59:00Z", "now"]
)
def test_static_timestamps_are_rfc3339(stamp: str) -> None:
    d = only_error(wait(Timestamp=stamp))
    assert (d.pointer, d.message) == ("/States/W/Timestamp", "String does not match RFC3339 timestamp")


def test_jsonata_wait() -> None:
    assert_valid(wait(ql="JSONata", Seconds="{% $states.input.s %}"))
    assert_valid(wait(ql="JSONata", Timestamp="{% $states.input.t %}"))
    assert errors(wait(ql="JSONata", Timestamp="later")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/W/Timestamp")
    ]
    assert errors(wait(ql="JSONata", SecondsPath="$.s")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/W/SecondsPath"),
        ("SCHEMA_VALIDATION_FAILED", "/States/W"),
    ]


def test_valid_fails() -> None:
    assert_valid(fail())
    assert_valid(fail(Error="E", Cause="C"))
    assert_valid(fail(ErrorPath="$.e", CausePath="States.Format('{}', $.c)"))
    assert_valid(fail(ql="JSONata", Error="{% $states.input.e %}", Cause="plain"))


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"Error": "E", "ErrorPath": "$.e"}, "/States/F/ErrorPath"),
        ({"Cause": "C", "CausePath": "$.c"}, "/States/F/CausePath"),
        ({"Error": 1}, "/States/F/Error"),
        ({"CausePath": "c"}, "/States/F/CausePath"),
        ({"ErrorPath": "States.Nope()"}, "/States/F/ErrorPath"),
    ],
)
def test_invalid_fails(fields: dict[str, Any], pointer: str) -> None:
    assert errors(fail(**fields)) == [("SCHEMA_VALIDATION_FAILED", pointer)]


def test_fail_paths_are_jsonpath_only() -> None:
    d = only_error(fail(ql="JSONata", ErrorPath="$.e"))
    assert d.pointer == "/States/F/ErrorPath"
    assert "only supported for the 'JSONPath' QueryLanguage" in d.message
