"""JSONPath and Reference Paths as Step Functions evaluates them.

AWS evaluates paths with Jayway JsonPath, so this module follows Jayway rather than
RFC 9535: a *definite* path (only single members and single indexes) yields one value
or fails with Jayway's own reason text, which AWS copies into the cause
(``Invalid path '$.x' : No results for path: $['x']``); an *indefinite* path (wildcard,
slice, union, filter, ``..``) yields the list of matches and never fails (``[]`` when
nothing matches, even through missing members [O]).

A path names its root with its first characters: ``$`` is the data, ``$$`` the context
object, ``$name`` the variable ``name``. Everything is parsed once by `compile_path`;
plain definite paths are reduced to a tuple of keys walked with plain indexing, which
is what almost every state uses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from asl.errors import DefinitionError, StatesError
from asl.json_text import dumps

__all__ = [
    "REFERENCE_PATH_CONFLICT",
    "Path",
    "PathNotFound",
    "ReferencePath",
    "compile_path",
    "compile_reference_path",
    "is_path",
    "path_failure_cause",
]

# Observed on AWS: a ResultPath that cannot be applied to the input is not States.Runtime
# but `States.ReferencePathConflict`, cause `Unable to apply ReferencePath $.x to input "a"`.
REFERENCE_PATH_CONFLICT: Final = "States.ReferencePathConflict"

# Jayway names the JSON provider and the Java class of the offending value in one of its
# messages; AWS's provider is not documented, Jayway's default is JsonSmart [U].
_PROVIDER: Final = "com.jayway.jsonpath.spi.json.JsonSmartJsonProvider"

ROOT_DATA: Final = "$"
ROOT_CONTEXT: Final = "$$"
ROOT_VARIABLE: Final = "var"


class PathNotFound(Exception):
    """A definite path did not resolve; `detail` is Jayway's reason, as AWS prints it."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(path_failure_cause(path, detail))
        self.path = path
        self.detail = detail


def path_failure_cause(path_text: str, detail: str) -> str:
    """The cause AWS reports when InputPath, OutputPath or a *Path field does not resolve."""
    return f"Invalid path '{path_text}' : {detail}"


# --- syntax tree ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    names: tuple[str, ...]  # one name, or a union ['a','b']


@dataclass(frozen=True, slots=True)
class _Index:
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class _Scan:
    """``..``: the following segment applies to the node and to every node below it."""


@dataclass(frozen=True, slots=True)
class _Filter:
    predicate: _Predicate


@dataclass(frozen=True, slots=True)
class _Function:
    """A trailing Jayway function (``.length()``, ``.sum()``): AWS accepts the definition but the path
    never resolves at run time (re:Post: ``$.Jobs.sum()`` "could not be found in the input")."""

    call: str


_Segment = _Member | _Index | _Slice | _Wildcard | _Scan | _Filter | _Function


def _fragment(segment: _Segment) -> str:
    """Jayway's rendering of one segment in normalised paths (``['a']``, ``[0]``)."""
    if isinstance(segment, _Member):
        return "['" + "','".join(segment.names) + "']"
    if isinstance(segment, _Index):
        return "[" + ",".join(str(i) for i in segment.indexes) + "]"
    if isinstance(segment, _Slice):
        start = "" if segment.start is None else str(segment.start)
        end = "" if segment.end is None else str(segment.end)
        return f"[{start}:{end}]"
    if isinstance(segment, _Wildcard):
        return "[*]"
    if isinstance(segment, _Scan):
        return ".."
    if isinstance(segment, _Function):
        return "." + segment.call
    return "[?]"


# --- parser ---------------------------------------------------------------------------------------------

_FILTER_STOP: Final = frozenset(" \t\n\r=!<>&|),")
_INDEX_RE: Final = re.compile(r"\s*(-?\d+)\s*")


