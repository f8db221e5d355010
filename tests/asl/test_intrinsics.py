"""ASL intrinsic functions: grammar, all eighteen functions, AWS's errors, Java quirks, properties.

Expected values come from the conformance corpus recorded on AWS (copied inline, so the
tests need no external data), from public AWS characterisation runs noted as [O], and
from the AWS documentation. The corpus itself is replayed at the end when present.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
import string
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asl.errors import RUNTIME, DefinitionError, StatesError
from asl.intrinsics import (
    DEFAULT_ENV,
    INTRINSIC_FUNCTIONS,
    Intrinsic,
    compile_intrinsic,
    looks_like_intrinsic,
)
from asl.intrinsics import _compile as compile_module
from asl.intrinsics._java import (
    JavaRandom,
    hash_map_merge,
    java_double_text,
    java_equality_key,
    java_hash,
    java_text,
    string_hash,
)
from asl.paths import PathNotFound

CASES = Path("/work/shared/conformance/cases")


def run(text: str, data: Any = None, context: Any = None, variables: Any = None, **options: Any) -> Any:
    return compile_intrinsic(text, **options).evaluate(data, context, variables)


def invalid(name: str) -> StatesError:
    return StatesError(RUNTIME, f"Invalid arguments in States.{name}")


def fails_at_run_time(text: str, data: Any = None, *, strict: bool = True) -> StatesError:
    with pytest.raises(StatesError) as caught:
        run(text, data, strict=strict)
    return caught.value


class FixedEnv:
    """A deterministic environment, as the engine would inject one."""

    def __init__(self, seed: int = 7, uuid: str = "00000000-0000-4000-8000-000000000000") -> None:
        self._random = random.Random(seed)
        self._uuid = uuid
        self.draws = 0

    def random(self) -> random.Random:
        self.draws += 1
        return self._random

    def uuid4(self) -> str:
        return self._uuid


# --- public API ---------------------------------------------------------------------------------------


def test_the_eighteen_functions() -> None:
    names = [
        "Format",
        "StringToJson",
        "JsonToString",
        "Array",
        "ArrayPartition",
        "ArrayContains",
        "ArrayRange",
        "ArrayGetItem",
        "ArrayLength",
        "ArrayUnique",
        "Base64Encode",
        "Base64Decode",
        "Hash",
        "JsonMerge",
        "MathRandom",
        "MathAdd",
        "StringSplit",
        "UUID",
    ]
    assert {f"States.{name}" for name in names} == INTRINSIC_FUNCTIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array()", True),
        ("States.Format('{}', $.x)", True),
        ("$.path", False),
        ("States.Array", False),
        ("Custom.Fn()", False),
        ("", False),
    ],
)
def test_looks_like_intrinsic(text: str, expected: bool) -> None:
    assert looks_like_intrinsic(text) is expected


def test_intrinsic_object() -> None:
    call = compile_intrinsic("States.MathAdd($.n, 1)")
    assert isinstance(call, Intrinsic)
    assert call.text == "States.MathAdd($.n, 1)"
    assert not call.constant and not call.needs_env
    assert repr(call) == "Intrinsic('States.MathAdd($.n, 1)')"
    assert call.evaluate({"n": 41}, None, None) == 42
    assert call.evaluate({"n": 1}, None, None, env=FixedEnv()) == 2


def test_literal_calls_are_folded_to_constants() -> None:
    call = compile_intrinsic("States.ArrayLength(States.ArrayRange(1, 9, 2))")
    assert call.constant
    assert call.evaluate(None, None, None) == 5


def test_evaluation_never_parses_again(monkeypatch: pytest.MonkeyPatch) -> None:
    call = compile_intrinsic("States.Format('{}-{}', $.a, States.MathAdd($.b, 1))")

    def no_parser() -> None:
        raise AssertionError("parsed at evaluation time")

    monkeypatch.setattr(compile_module, "_parser", no_parser)
    assert call.evaluate({"a": "x", "b": 1}, None, None) == "x-2"


def test_grammar_is_package_data() -> None:
    from importlib import resources

    assert "FUNCTION_NAME" in resources.files("asl").joinpath("intrinsics.lark").read_text()


# --- grammar ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array()", []),
        ("States.Array( $.a , $.b )", [1, 2]),  # whitespace between tokens [O]
        ("States.Array(42, true, null, 'hello')", [42, True, None, "hello"]),  # [O]
        ("States.Array(false, '', 0, null)", [False, "", 0, None]),  # [O]
        ("States.Array(-1, 1.5, -0.25, 1e3, 2E-2)", [-1, 1.5, -0.25, 1000.0, 0.02]),
        ("States.Array(1, States.Array(2, 3))", [1, [2, 3]]),
        ("States.Array('it\\'s', '\\{\\}', 'back\\\\slash')", ["it's", "{}", "back\\slash"]),
        ("States.Array('{\"a\": [1]}')", ['{"a": [1]}']),  # braces need no escape outside Format [O]
        ("States.Array('multi\nline')", ["multi\nline"]),
        ("States.Array($)", [{"a": 1, "b": 2}]),
    ],
)
def test_arguments(text: str, expected: Any) -> None:
    assert run(text, {"a": 1, "b": 2}) == expected


def test_number_literals_keep_their_type() -> None:
    ints, floats = run("States.Array(1, -7, 0)"), run("States.Array(1.0, 2e0)")
    assert all(type(value) is int for value in ints)
    assert all(type(value) is float for value in floats)


def test_path_arguments_reach_input_context_and_variables() -> None:
    text = "States.Array($.items[?(@.n > 1)].n, $$.Execution.Name, $config.region, $['odd key'], $.items[0])"
    data = {"items": [{"n": 1}, {"n": 2}, {"n": 3}], "odd key": "k"}
    result = run(text, data, {"Execution": {"Name": "exec-1"}}, {"config": {"region": "eu-west-1"}})
    assert result == [[2, 3], "exec-1", "eu-west-1", "k", {"n": 1}]


def test_nesting_up_to_ten_levels() -> None:
    expected: Any = 1
    for _ in range(10):
        expected = [expected]
    assert run("States.Array(" * 10 + "1" + ")" * 10) == expected
    with pytest.raises(DefinitionError, match="nested at most 10 deep"):
        compile_intrinsic("States.Array(" * 11 + "1" + ")" * 11)


def test_documented_nine_call_example() -> None:
    # The developer guide's example, minus its third placeholder (it passes only two values).
    text = (
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/recipe.name/1.0.0"
    assert run(text, {"ImageRecipe": {"Arn": arn}}) == "1.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("States.Array(", "unexpected end of text"),
        ("States.Array($.a) trailing", "unexpected"),
        ("States.Array([1,2])", "unexpected character '\\['"),
        ("States.Array(1.)", "unexpected"),
        ("States.Array(.5)", "unexpected"),
        ("States.ArrayContains($.arr, )", "unexpected"),
        ("States.Array('unterminated)", "unexpected"),
        ("States.Array(TRUE)", "unexpected"),
        ('States.Array("double")', "unexpected character"),
        ("States.Foo()", "unknown intrinsic function 'States.Foo'"),
        ("States.format('{}', 1)", "did you mean 'States.Format'"),
        ("Custom.Fn()", "unknown intrinsic function 'Custom.Fn'"),
        ("States.Array('YWJj\\nZA==')", "invalid escape '\\\\n'"),  # AWS rejects at definition time [O]
        ("States.Array('\\a')", "invalid escape"),
        ("States.Array($.a b)", "unexpected"),
        ("States.Array($.a.length())", "unexpected"),
        ("", "unexpected"),
    ],
)
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        compile_intrinsic(text)


def test_syntax_errors_are_definition_errors_even_when_lenient() -> None:
    for text in ("States.Array(", "States.Nope(1)", "States.Array('\\x')", "States.Array(" * 11 + ")" * 11):
        with pytest.raises(DefinitionError):
            compile_intrinsic(text, strict=False)


def test_invalid_path_argument_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="invalid path"):
        compile_intrinsic("States.Array($.a[abc])")
    with pytest.raises(DefinitionError, match="invalid path"):
        compile_intrinsic("States.Array($.)")


def test_missing_path_raises_path_not_found() -> None:
    # The payload-template layer turns this into AWS's "could not be found in the input" cause.
    with pytest.raises(PathNotFound) as caught:
        run("States.Hash($.missing, 'SHA-256')", {})
    assert caught.value.path == "$.missing"


# --- States.Format ------------------------------------------------------------------------------------

FORMAT_1 = "States.Format('Formatting argument {}.', $.v)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [  # generic__format_1 [O]
        ("", "Formatting argument ."),
        (" ", "Formatting argument  ."),
        ("HelloWorld", "Formatting argument HelloWorld."),
        (None, "Formatting argument null."),
        (1, "Formatting argument 1."),
        (1.1, "Formatting argument 1.1."),
        ('{"Arg1": 1, "Arg2": []}', 'Formatting argument {"Arg1": 1, "Arg2": []}.'),
        ({"Arg1": 1, "Arg2": []}, "Formatting argument {Arg1=1, Arg2=[]}."),  # generic__format_2 [O]
        (True, "Formatting argument true."),
        (False, "Formatting argument false."),
        (9007199254740991, "Formatting argument 9007199254740991."),
        (-1, "Formatting argument -1."),
        (3.5, "Formatting argument 3.5."),
        ([1, "a", None, [True]], "Formatting argument [1, a, null, [true]]."),
        ({"a": {"b": "x y"}, "c": [{}]}, "Formatting argument {a={b=x y}, c=[{}]}."),
        (1e20, "Formatting argument 1.0E20."),
    ],
)
def test_format_renders_like_java(value: Any, expected: str) -> None:
    assert run(FORMAT_1, {"v": value}) == expected


def test_format_context_object_as_java_map() -> None:
    # generic__context_json_path [O]
    context = {
        "Execution": {"Name": "exec"},
        "StateMachine": {"Id": "arn:aws:states:r:1:stateMachine:sm", "Name": "sm"},
    }
    text = "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)"
    assert run(text, {}, context) == (
        "Formatting arguments fst=exec and snd={Id=arn:aws:states:r:1:stateMachine:sm, Name=sm}."
    )


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        (
            "States.Format('Hello {}, welcome to {}!', $.name, $.place)",
            {"name": "John", "place": "LS"},
            "Hello John, welcome to LS!",
        ),
        ("States.Format('no placeholders')", {}, "no placeholders"),
        ("States.Format('  {}  ', $.a)", {"a": "x"}, "  x  "),
        ("States.Format('Name: \\'{}\\'', $.a)", {"a": "G"}, "Name: 'G'"),
        ("States.Format('\\{{}\\}', $.a)", {"a": 1}, "{1}"),
        ("States.Format('a\\\\{}', $.a)", {"a": 1}, "a\\1"),
        ("States.Format('Format:{}', 101)", {}, "Format:101"),
        (
            "States.Format('arn:{}:{}', $.svc, States.JsonToString($.obj))",
            {"svc": "l", "obj": {"k": 1}},
            'arn:l:{"k":1}',
        ),
        (
            "States.Format('probe={}', States.JsonToString($.p))",
            {"p": [None, "", 0, True, [0]]},
            'probe=[null,"",0,true,[0]]',
        ),
        ("States.Format($.template, $.name)", {"template": "Hello {}", "name": "Ada"}, "Hello Ada"),  # [D]
        ("States.Format($.t, $.v)", {"t": "It's {}!", "v": "Pikachu"}, "It's Pikachu!"),  # [O]
        ("States.Format($.t, $.v)", {"t": "\\{{}\\}", "v": 1}, "{1}"),
        ("States.Format('{}:{}', $.name, $$.Execution.Input.suffix)", {"name": "job"}, "job:run"),
    ],
)
def test_format(text: str, data: Any, expected: str) -> None:
    assert run(text, data, {"Execution": {"Input": {"suffix": "run"}}}) == expected


def test_format_of_string_to_json_prints_json_text() -> None:
    # [O]: AWS does not print the bare 'x' here; the parsed node prints as JSON text [U exact form].
    assert run("States.Format('{}', States.StringToJson($.json))", {"json": '"x"'}) == '"x"'
    assert run("States.Format('{}', States.StringToJson('{\"a\": [1]}'))") == '{"a":[1]}'


def test_format_template_from_variable() -> None:
    # assign_reference_variables__reference_in_map_state [O]
    call = compile_intrinsic("States.Format($AnswerTemplate, $$.Map.Item.Value)")
    assert call.evaluate({}, {"Map": {"Item": {"Value": "Charizard"}}}, {"AnswerTemplate": "It's {}!"}) == (
        "It's Charizard!"
    )


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', $.a)",  # too few values [O: States.Runtime]
        "States.Format('{}', $.a, $.b)",  # too many values [O]
        "States.Format('Hello {', $.a)",  # unmatched brace [O]
        "States.Format('Hello {{}}', $.a)",  # [O]
        "States.Format('}')",  # [O]
        "States.Format(1, $.a)",
        "States.Format()",
    ],
)
def test_format_misuse(text: str) -> None:
    with pytest.raises(DefinitionError):
        compile_intrinsic(text)
    assert fails_at_run_time(text, {"a": "x", "b": "y"}, strict=False) == invalid("Format")


@pytest.mark.parametrize(
    "data",
    [
        {"t": 123, "v": "x"},
        {"t": "{} {}", "v": "x"},
        {"t": "a } b", "v": "x"},
        {"t": "{", "v": "x"},
    ],
)
def test_format_bad_template_from_input(data: Any) -> None:
    assert fails_at_run_time("States.Format($.t, $.v)", data) == invalid("Format")


# --- JSON ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # json_manipulation__string_to_json [O]
        ("", None),
        (" ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ('\n\t{"a": 1} \r\n', {"a": 1}),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    result = run("States.StringToJson($.s)", {"s": text})
    assert result == expected and type(result) is type(expected)


def test_string_to_json_keeps_key_order() -> None:
    assert list(run("States.StringToJson($.s)", {"s": '{"z": 1, "a": 2, "m": 3}'})) == ["z", "a", "m"]


@pytest.mark.parametrize("data", [{"s": "{"}, {"s": "NaN"}, {"s": "Infinity"}, {"s": "1e999"}, {"s": "[1,]"}])
def test_string_to_json_rejects_invalid_json(data: Any) -> None:
    assert fails_at_run_time("States.StringToJson($.s)", data) == invalid("StringToJson")


@pytest.mark.parametrize("value", [1, None, True, {"a": 1}, ["x"]])
def test_string_to_json_needs_a_string(value: Any) -> None:
    # A real user hit this with an already-parsed object [O: 'Invalid arguments in States.StringToJson'].
    assert fails_at_run_time("States.StringToJson($.s)", {"s": value}) == invalid("StringToJson")


def test_string_to_json_literal_escapes() -> None:
    # json_manipulation__json_merge_escaped_argument [O]
    text = 'States.JsonMerge(States.StringToJson(\'{"constant_in_literal": "false"}\'), $$.Execution.Input.f, false)'
    result = run(text, {}, {"Execution": {"Input": {"f": {"constant_input_field": "constant_value"}}}})
    assert result == {"constant_input_field": "constant_value", "constant_in_literal": "false"}
    assert list(result) == ["constant_input_field", "constant_in_literal"]  # AWS's HashMap order [O]


@pytest.mark.parametrize(
    ("value", "expected"),
    [  # json_manipulation__json_to_string [O]
        (None, "null"),
        (0, "0"),
        (1, "1"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ("ünïcode", '"ünïcode"'),
    ],
)
def test_json_to_string(value: Any, expected: str) -> None:
    assert run("States.JsonToString($.v)", {"v": value}) == expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (
            {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
            {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
            {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4},
        ),
        ({"x": 1}, {"y": 2}, {"x": 1, "y": 2}),
        ({"x": 1, "y": 2}, {"y": 3, "z": 4}, {"x": 1, "y": 3, "z": 4}),
        ({}, {"x": 1}, {"x": 1}),
        ({"x": 1}, {}, {"x": 1}),
        ({}, {}, {}),
        ({"nested": {"left": True}, "keep": 1}, {"nested": None}, {"nested": None, "keep": 1}),
        ({"list": [1, 2]}, {"list": [3]}, {"list": [3]}),
    ],
)
def test_json_merge_is_shallow(first: Any, second: Any, expected: Any) -> None:
    assert run("States.JsonMerge($.a, $.b, false)", {"a": first, "b": second}) == expected


def test_json_merge_key_order_is_java_hash_map_order() -> None:
    # json_manipulation__json_merge [O]: a, b, c, d (insertion order would put c last).
    result = run(
        "States.JsonMerge($.a, $.b, false)", {"a": {"a": 1, "b": 2, "d": 3}, "b": {"a": 0, "c": 3, "d": 4}}
    )
    assert list(result) == ["a", "b", "c", "d"]


def test_json_merge_accepts_non_boolean_flag() -> None:
    # [O]: a string 'false' merges shallowly.
    assert run("States.JsonMerge($.a, $.b, $.deep)", {"a": {"x": 1}, "b": {"y": 2}, "deep": "false"}) == {
        "x": 1,
        "y": 2,
    }


@pytest.mark.parametrize(
    "data",
    [
        {"a": None, "b": {}, "deep": False},
        {"a": {}, "b": None, "deep": False},
        {"a": [], "b": {}, "deep": False},
        {"a": {}, "b": "x", "deep": False},
        {"a": {"n": {"l": 1}}, "b": {"n": {"r": 2}}, "deep": True},  # deep merge unsupported [D][O]
    ],
)
def test_json_merge_misuse(data: Any) -> None:
    assert fails_at_run_time("States.JsonMerge($.a, $.b, $.deep)", data) == invalid("JsonMerge")


def test_json_merge_literal_true_is_rejected() -> None:
    with pytest.raises(DefinitionError, match=r"argument 3 of States\.JsonMerge"):
        compile_intrinsic("States.JsonMerge($.a, $.b, true)")
    assert fails_at_run_time("States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, strict=False) == invalid(
        "JsonMerge"
    )


# --- arrays -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fst", "snd"),
    [
        ("", ""),
        (" ", " "),
        ("HelloWorld", "HelloWorld"),
        (None, None),
        (1, 1),
        (1.1, 1.1),
        ({"Arg1": 1, "Arg2": []}, {"Arg1": 1}),
    ],
)
def test_array(fst: Any, snd: Any) -> None:
    # array__array_2 [O]
    assert run("States.Array($.fst, $.snd)", {"fst": fst, "snd": snd}) == [fst, snd]


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [  # array__array_partition [O]
        ([], 1, []),
        ([], 5, []),
        ([0], 1, [[0]]),
        ([0], 5, [[0]]),
        ([0, 1], 1, [[0], [1]]),
        ([0, 1], 3, [[0, 1]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
        ([1, 2, 3, 4, 5], 2.6, [[1, 2], [3, 4], [5]]),  # truncated, not rounded [O]
        ([1, 2, 3, 4, 5], 2.4, [[1, 2], [3, 4], [5]]),
        ([1, 2, 3], 2147483647, [[1, 2, 3]]),
        ([[1], [2], [3]], 2, [[[1], [2]], [[3]]]),
    ],
)
def test_array_partition(items: list[Any], size: Any, expected: Any) -> None:
    assert run("States.ArrayPartition($.a, $.n)", {"a": items, "n": size}) == expected


@pytest.mark.parametrize("size", [0, -1, 0.6, 0.49, -0.4, -0.6, "2", None, True])
def test_array_partition_bad_size(size: Any) -> None:
    assert fails_at_run_time("States.ArrayPartition($.a, $.n)", {"a": [1, 2, 3], "n": size}) == invalid(
        "ArrayPartition"
    )


def test_array_partition_needs_an_array() -> None:
    assert fails_at_run_time("States.ArrayPartition($.a, 2)", {"a": "not-array"}) == invalid("ArrayPartition")
    with pytest.raises(DefinitionError):
        compile_intrinsic("States.ArrayPartition('not-array', 2)")


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [  # array__array_contains [O]
        ([], None, False),
        ([], [], False),
        ([], 1, False),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"1": 2, "2": []}, True),
        ([True, False], True, True),
        ([True, False], False, True),
        ([1, None, 3], None, True),
        ([{"a": 1}], {"a": 1, "extra": None}, False),
        ([0, 1, -1, -1.5], False, False),
        # Java String.valueOf comparison [O]:
        ([{"a": 1, "b": 2}], {"b": 2, "a": 1}, False),
        (["-1", "9007199254740991"], 9007199254740991, True),
        (["true", "false"], True, True),
        ([1.0], 1, False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert run("States.ArrayContains($.a, $.v)", {"a": items, "v": value}) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [  # array__array_range [O]
        ((0, 9, 3), [0, 3, 6, 9]),
        ((0, 10, 3), [0, 3, 6, 9]),
        ((1, 9, 9), [1]),
        ((1, 9, 2), [1, 3, 5, 7, 9]),
        ((0, 3, 1), [0, 1, 2, 3]),
        ((-2, 2, 2), [-2, 0, 2]),
        ((3, 3, 1), [3]),
        ((3, 3, -1), [3]),
        ((5, 1, -2), [5, 3, 1]),
        ((5, 1, 1), []),
        ((1, 5, -1), []),
        ((1.4, 5.6, 2.2), [1, 3, 5]),
        ((1.6, 1.4, 1), [1]),  # truncation [O]
        ((5.4, -0.6, -2.4), [5, 3, 1]),  # truncation toward zero [O]
    ],
)
def test_array_range(args: tuple[Any, Any, Any], expected: list[int]) -> None:
    result = run("States.ArrayRange($.a, $.b, $.c)", dict(zip("abc", args, strict=True)))
    assert result == expected and all(type(value) is int for value in result)


def test_array_range_limit() -> None:
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    assert run("States.ArrayRange(1000, 1, -1)")[-1] == 1
    for text in ("States.ArrayRange(1, 1001, 1)", "States.ArrayRange(1001, 1, -1)"):
        with pytest.raises(DefinitionError):
            compile_intrinsic(text)
        assert fails_at_run_time(text, strict=False) == invalid("ArrayRange")
    assert fails_at_run_time("States.ArrayRange(0, $.n, 1)", {"n": 5000}) == invalid("ArrayRange")


@pytest.mark.parametrize(
    "args", [("a", 5, 1), (1, "b", 1), (1, 5, "c"), (1, 10, 0), (1, 10, 0.49), (None, 1, 1)]
)
def test_array_range_misuse(args: tuple[Any, Any, Any]) -> None:
    data = dict(zip("abc", args, strict=True))
    assert fails_at_run_time("States.ArrayRange($.a, $.b, $.c)", data) == invalid("ArrayRange")


@pytest.mark.parametrize(
    ("items", "index", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, 6),  # array__array_get_item [O]
        (["a", "b", "c"], 0, "a"),
        ([None], 0, None),
        ([{"a": 1}, {"b": 2}], 1, {"b": 2}),
        ([10, 20, 30], 1.2, 20),  # truncated [O]
        ([], 999, None),  # AWS answers null for an empty array [O]
    ],
)
def test_array_get_item(items: list[Any], index: Any, expected: Any) -> None:
    assert run("States.ArrayGetItem($.a, $.i)", {"a": items, "i": index}) == expected


@pytest.mark.parametrize(
    ("items", "index"), [([10, 20, 30], 3), ([10, 20, 30], -1), ([10], "0"), ("abc", 0), ({"0": 1}, 0)]
)
def test_array_get_item_misuse(items: Any, index: Any) -> None:
    assert fails_at_run_time("States.ArrayGetItem($.a, $.i)", {"a": items, "i": index}) == invalid(
        "ArrayGetItem"
    )


def test_nested_calls_on_context() -> None:
    # generic__nested_calls_1 and _2 [O]
    context = {"StateMachine": {"Name": "my-state-machine"}}
    assert run("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)", {}, context) == "my"
    text = (
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))"
    )
    assert run(text, {}, context) == "machine"


@pytest.mark.parametrize(("items", "expected"), [([], 0), ([1, 2, 3, 4, 5, 6, 7, 8, 9], 9), ([[1], [2]], 2)])
def test_array_length(items: list[Any], expected: int) -> None:
    assert run("States.ArrayLength($.a)", {"a": items}) == expected


@pytest.mark.parametrize("value", ["not-array", {"k": 1}, None, 3])
def test_array_length_misuse(value: Any) -> None:
    assert fails_at_run_time("States.ArrayLength($.a)", {"a": value}) == invalid("ArrayLength")


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([1, 2, 3, 3, 3, 4], [1, 2, 3, 4]),
        (["a", "b", "a", "c", "b"], ["a", "b", "c"]),
        ([], []),
        ([True, False, True, False], [False, True]),  # HashSet order [O]
        ([None, None, 1, None], [None, 1]),  # [O]
        ([{"a": 1}, {"a": 1}], [{"a": 1}]),
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], [{"a": 1, "b": 2}]),  # map equality ignores order [O]
        ([[1, 2], [1, 2], [2, 1]], [[2, 1], [1, 2]]),  # HashSet order [O]
        ([{"nested": {"x": 1}}, {"nested": {"x": 1}}], [{"nested": {"x": 1}}]),
        (["x", "x", "y"], ["x", "y"]),
        ([1, "1", 1.0, "01", True], [1.0, 1, "1", "01", True]),  # types never equal; buckets 0, 1, 1, 1, 15
    ],
)
def test_array_unique(items: list[Any], expected: list[Any]) -> None:
    result = run("States.ArrayUnique($.a)", {"a": items})
    assert result == expected
    assert [type(value) for value in result] == [type(value) for value in expected]


def test_array_unique_keeps_first_occurrence() -> None:
    first, second = {"b": 2, "a": 1}, {"a": 1, "b": 2}
    assert run("States.ArrayUnique($.a)", {"a": [first, second]})[0] is first


def test_array_unique_misuse() -> None:
    assert fails_at_run_time("States.ArrayUnique($.a)", {"a": {"a": 1}}) == invalid("ArrayUnique")


# --- encoding, hashing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("", ""),  # encode_decode [O]
        ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
        ("Hello World", "SGVsbG8gV29ybGQ="),
        ("hello", "aGVsbG8="),
        ("✓", "4pyT"),
        ("こんにちは", "44GT44KT44Gr44Gh44Gv"),
        ("line1\nline2", "bGluZTEKbGluZTI="),
        ("abc\x00def", "YWJjAGRlZg=="),
        ("🚀", "8J+agA=="),
    ],
)
def test_base64(text: str, encoded: str) -> None:
    assert run("States.Base64Encode($.s)", {"s": text}) == encoded
    assert run("States.Base64Decode($.s)", {"s": encoded}) == text


def test_base64_encode_has_no_line_breaks() -> None:
    encoded = run("States.Base64Encode($.s)", {"s": "a" * 10_000})
    assert "\n" not in encoded and base64.b64decode(encoded) == b"a" * 10_000


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [  # lenient decoding [O]: all of these decode on AWS
        ("abc", "i\ufffd"),
        ("ab==cd", "i"),
        (" YWJjZA== ", "abcd"),
        ("YWJj\nZA==", "abcd"),
        ("YW Jj ZA", "abcd"),
        ("-_-_", "\ufffd\ufffd\ufffd"),
    ],
)
def test_base64_decode_is_lenient(encoded: str, decoded: str) -> None:
    assert run("States.Base64Decode($.s)", {"s": encoded}) == decoded


def test_base64_decode_garbage_still_decodes() -> None:
    assert isinstance(run("States.Base64Decode('!!!invalid!!!')"), str)


@pytest.mark.parametrize("name", ["Base64Encode", "Base64Decode"])
def test_base64_limits_and_types(name: str) -> None:
    text = f"States.{name}($.s)"
    assert isinstance(run(text, {"s": "A" * 10_000}), str)
    assert isinstance(run(text, {"s": "🚀" * 5_000}), str)  # 10,000 UTF-16 units
    bad: list[Any] = ["A" * 10_001, "🚀" * 5_001, 123, {}, ["x"], None]
    for value in bad:
        assert fails_at_run_time(text, {"s": value}) == invalid(name)


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [  # hash_calculations__hash [O]
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a"
            "533d30d425402d4f91316d871303aac4",
        ),
    ],
)
def test_hash(algorithm: str, digest: str) -> None:
    assert run("States.Hash($.d, $.a)", {"d": "input data", "a": algorithm}) == digest


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        ("Hash this string", "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"),  # [O]
        ("✓", "1dabba21cdad44541f6b15796f8d22978fc7ea10c46aeceeeeb66c23b3ac7604"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (123, hashlib.sha256(b"123").hexdigest()),  # non-strings are stringified [O]
        ({}, hashlib.sha256(b"{}").hexdigest()),
        ({"a": [1, None]}, hashlib.sha256(b"{a=[1, null]}").hexdigest()),
    ],
)
def test_hash_sha256(data: Any, digest: str) -> None:
    assert run("States.Hash($.d, 'SHA-256')", {"d": data}) == digest


@pytest.mark.parametrize("algorithm", ["UNSUPPORTED", "sha-256", "SHA256", "", "MD-5", "SHA-257", 123, None])
def test_hash_unknown_algorithm(algorithm: Any) -> None:
    assert fails_at_run_time("States.Hash('data', $.a)", {"a": algorithm}) == invalid("Hash")


def test_hash_limit() -> None:
    assert len(run("States.Hash($.s, 'MD5')", {"s": "a" * 10_000})) == 32
    assert fails_at_run_time("States.Hash($.s, 'MD5')", {"s": "a" * 10_001}) == invalid("Hash")
    assert fails_at_run_time("States.Hash($.s, 'MD5')", {"s": ["a" * 9_999]}) == invalid("Hash")


# --- math ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [  # math_operations__math_add [O]
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, 0, 1),
        (1.49, -1.49, 0),
        (1.5, 0, 2),
        (1.51, 0, 2),
        (-1.49, 0, -1),
        (-1.5, 0, -1),
        (-1.51, 0, -2),
        (0.5, 0, 1),
        (2.5, 0, 3),
        (3.5, 0, 4),
        (-0.5, 0.5, 1),
        (-0.5, 0, 0),
        (-2.5, 0, -2),
        (-3.5, 0, -3),
        (0.49999999999999994, 0, 0),  # Java's Math.round, not floor(x + 0.5)
        (2147483647, 0, 2147483647),
        (-2147483648, 0, -2147483648),
        (2147483646, 1, 2147483647),
    ],
)
def test_math_add(a: Any, b: Any, expected: int) -> None:
    result = run("States.MathAdd($.a, $.b)", {"a": a, "b": b})
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (2147483647, 1),
        (-2147483648, -1),
        (3000000000, 1),
        (-3000000000, 1),
        ("a", 1),
        (1, "b"),
        (None, 1),
        (True, 1),
        (False, -1),
        ("-1", 2),
        ([1], 1),
    ],
)
def test_math_add_misuse(a: Any, b: Any) -> None:
    assert fails_at_run_time("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == invalid("MathAdd")


def test_math_add_literal_misuse_is_static() -> None:
    for text in (
        "States.MathAdd('a', 1)",
        "States.MathAdd(true, $.n)",
        "States.MathAdd(2147483647, 1)",
        "States.MathAdd(1)",
    ):
        with pytest.raises(DefinitionError):
            compile_intrinsic(text)
        assert fails_at_run_time(text, {"n": 1}, strict=False) == invalid("MathAdd")


def test_math_add_nested() -> None:
    # assign_reference_variables__reference_assign__BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE [O]
    text = "States.MathAdd(States.MathAdd(States.MathAdd($y, $x), $z), $bias)"
    assert compile_intrinsic(text).evaluate({}, None, {"x": 1, "y": 2, "z": 3, "bias": 3}) == 9


@pytest.mark.parametrize(
    ("start", "end"), [(12.5, 44.51), (9999, 99999), (-99999, -9999), (1, 2), (1.6, 5.4)]
)
def test_math_random_range(start: Any, end: Any) -> None:
    # math_operations__math_random [O]: start inclusive, end exclusive, bounds truncated.
    call = compile_intrinsic("States.MathRandom($.s, $.e)")
    assert call.needs_env
    env = FixedEnv()
    values = {call.evaluate({"s": start, "e": end}, None, None, env) for _ in range(200)}
    assert all(type(value) is int and math.trunc(start) <= value < math.trunc(end) for value in values)
    assert env.draws == 200


def test_math_random_default_env() -> None:
    value = run("States.MathRandom(1, 1000)")
    assert 1 <= value < 1000
    assert 0 <= DEFAULT_ENV.random().randrange(5) < 5


def test_math_random_seeded_is_reproducible() -> None:
    call = compile_intrinsic("States.MathRandom($.s, $.e, $.seed)")
    assert not call.needs_env
    data = {"s": 0, "e": 999, "seed": 3}
    first = call.evaluate(data, None, None)
    assert all(call.evaluate(data, None, None) == first for _ in range(5))
    assert first == JavaRandom(3).next_int(999)
    assert compile_intrinsic("States.MathRandom(0, 999, 3)").constant
    for seed in (-10, 0, 42, 2.6):
        assert 1 <= run("States.MathRandom(1, 10, $.seed)", {"seed": seed}) < 10
    assert 2147483640 <= run("States.MathRandom(2147483640, 2147483647, 1)") < 2147483647


@pytest.mark.parametrize(
    "args",
    [
        (1, 1),
        (10, 5),
        (1.4, 1.6),
        (1.49, 1.49),
        ("a", 10),
        (1, "b"),
        (1, 10, "seed"),
        (1, 10, None),
        (-(2**31), 2**31 - 1),
    ],
)
def test_math_random_misuse(args: tuple[Any, ...]) -> None:
    text = "States.MathRandom($.a, $.b)" if len(args) == 2 else "States.MathRandom($.a, $.b, $.c)"
    data = dict(zip("abc", args, strict=False))
    assert fails_at_run_time(text, data) == invalid("MathRandom")


def test_math_random_arity() -> None:
    for text in ("States.MathRandom(1)", "States.MathRandom(1, 10, 5, 99)"):
        with pytest.raises(DefinitionError, match="2 to 3 arguments"):
            compile_intrinsic(text)


# --- strings, UUID ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [  # string_operations__string_split [O]
        (" ", ",", [" "]),
        (" , ", ",", [" ", " "]),
        (", , ,", ",", [" ", " "]),
        (",,,,", ",", []),
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ("a,b,c,d,e", ",", ["a", "b", "c", "d", "e"]),
        ("a,,b", ",", ["a", "b"]),
        (",a,b,", ",", ["a", "b"]),
        ("", ",", []),
        ("abc", "", ["abc"]),
        ("1a2b3ab4", "ab", ["1", "2", "3", "4"]),
        ("a|b+c.d", "|+.", ["a", "b", "c", "d"]),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected


def test_string_split_context_input() -> None:
    # string_operations__string_split_context_object [O]
    text = "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
    context = {"Execution": {"Input": {"FunctionInput": text}}}
    assert run("States.StringSplit($$.Execution.Input.FunctionInput, ',')", {}, context) == [
        "Value1",
        "Value2",
        "Value3\nValue4",
        "Value5",
        "Value6\n",
        "\ntrue",
        "1",
        "'HelloWorld'\nNull",
        "None",
        "\n   \n",
    ]


@pytest.mark.parametrize(
    "data",
    [
        {"s": 123, "d": ","},
        {"s": "a,b", "d": 1},
        {"s": None, "d": ","},
        {"s": "a", "d": None},
        {"s": False, "d": ","},
        {"s": "a,b", "d": [","]},
    ],
)
def test_string_split_misuse(data: Any) -> None:
    assert fails_at_run_time("States.StringSplit($.s, $.d)", data) == invalid("StringSplit")


def test_uuid() -> None:
    call = compile_intrinsic("States.UUID()")
    assert call.needs_env and not call.constant
    assert call.evaluate(None, None, None, env=FixedEnv(uuid="fixed")) == "fixed"
    generated = {call.evaluate(None, None, None) for _ in range(3)}
    assert len(generated) == 3 and all(len(value) == 36 and value[14] == "4" for value in generated)
    assert compile_intrinsic("States.Format('id-{}', States.UUID())").needs_env


# --- arity is static, or AWS's run-time failure when lenient ------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("States.ArrayLength()", "ArrayLength"),
        ("States.ArrayLength($.a, 999)", "ArrayLength"),
        ("States.ArrayGetItem($.a)", "ArrayGetItem"),
        ("States.ArrayContains($.a)", "ArrayContains"),
        ("States.ArrayContains($.a, 2, 999)", "ArrayContains"),
        ("States.ArrayRange(1, 5)", "ArrayRange"),
        ("States.ArrayPartition($.a)", "ArrayPartition"),
        ("States.ArrayUnique()", "ArrayUnique"),
        ("States.Hash()", "Hash"),
        ("States.Hash('hello')", "Hash"),
        ("States.Hash('hello', 'SHA-256', 'extra')", "Hash"),
        ("States.Base64Encode()", "Base64Encode"),
        ("States.Base64Decode('aGVsbG8=', 'extra')", "Base64Decode"),
        ("States.JsonMerge($.a, $.b)", "JsonMerge"),
        ("States.JsonMerge()", "JsonMerge"),
        ("States.StringSplit($.s)", "StringSplit"),
        ("States.StringToJson()", "StringToJson"),
        ("States.JsonToString($.a, $.b)", "JsonToString"),
        ("States.UUID(1)", "UUID"),
    ],
)
def test_wrong_argument_count(text: str, name: str) -> None:
    with pytest.raises(DefinitionError, match=f"States.{name} takes"):
        compile_intrinsic(text)
    assert fails_at_run_time(text, {"a": [1], "b": {}, "s": "x"}, strict=False) == invalid(name)


@pytest.mark.parametrize(
    "text",
    [
        "States.ArrayLength('not-array')",
        "States.ArrayUnique('x')",
        "States.ArrayContains('not-array', 'x')",
        "States.ArrayGetItem($.a, '1')",
        "States.ArrayPartition($.a, 0)",
        "States.ArrayRange($.a, 5, 0)",
        "States.Base64Decode(123)",
        "States.Hash($.a, 'sha1')",
        "States.JsonMerge($.a, 'x', false)",
        "States.StringSplit($.a, null)",
        "States.StringToJson(1)",
        "States.MathRandom('a', 10)",
    ],
)
def test_literal_misuse_is_static(text: str) -> None:
    with pytest.raises(DefinitionError, match=r"is invalid|fails for these arguments"):
        compile_intrinsic(text)
    error = fails_at_run_time(text, {"a": [1]}, strict=False)
    assert (
        error.error == RUNTIME
        and error.cause is not None
        and error.cause.startswith("Invalid arguments in States.")
    )


def test_assign_example_from_corpus() -> None:
    # assign_reference_variables__reference_assign__BASE_REFERENCE_IN_INTRINSIC_FUNCTION [O]
    variables = {
        "rawString": "Hello World",
        "encodedString": "SGVsbG8gV29ybGQ=",
        "inputString": "Hash this string",
        "json1": {"a": 1, "b": 2},
        "json2": {"c": 3, "d": 4},
        "jsonString": '{"key":"value"}',
        "jsonObject": {"test": "object"},
        "value1": 5,
        "value2": 3,
        "csvString": "a,b,c,d,e",
        "name": "John",
        "place": "LocalStack",
    }
    expected = {
        "States.Base64Encode($rawString)": "SGVsbG8gV29ybGQ=",
        "States.Base64Decode($encodedString)": "Hello World",
        "States.Hash($inputString, 'SHA-256')": "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e",
        "States.JsonMerge($json1, $json2, false)": {"a": 1, "b": 2, "c": 3, "d": 4},
        "States.StringToJson($jsonString)": {"key": "value"},
        "States.JsonToString($jsonObject)": '{"test":"object"}',
        "States.MathAdd($value1, $value2)": 8,
        "States.StringSplit($csvString, ',')": ["a", "b", "c", "d", "e"],
        "States.Format('Hello {}, welcome to {}!', $name, $place)": "Hello John, welcome to LocalStack!",
    }
    for text, value in expected.items():
        assert compile_intrinsic(text).evaluate({}, None, variables) == value, text


# --- Java helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (1.1, "1.1"),
        (-3.5, "-3.5"),
        (100.0, "100.0"),
        (1234567.0, "1234567.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1.5e-10, "1.5E-10"),
        (1e20, "1.0E20"),
        (-2.5e300, "-2.5E300"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_java_double_text(value: float, text: str) -> None:
    assert java_double_text(value) == text


def test_java_hash_codes() -> None:
    assert string_hash("hello") == 99162322
    assert string_hash("") == 0
    assert string_hash("polygenelubricants") == -(2**31)
    assert string_hash("é🚀") == ((0xE9 * 31 + 0xD83D) * 31 + 0xDE80)
    assert java_hash(None) == 0
    assert java_hash(True) == 1231 and java_hash(False) == 1237
    assert java_hash(-1) == -1 and java_hash(2**40) == 256 and java_hash(-(2**40)) == -256
    assert java_hash(1.0) == 1072693248
    assert java_hash([1, 2]) == 994
    assert java_hash({"a": 1}) == 97 ^ 1


def test_java_random_matches_java() -> None:
    assert JavaRandom(0).next_bits(32) == -1155484576  # new Random(0).nextInt()
    assert JavaRandom(42).next_bits(32) == -1170105035  # new Random(42).nextInt()
    assert 0 <= JavaRandom(1).next_int(16) < 16


def test_hash_map_merge_resizes_like_java() -> None:
    many = {f"k{index}": index for index in range(40)}
    merged = hash_map_merge(many, {"z": 1})
    assert merged == {**many, "z": 1}
    capacity = 64  # new HashMap(m) of 40 entries: tableSizeFor(40 / 0.75 + 1) = 64; 41 <= 48 keeps it
    order = sorted(
        merged, key=lambda key: ((h := string_hash(key) & 0xFFFFFFFF) ^ (h >> 16)) & (capacity - 1)
    )
    assert list(merged) == order


# --- properties ---------------------------------------------------------------------------------------


def escape_literal(text: str) -> str:
    return "".join("\\" + char if char in "'{}\\" else char for char in text)


json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.text())
def test_escaped_literals_round_trip(text: str) -> None:
    literal = escape_literal(text)
    assert run(f"States.Array('{literal}')") == [text]
    assert run(f"States.Format('{literal}')") == text


@given(st.text(), st.text())
def test_format_inserts_values_verbatim(prefix: str, value: str) -> None:
    call = compile_intrinsic(f"States.Format('{escape_literal(prefix)}{{}}', $.v)")
    assert call.evaluate({"v": value}, None, None) == prefix + value


@given(st.lists(json_values, max_size=30), st.integers(min_value=1, max_value=40))
def test_partition_concatenates_back(items: list[Any], size: int) -> None:
    chunks = run("States.ArrayPartition($.a, $.n)", {"a": items, "n": size})
    assert [item for chunk in chunks for item in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= size for chunk in chunks)


@given(st.text(), st.text(max_size=4))
def test_split_never_yields_empty_tokens(text: str, delimiters: str) -> None:
    tokens = run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters})
    assert all(tokens)
    assert all(not set(token) & set(delimiters) for token in tokens)
    if delimiters:
        assert "".join(tokens) == "".join(char for char in text if char not in delimiters)


@given(st.text(max_size=2000))
def test_base64_round_trip(text: str) -> None:
    assume(not any("\ud800" <= char <= "\udfff" for char in text))
    encoded = run("States.Base64Encode($.s)", {"s": text})
    assert base64.b64decode(encoded, validate=True) == text.encode()
    assert run("States.Base64Decode($.s)", {"s": encoded}) == text


@given(st.text(alphabet=string.printable + "é🚀=", max_size=60))
def test_base64_decode_never_fails_on_strings(text: str) -> None:
    assert isinstance(run("States.Base64Decode($.s)", {"s": text}), str)


@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | st.integers(-(10**9), 10**9),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | st.integers(-(10**9), 10**9),
)
def test_math_add_rounds_half_up(a: float, b: float) -> None:
    def half_up(value: float) -> int:  # Java's Math.round, computed exactly
        return math.floor(Fraction(value) + Fraction(1, 2))

    expected = half_up(a) + half_up(b)
    if -(2**31) <= expected < 2**31:
        assert run("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == expected
    else:
        assert fails_at_run_time("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == invalid("MathAdd")


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool))
def test_array_range_is_inclusive_range(first: int, last: int, step: int) -> None:
    expected = list(range(first, last + (1 if step > 0 else -1), step))
    assert run("States.ArrayRange($.a, $.b, $.c)", {"a": first, "b": last, "c": step}) == expected


@given(st.lists(json_values, max_size=25))
def test_array_unique_is_a_permutation_of_distinct_items(items: list[Any]) -> None:
    result = run("States.ArrayUnique($.a)", {"a": items})
    first_of: dict[Any, Any] = {}
    for item in items:
        first_of.setdefault(java_equality_key(item), item)
    assert len(result) == len(first_of)
    assert all(first_of[java_equality_key(value)] is value for value in result)


@given(st.lists(json_values, max_size=10), json_values)
def test_array_contains_agrees_with_java_text(items: list[Any], value: Any) -> None:
    expected = any(java_text(item) == java_text(value) for item in items)
    assert run("States.ArrayContains($.a, $.v)", {"a": items, "v": value}) is expected
    if items:
        assert run("States.ArrayContains($.a, $.v)", {"a": items, "v": items[-1]}) is True


@given(json_values)
def test_json_to_string_then_string_to_json(value: Any) -> None:
    text = run("States.JsonToString($.v)", {"v": value})
    assert run("States.StringToJson($.s)", {"s": text}) == value


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_compile_only_raises_definition_errors(text: str) -> None:
    for candidate in (text, f"States.Array({text})", f"States.Format({text})", f"States.{text}"):
        with contextlib.suppress(DefinitionError):
            compile_intrinsic(candidate)


call_text = st.recursive(
    st.sampled_from(["1", "-2.5", "'s'", "'{}'", "true", "null", "$.a", "$$.b", "$v", "$[0]"]),
    lambda inner: st.builds(
        lambda name, args: f"States.{name}({', '.join(args)})",
        st.sampled_from([*sorted(name.removeprefix("States.") for name in INTRINSIC_FUNCTIONS), "Nope"]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(call_text, json_values, st.booleans())
def test_random_calls_fail_only_as_documented(text: str, data: Any, strict: bool) -> None:
    try:
        call = compile_intrinsic(text, strict=strict)
    except DefinitionError:
        return
    try:
        result = call.evaluate({"a": data}, {"b": data}, {"v": data}, env=FixedEnv())
    except StatesError as error:
        assert error.error == RUNTIME and error.cause is not None
        assert error.cause.startswith("Invalid arguments in States.")
    except PathNotFound:
        pass
    else:
        json.dumps(result, allow_nan=False)


# --- the recorded corpus ------------------------------------------------------------------------------


def corpus_cases() -> list[Any]:
    if not CASES.is_dir():
        return []
    cases = []
    for folder in sorted(CASES.iterdir()):
        definition = json.loads((folder / "definition.json").read_text())
        states: dict[str, Any] = definition.get("States", {})
        state: dict[str, Any] = next(iter(states.values()), {})
        parameters = state.get("Parameters") or {}
        text = parameters.get("FunctionResult.$", "")
        expected = json.loads((folder / "expected.json").read_text())
        output = expected.get("output")
        if len(states) != 1 or not looks_like_intrinsic(text) or not isinstance(output, dict):
            continue
        value = output.get("FunctionResult")
        if "$$" in text or value in ("RandomNumberGenerated", "generated-uuid"):
            continue
        data = json.loads((folder / "input.json").read_text())
        cases.append(pytest.param(text, data, value, id=folder.name))
    return cases


@pytest.mark.skipif(not CASES.is_dir(), reason="the conformance corpus is not available here")
@pytest.mark.parametrize(("text", "data", "expected"), corpus_cases())
def test_corpus(text: str, data: Any, expected: Any) -> None:
    result = run(text, data)
    assert json.dumps(result) == json.dumps(expected)  # exact types and key order
