"""Payload templates: Parameters, ResultSelector, ItemSelector, JSONPath Assign, BatchInput.

A template is JSON in which every key ending in ``.$`` (at any depth, objects inside
arrays too) is computed: ``$$...`` reads the context object, ``$...`` the template's
input or a variable, anything else must be an intrinsic function call. The template is
compiled once into a tree of small closures; subtrees without ``.$`` keys are
precomputed and handed out as the very same object every time (values are never
mutated, so sharing is safe and saves the copy).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from asl.errors import RUNTIME, DefinitionError, StatesError
from asl.json_text import dumps
from asl.paths import ROOT_DATA, PathNotFound, compile_path

__all__ = ["Template", "compile_template"]

_Evaluator = Callable[[Any, Mapping[str, Any] | None, Mapping[str, Any] | None], Any]

# Observed on AWS: a template path over the input fails this way when the input is null
# (e.g. `"Input.$": "$"` after a Task whose result was null).
NULL_INPUT_CAUSE: Final = "Unable to apply Path transformation to null or empty input."


class Template:
    """A compiled payload template; `evaluate` builds the payload for one input."""

    __slots__ = ("_evaluate", "field", "static", "value")

    def __init__(self, value: Any, field: str, evaluator: _Evaluator | None) -> None:
        self.value = value  # the template as written
        self.field = field  # "Parameters", "ResultSelector", ... (for messages)
        self.static = evaluator is None  # no `.$` key anywhere: evaluate returns `value` itself
        self._evaluate = evaluator

    def __repr__(self) -> str:
        return f"Template({self.field}, {dumps(self.value)})"

    def evaluate(
        self, data: Any, context: Mapping[str, Any] | None = None, variables: Mapping[str, Any] | None = None
    ) -> Any:
        """The payload for `data`; `StatesError` (States.Runtime) when a definite path is missing."""
        if self._evaluate is None:
            return self.value
        return self._evaluate(data, context, variables)


def compile_template(value: Any, field: str = "Parameters") -> Template:
    """Compile a payload template; `DefinitionError` for bad `.$` values or duplicate keys."""
    return Template(value, field, _compile(value))


def _compile(node: Any) -> _Evaluator | None:
    """An evaluator for `node`, or None when it holds no `.$` key (then it is its own value)."""
    if isinstance(node, dict):
        return _compile_object(node)
    if isinstance(node, list):
        return _compile_array(node)
    return None


def _compile_object(node: dict[str, Any]) -> _Evaluator | None:
    entries: list[tuple[str, Any, _Evaluator | None]] = []
    names: set[str] = set()
    dynamic = False
    for key, child in node.items():
        if key.endswith(".$"):
            name = key[:-2]
            evaluator: _Evaluator | None = _compile_binding(key, child)
            dynamic = True
        else:
            name = key
            evaluator = _compile(child)
            dynamic = dynamic or evaluator is not None
        if name in names:
            raise DefinitionError(
                f"The field '{name}' is defined more than once (as '{name}' and '{name}.$')"
            )
        names.add(name)
        entries.append((name, child, evaluator))
    if not dynamic:
        return None
    frozen = tuple(entries)

    def evaluate_object(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None
    ) -> Any:
        out = {}
        for name, literal, evaluator in frozen:
            out[name] = literal if evaluator is None else evaluator(data, context, variables)
        return out

    return evaluate_object


def _compile_array(node: list[Any]) -> _Evaluator | None:
    items = tuple((item, _compile(item)) for item in node)
    if all(evaluator is None for _, evaluator in items):
        return None

    def evaluate_array(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None
    ) -> Any:
        return [
            literal if evaluator is None else evaluator(data, context, variables)
            for literal, evaluator in items
        ]

    return evaluate_array


def _invalid(key: str) -> DefinitionError:
    # AWS's wording (SCHEMA_VALIDATION_FAILED); the validator adds the location.
    return DefinitionError(
        f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
    )


def _compile_binding(key: str, text: Any) -> _Evaluator:
    if not isinstance(text, str):
        raise _invalid(key)
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except DefinitionError as exc:
            raise _invalid(key) from exc
        return _path_binding(key, text, path.evaluate, path.root == ROOT_DATA)
    # Lazy: the intrinsic grammar is only loaded by templates that call a function.
    compile_intrinsic = importlib.import_module("asl.intrinsics").compile_intrinsic
    try:
        intrinsic = compile_intrinsic(text)
    except DefinitionError as exc:
        raise _invalid(key) from exc
    evaluator: _Evaluator = intrinsic.evaluate
    return evaluator


def _path_binding(key: str, text: str, evaluate: _Evaluator, reads_input: bool) -> _Evaluator:
    def evaluate_path(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None
    ) -> Any:
        if reads_input and data is None:
            raise StatesError(RUNTIME, NULL_INPUT_CAUSE)
        try:
            return evaluate(data, context, variables)
        except PathNotFound:
            cause = (
                f"The JSONPath '{text}' specified for the field '{key}' "
                f"could not be found in the input '{dumps(data)}'"
            )
            raise StatesError(RUNTIME, cause) from None

    return evaluate_path
