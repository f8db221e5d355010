"""The one place that touches the JSONata library (jsonata-python, import name `jsonata`).

Swapping the library means rewriting this module (`parse`, `evaluate`, `walk_nodes`, the
error rendering) and its two helpers that know the library: `_fixes` (builtins patched
to jsonata-js behaviour) and `_compiled` (closures built from the AST). Why jsonata-python (and not the faster jsonatapy) is in
/work/notes/jsonata-choice.md: its errors keep their code and arguments, so the causes
can be rendered exactly as jsonata-js (and AWS) word them; it keeps JSON null apart
from undefined; it returns function values recognisably; and its AST is open for the
static checks.

Library quirks handled here:
- its message catalog says "Object" where jsonata-js says "function", and fills the
  placeholders without JSON quoting; messages are re-rendered the jsonata-js way;
- `Jsonata.evaluate` walks the frame chain for two debug hooks on every node and
  re-validates the input; evaluation calls the evaluator directly on a fresh frame
  whose bindings short-circuit those lookups;
- it prints "Proc not found" to stdout when a non-function is invoked; that `print`
  is silenced, since stdout belongs to the CLI's JSON output;
- `$string`, `$number`, ``%``, division by zero, null in signatures and T0410 argument
  numbers deviate from jsonata-js; `_fixes` corrects them;
- importing it raises the interpreter's recursion limit to 10000 (its own doing).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import jsonata.jsonata as _jsonata_module
from jsonata import JException, Jsonata
from jsonata import parser as _parser
from jsonata.utils import Utils

from asl.jsonata import _fixes
from asl.jsonata.core import UNDEFINED, JsonataError, UnsupportedResult, normalize_number
from asl.jsonata.functions import AWS_FUNCTIONS, DEFAULT_RANDOM_SOURCE, AwsFunction, RandomSource

ENV_KEY: Final = "__statelane_env"
"""Bindings key for the evaluation environment: random(), uuid4() and optionally now_millis()."""

_NULL: Final = Utils.NULL_VALUE
_Symbol: Final = _parser.Parser.Symbol
_RangeList: Final = Utils.RangeList
_LONG_MIN: Final = -(2**63)
_LONG_MAX: Final = 2**63 - 1


def _silent_print(*_args: Any, **_kwargs: Any) -> None:
    """Replaces the library's debug `print` (see module docstring)."""


_jsonata_module.print = _silent_print
_fixes.install()


# --- AWS functions as library functions -------------------------------------------------


class _AwsCallable:
    """Adapts an `AwsFunction` (plain JSON values in and out) to the library's calling convention."""

    __slots__ = ("_impl",)

    def __init__(self, impl: AwsFunction) -> None:
        self._impl = impl

    def call(self, _input: Any, args: Sequence[Any] | None) -> Any:
        plain = [UNDEFINED if a is None else (None if a is _NULL else a) for a in (args or ())]
        result = self._impl(plain, _current_random_source())
        if result is UNDEFINED:
            return None
        return _NULL if result is None else result


def _current_random_source() -> RandomSource:
    """The random source bound for the evaluation in progress on this thread."""
    current = getattr(Jsonata.CURRENT, "jsonata", None)
    environment = getattr(current, "environment", None)
    source = environment.lookup(ENV_KEY) if environment is not None else None
    return source if source is not None else DEFAULT_RANDOM_SOURCE


# One optional slot more than AWS's arity: a surplus argument then reaches the function,
# which names it in AWS's T0410 (the library's own check would name the wrong argument).
_AWS_SIGNATURES: Final = {
    "partition": "<x?x?x?:x>",
    "range": "<x?x?x?x?:x>",
    "hash": "<x?x?x?:x>",
    "random": "<x?x?:x>",
    "uuid": "<x?:x>",
    "parse": "<x?x?:x>",
}


def _aws_frame() -> Any:
    """The frame every evaluation hangs off: the builtins plus AWS's six, without `$eval`."""
    frame = Jsonata.Frame(Jsonata.static_frame)
    for name, impl in AWS_FUNCTIONS.items():
        frame.bind(name, Jsonata.JFunction(_AwsCallable(impl), _AWS_SIGNATURES[name]))
    # AWS removes $eval; calling an unbound name is JSONata's own T1006, which AWS reports.
    frame.bind("eval", None)
    return frame


