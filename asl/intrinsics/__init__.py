"""ASL intrinsic functions (`States.Format(...)`, `States.MathAdd(...)`, ...).

Intrinsics appear in JSONPath states as the value of a `.$` key in a payload template,
in `Assign`, and in a Fail state's `ErrorPath`/`CausePath`. A call is parsed once by
`compile_intrinsic` into an `Intrinsic`, whose `evaluate` only runs precompiled closures:

    >>> call = compile_intrinsic("States.Format('{} items', States.ArrayLength($.items))")
    >>> call.evaluate({"items": [1, 2]}, None, None)   # doctest: +SKIP
    '2 items'

Run-time misuse raises `asl.errors.StatesError("States.Runtime", "Invalid arguments in
States.<Name>")`, as AWS reports it (the executor adds the "An error occurred while
executing the state ..." prefix). A path argument that does not resolve raises
`asl.paths.PathNotFound` unchanged: the payload-template layer knows the field name AWS
puts into that cause.

`States.MathRandom` without a seed and `States.UUID` need randomness, which `asl` does
not own: pass an `IntrinsicEnv` as `env` (the engine injects its own, seedable one);
without it `DEFAULT_ENV` draws from the operating system.
"""

from __future__ import annotations

import functools
import random
import uuid
from typing import Any, Final

from asl.intrinsics._compile import Evaluator, compile_text
from asl.intrinsics._functions import SIGNATURES, IntrinsicEnv, RandomSource

__all__ = [
    "DEFAULT_ENV",
    "INTRINSIC_FUNCTIONS",
    "Intrinsic",
    "IntrinsicEnv",
    "RandomSource",
    "SystemEnv",
    "compile_intrinsic",
    "looks_like_intrinsic",
]

INTRINSIC_FUNCTIONS: Final[frozenset[str]] = frozenset(SIGNATURES)
"""The eighteen function names, e.g. `States.Format`."""


class SystemEnv:
    """Randomness from the operating system; holds no state of its own."""

    __slots__ = ()
    _random: Final = random.SystemRandom()

    def random(self) -> RandomSource:
        return self._random

    def uuid4(self) -> str:
        return str(uuid.uuid4())


DEFAULT_ENV: Final[IntrinsicEnv] = SystemEnv()


class Intrinsic:
    """A compiled intrinsic function call; immutable and safe to share between executions."""

    __slots__ = ("_evaluate", "constant", "needs_env", "text")

    def __init__(self, text: str, evaluate: Evaluator, *, constant: bool, needs_env: bool) -> None:
        self.text = text
        self._evaluate = evaluate
        self.constant = constant
        """True when the result is the same for every input (all arguments were literals)."""
        self.needs_env = needs_env
        """True when evaluation draws on `env` (unseeded `States.MathRandom`, `States.UUID`)."""

    def evaluate(
        self,
        data: Any,
        context: Any,
        variables: Any,
        env: IntrinsicEnv | None = None,
    ) -> Any:
        """The call's value for this input, context object and variables.

        Raises `StatesError` (AWS error name and cause) for invalid arguments and
        `asl.paths.PathNotFound` for a path argument that matches nothing.
        """
        return self._evaluate(data, context, variables, DEFAULT_ENV if env is None else env)

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"


def compile_intrinsic(text: str, *, strict: bool = True) -> Intrinsic:
    """Parse and compile an intrinsic call; raise `asl.errors.DefinitionError` if it is invalid.

    Invalid means: bad syntax, an unknown function, nesting deeper than 10, a bad path
    argument, and - when `strict` (the default) - a wrong argument count or a literal
    argument AWS would reject at run time. With `strict=False` the latter compile into
    calls that fail at run time with `States.Runtime`, exactly when AWS would.
    """
    if not isinstance(text, str):
        return _build(text, strict)
    return _compile_cached(text, strict)


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str, strict: bool) -> Intrinsic:
    """Compiled intrinsics are immutable: one per distinct text and mode."""
    return _build(text, strict)


def _build(text: str, strict: bool) -> Intrinsic:
    compiled = compile_text(text, strict=strict)
    return Intrinsic(text, compiled.evaluate, constant=compiled.constant, needs_env=compiled.needs_env)


def looks_like_intrinsic(text: str) -> bool:
    """Cheap shape test (`States.` prefix and a parenthesis) to tell intrinsics from paths."""
    return text.startswith("States.") and "(" in text
