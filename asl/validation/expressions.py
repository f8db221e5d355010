"""Syntax checks of every expression a definition holds: Paths, Reference Paths,
intrinsic calls, JSONPath payload templates and JSONata `{% %}` strings.

The parsers themselves live in `asl.paths`, `asl.intrinsics`, `asl.templates` and
`asl.jsonata` (the same code the engine compiles with, so "valid" never means
"cannot run"). They are imported lazily: `statelane validate` of a JSONPath-only
definition never pays for the JSONata library. Results are cached per text for one
validation run, because large definitions repeat the same few paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from asl.errors import DefinitionError
from asl.validation.context import (
    INVALID_JSONATA,
    NO_DOLLAR,
    UNSUPPORTED_JSONATA,
    Context,
    child,
    json_type,
)
from asl.validation.jsonata_refs import top_level_references
from asl.validation.references import note_variables, path_variables

_REFERENCE_FORBIDDEN = re.compile(r"\.\.|[@,:?*]")
_INTRINSIC_SHAPE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_.]*\s*\(.*\)\s*$", re.DOTALL)
_STATES_RESULT = re.compile(r"\$states\s*\.\s*result\b")
_STATES_ERROR_OUTPUT = re.compile(r"\$states\s*\.\s*errorOutput\b")


def _compiler(kind: str) -> Callable[[Any], object] | None:
    """The shared compile function for `kind`, or None while that module does not exist."""
    try:
        if kind == "path":
            from asl.paths import compile_path

            return compile_path
        if kind == "reference":
            from asl.paths import compile_reference_path

            return compile_reference_path
        if kind == "intrinsic":
            from asl.intrinsics import compile_intrinsic

            return compile_intrinsic
        if kind == "jsonata":
            from asl.jsonata import compile_expression

            return compile_expression
    except ImportError:
        return None
    raise AssertionError(kind)


def _compile(ctx: Context, kind: str, text: str) -> tuple[object | None, str | None]:
    """(compiled object, None) or (None, error message); (None, None) when it cannot be checked."""
    key = (kind, text)
    cached = ctx.cache.get(key)
    if cached is not None:
        return cached
    result: tuple[object | None, str | None] = (None, None)
    compile_fn = _compiler(kind)
    if compile_fn is not None:
        try:
            result = (compile_fn(text[2:-2] if kind == "jsonata" else text), None)
        except DefinitionError as exc:
            result = (None, str(exc) or "invalid syntax")
        except RecursionError:
            raise  # reported once, by validate()
        except Exception as exc:  # a parser bug must not crash validation
            result = (None, f"{type(exc).__name__}: {exc}")
    ctx.cache[key] = result
    return result


def _compile_error(ctx: Context, kind: str, text: str) -> str | None:
    return _compile(ctx, kind, text)[1]


def looks_like_intrinsic(text: str) -> bool:
    try:
        from asl.intrinsics import looks_like_intrinsic as shared
    except ImportError:
        return bool(_INTRINSIC_SHAPE.match(text)) and not text.lstrip().startswith("$")
    return bool(shared(text))


def is_timestamp(value: Any) -> bool:
    """An RFC 3339 timestamp string, as Wait and the Timestamp* operators require."""
    if not isinstance(value, str):
        return False
    try:
        from asl.timestamps import parse_timestamp
    except ImportError:
        return True
    return parse_timestamp(value) is not None


def path_error(ctx: Context, value: Any) -> str | None:
    """Why `value` is not a Path (`$...`, `$$...`, `$var...`), or None."""
    if not isinstance(value, str):
        return f"expected a string, got {json_type(value)}"
    if not value.startswith("$"):
        return "a path must start with '$'"
    return _compile_error(ctx, "path", value)


def reference_path_error(ctx: Context, value: Any) -> str | None:
    """Why `value` is not a Reference Path (a path to one node), or None."""
    error = path_error(ctx, value)
    if error is not None:
        return error
    assert isinstance(value, str)
    if _REFERENCE_FORBIDDEN.search(_strip_quoted(value)):
        return "a reference path selects a single node: no '..', '@', ',', ':', '?' or '*'"
    return _compile_error(ctx, "reference", value)


def intrinsic_error(ctx: Context, value: str) -> str | None:
    return _compile_error(ctx, "intrinsic", value)


def path_or_intrinsic_error(ctx: Context, value: Any) -> str | None:
    if isinstance(value, str) and not value.startswith("$") and looks_like_intrinsic(value):
        return intrinsic_error(ctx, value)
    return path_error(ctx, value)


def _strip_quoted(text: str) -> str:
    """The path without the contents of quoted member names (`['a,b']` may hold anything)."""
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", text)


def check_path(ctx: Context, value: Any, pointer: str, field: str, *, nullable: bool = True) -> None:
    """`InputPath`, `OutputPath`: a Path, or null."""
    if value is None and nullable:
        return
    error = path_error(ctx, value)
    if error is not None:
        ctx.schema(f"The value for the field '{field}' must be a valid JSONPath: {error}", pointer)
    else:
        note_variables(ctx, path_variables(value), pointer)


def check_reference_path(
    ctx: Context, value: Any, pointer: str, field: str, *, nullable: bool = False
) -> None:
    """`ResultPath`, `ItemsPath`, the `*Path` tuning fields: a Reference Path."""
    if value is None and nullable:
        return
    error = reference_path_error(ctx, value)
    if error is not None:
        ctx.schema(f"The value for the field '{field}' must be a valid ReferencePath: {error}", pointer)
    else:
        note_variables(ctx, path_variables(value), pointer)


def check_path_or_intrinsic(ctx: Context, value: Any, pointer: str, field: str) -> None:
    """A `.$` template value, `ErrorPath`, `CausePath`: a Path or an intrinsic function call."""
    error = path_or_intrinsic_error(ctx, value)
    if error is not None:
        ctx.schema(
            f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
            f" ({error})",
            pointer,
        )
    else:
        note_variables(ctx, path_variables(value), pointer)


# --- JSONPath payload templates -------------------------------------------------------------


def check_template(ctx: Context, value: Any, pointer: str, field: str) -> None:
    """A JSONPath payload template (`Parameters`, `ResultSelector`, `ItemSelector`, ...).

    Every key ending in `.$` must hold a Path or an intrinsic call; a plain key whose
    string value looks like a path is probably a forgotten `.$` (a NO_DOLLAR warning).
    """
    mark = ctx.mark()
    _walk_template(ctx, value, pointer)
    if ctx.errors_since(mark):
        return
    try:
        from asl.templates import compile_template
    except ImportError:
        return
    try:
        compile_template(value, field)
    except DefinitionError as exc:
        ctx.schema(f"Invalid payload template in '{field}': {exc}", pointer)
    except RecursionError:
        raise  # reported once, by validate()
    except Exception as exc:  # a compiler bug must not crash validation
        ctx.schema(f"Invalid payload template in '{field}': {type(exc).__name__}: {exc}", pointer)


def _walk_template(ctx: Context, value: Any, pointer: str) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk_template(ctx, item, child(pointer, i))
        return
    if not isinstance(value, dict):
        return
    plain: set[str] = set()
    for key in value:
        if not key.endswith(".$"):
            plain.add(key)
    for key, item in value.items():
        key_pointer = child(pointer, key)
        if key.endswith(".$"):
            if key[:-2] in plain:
                ctx.schema(f"The field '{key[:-2]}' appears twice (as '{key[:-2]}' and '{key}')", key_pointer)
            check_path_or_intrinsic(ctx, item, key_pointer, key)
        elif not warn_no_dollar(ctx, key, item, key_pointer):
            _walk_template(ctx, item, key_pointer)


def warn_no_dollar(ctx: Context, key: str, value: Any, pointer: str) -> bool:
    """NO_DOLLAR: a plain key whose string value looks like a path (a forgotten `.$`)."""
    if not (isinstance(value, str) and _looks_like_dynamic(value)):
        return False
    ctx.warning(
        NO_DOLLAR,
        f"The value of the field '{key}' looks like a JSONPath or an intrinsic function call, "
        f"but the field name does not end with '.$', so it is used as a literal string",
        pointer,
    )
    return True


def _looks_like_dynamic(text: str) -> bool:
    if text == "$" or text.startswith(("$.", "$$.", "$[")):
        return True
    return text.startswith("States.") and looks_like_intrinsic(text)


# --- JSONata ---------------------------------------------------------------------------------


def is_expression(value: Any) -> bool:
    """A JSONata expression string: `{%` ... `%}` (anything else is a literal)."""
    try:
        from asl.jsonata import is_expression as shared
    except ImportError:
        return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")
    return bool(shared(value))


def check_jsonata_value(
    ctx: Context,
    value: Any,
    pointer: str,
    field: str,
    *,
    allow_result: bool = False,
    allow_error_output: bool = False,
) -> None:
    """Every `{% %}` string inside `value` (at any depth) must parse, and may only read
    `$states.result` / `$states.errorOutput` where AWS provides them."""
    if isinstance(value, str):
        if is_expression(value):
            check_jsonata_expression(
                ctx, value, pointer, field, allow_result=allow_result, allow_error_output=allow_error_output
            )
        return
    members: Iterable[tuple[str | int, Any]] = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in members:
        check_jsonata_value(
            ctx,
            item,
            child(pointer, key),
            f"{field}/{key}",
            allow_result=allow_result,
            allow_error_output=allow_error_output,
        )


def check_jsonata_expression(
    ctx: Context,
    text: str,
    pointer: str,
    field: str,
    *,
    allow_result: bool = False,
    allow_error_output: bool = False,
) -> None:
    body = text[2:-2]
    if not body.strip():
        ctx.error(INVALID_JSONATA, f"The JSONata expression in the field '{field}' is empty", pointer)
        return
    compiled, error = _compile(ctx, "jsonata", text)
    if error is not None:
        message = f"Invalid JSONata expression '{body.strip()}' in the field '{field}': {error}"
        ctx.error(INVALID_JSONATA, message, pointer)
        return
    note_variables(ctx, _jsonata_variables(compiled), pointer)
    for name in _top_level_references(compiled):
        ctx.error(UNSUPPORTED_JSONATA, f"Reference to '{name}' at the top level is not supported.", pointer)
    if not allow_result and _uses_states_member(compiled, "result", body):
        ctx.error(
            UNSUPPORTED_JSONATA,
            f"'$states.result' is not available in the field '{field}': it can only be referenced in the "
            "top-level 'Output' and 'Assign' fields of a Task, Map or Parallel state",
            pointer,
        )
    if not allow_error_output and _uses_states_member(compiled, "errorOutput", body):
        ctx.error(
            UNSUPPORTED_JSONATA,
            f"'$states.errorOutput' is not available in the field '{field}': it can only be referenced in "
            "a catcher's 'Output' and 'Assign' fields",
            pointer,
        )


def _top_level_references(compiled: object | None) -> list[str]:
    if compiled is None:
        return []
    try:
        names = top_level_references(getattr(compiled, "handle", None))
    except RecursionError:
        raise  # reported once, by validate()
    except Exception:  # an AST shape this walk does not know: no finding rather than a false one
        return []
    return list(dict.fromkeys(names))


def _jsonata_variables(compiled: object | None) -> set[str]:
    if compiled is None:
        return set()
    try:
        from asl.jsonata import referenced_variables

        return set(referenced_variables(compiled))  # type: ignore[arg-type]
    except RecursionError:
        raise  # reported once, by validate()
    except Exception:  # no finding rather than a false one
        return set()


def _uses_states_member(compiled: object | None, member: str, body: str) -> bool:
    """Whether the expression reads `$states.<member>` (AST-based when the parser is there)."""
    if compiled is not None:
        try:
            from asl.jsonata import uses_states_member

            return bool(uses_states_member(compiled, member))  # type: ignore[arg-type]
        except (ImportError, AttributeError):
            pass
    pattern = _STATES_RESULT if member == "result" else _STATES_ERROR_OUTPUT
    return pattern.search(body) is not None


def check_jsonata_or(
    ctx: Context, value: Any, pointer: str, field: str, accept: Callable[[Any], bool], expected: str
) -> bool:
    """A JSONata field that takes either a literal (checked by `accept`) or an expression.

    Returns True only for an accepted literal, so the caller goes on to check its range.
    """
    if is_expression(value):
        check_jsonata_expression(ctx, value, pointer, field)
        return False
    if not accept(value):
        ctx.schema(f"The field '{field}' must be {expected} or a JSONata expression", pointer)
        return False
    return True
