"""`Assign`: variable names and values, and the no-reuse rule across nested scopes.

A variable name is a Unicode identifier of at most 80 characters and not the
reserved `states`. An inner scope (Parallel branch, Map item processor) may read
the variables of the scopes around it but must not assign one of their names.
"""

from __future__ import annotations

from typing import Any, Final

from asl.validation.context import JSONPATH, Context, Scope, child, json_type
from asl.validation.expressions import (
    check_jsonata_value,
    check_path_or_intrinsic,
    check_template,
    warn_no_dollar,
)

MAX_NAME_LENGTH: Final = 80
RESERVED: Final = "states"


def variable_name(key: str, ql: str) -> str:
    """The variable an `Assign` key sets (JSONPath keys may carry the `.$` suffix)."""
    return key[:-2] if ql == JSONPATH and key.endswith(".$") else key


def assigned_names(state: dict[str, Any], ql: str) -> set[str]:
    """Every variable name a state may assign: its own `Assign`, choice rules', catchers'."""
    names: set[str] = set()
    blocks: list[Any] = [state.get("Assign")]
    for list_field in ("Choices", "Catch"):
        items = state.get(list_field)
        if isinstance(items, list):
            blocks.extend(item.get("Assign") for item in items if isinstance(item, dict))
    for block in blocks:
        if isinstance(block, dict):
            names.update(variable_name(key, ql) for key in block)
    return names


def name_problem(name: str) -> str | None:
    if name == RESERVED:
        return "'states' is reserved"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    if not name.isidentifier():
        return "it must start with a letter or '_' and contain only letters, digits and '_'"
    return None


def check_assign(
    ctx: Context,
    value: Any,
    pointer: str,
    ql: str,
    scope: Scope,
    *,
    allow_result: bool = False,
    allow_error_output: bool = False,
) -> None:
    if not isinstance(value, dict):
        ctx.schema(f"The field 'Assign' must be an object, not {json_type(value)}", pointer)
        return
    seen: set[str] = set()
    for key, item in value.items():
        key_pointer = child(pointer, key)
        name = variable_name(key, ql)
        problem = name_problem(name)
        if problem is not None:
            ctx.schema(f"Invalid variable name '{name}': {problem}", key_pointer, at_key=True)
        elif name in seen:
            ctx.schema(f"The variable '{name}' is assigned twice in one 'Assign'", key_pointer, at_key=True)
        elif name in scope.outer_vars:
            ctx.schema(
                f"The variable '{name}' is already assigned in an enclosing scope; a Parallel branch or "
                "Map item processor may read it but must not assign it",
                key_pointer,
                at_key=True,
            )
        seen.add(name)
        if ql == JSONPATH:
            if key.endswith(".$"):
                check_path_or_intrinsic(ctx, item, key_pointer, key)
            elif isinstance(item, dict | list):
                check_template(ctx, item, key_pointer, f"Assign/{key}")
            else:
                warn_no_dollar(ctx, key, item, key_pointer)
        else:
            check_jsonata_value(
                ctx,
                item,
                key_pointer,
                f"Assign/{key}",
                allow_result=allow_result,
                allow_error_output=allow_error_output,
            )
