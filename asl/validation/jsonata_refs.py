"""Top-level references in a JSONata expression, which AWS refuses at definition time.

A Step Functions JSONata expression has no input document: the state input is
`$states.input`. So `{% phone %}`, `{% $.x %}` or `{% $$ %}` read nothing, and AWS
rejects them ("Reference to 'phone' at the top level is not supported."). Inside a
path step, a predicate or a lambda, `$` and bare names are relative and fine.

This walks the parsed expression's AST. It is deliberately conservative: any node
shape it does not know is skipped, so it may miss a reference but never invents one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

# AST attributes evaluated in the same (top-level) context as their parent.
_SAME_CONTEXT: Final = (
    "lhs",
    "rhs",
    "expression",
    "procedure",
    "arguments",
    "condition",
    "then",
    "_else",
    "expressions",
    "lhs_object",
)
_OPAQUE: Final = frozenset({"lambda", "transform", "regex"})


def top_level_references(handle: Any) -> list[str]:
    """Names read from the (absent) input document at the top level: `phone`, `$`, `$$`."""
    found: list[str] = []
    stack: list[Any] = [getattr(handle, "ast", None)]
    while stack:
        node = stack.pop()
        kind = getattr(node, "type", None)
        if kind is None or kind in _OPAQUE:
            continue
        value = getattr(node, "value", None)
        if kind == "path":
            steps = getattr(node, "steps", None) or []
            if steps:
                stack.append(_FirstStep(steps[0]))
            continue
        if kind == "name" and isinstance(value, str):
            found.append(value)
            continue
        if kind == "variable":
            if value in ("", "$"):
                found.append("$" if value == "" else "$$")
            continue
        stack.extend(_same_context_children(node))
    return found


class _FirstStep:
    """The first step of a path: judged like a top-level node, but its stages are relative."""

    __slots__ = ("ast", "type", "value")

    def __init__(self, step: Any) -> None:
        self.ast = step
        self.type = getattr(step, "type", None)
        self.value = getattr(step, "value", None)


def _same_context_children(node: Any) -> Iterator[Any]:
    if isinstance(node, _FirstStep):
        inner = node.ast
        if getattr(inner, "type", None) in ("name", "variable", "path"):
            return
        yield from _same_context_children(inner)
        return
    for name in _SAME_CONTEXT:
        yield from _flatten(getattr(node, name, None))


def _flatten(value: Any) -> Iterator[Any]:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif hasattr(value, "type"):
        yield value