class _Parser:
    """Recursive-descent reader of Jayway path syntax after the root marker."""

    def __init__(self, text: str, pos: int, stop: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.pos = pos
        self.stop = stop  # characters that end a dotted name (inside filters)

    def fail(self, why: str) -> DefinitionError:
        return DefinitionError(f"Invalid JSONPath '{self.text}': {why} at position {self.pos}")

    def segments(self) -> list[_Segment]:
        out: list[_Segment] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in self.stop:
                break
            if text.startswith("..", self.pos):
                self.pos += 2
                out.append(_Scan())
                if self.pos < len(text) and text[self.pos] == "[":
                    continue
                out.append(self._dotted())
            elif char == ".":
                self.pos += 1
                if self.pos < len(text) and text[self.pos] == "[":
                    continue  # `$.abc.['def ghi']`: Jayway lets a dot precede a bracket (AWS docs use it)
                out.append(self._dotted())
            elif char == "[":
                out.append(self._bracket())
            else:
                raise self.fail(f"unexpected character {char!r}")
        if out and isinstance(out[-1], _Scan):
            raise self.fail("'..' must be followed by a member, '*' or a bracket")
        return out

    def _dotted(self) -> _Segment:
        text = self.text
        if self.pos < len(text) and text[self.pos] == "*":
            self.pos += 1
            return _Wildcard()
        chars: list[str] = []
        while self.pos < len(text):
            char = text[self.pos]
            if char in ".[" or char in self.stop:
                break
            if char == "\\" and self.pos + 1 < len(text):  # `$.a\.b` names the member "a.b"
                chars.append(text[self.pos + 1])
                self.pos += 2
                continue
            if char == " ":
                raise self.fail("use bracket notation ['my prop'] for names with blanks")
            if char == "(":
                return self._function("".join(chars))
            chars.append(char)
            self.pos += 1
        if not chars:
            raise self.fail("empty member name")
        return _Member(("".join(chars),))

    def _function(self, name: str) -> _Function:
        close = self.text.find(")", self.pos)
        if not name or close < 0 or (close + 1 < len(self.text) and self.text[close + 1] not in self.stop):
            raise self.fail("a path function must end the path")
        call = name + self.text[self.pos : close + 1]
        self.pos = close + 1
        return _Function(call)

    def _bracket(self) -> _Segment:
        text = self.text
        self.pos += 1  # '['
        rest = text[self.pos :].lstrip()
        self.pos = len(text) - len(rest)
        if rest.startswith("*"):
            self.pos += 1
            self._close()
            return _Wildcard()
        if rest.startswith(("'", '"')):
            return self._quoted_members()
        if rest.startswith("?"):
            return self._filter()
        return self._indexes()

    def _close(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        if self.pos >= len(self.text) or self.text[self.pos] != "]":
            raise self.fail("expected ']'")
        self.pos += 1

    def _quoted_members(self) -> _Member:
        # Jayway keeps the text between the quotes as written; a backslash only stops the next
        # character from closing the name (AWS resolved `['Test\""Name"']` to the key `Test\""Name"`).
        text = self.text
        names: list[str] = []
        while True:
            while self.pos < len(text) and text[self.pos] in " \t":
                self.pos += 1
            if self.pos >= len(text) or text[self.pos] not in "'\"":
                raise self.fail("expected a quoted member name")
            quote = text[self.pos]
            start = self.pos + 1
            end = start
            while end < len(text) and text[end] != quote:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise self.fail("unterminated quoted member name")
            names.append(text[start:end])
            self.pos = end + 1
            while self.pos < len(text) and text[self.pos] in " \t":
                self.pos += 1
            if self.pos < len(text) and text[self.pos] == ",":
                self.pos += 1
                continue
            self._close()
            return _Member(tuple(names))

    def _indexes(self) -> _Index | _Slice:
        text = self.text
        end = text.find("]", self.pos)
        if end < 0:
            raise self.fail("expected ']'")
        body = text[self.pos : end]
        self.pos = end + 1
        if ":" in body:
            parts = body.split(":")
            if len(parts) != 2:
                raise self.fail("slices take the form [start:end]")
            bounds = [self._int_or_none(part) for part in parts]
            return _Slice(bounds[0], bounds[1])
        items = body.split(",")
        indexes = []
        for item in items:
            match = _INDEX_RE.fullmatch(item)
            if match is None:
                raise self.fail(f"invalid array index {item.strip()!r}")
            indexes.append(int(match.group(1)))
        return _Index(tuple(indexes))

    def _int_or_none(self, part: str) -> int | None:
        if not part.strip():
            return None
        match = _INDEX_RE.fullmatch(part)
        if match is None:
            raise self.fail(f"invalid slice bound {part.strip()!r}")
        return int(match.group(1))

    def _filter(self) -> _Filter:
        self.pos += 1  # '?'
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        if not self.text.startswith("(", self.pos):
            raise self.fail("a filter takes the form [?(<expression>)]")
        self.pos += 1
        reader = _FilterReader(self)
        predicate = reader.expression()
        reader.skip()
        if not self.text.startswith(")", self.pos):
            raise self.fail("expected ')' closing the filter")
        self.pos += 1
        self._close()
        return _Filter(predicate)


# --- evaluation -----------------------------------------------------------------------------------------

_MISSING: Final = object()
_Key = str | int


def _class_name(value: Any) -> str:
    """Java class Jayway reports for a value (JsonSmart provider) [U]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, list):
        return "net.minidev.json.JSONArray"
    return "net.minidev.json.JSONObject"


def _java_text(value: Any) -> str:
    """`toString()` of a JsonSmart value: JSON for containers, raw text for strings."""
    if isinstance(value, str):
        return value
    return dumps(value)


def _definite_failure(node: Any, keys: tuple[_Key, ...], leaf: _Member | None = None) -> str:
    """Jayway's reason why the definite path `keys` (then `leaf`) does not resolve in `node`."""
    fragments = [_fragment(_Member((k,)) if isinstance(k, str) else _Index((k,))) for k in keys]
    if leaf is not None:
        fragments.append(_fragment(leaf))
    full = "$" + "".join(fragments)
    current = "$"
    last = len(fragments) - 1
    for position, key in enumerate(keys):
        fragment = fragments[position]
        if isinstance(key, str):
            if not isinstance(node, dict):
                return (
                    f"Expected to find an object with property {fragment} in path {current} but found "
                    f"'{_class_name(node)}'. This is not a json object according to the JsonProvider: "
                    f"'{_PROVIDER}'."
                )
            if key not in node:
                if position == last:
                    return f"No results for path: {full}"
                return f"Missing property in path {current}{fragment}"
            node = node[key]
        else:
            if node is None:
                return f"The path {current} is null"
            if not isinstance(node, list):
                context = _java_text(node)
                return f"Filter: {fragment} can only be applied to arrays. Current context is: {context}"
            if not -len(node) <= key < len(node):
                return f"No results for path: {full}"
            node = node[key]
        current += fragment
    if leaf is not None and not isinstance(node, dict):
        return (
            f"Expected to find an object with property {_fragment(leaf)} in path {current} but found "
            f"'{_class_name(node)}'. This is not a json object according to the JsonProvider: '{_PROVIDER}'."
        )
    return f"No results for path: {full}"


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, list):
        yield from node


def _descendants(node: Any) -> Iterator[Any]:
    """The node and every container below it, in document order (Jayway's scan walk)."""
    if isinstance(node, dict | list):
        yield node
        for child in _children(node):
            yield from _descendants(child)


def _apply(segment: _Segment, node: Any, root: Any) -> Iterator[Any]:
    """Nodes one segment selects from `node`; anything that does not fit selects nothing."""
    if isinstance(segment, _Member):
        if isinstance(node, dict):
            for name in segment.names:
                if name in node:
                    yield node[name]
    elif isinstance(segment, _Index):
        if isinstance(node, list):
            for index in segment.indexes:
                if -len(node) <= index < len(node):
                    yield node[index]
    elif isinstance(segment, _Slice):
        if isinstance(node, list):
            yield from node[segment.start : segment.end]
    elif isinstance(segment, _Wildcard):
        yield from _children(node)
    elif isinstance(segment, _Filter):
        # AWS: "The @ operator ... does not match scalar values. It only matches objects."
        if isinstance(node, list):
            for item in node:
                if isinstance(item, dict) and segment.predicate.test(item, root):
                    yield item
        elif isinstance(node, dict) and segment.predicate.test(node, root):
            yield node


def _select(segments: tuple[_Segment, ...], node: Any, root: Any) -> list[Any]:
    nodes = [node]
    index = 0
    while index < len(segments):
        segment = segments[index]
        if isinstance(segment, _Scan):
            index += 1
            target = segments[index]
            nodes = [hit for n in nodes for d in _descendants(n) for hit in _apply(target, d, root)]
        else:
            nodes = [hit for n in nodes for hit in _apply(segment, n, root)]
        index += 1
    return nodes


# --- public path objects --------------------------------------------------------------------------------

_PLAIN: Final = 0  # definite, member names only: walk with node[key]
_KEYED: Final = 1  # definite with array indexes: walk with type checks
_MERGE: Final = 2  # definite ending in a member union ['a','b'] (Jayway merges into one object)
_MANY: Final = 3  # indefinite: list of matches
_NEVER: Final = 4  # ends in a function: accepted, never resolves


class Path:
    """A compiled JSONPath. `evaluate` is the hot path; `find` never raises."""

    __slots__ = ("_keys", "_leaf", "_mode", "_segments", "definite", "root", "text", "variable")

    def __init__(self, text: str, root: str, variable: str | None, segments: list[_Segment]) -> None:
        self.text = text
        self.root = root  # ROOT_DATA, ROOT_CONTEXT or ROOT_VARIABLE
        self.variable = variable  # variable name when root is ROOT_VARIABLE
        self._segments = tuple(segments)
        keys: list[_Key] = []
        mode = _PLAIN
        leaf: _Member | None = None
        for position, segment in enumerate(segments):
            if isinstance(segment, _Member) and len(segment.names) == 1:
                keys.append(segment.names[0])
            elif isinstance(segment, _Index) and len(segment.indexes) == 1:
                keys.append(segment.indexes[0])
                mode = _KEYED
            elif isinstance(segment, _Member) and position == len(segments) - 1:
                leaf = segment
                mode = _MERGE
            elif isinstance(segment, _Function):
                mode = _NEVER
                break
            else:
                mode = _MANY
                break
        self._keys = tuple(keys)
        self._leaf = leaf
        self._mode = mode
        self.definite = mode != _MANY

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def _root_node(
        self, data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None
    ) -> Any:
        if self.root == ROOT_DATA:
            return data
        if self.root == ROOT_CONTEXT:
            return {} if context is None else context
        value = _MISSING if variables is None else variables.get(self.variable, _MISSING)  # type: ignore[arg-type]
        if value is _MISSING:
            raise PathNotFound(self.text, f"Variable '{self.variable}' is not defined")
        return value

    def evaluate(
        self, data: Any, context: Mapping[str, Any] | None = None, variables: Mapping[str, Any] | None = None
    ) -> Any:
        """Definite path: the value, or `PathNotFound`. Indefinite: the list of matches."""
        node = data if self.root == ROOT_DATA else self._root_node(data, context, variables)
        if self._mode == _PLAIN:
            try:
                for key in self._keys:
                    node = node[key]
            except (KeyError, TypeError, IndexError):
                detail = _definite_failure(self._root_node(data, context, variables), self._keys)
                raise PathNotFound(self.text, detail) from None
            return node
        if self._mode == _KEYED:
            try:
                for key in self._keys:
                    if type(key) is int and type(node) is not list:
                        raise TypeError  # a string would answer node[0] with a character
                    node = node[key]
            except (KeyError, TypeError, IndexError):
                detail = _definite_failure(self._root_node(data, context, variables), self._keys)
                raise PathNotFound(self.text, detail) from None
            return node
        return self._evaluate_slow(node)

    def _evaluate_slow(self, node: Any) -> Any:
        if self._mode == _MANY:
            return _select(self._segments, node, node)
        if self._mode == _NEVER:
            rendered = "$" + "".join(_fragment(segment) for segment in self._segments)
            raise PathNotFound(self.text, f"No results for path: {rendered}")
        start = node  # _MERGE: walk the keys, then merge the union of members at the leaf
        for key in self._keys:
            if isinstance(key, str):
                node = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
            elif isinstance(node, list) and -len(node) <= key < len(node):
                node = node[key]
            else:
                node = _MISSING
            if node is _MISSING:
                break
        if not isinstance(node, dict):
            raise PathNotFound(self.text, _definite_failure(start, self._keys, self._leaf))
        names = self._leaf.names if self._leaf is not None else ()
        return {name: node[name] for name in names if name in node}

    def find(
        self, data: Any, context: Mapping[str, Any] | None = None, variables: Mapping[str, Any] | None = None
    ) -> tuple[bool, Any]:
        """(present, value) without raising; an indefinite path is present when it matches something."""
        try:
            value = self.evaluate(data, context, variables)
        except PathNotFound:
            return False, None
        if self._mode == _MANY:
            return bool(value), value
        return True, value


class ReferencePath(Path):
    """A path that names exactly one node, so a value can also be written there (ResultPath)."""

    __slots__ = ()

    def assign(self, data: Any, value: Any) -> Any:
        """A new document: `data` with `value` at this path.

        Only the containers along the path are copied (everything else is shared, never
        mutated); missing members on the way are created as objects. AWS fails with
        `States.ReferencePathConflict` when the path cannot be applied (a non-object
        where a member is needed, an index outside an array).
        """
        if self.root != ROOT_DATA:
            raise DefinitionError(f"The reference path '{self.text}' cannot be written to")
        keys = self._keys
        if not keys:
            return value
        return self._put(data, data, 0, value)

    def _put(self, whole: Any, node: Any, position: int, value: Any) -> Any:
        key = self._keys[position]
        last = position == len(self._keys) - 1
        if isinstance(key, str):
            if not isinstance(node, dict):
                raise self._conflict(whole)
            copy = dict(node)
            if last:
                copy[key] = value
            else:
                child = node.get(key, _MISSING)
                copy[key] = self._put(whole, {} if child is _MISSING else child, position + 1, value)
            return copy
        if not isinstance(node, list) or not -len(node) <= key < len(node):
            raise self._conflict(whole)
        items = list(node)
        items[key] = value if last else self._put(whole, node[key], position + 1, value)
        return items

    def _conflict(self, whole: Any) -> StatesError:
        return StatesError(
            REFERENCE_PATH_CONFLICT, f"Unable to apply ReferencePath {self.text} to input {dumps(whole)}"
        )


def _parse(text: Any) -> tuple[str, str | None, list[_Segment]]:
    if not isinstance(text, str) or not text.startswith("$"):
        raise DefinitionError(f"Invalid JSONPath {text!r}: a path must be a string starting with '$'")
    if text.startswith("$$"):
        return ROOT_CONTEXT, None, _Parser(text, 2).segments()
    if len(text) == 1 or text[1] in ".[":
        return ROOT_DATA, None, _Parser(text, 1).segments()
    end = 1
    while end < len(text) and text[end] not in ".[" and ("_" + text[end]).isidentifier():
        end += 1
    name = text[1:end]
    if not name.isidentifier():
        raise DefinitionError(
            f"Invalid JSONPath '{text}': '$' must be followed by '.', '[', '$' or a variable name"
        )
    return ROOT_VARIABLE, name, _Parser(text, end).segments()


def compile_path(text: str) -> Path:
    """Parse a JSONPath (Jayway syntax) once; `DefinitionError` on bad syntax.

    Compiled paths are immutable, so the same text (definitions repeat `$.x` a lot)
    shares one compiled object.
    """
    if isinstance(text, str):
        return _compile_path_cached(text)
    root, variable, segments = _parse(text)
    return Path(text, root, variable, segments)


@functools.lru_cache(maxsize=8192)
def _compile_path_cached(text: str) -> Path:
    root, variable, segments = _parse(text)
    return Path(text, root, variable, segments)


def compile_reference_path(text: str) -> ReferencePath:
    """Parse a Reference Path: members and single indexes only (no ``*``, ``..``, ``?``, ``:``, ``,``)."""
    if isinstance(text, str):
        return _compile_reference_path_cached(text)
    return _reference_path(text)  # _parse raises DefinitionError for non-strings


@functools.lru_cache(maxsize=8192)
def _compile_reference_path_cached(text: str) -> ReferencePath:
    return _reference_path(text)


def _reference_path(text: str) -> ReferencePath:
    root, variable, segments = _parse(text)
    for segment in segments:
        if not (
            (isinstance(segment, _Member) and len(segment.names) == 1)
            or (isinstance(segment, _Index) and len(segment.indexes) == 1)
        ):
            raise DefinitionError(
                f"Invalid reference path '{text}': {_fragment(segment)} can select more than one node"
            )
    return ReferencePath(text, root, variable, segments)


def is_path(text: Any) -> bool:
    """Whether `text` is a syntactically valid path (for the validator)."""
    try:
        compile_path(text)
    except DefinitionError:
        return False
    return True


# --- filter expressions [?(...)] ------------------------------------------------------------------------

_UNDEFINED: Final = object()  # a filter path that selects nothing


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def _equals(left: Any, right: Any) -> bool:
    """Jayway ``==``: numbers by value; a number and a numeric string compare as numbers when the
    number is on the left and as text when the string is (Jayway's ValueNode equality)."""
    if left is _UNDEFINED or right is _UNDEFINED:
        return False
    if _is_number(left):
        if _is_number(right):
            return bool(left == right)
        if isinstance(right, str):
            try:
                return Decimal(str(left)) == Decimal(right)
            except InvalidOperation:
                return False
        return False
    if isinstance(left, str):
        if _is_number(right):
            return left == _number_text(right)
        return isinstance(right, str) and left == right
    if isinstance(left, bool) or left is None:
        return type(left) is type(right) and left == right
    return isinstance(right, dict | list) and left == right


def _ordered(left: Any, right: Any, compare: Callable[[Any, Any], bool]) -> bool:
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return compare(left, right)
    return False


def _contains_value(items: Any, value: Any) -> bool:
    return isinstance(items, list) and any(_equals(item, value) for item in items)


def _regex_input(value: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_number(value):
        return _number_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return ""


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | dict) else None


_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": _equals,
    "!=": lambda a, b: not _equals(a, b),
    "<": lambda a, b: _ordered(a, b, lambda x, y: x < y),
    "<=": lambda a, b: _ordered(a, b, lambda x, y: x <= y),
    ">": lambda a, b: _ordered(a, b, lambda x, y: x > y),
    ">=": lambda a, b: _ordered(a, b, lambda x, y: x >= y),
    "in": lambda a, b: _contains_value(b, a),
    "nin": lambda a, b: not _contains_value(b, a),
    "subsetof": lambda a, b: isinstance(a, list) and all(_contains_value(b, x) for x in a),
    "anyof": lambda a, b: isinstance(a, list) and any(_contains_value(b, x) for x in a),
    "noneof": lambda a, b: isinstance(a, list) and not any(_contains_value(b, x) for x in a),
    "contains": lambda a, b: (isinstance(a, str) and isinstance(b, str) and b in a) or _contains_value(a, b),
    "size": lambda a, b: _is_number(b) and _size(a) == b,
    "empty": lambda a, b: isinstance(b, bool) and _size(a) is not None and (_size(a) == 0) == b,
}
_WORD_OPERATORS: Final = ("subsetof", "contains", "noneof", "anyof", "empty", "size", "nin", "in")
_SYMBOL_OPERATORS: Final = ("==", "!=", "<=", ">=", "=~", "<", ">")


