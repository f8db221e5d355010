"""Assign: variable names, values per language, and no reuse of outer names in inner scopes."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import PASS_END, assert_valid, errors, machine, only_error, run, warnings


def assign(value: Any, ql: str | None = None) -> dict[str, Any]:
    top = {"QueryLanguage": ql} if ql else {}
    return machine({"P": {"Type": "Pass", "Assign": value, "End": True}}, **top)


def test_valid_assignments() -> None:
    assert_valid(
        assign(
            {
                "x": 1,
                "y.$": "$.a",
                "z.$": "States.ArrayLength($.xs)",
                "ctx.$": "$$.Execution.Id",
                "obj": {"n.$": "$.n"},
                "é": None,
                "_u": 0,
            }
        )
    )
    assert_valid(assign({"x": "{% $states.input.a %}", "y": [1, "{% 2 %}"]}, ql="JSONata"))
    assert_valid(assign({}))


@pytest.mark.parametrize("name", ["1abc", "my-var", "states", "a b", "x" * 81])
def test_invalid_names(name: str) -> None:
    d = only_error(assign({name: 1}))
    assert d.pointer == f"/States/P/Assign/{name}"
    assert d.message.startswith(f"Invalid variable name '{name}'")


def test_dollar_suffix_is_not_stripped_in_jsonata() -> None:
    assert errors(assign({"x.$": "$.a"}, ql="JSONata")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/P/Assign/x.$")
    ]


def test_jsonpath_assign_values() -> None:
    assert errors(assign({"x.$": "a.b"})) == [("SCHEMA_VALIDATION_FAILED", "/States/P/Assign/x.$")]
    assert errors(assign({"x": 1, "x.$": "$.a"})) == [("SCHEMA_VALIDATION_FAILED", "/States/P/Assign/x.$")]
    assert warnings(assign({"x": "$.a"})) == [("NO_DOLLAR", "/States/P/Assign/x")]


def test_assign_must_be_an_object() -> None:
    assert errors(assign([1])) == [("SCHEMA_VALIDATION_FAILED", "/States/P/Assign")]


def test_inner_scope_must_not_reassign_an_outer_variable() -> None:
    inner = {"Type": "Pass", "Assign": {"limit": 1, "fresh": 2}, "End": True}
    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"limit": 3}, "Next": "Loop"},
            "Loop": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Use", "States": {"Use": inner}},
                "End": True,
            },
        }
    )
    d = only_error(definition)
    assert d.pointer == "/States/Loop/ItemProcessor/States/Use/Assign/limit"


def test_sibling_scopes_may_reuse_names_and_inner_may_read() -> None:
    branch_a = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v": 1}, "End": True}}}
    branch_b = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"v": 2}, "End": True}}}
    reader = {"StartAt": "R", "States": {"R": {"Type": "Pass", "Parameters": {"x.$": "$top"}, "End": True}}}
    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"top": 1}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [branch_a, branch_b, reader], "End": True},
        }
    )
    assert_valid(definition)


def test_outer_names_include_choice_rules_and_catchers() -> None:
    inner = {"Type": "Pass", "Assign": {"picked": 1}, "End": True}
    definition = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "M", "Assign": {"picked": 0}}],
                "Default": "M",
            },
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": inner}}, "End": True},
        }
    )
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/M/ItemProcessor/States/I/Assign/picked")
    ]
    assert_valid(machine({"A": PASS_END}))


def test_unassigned_variable_references_are_warnings() -> None:
    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"customer": 1}, "Next": "Use"},
            "Use": {
                "Type": "Pass",
                "Parameters": {"a.$": "$custmer", "b.$": "States.Format('{} $x', $customer)"},
                "Next": "J",
            },
            "J": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $customer & $other %}",
                "End": True,
            },
        }
    )
    assert errors(definition) == []
    found = [d for d in run(definition) if d.code == "UNDEFINED_VARIABLE"]
    assert [(d.pointer, d.message) for d in found] == [
        (
            "/States/Use/Parameters/a.$",
            "The variable '$custmer' is not assigned in this scope or an enclosing one; did you mean 'customer'?",
        ),
        ("/States/J/Output", "The variable '$other' is not assigned in this scope or an enclosing one"),
    ]


def test_inner_variables_are_not_visible_outside() -> None:
    inner = {"Type": "Pass", "Assign": {"inner": 1}, "End": True}
    definition = machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": inner}},
                "Next": "After",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After", "Assign": {"x.$": "$inner"}}],
            },
            "After": {"Type": "Pass", "OutputPath": "$inner", "End": True},
        }
    )
    assert warnings(definition) == [
        ("UNDEFINED_VARIABLE", "/States/M/Catch/0/Assign/x.$"),
        ("UNDEFINED_VARIABLE", "/States/After/OutputPath"),
    ]
