"""Choice states: rule structure, operators and operand types, transitions.

JSONPath rules are Boolean combinations (`And`, `Or`, `Not`) or data tests (one
`Variable` and exactly one comparison operator). JSONata rules are a `Condition`.
Top-level rules need `Next`; nested rules must not have one. After the structural
checks pass, a rule is compiled by `asl.choice` (the evaluator the engine runs), so
the two never disagree about what is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from asl.errors import DefinitionError
from asl.validation.context import (
    JSONATA,
    JSONPATH,
    Context,
    Obj,
    State,
    child,
    is_number,
    json_type,
    suggest,
)
from asl.validation.expressions import check_jsonata_or, check_jsonata_value, check_path, is_timestamp
from asl.validation.fields import language_message
from asl.validation.variables import check_assign


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _operators() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """Operator name -> (operand check, expected operand description)."""
    is_string, is_bool = _is_string, _is_bool
    table: dict[str, tuple[Callable[[Any], bool], str]] = {}
    orderings = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in orderings:
        table[f"String{suffix}"] = (is_string, "a string")
        table[f"Numeric{suffix}"] = (is_number, "a number")
        table[f"Timestamp{suffix}"] = (is_timestamp, "an RFC 3339 timestamp string")
        for kind in ("String", "Numeric", "Timestamp"):
            table[f"{kind}{suffix}Path"] = (is_string, "a path")
    table["StringMatches"] = (is_string, "a string")
    table["BooleanEquals"] = (is_bool, "a boolean")
    table["BooleanEqualsPath"] = (is_string, "a path")
    for test in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
        table[test] = (is_bool, "a boolean")
    return table


OPERATORS: Final = _operators()
BOOLEAN: Final = ("And", "Or", "Not")
_TOP_ONLY: Final = frozenset({"Next", "Assign"})
_JSONPATH_RULE_FIELDS: Final = frozenset(OPERATORS) | {"Variable", *BOOLEAN}
_JSONATA_RULE_FIELDS: Final = frozenset({"Condition", "Output"})


def check_choice(ctx: Context, st: State) -> None:
    value = st.value
    if "Default" in value:
        if isinstance(value["Default"], str):
            st.transitions.append((value["Default"], st.at("Default")))
        else:
            ctx.schema("The field 'Default' must be a string (the name of a state)", st.at("Default"))
    if "Assign" in value:
        check_assign(ctx, value["Assign"], st.at("Assign"), st.ql, st.scope)
    choices = value.get("Choices")
    if choices is None:
        return
    pointer = st.at("Choices")
    if not isinstance(choices, list):
        ctx.schema("The field 'Choices' must be a non-empty array of choice rules", pointer)
        return
    if not choices:
        ctx.schema("Value cannot be empty", pointer)
        return
    for i, rule in enumerate(choices):
        at = child(pointer, i)
        if not isinstance(rule, dict):
            ctx.schema(f"A choice rule must be an object, not {json_type(rule)}", at)
            continue
        _check_top_rule(ctx, st, rule, at)


def _check_top_rule(ctx: Context, st: State, rule: Obj, at: str) -> None:
    if "Next" not in rule:
        ctx.schema("These fields are required: [Next]", at, at_key=True)
    elif not isinstance(rule["Next"], str):
        ctx.schema("The field 'Next' must be a string (the name of a state)", child(at, "Next"))
    else:
        st.transitions.append((rule["Next"], child(at, "Next")))
    if "Assign" in rule:
        check_assign(ctx, rule["Assign"], child(at, "Assign"), st.ql, st.scope)
    if st.ql == JSONATA:
        _check_jsonata_rule(ctx, rule, at)
        return
    mark = ctx.mark()
    _check_jsonpath_rule(ctx, rule, at, top=True)
    if not ctx.errors_since(mark):
        _compile(ctx, rule, at)


def _check_jsonata_rule(ctx: Context, rule: Obj, at: str) -> None:
    for key in rule:
        if key in _JSONATA_RULE_FIELDS or key in _TOP_ONLY or key == "Comment":
            continue
        if key in _JSONPATH_RULE_FIELDS:
            ctx.schema(language_message(JSONATA, key), child(at, key), at_key=True)
        else:
            hint = suggest(key, _JSONATA_RULE_FIELDS | _TOP_ONLY)
            ctx.schema(f"Field '{key}' is not supported{hint}", child(at, key), at_key=True)
    if "Condition" not in rule:
        ctx.schema("These fields are required: [Condition]", at, at_key=True)
    else:
        condition_at = child(at, "Condition")
        check_jsonata_or(ctx, rule["Condition"], condition_at, "Condition", _is_bool, "a boolean")
    if "Output" in rule:
        check_jsonata_value(ctx, rule["Output"], child(at, "Output"), "Output")


def _check_jsonpath_rule(ctx: Context, rule: Obj, at: str, *, top: bool) -> None:
    operators: list[str] = []
    booleans: list[str] = []
    mark = ctx.mark()
    for key in rule:
        key_at = child(at, key)
        if key in OPERATORS:
            operators.append(key)
        elif key in BOOLEAN:
            booleans.append(key)
        elif key == "Variable" or key == "Comment" or (top and key in _TOP_ONLY):
            continue
        elif key in _TOP_ONLY:
            ctx.schema(f"Field '{key}' is not supported in a nested choice rule", key_at, at_key=True)
        elif key in _JSONATA_RULE_FIELDS:
            ctx.schema(language_message(JSONPATH, key), key_at, at_key=True)
        else:
            hint = suggest(key, _JSONPATH_RULE_FIELDS | (_TOP_ONLY if top else frozenset()))
            ctx.schema(f"Field '{key}' is not supported{hint}", key_at, at_key=True)
    if booleans:
        if len(booleans) > 1 or operators or "Variable" in rule:
            extra = (booleans[1:] + operators + (["Variable"] if "Variable" in rule else []))[0]
            ctx.schema(
                f"A choice rule is either a Boolean expression ({', '.join(BOOLEAN)}) or a data test "
                f"('Variable' and one comparison operator), not both ('{booleans[0]}' with '{extra}')",
                child(at, extra),
                at_key=True,
            )
        _check_boolean(ctx, rule, at, booleans[0])
        return
    if "Variable" not in rule:
        if operators:
            ctx.schema("These fields are required: [Variable]", at, at_key=True)
        else:
            message = "A choice rule needs 'Variable' and a comparison operator, or 'And', 'Or' or 'Not'"
            ctx.schema(message, at)
        return
    check_path(ctx, rule["Variable"], child(at, "Variable"), "Variable", nullable=False)
    if not operators:
        if not ctx.errors_since(mark):  # a misspelt operator was already reported
            ctx.schema("A data-test choice rule needs exactly one comparison operator besides 'Variable'", at)
        return
    if len(operators) > 1:
        ctx.schema(
            f"A choice rule may have only one comparison operator, found {', '.join(operators)}",
            child(at, operators[1]),
            at_key=True,
        )
    for name in operators:
        _check_operand(ctx, name, rule[name], child(at, name))


def _check_operand(ctx: Context, name: str, operand: Any, at: str) -> None:
    accept, expected = OPERATORS[name]
    if name.endswith("Path"):
        check_path(ctx, operand, at, name, nullable=False)
    elif not accept(operand):
        if expected.startswith("an RFC") and isinstance(operand, str):
            ctx.schema("String does not match RFC3339 timestamp", at)
        else:
            ctx.schema(f"The operator '{name}' needs {expected}, not {json_type(operand)}", at)


def _check_boolean(ctx: Context, rule: Obj, at: str, name: str) -> None:
    operand = rule[name]
    at = child(at, name)
    if name == "Not":
        if isinstance(operand, dict):
            _check_jsonpath_rule(ctx, operand, at, top=False)
        else:
            ctx.schema(f"The field 'Not' must be a choice rule object, not {json_type(operand)}", at)
        return
    if not isinstance(operand, list):
        ctx.schema(f"The field '{name}' must be a non-empty array of choice rules", at)
        return
    if not operand:
        ctx.schema("Value cannot be empty", at)
    for i, nested in enumerate(operand):
        if isinstance(nested, dict):
            _check_jsonpath_rule(ctx, nested, child(at, i), top=False)
        else:
            ctx.schema(f"A choice rule must be an object, not {json_type(nested)}", child(at, i))


def _compile(ctx: Context, rule: Obj, at: str) -> None:
    """Compile with the engine's evaluator: whatever it rejects, the validator rejects."""
    try:
        from asl.choice import compile_choice_rule
    except ImportError:
        return
    try:
        compile_choice_rule(rule)
    except DefinitionError as exc:
        # asl.choice's errors carry the offending field relative to the rule.
        where = at
        for part in getattr(exc, "pointer", ()):
            where = child(where, part)
        ctx.schema(f"Invalid choice rule: {getattr(exc, 'reason', exc)}", where)
    except RecursionError:
        raise  # reported once, by validate()
    except Exception as exc:  # an evaluator bug must not crash validation
        ctx.schema(f"Invalid choice rule: {type(exc).__name__}: {exc}", at)
