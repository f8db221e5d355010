"""Payload templates: Parameters, ResultSelector, ItemSelector, JSONPath Assign, BatchInput.

A template is JSON in which every key ending in ``.$`` (at any depth, objects inside
arrays too) is computed: ``$$...`` reads the context object, ``$...`` the template's
input or a variable, anything else must be an intrinsic function call. The template is
compiled once into a tree of small closures. Whatever does not depend on the input is
computed at compile time and handed out as the very same object every time: subtrees
without ``.$`` keys, and calls whose arguments are all literals (values are never
mutated, so sharing is safe and saves the copy).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from asl.errors import RUNTIME, DefinitionError, StatesError
from asl.json_text import dumps
from asl.paths import ROOT_DATA, PathNotFound, compile_path

__all__ = ["NULL_INPUT_CAUSE", "Template", "compile_template"]

# data, context, variables, env (randomness for States.UUID / States.MathRandom, or None)
_Evaluator = Callable[[Any, Mapping[str, Any] | None, Mapping[str, Any] | None, Any], Any]
_Compiled = tuple[Any, _Evaluator | None]  # (value computed at compile time, or None + evaluator)

# Observed on AWS: a template path over the input fails this way when the input is null
# (e.g. `"Input.$": "$"` after a Task whose result was null).
NULL_INPUT_CAUSE: Final = "Unable to apply Path transformation to null or empty input."


class Template:
    """A compiled payload template; `evaluate` builds the payload for one input."""

    __slots__ = ("_evaluate", "_result", "field", "static", "value")

    def __init__(self, value: Any, field: str, compiled: _Compiled) -> None:
        self.value = value  # the template as written
        self.field = field  # "Parameters", "ResultSelector", ... (for messages)
        self._result, self._evaluate = compiled
        self.static = self._evaluate is None  # evaluate returns one precomputed (shared) value

    def __repr__(self) -> str:
        return f"Template({self.field}, {dumps(self.value)})"

    def evaluate(
        self,
        data: Any,
        context: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        env: Any = None,
    ) -> Any:
        """The payload for `data`; `StatesError` (States.Runtime) when a definite path is missing.

        `env` is the `asl.intrinsics.IntrinsicEnv` for calls that need randomness.
        """
        if self._evaluate is None:
            return self._result
        return self._evaluate(data, context, variables, env)


def compile_template(value: Any, field: str = "Parameters", *, strict: bool = False) -> Template:
    """Compile a payload template; `DefinitionError` for bad `.$` values or duplicate keys.

    `strict` is handed to `compile_intrinsic`: False (the engine's choice) lets calls that AWS
    accepts but fails at run time compile into calls that fail at run time.
    """
    return Template(value, field, _compile(value, strict))


def _compile(node: Any, strict: bool) -> _Compiled:
    if isinstance(node, dict):
        return _compile_object(node, strict)
    if isinstance(node, list):
        return _compile_array(node, strict)
    return node, None


def _compile_object(node: dict[str, Any], strict: bool) -> _Compiled:
    entries: list[tuple[str, Any, _Evaluator | None]] = []
    names: set[str] = set()
    unchanged = True  # the output would equal `node` itself: no `.$` key anywhere below
    for key, child in node.items():
        if key.endswith(".$"):
            name = key[:-2]
            value, evaluator = _compile_binding(key, child, strict)
            unchanged = False
        else:
            name = key
            value, evaluator = _compile(child, strict)
            unchanged = unchanged and evaluator is None and value is child
        if name in names:
            raise DefinitionError(
                f"The field '{name}' is defined more than once (as '{name}' and '{name}.$')"
            )
        names.add(name)
        entries.append((name, value, evaluator))
    if unchanged:
        return node, None
    if all(evaluator is None for _, _, evaluator in entries):
        return {name: value for name, value, _ in entries}, None
    frozen = tuple(entries)

    def evaluate_object(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None, env: Any
    ) -> Any:
        out = {}
        for name, value, evaluator in frozen:
            out[name] = value if evaluator is None else evaluator(data, context, variables, env)
        return out

    return None, evaluate_object


def _compile_array(node: list[Any], strict: bool) -> _Compiled:
    items = tuple(_compile(item, strict) for item in node)
    if all(evaluator is None for _, evaluator in items):
        if all(value is item for (value, _), item in zip(items, node, strict=True)):
            return node, None
        return [value for value, _ in items], None

    def evaluate_array(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None, env: Any
    ) -> Any:
        return [
            value if evaluator is None else evaluator(data, context, variables, env)
            for value, evaluator in items
        ]

    return None, evaluate_array


def _invalid(key: str) -> DefinitionError:
    # AWS's wording (SCHEMA_VALIDATION_FAILED); the validator adds the location.
    return DefinitionError(
        f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
    )


def _compile_binding(key: str, text: Any, strict: bool) -> _Compiled:
    if not isinstance(text, str):
        raise _invalid(key)
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except DefinitionError as exc:
            raise _invalid(key) from exc
        return None, _path_binding(key, text, path.evaluate, path.root == ROOT_DATA)
    return _intrinsic_binding(key, text, strict)


def _path_binding(key: str, text: str, evaluate: Callable[..., Any], reads_input: bool) -> _Evaluator:
    def evaluate_path(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None, env: Any
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


def _intrinsic_binding(key: str, text: str, strict: bool) -> _Compiled:
    # Lazy: the intrinsic grammar is only loaded by templates that call a function.
    compile_intrinsic = importlib.import_module("asl.intrinsics").compile_intrinsic
    try:
        intrinsic = compile_intrinsic(text, strict=strict)
    except DefinitionError as exc:
        raise _invalid(key) from exc
    if intrinsic.constant and not intrinsic.needs_env:
        try:
            return intrinsic.evaluate(None, None, None), None
        except StatesError:
            pass  # fails for every input: leave the failure to run time, where AWS reports it
    call = intrinsic.evaluate

    def evaluate_intrinsic(
        data: Any, context: Mapping[str, Any] | None, variables: Mapping[str, Any] | None, env: Any
    ) -> Any:
        try:
            return call(data, context, variables, env)
        except PathNotFound as exc:
            # Observed wording (AWS): "The function 'States.Array($.x)' had the following error:
            # The JsonPath argument for the field '$.x' could not be found in the input '{...}'"
            cause = (
                f"The function '{text}' had the following error: The JsonPath argument for the field "
                f"'{exc.path}' could not be found in the input '{dumps(data)}'"
            )
            raise StatesError(RUNTIME, cause) from None

    return None, evaluate_intrinsic
