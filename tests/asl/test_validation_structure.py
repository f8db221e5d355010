"""Machine structure: top-level fields, state names, transitions, reachability, terminals."""

from __future__ import annotations

import pytest
from test_validation_support import PASS_END, assert_valid, errors, machine, only_error, run

from asl.diagnostics import Severity
from asl.loader import load
from asl.validation import validate


def test_minimal_machine_is_valid() -> None:
    assert run(machine({"A": PASS_END})) == []


def test_definition_must_be_an_object() -> None:
    d = only_error([1, 2])
    assert (d.code, d.message, d.pointer) == (
        "SCHEMA_VALIDATION_FAILED",
        "Definition must be a valid JSON object",
        "",
    )


def test_missing_states_and_start_at_in_aws_order() -> None:
    d = only_error({"Comment": "x"})
    assert d.message == "These fields are required: [States, StartAt]"
    assert d.pointer == ""


def test_unknown_top_level_field_suggests() -> None:
    d = only_error({**machine({"A": PASS_END}), "StartsAt": "A"})
    assert d.pointer == "/StartsAt"
    assert "did you mean 'StartAt'?" in d.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TimeoutSeconds", 0),
        ("TimeoutSeconds", 1.5),
        ("QueryLanguage", "Python"),
        ("Comment", 3),
        ("Version", 1),
    ],
)
def test_top_level_field_values(field: str, value: object) -> None:
    assert errors({**machine({"A": PASS_END}), field: value}) == [("SCHEMA_VALIDATION_FAILED", f"/{field}")]


def test_dangling_next_with_suggestion_and_position() -> None:
    text = (
        '{\n  "StartAt": "Charge",\n  "States": {\n    "Charge": {"Type": "Pass", "Next": "Chrage"},\n'
        '    "Done": {"Type": "Succeed"}\n  }\n}'
    )
    found = validate(load(text))
    dangling = [d for d in found if d.pointer == "/States/Charge/Next"]
    assert len(dangling) == 1
    assert dangling[0].code == "MISSING_TRANSITION_TARGET"
    assert dangling[0].message == "Missing 'Next' target: Chrage; did you mean 'Charge'?"
    assert (dangling[0].line, dangling[0].column) == (4, 40)


def test_dangling_start_at() -> None:
    d = only_error(machine({"A": PASS_END}, start="B"))
    assert (d.code, d.pointer, d.message) == (
        "MISSING_TRANSITION_TARGET",
        "/StartAt",
        "Missing 'Next' target: B",
    )


def test_unreachable_state_uses_aws_wording() -> None:
    d = only_error(machine({"A": PASS_END, "B": PASS_END}))
    assert (d.code, d.pointer) == ("MISSING_TRANSITION_TARGET", "/States/B")
    assert d.message == 'State "B" is not reachable.'


def test_no_terminal_state_suppresses_unreachable() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "C": {"Type": "Pass", "Next": "A"},
        }
    )
    d = only_error(definition)
    assert (d.code, d.message, d.pointer) == (
        "MISSING_END_STATE",
        "Workflow has no terminal state",
        "/States",
    )


def test_dangling_target_and_missing_end_come_together() -> None:
    assert errors(machine({"A": {"Type": "Pass", "Next": "NOPE"}})) == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Next"),
        ("MISSING_END_STATE", "/States"),
    ]


def test_transition_into_another_scope_is_explained() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "Out"}}}],
                "Next": "Out",
            },
            "Out": PASS_END,
        }
    )
    found = [d for d in run(definition) if d.severity is Severity.ERROR]
    assert ("MISSING_TRANSITION_TARGET", "/States/P/Branches/0/States/In/Next") in [
        (d.code, d.pointer) for d in found
    ]
    assert any("another scope" in d.message for d in found)


def test_duplicate_state_name_across_scopes() -> None:
    definition = machine(
        {
            "A": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": PASS_END}}], "End": True},
        }
    )
    d = only_error(definition)
    assert (d.code, d.message, d.pointer) == (
        "DUPLICATE_STATE_NAME",
        "Duplicate State name: A",
        "/States/A/Branches/0/States/A",
    )


def test_duplicate_key_in_states_object() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Succeed"}}}'
    found = validate(load(text))
    assert [(d.code, d.pointer) for d in found] == [("DUPLICATE_STATE_NAME", "/States/A")]


def test_state_name_longer_than_80() -> None:
    name = "N" * 81
    d = only_error(machine({name: PASS_END}))
    assert d.pointer == f"/States/{name}" and "80" in d.message
    assert_valid(machine({"N" * 80: PASS_END}))


def test_missing_and_unknown_type() -> None:
    assert errors(machine({"A": {"End": True}})) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    d = only_error(machine({"A": {"Type": "Pas", "End": True}}))
    assert d.pointer == "/States/A/Type"
    assert d.message.startswith(
        "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]"
    )
    assert "did you mean 'Pass'?" in d.message


def test_state_must_be_an_object() -> None:
    assert errors(machine({"A": PASS_END, "B": "x"}, start="A")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/B"),
        ("MISSING_TRANSITION_TARGET", "/States/B"),
    ]


def test_next_and_end_rules() -> None:
    assert errors(machine({"A": {"Type": "Pass"}})) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    both = machine({"A": {"Type": "Pass", "Next": "B", "End": True}, "B": PASS_END})
    assert ("SCHEMA_VALIDATION_FAILED", "/States/A/Next") in errors(both)
    assert errors(machine({"A": {"Type": "Pass", "End": "yes"}})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/End"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A"),
    ]
    assert errors(machine({"A": {"Type": "Succeed", "Next": "A"}})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Next")
    ]
    assert errors(machine({"A": {"Type": "Fail", "End": True}})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/End")
    ]


def test_every_problem_is_reported_at_once() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Next": "X", "Bogus": 1},
            "B": {"Type": "Wait", "End": True},
            "C": {"Type": "Succeed"},
        }
    )
    codes = errors(definition)
    assert ("SCHEMA_VALIDATION_FAILED", "/States/A/Bogus") in codes
    assert ("MISSING_TRANSITION_TARGET", "/States/A/Next") in codes
    assert ("SCHEMA_VALIDATION_FAILED", "/States/B") in codes
    assert ("MISSING_TRANSITION_TARGET", "/States/C") in codes


def test_plain_mapping_without_positions() -> None:
    found = validate({"StartAt": "A", "States": {"A": {"Type": "Pass"}}})
    assert [(d.pointer, d.line) for d in found] == [("/States/A", None)]


def test_absurd_nesting_is_a_diagnostic_not_a_crash() -> None:
    value: object = 1
    for _ in range(30000):  # deeper than any recursion limit (the JSONata library raises it to 10000)
        value = [value]
    found = validate(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a": value}, "End": True}}}
    )
    assert [d.message for d in found] == ["The definition is nested too deeply to validate"]


def test_other_repeated_fields_are_warnings() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "Next": "C", "End": true}}}'
    found = [(d.code, d.severity, d.pointer) for d in validate(load(text))]
    assert ("DUPLICATE_FIELD", Severity.WARNING, "/States/A/Next") in found
