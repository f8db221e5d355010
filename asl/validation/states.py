"""Rules specific to the simple state types: Pass, Wait, Succeed and Fail."""

from __future__ import annotations

from typing import Any, Final

from asl.validation.context import (
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    PASS_RESULT_IS_STATIC,
    Context,
    State,
    is_int,
)
from asl.validation.expressions import (
    check_jsonata_or,
    check_path_or_intrinsic,
    check_reference_path,
    is_timestamp,
)
from asl.validation.fields import check_exclusive

_WAIT_JSONPATH: Final = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
_WAIT_JSONATA: Final = ("Seconds", "Timestamp")


def check_pass(ctx: Context, st: State) -> None:
    if st.ql == JSONPATH and "Result" in st.value:
        key = _dollar_key(st.value["Result"])
        if key is not None:
            ctx.warning(
                PASS_RESULT_IS_STATIC,
                f"The field '{key}' inside 'Result' ends with '.$', but 'Result' is used as is; "
                "use 'Parameters' to compute values from the input",
                st.at("Result"),
            )


def _dollar_key(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(".$"):
                return key
            found = _dollar_key(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _dollar_key(item)
            if found is not None:
                return found
    return None


def check_wait(ctx: Context, st: State) -> None:
    value = st.value
    names = _WAIT_JSONPATH if st.ql == JSONPATH else _WAIT_JSONATA
    present = [name for name in names if name in value]
    if not present:
        listed = ", ".join(f"'{n}'" for n in names)
        ctx.schema(f"Exactly one of {listed} is required", st.pointer, at_key=True)
    elif len(present) > 1:
        ctx.schema(
            f"Only one of 'Seconds', 'Timestamp', 'SecondsPath' or 'TimestampPath' may be specified "
            f"(found '{present[0]}' and '{present[1]}')",
            st.at(present[1]),
            at_key=True,
        )
    if "Seconds" in value:
        seconds = value["Seconds"]
        literal = st.ql == JSONPATH or check_jsonata_or(
            ctx, seconds, st.at("Seconds"), "Seconds", is_int, "a non-negative integer"
        )
        if literal and (not is_int(seconds) or not 0 <= seconds <= MAX_SECONDS):
            message = f"The field 'Seconds' must be an integer between 0 and {MAX_SECONDS}"
            ctx.schema(message, st.at("Seconds"))
    if "Timestamp" in value:
        stamp = value["Timestamp"]
        literal = st.ql == JSONPATH or check_jsonata_or(
            ctx, stamp, st.at("Timestamp"), "Timestamp", _is_str, "an RFC 3339 timestamp string"
        )
        if literal and not is_timestamp(stamp):
            ctx.schema("String does not match RFC3339 timestamp", st.at("Timestamp"))
    if st.ql == JSONPATH:
        for name in ("SecondsPath", "TimestampPath"):
            if name in value:
                check_reference_path(ctx, value[name], st.at(name), name)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def check_fail(ctx: Context, st: State) -> None:
    value = st.value
    for name in ("Error", "Cause"):
        check_exclusive(ctx, value, st.pointer, name, f"{name}Path")
        if name in value:
            text = value[name]
            if st.ql == JSONATA:
                check_jsonata_or(ctx, text, st.at(name), name, _is_str, "a string")
            elif not isinstance(text, str):
                ctx.schema(f"The field '{name}' must be a string", st.at(name))
        path_name = f"{name}Path"
        if path_name in value and st.ql == JSONPATH:
            check_path_or_intrinsic(ctx, value[path_name], st.at(path_name), path_name)
