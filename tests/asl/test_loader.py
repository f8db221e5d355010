"""asl.load: JSON/YAML text -> value, positions on demand, one diagnostic for bad text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl.loader import Document, LoadError, escape_pointer_token, load
from asl.validation import validate

TEXT = """{
  "StartAt": "A",
  "States": {
    "A": {"Type": "Pass", "End": true, "a/b~c": [1, {"q": null}]}
  }
}"""


def test_value_keeps_key_order_and_types() -> None:
    doc = load(TEXT)
    assert list(doc.value) == ["StartAt", "States"]
    assert doc.value["States"]["A"]["End"] is True


@pytest.mark.parametrize(
    ("pointer", "value_pos", "key_pos"),
    [
        ("", (1, 1), (1, 1)),
        ("/StartAt", (2, 14), (2, 3)),
        ("/States/A", (4, 10), (4, 5)),
        ("/States/A/End", (4, 34), (4, 27)),
        ("/States/A/a~1b~0c", (4, 49), (4, 40)),
        ("/States/A/a~1b~0c/1/q", (4, 59), (4, 54)),
    ],
)
def test_positions_are_one_based_and_follow_rfc6901(
    pointer: str, value_pos: tuple[int, int], key_pos: tuple[int, int]
) -> None:
    doc = load(TEXT)
    assert doc.position(pointer) == value_pos
    assert doc.key_position(pointer) == key_pos


def test_unknown_pointer_has_no_position() -> None:
    assert load(TEXT).position("/States/Nope") is None


def test_escaped_keys_and_unicode_columns() -> None:
    doc = load('{"k\\"ey": {"é": 1}}')
    assert doc.position('/k"ey/é') == (1, 17)


def test_escape_pointer_token() -> None:
    assert escape_pointer_token("a/b~c") == "a~1b~0c"
    assert escape_pointer_token("plain") == "plain"


def test_duplicate_keys_are_recorded() -> None:
    doc = load('{"States": {"A": 1, "A": 2}}')
    assert doc.duplicate_keys[id(doc.value["States"])] == ["A"]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"a": 1,}', 1, 9, "trailing comma"),
        ('{\n  "a" 1\n}', 2, 7, "':'"),
        ('{"a": NaN}', 1, 7, "NaN"),
        ('{"a": 1} x', 1, 10, "after the end"),
        ('{"a": "x', 1, 7, "unterminated"),
    ],
)
def test_malformed_json_is_one_positioned_diagnostic(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(LoadError) as info:
        load(text)
    diagnostic = info.value.diagnostic
    assert diagnostic.code == "INVALID_JSON_DESCRIPTION"
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert words in diagnostic.message


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text(text: str) -> None:
    with pytest.raises(LoadError) as info:
        load(text)
    assert info.value.diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert info.value.diagnostic.message == "Definition must be a valid JSON object"


def test_yaml_by_extension_keeps_timestamps_as_text() -> None:
    text = "StartAt: A\nStates:\n  A:\n    Type: Wait\n    Timestamp: 2016-03-14T01:59:00Z\n    End: true\n"
    doc = load(text, "machine.yaml")
    assert doc.value["States"]["A"] == {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": True}
    assert doc.position("/States/A/End") == (6, 10)
    assert doc.key_position("/States/A/End") == (6, 5)


def test_yaml_is_sniffed_without_a_filename() -> None:
    assert load("StartAt: A\nStates: {}\n").value == {"StartAt": "A", "States": {}}


def test_json_extension_forces_json() -> None:
    with pytest.raises(LoadError) as info:
        load("StartAt: A", "machine.json")
    assert info.value.diagnostic.code == "INVALID_JSON_DESCRIPTION"


def test_malformed_yaml() -> None:
    with pytest.raises(LoadError) as info:
        load("a: [1\nb: 2\n", "x.yml")
    assert info.value.diagnostic.code == "INVALID_JSON_DESCRIPTION"
    assert info.value.diagnostic.line is not None


def test_yaml_duplicate_keys_and_scalars() -> None:
    doc = load("States:\n  A: 1\n  A: 2\nn: 1.5\nz: null\nb: yes\n", "x.yaml")
    assert doc.duplicate_keys[id(doc.value["States"])] == ["A"]
    assert doc.value["n"] == 1.5 and doc.value["z"] is None


def test_byte_order_mark_is_ignored() -> None:
    assert load('\ufeff{"a": 1}').value == {"a": 1}


def test_document_without_text_has_no_positions() -> None:
    doc = Document({"a": 1})
    assert doc.position("/a") is None and doc.line_text(1) is None


def test_line_text() -> None:
    assert load(TEXT).line_text(2) == '  "StartAt": "A",'


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


def _pointers(value: object, pointer: str = "") -> list[str]:
    out = [pointer]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _pointers(item, f"{pointer}/{escape_pointer_token(key)}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _pointers(item, f"{pointer}/{i}")
    return out


@settings(max_examples=150, deadline=None)
@given(_json, st.sampled_from([None, 2]))
def test_every_node_has_a_position_that_points_at_its_text(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    doc = load(text)
    lines = text.split("\n")
    for pointer in _pointers(value):
        position = doc.position(pointer)
        assert position is not None, pointer
        line, column = position
        node_text = "\n".join(lines[line - 1 :])[column - 1 :]
        node = _resolve(value, pointer)
        assert json.JSONDecoder().raw_decode(node_text)[0] == node


def _resolve(value: object, pointer: str) -> object:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]  # type: ignore[index]
    return value


def test_line_separators_inside_strings_do_not_break_lines() -> None:
    doc = load('{"a": "x\u2028y",\r\n "b": 1}')
    assert doc.position("/b") == (2, 7)
    assert doc.line_text(2) == ' "b": 1}'


def test_absurd_nesting_is_a_diagnostic_not_a_crash() -> None:
    # Whether json.loads accepts this depends on the recursion limit (the JSONata library raises it).
    text = '{"a": ' + "[" * 5000 + "]" * 5000 + ', "b": 1}'
    try:
        doc = load(text)
    except LoadError as exc:
        assert exc.diagnostic.code == "INVALID_JSON_DESCRIPTION"
        return
    doc.position("/b")  # a partial index at worst, never an exception
    assert validate(doc)
