"""RFC 3339 timestamps: which strings AWS accepts, exact instant ordering, AWS's output format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asl.timestamps import InstantKey, format_timestamp, instant_key, is_timestamp, parse_timestamp

CASES = Path("/work/shared/conformance/cases")

VALID = [
    "2016-03-14T01:59:00Z",
    "2016-03-05T21:29:29.243167252Z",  # nanoseconds [O]
    "2023-12-13T07:09:46.000000Z",  # [O]
    "2023-12-13T07:10:01.00Z",  # [O]
    "2012-10-09T19:00:55+01:00",
    "2012-10-09T19:00:55-00:00",
    "2012-10-09T19:00:55.1-23:59",
    "2024-02-29T23:59:59Z",  # leap day
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2012-10-09T19:00:55.0123456789012Z",  # more digits than nanoseconds
]

INVALID = [
    "2016-12-05 21:29:29Z",  # NO_T [O]
    "2016-12-05T21:29:29",  # NO_Z [O]
    "2016-13-05T21:29:29Z",  # INVALID_DATE [O]
    "2016-12-05T25:29:29Z",  # INVALID_TIME [O]
    "05-12-2016T21:29:29Z",  # INVALID_ISO [O]
    "2023-12-13T07:10:32.000000",  # [O]
    "2023-02-24 12:15:56.832957",  # [O] (Choice: not a timestamp)
    "2012-10-09t19:00:55Z",  # lowercase t (spec: uppercase only)
    "2012-10-09T19:00:55z",  # lowercase z
    "2012-10-09T19:00Z",  # no seconds
    "2012-10-09T19:00:55.Z",  # empty fraction
    "2012-10-09T19:00:55+0100",  # offset without colon
    "2012-10-09T19:00:55+01",  # offset without minutes
    "2012-10-09T19:00:55+24:00",  # offset hour out of range
    "2012-10-09T19:00:55+01:60",
    "2023-02-29T00:00:00Z",  # not a leap year
    "2023-04-31T00:00:00Z",
    "2016-12-31T23:59:60Z",  # leap second
    "2016-12-31T23:60:00Z",
    "0000-01-01T00:00:00Z",
    "2023-02-24",
    "2012-10-09T19:00:55Z ",
    " 2012-10-09T19:00:55Z",
    "2012-10-09T19:00:55Z\n",
    "\uff12\uff10\uff11\uff12-10-09T19:00:55Z",  # fullwidth (non-ASCII) digits
    "",
]


@pytest.mark.parametrize("text", VALID)
def test_accepts_rfc3339_timestamps(text: str) -> None:
    assert parse_timestamp(text) is not None
    assert instant_key(text) is not None
    assert is_timestamp(text)


@pytest.mark.parametrize("text", INVALID)
def test_rejects_what_aws_rejects(text: str) -> None:
    assert parse_timestamp(text) is None
    assert instant_key(text) is None
    assert not is_timestamp(text)


@pytest.mark.parametrize("value", [None, 0, 1.5, True, [], {}, ["2016-03-14T01:59:00Z"]])
def test_non_strings_are_not_timestamps(value: object) -> None:
    assert not is_timestamp(value)


def test_parse_keeps_the_offset_and_truncates_to_microseconds() -> None:
    parsed = parse_timestamp("2016-03-05T21:29:29.243167252+01:30")
    assert parsed == datetime(2016, 3, 5, 21, 29, 29, 243167, timezone(timedelta(hours=1, minutes=30)))
    assert parse_timestamp("2016-03-05T21:29:29Z") == datetime(2016, 3, 5, 21, 29, 29, tzinfo=UTC)
    assert parse_timestamp("2016-03-05T21:29:29.5Z") == datetime(2016, 3, 5, 21, 29, 29, 500000, tzinfo=UTC)


def _key(text: str) -> InstantKey:
    key = instant_key(text)
    assert key is not None, text
    return key


def test_instant_key_compares_instants_not_text() -> None:
    assert _key("2012-10-09T19:00:55Z") == _key("2012-10-09T20:00:55.000+01:00")
    assert _key("2012-10-09T19:00:55.5Z") == _key("2012-10-09T19:00:55.50000Z")
    assert _key("2012-10-09T19:00:55Z") < _key("2012-10-09T19:00:55.000000001Z")
    # Digits beyond microseconds still count, though a datetime cannot hold them.
    assert _key("2012-10-09T19:00:55.2431672521Z") < _key("2012-10-09T19:00:55.243167253Z")
    assert _key("2012-10-09T19:00:55.5Z") > _key("2012-10-09T19:00:55.49999Z")
    assert _key("2012-10-09T00:30:00+01:00") < _key("2012-10-08T23:59:59.9Z")


def test_format_timestamp_is_utc_milliseconds_with_z() -> None:
    assert format_timestamp(datetime(2019, 3, 26, 20, 14, 13, 192999, UTC)) == "2019-03-26T20:14:13.192Z"
    assert format_timestamp(datetime(2019, 3, 26, 22, 14, 13, 0, timezone(timedelta(hours=2)))) == (
        "2019-03-26T20:14:13.000Z"
    )
    assert (
        format_timestamp(datetime(2019, 3, 26, 20, 14, 13, 1000)) == "2019-03-26T20:14:13.001Z"
    )  # naive = UTC
    assert format_timestamp(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05.000Z"


utc_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(utc_datetimes)
def test_format_then_parse_round_trips_to_the_millisecond(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert parse_timestamp(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@given(utc_datetimes, utc_datetimes, offsets, offsets)
def test_instant_key_orders_like_datetimes(
    first: datetime, second: datetime, tz1: timezone, tz2: timezone
) -> None:
    one = first.astimezone(tz1).isoformat(timespec="microseconds").replace("+00:00", "Z")
    two = second.astimezone(tz2).isoformat(timespec="microseconds").replace("+00:00", "Z")
    key_one, key_two = _key(one), _key(two)
    assert (key_one < key_two) == (first < second)
    assert (key_one == key_two) == (first == second)
    assert parse_timestamp(one) == first


@given(st.text(max_size=40))
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse_timestamp(text)
    assert (parsed is None) == (instant_key(text) is None) == (not is_timestamp(text))


# --- recorded Wait behaviour: a TimestampPath/JSONata Timestamp AWS refused must not parse ------------------


def _wait_timestamp_cases() -> list[tuple[str, str, bool]]:
    """(case name, timestamp string, AWS accepted it) for each Wait case that feeds it a timestamp."""
    if not CASES.is_dir():
        return []
    found = []
    for case in sorted(CASES.iterdir()):
        if "wait" not in case.name:
            continue
        definition = json.loads((case / "definition.json").read_text())
        data = json.loads((case / "input.json").read_text())
        expected = json.loads((case / "expected.json").read_text())
        for state in definition["States"].values():
            field = state.get("TimestampPath") or state.get("Timestamp")
            if state["Type"] != "Wait" or not isinstance(field, str):
                continue
            if field.startswith("$."):
                value = data.get(field[2:])
            elif field.startswith("{% $states.input."):
                value = data.get(field.removeprefix("{% $states.input.").removesuffix(" %}"))
            else:
                value = field
            if isinstance(value, str):
                refused = "cannot be parsed as" in (
                    expected.get("cause") or ""
                ) or "does not reference a valid" in (expected.get("cause") or "")
                found.append((case.name, value, not refused))
    return found


WAIT_CASES = _wait_timestamp_cases()


@pytest.mark.skipif(not CASES.is_dir(), reason="conformance corpus (/work/shared) not available")
def test_corpus_has_wait_timestamp_cases() -> None:
    accepted = {accepted for _, _, accepted in WAIT_CASES}
    assert len(WAIT_CASES) >= 15 and accepted == {True, False}


@pytest.mark.skipif(not CASES.is_dir(), reason="conformance corpus (/work/shared) not available")
@pytest.mark.parametrize(("name", "text", "accepted"), WAIT_CASES, ids=[name for name, _, _ in WAIT_CASES])
def test_agrees_with_recorded_wait_states(name: str, text: str, accepted: bool) -> None:
    assert (parse_timestamp(text) is not None) == accepted, f"{name}: {text!r}"
