"""Choice states: rule shapes, operators and operands, targets, JSONata conditions."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import assert_valid, errors, machine, only_error

DONE = {"Type": "Succeed"}


def choice(*rules: dict[str, Any], ql: str | None = None, **extra: Any) -> dict[str, Any]:
    state = {"Type": "Choice", "Choices": list(rules), **extra}
    top = {"QueryLanguage": ql} if ql else {}
    return machine({"C": state, "Done": DONE}, **top)


def rule(**fields: Any) -> dict[str, Any]:
    return {"Variable": "$.x", **fields, "Next": "Done"}


@pytest.mark.parametrize(
    ("operator", "operand"),
    [
        ("StringEquals", "a"),
        ("StringMatches", "a*"),
        ("NumericGreaterThan", 1.5),
        ("BooleanEquals", False),
        ("TimestampLessThan", "2016-03-14T01:59:00Z"),
        ("IsPresent", True),
        ("NumericEqualsPath", "$.y"),
        ("StringLessThanEqualsPath", "$$.Execution.Input.y"),
        ("TimestampEqualsPath", "$v"),
    ],
)
def test_valid_data_tests(operator: str, operand: Any) -> None:
    assert_valid(choice(rule(**{operator: operand})))


@pytest.mark.parametrize(
    ("operator", "operand"),
    [
        ("StringEquals", 1),
        ("NumericEquals", "1"),
        ("NumericEquals", True),
        ("BooleanEquals", "true"),
        ("IsNull", "yes"),
        ("TimestampEquals", "yesterday"),
        ("StringEqualsPath", "x"),
        ("NumericLessThanPath", "$.a["),
    ],
)
def test_operand_types(operator: str, operand: Any) -> None:
    d = only_error(choice(rule(**{operator: operand})))
    assert d.pointer == f"/States/C/Choices/0/{operator}"


def test_literal_timestamp_uses_aws_message() -> None:
    assert only_error(choice(rule(TimestampEquals="2016-13-01T00:00:00Z"))).message == (
        "String does not match RFC3339 timestamp"
    )


def test_compiler_findings_are_located_at_the_operator() -> None:
    d = only_error(choice(rule(StringMatches="a\\")))
    assert d.pointer == "/States/C/Choices/0/StringMatches"


def test_variable_must_be_a_path() -> None:
    assert errors(choice(rule(Variable="x", IsNull=True))) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/Variable")
    ]


def test_misspelt_operator() -> None:
    d = only_error(choice(rule(StringEqual="a")))
    assert d.pointer == "/States/C/Choices/0/StringEqual"
    assert "did you mean 'StringEquals'?" in d.message


def test_two_operators() -> None:
    d = only_error(choice(rule(StringEquals="a", IsNull=False)))
    assert d.pointer == "/States/C/Choices/0/IsNull"


def test_operator_without_variable() -> None:
    assert errors(choice({"StringEquals": "a", "Next": "Done"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0")
    ]


def test_boolean_rules_nest() -> None:
    nested = {
        "And": [{"Variable": "$.a", "IsNull": False}, {"Not": {"Variable": "$.b", "NumericEquals": 1}}],
        "Next": "Done",
    }
    assert_valid(choice(nested))


def test_nested_rule_must_not_have_next() -> None:
    nested = {"Or": [{"Variable": "$.a", "IsNull": False, "Next": "Done"}], "Next": "Done"}
    assert errors(choice(nested)) == [("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/Or/0/Next")]


def test_empty_and_and_non_object_not() -> None:
    assert errors(choice({"And": [], "Next": "Done"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/And")
    ]
    assert errors(choice({"Not": [], "Next": "Done"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/Not")
    ]


def test_boolean_and_data_test_mixed() -> None:
    mixed = {"Variable": "$.a", "IsNull": True, "Not": {"Variable": "$.b", "IsNull": True}, "Next": "Done"}
    assert errors(choice(mixed))[0][0] == "SCHEMA_VALIDATION_FAILED"


def test_top_level_rule_needs_next() -> None:
    assert ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0") in errors(
        choice({"Variable": "$.x", "IsNull": True})
    )


def test_choices_must_be_non_empty() -> None:
    d = only_error(machine({"C": {"Type": "Choice", "Choices": [], "Default": "Done"}, "Done": DONE}))
    assert (d.pointer, d.message) == ("/States/C/Choices", "Value cannot be empty")


def test_targets_resolve() -> None:
    definition = machine(
        {
            "C": {"Type": "Choice", "Choices": [rule(IsNull=True) | {"Next": "Dnoe"}], "Default": "Nope"},
            "Done": DONE,
        }
    )
    assert errors(definition) == [
        ("MISSING_TRANSITION_TARGET", "/States/C/Default"),
        ("MISSING_TRANSITION_TARGET", "/States/C/Choices/0/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/Done"),
    ]


def test_default_makes_a_state_reachable() -> None:
    assert_valid(
        machine(
            {
                "C": {"Type": "Choice", "Choices": [rule(IsNull=True)], "Default": "Other"},
                "Done": DONE,
                "Other": {"Type": "Fail"},
            }
        )
    )


def test_rule_assign_and_comment() -> None:
    assert_valid(choice(rule(IsNull=True, Assign={"x.$": "$.a"}, Comment="c")))


def test_jsonata_rules() -> None:
    assert_valid(
        choice({"Condition": "{% $states.input.x = 1 %}", "Next": "Done", "Output": {"a": 1}}, ql="JSONata")
    )
    assert_valid(choice({"Condition": True, "Next": "Done"}, ql="JSONata"))
    assert errors(choice({"Condition": "yes", "Next": "Done"}, ql="JSONata")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/Condition")
    ]
    assert errors(choice({"Next": "Done"}, ql="JSONata")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0")
    ]


def test_jsonpath_rule_in_jsonata_and_back() -> None:
    assert errors(choice(rule(IsNull=True) | {"Condition": True}, ql="JSONata")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/Variable"),
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Choices/0/IsNull"),
    ]
    d = only_error(choice(rule(IsNull=True) | {"Condition": True}))
    assert d.pointer == "/States/C/Choices/0/Condition"
    assert "only supported for the 'JSONata' QueryLanguage" in d.message


def test_choice_cannot_have_next_or_end() -> None:
    definition = machine(
        {"C": {"Type": "Choice", "Choices": [rule(IsNull=True)], "Next": "Done"}, "Done": DONE}
    )
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/C/Next")]


def test_validator_and_evaluator_know_the_same_operators() -> None:
    from asl.choice import COMPARISON_OPERATORS
    from asl.validation.choice import OPERATORS

    assert set(OPERATORS) == set(COMPARISON_OPERATORS)
