"""JSONata expressions: syntax, top-level references, `$states.result` / `$states.errorOutput` placement."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import assert_valid, errors, machine, only_error

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def jsonata(states: dict[str, Any]) -> dict[str, Any]:
    return machine(states, QueryLanguage="JSONata")


def pass_output(output: Any) -> dict[str, Any]:
    return jsonata({"P": {"Type": "Pass", "Output": output, "End": True}})


@pytest.mark.parametrize(
    "output",
    [
        "{% $states.input.a %}",
        {"a": "{% $sum($states.input.xs) + 1 %}", "b": ["{% $x %}", 1], "c": "literal $.x"},
        "{% $states.input.items[price > 3].name %}",
        "{% $map($states.input, function($v) { $v.a }) %}",
        " {% not an expression %}",
        "{% $states.context.Execution.Id %}",
    ],
)
def test_valid_outputs(output: Any) -> None:
    assert_valid(pass_output(output))


@pytest.mark.parametrize(
    ("output", "pointer"),
    [
        ("{% 1 + %}", "/States/P/Output"),
        ({"a": {"b": "{% $states.input[ %}"}}, "/States/P/Output/a/b"),
        (["{% ) %}"], "/States/P/Output/0"),
        ("{%   %}", "/States/P/Output"),
    ],
)
def test_syntax_errors_are_located(output: Any, pointer: str) -> None:
    d = only_error(pass_output(output))
    assert (d.code, d.pointer) == ("INVALID_JSONATA_EXPRESSION", pointer)


@pytest.mark.parametrize(
    ("expression", "name"), [("phone", "phone"), ("$.x", "$"), ("$$", "$$"), ("$sum(a)", "a")]
)
def test_top_level_references_are_refused(expression: str, name: str) -> None:
    d = only_error(pass_output({"v": "{% " + expression + " %}"}))
    assert (d.code, d.pointer) == ("UNSUPPORTED_JSONATA_EXPRESSION", "/States/P/Output/v")
    assert d.message == f"Reference to '{name}' at the top level is not supported."


def test_states_result_only_in_task_map_parallel_output_and_assign() -> None:
    task = {
        "Type": "Task",
        "Resource": FN,
        "Output": "{% $states.result %}",
        "Assign": {"r": "{% $states.result %}"},
        "End": True,
    }
    assert_valid(jsonata({"T": task}))
    d = only_error(pass_output("{% $states.result %}"))
    assert (d.code, d.pointer) == ("UNSUPPORTED_JSONATA_EXPRESSION", "/States/P/Output")
    bad_args = {"Type": "Task", "Resource": FN, "Arguments": {"a": "{% $states.result %}"}, "End": True}
    assert errors(jsonata({"T": bad_args})) == [("UNSUPPORTED_JSONATA_EXPRESSION", "/States/T/Arguments/a")]


def test_states_error_output_only_in_catchers() -> None:
    catcher = {
        "ErrorEquals": ["States.ALL"],
        "Next": "H",
        "Output": "{% $states.errorOutput %}",
        "Assign": {"e": "{% $states.errorOutput.Error %}"},
    }
    task = {"Type": "Task", "Resource": FN, "Catch": [catcher], "End": True}
    assert_valid(jsonata({"T": task, "H": {"Type": "Succeed"}}))
    task = {"Type": "Task", "Resource": FN, "Output": "{% $states.errorOutput %}", "End": True}
    assert errors(jsonata({"T": task})) == [("UNSUPPORTED_JSONATA_EXPRESSION", "/States/T/Output")]


def test_expressions_in_jsonpath_states_are_literals() -> None:
    assert_valid(machine({"P": {"Type": "Pass", "Result": "{% 1 + %}", "End": True}}))


def test_every_jsonata_field_is_checked() -> None:
    bad = "{% ( %}"
    states = {
        "M": {
            "Type": "Map",
            "Items": bad,
            "ItemSelector": {"a": bad},
            "MaxConcurrency": bad,
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "Next": "W",
        },
        "W": {"Type": "Wait", "Seconds": bad, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Condition": bad, "Next": "F"}], "Default": "F"},
        "F": {"Type": "Fail", "Error": bad, "Cause": bad},
    }
    pointers = [p for code, p in errors(jsonata(states)) if code == "INVALID_JSONATA_EXPRESSION"]
    assert sorted(pointers) == sorted(
        [
            "/States/M/Items",
            "/States/M/MaxConcurrency",
            "/States/M/ItemSelector/a",
            "/States/W/Seconds",
            "/States/C/Choices/0/Condition",
            "/States/F/Error",
            "/States/F/Cause",
        ]
    )
