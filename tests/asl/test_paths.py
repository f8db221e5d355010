"""JSONPath / Reference Path behaviour, checked against what AWS (Jayway) does."""

from __future__ import annotations

import copy
import json
import timeit
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng import parse as jsonpath_ng_parse

from asl.errors import DefinitionError, StatesError
from asl.paths import (
    REFERENCE_PATH_CONFLICT,
    PathNotFound,
    ReferencePath,
    compile_path,
    compile_reference_path,
    is_path,
    path_failure_cause,
)

DOC: dict[str, Any] = {
    "a": {"b": [1, {"c": 2}], "n": None, "s": "str", "t": True},
    "items": [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}, {"y": 3}],
    "delivery-partner": "ups",
    "a b": 1,
    "x.y": 2,
}


def ev(text: str, data: Any = DOC, context: Any = None, variables: Any = None) -> Any:
    return compile_path(text).evaluate(data, context, variables)


def detail(text: str, data: Any = DOC) -> str:
    with pytest.raises(PathNotFound) as info:
        ev(text, data)
    assert info.value.path == text
    return info.value.detail


# --- definite paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", DOC),
        ("$.a.b[1].c", 2),
        ("$.a.b[-1]", {"c": 2}),
        ("$['a']['b'][0]", 1),
        ('$["a"].s', "str"),
        ("$.a['n']", None),  # present but null is a value, not a miss
        ("$.delivery-partner", "ups"),  # dashes are legal in dotted names (corpus)
        ("$['a b']", 1),
        ("$.a.['s']", "str"),  # AWS docs: $.abc.['def ghi']
        ("$.x\\.y", 2),  # escaped dot
        ("$.items[0].x", 1),
    ],
)
def test_definite_paths_return_the_value(text: str, expected: Any) -> None:
    path = compile_path(text)
    assert path.definite
    assert path.evaluate(DOC, None, None) == expected


def test_definite_path_returns_the_node_itself_not_a_copy() -> None:
    assert ev("$.a") is DOC["a"]


def test_corpus_array_index_and_escaped_bracket_name() -> None:
    items = [{"item_key": i} for i in range(11)]
    assert ev("$.items[10]", {"items": items}) == {"item_key": 10}
    # base_scenarios__escape_sequence_parsing__ESCAPE_SEQUENCES_JSONPATH: the backslash stays in the name.
    definition_value = json.loads(r'"$[\u0027Test\\\"\"Name\"\u0027]"')
    data = json.loads(r'{"Test\\\"\"Name\"": "Value\"\\"}')
    assert ev(definition_value, data) == 'Value"\\'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Observed on AWS (corpus): a missing leaf, a missing intermediate member.
        ("$.NoSuchOutputPath", "No results for path: $['NoSuchOutputPath']"),
        ("$.no.such.result.path", "Missing property in path $['no']"),
        # Jayway's texts for the other definite misses.
        ("$.a.nope", "No results for path: $['a']['nope']"),
        ("$.a.nope.x", "Missing property in path $['a']['nope']"),
        ("$.a.b[5]", "No results for path: $['a']['b'][5]"),
        ("$.a.b[-3]", "No results for path: $['a']['b'][-3]"),
        ("$.a.b[1].zz", "No results for path: $['a']['b'][1]['zz']"),
        ("$.a.n[0]", "The path $['a']['n'] is null"),
        ("$.a.s[0]", "Filter: [0] can only be applied to arrays. Current context is: str"),
        (
            "$.a.s.x",
            "Expected to find an object with property ['x'] in path $['a']['s'] "
            "but found 'java.lang.String'. "
            "This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        ),
        (
            "$.a.n.x",
            "Expected to find an object with property ['x'] in path $['a']['n'] but found 'null'. "
            "This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        ),
    ],
)
def test_definite_miss_reports_jayway_reason(text: str, reason: str) -> None:
    assert detail(text, DOC if not text.startswith("$.No") else {}) == reason


def test_missing_property_on_empty_input_matches_corpus_cause() -> None:
    with pytest.raises(PathNotFound) as info:
        ev("$.NoSuchInputPath", {"int-literal": 0})
    assert str(info.value) == "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
    assert path_failure_cause("$.x", "why") == "Invalid path '$.x' : why"


def test_index_on_a_string_does_not_pick_a_character() -> None:
    assert detail("$[0]", "abc").startswith("Filter: [0] can only be applied to arrays")


