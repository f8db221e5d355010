"""The JSONata value model shared by the adapter, the AWS functions and the templates.

JSONata distinguishes *undefined* (nothing) from JSON ``null``; Step Functions fails a
field whose expression returns undefined, so the distinction has to survive the trip
out of the library. `UNDEFINED` is that sentinel. `JsonataError` carries a JSONata
error code and the message jsonata-js would render, because AWS quotes both verbatim
in the cause of a `States.QueryEvaluationError`.
"""

from __future__ import annotations

import math
from typing import Any, Final


class _Undefined:
    """JSONata's undefined: a value that is not there (not JSON null)."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final[Any] = _Undefined()


class JsonataError(Exception):
    """A JSONata evaluation error: `code` (e.g. ``T1006``) and jsonata-js's `message`.

    `code` is empty for the few failures AWS reports without one (resource limits); the
    cause then ends in ``during evaluation: <message>`` instead of ``. <code>: <message>``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"JsonataError({self.code!r}, {self.message!r})"


class UnsupportedResult(Exception):
    """An expression produced a value JSON cannot hold (a function)."""


# A double beyond this magnitude no longer holds every integer exactly; AWS prints such
# values in exponent notation, so they stay floats here.
_EXACT_INTEGER_LIMIT: Final = 2.0**63


def normalize_number(value: float) -> Any:
    """A JSONata number as AWS prints it: integral doubles as integers (``3`` not ``3.0``).

    Non-finite numbers have no JSON literal; AWS writes them as the names JavaScript
    gives them.
    """
    if value.is_integer():
        return int(value) if abs(value) < _EXACT_INTEGER_LIMIT else value
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def json_type_name(value: Any) -> str:
    """The JSON type name AWS uses in "Expected 'array', but was '<name>'" causes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
