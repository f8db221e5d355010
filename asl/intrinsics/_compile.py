"""Compile an intrinsic call text into a tree of small evaluator closures.

The text is parsed once with the lark grammar `asl/intrinsics.lark`; every argument
becomes a closure `(data, context, variables, env) -> value`, so evaluation never
looks at the text again. Calls whose arguments are all literals are evaluated here,
once (`States.ArrayRange(1, 9, 2)` is a constant), and literal arguments are checked
here, so a run only checks what it cannot know in advance.

Strict mode (the default) turns statically certain misuse - wrong argument count, a
literal of the wrong type, a Format template whose placeholders do not match - into a
`DefinitionError`. AWS accepts such definitions and fails them at run time with
`States.Runtime` [O: public AWS characterisation runs of `States.Hash()`,
`States.MathAdd('a', 1)`]; lenient mode (`strict=False`) reproduces that by compiling
them into evaluators that raise the same `StatesError`. Syntax errors, unknown
functions and nesting deeper than 10 are definition errors in both modes [D].
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from asl import json_text
from asl.errors import DefinitionError, StatesError
from asl.intrinsics._functions import (
    FORMAT,
    MATH_RANDOM,
    SEEDED_MATH_RANDOM,
    SIGNATURES,
    STRING_TO_JSON,
    UNSEEDED_MATH_RANDOM,
    Check,
    IntrinsicEnv,
    Signature,
    any_value,
    invalid_arguments,
)
from asl.intrinsics._java import java_text

Evaluator = Callable[[Any, Any, Any, IntrinsicEnv], Any]

MAX_NESTING: Final = 10
_ESCAPABLE: Final = "'{}\\"
_TERMINAL_TEXT: Final = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "FUNCTION_NAME": "a function name",
    "STRING": "a string",
    "NUMBER": "a number",
    "PATH": "a path",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "$END": "the end",
}


@functools.cache
def _parser() -> Lark:
    """The LALR parser, built on first use and shared by the whole process."""
    grammar = resources.files("asl").joinpath("intrinsics.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start="start", maybe_placeholders=True)


@dataclass(frozen=True, slots=True)
class Compiled:
    """One compiled argument or call.

    `constant` means `value` is known now (a literal or a folded call); `call` names the
    function that produced it, `raw` keeps a string literal's text with its escapes
    (States.Format needs to tell `\\{` from a placeholder).
    """

    evaluate: Evaluator
    constant: bool = False
    value: Any = None
    call: str | None = None
    raw: str | None = None
    needs_env: bool = False


def _constant(value: Any, *, call: str | None = None, raw: str | None = None) -> Compiled:
    return Compiled(lambda data, context, variables, env: value, True, value, call, raw)


def _failing(error: StatesError, call: str) -> Compiled:
    def evaluate(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
        raise error

    return Compiled(evaluate, call=call)


def compile_text(text: str, *, strict: bool) -> Compiled:
    """Parse and compile `text`; raise `DefinitionError` if it is not a valid call."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise DefinitionError(_syntax_message(text, exc)) from None
    except LarkError as exc:  # pragma: no cover - lark raises UnexpectedInput for bad text
        raise DefinitionError(f"invalid intrinsic function call: {exc}") from None
    call = tree.children[0]
    assert isinstance(call, Tree)
    return _Compiler(strict).call(call, depth=1)


def _syntax_message(text: str, exc: UnexpectedInput) -> str:
    column = getattr(exc, "column", None)
    where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
    if isinstance(exc, UnexpectedCharacters):
        character = text[exc.pos_in_stream] if exc.pos_in_stream is not None else "?"
        return f"invalid intrinsic function call: unexpected character {character!r}{where}"
    expected = sorted(_TERMINAL_TEXT.get(name, name) for name in getattr(exc, "expected", ()) or ())
    wanted = f"; expected {' or '.join(expected)}" if expected else ""
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return f"invalid intrinsic function call: unexpected end of text{wanted}"
    token = exc.token if isinstance(exc, UnexpectedToken) else "?"
    return f"invalid intrinsic function call: unexpected {str(token)!r}{where}{wanted}"


def decode_string(raw: str, column: int) -> str:
    """The value of a string literal: `\\'`, `\\{`, `\\}`, `\\\\` unescape; any other backslash is an error."""
    if "\\" not in raw:
        return raw
    chars: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\":
            escaped = raw[index + 1]  # the grammar pairs every backslash with a character
            if escaped not in _ESCAPABLE:
                raise DefinitionError(
                    f"invalid escape '\\{escaped}' in string literal at column {column + index + 1}; "
                    "only \\' \\{ \\} and \\\\ may follow a backslash"
                )
            chars.append(escaped)
            index += 2
        else:
            chars.append(char)
            index += 1
    return "".join(chars)