def test_root_that_is_not_an_object() -> None:
    assert detail("$.x", "abc").startswith(
        "Expected to find an object with property ['x'] in path $ but found"
    )
    assert "in path $ but found 'net.minidev.json.JSONArray'." in detail("$.x", [1])


def test_member_union_at_the_leaf_merges_into_one_object() -> None:
    path = compile_path("$.a['s','t','missing']")
    assert path.definite
    assert path.evaluate(DOC) == {"s": "str", "t": True}


# --- indefinite paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.items[*].x", [1, 2]),
        ("$.items[1:]", [DOC["items"][1], DOC["items"][2]]),
        ("$.items[:1]", [DOC["items"][0]]),
        ("$.items[-2:]", [DOC["items"][1], DOC["items"][2]]),
        ("$.items[0,2]", [DOC["items"][0], DOC["items"][2]]),
        ("$.items[0,9]", [DOC["items"][0]]),
        ("$..x", [1, 2]),
        ("$..c", [2]),
        ("$..[0]", [1, DOC["items"][0]]),  # every array's first element, in document order
        ("$.a..*", [[1, {"c": 2}], None, "str", True, 1, {"c": 2}, 2]),
        ("$.a.b[*]", [1, {"c": 2}]),
        ("$.a.*", [[1, {"c": 2}], None, "str", True]),
        ("$['a','items'].s", ["str"]),  # a member of an array selects nothing
        ("$.items[?(@.x > 1)]", [DOC["items"][1]]),
        ("$.items[?(@.x)]", DOC["items"][:2]),
        ("$.items[?(!@.x)]", [DOC["items"][2]]),
        ("$.items[?(@.s == 'b' || @.y == 3)].x", [2]),
        ("$.items[?(@.x >= 1 && @.s != 'a')]", [DOC["items"][1]]),
        ("$.items[?(@.s =~ /[ab]/)]", DOC["items"][:2]),
        ("$.items[?(@.s =~ /A/i)]", DOC["items"][:1]),
        ("$.items[?(@.x in [2, 3])]", [DOC["items"][1]]),
        ("$.items[?(@.x nin [2])]", [DOC["items"][0], DOC["items"][2]]),
        ("$.items[?(@.x == '1')]", [DOC["items"][0]]),  # Jayway compares a number with a numeric string
        ("$.items[?(@.x == $.a.b[0])]", [DOC["items"][0]]),
    ],
)
def test_indefinite_paths_return_all_matches(text: str, expected: Any) -> None:
    path = compile_path(text)
    assert not path.definite
    assert path.evaluate(DOC, None, None) == expected


def test_corpus_filter_on_status() -> None:
    users = {"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]}
    assert ev("$.users[?(@.status == 0)]", users) == [{"year": 1997, "status": 0}]


@pytest.mark.parametrize(
    "text",
    [
        "$[*]",
        "$.items[*]",
        "$.items[1:]",
        "$.items[:1]",
        "$.item.items[*]",
        "$.item.items[1:5]",
        "$.item.items[1:5].itemValue",
        "$.items[*].itemValue",
        "$..nothing",
    ],
)
def test_indefinite_paths_over_nothing_yield_empty_list(text: str) -> None:
    # Observed on AWS: even through missing members, an indefinite path yields [].
    assert ev(text, {}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.items[?(@.tags contains 'x')]", [0]),
        ("$.items[?(@.tags size 2)]", [0]),
        ("$.items[?(@.tags empty true)]", [1]),
        ("$.items[?(@.tags subsetof ['x', 'y', 'z'])]", [0, 1]),
        ("$.items[?(@.tags anyof ['y'])]", [0]),
        ("$.items[?(@.tags noneof ['y'])]", [1]),
        ("$.items[?(@.name < 'b')]", [0]),
        ("$.items[?(@.name > 1)]", []),  # ordering needs two numbers or two strings
    ],
)
def test_filter_word_operators(text: str, expected: list[int]) -> None:
    data = {"items": [{"id": 0, "tags": ["x", "y"], "name": "a"}, {"id": 1, "tags": [], "name": "c"}]}
    assert [item["id"] for item in ev(text, data)] == expected


def test_filter_matches_objects_only() -> None:
    # AWS docs: "The @ operator ... does not match scalar values. It only matches objects."
    assert ev("$.v[?(@ == 1)]", {"v": [1, 2, {"k": 1}]}) == []
    assert ev("$.v[?(@.k == 1)]", {"v": [1, [1], {"k": 1}]}) == [{"k": 1}]


