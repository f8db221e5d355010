"""Static facts about a compiled expression, for the validator.

- `referenced_variables`: the state-machine variables an expression reads (for
  "variable never assigned" checks and DescribeStateMachine's `variableReferences`);
- `uses_states_member`: whether it reads ``$states.result`` / ``$states.errorOutput``,
  which AWS only allows in some fields.

Both read the library's AST through `_library.walk_nodes`, so they never evaluate.
"""

from __future__ import annotations

from asl.jsonata import _library
from asl.jsonata.expression import Expression

_RESERVED = frozenset({"states", "", "$"})  # $states, the context `$`, the root `$$`


def _builtin_function(name: str) -> bool:
    return _library.is_function_value(_library._AWS_FRAME.lookup(name))


def referenced_variables(expr: Expression) -> set[str]:
    """Names after ``$`` that refer to state-machine variables.

    Excluded: ``$states``, ``$`` and ``$$``; names called as functions (``$sum(...)``);
    built-in function names used as values (``$map(xs, $string)``); names the expression
    binds itself (``$x := ...``, lambda parameters, ``@$v`` / ``#$i`` bindings).
    """
    handle = expr.handle
    called = _library.function_call_names(handle)
    local: set[str] = set()
    candidates: set[str] = set()
    for node in _library.walk_nodes(handle):
        kind, value = _library.node_kind(node)
        if kind == "bind":
            lhs = getattr(node, "lhs", None)
            if _library.node_kind(lhs)[0] == "variable":
                local.add(str(_library.node_kind(lhs)[1]))
        elif kind == "lambda":
            for parameter in getattr(node, "arguments", None) or ():
                local.add(str(_library.node_kind(parameter)[1]))
        for attribute in ("focus", "index"):
            bound = getattr(node, attribute, None)
            if isinstance(bound, str):
                local.add(bound)
        if kind == "variable" and id(node) not in called:
            candidates.add(str(value))
    return {name for name in candidates - local if name not in _RESERVED and not _builtin_function(name)}


def uses_states_member(expr: Expression, member: str) -> bool:
    """Whether the expression reads ``$states.<member>`` (e.g. ``result``, ``errorOutput``)."""
    for node in _library.walk_nodes(expr.handle):
        if _library.node_kind(node)[0] != "path":
            continue
        steps = getattr(node, "steps", None) or []
        if (
            len(steps) >= 2
            and _library.node_kind(steps[0]) == ("variable", "states")
            and _library.node_kind(steps[1]) == ("name", member)
        ):
            return True
    return False
