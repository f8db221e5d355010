"""RFC 3339 timestamps as Step Functions reads and writes them.

The Choice `Timestamp*` operators, `IsTimestamp`, the Wait state's `Timestamp` /
`TimestampPath` and the context object's times all meet here, so every consumer
agrees on which strings are timestamps. The grammar is RFC 3339's `date-time`
with the ASL spec's extra restriction: the date/time separator MUST be an
uppercase ``T`` and UTC MUST be an uppercase ``Z`` (or a numeric ``+HH:MM`` /
``-HH:MM`` offset). Seconds are required; fractional seconds may have any number
of digits (AWS accepts nanoseconds). Recorded AWS rejections we match: a space
instead of ``T``, no ``Z``/offset, month 13, hour 25, a day-first date.

Instants are compared through `instant_key`, which is exact at any fractional
precision, because a `datetime` keeps only microseconds and two nanosecond
timestamps that differ in the 7th digit must not compare equal.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

_SECONDS_PER_DAY: Final = 86_400

# Groups: year, month, day, hour, minute, second, fraction digits, offset ('Z' or '+HH:MM').
_DATE_TIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)

InstantKey = tuple[int, str]
"""(whole seconds since 0001-01-01T00:00:00Z, fraction digits without trailing zeros).

Tuples order like instants: equal seconds fall back to comparing the fraction
digit strings, and for digit strings with trailing zeros stripped lexicographic
order is numeric order of ``0.<digits>``.
"""


class _Fields:
    """The validated parts of one timestamp string (parsed once, shared by the public helpers)."""

    __slots__ = ("day", "fraction", "hour", "minute", "offset_minutes", "second")

    def __init__(
        self, day: date, hour: int, minute: int, second: int, fraction: str, offset_minutes: int
    ) -> None:
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.fraction = fraction
        self.offset_minutes = offset_minutes


def _fields(text: str) -> _Fields | None:
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    # Leap seconds (:60) are refused: AWS's ISO parser rejects them and `datetime` cannot hold them.
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return None
    try:
        calendar_day = date(int(year), int(month), int(day))
    except ValueError:  # month 13, 30 February, year 0000
        return None
    if offset == "Z":
        offset_minutes = 0
    else:
        offset_hours, offset_mins = int(offset[1:3]), int(offset[4:6])
        if offset_hours > 23 or offset_mins > 59:
            return None
        offset_minutes = offset_hours * 60 + offset_mins
        if offset[0] == "-":
            offset_minutes = -offset_minutes
    return _Fields(calendar_day, int(hour), int(minute), int(second), fraction or "", offset_minutes)


def parse_timestamp(text: str) -> datetime | None:
    """The aware `datetime` for an RFC 3339 timestamp string, or None when AWS would refuse it.

    The result keeps the string's own offset (``Z`` becomes UTC). Fractional seconds
    beyond microseconds are truncated, as `datetime` cannot hold them; use
    `instant_key` to compare timestamps exactly.
    """
    fields = _fields(text) if isinstance(text, str) else None
    if fields is None:
        return None
    micros = int(fields.fraction[:6].ljust(6, "0"))
    tz = UTC if fields.offset_minutes == 0 else timezone(timedelta(minutes=fields.offset_minutes))
    day = fields.day
    return datetime(day.year, day.month, day.day, fields.hour, fields.minute, fields.second, micros, tz)


def instant_key(text: str) -> InstantKey | None:
    """An exact, orderable key for the instant a timestamp string names, or None if it is not one.

    Two strings naming the same instant (``...T20:00:00Z`` and ``...T21:00:00.000+01:00``)
    get equal keys; this is what the Choice `Timestamp*` operators compare.
    """
    fields = _fields(text)
    if fields is None:
        return None
    seconds = (
        fields.day.toordinal() * _SECONDS_PER_DAY
        + fields.hour * 3600
        + fields.minute * 60
        + fields.second
        - fields.offset_minutes * 60
    )
    return seconds, fields.fraction.rstrip("0")


def is_timestamp(value: Any) -> bool:
    """True when `value` is a JSON string holding a timestamp (the `IsTimestamp` test)."""
    return type(value) is str and _fields(value) is not None


def format_timestamp(dt: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and ``Z``, as AWS writes `$$.Execution.StartTime`.

    Example: ``2019-03-26T20:14:13.192Z``. Sub-millisecond digits are truncated; a
    naive `datetime` is taken to be UTC already (the engine's clock is UTC).
    """
    utc = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )
