"""Where jsonata-python's builtins differ from jsonata-js (which AWS matches), JS-faithful versions.

- `$string` (and the ``&`` operator, which calls the same routine): numbers are
  written as JavaScript writes ``Number(n.toPrecision(15))``, at every depth, so
  ``$string(1e20)`` is ``"100000000000000000000"`` (AWS, floci #2669) and
  ``$string(0.1 + 0.2)`` is ``"0.3"``; non-finite numbers are D3001.
- `$number`: only JSON number syntax (and the 0x/0o/0b prefixes) is cast; anything
  else is D3030 instead of a Python ValueError.
- ``%`` and ``/``: JavaScript's remainder (not truncated) and Infinity/NaN on division by zero;
- signatures: JSON null is its own type (``l``), so ``$uppercase(null)`` is jsonata-js's
  T0410 naming argument 1 of "uppercase"; the T0410 argument number is the first argument
  that does not fit (the library always said 1).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any, Final

from jsonata import JException, Jsonata
from jsonata import functions as _functions
from jsonata import parser as _parser
from jsonata.signature import Signature
from jsonata.utils import Utils

_NULL: Final = Utils.NULL_VALUE
_JSON_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_PREFIXED: Final = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def js_number_text(value: float | int) -> str:
    """JavaScript's ``String(Number(value.toPrecision(15)))``."""
    number = float(f"{float(value):.15g}")
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    text = repr(number)
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    if exponent_text and -7 < exponent < 21:
        return format(Decimal(text), "f")
    if not exponent_text:
        return text
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def _is_function(value: Any) -> bool:
    return isinstance(value, _parser.Parser.Symbol | Jsonata.JFunctionCallable)


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise JException("D3001", -1)


def _to_serialisable(value: Any) -> Any:
    """Replace numbers by markers holding their JS text, functions by "" (JSON.stringify's replacer)."""
    if value is _NULL or value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        _check_finite(value)
        return _JsNumber(js_number_text(value))
    if isinstance(value, dict):
        return {str(k): _to_serialisable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_serialisable(value[i]) for i in range(len(value))]
    if _is_function(value):
        return ""
    return str(value)


class _JsNumber(float):
    """A float whose JSON text is fixed in advance (json's encoder calls float.__repr__)."""

    text: str

    def __new__(cls, text: str) -> _JsNumber:
        instance = super().__new__(cls, float(text))
        instance.text = text
        return instance

    def __repr__(self) -> str:
        return self.text


def _float_text(value: float) -> str:
    return value.text if isinstance(value, _JsNumber) else float.__repr__(value)


class _Encoder(json.JSONEncoder):
    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        # The C encoder formats floats itself; the pure-Python one takes the formatter as a parameter.
        return json.encoder._make_iterencode(  # type: ignore[attr-defined]
            {},
            self.default,
            json.encoder.py_encode_basestring,
            self.indent,
            _float_text,
            self.key_separator,
            self.item_separator,
            self.sort_keys,
            self.skipkeys,
            _one_shot,
        )(o, 0)


_COMPACT: Final = _Encoder(separators=(",", ":"), ensure_ascii=False)
_PRETTY: Final = _Encoder(indent="  ", separators=(",", ": "), ensure_ascii=False)


def string(arg: Any, prettify: Any = None) -> Any:
    """jsonata-js ``$string(arg, prettify)``."""
    if isinstance(arg, Utils.JList) and arg.outer_wrapper:
        arg = arg[0]
    if arg is None:
        return None
    if isinstance(arg, str):
        return arg
    if _is_function(arg):
        return ""
    if isinstance(arg, int | float) and not isinstance(arg, bool):
        _check_finite(arg)
        return js_number_text(arg)
    encoder = _PRETTY if prettify is True else _COMPACT
    return encoder.encode(_to_serialisable(arg))


def number(arg: Any) -> Any:
    """jsonata-js ``$number(arg)``."""
    if arg is None:
        return None
    if arg is _NULL:
        raise JException("T0410", -1, 1, "number")
    if isinstance(arg, bool):
        return 1 if arg else 0
    if isinstance(arg, int | float):
        return arg
    if isinstance(arg, str):
        base = _PREFIXED.get(arg[:2])
        try:
            if base is not None:
                return int(arg[2:], base)
            if _JSON_NUMBER.fullmatch(arg):
                return Utils.convert_number(float(arg))
        except (ValueError, OverflowError):
            pass
    raise JException("D3030", -1, arg)


_library_numeric: Final = Jsonata.evaluate_numeric_expression


def _numeric_expression(self: Jsonata, lhs: Any, rhs: Any, op: Any) -> Any:
    """JavaScript arithmetic where the library differs: ``%`` is the remainder (``5.5 % 2`` is
    1.5, the library truncated it) and dividing by zero gives Infinity/NaN instead of a Python
    ZeroDivisionError (AWS writes those as "Infinity"/"NaN", floci #2783)."""
    if (
        op not in ("%", "/")
        or lhs is None
        or rhs is None
        or not (Utils.is_numeric(lhs) and Utils.is_numeric(rhs))
    ):
        return _library_numeric(self, lhs, rhs, op)
    left, right = float(lhs), float(rhs)
    if right == 0:
        if op == "%" or left == 0:
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    if op == "/":
        return _library_numeric(self, lhs, rhs, op)
    return Utils.convert_number(math.fmod(left, right))


_library_symbol: Final = Signature.get_symbol


def _symbol(self: Signature, value: Any) -> str:
    """JSON null is type ``l`` in a signature (the library said "missing", so ``$uppercase(null)``
    slipped past the check and failed later without naming the argument)."""
    return "l" if value is _NULL else _library_symbol(self, value)


def _validation_error(self: Signature, _args: Any, bad_signature: str, function_name: str | None) -> None:
    """T0410 naming the first argument that does not fit (the library always named argument 1)."""
    pattern = "^"
    good_to = 0
    for param in self._params:
        pattern += param.regex
        match = re.match(pattern, bad_signature)
        if match is None:
            break
        good_to = match.end()
    raise JException("T0410", -1, good_to + 1, function_name)


def install() -> None:
    """Bind the fixed builtins: the function table the evaluator looks up, and the routine ``&`` calls."""
    Signature.get_symbol = _symbol
    Signature.throw_validation_error = _validation_error
    Jsonata.evaluate_numeric_expression = _numeric_expression
    _functions.Functions.string = staticmethod(string)
    _functions.Functions.number = staticmethod(number)
    for name, signature in (("string", "<x-b?:s>"), ("number", "<(nsb)-:n>")):
        native = Jsonata.JNativeFunction(name, signature, _functions.Functions, name)
        Jsonata.static_frame.bind(name, native)
