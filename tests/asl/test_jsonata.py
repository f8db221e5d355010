"""JSONata layer: expressions, templates, AWS's causes and functions, static helpers.

Expected values come from the conformance corpus (recorded on AWS) where it has them,
otherwise from AWS behaviour measured by others (noted per test).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonata import parser as jsonata_parser

from asl.errors import QUERY_EVALUATION_ERROR, DefinitionError, StatesError
from asl.json_text import dumps
from asl.jsonata import (
    ENV_KEY,
    UNDEFINED,
    Expression,
    JsonataError,
    UnsupportedResult,
    _library,
    compile_expression,
    compile_template,
    expect_type,
    is_expression,
    referenced_variables,
    uses_states_member,
)


def run(source: str, state_input: Any = None, **variables: Any) -> Any:
    bindings = {"states": {"input": {} if state_input is None else state_input, "context": {}}, **variables}
    return compile_expression(source).evaluate(bindings)


def failure(template: Any, field: str, state_input: Any = None, **variables: Any) -> StatesError:
    bindings = {"states": {"input": {} if state_input is None else state_input, "context": {}}, **variables}
    with pytest.raises(StatesError) as caught:
        compile_template(template, field).evaluate(bindings)
    assert caught.value.error == QUERY_EVALUATION_ERROR
    return caught.value


# --- delimiters and compilation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $x %}", True),
        ("{%$x%}", True),
        (" {% $x %}", False),  # not trimmed: a literal (corpus output__base_cases__BASE_LITERALS)
        ("{% $x %} ", False),
        ("{% incomplete", False),
        ("$states.input", False),
        (1, False),
        (None, False),
        ("{%}", False),
    ],
)
def test_is_expression(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected


def test_compile_keeps_trimmed_source() -> None:
    assert compile_expression("  $states.input.a  ").source == "$states.input.a"


def test_syntax_error_is_a_definition_error_with_the_jsonata_code() -> None:
    with pytest.raises(DefinitionError) as caught:
        compile_expression("a[1,2)")
    assert caught.value.code == "S0202"  # type: ignore[attr-defined]
    assert str(caught.value) == 'S0202: Expected "]", got ","'


def test_syntax_error_inside_a_template_names_the_field() -> None:
    with pytest.raises(DefinitionError) as caught:
        compile_template({"a": ["x", "{% 1 + %}"]}, "Output")
    assert caught.value.field == "Output/a[1]"  # type: ignore[attr-defined]


def test_evaluate_never_reparses(monkeypatch: pytest.MonkeyPatch) -> None:
    expression = compile_expression("$states.input.a + 1")

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(jsonata_parser.Parser, "parse", refuse)
    monkeypatch.setattr(_library, "parse", refuse)
    assert expression.evaluate({"states": {"input": {"a": 1}}}) == 2


# --- values ---------------------------------------------------------------------------------


def test_arithmetic_and_paths() -> None:
    assert run("$states.input.a + 1", {"a": 1}) == 2
    assert run("$states.input.items[n > 1].n", {"items": [{"n": 1}, {"n": 2}, {"n": 3}]}) == [2, 3]


def test_undefined_is_not_null() -> None:
    assert run("$states.input.missing", {"a": 1}) is UNDEFINED
    assert run("$doesNotExist") is UNDEFINED
    assert run("$states.input.a", {"a": None}) is None
    assert run("null") is None


def test_singleton_sequences_collapse() -> None:
    assert run("$states.input.a.b", {"a": [{"b": 1}]}) == 1
    assert run("$states.input.a.b", {"a": [{"b": 1}, {"b": 2}]}) == [1, 2]
    assert run("$states.input", [1]) == [1]  # an array value is not a sequence


def test_key_order_is_kept() -> None:
    assert list(run("{'z': 1, 'a': 2, 'm': 3}")) == ["z", "a", "m"]
    assert list(run("$merge([{'b': 1}, {'a': 2}, {'b': 3}])")) == ["b", "a"]


def test_undefined_members_are_dropped_inside_constructed_values() -> None:
    assert run("{'a': 1, 'b': $nothing}") == {"a": 1}
    assert run("[1, $nothing, 2]") == [1, 2]


def test_variables_are_bindings() -> None:
    assert run("$varname.varfield", varname={"varfield": "x"}) == "x"
    assert run("$sum($states.input.input_values) + $c", {"input_values": [1, 2, 3]}, c=1) == 7  # corpus


@pytest.mark.parametrize(
    ("source", "state_input", "expected"),
    [
        ("$sum([1.5, 1.5])", None, 3),
        ("6 / 2", None, 3),
        ("$states.input.a * 2", {"a": 1.5}, 3),
        ("$states.input.a", {"a": 1.0}, 1),
        ("$states.input", {"a": [2.0, {"b": 3.0}]}, {"a": [2, {"b": 3}]}),
        ("1.5 + 1", None, 2.5),
        ("$parse('-0')", None, 0),  # corpus json_manipulation_jsonata__parse
        ("$states.input.big", {"big": 9223372036854775807}, 9223372036854775807),
        ("$states.input.big", {"big": 9223372036854775808}, 9.223372036854776e18),
        ("-$states.input.a", {"a": 1e20}, -1e20),
    ],
)
def test_integral_numbers_come_back_as_int(source: str, state_input: Any, expected: Any) -> None:
    result = run(source, state_input)
    assert result == expected
    assert repr(result) == repr(expected)


def test_function_values_are_unsupported() -> None:
    with pytest.raises(UnsupportedResult):
        run("$fn := function($x){$x}")
    with pytest.raises(UnsupportedResult):
        run("$sum")


# --- JSONata errors with jsonata-js messages (what AWS quotes) ------------------------------


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("$randomSeeded(1)", "T1006", "Attempted to invoke a non-function"),  # asl-reference 7.5 [O]
        ("$eval('1+1')", "T1006", "Attempted to invoke a non-function"),  # $eval removed (floci #2737, AWS)
        ("$sum(['a'])", "T0412", 'Argument 1 of function "sum" must be an array of "numbers"'),  # floci #2668
        ("$abs('x')", "T0410", 'Argument 1 of function "abs" does not match function signature'),
        ("'a' + 1", "T2001", 'The left side of the "+" operator must evaluate to a number'),
        (
            "1 < 'a'",
            "T2009",
            'The values 1 and "a" either side of operator "<" must be of the same data type',
        ),
        ("$number('x')", "D3030", 'Unable to cast value to a number: "x"'),
        ("$x()", "T1006", "Attempted to invoke a non-function"),
        ("$uppercase(null)", "T0410", 'Argument 1 of function "uppercase" does not match function signature'),
        (
            "$substring('abc', null)",
            "T0410",
            'Argument 2 of function "substring" does not match function signature',
        ),
        ("1/0 + 1", "D1001", "Number out of range: null"),
    ],
)
def test_error_codes_and_messages(source: str, code: str, message: str) -> None:
    with pytest.raises(JsonataError) as caught:
        run(source, x=1)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_invoking_a_non_function_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(JsonataError):
        run("$x()", x=1)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("$string(1e20)", "100000000000000000000"),  # AWS (floci #2669)
        ("$string(1e21)", "1e+21"),
        ("$string(0.1 + 0.2)", "0.3"),
        ("$string(1.0)", "1"),
        ("$string({'b': [1.5, null, 1e-7], 'a': true})", '{"b":[1.5,null,1e-7],"a":true}'),
        ("'n=' & 1e20", "n=100000000000000000000"),
        ("$number('0x1F')", 31),
        ("5.5 % 2", 1.5),
        ("-5 % 3", -2),
        ("1 / 0", "Infinity"),  # AWS writes non-finite numbers by name (floci #2783)
        ("-1 / 0", "-Infinity"),
        ("0 / 0", "NaN"),
    ],
)
def test_string_and_number_follow_javascript(source: str, expected: Any) -> None:
    assert run(source) == expected


# --- AWS's causes through templates ---------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "field", "location"),
    [
        ("{% $doesNotExist %}", "Output", "Output"),
        ({"result": "{% $doesNotExist %}"}, "Output", "Output/result"),
        ({"result": "{% $doesNotExist %}"}, "Assign", "Assign/result"),
        ({"FunctionName": "{% $doesNotExist %}"}, "Arguments", "Arguments/FunctionName"),
        ({"a": [1, {"b": "{% $doesNotExist %}"}]}, "Output", "Output/a[1]/b"),
    ],
)
def test_undefined_result_cause(template: Any, field: str, location: str) -> None:
    # corpus assign_reference_variables__undefined_reference__*
    error = failure(template, field)
    assert error.cause == (
        f"The JSONata expression '$doesNotExist' specified for the field '{location}' returned nothing (undefined)."
    )
    assert error.location == location


def test_evaluation_error_cause() -> None:
    error = failure({"FunctionResult": "{% $randomSeeded(1) %}"}, "Output")
    assert error.cause == (
        "The JSONata expression '$randomSeeded(1)' specified for the field 'Output/FunctionResult' "
        "threw an error during evaluation. T1006: Attempted to invoke a non-function"
    )
    assert error.location == "Output/FunctionResult"


def test_unsupported_result_cause() -> None:
    # corpus base_scenarios__map_state_items_eval_jsonata_fail__function
    error = failure("{% $fn := function($x){$x} %}", "Items")
    assert error.cause == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


@pytest.mark.parametrize(
    ("source", "type_name", "text"),
    [  # corpus base_scenarios__map_state_items_eval_jsonata_fail__*
        ("true", "boolean", "true"),
        ("null", "null", "null"),
        ("1", "number", "1"),
        ("{'foo': 'bar'}", "object", '{"foo":"bar"}'),
        ("'string'", "string", '"string"'),
    ],
)
def test_unexpected_type_cause(source: str, type_name: str, text: str) -> None:
    value = compile_template(f"{{% {source} %}}", "Items").evaluate({"states": {"input": {}}})
    with pytest.raises(StatesError) as caught:
        expect_type(value, "array", source, "Items")
    assert caught.value.cause == (
        f"The JSONata expression '{source}' specified for the field 'Items' returned an unexpected result type. "
        f"Expected 'array', but was '{type_name}' for value: {text}"
    )
    assert caught.value.location == "Items"


def test_expect_type_passes_matching_values_through() -> None:
    items = [1, "two", 3]
    assert expect_type(items, "array", "x", "Items") is items
    assert expect_type(5, "integer", "x", "Seconds") == 5
    assert expect_type(5.0, "integer", "x", "Seconds") == 5.0


@pytest.mark.parametrize(("value", "type_name"), [(1.5, "number"), ("5", "string"), (True, "boolean")])
def test_expect_integer(value: Any, type_name: str) -> None:
    with pytest.raises(StatesError) as caught:
        expect_type(value, "integer", "$x", "Seconds")
    assert caught.value.cause is not None
    assert caught.value.cause.endswith(f"Expected 'integer', but was '{type_name}' for value: {dumps(value)}")


# --- templates ------------------------------------------------------------------------------


def test_template_constants_are_shared_and_keys_never_evaluated() -> None:
    constant = {"{% 1 %}": "$states.input", "list": [None, 0, 0.1, True, " {% states.input %} "]}
    template = compile_template(constant, "Output")
    assert template.is_constant
    assert template.evaluate({"states": {"input": {}}}) is constant


def test_template_evaluates_nested_expressions_and_shares_constant_subtrees() -> None:
    # corpus output__base_output_any_non_dict__LIST_RICH
    shared = {"deep": [1, 2]}
    value = [None, 0, 0.1, "$nosuchvar", "{% $states.input %}", {"key": "{% true %}"}, shared]
    template = compile_template(value, "Output")
    state_input = {"input_value": "stringliteral"}
    result = template.evaluate({"states": {"input": state_input}})
    assert result == [None, 0, 0.1, "$nosuchvar", state_input, {"key": True}, shared]
    assert result[6] is shared
    assert value[4] == "{% $states.input %}"  # the definition is untouched
    assert [field for field, _ in template.expressions()] == ["Output[4]", "Output[5]/key"]


def test_template_expression_at_top_level() -> None:
    template = compile_template("{% $states.input.n + 1 %}", "Seconds")
    assert not template.is_constant
    assert template.evaluate({"states": {"input": {"n": 4}}}) == 5


def test_c4_worked_example() -> None:
    # asl-reference Appendix C.4
    arguments = compile_template(
        {
            "FunctionName": "charge",
            "Payload": {"orderId": "{% $states.input.order.id %}", "n": "{% $states.input.order.qty %}"},
        },
        "Arguments",
    )
    output = compile_template(
        "{% $merge([$states.input, {'charge': {'ok': $states.result.Payload.ok}}]) %}", "Output"
    )
    assign = compile_template({"lastCode": "{% $states.result.StatusCode %}"}, "Assign")
    state_input = {"order": {"id": "A1", "qty": 2}, "meta": {"src": "web"}}
    result = {"Payload": {"ok": True}, "StatusCode": 200}
    bindings = {"states": {"input": state_input, "result": result}}
    assert arguments.evaluate(bindings) == {"FunctionName": "charge", "Payload": {"orderId": "A1", "n": 2}}
    assert output.evaluate(bindings) == {
        "order": {"id": "A1", "qty": 2},
        "meta": {"src": "web"},
        "charge": {"ok": True},
    }
    assert assign.evaluate(bindings) == {"lastCode": 200}


# --- AWS functions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "size", "expected"),
    [  # corpus array_jsonata__array_partition__*
        ([0], 1, [[0]]),
        ([0], 5, [[0]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([0, 1, 2, 3], 4, [[0, 1, 2, 3]]),
    ],
)
def test_partition(array: list[int], size: int, expected: Any) -> None:
    assert run("$partition($states.input.a, $states.input.n)", {"a": array, "n": size}) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [  # corpus array_jsonata__array_range__*, then AWS edge cases (floci #2662/#2676)
        ((0, 9, 3), [0, 3, 6, 9]),
        ((0, 10, 3), [0, 3, 6, 9]),
        ((1, 9, 9), 1),
        ((1, 9, 2), [1, 3, 5, 7, 9]),
        ((10, 0, -2), [10, 8, 6, 4, 2, 0]),
        ((-1.7, 2, 1), [-1, 0, 1, 2]),
        ((5, 1, 1), UNDEFINED),
        ((1, 5, 0), UNDEFINED),
    ],
)
def test_range(args: tuple[float, float, float], expected: Any) -> None:
    assert run(f"$range({args[0]}, {args[1]}, {args[2]})") == expected


def test_partition_and_range_edges() -> None:
    assert run("$partition([1,2,3])") == [[1, 2, 3]]
    assert run("$partition([], 2)") is UNDEFINED
    assert run("$partition([1,2,3], 0)") is UNDEFINED
    assert run("$range(1, 5)") is UNDEFINED
    with pytest.raises(JsonataError, match="D3137: Second argument must be zero or greater"):
        run("$partition([1,2,3], -1)")
    with pytest.raises(JsonataError, match='T0410: Argument 3 of function "partition"'):
        run("$partition([1,2,3], 2, 'x')")
    with pytest.raises(JsonataError, match='T0410: Argument 1 of function "range"'):
        run("$range('a', 2, 1)")


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash(algorithm: str) -> None:
    expected = hashlib.new(algorithm.replace("-", "").lower(), "Hello ñ".encode()).hexdigest()
    assert run(f"$hash('Hello ñ', '{algorithm}')") == expected


def test_hash_known_digest_and_errors() -> None:
    assert run("$hash('input', 'SHA-1')") == "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"  # AWS (floci #2662)
    assert run("$hash('a')") is UNDEFINED
    with pytest.raises(JsonataError) as caught:
        run("$hash('a', 'md5')")
    assert caught.value.code == "D3137"
    assert caught.value.message == "Hash algorithm 'md5' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"
    with pytest.raises(JsonataError, match='Argument 1 of function "hash"'):
        run("$hash(42, 'MD5')")


def test_random_with_seed_is_java_util_random() -> None:
    # values AWS returns (floci #2662): new java.util.Random(seed).nextDouble()
    assert run("$random(42)") == 0.7275636800328681
    assert run("$random(0)") == 0.730967787376657
    assert run("$random(7)") == 0.7306990420600421
    assert run("$random(0.9)") == run("$random(0)")


class FixedSource:
    def __init__(self) -> None:
        self.draws = 0

    def random(self) -> float:
        self.draws += 1
        return 0.25

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID("12345678-1234-4234-8234-123456789abc")


def test_random_and_uuid_draw_from_the_injected_source() -> None:
    source = FixedSource()
    bindings = {"states": {"input": {}}, ENV_KEY: source}
    assert compile_expression("$random()").evaluate(bindings) == 0.25
    assert compile_expression("$uuid()").evaluate(bindings) == "12345678-1234-4234-8234-123456789abc"
    assert compile_expression("$map([1, 2], function($v){ $random() })").evaluate(bindings) == [0.25, 0.25]
    assert source.draws == 3


def test_default_uuid_is_version_4() -> None:
    value = run("$uuid()")
    assert uuid.UUID(value).version == 4
    with pytest.raises(JsonataError, match='Argument 1 of function "uuid"'):
        run("$uuid('seed')")


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # corpus json_manipulation_jsonata__parse__*
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1,2,"HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1":1,"Arg2":[]}', {"Arg1": 1, "Arg2": []}),
        ("1.0", 1),
        ("null", None),
    ],
)
def test_parse(text: str, expected: Any) -> None:
    result = run("$parse($states.input.FunctionInput)", {"FunctionInput": text})
    assert result == expected
    assert repr(result) == repr(expected)


@pytest.mark.parametrize("text", ["", "not json", '{"a":1}{"b":2}', '{"a":1,"a":2}', "1e400", "NaN"])
def test_parse_rejects_what_aws_rejects(text: str) -> None:
    with pytest.raises(JsonataError) as caught:
        run("$parse($states.input.t)", {"t": text})
    assert (caught.value.code, caught.value.message) == ("D3137", "Invalid JSON")


# --- static helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("$states.input.a", set()),
        ("$varname.varfield", {"varname"}),
        ("$sum($states.input.items[$.n > $limit].n) + $offset", {"limit", "offset"}),
        ("($x := $states.input; $f := function($v){ $v + $y }; $f($x))", {"y"}),
        ("$map($list, $string)", {"list"}),
        ("$states.input.a@$o#$i.{'k': $o, 'i': $i, 'z': $z}", {"z"}),
    ],
)
def test_referenced_variables(source: str, expected: set[str]) -> None:
    assert referenced_variables(compile_expression(source)) == expected


def test_uses_states_member() -> None:
    expression = compile_expression("{'k': $states.errorOutput.Error, 'r': $count($states.result.items)}")
    assert uses_states_member(expression, "errorOutput")
    assert uses_states_member(expression, "result")
    assert not uses_states_member(expression, "input")
    assert not uses_states_member(compile_expression("$result"), "result")


# --- properties -----------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_states_input_comes_back_unchanged(value: Any) -> None:
    result = compile_template("{% $states.input %}", "Output").evaluate({"states": {"input": value}})
    assert result == value


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3), st.sampled_from(["a", "b"])
)
def test_fast_path_agrees_with_the_library(value: dict[str, Any], key: str) -> None:
    fast = compile_expression(f"$states.input.{key}.b")
    slow = Expression(fast.source, fast.handle)
    slow._variable = None  # force the interpreter
    bindings = {"states": {"input": value}}
    assert repr(fast.evaluate(bindings)) == repr(slow.evaluate(bindings))


# --- the compiled subset agrees with the interpreter ----------------------------------------

_leaf_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, -1.5, 2.0, 1e20])
    | st.sampled_from(["", "a", "B", "1"])
)
_binding_values = st.recursive(
    _leaf_values,
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.sampled_from(["x", "y"]), children, max_size=2)
    ),
    max_leaves=5,
)
_atoms = st.sampled_from(
    [
        *("1", "0", "2.5", "-3", "'a'", "''", "'1'", "true", "false", "null"),
        *("$a", "$b", "$zz", "$a.x", "$a.x.y", "$states.input.x", "$states.input.x.y", "$sum", "$nothing"),
    ]
)
_expressions = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(
            inner,
            st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=", "and", "or", "&"]),
            inner,
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"-({e})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} ? {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"{{'k': {t[0]}, 'j': {t[1]}}}"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(st.sampled_from(["$not", "$exists", "$string", "$merge"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(inner, inner).map(lambda t: f"$merge([{t[0]}, {{'m': 1}}, {t[1]}])"),
    ),
    max_leaves=6,
)


def _outcome(expression: Expression, bindings: dict[str, Any]) -> Any:
    try:
        return ("value", repr(expression.evaluate(bindings)))
    except JsonataError as error:
        return ("error", error.code, error.message)
    except UnsupportedResult:
        return ("unsupported",)


@settings(max_examples=600, deadline=None)
@given(
    _expressions,
    st.dictionaries(st.sampled_from(["a", "b"]), _binding_values, max_size=2),
    st.dictionaries(st.sampled_from(["x", "y"]), _binding_values, max_size=2),
)
def test_compiled_subset_agrees_with_the_interpreter(
    source: str, variables: dict[str, Any], state_input: Any
) -> None:
    fast = compile_expression(source)
    slow = Expression(fast.source, fast.handle)
    slow._variable = None
    slow._compiled = None
    bindings = {"states": {"input": state_input}, **variables}
    assert _outcome(fast, bindings) == _outcome(slow, bindings)


# --- evaluation bounds ----------------------------------------------------------------------

_RECURSION = "($f := function($x){ $x <= 0 ? 0 : 1 + $f($x - 1) }; $f(DEPTH))"


def test_recursion_depth_bound_matches_aws() -> None:
    # AWS evaluates $f(31) and refuses $f(32) (floci #2737, measured with TestState)
    assert run(_RECURSION.replace("DEPTH", "31")) == 31
    error = failure(f"{{% {_RECURSION.replace('DEPTH', '32')} %}}", "Output")
    assert error.cause is not None
    assert error.cause.endswith(
        "threw an error during evaluation: Stack overflow error: Check for non-terminating recursive function. "
        "Consider rewriting as tail-recursive."
    )


def test_runaway_loops_are_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_library, "MAX_STEPS", 10_000)
    with pytest.raises(JsonataError) as caught:
        run("($f := function($x){ $f($x + 1) }; $f(1))")
    assert (caught.value.code, caught.value.message) == (
        "",
        "Expression evaluation timeout: Check for infinite loop",
    )
    assert run("$map([1, 2, 3], function($v){ $v * 2 })") == [2, 4, 6]


def test_now_and_millis_read_the_injected_clock() -> None:
    class Clock(FixedSource):
        def now_millis(self) -> int:
            return 1_700_000_000_123

    bindings = {"states": {"input": {}}, ENV_KEY: Clock()}
    assert compile_expression("$millis()").evaluate(bindings) == 1_700_000_000_123
    assert compile_expression("$now()").evaluate(bindings) == "2023-11-14T22:13:20.123Z"
