"""Definition text -> plain JSON value, with source positions on demand.

The value is what `json.loads` returns (dicts keep key order), so loading a large
definition costs one C-speed parse. Line and column numbers are only needed when a
diagnostic is shown, so the position index is built lazily, on the first call to
`Document.position`, by a small tokenizer over the text. YAML definitions are
composed with PyYAML, whose nodes carry their marks, so their index is built while
converting.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

from asl.diagnostics import Diagnostic, Severity

__all__ = ["Document", "LoadError", "escape_pointer_token", "load"]

_INVALID_JSON = "INVALID_JSON_DESCRIPTION"
_NOT_AN_OBJECT = "Definition must be a valid JSON object"
_YAML_SUFFIXES = (".yaml", ".yml")

# Strings (with escapes), punctuation, and bare literals (numbers, true, false, null).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


class LoadError(ValueError):
    """The text is not a JSON (or YAML) document; carries the one diagnostic saying where."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def escape_pointer_token(token: str) -> str:
    """RFC 6901 escaping of one reference token (`~` -> `~0`, `/` -> `~1`)."""
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


class Document:
    """A loaded definition: its JSON value and, lazily, where each node sits in the text.

    `duplicate_keys` maps `id(obj)` of every object that repeated a key to the repeated
    keys (JSON parsers keep the last value silently; a repeated state name is a defect).
    """

    __slots__ = ("_keys", "_line_starts", "_values", "duplicate_keys", "filename", "text", "value")

    def __init__(
        self,
        value: Any,
        text: str | None = None,
        filename: str | None = None,
        *,
        duplicate_keys: dict[int, list[str]] | None = None,
        positions: tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]] | None = None,
    ) -> None:
        self.value = value
        self.text = text
        self.filename = filename
        self.duplicate_keys: dict[int, list[str]] = duplicate_keys or {}
        self._values: dict[str, tuple[int, int]] | None = None
        self._keys: dict[str, tuple[int, int]] | None = None
        self._line_starts: list[int] | None = None
        if positions is not None:
            self._values, self._keys = positions

    def position(self, pointer: str) -> tuple[int, int] | None:
        """1-based (line, column) where the value at `pointer` starts, or None if unknown."""
        self._ensure_index()
        assert self._values is not None
        return self._values.get(pointer)

    def key_position(self, pointer: str) -> tuple[int, int] | None:
        """1-based (line, column) of the member name of `pointer` (falls back to the value)."""
        self._ensure_index()
        assert self._keys is not None
        return self._keys.get(pointer) or self.position(pointer)

    def line_text(self, line: int) -> str | None:
        """The source line `line` (1-based), without its line break, for caret displays."""
        if self.text is None:
            return None
        lines = _LINE_BREAK.split(self.text)  # not splitlines(): U+2028 inside a string is no line break
        return lines[line - 1] if 0 < line <= len(lines) else None

    def _ensure_index(self) -> None:
        if self._values is not None:
            return
        self._values, self._keys = {}, {}
        if self.text is None:
            return
        offsets_v: dict[str, int] = {}
        offsets_k: dict[str, int] = {}
        # A partial index is still useful; json.loads accepted the text anyway.
        with contextlib.suppress(StopIteration, RecursionError, ValueError):
            _JsonIndexer(self.text, offsets_v, offsets_k).run()
        self._values = {p: self._line_col(o) for p, o in offsets_v.items()}
        self._keys = {p: self._line_col(o) for p, o in offsets_k.items()}

    def _line_col(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            assert self.text is not None
            self._line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


class _JsonIndexer:
    """Walks the tokens of (already validated) JSON text, recording where each pointer starts."""

    def __init__(self, text: str, values: dict[str, int], keys: dict[str, int]) -> None:
        self._tokens: Iterator[re.Match[str]] = _TOKEN.finditer(text)
        self._values = values
        self._keys = keys

    def run(self) -> None:
        self._value(next(self._tokens), "")

    def _value(self, tok: re.Match[str], pointer: str) -> None:
        self._values[pointer] = tok.start()
        text = tok.group()
        if text == "{":
            self._object(pointer)
        elif text == "[":
            self._array(pointer)

    def _object(self, pointer: str) -> None:
        tok = next(self._tokens)
        while tok.group() != "}":
            if tok.group() == ",":
                tok = next(self._tokens)
                continue
            raw = tok.group()
            key = json.loads(raw) if "\\" in raw else raw[1:-1]
            child = f"{pointer}/{escape_pointer_token(key)}"
            self._keys[child] = tok.start()
            next(self._tokens)  # the colon
            self._value(next(self._tokens), child)
            tok = next(self._tokens)

    def _array(self, pointer: str) -> None:
        index = 0
        tok = next(self._tokens)
        while tok.group() != "]":
            if tok.group() == ",":
                tok = next(self._tokens)
                continue
            self._value(tok, f"{pointer}/{index}")
            index += 1
            tok = next(self._tokens)


def load(text: str, filename: str | None = None) -> Document:
    """Parse a definition (JSON, or YAML by `.yaml`/`.yml` extension or by sniffing).

    Raises `LoadError` (one diagnostic with line and column) for text that does not
    parse, and for empty text.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    stripped = text.strip()
    if not stripped:
        raise LoadError(Diagnostic("SCHEMA_VALIDATION_FAILED", Severity.ERROR, _NOT_AN_OBJECT))
    if filename is not None:
        if filename.lower().endswith(_YAML_SUFFIXES):
            return _load_yaml(text, filename)
        return _load_json(text, filename)
    if stripped[0] in "{[":
        return _load_json(text, filename)
    try:  # a bare JSON scalar, or YAML
        return _load_json(text, filename)
    except LoadError:
        return _load_yaml(text, filename)


def _load_json(text: str, filename: str | None) -> Document:
    duplicates: dict[int, list[str]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            dups = duplicates.setdefault(id(obj), [])
            for key, _ in pairs:
                if key in seen and key not in dups:
                    dups.append(key)
                seen.add(key)
        return obj

    def reject_constant(name: str) -> Any:
        raise _BadConstant(name)

    try:
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise LoadError(_json_diagnostic(exc)) from None
    except _BadConstant as exc:
        line, column = _find_constant(text, exc.name)
        message = f"Invalid JSON: '{exc.name}' is not a JSON value (line {line}, column {column})"
        raise LoadError(Diagnostic(_INVALID_JSON, Severity.ERROR, message, None, line, column)) from None
    except RecursionError:
        raise LoadError(
            Diagnostic(_INVALID_JSON, Severity.ERROR, "Invalid JSON: nesting is too deep", None, 1, 1)
        ) from None
    return Document(value, text, filename, duplicate_keys=duplicates)


class _BadConstant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _find_constant(text: str, name: str) -> tuple[int, int]:
    for match in _TOKEN.finditer(text):
        if match.group() in (name, name.lstrip("-")) or match.group().endswith(name):
            before = text[: match.start()]
            return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1
    return 1, 1


_FRIENDLY = {
    "Expecting property name enclosed in double quotes": "expected a field name in double quotes",
    "Expecting ',' delimiter": "expected ',' between values",
    "Expecting ':' delimiter": "expected ':' after the field name",
    "Expecting value": "expected a JSON value",
    "Extra data": "unexpected text after the end of the JSON document",
    "Unterminated string starting at": "unterminated string",
    "Invalid control character at": "invalid control character in a string (escape it)",
    "Invalid \\escape": "invalid escape sequence in a string",
}


def _json_diagnostic(exc: json.JSONDecodeError) -> Diagnostic:
    reason = _FRIENDLY.get(exc.msg, exc.msg)
    if (
        exc.msg == "Expecting property name enclosed in double quotes"
        and exc.doc[exc.pos : exc.pos + 1] == "}"
    ):
        reason = "trailing comma before '}'"
    elif exc.msg == "Expecting value" and exc.doc[exc.pos : exc.pos + 1] == "]":
        reason = "trailing comma before ']'"
    message = f"Invalid JSON: {reason} (line {exc.lineno}, column {exc.colno})"
    return Diagnostic(_INVALID_JSON, Severity.ERROR, message, None, exc.lineno, exc.colno)


def _load_yaml(text: str, filename: str | None) -> Document:
    """YAML via PyYAML's composer: node marks give positions, scalars resolve like JSON values.

    Timestamps stay strings (ASL compares them as text), and anything that is not a
    JSON scalar (binary, custom tags) is kept as its source text.
    """
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        where = f" (line {line}, column {column})" if line is not None else ""
        message = f"Invalid YAML: {exc.problem or exc.context}{where}"
        raise LoadError(Diagnostic(_INVALID_JSON, Severity.ERROR, message, None, line, column)) from None
    except yaml.YAMLError as exc:
        raise LoadError(
            Diagnostic(_INVALID_JSON, Severity.ERROR, f"Invalid YAML: {exc}", None, 1, 1)
        ) from None
    if node is None:
        raise LoadError(Diagnostic("SCHEMA_VALIDATION_FAILED", Severity.ERROR, _NOT_AN_OBJECT))
    converter = _YamlConverter()
    try:
        value = converter.convert(node, "")
    except RecursionError:
        raise LoadError(
            Diagnostic(_INVALID_JSON, Severity.ERROR, "Invalid YAML: nesting is too deep", None, 1, 1)
        ) from None
    return Document(
        value,
        text,
        filename,
        duplicate_keys=converter.duplicates,
        positions=(converter.values, converter.keys),
    )


class _YamlConverter:
    def __init__(self) -> None:
        import yaml

        self._yaml = yaml
        self._constructor = yaml.constructor.SafeConstructor()
        self.values: dict[str, tuple[int, int]] = {}
        self.keys: dict[str, tuple[int, int]] = {}
        self.duplicates: dict[int, list[str]] = {}

    def convert(self, node: Any, pointer: str) -> Any:
        yaml = self._yaml
        self.values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            obj: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                child = f"{pointer}/{escape_pointer_token(key)}"
                if key in obj:
                    self.duplicates.setdefault(id(obj), []).append(key)
                self.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                obj[key] = self.convert(value_node, child)
            return obj
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _key(self, node: Any) -> str:
        if not isinstance(node, self._yaml.ScalarNode):
            mark = node.start_mark
            line, column = mark.line + 1, mark.column + 1
            message = f"Invalid YAML: a field name must be a string (line {line}, column {column})"
            raise LoadError(Diagnostic(_INVALID_JSON, Severity.ERROR, message, None, line, column))
        value = self._scalar(node)
        if isinstance(value, str):
            return value
        return json.dumps(value) if value is None or isinstance(value, bool) else str(value)

    def _scalar(self, node: Any) -> Any:
        tag = node.tag
        constructor = self._constructor
        if tag == "tag:yaml.org,2002:int":
            return constructor.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:float":
            number = constructor.construct_yaml_float(node)
            return number if number == number and number not in (float("inf"), float("-inf")) else node.value
        if tag == "tag:yaml.org,2002:bool":
            return constructor.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:null":
            return None
        return node.value
