"""Variable references that no `Assign` in scope can satisfy (a WARNING).

A state reads variables assigned in its own scope or an enclosing one; a name that
no such `Assign` sets is almost always a typo (`$custmer`), and at run time it
fails the execution. The check is static and ignores order, so it never flags a
variable that some path of the workflow assigns.
"""

from __future__ import annotations

import re
from typing import Final

from asl.validation.context import Context, suggest

UNDEFINED_VARIABLE: Final = "UNDEFINED_VARIABLE"
_QUOTED: Final = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_VARIABLE: Final = re.compile(r"(?<![\w$])\$([^\W\d]\w*)")


def path_variables(text: str) -> list[str]:
    """Variable names read by a JSONPath path or intrinsic call (`$name`, not `$.x` or `$$.x`)."""
    return _VARIABLE.findall(_QUOTED.sub("''", text))


def note_variables(ctx: Context, names: list[str] | set[str], pointer: str) -> None:
    scope = ctx.scope
    if scope is None:
        return
    visible = scope.vars | scope.outer_vars
    for name in dict.fromkeys(sorted(names) if isinstance(names, set) else names):
        if name not in visible:
            ctx.warning(
                UNDEFINED_VARIABLE,
                f"The variable '${name}' is not assigned in this scope or an enclosing one"
                f"{suggest(name, visible)}",
                pointer,
            )