def format_pieces(template: str) -> list[str] | None:
    """Split a Format template at its `{}` placeholders; None when a brace is unmatched.

    Backslash escapes `\\{`, `\\}`, `\\'` and `\\\\` give literal characters; any other
    backslash is kept as is (templates read from the input are not definition text).
    """
    if "\\" not in template:
        pieces = template.split("{}")
        return None if any("{" in piece or "}" in piece for piece in pieces) else pieces
    pieces = []
    current: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        following = template[index + 1] if index + 1 < len(template) else ""
        if char == "\\" and following and following in _ESCAPABLE:
            current.append(following)
            index += 2
        elif char == "{" and following == "}":
            pieces.append("".join(current))
            current = []
            index += 2
        elif char in "{}":
            return None
        else:
            current.append(char)
            index += 1
    pieces.append("".join(current))
    return pieces


class _Compiler:
    """Walks one parse tree; holds the strictness that decides how misuse is reported."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    # -- errors ------------------------------------------------------------------------------------

    def misuse(self, name: str, problem: str) -> Compiled:
        """Statically certain misuse: a definition error when strict, AWS's run-time failure otherwise."""
        if self.strict:
            raise DefinitionError(problem)
        return _failing(invalid_arguments(name), name)

    # -- tree walking ------------------------------------------------------------------------------

    def call(self, tree: Tree[Token], depth: int) -> Compiled:
        name_token, arguments = tree.children
        assert isinstance(name_token, Token)
        name = str(name_token)
        column = name_token.column or 1
        if depth > MAX_NESTING:
            raise DefinitionError(
                f"intrinsic functions may be nested at most {MAX_NESTING} deep ({name} at column {column})"
            )
        signature = SIGNATURES.get(name)
        if signature is None:
            raise DefinitionError(_unknown_function_message(name, column))
        args = (
            [self.argument(child, depth) for child in arguments.children]
            if isinstance(arguments, Tree)
            else []
        )
        if not signature.accepts_count(len(args)):
            return self.misuse(
                name, f"{name} takes {signature.arity_text()}, got {len(args)} (column {column})"
            )
        if name == FORMAT:
            return self.format(args, column)
        if name == MATH_RANDOM:
            signature = SEEDED_MATH_RANDOM if len(args) == 3 else UNSEEDED_MATH_RANDOM
        for position, arg in enumerate(args):
            if arg.constant and not signature.check_for(position)(arg.value):
                return self.misuse(
                    name,
                    f"argument {position + 1} of {name} is invalid: {json_text.dumps(arg.value)} (column {column})",
                )
        return self.build(signature, args, column)

    def argument(self, tree: Tree[Token] | Token, depth: int) -> Compiled:
        assert isinstance(tree, Tree)
        kind = tree.data
        if kind == "call":
            return self.call(tree, depth + 1)
        if kind == "true":
            return _constant(True)
        if kind == "false":
            return _constant(False)
        if kind == "null":
            return _constant(None)
        token = tree.children[0]
        assert isinstance(token, Token)
        text = str(token)
        if kind == "string":
            raw = text[1:-1]
            return _constant(decode_string(raw, token.column or 1), raw=raw)
        if kind == "number":
            try:
                return _constant(float(text) if any(marker in text for marker in ".eE") else int(text))
            except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
                raise DefinitionError(f"number literal too long at column {token.column}") from None
        assert kind == "path", kind
        return _path_argument(text, token.column or 1)

    # -- calls -------------------------------------------------------------------------------------

    def build(self, signature: Signature, args: Sequence[Compiled], column: int) -> Compiled:
        name = signature.name
        if signature.pure and all(arg.constant for arg in args):
            try:
                return _constant(signature.impl(*(arg.value for arg in args)), call=name)
            except StatesError as error:
                return self.misuse(name, f"{name} fails for these arguments: {error.cause} (column {column})")
        return Compiled(_call_evaluator(signature, args), call=name, needs_env=_needs_env(signature, args))

    def format(self, args: Sequence[Compiled], column: int) -> Compiled:
        template, values = args[0], args[1:]
        renderers = tuple(json_text.dumps if arg.call == STRING_TO_JSON else java_text for arg in values)
        if template.constant:
            if type(template.value) is not str:
                return self.misuse(FORMAT, f"the template of {FORMAT} must be a string (column {column})")
            pieces = format_pieces(template.raw if template.raw is not None else template.value)
            if pieces is None:
                return self.misuse(
                    FORMAT, f"unmatched '{{' or '}}' in the {FORMAT} template (column {column})"
                )
            if len(pieces) - 1 != len(values):
                return self.misuse(
                    FORMAT,
                    f"the {FORMAT} template has {len(pieces) - 1} placeholder(s) "
                    f"but {len(values)} value(s) follow it (column {column})",
                )
            if all(arg.constant for arg in values):
                return _constant(_render(pieces, renderers, [arg.value for arg in values]), call=FORMAT)
            return Compiled(
                _format_evaluator(pieces, renderers, values), call=FORMAT, needs_env=_needs_env(None, args)
            )
        return Compiled(
            _dynamic_format_evaluator(template.evaluate, renderers, values),
            call=FORMAT,
            needs_env=_needs_env(None, args),
        )


