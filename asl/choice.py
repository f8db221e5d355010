"""JSONPath Choice rules, compiled once into a tree of closures and evaluated per transition.

A Choice state runs on every loop iteration of many workflows, so a rule is
parsed, type-checked and specialised at compile time: every path is compiled,
literal timestamps are turned into instant keys, `StringMatches` patterns into
segment matchers, and each operator into one closure that does only the
per-value work. Semantics follow AWS (see asl-reference §4, Appendix A.4/A.5):

- a value of the wrong type never matches (JSON ``true`` is not the number 1,
  ``"5"`` is not 5); numbers compare by value, so ``0 == 0.0``;
- the `Is*` operators compare their type test with the boolean operand;
- a missing `Variable` is ``false`` for `IsPresent` and a `States.Runtime`
  failure for every other operator, as is a missing `...Path` operand;
- `StringMatches` knows only ``*`` and the escapes ``\\*`` and ``\\\\``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any, Final, NamedTuple, NoReturn

from asl.errors import RUNTIME, DefinitionError, StatesError
from asl.paths import compile_path, compile_reference_path
from asl.timestamps import instant_key, is_timestamp

__all__ = [
    "BOOLEAN_OPERATORS",
    "COMPARISON_OPERATORS",
    "ChoiceRule",
    "ChoiceRuleError",
    "compile_choice_rule",
]

Scope = Mapping[str, Any] | None
Test = Callable[[Any, Scope, Scope], bool]
"""A compiled rule: (effective input, context object, variables) -> matched."""
Finder = Callable[[Any, Scope, Scope], tuple[bool, Any]]
"""A compiled path's `find`: (data, context, variables) -> (present, value)."""
Location = tuple[str | int, ...]

BOOLEAN_OPERATORS: Final = frozenset({"And", "Or", "Not"})
_IGNORED_FIELDS: Final = frozenset({"Next", "Assign", "Output", "Comment"})

_ORDERINGS: Final[Mapping[str, Callable[[Any, Any], bool]]] = MappingProxyType(
    {
        "Equals": operator.eq,
        "LessThan": operator.lt,
        "GreaterThan": operator.gt,
        "LessThanEquals": operator.le,
        "GreaterThanEquals": operator.ge,
    }
)

# `type(v) in ...` rather than isinstance: JSON true/false are Python bools, which are ints.
_STRING_TYPES: Final = frozenset({str})
_NUMBER_TYPES: Final = frozenset({int, float})
_BOOLEAN_TYPES: Final = frozenset({bool})

_TYPE_TESTS: Final[Mapping[str, Callable[[Any], bool]]] = MappingProxyType(
    {
        "IsNull": lambda value: value is None,
        "IsNumeric": lambda value: type(value) in _NUMBER_TYPES,
        "IsString": lambda value: type(value) is str,
        "IsBoolean": lambda value: type(value) is bool,
        "IsTimestamp": is_timestamp,
    }
)


class ChoiceRuleError(DefinitionError):
    """A malformed choice rule; `pointer` locates the offending field relative to the rule."""

    def __init__(self, reason: str, pointer: Location = ()) -> None:
        where = "/" + "/".join(str(part) for part in pointer)
        super().__init__(f"{reason} at {where}" if pointer else reason)
        self.reason = reason
        self.pointer = pointer


class ChoiceRule:
    """One compiled JSONPath choice rule (top-level or nested); immutable, safe to share."""

    __slots__ = ("_test", "source")

    _test: Test
    source: Mapping[str, Any]

    def __init__(self, test: Test, source: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_test", test)
        object.__setattr__(self, "source", source)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"ChoiceRule is immutable (cannot set {name!r})")

    def evaluate(self, data: Any, context: Scope = None, variables: Scope = None) -> bool:
        """Whether the rule matches `data` (the effective input); raises `StatesError` on a missing path."""
        return self._test(data, context, variables)

    def __repr__(self) -> str:
        return f"ChoiceRule({self.source!r})"