def test_path_functions_are_accepted_but_never_resolve() -> None:
    # re:Post: "$.Jobs.sum()" passed validation and failed with "could not be found in the input".
    path = compile_path("$.Jobs.sum()")
    assert is_path("$.Jobs.sum()") and path.definite
    assert path.find({"Jobs": [1, 2]}) == (False, None)
    assert detail("$.Jobs.sum()", {"Jobs": [1]}) == "No results for path: $['Jobs'].sum()"


def test_filter_applies_to_an_object_itself() -> None:
    assert ev("$.a[?(@.s == 'str')].t", DOC) == [True]


# --- roots: context and variables ----------------------------------------------------------------------


def test_context_path_drops_the_first_dollar() -> None:
    context = {"Execution": {"Id": "arn:x", "Input": {"k": 1}}}
    assert ev("$$.Execution.Id", {}, context) == "arn:x"
    assert ev("$$", {}, context) is context
    with pytest.raises(PathNotFound) as info:
        ev("$$.Execution.Input.no_such_jsonpath", {}, context)
    assert info.value.detail == "No results for path: $['Execution']['Input']['no_such_jsonpath']"


def test_variable_paths() -> None:
    variables = {"order": {"total": 3, "lines": [{"sku": "a"}]}, "x": 5, "déjà": 1}
    assert ev("$x", {}, None, variables) == 5
    assert ev("$order.total", {}, None, variables) == 3
    assert ev("$order.lines[0].sku", {}, None, variables) == "a"
    assert ev("$order.lines[*].sku", {}, None, variables) == ["a"]
    assert ev("$déjà", {}, None, variables) == 1
    path = compile_path("$order.total")
    assert (path.root, path.variable) == ("var", "order")
    with pytest.raises(PathNotFound):
        ev("$missing", {}, None, variables)
    with pytest.raises(PathNotFound):
        ev("$x", {}, None, None)
    with pytest.raises(PathNotFound) as info:
        ev("$order.nope", {}, None, variables)
    assert info.value.detail == "No results for path: $['nope']"


def test_find_reports_presence_without_raising() -> None:
    assert compile_path("$.a.n").find(DOC) == (True, None)
    assert compile_path("$.a.nope").find(DOC) == (False, None)
    assert compile_path("$.items[*].x").find(DOC) == (True, [1, 2])
    assert compile_path("$.items[*].zz").find(DOC) == (False, [])
    assert compile_path("$v").find({}, None, {}) == (False, None)


# --- syntax ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a.b",
        "$.",
        "$..",
        "$.a[",
        "$.a[x]",
        "$.a[1:2:3]",
        "$['a",
        "$.a b",
        "$.a.length().b",
        "$.sum(",
        "$[?(@.x ==)]",
        "$[?@.x]",
        "$[?(@.x =~ 'a')]",
        "$1",
        "$$x",
    ],
)
def test_bad_syntax_is_a_definition_error(text: str) -> None:
    with pytest.raises(DefinitionError):
        compile_path(text)
    assert not is_path(text)


def test_non_string_is_not_a_path() -> None:
    with pytest.raises(DefinitionError):
        compile_path(3)  # type: ignore[arg-type]
    assert is_path("$.a") and is_path("$$.Map.Item.Value") and is_path("$var")


@pytest.mark.parametrize(
    "text", ["$.a[*]", "$..a", "$.a[?(@.x)]", "$.a[1:]", "$.a[0,1]", "$['a','b']", "$.*", "$.a.length()"]
)
def test_reference_paths_select_one_node_only(text: str) -> None:
    compile_path(text)
    with pytest.raises(DefinitionError):
        compile_reference_path(text)


# --- ResultPath assignment ------------------------------------------------------------------------------