def _unknown_function_message(name: str, column: int) -> str:
    message = f"unknown intrinsic function '{name}' (column {column})"
    close = difflib.get_close_matches(name, SIGNATURES, n=1)
    return f"{message}; did you mean '{close[0]}'?" if close else message


def _needs_env(signature: Signature | None, args: Sequence[Compiled]) -> bool:
    return (signature is not None and signature.needs_env) or any(arg.needs_env for arg in args)


def _path_argument(text: str, column: int) -> Compiled:
    from asl.paths import compile_path  # lazy: asl.paths and asl.intrinsics import independently

    try:
        path = compile_path(text)
    except Exception as exc:  # the contract of compile_intrinsic: bad text is a DefinitionError
        raise DefinitionError(f"invalid path {text!r} at column {column}: {exc}") from None
    resolve = path.evaluate

    def evaluate(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
        return resolve(data, context, variables)

    return Compiled(evaluate)


# -- evaluators --------------------------------------------------------------------------------------


def _call_evaluator(signature: Signature, args: Sequence[Compiled]) -> Evaluator:
    """A closure evaluating the arguments, checking the non-literal ones, then calling the function."""
    impl = signature.impl
    error = invalid_arguments(signature.name)
    evaluators = tuple(arg.evaluate for arg in args)
    checks = tuple(
        (position, signature.check_for(position))
        for position, arg in enumerate(args)
        if not arg.constant and signature.check_for(position) is not any_value
    )
    with_env = signature.needs_env

    if len(evaluators) == 0:
        return lambda data, context, variables, env: impl(env)
    if len(evaluators) == 1 and not with_env:
        (first,) = evaluators
        check = checks[0][1] if checks else any_value

        def evaluate_one(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
            value = first(data, context, variables, env)
            if not check(value):
                raise error
            return impl(value)

        return evaluate_one
    if len(evaluators) == 2 and not with_env:
        first, second = evaluators
        check_first: Check = any_value
        check_second: Check = any_value
        for position, check in checks:
            if position == 0:
                check_first = check
            else:
                check_second = check

        def evaluate_two(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
            left = first(data, context, variables, env)
            right = second(data, context, variables, env)
            if not (check_first(left) and check_second(right)):
                raise error
            return impl(left, right)

        return evaluate_two

    def evaluate(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
        values = [evaluator(data, context, variables, env) for evaluator in evaluators]
        for position, check in checks:
            if not check(values[position]):
                raise error
        return impl(env, *values) if with_env else impl(*values)

    return evaluate


Renderer = Callable[[Any], str]


def _render(pieces: Sequence[str], renderers: Sequence[Renderer], values: Sequence[Any]) -> str:
    parts = [pieces[0]]
    for render, value, piece in zip(renderers, values, pieces[1:], strict=True):
        parts.append(value if type(value) is str and render is java_text else render(value))
        parts.append(piece)
    return "".join(parts)


def _format_evaluator(
    pieces: Sequence[str], renderers: Sequence[Renderer], values: Sequence[Compiled]
) -> Evaluator:
    evaluators = tuple(arg.evaluate for arg in values)

    def evaluate(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
        return _render(
            pieces, renderers, [evaluator(data, context, variables, env) for evaluator in evaluators]
        )

    return evaluate


def _dynamic_format_evaluator(
    template: Evaluator, renderers: Sequence[Renderer], values: Sequence[Compiled]
) -> Evaluator:
    """States.Format whose template comes from a path or a call: split it at every run."""
    evaluators = tuple(arg.evaluate for arg in values)
    error = invalid_arguments(FORMAT)

    def evaluate(data: Any, context: Any, variables: Any, env: IntrinsicEnv) -> Any:
        text = template(data, context, variables, env)
        pieces = format_pieces(text) if type(text) is str else None
        if pieces is None or len(pieces) - 1 != len(evaluators):
            raise error
        return _render(
            pieces, renderers, [evaluator(data, context, variables, env) for evaluator in evaluators]
        )

    return evaluate