_AWS_FRAME: Final = _aws_frame()


# --- compile and evaluate ---------------------------------------------------------------


def parse(source: str) -> Any:
    """Parse `source` once; the handle is evaluated many times. Raises JsonataError (S0xxx)."""
    try:
        handle = Jsonata(source)
    except JException as exc:
        raise _translate(exc) from None
    except RecursionError:
        raise JsonataError("S0201", "Syntax error: expression nested too deeply") from None
    if handle.errors:
        raise _translate(handle.errors[0])
    # Only user functions can recurse or loop; only their evaluations pay for the bounds.
    handle.statelane_bounded = any(node_kind(node)[0] == "lambda" for node in walk_nodes(handle))
    return handle


MAX_DEPTH: Final = 100
"""AWS fails an evaluation nested deeper than 100 (floci #2737: `$f(31)` passes, `$f(32)` fails)."""
MAX_STEPS: Final = 2_000_000
"""Evaluation steps before a runaway (tail-recursive) loop is stopped; pure, unlike a clock."""

_STACK_OVERFLOW: Final = "Stack overflow error: Check for non-terminating recursive function. Consider rewriting as tail-recursive."
_RUNAWAY: Final = "Expression evaluation timeout: Check for infinite loop"


class _Bounds:
    """Counts nesting and steps through the library's per-node hooks (the library's Timebox, minus the clock)."""

    __slots__ = ("depth", "steps")

    def __init__(self) -> None:
        self.depth = 0
        self.steps = 0

    def enter(self, _expr: Any, _input: Any, environment: Any) -> None:
        if environment.is_parallel_call:
            return
        self.depth += 1
        self.steps += 1
        if self.depth > MAX_DEPTH:
            raise JException("D1011", -1)
        if self.steps > MAX_STEPS:
            raise JException("D1012", -1)

    def leave(self, _expr: Any, _input: Any, environment: Any, _result: Any) -> None:
        if not environment.is_parallel_call:
            self.depth -= 1