class _Predicate:
    __slots__ = ()

    def test(self, item: Any, root: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Operand:
    """A literal, or a path from the current item (``@``) or the document root (``$``)."""

    literal: Any = None
    path: Path | None = None
    from_item: bool = True

    def value(self, item: Any, root: Any) -> Any:
        if self.path is None:
            return self.literal
        node = item if self.from_item else root
        if not self.path.definite:
            return self.path.evaluate(node)
        try:
            return self.path.evaluate(node)
        except PathNotFound:
            return _UNDEFINED


@dataclass(frozen=True, slots=True)
class _Exists(_Predicate):
    operand: _Operand

    def test(self, item: Any, root: Any) -> bool:
        value = self.operand.value(item, root)
        return value is not _UNDEFINED and value != []


@dataclass(frozen=True, slots=True)
class _Relation(_Predicate):
    left: _Operand
    operator: str
    right: _Operand

    def test(self, item: Any, root: Any) -> bool:
        return _OPERATORS[self.operator](self.left.value(item, root), self.right.value(item, root))


@dataclass(frozen=True, slots=True)
class _Match(_Predicate):
    subject: _Operand
    pattern: re.Pattern[str]

    def test(self, item: Any, root: Any) -> bool:
        value = self.subject.value(item, root)
        return value is not _UNDEFINED and self.pattern.fullmatch(_regex_input(value)) is not None


@dataclass(frozen=True, slots=True)
class _Logical(_Predicate):
    all_of: bool  # True for &&, False for ||
    parts: tuple[_Predicate, ...]

    def test(self, item: Any, root: Any) -> bool:
        if self.all_of:
            return all(part.test(item, root) for part in self.parts)
        return any(part.test(item, root) for part in self.parts)


@dataclass(frozen=True, slots=True)
class _Not(_Predicate):
    inner: _Predicate

    def test(self, item: Any, root: Any) -> bool:
        return not self.inner.test(item, root)


_NUMBER_RE: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_REGEX_FLAGS: Final = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class _FilterReader:
    """Reads a Jayway filter expression: relations joined by ``&&``/``||``, ``!`` and parentheses."""

    def __init__(self, parser: _Parser) -> None:
        self.p = parser

    def skip(self) -> None:
        text = self.p.text
        while self.p.pos < len(text) and text[self.p.pos] in " \t\n\r":
            self.p.pos += 1

    def peek(self, token: str) -> bool:
        self.skip()
        return self.p.text.startswith(token, self.p.pos)

    def expression(self) -> _Predicate:
        parts = [self.conjunction()]
        while self.peek("||"):
            self.p.pos += 2
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _Logical(False, tuple(parts))

    def conjunction(self) -> _Predicate:
        parts = [self.unary()]
        while self.peek("&&"):
            self.p.pos += 2
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _Logical(True, tuple(parts))

    def unary(self) -> _Predicate:
        if self.peek("!") and not self.peek("!="):
            self.p.pos += 1
            return _Not(self.unary())
        if self.peek("("):
            self.p.pos += 1
            inner = self.expression()
            if not self.peek(")"):
                raise self.p.fail("expected ')'")
            self.p.pos += 1
            return inner
        return self.relation()

    def relation(self) -> _Predicate:
        left = self.operand()
        operator = self.operator()
        if operator is None:
            if left.path is None:
                raise self.p.fail("a filter needs a comparison or a path")
            return _Exists(left)
        if operator == "=~":
            self.skip()
            return _Match(left, self.regex())
        return _Relation(left, operator, self.operand())

    def operator(self) -> str | None:
        self.skip()
        text, pos = self.p.text, self.p.pos
        for symbol in _SYMBOL_OPERATORS:
            if text.startswith(symbol, pos):
                self.p.pos += len(symbol)
                return symbol
        for word in _WORD_OPERATORS:
            after = pos + len(word)
            if text.startswith(word, pos) and (after >= len(text) or not text[after].isalnum()):
                self.p.pos = after
                return word
        return None

    def regex(self) -> re.Pattern[str]:
        text = self.p.text
        if not text.startswith("/", self.p.pos):
            raise self.p.fail("'=~' needs a /regular expression/")
        end = self.p.pos + 1
        while end < len(text) and text[end] != "/":
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise self.p.fail("unterminated regular expression")
        source = text[self.p.pos + 1 : end]
        self.p.pos = end + 1
        flags = 0
        while self.p.pos < len(text) and text[self.p.pos] in _REGEX_FLAGS:
            flags |= _REGEX_FLAGS[text[self.p.pos]]
            self.p.pos += 1
        try:
            return re.compile(source, flags)
        except re.error as exc:
            raise self.p.fail(f"invalid regular expression: {exc}") from exc

    def operand(self) -> _Operand:
        self.skip()
        text, pos = self.p.text, self.p.pos
        if pos >= len(text):
            raise self.p.fail("unexpected end of filter")
        char = text[pos]
        if char in "@$":
            inner = _Parser(text, pos + 1, _FILTER_STOP)
            segments = inner.segments()
            self.p.pos = inner.pos
            return _Operand(
                path=Path(text[pos : inner.pos], ROOT_DATA, None, segments), from_item=char == "@"
            )
        if char in "'\"":
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise self.p.fail("unterminated string")
            self.p.pos = end + 1
            return _Operand(literal=re.sub(r"\\(.)", r"\1", text[pos + 1 : end]))
        if char in "[{":
            return _Operand(literal=self.json_literal())
        match = _NUMBER_RE.match(text, pos)
        if match:
            self.p.pos = match.end()
            number = match.group()
            return _Operand(literal=int(number) if number.lstrip("-").isdigit() else float(number))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.p.pos += len(word)
                return _Operand(literal=value)
        raise self.p.fail(f"unexpected {char!r} in filter")

    def json_literal(self) -> Any:
        import json

        decoder = json.JSONDecoder()
        text = self.p.text.replace("'", '"') if "'" in self.p.text else self.p.text  # Jayway accepts 'x'
        try:
            value, end = decoder.raw_decode(text, self.p.pos)
        except json.JSONDecodeError as exc:
            raise self.p.fail(f"invalid JSON literal: {exc.msg}") from exc
        self.p.pos = end
        return value
