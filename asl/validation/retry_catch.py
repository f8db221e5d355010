"""`Retry` and `Catch` on Task, Parallel and Map states.

`ErrorEquals` is a non-empty array of strings; `States.ALL` must stand alone and
only in the last retrier / catcher (an error matched by it would hide every later
one). Retrier numbers have the ranges of AWS's schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from asl.validation.context import JSONATA, JSONPATH, MAX_SECONDS, Context, Obj, State, is_int, is_number
from asl.validation.expressions import check_jsonata_value
from asl.validation.fields import check_enum, check_object_fields, check_required, check_result_path
from asl.validation.variables import check_assign

STATES_ALL: Final = "States.ALL"
MAX_DELAY_SECONDS: Final = 31622400

_RETRIER_FIELDS: Final = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}
    | {"Comment"}
)
_CATCHER_FIELDS: Final = frozenset({"ErrorEquals", "Next", "Assign", "Comment"})


def check_retry(ctx: Context, st: State) -> None:
    for at, retrier, last in _elements(ctx, st, "Retry", "retrier"):
        check_object_fields(ctx, retrier, at, st.ql, _RETRIER_FIELDS)
        check_required(ctx, retrier, at, ("ErrorEquals",))
        _check_error_equals(ctx, retrier, at, last=last, kind="retrier")
        _check_int(ctx, retrier, at, "IntervalSeconds", 1, MAX_SECONDS)
        _check_int(ctx, retrier, at, "MaxAttempts", 0, MAX_SECONDS)
        _check_int(ctx, retrier, at, "MaxDelaySeconds", 1, MAX_DELAY_SECONDS)
        if "BackoffRate" in retrier:
            rate = retrier["BackoffRate"]
            if not is_number(rate) or rate < 1.0:
                message = "The field 'BackoffRate' must be a number greater than or equal to 1.0"
                ctx.schema(message, f"{at}/BackoffRate")
        check_enum(ctx, retrier, at, "JitterStrategy", ("FULL", "NONE"))


def check_catch(ctx: Context, st: State) -> None:
    for at, catcher, last in _elements(ctx, st, "Catch", "catcher"):
        check_object_fields(
            ctx, catcher, at, st.ql, _CATCHER_FIELDS, frozenset({"ResultPath"}), frozenset({"Output"})
        )
        check_required(ctx, catcher, at, ("ErrorEquals", "Next"))
        _check_error_equals(ctx, catcher, at, last=last, kind="catcher")
        if "Next" in catcher:
            if isinstance(catcher["Next"], str):
                st.transitions.append((catcher["Next"], f"{at}/Next"))
            else:
                ctx.schema("The field 'Next' must be a string (the name of a state)", f"{at}/Next")
        if st.ql == JSONPATH and "ResultPath" in catcher:
            check_result_path(ctx, catcher["ResultPath"], f"{at}/ResultPath")
        if st.ql == JSONATA and "Output" in catcher:
            check_jsonata_value(ctx, catcher["Output"], f"{at}/Output", "Output", allow_error_output=True)
        if "Assign" in catcher:
            check_assign(ctx, catcher["Assign"], f"{at}/Assign", st.ql, st.scope, allow_error_output=True)


def _elements(ctx: Context, st: State, name: str, kind: str) -> Iterator[tuple[str, Obj, bool]]:
    """(pointer, object, is_last) of each retrier / catcher; reports non-objects."""
    items = st.value.get(name)
    if items is None:
        return
    pointer = st.at(name)
    if not isinstance(items, list):
        ctx.schema(f"The field '{name}' must be an array of {kind}s", pointer)
        return
    for i, item in enumerate(items):
        at = f"{pointer}/{i}"
        if isinstance(item, dict):
            yield at, item, i == len(items) - 1
        else:
            ctx.schema(f"A {kind} must be an object", at)


def _check_error_equals(ctx: Context, item: dict[str, Any], at: str, *, last: bool, kind: str) -> None:
    if "ErrorEquals" not in item:
        return
    names = item["ErrorEquals"]
    pointer = f"{at}/ErrorEquals"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        ctx.schema("The field 'ErrorEquals' must be an array of error names (strings)", pointer)
        return
    if not names:
        ctx.schema("Value cannot be empty", pointer)
        return
    if STATES_ALL in names and (len(names) > 1 or not last):
        where = "in the last element" if not last else "by itself"
        ctx.schema(
            f"States.ALL can only appear in the last element, and by itself (this {kind} has it not {where})",
            pointer,
        )


def _check_int(ctx: Context, item: dict[str, Any], at: str, name: str, low: int, high: int) -> None:
    if name not in item:
        return
    value = item[name]
    if not is_int(value) or not low <= value <= high:
        ctx.schema(f"The field '{name}' must be an integer between {low} and {high}", f"{at}/{name}")
