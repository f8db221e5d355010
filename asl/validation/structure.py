"""The machine and its scopes: top-level fields, state names, per-state dispatch,
transition targets, reachability and terminal states.

A scope is one `States` object (the machine, each Parallel branch, each Map item
processor). Transitions resolve only inside their scope; names are unique across
the whole machine. Findings follow AWS: a dangling target and an unreachable state
are `MISSING_TRANSITION_TARGET`; a scope without a terminal state is
`MISSING_END_STATE`, and then unreachable states are not reported (every state
would be suspicious).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from asl.validation.choice import check_choice
from asl.validation.context import (
    DUPLICATE_FIELD,
    DUPLICATE_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    MISSING_END,
    MISSING_TARGET,
    Context,
    Obj,
    Scope,
    State,
    child,
    is_int,
    suggest,
)
from asl.validation.fields import (
    FIELDS,
    RESULT_PRODUCERS,
    STATE_TYPES,
    check_enum,
    check_io_fields,
    check_object_fields,
    check_state_fields,
)
from asl.validation.map_parallel import check_map, check_parallel
from asl.validation.retry_catch import check_catch, check_retry
from asl.validation.states import check_fail, check_pass, check_wait
from asl.validation.task import check_task
from asl.validation.variables import assigned_names, check_assign

MAX_STATE_NAME: Final = 80
_TOP_FIELDS: Final = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_QUERY_LANGUAGES: Final = (JSONPATH, JSONATA)
_TYPE_CHECKS: Final[dict[str, Callable[[Context, State], None]]] = {
    "Pass": check_pass,
    "Task": check_task,
    "Choice": check_choice,
    "Wait": check_wait,
    "Succeed": lambda ctx, st: None,
    "Fail": check_fail,
    "Parallel": check_parallel,
    "Map": check_map,
}


def check_machine(ctx: Context, root: Any) -> None:
    if not isinstance(root, dict):
        ctx.schema("Definition must be a valid JSON object", "")
        return
    check_object_fields(ctx, root, "", JSONPATH, _TOP_FIELDS)
    missing = [name for name in ("States", "StartAt") if name not in root]
    if missing:
        ctx.schema(f"These fields are required: [{', '.join(missing)}]", "", at_key=True)
    for name in ("Comment", "Version"):
        if name in root and not isinstance(root[name], str):
            ctx.schema(f"The field '{name}' must be a string", child("", name))
    if "TimeoutSeconds" in root:
        timeout = root["TimeoutSeconds"]
        if not is_int(timeout) or not 1 <= timeout <= MAX_SECONDS:
            ctx.schema(
                f"The field 'TimeoutSeconds' must be an integer between 1 and {MAX_SECONDS}",
                "/TimeoutSeconds",
            )
    check_enum(ctx, root, "", "QueryLanguage", _QUERY_LANGUAGES)
    top_ql = JSONATA if root.get("QueryLanguage") == JSONATA else JSONPATH
    ctx.all_names = _all_state_names(root)
    check_scope(ctx, root, "", top_ql, frozenset())
    if ctx.document is not None and ctx.document.duplicate_keys:
        _warn_duplicate_fields(ctx, root, "")


def _warn_duplicate_fields(ctx: Context, value: Any, pointer: str) -> None:
    """A repeated field name anywhere else: JSON parsers (AWS's too) keep the last one silently."""
    assert ctx.document is not None
    if isinstance(value, dict):
        if id(value) not in ctx.seen_duplicates:
            for key in ctx.document.duplicate_keys.get(id(value), ()):
                ctx.warning(
                    DUPLICATE_FIELD,
                    f"The field '{key}' appears more than once; only its last value is used",
                    child(pointer, key),
                    at_key=True,
                )
        for key, item in value.items():
            _warn_duplicate_fields(ctx, item, child(pointer, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _warn_duplicate_fields(ctx, item, child(pointer, i))


def _all_state_names(container: Obj) -> set[str]:
    names: set[str] = set()
    states = container.get("States")
    if not isinstance(states, dict):
        return names
    for name, state in states.items():
        names.add(name)
        if not isinstance(state, dict):
            continue
        nested: list[Any] = []
        if isinstance(state.get("Branches"), list):
            nested.extend(state["Branches"])
        nested.extend(state.get(key) for key in ("ItemProcessor", "Iterator"))
        for inner in nested:
            if isinstance(inner, dict):
                names |= _all_state_names(inner)
    return names


def _effective_ql(state: Obj, top_ql: str) -> str:
    declared = state.get("QueryLanguage")
    return declared if declared in _QUERY_LANGUAGES else top_ql


def check_scope(ctx: Context, container: Obj, pointer: str, top_ql: str, outer_vars: frozenset[str]) -> None:
    """Validate one `States` object and everything nested in it."""
    states = container.get("States")
    start = container.get("StartAt")
    states_at = child(pointer, "States")
    if "StartAt" in container and not isinstance(start, str):
        ctx.schema("The field 'StartAt' must be a string (the name of a state)", child(pointer, "StartAt"))
        start = None
    if states is None:
        return
    if not isinstance(states, dict):
        ctx.schema("The field 'States' must be an object mapping state names to states", states_at)
        return
    if ctx.document is not None:
        ctx.seen_duplicates.add(id(states))
        for name in ctx.document.duplicate_keys.get(id(states), ()):
            ctx.error(DUPLICATE_NAME, f"Duplicate State name: {name}", child(states_at, name), at_key=True)
    scope_vars: set[str] = set()
    for state in states.values():
        if isinstance(state, dict):
            scope_vars |= assigned_names(state, _effective_ql(state, top_ql))
    scope = Scope(pointer, top_ql, outer_vars, frozenset(scope_vars))

    checked: list[State] = []
    loose: dict[str, list[str]] = {}  # transitions of states whose Type is unknown
    has_terminal = uncertain = False
    for name, state in states.items():
        at = child(states_at, name)
        _check_name(ctx, name, at)
        if not isinstance(state, dict):
            ctx.schema("A state must be an object", at)
            uncertain = True
            continue
        ctx.scope = scope
        st = _check_state(ctx, name, state, at, scope)
        if st is None:
            uncertain = True
            loose[name] = _loose_targets(state)
            continue
        checked.append(st)
        if st.value.get("End") is True or st.type in ("Succeed", "Fail"):
            has_terminal = True
        uncertain = uncertain or st.maybe_terminal

    start_ok = start is not None and start in states
    if start is not None and not start_ok:
        _missing_target(ctx, start, child(pointer, "StartAt"), states)
    edges: dict[str, list[str]] = dict(loose)
    for st in checked:
        targets = edges.setdefault(st.name, [])
        for target, target_at in st.transitions:
            if target in states:
                targets.append(target)
            else:
                _missing_target(ctx, target, target_at, states)
    if not has_terminal and not uncertain:
        ctx.error(MISSING_END, "Workflow has no terminal state", states_at)
        return
    if start_ok:
        assert start is not None
        _check_reachability(ctx, start, states, edges, states_at)


def _check_name(ctx: Context, name: str, at: str) -> None:
    if not name:
        ctx.schema("A state name cannot be empty", at, at_key=True)
    elif len(name) > MAX_STATE_NAME:
        ctx.schema(f"State name '{name}' is longer than {MAX_STATE_NAME} characters", at, at_key=True)
    if name in ctx.state_names:
        if ctx.state_names[name] != at:
            ctx.error(DUPLICATE_NAME, f"Duplicate State name: {name}", at, at_key=True)
    else:
        ctx.state_names[name] = at


def _missing_target(ctx: Context, target: str, at: str, states: Obj) -> None:
    hint = suggest(target, states)
    if not hint and target in ctx.all_names:
        hint = (
            "; that state is in another scope, and transitions cannot leave or enter "
            "a Parallel branch or a Map item processor"
        )
    ctx.error(MISSING_TARGET, f"Missing 'Next' target: {target}{hint}", at)


def _check_reachability(ctx: Context, start: str, states: Obj, edges: dict[str, list[str]], at: str) -> None:
    reached = {start}
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for name in states:
        if name not in reached:
            ctx.error(MISSING_TARGET, f'State "{name}" is not reachable.', child(at, name), at_key=True)


def _loose_targets(state: Obj) -> list[str]:
    """Best-effort targets of a state that could not be checked (so no false 'unreachable')."""
    targets = [state.get("Next"), state.get("Default")]
    for list_field in ("Choices", "Catch"):
        items = state.get(list_field)
        if isinstance(items, list):
            targets.extend(item.get("Next") for item in items if isinstance(item, dict))
    return [t for t in targets if isinstance(t, str)]


def _check_state(ctx: Context, name: str, state: Obj, at: str, scope: Scope) -> State | None:
    if "Type" not in state:
        ctx.schema("These fields are required: [Type]", at, at_key=True)
        return None
    state_type = state["Type"]
    if not isinstance(state_type, str) or state_type not in FIELDS:
        hint = suggest(state_type, STATE_TYPES) if isinstance(state_type, str) else ""
        ctx.schema(
            f"The field 'Type' should have one of these values: [{', '.join(STATE_TYPES)}]{hint}",
            child(at, "Type"),
        )
        return None
    ql = _check_query_language(ctx, state, at, scope.top_ql)
    st = State(name, state, at, state_type, ql, scope)
    check_state_fields(ctx, st)
    check_io_fields(ctx, st)
    if "Assign" in state and state_type not in ("Choice", "Succeed", "Fail"):
        check_assign(
            ctx, state["Assign"], st.at("Assign"), ql, scope, allow_result=state_type in RESULT_PRODUCERS
        )
    _TYPE_CHECKS[state_type](ctx, st)
    ctx.scope = scope  # a Map or Parallel state has just walked its inner scopes
    if state_type in RESULT_PRODUCERS:
        check_retry(ctx, st)
        check_catch(ctx, st)
    return st


def _check_query_language(ctx: Context, state: Obj, at: str, top_ql: str) -> str:
    if "QueryLanguage" not in state:
        return top_ql
    check_enum(ctx, state, at, "QueryLanguage", _QUERY_LANGUAGES)
    declared = state["QueryLanguage"]
    if top_ql == JSONATA and declared == JSONPATH:
        ctx.schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            child(at, "QueryLanguage"),
        )
    return declared if declared in _QUERY_LANGUAGES else top_ql
