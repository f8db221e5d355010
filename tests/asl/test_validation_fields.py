"""Per-type fields, query-language field rules, and the shared data-flow fields."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import PASS_END, assert_valid, errors, machine, only_error, warnings

TASK = "arn:aws:lambda:us-east-1:123456789012:function:f"


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return machine({"S": state}, **top)


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "End": True, "Nxt": "S"}, "Nxt"),
        (
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "End": True,
                "TimeoutSeconds": 5,
            },
            "TimeoutSeconds",
        ),
        (
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "I", "States": {"I": PASS_END}}],
                "End": True,
                "TimeoutSeconds": 5,
            },
            "TimeoutSeconds",
        ),
        ({"Type": "Pass", "End": True, "Retry": []}, "Retry"),
        ({"Type": "Wait", "Seconds": 1, "End": True, "Catch": []}, "Catch"),
        (
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Z"}],
                "Parameters": {},
            },
            "Parameters",
        ),
        ({"Type": "Succeed", "Assign": {}}, "Assign"),
        ({"Type": "Fail", "InputPath": "$"}, "InputPath"),
    ],
)
def test_field_not_supported_by_the_type(state: dict[str, Any], field: str) -> None:
    definition = machine({"S": state, "Z": {"Type": "Succeed"}}) if state["Type"] == "Choice" else one(state)
    d = only_error(definition)
    assert d.pointer == f"/States/S/{field}"
    assert d.message.startswith(f"Field '{field}' is not supported")


def test_misspelt_field_gets_a_suggestion() -> None:
    d = only_error(one({"Type": "Task", "Resource": TASK, "End": True, "ResultPth": "$.x"}))
    assert d.message == "Field 'ResultPth' is not supported; did you mean 'ResultPath'?"


def test_jsonata_field_in_jsonpath_state() -> None:
    d = only_error(one({"Type": "Pass", "End": True, "Output": {}}))
    assert d.message == (
        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage"
    )
    assert d.pointer == "/States/S/Output"


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath", "Parameters", "Result"])
def test_jsonpath_field_in_jsonata_state(field: str) -> None:
    value = {} if field in ("Parameters", "Result") else "$"
    d = only_error(one({"Type": "Pass", "End": True, field: value}, QueryLanguage="JSONata"))
    assert d.message == (
        f"The QueryLanguage is set to 'JSONata', but field '{field}' is only supported for the 'JSONPath' QueryLanguage"
    )


def test_state_level_query_language_switches_the_rules() -> None:
    assert_valid(
        one({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": True})
    )


def test_jsonpath_state_in_jsonata_machine_is_rejected() -> None:
    d = only_error(one({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}, QueryLanguage="JSONata"))
    assert d.pointer == "/States/S/QueryLanguage"
    assert d.message == "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"


def test_invalid_query_language_value() -> None:
    d = only_error(one({"Type": "Pass", "QueryLanguage": "jsonata", "End": True}))
    assert d.pointer == "/States/S/QueryLanguage"


def test_nested_states_use_the_top_level_language_not_the_map_s() -> None:
    inner = {"Type": "Pass", "Output": "{% 1 %}", "End": True}
    definition = one(
        {
            "Type": "Map",
            "QueryLanguage": "JSONata",
            "ItemProcessor": {"StartAt": "I", "States": {"I": inner}},
            "End": True,
        }
    )
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/S/ItemProcessor/States/I/Output")]


def test_required_fields() -> None:
    assert errors(one({"Type": "Task", "End": True})) == [("SCHEMA_VALIDATION_FAILED", "/States/S")]
    d = only_error(one({"Type": "Task", "End": True}))
    assert d.message == "These fields are required: [Resource]"


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("$.a.b", True),
        (None, True),
        ("$$.Execution.Id", True),
        ("a.b", False),
        ("$.a[", False),
        (3, False),
        ("$var.x", True),
    ],
)
def test_input_output_path(field: str, value: Any, ok: bool) -> None:
    definition = one({"Type": "Pass", "End": True, field: value})
    assert errors(definition) == ([] if ok else [("SCHEMA_VALIDATION_FAILED", f"/States/S/{field}")])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("$.a", True),
        (None, True),
        ("$", True),
        ("$.a[0]", True),
        ("$.a[*]", False),
        ("$..a", False),
        ("$$.Execution", False),
        ("$myVar", False),
        ("x", False),
    ],
)
def test_result_path(value: Any, ok: bool) -> None:
    definition = one({"Type": "Pass", "End": True, "ResultPath": value})
    assert errors(definition) == ([] if ok else [("SCHEMA_VALIDATION_FAILED", "/States/S/ResultPath")])


def test_payload_template_dollar_keys_need_paths_or_intrinsics() -> None:
    params = {
        "ok.$": "$.a",
        "ctx.$": "$$.Execution.Id",
        "fn.$": "States.Format('{}', $.a)",
        "nested": {"bad.$": "a"},
        "list": [{"worse.$": 5}],
    }
    found = errors(one({"Type": "Pass", "End": True, "Parameters": params}))
    assert found == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Parameters/nested/bad.$"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Parameters/list/0/worse.$"),
    ]


def test_template_message_is_aws_s() -> None:
    d = only_error(one({"Type": "Pass", "End": True, "Parameters": {"x.$": "nope"}}))
    assert d.message.startswith(
        "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call"
    )


def test_bad_intrinsic_in_template() -> None:
    d = only_error(one({"Type": "Pass", "End": True, "Parameters": {"x.$": "States.Nope($.a)"}}))
    assert d.pointer == "/States/S/Parameters/x.$"


def test_key_with_and_without_dollar_suffix_clash() -> None:
    d = only_error(one({"Type": "Pass", "End": True, "Parameters": {"a": 1, "a.$": "$.a"}}))
    assert d.pointer == "/States/S/Parameters/a.$"


def test_no_dollar_warning() -> None:
    definition = one(
        {"Type": "Pass", "End": True, "Parameters": {"a": "$.a", "b": "States.UUID()", "c": "$ 5"}}
    )
    assert errors(definition) == []
    assert warnings(definition) == [
        ("NO_DOLLAR", "/States/S/Parameters/a"),
        ("NO_DOLLAR", "/States/S/Parameters/b"),
    ]


def test_pass_result_is_static_warning() -> None:
    definition = one({"Type": "Pass", "End": True, "Result": {"x": {"y.$": "$.a"}}})
    assert errors(definition) == []
    assert warnings(definition) == [("PASS_RESULT_IS_STATIC", "/States/S/Result")]


def test_result_selector_is_a_template() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK,
        "End": True,
        "ResultSelector": {"p.$": "$.Payload", "q.$": "1"},
    }
    assert errors(one(state)) == [("SCHEMA_VALIDATION_FAILED", "/States/S/ResultSelector/q.$")]


def test_comment_must_be_a_string() -> None:
    assert errors(one({"Type": "Pass", "End": True, "Comment": 1})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Comment")
    ]