def compile_choice_rule(rule: Mapping[str, Any]) -> ChoiceRule:
    """Compile one JSONPath choice rule; `Next`, `Assign`, `Output` and `Comment` are ignored here.

    Raises `ChoiceRuleError` (a `DefinitionError`) for anything AWS would reject:
    unknown fields, no or several operators, a wrongly typed operand, an empty
    `And`/`Or`, a `Not` that is not a single rule, an invalid path, an invalid
    timestamp literal or a bad escape in a `StringMatches` pattern.
    """
    return ChoiceRule(_compile(rule, ()), rule)


# --- rule structure ----------------------------------------------------------------------------------


def _compile(rule: Any, at: Location) -> Test:
    if not isinstance(rule, Mapping):
        raise ChoiceRuleError("A choice rule must be a JSON object", at)
    combinators: list[str] = []
    comparisons: list[str] = []
    for field in rule:
        if field in BOOLEAN_OPERATORS:
            combinators.append(field)
        elif field in COMPARISON_OPERATORS:
            comparisons.append(field)
        elif field != "Variable" and field not in _IGNORED_FIELDS:
            raise ChoiceRuleError(f"Field '{field}' is not supported", (*at, field))
    if combinators:
        if len(combinators) > 1 or comparisons or "Variable" in rule:
            raise ChoiceRuleError(
                "A choice rule is either one of And/Or/Not or a Variable with one comparison operator", at
            )
        name = combinators[0]
        return _compile_combinator(name, rule[name], (*at, name))
    if "Variable" not in rule:
        raise ChoiceRuleError("A choice rule needs a Variable and a comparison operator, or And/Or/Not", at)
    if not comparisons:
        raise ChoiceRuleError("A choice rule with a Variable needs a comparison operator", at)
    if len(comparisons) > 1:
        raise ChoiceRuleError(f"A choice rule has several comparison operators: {', '.join(comparisons)}", at)
    name, variable = comparisons[0], rule["Variable"]
    find = _compile_path(variable, (*at, "Variable"))
    return _BUILDERS[name](_DataTest(name, find, variable, rule[name], (*at, name)))


def _compile_combinator(name: str, operand: Any, at: Location) -> Test:
    if name == "Not":
        if not isinstance(operand, Mapping):
            raise ChoiceRuleError("The value for the field 'Not' must be a single choice rule object", at)
        return _negation(_compile(operand, at))
    if isinstance(operand, str | bytes) or not isinstance(operand, Sequence) or not operand:
        raise ChoiceRuleError(f"The value for the field '{name}' must be a non-empty array of rules", at)
    tests = tuple(_compile(nested, (*at, index)) for index, nested in enumerate(operand))
    return _conjunction(tests) if name == "And" else _disjunction(tests)


def _negation(inner: Test) -> Test:
    def test(data: Any, context: Scope, variables: Scope) -> bool:
        return not inner(data, context, variables)

    return test


def _conjunction(tests: tuple[Test, ...]) -> Test:
    def test(data: Any, context: Scope, variables: Scope) -> bool:
        # A plain loop, not all(<generator>): no generator per evaluation on this hot path. It
        # short-circuits, so a later rule may reference a path that is missing when an earlier one fails.
        for nested in tests:  # noqa: SIM110
            if not nested(data, context, variables):
                return False
        return True

    return test


def _disjunction(tests: tuple[Test, ...]) -> Test:
    def test(data: Any, context: Scope, variables: Scope) -> bool:
        for nested in tests:  # noqa: SIM110 (see _conjunction)
            if nested(data, context, variables):
                return True
        return False

    return test


def _compile_path(text: Any, at: Location, *, reference: bool = False) -> Finder:
    """`Variable` takes any Path; the `...Path` operands take Reference Paths (a single node)."""
    if not isinstance(text, str):
        raise ChoiceRuleError(f"The value for the field '{at[-1]}' must be a JSONPath string", at)
    try:
        path = compile_reference_path(text) if reference else compile_path(text)
    except DefinitionError as exc:
        raise ChoiceRuleError(
            f"The value for the field '{at[-1]}' must be a valid JSONPath: {exc}", at
        ) from exc
    finder: Finder = path.find
    return finder