def evaluate(handle: Any, bindings: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression; plain JSON values or UNDEFINED. Raises JsonataError/UnsupportedResult."""
    frame = Jsonata.Frame(_AWS_FRAME)
    variables = frame.bindings
    variables.update(bindings)
    for name, value in bindings.items():
        if value is None:  # a variable holding JSON null is not undefined
            variables[name] = _NULL
    variables["$"] = None
    if handle.statelane_bounded:
        bounds = _Bounds()
        variables["__evaluate_entry"] = bounds.enter
        variables["__evaluate_exit"] = bounds.leave
    else:
        variables["__evaluate_entry"] = None
        variables["__evaluate_exit"] = None
    current = handle.get_per_thread_instance()
    clock = getattr(bindings.get(ENV_KEY), "now_millis", None)
    current.timestamp = clock() if clock is not None else int(time.time() * 1000)
    try:
        result = handle.eval(handle.ast, None, frame)
    except JException as exc:
        raise _translate(exc) from None
    except RecursionError:
        raise JsonataError("", _STACK_OVERFLOW) from None
    except (JsonataError, UnsupportedResult):
        raise
    except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        # A defect of the library surfacing as a Python exception; AWS has no exact text to copy.
        raise JsonataError("", f"{type(exc).__name__}: {exc}") from None
    if result is None:
        return UNDEFINED
    return to_json(result)


def is_function_value(value: Any) -> bool:
    """Whether `value` is a JSONata function (lambda, builtin, partial application) or regex."""
    return isinstance(value, _Symbol | Jsonata.JFunctionCallable | re.Pattern)


def to_json(value: Any) -> Any:
    """A library result as plain JSON values: null marker -> None, sequences -> list, 3.0 -> 3.

    Numbers follow AWS: integral doubles print as integers, integers beyond a Java long
    become doubles (floci #2790 measured ``9223372036854775808`` -> ``9.223372036854776E18``).

    Copy on write: containers without anything to convert are returned as they are.
    """
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if kind is int:
        # AWS keeps integers exact within a Java long and holds larger ones as doubles.
        return value if _LONG_MIN <= value <= _LONG_MAX else float(value)
    if kind is float:
        return normalize_number(value)
    if value is None or value is _NULL:
        return None
    if kind is dict:
        converted: dict[str, Any] | None = None
        for key, member in value.items():
            plain = to_json(member)
            if plain is not member:
                if converted is None:
                    converted = dict(value)
                converted[key] = plain
        return value if converted is None else converted
    if isinstance(value, list):
        if kind is _RangeList:
            return [value[index] for index in range(len(value))]
        items: list[Any] | None = None if kind is list else list(value)
        for index, member in enumerate(value):
            plain = to_json(member)
            if plain is not member:
                if items is None:
                    items = list(value)
                items[index] = plain
        return value if items is None else items
    if isinstance(value, Mapping):
        return {str(key): to_json(member) for key, member in value.items()}
    raise UnsupportedResult(type(value).__name__)


# --- errors -----------------------------------------------------------------------------

_ARRAY_ELEMENT_TYPES: Final = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}
_PLACEHOLDER: Final = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")


def _translate(exc: Exception) -> JsonataError:
    if not isinstance(exc, JException):
        return JsonataError("", str(exc))
    code = str(exc.error)
    if code == "D1011":
        return JsonataError("", _STACK_OVERFLOW)
    if code == "D1012":
        return JsonataError("", _RUNAWAY)
    template = JException.error_codes.get(code)
    if template is None:
        # Raised with the whole message in the code slot.
        return JsonataError("", code)
    return JsonataError(code, render_message(code, template, (exc.current, exc.expected, exc.extra)))


def render_message(code: str, template: str, args: Sequence[Any]) -> str:
    """Fill a catalog template the way jsonata-js does: ``{{x}}`` JSON-rendered, ``{{{x}}}`` raw.

    The library passes a template's values positionally, in the order they appear in it.
    """
    template = template.replace("Object", "function")
    position = iter(range(len(args)))

    def fill(match: re.Match[str]) -> str:
        index = next(position, None)
        value = args[index] if index is not None else None
        if match.group(1) is not None:
            return "undefined" if value is None else str(value)
        if code == "T0412" and match.group(2) == "type":
            value = _ARRAY_ELEMENT_TYPES.get(str(value), value)
        return js_stringify(value)

    return _PLACEHOLDER.sub(fill, template)


def js_stringify(value: Any) -> str:
    """`JSON.stringify` as jsonata-js applies it to error values (undefined -> ``undefined``)."""
    if value is None:
        return "undefined"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    try:
        return json.dumps(to_json(value), separators=(",", ":"), ensure_ascii=False)
    except (UnsupportedResult, TypeError, ValueError):
        return str(value)


# --- AST access for static checks -------------------------------------------------------


def walk_nodes(handle: Any) -> Iterator[Any]:
    """Every node of the parsed expression (depth first), for static analysis."""
    seen: set[int] = set()
    stack: list[Any] = [handle.ast]
    while stack:
        node = stack.pop()
        if not isinstance(node, _Symbol) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        for child in _children(node):
            stack.append(child)


_CHILD_ATTRIBUTES: Final = (
    "lhs",
    "rhs",
    "expression",
    "steps",
    "procedure",
    "arguments",
    "body",
    "condition",
    "then",
    "_else",
    "expr",
    "lhs_object",
    "rhs_object",
    "predicate",
    "group",
    "stages",
    "pattern",
    "update",
    "delete",
    "expressions",
    "terms",
    "focus",
    "index",
    "tuple",
)


def _children(node: Any) -> Iterator[Any]:
    for name in _CHILD_ATTRIBUTES:
        value = getattr(node, name, None)
        if value is None:
            continue
        yield from _flatten(value)


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, _Symbol):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)


def node_kind(node: Any) -> tuple[str | None, Any]:
    """(type, value) of an AST node, e.g. ("variable", "states")."""
    return getattr(node, "type", None), getattr(node, "value", None)


def function_call_names(handle: Any) -> set[int]:
    """ids of variable nodes that are the procedure of a function call (``$sum`` in ``$sum(x)``)."""
    called: set[int] = set()
    for node in walk_nodes(handle):
        if getattr(node, "type", None) in ("function", "partial"):
            procedure = getattr(node, "procedure", None)
            if procedure is not None:
                called.add(id(procedure))
    return called
