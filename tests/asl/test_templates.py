"""Payload templates (Parameters, ResultSelector, ItemSelector, JSONPath Assign)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl.errors import RUNTIME, DefinitionError, StatesError
from asl.templates import NULL_INPUT_CAUSE, compile_template

CONTEXT = {
    "Execution": {"Id": "arn:exec", "Input": {"int-literal": 0}},
    "Map": {"Item": {"Index": 2, "Value": "v"}},
}


def test_keys_ending_in_dollar_are_evaluated_at_any_depth() -> None:
    template = compile_template(
        {
            "literal": "$.not-evaluated",
            "value.$": "$.a",
            "nested": {"deep.$": "$.b[1]", "keep": 1},
            "list": [{"inner.$": "$$.Map.Item.Index"}, "plain", [{"x.$": "$v"}]],
            "ctx.$": "$$.Execution.Id",
            "var.$": "$v.k",
        }
    )
    out = template.evaluate({"a": 1, "b": [0, 5]}, CONTEXT, {"v": {"k": "K"}})
    assert out == {
        "literal": "$.not-evaluated",
        "value": 1,
        "nested": {"deep": 5, "keep": 1},
        "list": [{"inner": 2}, "plain", [{"x": {"k": "K"}}]],
        "ctx": "arn:exec",
        "var": "K",
    }
    assert list(out) == ["literal", "value", "nested", "list", "ctx", "var"]


def test_static_subtrees_are_shared_not_copied() -> None:
    raw = {"static": {"deep": [1, 2, {"x": 1}]}, "list": [[1], {"a": 2}], "v.$": "$"}
    template = compile_template(raw)
    first = template.evaluate({"in": 1})
    second = template.evaluate({"in": 2})
    assert first["static"] is raw["static"] and second["static"] is raw["static"]
    assert first["list"] is raw["list"]
    assert first is not second


def test_template_without_dollar_keys_returns_itself() -> None:
    raw = {"a": [1, {"b": "$.x"}]}
    template = compile_template(raw, "ResultSelector")
    assert template.static and template.field == "ResultSelector"
    assert template.evaluate({"x": 1}) is raw
    assert compile_template(5).evaluate(None) == 5


def test_path_values_are_shared_references_into_the_input() -> None:
    data = {"a": {"big": [1, 2]}}
    assert compile_template({"x.$": "$.a"}).evaluate(data)["x"] is data["a"]


def test_indefinite_paths_give_lists() -> None:
    template = compile_template({"item.$": "$.items[*]", "vals.$": "$.items[*].v"})
    assert template.evaluate({}) == {"item": [], "vals": []}
    assert template.evaluate({"items": [{"v": 1}, {}]}) == {"item": [{"v": 1}, {}], "vals": [1]}


def test_missing_input_path_cause_matches_aws() -> None:
    template = compile_template({"value.$": "$.no_such_jsonpath"})
    with pytest.raises(StatesError) as info:
        template.evaluate({"int-literal": 0}, CONTEXT, None)
    assert info.value.error == RUNTIME
    assert info.value.cause == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' "
        "could not be found in the input '{\"int-literal\":0}'"
    )


def test_missing_context_path_cause_keeps_the_double_dollar() -> None:
    template = compile_template({"value.$": "$$.Execution.Input.no_such_jsonpath"})
    with pytest.raises(StatesError) as info:
        template.evaluate({"int-literal": 0}, CONTEXT, None)
    assert info.value.cause == (
        "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' "
        "could not be found in the input '{\"int-literal\":0}'"
    )


def test_nested_failure_names_the_leaf_key() -> None:
    template = compile_template({"outer": [{"address.$": "$.application.address"}]})
    with pytest.raises(StatesError) as info:
        template.evaluate({"flagged": False})
    assert info.value.cause == (
        "The JSONPath '$.application.address' specified for the field 'address.$' "
        "could not be found in the input '{\"flagged\":false}'"
    )


def test_missing_variable_is_a_runtime_failure() -> None:
    with pytest.raises(StatesError) as info:
        compile_template({"x.$": "$nope"}).evaluate({}, None, {})
    assert info.value.error == RUNTIME
    assert "'$nope' specified for the field 'x.$'" in (info.value.cause or "")


def test_null_input_cannot_be_read_by_input_paths() -> None:
    with pytest.raises(StatesError) as info:
        compile_template({"Input.$": "$"}).evaluate(None, CONTEXT, None)
    assert (info.value.error, info.value.cause) == (RUNTIME, NULL_INPUT_CAUSE)
    # Context and variable paths do not read the input.
    assert compile_template({"id.$": "$$.Execution.Id", "v.$": "$v"}).evaluate(None, CONTEXT, {"v": 1}) == {
        "id": "arn:exec",
        "v": 1,
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"a": 1, "a.$": "$.x"},
        {"a.$": "$.x", "a": 1},
        {"n": {"k.$": "$", "k": 2}},
        [{"k.$": "$", "k": 2}],
    ],
)
def test_duplicate_names_after_stripping_are_definition_errors(raw: Any) -> None:
    with pytest.raises(DefinitionError):
        compile_template(raw)


@pytest.mark.parametrize("value", [1, None, True, {"a": 1}, ["$.x"], 2.5])
def test_non_string_under_dollar_key_is_a_definition_error(value: Any) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_template({"nested": {"value.$": value}})
    assert str(info.value) == (
        "The value for the field 'value.$' must be a valid JSONPath or a valid intrinsic function call"
    )


@pytest.mark.parametrize("text", ["$.a[", "$.", "$..", "$1x"])
def test_bad_path_syntax_is_a_definition_error(text: str) -> None:
    with pytest.raises(DefinitionError):
        compile_template({"v.$": text})


def test_intrinsic_values_are_evaluated() -> None:
    template = compile_template(
        {"arr.$": "States.Array($.a, $$.Map.Item.Index, $v)", "s.$": "States.Format('x{}', $.a)"}
    )
    assert template.evaluate({"a": 1}, CONTEXT, {"v": "w"}) == {"arr": [1, 2, "w"], "s": "x1"}


def test_constant_intrinsics_are_computed_once() -> None:
    template = compile_template({"k.$": "States.Array(1, 'two')", "n": [{"m.$": "States.MathAdd(1, 2)"}]})
    assert template.static
    first = template.evaluate({"whatever": 1})
    assert first == {"k": [1, "two"], "n": [{"m": 3}]}
    assert template.evaluate(None) is first


def test_intrinsic_needing_randomness_gets_the_env() -> None:
    class Env:
        def random(self) -> Any:
            raise AssertionError("not used by States.UUID")

        def uuid4(self) -> str:
            return "00000000-0000-4000-8000-000000000000"

    template = compile_template({"id.$": "States.UUID()"})
    assert not template.static
    assert template.evaluate({}, None, None, Env()) == {"id": "00000000-0000-4000-8000-000000000000"}


def test_intrinsic_path_argument_failure_cause() -> None:
    template = compile_template({"x.$": "States.Array($.optionalProperty)"})
    with pytest.raises(StatesError) as info:
        template.evaluate({"requiredProperty": 1})
    assert info.value.error == RUNTIME
    assert info.value.cause == (
        "The function 'States.Array($.optionalProperty)' had the following error: The JsonPath argument "
        "for the field '$.optionalProperty' could not be found in the input '{\"requiredProperty\":1}'"
    )


@pytest.mark.parametrize("text", ["nonsense", "States.NoSuchFunction(1)", "States.Array(", "Foo.Bar()"])
def test_bad_intrinsic_is_a_definition_error(text: str) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_template({"f.$": text})
    assert "must be a valid JSONPath or a valid intrinsic function call" in str(info.value)


_names = st.sampled_from(["a", "b", "c"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(raw=_json, data=_json)
def test_templates_without_dollar_keys_are_identity_and_never_mutate(raw: Any, data: Any) -> None:
    before = copy.deepcopy(data)
    template = compile_template(raw)
    assert template.evaluate(data) is raw
    assert data == before


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(_names, _json, max_size=3), name=_names)
def test_dollar_path_copies_the_member_and_leaves_input_alone(data: dict[str, Any], name: str) -> None:
    before = copy.deepcopy(data)
    template = compile_template({"out.$": f"$.{name}", "whole.$": "$"})
    if name in data:
        assert template.evaluate(data) == {"out": data[name], "whole": data}
    else:
        with pytest.raises(StatesError):
            template.evaluate(data)
    assert data == before
