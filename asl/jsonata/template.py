"""JSON values with ``{% %}`` expressions anywhere: Arguments, Output, Assign, Items, Condition, ...

`compile_template` walks the value once: every expression string becomes a compiled
`Expression` that knows its field path (``Output/result``, ``Arguments/list[0]``);
subtrees without expressions stay the very same objects and are returned as they are
(shared, never mutated). Object keys are never evaluated.

Every failure is AWS's `States.QueryEvaluationError` with AWS's cause texts and the
field path as `location` (the engine records it in the ``EvaluationFailed`` event).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from asl.errors import QUERY_EVALUATION_ERROR, DefinitionError, StatesError
from asl.json_text import dumps
from asl.jsonata.core import UNDEFINED, JsonataError, UnsupportedResult, json_type_name
from asl.jsonata.expression import Expression, compile_expression, expression_source, is_expression


def _prefix(expr_source: str, field: str) -> str:
    return f"The JSONata expression '{expr_source}' specified for the field '{field}'"


def undefined_error(expr_source: str, field: str) -> StatesError:
    """The expression produced nothing; AWS fails the field rather than dropping it."""
    return StatesError(
        QUERY_EVALUATION_ERROR, f"{_prefix(expr_source, field)} returned nothing (undefined).", location=field
    )


def evaluation_error(expr_source: str, field: str, error: JsonataError) -> StatesError:
    """JSONata raised: AWS appends ``. CODE: message`` (or ``: message`` when there is no code)."""
    tail = f". {error.code}: {error.message}" if error.code else f": {error.message}"
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"{_prefix(expr_source, field)} threw an error during evaluation{tail}",
        location=field,
    )


def unsupported_type_error(expr_source: str, field: str) -> StatesError:
    """The expression produced a function, which has no JSON form."""
    cause = f"{_prefix(expr_source, field)} returned an unsupported result type."
    return StatesError(QUERY_EVALUATION_ERROR, cause, location=field)


def unexpected_type_error(value: Any, expected: str, expr_source: str, field: str) -> StatesError:
    """The value has the wrong JSON type for the field (e.g. Items that is not an array)."""
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"{_prefix(expr_source, field)} returned an unexpected result type. "
        f"Expected '{expected}', but was '{json_type_name(value)}' for value: {dumps(value)}",
        location=field,
    )


def expect_type(value: Any, expected: str, expr_source: str, field: str) -> Any:
    """Return `value` if its JSON type name is `expected` ('array', 'object', 'string', 'number',
    'boolean', 'null', or 'integer' for an integral number); otherwise raise AWS's
    "unexpected result type" error."""
    actual = json_type_name(value)
    if actual == expected or (expected == "integer" and actual == "number" and float(value).is_integer()):
        return value
    raise unexpected_type_error(value, expected, expr_source, field)


def evaluate_field(expression: Expression, field: str, bindings: Mapping[str, Any]) -> Any:
    """Evaluate one expression standing at `field`; undefined and errors become StatesError."""
    try:
        value = expression.evaluate(bindings)
    except JsonataError as error:
        raise evaluation_error(expression.source, field, error) from None
    except UnsupportedResult:
        raise unsupported_type_error(expression.source, field) from None
    if value is UNDEFINED:
        raise undefined_error(expression.source, field)
    return value


class _Node:
    """A template part that contains at least one expression."""

    __slots__ = ()

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def expressions(self) -> Iterator[tuple[str, Expression]]:
        raise NotImplementedError


class _ExpressionNode(_Node):
    __slots__ = ("expression", "field")

    def __init__(self, expression: Expression, field: str) -> None:
        self.expression = expression
        self.field = field

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        return evaluate_field(self.expression, self.field, bindings)

    def expressions(self) -> Iterator[tuple[str, Expression]]:
        yield self.field, self.expression


class _ObjectNode(_Node):
    __slots__ = ("members",)

    def __init__(self, members: list[tuple[str, Any]]) -> None:
        self.members = members  # value: a _Node or a constant

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        return {
            key: member.evaluate(bindings) if isinstance(member, _Node) else member
            for key, member in self.members
        }

    def expressions(self) -> Iterator[tuple[str, Expression]]:
        for _key, member in self.members:
            if isinstance(member, _Node):
                yield from member.expressions()


class _ArrayNode(_Node):
    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        return [item.evaluate(bindings) if isinstance(item, _Node) else item for item in self.items]

    def expressions(self) -> Iterator[tuple[str, Expression]]:
        for item in self.items:
            if isinstance(item, _Node):
                yield from item.expressions()


def _compile(value: Any, field: str) -> Any:
    """A `_Node` when `value` holds an expression, else `value` itself (shared constant)."""
    if isinstance(value, str):
        if is_expression(value):
            try:
                return _ExpressionNode(compile_expression(expression_source(value)), field)
            except DefinitionError as error:
                error.field = field  # type: ignore[attr-defined]
                raise
        return value
    if isinstance(value, dict):
        members = [(key, _compile(member, f"{field}/{key}")) for key, member in value.items()]
        if any(isinstance(member, _Node) for _key, member in members):
            return _ObjectNode(members)
        return value
    if isinstance(value, list):
        items = [_compile(item, f"{field}[{index}]") for index, item in enumerate(value)]
        if any(isinstance(item, _Node) for item in items):
            return _ArrayNode(items)
        return value
    return value


class JsonataTemplate:
    """A compiled JSONata field value. `evaluate` returns a fresh value; constants are shared."""

    __slots__ = ("_root", "field")

    def __init__(self, root: Any, field: str) -> None:
        self._root = root
        self.field = field

    def __repr__(self) -> str:
        return f"JsonataTemplate(field={self.field!r})"

    @property
    def is_constant(self) -> bool:
        """True when the value holds no expression (evaluation returns `constant`)."""
        return not isinstance(self._root, _Node)

    @property
    def constant(self) -> Any:
        """The value itself when `is_constant`."""
        if isinstance(self._root, _Node):
            raise ValueError("template holds expressions")
        return self._root

    def expressions(self) -> Iterator[tuple[str, Expression]]:
        """(field path, expression) for every expression, in document order (for the validator)."""
        if isinstance(self._root, _Node):
            yield from self._root.expressions()

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        """The value with every expression replaced by its result; raises StatesError."""
        root = self._root
        return root.evaluate(bindings) if isinstance(root, _Node) else root


def compile_template(value: Any, field: str) -> JsonataTemplate:
    """Compile a JSONata field value. A syntax error in any expression raises DefinitionError."""
    return JsonataTemplate(_compile(value, field), field)