def _required(find: Finder, path: str) -> Callable[[Any, Scope, Scope], Any]:
    """The path's value; every operator but `IsPresent` fails when a path selects nothing."""

    def value_of(data: Any, context: Scope, variables: Scope) -> Any:
        present, value = find(data, context, variables)
        if not present:
            raise _invalid_path(path)
        return value

    return value_of


def _invalid_path(path: str) -> StatesError:
    # Cause text as AWS reports it (the executor adds the "An error occurred while executing..." prefix).
    return StatesError(
        RUNTIME, f"Invalid path '{path}': The choice state's condition path references an invalid value."
    )


# --- data-test operators -------------------------------------------------------------------------------


class _DataTest(NamedTuple):
    """One `Variable` + operator rule, as handed to the operator's builder."""

    operator: str
    find: Finder  # the compiled Variable path
    variable: str  # its text, for the failure cause
    operand: Any  # the raw operand from the definition
    at: Location  # the operand's location, for compile errors

    def value_of(self) -> Callable[[Any, Scope, Scope], Any]:
        return _required(self.find, self.variable)

    def check_operand(self, types: frozenset[type], what: str) -> None:
        operand = self.operand
        if type(operand) not in types or (type(operand) is float and not math.isfinite(operand)):
            raise ChoiceRuleError(f"The value for the field '{self.operator}' must be {what}", self.at)


Builder = Callable[[_DataTest], Test]


def _build_literal(
    types: frozenset[type], compare: Callable[[Any, Any], bool], what: str, spec: _DataTest
) -> Test:
    spec.check_operand(types, what)
    value_of, operand = spec.value_of(), spec.operand

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        value = value_of(data, context, variables)
        return type(value) in types and compare(value, operand)

    return test


def _build_path(types: frozenset[type], compare: Callable[[Any, Any], bool], spec: _DataTest) -> Test:
    value_of = spec.value_of()
    operand_of = _required(_compile_path(spec.operand, spec.at, reference=True), spec.operand)

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        value = value_of(data, context, variables)
        other = operand_of(data, context, variables)
        return type(value) in types and type(other) in types and compare(value, other)

    return test


def _build_timestamp_literal(compare: Callable[[Any, Any], bool], spec: _DataTest) -> Test:
    operand_key = instant_key(spec.operand) if type(spec.operand) is str else None
    if operand_key is None:
        raise ChoiceRuleError(
            f"The value for the field '{spec.operator}' must be an RFC3339 timestamp", spec.at
        )
    value_of = spec.value_of()

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        value = value_of(data, context, variables)
        if type(value) is not str:
            return False
        key = instant_key(value)
        return key is not None and compare(key, operand_key)

    return test


def _build_type_test(predicate: Callable[[Any], bool], spec: _DataTest) -> Test:
    spec.check_operand(_BOOLEAN_TYPES, "a boolean")
    value_of, expected = spec.value_of(), spec.operand

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        return predicate(value_of(data, context, variables)) is expected

    return test


def _build_is_present(spec: _DataTest) -> Test:
    spec.check_operand(_BOOLEAN_TYPES, "a boolean")
    find, expected = spec.find, spec.operand

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        return find(data, context, variables)[0] is expected

    return test


def _build_string_matches(spec: _DataTest) -> Test:
    spec.check_operand(_STRING_TYPES, "a string")
    try:
        matches = _GlobPattern(spec.operand).matches
    except ValueError as exc:
        raise ChoiceRuleError(
            f"The value for the field '{spec.operator}' is not a valid pattern: {exc}", spec.at
        ) from exc
    value_of = spec.value_of()

    def test(data: Any, context: Scope, variables: Scope) -> bool:
        value = value_of(data, context, variables)
        return type(value) is str and matches(value)

    return test


# --- StringMatches --------------------------------------------------------------------------------------


