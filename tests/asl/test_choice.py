"""JSONPath Choice rules: every operator, AWS's type rules, nesting, StringMatches, compile errors.

Inline tables first (no external data needed), then the recorded AWS corpus of
single-operator Choice cases when /work/shared is present.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl.choice import BOOLEAN_OPERATORS, COMPARISON_OPERATORS, ChoiceRuleError, compile_choice_rule
from asl.errors import RUNTIME, DefinitionError, StatesError

CASES = Path("/work/shared/conformance/cases")


def matches(rule: dict[str, Any], data: Any, context: Any = None, variables: Any = None) -> bool:
    return compile_choice_rule(rule).evaluate(data, context, variables)


def test_operator_catalogue() -> None:
    families = {"String": 5, "Numeric": 5, "Timestamp": 5, "Boolean": 1}
    expected = {"StringMatches", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
    for family in families:
        suffixes = ["Equals"] if family == "Boolean" else ["Equals", "LessThan", "GreaterThan"]
        suffixes += [] if family == "Boolean" else ["LessThanEquals", "GreaterThanEquals"]
        for suffix in suffixes:
            expected |= {f"{family}{suffix}", f"{family}{suffix}Path"}
    assert expected == COMPARISON_OPERATORS
    assert {"And", "Or", "Not"} == BOOLEAN_OPERATORS


# --- comparisons: (operator, variable value, operand, expected) ------------------------------------------

ORDERED = [
    # strings: code-unit order, no folding, no trimming
    ("StringEquals", "Hello", "Hello", True),
    ("StringEquals", "hello", "Hello", False),
    ("StringEquals", "\t\n", "\t\r\n", False),
    ("StringEquals", "", "", True),
    ("StringLessThan", "A", "AB", True),
    ("StringLessThan", "AB", "A", False),
    ("StringLessThan", "", "", False),
    ("StringGreaterThan", "A", "A ", False),
    ("StringGreaterThan", "b", "a", True),
    ("StringGreaterThan", "a", "B", True),
    ("StringLessThanEquals", "", "", True),
    ("StringLessThanEquals", "AB", "A", False),
    ("StringGreaterThanEquals", "AB", "A", True),
    ("StringGreaterThanEquals", "A", "AB", False),
    # Java compares UTF-16 code units: U+1F600 (surrogates D83D DE00) sorts below U+FF5E
    ("StringLessThan", "\U0001f600", "\uff5e", True),
    ("StringGreaterThan", "\U0001f600", "\uff5e", False),
    ("StringLessThan", "é", "z", False),
    # numbers: by value, int and float alike
    ("NumericEquals", 0, 0.0, True),
    ("NumericEquals", 0.0, 0, True),
    ("NumericEquals", 1, 1.0, True),
    ("NumericEquals", 2.22, 2.22, True),
    ("NumericEquals", 1.1, 1, False),
    ("NumericEquals", -0.0, 0, True),
    ("NumericLessThan", 0, 1, True),
    ("NumericLessThan", 1, 1, False),
    ("NumericLessThan", -2.5, -2.25, True),
    ("NumericGreaterThan", 1, 0, True),
    ("NumericGreaterThan", 0.0, 0, False),
    ("NumericLessThanEquals", 1, 1, True),
    ("NumericLessThanEquals", 1, 0, False),
    ("NumericGreaterThanEquals", 0.0, 0, True),
    ("NumericGreaterThanEquals", 0, 1, False),
    ("NumericGreaterThan", 10**30, 1e29, True),
    # booleans
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", False, False, True),
    ("BooleanEquals", False, True, False),
    # timestamps: instants, not text
    ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
    ("TimestampEquals", "2012-10-09T20:00:55+01:00", "2012-10-09T19:00:55Z", True),
    ("TimestampEquals", "2012-10-09T19:00:55.000Z", "2012-10-09T19:00:55Z", True),
    ("TimestampEquals", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", False),
    ("TimestampLessThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", True),
    ("TimestampLessThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", False),
    ("TimestampLessThan", "2012-10-09T19:00:55.000000001Z", "2012-10-09T19:00:55.000000002Z", True),
    ("TimestampGreaterThan", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", True),
    ("TimestampGreaterThan", "2012-10-09T19:30:00+01:00", "2012-10-09T19:00:00Z", False),
    ("TimestampLessThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
    ("TimestampLessThanEquals", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", False),
    ("TimestampGreaterThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
    ("TimestampGreaterThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", False),
    ("TimestampEquals", "2023-02-24 12:15:56.832957", "2012-10-09T19:00:55Z", False),
    ("TimestampLessThan", "2012-10-09", "2099-10-09T19:00:55Z", False),
]


@pytest.mark.parametrize(("operator", "value", "operand", "expected"), ORDERED)
def test_literal_operators(operator: str, value: Any, operand: Any, expected: bool) -> None:
    assert matches({"Variable": "$.v", operator: operand}, {"v": value}) is expected


@pytest.mark.parametrize(("operator", "value", "operand", "expected"), ORDERED)
def test_path_operators(operator: str, value: Any, operand: Any, expected: bool) -> None:
    rule = {"Variable": "$.v", f"{operator}Path": "$.other"}
    assert matches(rule, {"v": value, "other": operand}) is expected


# Every JSON type, and strings that look like other types.
VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "zero": 0,
    "one": 1,
    "float": 1.5,
    "string": "HelloWorld",
    "empty": "",
    "number-text": "1",
    "bool-text": "true",
    "timestamp": "2012-10-09T19:00:55Z",
    "array": [1],
    "object": {"a": 1},
}
FAMILY_OF = {
    "String": {"string", "empty", "number-text", "bool-text", "timestamp"},
    "Numeric": {"zero", "one", "float"},
    "Boolean": {"true", "false"},
    "Timestamp": {"timestamp"},
}
# A well-typed value per family; `<family>Equals` of it with itself is true.
GOOD = {"String": "x", "Numeric": 1, "Boolean": True, "Timestamp": "2012-10-09T19:00:55Z"}
WRONG_TYPE = [
    (operator, name)
    for operator in sorted(COMPARISON_OPERATORS)
    for family, good_names in FAMILY_OF.items()
    if operator.startswith(family) and operator != "StringMatches" and not operator.endswith("Path")
    for name in sorted(VALUES)
    if name not in good_names
]


@pytest.mark.parametrize(("operator", "name"), WRONG_TYPE)
def test_a_value_of_the_wrong_type_never_matches(operator: str, name: str) -> None:
    good = next(value for family, value in GOOD.items() if operator.startswith(family))
    wrong = VALUES[name]
    assert not matches({"Variable": "$.v", operator: good}, {"v": wrong})
    assert not matches({"Variable": "$.v", f"{operator}Path": "$.o"}, {"v": wrong, "o": good})
    assert not matches({"Variable": "$.v", f"{operator}Path": "$.o"}, {"v": good, "o": wrong})


@pytest.mark.parametrize("family", sorted(GOOD))
def test_well_typed_values_do_match(family: str) -> None:
    good = GOOD[family]
    assert matches({"Variable": "$.v", f"{family}Equals": good}, {"v": good})
    assert matches({"Variable": "$.v", f"{family}EqualsPath": "$.o"}, {"v": good, "o": good})


def test_booleans_are_not_numbers_and_numbers_not_booleans() -> None:
    # Python's bool is an int: True == 1 must not leak into ASL comparisons.
    assert not matches({"Variable": "$.v", "NumericEquals": 1}, {"v": True})
    assert not matches({"Variable": "$.v", "NumericEquals": 0}, {"v": False})
    assert not matches({"Variable": "$.v", "BooleanEquals": True}, {"v": 1})
    assert not matches({"Variable": "$.v", "NumericEqualsPath": "$.w"}, {"v": 1, "w": True})
    assert not matches({"Variable": "$.v", "BooleanEqualsPath": "$.w"}, {"v": True, "w": 1})
    assert not matches({"Variable": "$.v", "IsNumeric": True}, {"v": True})
    assert not matches({"Variable": "$.v", "IsBoolean": True}, {"v": 0})


# --- Is* operators ----------------------------------------------------------------------------------

TYPE_TESTS = {
    "IsNull": {"null"},
    "IsNumeric": {"zero", "one", "float"},
    "IsString": {"string", "empty", "number-text", "bool-text", "timestamp"},
    "IsBoolean": {"true", "false"},
    "IsTimestamp": {"timestamp"},
    "IsPresent": set(VALUES),
}


@pytest.mark.parametrize("operator", sorted(TYPE_TESTS))
@pytest.mark.parametrize("name", sorted(VALUES))
def test_type_tests_compare_with_their_boolean_operand(operator: str, name: str) -> None:
    holds = name in TYPE_TESTS[operator]
    assert matches({"Variable": "$.v", operator: True}, {"v": VALUES[name]}) is holds
    assert matches({"Variable": "$.v", operator: False}, {"v": VALUES[name]}) is not holds


@pytest.mark.parametrize(
    "text",
    ["2016-03-05T21:29:29.243167252Z", "2012-10-09T19:00:55+01:00", "2012-10-09T19:00:55.5-05:30"],
)
def test_is_timestamp_accepts_rfc3339(text: str) -> None:
    assert matches({"Variable": "$.v", "IsTimestamp": True}, {"v": text})


@pytest.mark.parametrize(
    "text",
    [
        "2012-10-09T19:00:55",
        "2012-10-09 19:00:55Z",
        "2012-10-09t19:00:55z",
        "2012-10-09T19:00Z",
        "2023-02-24",
    ],
)
def test_is_timestamp_rejects_other_strings(text: str) -> None:
    assert not matches({"Variable": "$.v", "IsTimestamp": True}, {"v": text})


def test_is_present_on_missing_paths() -> None:
    assert matches({"Variable": "$.missing", "IsPresent": False}, {"n": 1})
    assert not matches({"Variable": "$.missing", "IsPresent": True}, {"n": 1})
    assert matches({"Variable": "$.n.deeper", "IsPresent": False}, {"n": 1})
    assert matches({"Variable": "$.list[5]", "IsPresent": False}, {"list": [1]})
    assert matches({"Variable": "$.list[0]", "IsPresent": True}, {"list": [1]})
    assert matches({"Variable": "$undeclared", "IsPresent": False}, {}, None, {})


# --- missing paths ------------------------------------------------------------------------------------


def missing_cause(path: str) -> str:
    return f"Invalid path '{path}': The choice state's condition path references an invalid value."


@pytest.mark.parametrize(
    "rule",
    [
        {"NumericEquals": 1},
        {"StringEquals": "x"},
        {"StringMatches": "*"},
        {"BooleanEquals": True},
        {"TimestampEquals": "2012-10-09T19:00:55Z"},
        {"IsNull": False},
        {"IsString": False},
        {"IsTimestamp": False},
        {"NumericEqualsPath": "$.n"},
    ],
)
def test_a_missing_variable_fails_with_states_runtime(rule: dict[str, Any]) -> None:
    with pytest.raises(StatesError) as raised:
        matches({"Variable": "$.missing", **rule}, {"n": 1})
    assert raised.value.error == RUNTIME
    assert raised.value.cause == missing_cause("$.missing")


def test_a_missing_path_operand_fails_with_states_runtime() -> None:
    for operator in ("NumericLessThanPath", "StringEqualsPath", "BooleanEqualsPath", "TimestampEqualsPath"):
        with pytest.raises(StatesError) as raised:
            matches({"Variable": "$.n", operator: "$.absent"}, {"n": 1})
        assert raised.value == StatesError(RUNTIME, missing_cause("$.absent"))


def test_missing_operand_fails_even_when_the_variable_has_the_wrong_type() -> None:
    with pytest.raises(StatesError):
        matches({"Variable": "$.n", "NumericEqualsPath": "$.absent"}, {"n": "text"})


# --- context object and variables --------------------------------------------------------------------


def test_variable_and_operand_may_read_the_context_object_and_variables() -> None:
    context = {"Execution": {"Name": "run-1"}, "State": {"RetryCount": 2}}
    variables = {"limit": 3, "config": {"name": "run-1"}}
    assert matches({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}, context, variables)
    assert matches(
        {"Variable": "$$.State.RetryCount", "NumericLessThanPath": "$limit"}, {}, context, variables
    )
    assert matches(
        {"Variable": "$config.name", "StringEqualsPath": "$$.Execution.Name"}, {}, context, variables
    )
    assert not matches({"Variable": "$limit", "NumericGreaterThanPath": "$.n"}, {"n": 5}, context, variables)
    with pytest.raises(StatesError) as raised:
        matches({"Variable": "$nope", "NumericEquals": 1}, {}, context, variables)
    assert raised.value.cause == missing_cause("$nope")


def test_root_path_and_indefinite_paths() -> None:
    assert matches({"Variable": "$", "NumericEquals": 3}, 3)
    assert matches({"Variable": "$", "IsString": True}, "text")
    # an indefinite path yields a list, which is no number
    assert not matches({"Variable": "$.items[*].n", "NumericEquals": 1}, {"items": [{"n": 1}]})


# --- And / Or / Not -------------------------------------------------------------------------------------


def test_worked_examples_from_the_reference() -> None:
    data = {"n": "5", "flag": None, "name": "log-2024.txt"}
    assert not matches({"Variable": "$.n", "NumericEquals": 5}, data)
    assert matches({"Variable": "$.n", "StringEquals": "5"}, data)
    assert matches({"Variable": "$.flag", "IsNull": True}, data)
    assert matches({"Variable": "$.missing", "IsPresent": False}, data)
    assert matches({"Variable": "$.name", "StringMatches": "log-*.txt"}, data)
    assert not matches({"Not": {"Variable": "$.n", "IsString": True}}, data)


def test_nesting() -> None:
    rule = {
        "Or": [
            {
                "And": [
                    {"Variable": "$.a", "NumericGreaterThan": 0},
                    {"Variable": "$.a", "NumericLessThan": 10},
                ]
            },
            {"Not": {"Variable": "$.b", "BooleanEquals": False}},
        ],
        "Next": "Somewhere",
        "Comment": "ignored",
        "Assign": {"x": 1},
    }
    assert matches(rule, {"a": 5, "b": False})
    assert not matches(rule, {"a": 50, "b": False})
    assert matches(rule, {"a": 50, "b": True})
    assert matches(rule, {"a": "5", "b": "x"})  # Not of a type mismatch is true


def test_and_or_short_circuit() -> None:
    missing = {"Variable": "$.missing", "NumericEquals": 1}
    assert not matches({"And": [{"Variable": "$.a", "IsNull": True}, missing]}, {"a": 1})
    assert matches({"Or": [{"Variable": "$.a", "IsNull": False}, missing]}, {"a": 1})
    with pytest.raises(StatesError):
        matches({"And": [{"Variable": "$.a", "IsNull": False}, missing]}, {"a": 1})
    with pytest.raises(StatesError):
        matches({"Or": [{"Variable": "$.a", "IsNull": True}, missing]}, {"a": 1})


def test_compiled_rules_are_immutable_and_reusable() -> None:
    rule = compile_choice_rule({"Variable": "$.n", "NumericGreaterThanPath": "$.m"})
    with pytest.raises(AttributeError):
        rule.source = {}
    assert [rule.evaluate({"n": n, "m": 2}, None, None) for n in (1, 2, 3)] == [False, False, True]
    assert "NumericGreaterThanPath" in repr(rule)


# --- StringMatches ------------------------------------------------------------------------------------

GLOBS = [
    ("log-*.txt", "log-2024.txt", True),
    ("log-*.txt", "log-.txt", True),
    ("log-*.txt", "log-2024.txt.bak", False),
    ("*.log", "zebra.log", True),
    ("foo*.*", "foobar.zebra", True),
    ("foo*.*", "foobar", False),
    ("*", "", True),
    ("*", "anything at all\n", True),
    ("**", "x", True),
    ("", "", True),
    ("", "x", False),
    ("abc", "abc", True),
    ("abc", "ABC", False),
    ("a*b*c", "abc", True),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "acb", False),
    ("a*a", "a", False),  # head and tail may not overlap
    ("ab*ba", "aba", False),
    ("*ab*ab*", "xabyab", True),
    ("*ab*ab*", "xab", False),
    ("*ab*ab*", "abxxb", False),  # the second segment must start after the first
    ("*aa*", "xaay", True),
    ("a?c", "abc", False),  # '?' is literal
    ("a?c", "a?c", True),
    ("[ab]", "a", False),  # '[' is literal
    ("[ab]", "[ab]", True),
    ("a.c", "abc", False),  # '.' is literal
    ("a\\*b", "a*b", True),  # JSON "a\\*b": a literal star
    ("a\\*b", "aXb", False),
    ("a\\\\b", "a\\b", True),  # JSON "a\\\\b": a literal backslash
    ("a\\\\*", "a\\anything", True),  # escaped backslash then a wildcard
    ("*\\*", "wow*", True),
    ("*\\*", "wow", False),
    ("multi\nline*", "multi\nline\nmore", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), GLOBS)
def test_string_matches(pattern: str, text: str, expected: bool) -> None:
    assert matches({"Variable": "$.v", "StringMatches": pattern}, {"v": text}) is expected


@pytest.mark.parametrize("value", [None, 1, True, ["a"], {"a": "a"}])
def test_string_matches_needs_a_string(value: Any) -> None:
    assert not matches({"Variable": "$.v", "StringMatches": "*"}, {"v": value})


def escape(literal: str) -> str:
    return literal.replace("\\", "\\\\").replace("*", "\\*")


def reference_regex(pattern: str) -> re.Pattern[str]:
    """A regex translation of a StringMatches pattern, used only to cross-check the matcher."""
    parts, index = [], 0
    while index < len(pattern):
        if pattern[index] == "\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
        else:
            parts.append(".*" if pattern[index] == "*" else re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts), re.DOTALL)


@given(st.text())
def test_an_escaped_literal_pattern_matches_exactly_that_literal(literal: str) -> None:
    rule = compile_choice_rule({"Variable": "$.v", "StringMatches": escape(literal)})
    assert rule.evaluate({"v": literal}, None, None)
    assert not rule.evaluate({"v": literal + "x"}, None, None)


glob_alphabet = st.sampled_from(["a", "b", "*", "\\*", "\\\\", "ab"])


@given(st.lists(glob_alphabet, max_size=8).map("".join), st.text(alphabet="ab*\\", max_size=12))
def test_string_matches_agrees_with_a_regex_translation(pattern: str, text: str) -> None:
    expected = reference_regex(pattern).fullmatch(text) is not None
    assert matches({"Variable": "$.v", "StringMatches": pattern}, {"v": text}) is expected


def test_string_matches_has_no_catastrophic_backtracking() -> None:
    rule = compile_choice_rule({"Variable": "$.v", "StringMatches": "*a*a*a*a*a*a*a*a*b"})
    assert not rule.evaluate({"v": "a" * 5000}, None, None)


# --- compile errors ---------------------------------------------------------------------------------

BAD_RULES = [
    ({"Variable": "$.v"}, ()),  # no operator
    ({"NumericEquals": 1}, ()),  # no Variable
    ({}, ()),
    ({"Variable": "$.v", "NumericEquals": 1, "StringEquals": "1"}, ()),  # two operators
    ({"Variable": "$.v", "NumericEqual": 1}, ("NumericEqual",)),  # unknown operator
    ({"Variable": "$.v", "NumericEquals": 1, "Condition": True}, ("Condition",)),
    ({"Variable": "$.v", "NumericEquals": "1"}, ("NumericEquals",)),  # bad operand types
    ({"Variable": "$.v", "NumericEquals": True}, ("NumericEquals",)),
    ({"Variable": "$.v", "NumericLessThan": None}, ("NumericLessThan",)),
    ({"Variable": "$.v", "NumericEquals": float("nan")}, ("NumericEquals",)),
    ({"Variable": "$.v", "StringEquals": 1}, ("StringEquals",)),
    ({"Variable": "$.v", "BooleanEquals": "true"}, ("BooleanEquals",)),
    ({"Variable": "$.v", "BooleanEquals": 1}, ("BooleanEquals",)),
    ({"Variable": "$.v", "IsNull": "true"}, ("IsNull",)),
    ({"Variable": "$.v", "IsPresent": 1}, ("IsPresent",)),
    ({"Variable": "$.v", "TimestampEquals": "2012-10-09 19:00:55Z"}, ("TimestampEquals",)),
    ({"Variable": "$.v", "TimestampEquals": 0}, ("TimestampEquals",)),
    ({"Variable": "$.v", "StringMatches": 1}, ("StringMatches",)),
    ({"Variable": "$.v", "StringMatches": "a\\b"}, ("StringMatches",)),  # lone escape
    ({"Variable": "$.v", "StringMatches": "trailing\\"}, ("StringMatches",)),
    ({"Variable": "$.v", "NumericEqualsPath": 1}, ("NumericEqualsPath",)),
    ({"Variable": "$.v", "NumericEqualsPath": "no-dollar"}, ("NumericEqualsPath",)),
    ({"Variable": "$.v", "NumericEqualsPath": "$.a[*]"}, ("NumericEqualsPath",)),  # not a reference path
    ({"Variable": "v", "NumericEquals": 1}, ("Variable",)),  # invalid Variable path
    ({"Variable": 1, "NumericEquals": 1}, ("Variable",)),
    ({"Variable": "$.a[", "NumericEquals": 1}, ("Variable",)),
    ({"And": []}, ("And",)),
    ({"Or": []}, ("Or",)),
    ({"And": {"Variable": "$.v", "IsNull": True}}, ("And",)),
    ({"Or": "rules"}, ("Or",)),
    ({"Not": [{"Variable": "$.v", "IsNull": True}]}, ("Not",)),  # Not with an array
    ({"Not": "x"}, ("Not",)),
    ({"And": [{"Variable": "$.v", "IsNull": True}], "Or": [{"Variable": "$.v", "IsNull": True}]}, ()),
    ({"And": [{"Variable": "$.v", "IsNull": True}], "Variable": "$.v"}, ()),
    ({"Not": {"Variable": "$.v", "IsNull": True}, "IsNull": True}, ()),
    ({"And": [{"Variable": "$.v", "IsNull": True}, {"Variable": "$.v"}]}, ("And", 1)),  # nested errors
    ({"Not": {"Or": [{"Variable": "$.v", "NumericEquals": "1"}]}}, ("Not", "Or", 0, "NumericEquals")),
    ({"And": ["not a rule"]}, ("And", 0)),
]


@pytest.mark.parametrize(("rule", "pointer"), BAD_RULES)
def test_malformed_rules_are_definition_errors(rule: Any, pointer: tuple[Any, ...]) -> None:
    with pytest.raises(DefinitionError) as raised:
        compile_choice_rule(rule)
    assert isinstance(raised.value, ChoiceRuleError)
    assert raised.value.pointer == pointer
    if pointer:
        assert str(raised.value).endswith(" at /" + "/".join(map(str, pointer)))


def test_a_non_object_rule_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError):
        compile_choice_rule(["not", "a", "rule"])  # type: ignore[arg-type]


# --- random rules: evaluation raises StatesError or nothing -----------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(["2012-10-09T19:00:55Z", "2012-10-09T19:00:55+01:00", "*"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=8,
)
paths = st.sampled_from(["$", "$.a", "$.b", "$.a.b", "$.c[0]", "$.a[*]", "$$.Execution.Name", "$var", "$.z"])
timestamps = st.sampled_from(["2012-10-09T19:00:55Z", "2012-10-09T19:00:55.5+01:00"])


def operands(operator: str) -> st.SearchStrategy[Any]:
    """Mostly well-typed operands for `operator` (so most rules compile), sometimes anything."""
    if operator.endswith("Path"):
        valid: st.SearchStrategy[Any] = paths
    elif operator.startswith("Is") or operator.startswith("Boolean"):
        valid = st.booleans()
    elif operator.startswith("Numeric"):
        valid = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    elif operator.startswith("Timestamp"):
        valid = timestamps
    else:
        valid = st.text(alphabet="ab*\\", max_size=4)
    return st.one_of(valid, valid, valid, json_values)


@st.composite
def rules(draw: st.DrawFn, depth: int = 0) -> Any:
    if depth < 2 and draw(st.booleans()):
        combinator = draw(st.sampled_from(sorted(BOOLEAN_OPERATORS)))
        if combinator == "Not":
            return {"Not": draw(rules(depth + 1))}
        return {combinator: draw(st.lists(rules(depth + 1), min_size=1, max_size=3))}
    operator = draw(st.sampled_from(sorted(COMPARISON_OPERATORS)))
    return {"Variable": draw(paths), operator: draw(operands(operator)), "Next": "X"}


@settings(max_examples=300)
@given(rules(), json_values, json_values)
def test_random_rules_compile_or_fail_cleanly_and_evaluate_to_bool_or_states_error(
    rule: Any, data: Any, variable: Any
) -> None:
    try:
        compiled = compile_choice_rule(rule)
    except DefinitionError:
        return
    try:
        result = compiled.evaluate(data, {"Execution": {"Name": "n"}}, {"var": variable})
    except StatesError as failure:
        assert failure.error == RUNTIME
        assert failure.cause is not None and failure.cause.startswith("Invalid path '$")
    else:
        assert type(result) is bool


# --- the recorded AWS corpus -------------------------------------------------------------------------

FAMILIES = ("is_operators__", "numeric__", "boolean_equals__", "string_operators__", "timestamp_operators__")


def corpus_cases() -> list[tuple[str, dict[str, Any], Any, Any]]:
    """(name, Choice state, input, expected output) for each single-Choice JSONPath case.

    The expected output is what the Pass state the Choice leads to would emit, so
    the test picks the same branch AWS did by comparing that state's Result.
    """
    if not CASES.is_dir():
        return []
    found = []
    for case in sorted(CASES.iterdir()):
        if not case.name.startswith(FAMILIES):
            continue
        definition = json.loads((case / "definition.json").read_text())
        expected = json.loads((case / "expected.json").read_text())
        states = definition["States"]
        start = states[definition["StartAt"]]
        if (
            definition.get("QueryLanguage", "JSONPath") != "JSONPath"
            or start["Type"] != "Choice"
            or sum(state["Type"] == "Choice" for state in states.values()) != 1
            or expected["status"] != "SUCCEEDED"
        ):
            continue
        targets = [rule["Next"] for rule in start["Choices"]] + [start.get("Default")]
        if not all(states.get(name, {}).keys() <= {"Type", "Result", "End"} for name in targets if name):
            continue
        data = json.loads((case / "input.json").read_text())
        found.append((case.name, definition, data, expected["output"]))
    return found


CORPUS = corpus_cases()


def choose(definition: dict[str, Any], data: Any) -> Any:
    """The output of the Pass state the Choice picks (the corpus' result encoding)."""
    choice = definition["States"][definition["StartAt"]]
    target = choice.get("Default")
    for rule in choice["Choices"]:
        if compile_choice_rule(rule).evaluate(data, None, None):
            target = rule["Next"]
            break
    return definition["States"][target]["Result"]


@pytest.mark.skipif(not CASES.is_dir(), reason="conformance corpus (/work/shared) not available")
def test_corpus_is_loaded() -> None:
    assert len(CORPUS) >= 450


@pytest.mark.skipif(not CASES.is_dir(), reason="conformance corpus (/work/shared) not available")
@pytest.mark.parametrize(("name", "definition", "data", "expected"), CORPUS, ids=[case[0] for case in CORPUS])
def test_recorded_choice_cases(name: str, definition: dict[str, Any], data: Any, expected: Any) -> None:
    assert choose(definition, data) == expected
