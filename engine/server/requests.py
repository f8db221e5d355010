"""Request bodies checked against the API model, failing with AWS's own messages.

AWS reports constraint violations as one ValidationException listing each member:
`1 validation error detected: Value 'x' at 'statusFilter' failed to satisfy
constraint: Member must satisfy enum value set: [...]`. A value of the wrong JSON type
never reaches the constraints: AWS's parser refuses it (SerializationException).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from engine.server.errors import ApiError

M = TypeVar("M", bound=BaseModel)

#: Members AWS redacts from messages (`Value at 'input' failed to ...`).
_SENSITIVE: Final = frozenset({"definition", "input", "output", "error", "cause", "variables", "context"})
_TYPE_ERRORS: Final = frozenset(
    {"string_type", "int_type", "bool_type", "list_type", "dict_type", "model_type", "model_attributes_type"}
)


def parse(model: type[M], body: Mapping[str, Any]) -> M:
    """`body` as `model`; members sent as null count as absent, as in AWS's JSON protocol."""
    present = {key: value for key, value in body.items() if value is not None}
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        raise _to_api_error(model, exc) from None


def _to_api_error(model: type[BaseModel], exc: ValidationError) -> ApiError:
    problems = exc.errors(include_url=False)
    wrong_type = [p for p in problems if p["type"] in _TYPE_ERRORS or p["type"].endswith("_parsing")]
    if wrong_type:
        where = _member(wrong_type[0]["loc"])
        return ApiError("SerializationException", f"Unexpected value type for member '{where}'")
    texts = [_describe(model, p) for p in problems]
    count = f"{len(texts)} validation error{'s' if len(texts) > 1 else ''} detected: "
    return ApiError("ValidationException", count + "; ".join(texts))


def _describe(model: type[BaseModel], problem: Any) -> str:
    loc, kind, ctx = problem["loc"], problem["type"], problem.get("ctx") or {}
    where = _member(loc)
    if kind == "missing":
        return f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
    if str(loc[-1]) in _SENSITIVE and isinstance(problem["input"], str):
        value = "Value"
    else:
        value = f"Value '{problem['input']}'"
    if kind == "string_too_short":
        rule = f"Member must have length greater than or equal to {ctx['min_length']}"
    elif kind == "string_too_long":
        rule = f"Member must have length less than or equal to {ctx['max_length']}"
    elif kind == "less_than_equal":
        rule = f"Member must have value less than or equal to {ctx['le']}"
    elif kind == "greater_than_equal":
        rule = f"Member must have value greater than or equal to {ctx['ge']}"
    elif kind == "literal_error":
        rule = f"Member must satisfy enum value set: [{', '.join(_enum_values(model, loc))}]"
    else:
        rule = str(problem["msg"])
    return f"{value} at '{where}' failed to satisfy constraint: {rule}"


def _member(loc: tuple[Any, ...]) -> str:
    """pydantic's location as AWS names it: `tags.1.member.key` for the key of the first tag."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"{item + 1}.member")
        else:
            parts.append(str(item))
    return ".".join(parts)


def _enum_values(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed values of the Literal at `loc`, in the order the model declares them."""
    annotation: Any = model
    for item in loc:
        if isinstance(item, int):
            continue
        fields = getattr(annotation, "model_fields", None)
        if fields is None or item not in fields:
            return []
        annotation = _unwrap(fields[item].annotation)
    return [str(v) for v in typing.get_args(annotation)]


def _unwrap(annotation: Any) -> Any:
    """`Literal[...] | None` -> `Literal[...]`; `list[Tag]` -> `Tag`."""
    while True:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin is typing.Literal or not args:
            return annotation
        if origin is list or len(args) == 1:
            annotation = args[0]
            continue
        return annotation