class _GlobPattern:
    """A `StringMatches` pattern split at its unescaped ``*`` into literal segments.

    Matching anchors the first segment at the start, the last at the end and finds
    the middle ones left to right; greedy leftmost search is exact for a pattern
    language whose only wildcard is ``*``, runs in C string search, and cannot
    backtrack exponentially the way a regex with many ``.*`` can.
    """

    __slots__ = ("head", "middle", "min_length", "tail")

    def __init__(self, pattern: str) -> None:
        segments = _split_glob(pattern)
        self.head = segments[0]
        self.tail: str | None = segments[-1] if len(segments) > 1 else None
        self.middle = tuple(segment for segment in segments[1:-1] if segment)
        self.min_length = sum(len(segment) for segment in segments)

    def matches(self, text: str) -> bool:
        if self.tail is None:  # no wildcard at all
            return text == self.head
        if len(text) < self.min_length or not text.startswith(self.head) or not text.endswith(self.tail):
            return False
        position, end = len(self.head), len(text) - len(self.tail)
        for segment in self.middle:
            found = text.find(segment, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True


def _split_glob(pattern: str) -> list[str]:
    """Literal segments between unescaped ``*``; ``\\*`` and ``\\\\`` are literals, other escapes errors."""
    segments: list[str] = []
    current: list[str] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            segments.append("".join(current))
            current = []
        elif char == "\\":
            escaped = pattern[index + 1] if index + 1 < length else ""
            if escaped not in ("*", "\\"):
                where = "at the end" if not escaped else f"before {escaped!r}"
                raise ValueError(f"a backslash {where} escapes nothing; only '\\*' and '\\\\' are escapes")
            current.append(escaped)
            index += 1
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    return segments


# --- string ordering ---------------------------------------------------------------------------------


def _utf16_ordering(compare: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    """Order strings by UTF-16 code units, as AWS's Java runtime does.

    Code-point order (Python's) differs only when a character above U+FFFF meets
    one in U+E000..U+FFFF; ASCII strings, the common case, skip the re-encoding.
    """

    def ordered(left: str, right: str) -> bool:
        if left.isascii() and right.isascii():
            return compare(left, right)
        return compare(left.encode("utf-16-be", "surrogatepass"), right.encode("utf-16-be", "surrogatepass"))

    return ordered


def _instant_ordering(compare: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    """Compare two strings as instants; a string that is not a timestamp matches nothing."""

    def ordered(left: str, right: str) -> bool:
        left_key, right_key = instant_key(left), instant_key(right)
        return left_key is not None and right_key is not None and compare(left_key, right_key)

    return ordered


def _builders() -> Mapping[str, Builder]:
    table: dict[str, Builder] = {}
    for suffix, compare in _ORDERINGS.items():
        ordering = compare if suffix == "Equals" else _utf16_ordering(compare)
        table[f"String{suffix}"] = partial(_build_literal, _STRING_TYPES, ordering, "a string")
        table[f"String{suffix}Path"] = partial(_build_path, _STRING_TYPES, ordering)
        table[f"Numeric{suffix}"] = partial(_build_literal, _NUMBER_TYPES, compare, "a number")
        table[f"Numeric{suffix}Path"] = partial(_build_path, _NUMBER_TYPES, compare)
        table[f"Timestamp{suffix}"] = partial(_build_timestamp_literal, compare)
        table[f"Timestamp{suffix}Path"] = partial(_build_path, _STRING_TYPES, _instant_ordering(compare))
    table["BooleanEquals"] = partial(_build_literal, _BOOLEAN_TYPES, operator.eq, "a boolean")
    table["BooleanEqualsPath"] = partial(_build_path, _BOOLEAN_TYPES, operator.eq)
    table["StringMatches"] = _build_string_matches
    for name, predicate in _TYPE_TESTS.items():
        table[name] = partial(_build_type_test, predicate)
    table["IsPresent"] = _build_is_present
    return MappingProxyType(table)


_BUILDERS: Final = _builders()

COMPARISON_OPERATORS: Final[frozenset[str]] = frozenset(_BUILDERS)
"""Every data-test operator name (literal, `...Path` and `Is*` forms), for the validator."""
