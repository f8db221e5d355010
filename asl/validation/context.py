"""The state every validation rule shares: where findings go, and small helpers.

Rules never stop at the first problem: each one reports through `Context.error` /
`Context.warning` and carries on, so a user sees every problem of a definition at
once. Positions are attached at the end, and only if a diagnostic exists, because
the position index is built lazily from the source text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from asl.diagnostics import Diagnostic, Severity
from asl.loader import Document, escape_pointer_token

SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
DUPLICATE_NAME = "DUPLICATE_STATE_NAME"
DUPLICATE_FIELD = "DUPLICATE_FIELD"
INVALID_JSONATA = "INVALID_JSONATA_EXPRESSION"
UNSUPPORTED_JSONATA = "UNSUPPORTED_JSONATA_EXPRESSION"
NO_DOLLAR = "NO_DOLLAR"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"
UNSUPPORTED_RESOURCE = "UNSUPPORTED_RESOURCE"

JSONPATH = "JSONPath"
JSONATA = "JSONata"

MAX_SECONDS = 99999999

Obj = dict[str, Any]


def child(pointer: str, token: str | int) -> str:
    """The JSON pointer of member `token` of the node at `pointer`."""
    if isinstance(token, int):
        return f"{pointer}/{token}"
    return f"{pointer}/{escape_pointer_token(token)}"


def suggest(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'X'?)` for the closest candidate, or '' when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"; did you mean '{matches[0]}'?" if matches else ""


def is_int(value: Any) -> bool:
    """A JSON integer (`true` is not one, although Python says so; `2.0` is not one either)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(slots=True)
class _Finding:
    code: str
    severity: Severity
    message: str
    pointer: str | None
    at_key: bool


@dataclass
class Context:
    """Collects findings for one `validate` call; caches expression checks by text."""

    document: Document | None
    express: bool = False
    findings: list[_Finding] = field(default_factory=list)
    cache: dict[tuple[str, str], tuple[object | None, str | None]] = field(default_factory=dict)
    # Every state name seen so far in the machine -> its pointer (names are machine-wide).
    state_names: dict[str, str] = field(default_factory=dict)
    # Every state name anywhere in the machine (to explain cross-scope transitions).
    all_names: set[str] = field(default_factory=set)
    # The scope of the state being checked (for variable references).
    scope: Scope | None = None
    # ids of `States` objects whose repeated keys were reported as duplicate state names.
    seen_duplicates: set[int] = field(default_factory=set)

    def error(self, code: str, message: str, pointer: str | None, *, at_key: bool = False) -> None:
        self.findings.append(_Finding(code, Severity.ERROR, message, pointer, at_key))

    def warning(self, code: str, message: str, pointer: str | None, *, at_key: bool = False) -> None:
        self.findings.append(_Finding(code, Severity.WARNING, message, pointer, at_key))

    def schema(self, message: str, pointer: str | None, *, at_key: bool = False) -> None:
        self.error(SCHEMA, message, pointer, at_key=at_key)

    def mark(self) -> int:
        """A bookmark: `errors_since(mark)` tells whether a rule found anything after it."""
        return len(self.findings)

    def errors_since(self, mark: int) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings[mark:])

    def diagnostics(self) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for f in self.findings:
            line = column = None
            if self.document is not None and f.pointer is not None:
                pos = self._position(f.pointer, f.at_key)
                if pos is not None:
                    line, column = pos
            out.append(Diagnostic(f.code, f.severity, f.message, f.pointer, line, column))
        return out

    def _position(self, pointer: str, at_key: bool) -> tuple[int, int] | None:
        assert self.document is not None
        pos = self.document.key_position(pointer) if at_key else self.document.position(pointer)
        while pos is None and pointer:
            pointer = pointer.rsplit("/", 1)[0]
            pos = self.document.position(pointer)
        return pos


@dataclass(frozen=True, slots=True)
class Scope:
    """One `States` object: the machine, a Parallel branch or a Map item processor.

    `outer_vars` are the variable names assigned in enclosing scopes, which an inner
    scope may read but must not assign.
    """

    pointer: str
    top_ql: str
    outer_vars: frozenset[str]
    vars: frozenset[str]


@dataclass(slots=True)
class State:
    """One state under validation, with its effective query language.

    Rules append `(target, pointer)` pairs to `transitions` (Next, Default, choice and
    catcher Next), which the scope walk resolves and uses for reachability.
    """

    name: str
    value: dict[str, Any]
    pointer: str
    type: str
    ql: str
    scope: Scope
    transitions: list[tuple[str, str]] = field(default_factory=list)
    maybe_terminal: bool = False

    def at(self, *tokens: str | int) -> str:
        pointer = self.pointer
        for token in tokens:
            pointer = child(pointer, token)
        return pointer
