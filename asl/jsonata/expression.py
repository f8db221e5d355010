"""One compiled JSONata expression: parsed once, evaluated many times.

Most expressions in real state machines are a bare reference such as
``$states.input.order.id`` or ``$myVariable``. Those take a fast path that reads the
bindings directly (a dictionary walk instead of the interpreter); the path is only
taken while every step lands on an object, and falls back to the library otherwise,
so the result is the same as the library's (a hypothesis test holds them equal).
Other simple expressions (comparisons, arithmetic, constructors) run as closures
from `_compiled`, with the same fall-back rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from asl.errors import DefinitionError
from asl.jsonata import _compiled, _library
from asl.jsonata.core import UNDEFINED, JsonataError

_OPEN: Final = "{%"
_CLOSE: Final = "%}"
_SIMPLE_REFERENCE: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


def is_expression(value: Any) -> bool:
    """A string that starts with ``{%`` and ends with ``%}`` (no trimming: ``" {% x %}"`` is text)."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith(_OPEN) and value.endswith(_CLOSE)


def expression_source(value: str) -> str:
    """The JSONata text inside the delimiters, trimmed (as AWS quotes it in causes)."""
    return value[2:-2].strip()


class Expression:
    """A compiled JSONata expression. `source` is the text between ``{%`` and ``%}``, trimmed."""

    __slots__ = ("_compiled", "_handle", "_path", "_variable", "source")

    def __init__(self, source: str, handle: Any) -> None:
        self.source = source
        self._handle = handle
        self._variable: str | None = None
        self._path: tuple[str, ...] = ()
        self._compiled = _compiled.compile_node(handle)
        match = _SIMPLE_REFERENCE.fullmatch(source)
        if match is not None:
            self._variable = match.group(1)
            self._path = tuple(match.group(2).split(".")[1:])

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    @property
    def handle(self) -> Any:
        """The library's parsed form (for `asl.jsonata.analysis`)."""
        return self._handle

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        """Evaluate with `bindings` (variable name -> value, including ``states``).

        Returns plain JSON values or `UNDEFINED`; raises `JsonataError`, or
        `UnsupportedResult` when the value is a function.
        """
        if self._variable is not None:
            value = bindings.get(self._variable, UNDEFINED)
            if value is not UNDEFINED:
                for name in self._path:
                    if type(value) is not dict:
                        break
                    value = value.get(name, UNDEFINED)
                    if value is UNDEFINED:
                        return UNDEFINED
                else:
                    return _library.to_json(value)
        if self._compiled is not None:
            try:
                value = self._compiled(bindings)
            except _compiled.Fallback:
                pass
            else:
                return value if value is UNDEFINED else _library.to_json(value)
        return _library.evaluate(self._handle, bindings)


def compile_expression(source: str) -> Expression:
    """Parse JSONata `source` (without delimiters). A syntax error raises `DefinitionError`.

    The error carries `code` (e.g. ``S0202``) and `jsonata_message` attributes for the validator.
    """
    source = source.strip()
    try:
        handle = _library.parse(source)
    except JsonataError as exc:
        error = DefinitionError(f"{exc.code}: {exc.message}" if exc.code else exc.message)
        error.code = exc.code  # type: ignore[attr-defined]
        error.jsonata_message = exc.message  # type: ignore[attr-defined]
        raise error from None
    return Expression(source, handle)