def test_assign_spec_example_creates_intermediate_objects() -> None:
    raw = {"master": {"detail": [1, 2, 3]}}
    out = compile_reference_path("$.master.result.sum").assign(raw, 6)
    assert out == {"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}
    assert raw == {"master": {"detail": [1, 2, 3]}}
    assert out["master"]["detail"] is raw["master"]["detail"]  # off-path containers are shared


def test_assign_root_replaces_and_overwrite_keeps_key_order() -> None:
    assert compile_reference_path("$").assign({"a": 1}, [9]) == [9]
    out = compile_reference_path("$.a").assign({"a": 1, "b": 2}, 3)
    assert list(out.items()) == [("a", 3), ("b", 2)]


def test_assign_into_arrays() -> None:
    raw = {"list": [{"v": 1}, {"v": 2}]}
    assert compile_reference_path("$.list[1].v").assign(raw, 7) == {"list": [{"v": 1}, {"v": 7}]}
    assert compile_reference_path("$.list[-1]").assign(raw, 0) == {"list": [{"v": 1}, 0]}
    assert raw == {"list": [{"v": 1}, {"v": 2}]}


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("$.x", "input1"),
        ("$.a.b", {"a": 5}),
        ("$.a.b", {"a": None}),
        ("$.list[3]", {"list": [1]}),
        ("$.list[0]", {}),
        ("$[0]", {"a": 1}),
    ],
)
def test_assign_that_cannot_apply_is_a_reference_path_conflict(text: str, data: Any) -> None:
    with pytest.raises(StatesError) as info:
        compile_reference_path(text).assign(data, 1)
    assert info.value.error == REFERENCE_PATH_CONFLICT == "States.ReferencePathConflict"
    assert (
        info.value.cause
        == f"Unable to apply ReferencePath {text} to input {json.dumps(data, separators=(',', ':'))}"
    )


def test_observed_reference_path_conflict_text() -> None:
    with pytest.raises(StatesError) as info:
        compile_reference_path("$.someTaskResult").assign("input1", {})
    assert info.value.cause == 'Unable to apply ReferencePath $.someTaskResult to input "input1"'


def test_assign_to_context_or_variable_is_refused() -> None:
    with pytest.raises(DefinitionError):
        compile_reference_path("$$.Execution").assign({}, 1)
    with pytest.raises(DefinitionError):
        compile_reference_path("$var").assign({}, 1)


def test_reference_path_is_a_path() -> None:
    path = compile_reference_path("$.a.b[0]")
    assert isinstance(path, ReferencePath) and path.definite
    assert path.evaluate(DOC) == 1


# --- properties -----------------------------------------------------------------------------------------

_names = st.sampled_from(["a", "b", "c", "k_1", "Zed"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=12,
)
_key = st.one_of(_names, st.integers(-3, 3))
_keys = st.lists(_key, max_size=4)


def _text(keys: list[Any], bracket: bool) -> str:
    parts = []
    for key in keys:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(f"['{key}']" if bracket else f".{key}")
    return "$" + "".join(parts)


@settings(max_examples=300, deadline=None)
@given(doc=_json, keys=_keys, bracket=st.booleans())
def test_plain_paths_agree_with_jsonpath_ng(doc: Any, keys: list[Any], bracket: bool) -> None:
    text = _text(keys, bracket)
    path = compile_path(text)
    assert path.definite
    # jsonpath-ng answers str[0] with nothing and negative indexes like Jayway; it is our oracle for walking.
    oracle = [match.value for match in jsonpath_ng_parse(text).find(doc)] if keys else [doc]
    present, value = path.find(doc)
    if oracle:
        assert present and value == oracle[0]
        assert path.evaluate(doc) == oracle[0]
    else:
        assert not present
        with pytest.raises(PathNotFound):
            path.evaluate(doc)


@settings(max_examples=300, deadline=None)
@given(
    doc=st.dictionaries(_names, _json, max_size=3), keys=st.lists(_names, min_size=1, max_size=4), value=_json
)
def test_assign_then_evaluate_returns_the_value(doc: Any, keys: list[str], value: Any) -> None:
    text = _text(keys, bracket=False)
    before = copy.deepcopy(doc)
    path = compile_reference_path(text)
    try:
        out = path.assign(doc, value)
    except StatesError as exc:
        assert exc.error == REFERENCE_PATH_CONFLICT
        return
    finally:
        assert doc == before  # never mutated
    assert path.evaluate(out) == value


@settings(max_examples=200, deadline=None)
@given(doc=_json, keys=_keys, value=_json)
def test_assign_never_mutates_even_with_indexes(doc: Any, keys: list[Any], value: Any) -> None:
    before = copy.deepcopy(doc)
    path = compile_reference_path(_text(keys, bracket=True))
    try:
        out = path.assign(doc, value)
    except StatesError:
        out = None
    else:
        assert path.evaluate(out) == value
    assert doc == before


# --- speed ----------------------------------------------------------------------------------------------


def test_plain_path_evaluation_is_fast() -> None:
    path = compile_path("$.a.b")
    data = {"a": {"b": 1}}
    runs = 20_000
    seconds = min(timeit.repeat(lambda: path.evaluate(data, None, None), number=runs, repeat=5)) / runs
    assert seconds < 2e-6  # ~0.12 µs on the dev machine; generous bound for slow CI
