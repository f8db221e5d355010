"""Python closures for the common, simple JSONata expressions (the interpreter is ~10-40 µs/call).

Covers: literals; ``$var`` and ``$var.a.b`` over objects; ``+ - * /``; ``= !=`` on
scalars; ``< <= > >=``; ``and``/``or``; ``&``; unary minus; ``?:``; ``{'k': ...}`` and
``[...]`` constructors; ``( single )``; ``$not``, ``$exists``, ``$string``, ``$merge``. Anything
else is not compiled. At run time a closure raises `Fallback` whenever a value leaves
the cases it reproduces exactly (an array mid-path, an object in ``=``, an error to
report, an unbound name that may be a builtin function); the caller then evaluates with
the library, which owns every error text. The closures are side-effect free, so the
fallback re-evaluation is safe. A hypothesis differential test holds them to the
library on generated expressions and bindings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from asl.jsonata import _fixes, _library
from asl.jsonata.core import UNDEFINED, normalize_number

Compiled = Callable[[Mapping[str, Any]], Any]


class Fallback(Exception):
    """This evaluation needs the library."""


_FALLBACK: Final = Fallback()
_UNSUPPORTED_ATTRIBUTES: Final = ("keep_array", "stages", "predicate", "group", "focus", "index", "tuple")
_SAFE_FUNCTIONS: Final = frozenset({"not", "exists", "string", "merge"})


def compile_node(handle: Any) -> Compiled | None:
    """A closure equivalent to the expression, or None when it is outside the subset."""
    try:
        return _node(handle.ast)
    except _NotCompilable:
        return None


class _NotCompilable(Exception):
    pass


def _node(node: Any) -> Compiled:
    for attribute in _UNSUPPORTED_ATTRIBUTES:
        if getattr(node, attribute, None):
            raise _NotCompilable
    kind, value = _library.node_kind(node)
    builder = _BUILDERS.get(kind or "")
    if builder is None:
        raise _NotCompilable
    return builder(node, value)


def _literal(node: Any, value: Any) -> Compiled:
    constant = normalize_number(value) if isinstance(value, float) else value
    return lambda _bindings: constant


def _variable(node: Any, name: Any) -> Compiled:
    if not name:
        raise _NotCompilable
    names_a_function = _library.is_function_value(_library._AWS_FRAME.lookup(name))

    def variable(bindings: Mapping[str, Any]) -> Any:
        value = bindings.get(name, UNDEFINED)
        if value is UNDEFINED and names_a_function:
            raise _FALLBACK  # the builtin function itself: the library knows
        return value

    return variable


def _path(node: Any, _value: Any) -> Compiled:
    steps = getattr(node, "steps", None) or []
    if len(steps) < 2:
        raise _NotCompilable
    head = _node(steps[0]) if _library.node_kind(steps[0])[0] == "variable" else None
    if head is None:
        raise _NotCompilable
    names: list[str] = []
    for step in steps[1:]:
        kind, name = _library.node_kind(step)
        if kind != "name" or any(getattr(step, a, None) for a in _UNSUPPORTED_ATTRIBUTES):
            raise _NotCompilable
        names.append(str(name))

    def path(bindings: Mapping[str, Any]) -> Any:
        value = head(bindings)
        for name in names:
            if type(value) is not dict:
                raise _FALLBACK
            value = value.get(name, UNDEFINED)
            if value is UNDEFINED:
                return UNDEFINED
        return value

    return path


def _is_number(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float and math.isfinite(value))


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (str, bool, int, float)


def _numeric(op: str) -> Callable[[float, float], float]:
    return {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
    }[op]


def _boolize(value: Any) -> bool:
    if value is UNDEFINED or value is None:
        return False
    kind = type(value)
    if kind is bool:
        return value
    if kind is str:
        return value != ""
    if kind is int or kind is float:
        return value != 0
    raise _FALLBACK


def _equal(left: Any, right: Any) -> bool:
    if not (_is_scalar(left) and _is_scalar(right)):
        raise _FALLBACK
    left_bool, right_bool = type(left) is bool, type(right) is bool
    if left_bool or right_bool:
        return left_bool and right_bool and left == right
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    return type(left) is type(right) and left == right


def _compare(op: str, left: Any, right: Any) -> Any:
    if left is UNDEFINED or right is UNDEFINED:
        for side in (left, right):
            if side is not UNDEFINED and not (type(side) is str or _is_number(side)):
                raise _FALLBACK
        return UNDEFINED
    if _is_number(left) and _is_number(right):
        left, right = float(left), float(right)
    elif not (type(left) is str and type(right) is str):
        raise _FALLBACK
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _text(value: Any) -> str:
    if value is UNDEFINED:
        return ""
    if type(value) is str:
        return value
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if _is_number(value):
        return _fixes.js_number_text(value)
    raise _FALLBACK


def _binary(node: Any, op: Any) -> Compiled:
    left = _node(node.lhs)
    right = _node(node.rhs)
    if op in ("and", "or"):
        is_and = op == "and"

        def logical(bindings: Mapping[str, Any]) -> Any:
            first = _boolize(left(bindings))
            if first != is_and:
                return first
            return _boolize(right(bindings))

        return logical
    if op in ("+", "-", "*", "/"):
        apply = _numeric(op)

        def numeric(bindings: Mapping[str, Any]) -> Any:
            a, b = left(bindings), right(bindings)
            for side in (a, b):
                if side is not UNDEFINED and not _is_number(side):
                    raise _FALLBACK
            if a is UNDEFINED or b is UNDEFINED:
                return UNDEFINED
            try:
                result = apply(float(a), float(b))
            except ZeroDivisionError:
                raise _FALLBACK from None
            if not math.isfinite(result):
                raise _FALLBACK
            return normalize_number(result)

        return numeric
    if op in ("=", "!="):
        negate = op == "!="

        def equality(bindings: Mapping[str, Any]) -> Any:
            a, b = left(bindings), right(bindings)
            if a is UNDEFINED or b is UNDEFINED:
                return False
            return _equal(a, b) != negate

        return equality
    if op in ("<", "<=", ">", ">="):
        operator = str(op)
        return lambda bindings: _compare(operator, left(bindings), right(bindings))
    if op == "&":
        return lambda bindings: _text(left(bindings)) + _text(right(bindings))
    raise _NotCompilable


def _unary(node: Any, op: Any) -> Compiled:
    if op == "-":
        operand = _node(node.expression)

        def negate(bindings: Mapping[str, Any]) -> Any:
            value = operand(bindings)
            if value is UNDEFINED:
                return UNDEFINED
            if not _is_number(value):
                raise _FALLBACK
            return normalize_number(-float(value))

        return negate
    if op == "[":
        return _array(node)
    if op == "{":
        return _object(node)
    raise _NotCompilable


def _array(node: Any) -> Compiled:
    items = [(_node(item), _library.node_kind(item) == ("unary", "[")) for item in node.expressions or ()]

    def array(bindings: Mapping[str, Any]) -> Any:
        result: list[Any] = []
        for item, nested in items:
            value = item(bindings)
            if value is UNDEFINED:
                continue
            if type(value) is list and not nested:
                raise _FALLBACK  # the library flattens sequences but not every array
            result.append(value)
        return result

    return array


def _object(node: Any) -> Compiled:
    pairs = getattr(node, "lhs_object", None) or []
    members: list[tuple[str, Compiled]] = []
    seen: set[str] = set()
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _NotCompilable
        kind, key = _library.node_kind(pair[0])
        if kind != "string" or key in seen:
            raise _NotCompilable
        seen.add(str(key))
        members.append((str(key), _node(pair[1])))

    def construct(bindings: Mapping[str, Any]) -> Any:
        result: dict[str, Any] = {}
        for key, member in members:
            value = member(bindings)
            if value is not UNDEFINED:
                result[key] = value
        return result

    return construct


def _condition(node: Any, _value: Any) -> Compiled:
    condition = _node(node.condition)
    then = _node(node.then)
    otherwise = _node(node._else) if getattr(node, "_else", None) is not None else None

    def choose(bindings: Mapping[str, Any]) -> Any:
        if _boolize(condition(bindings)):
            return then(bindings)
        return otherwise(bindings) if otherwise is not None else UNDEFINED

    return choose


def _block(node: Any, _value: Any) -> Compiled:
    expressions = getattr(node, "expressions", None) or []
    if len(expressions) != 1:
        raise _NotCompilable
    return _node(expressions[0])


def _function(node: Any, _value: Any) -> Compiled:
    kind, name = _library.node_kind(getattr(node, "procedure", None))
    arguments = getattr(node, "arguments", None) or []
    if kind != "variable" or name not in _SAFE_FUNCTIONS or len(arguments) != 1:
        raise _NotCompilable
    argument = _node(arguments[0])
    function_name = str(name)

    def call(bindings: Mapping[str, Any]) -> Any:
        if function_name in bindings:
            raise _FALLBACK  # shadowed by a variable
        value = argument(bindings)
        if function_name == "exists":
            return value is not UNDEFINED
        if value is UNDEFINED:
            return UNDEFINED
        if function_name == "not":
            return not _boolize(value)
        if function_name == "merge":
            return _merge(value)
        if type(value) in (list, dict):
            return _fixes.string(value)
        return _text(value)

    return call


def _merge(value: Any) -> Any:
    objects = [value] if type(value) is dict else value
    if type(objects) is not list or any(type(item) is not dict for item in objects):
        raise _FALLBACK
    merged: dict[str, Any] = {}
    for item in objects:
        merged.update(item)
    return merged


_BUILDERS: Final[dict[str, Callable[[Any, Any], Compiled]]] = {
    "number": _literal,
    "string": _literal,
    "value": _literal,
    "variable": _variable,
    "path": _path,
    "binary": _binary,
    "unary": _unary,
    "condition": _condition,
    "block": _block,
    "function": _function,
}
