"""The eighteen `States.*` intrinsic functions, with the argument checks AWS applies.

Each function is described by a `Signature`: how many arguments it takes and a check
per argument. The compiler runs the checks on literal arguments once (a definition
error, or a folded constant when every argument is a literal); the evaluator runs them
on the other arguments at every call. A failed check is AWS's run-time failure
`States.Runtime` with the cause `Invalid arguments in States.<Name>` (observed; the
executor prefixes it with the usual "An error occurred while executing the state ..."
sentence). Implementations therefore only see well-typed values.

Behaviour notes carry their evidence: [O] recorded on AWS in the conformance corpus or
a public AWS characterisation suite, [D] AWS documentation, [U] chosen without evidence.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from asl import json_text
from asl.errors import RUNTIME, StatesError
from asl.intrinsics._java import (
    JavaRandom,
    hash_map_merge,
    hash_set_unique,
    in_int32,
    is_number,
    java_text,
    lenient_base64_decode,
    round_half_up,
    truncate,
    utf16_length,
)

Check = Callable[[Any], bool]

MAX_RANGE_ITEMS: Final = 1000
MAX_ENCODED_CHARS: Final = 10_000
HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class RandomSource(Protocol):
    """What `States.MathRandom` needs from a random generator (`random.Random` fits)."""

    def randrange(self, stop: int, /) -> int: ...


class IntrinsicEnv(Protocol):
    """The non-deterministic inputs of `States.MathRandom` (unseeded) and `States.UUID`.

    `asl` stays pure: the engine passes its own environment (seedable in tests, recorded
    for replay); without one, `asl.intrinsics.DEFAULT_ENV` uses the operating system.
    """

    def random(self) -> RandomSource: ...

    def uuid4(self) -> str: ...


def invalid_arguments(name: str) -> StatesError:
    """AWS's failure for any misuse of an intrinsic's arguments [O: 'Invalid arguments in States.X']."""
    return StatesError(RUNTIME, f"Invalid arguments in {name}")


# -- argument checks ---------------------------------------------------------------------------------


def any_value(value: Any) -> bool:
    return True


def is_array(value: Any) -> bool:
    return type(value) is list


def is_object(value: Any) -> bool:
    return type(value) is dict


def is_string(value: Any) -> bool:
    return type(value) is str


def is_short_string(value: Any) -> bool:
    """Base64 input: a string of at most 10,000 UTF-16 units [D][O]."""
    return type(value) is str and (
        len(value) <= MAX_ENCODED_CHARS // 2 or utf16_length(value) <= MAX_ENCODED_CHARS
    )


def is_positive_size(value: Any) -> bool:
    """ArrayPartition's chunk size, truncated like Java's `intValue` [O: 2.6 acts as 2, 0.6 fails]."""
    return is_number(value) and truncate(value) > 0


def is_nonzero_step(value: Any) -> bool:
    """ArrayRange's step after truncation [O: 0.49 fails]."""
    return is_number(value) and truncate(value) != 0


def is_int32_after_rounding(value: Any) -> bool:
    """MathAdd operand: rounded half-up, must fit a Java int [O: 3000000000 fails]."""
    return (
        is_number(value) and value == value and abs(value) != float("inf") and in_int32(round_half_up(value))
    )


def is_hash_algorithm(value: Any) -> bool:
    """Exact, case-sensitive algorithm names [O: 'sha-256', 'SHA256', 'MD-5' fail]."""
    return type(value) is str and value in HASH_ALGORITHMS


def is_shallow_flag(value: Any) -> bool:
    """JsonMerge's third argument: AWS supports only shallow merges [D]; `true` fails at run time [O],
    a non-boolean is accepted and merges shallowly [O]."""
    return value is not True


# -- implementations ---------------------------------------------------------------------------------


def _reject_constant(token: str) -> Any:
    raise ValueError(f"invalid JSON number {token}")


def _finite_float(token: str) -> float:
    number = float(token)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {token}")
    return number


_DECODER: Final = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)
_JSON_WHITESPACE: Final = " \t\n\r"


def string_to_json(text: str) -> Any:
    """Parse JSON text; blank text is `null` [O: '' and ' ' give null, '-0' gives 0]."""
    stripped = text.strip(_JSON_WHITESPACE)
    if not stripped:
        return None
    try:
        return _DECODER.decode(stripped)
    except ValueError:
        raise invalid_arguments("States.StringToJson") from None


def json_to_string(value: Any) -> str:
    return json_text.dumps(value)


def array(*items: Any) -> list[Any]:
    return list(items)


def array_partition(items: list[Any], size: int | float) -> list[list[Any]]:
    chunk = truncate(size)
    return [items[start : start + chunk] for start in range(0, len(items), chunk)]


def array_contains(items: list[Any], value: Any) -> bool:
    """Membership by `String.valueOf` equality [O: true is found in ["true"]; reordered keys are not]."""
    if not items:
        return False
    wanted = java_text(value)
    return any(java_text(item) == wanted for item in items)


def array_range(first: int | float, last: int | float, step: int | float) -> list[int]:
    """Inclusive range of truncated integers, at most 1,000 items [S][O]; a step pointing away from
    `last` gives `[]` [O]."""
    start, stop, delta = truncate(first), truncate(last), truncate(step)
    count = max(0, (stop - start) // delta + 1)
    if count > MAX_RANGE_ITEMS:
        raise invalid_arguments("States.ArrayRange")
    return list(range(start, start + count * delta, delta))


def array_get_item(items: list[Any], index: int | float) -> Any:
    """Item at the truncated index [O: 1.2 reads index 1]; an empty array yields null [O]."""
    position = truncate(index)
    if not items:
        return None
    if position < 0 or position >= len(items):
        raise invalid_arguments("States.ArrayGetItem")
    return items[position]


def array_length(items: list[Any]) -> int:
    return len(items)


def array_unique(items: list[Any]) -> list[Any]:
    """Distinct items in Java `HashSet` order [O: [true,false,true,false] gives [false,true]]."""
    return hash_set_unique(items)


def base64_encode(text: str) -> str:
    """Standard alphabet with padding, no line breaks, over UTF-8 [O]."""
    return base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")


def base64_decode(text: str) -> str:
    """Lenient decoding [O]; bytes that are not UTF-8 become U+FFFD as in Java."""
    return lenient_base64_decode(text).decode("utf-8", "replace")


def hash_of(data: Any, algorithm: str) -> str:
    """Lower-case hex digest of the UTF-8 text; non-strings are hashed as `String.valueOf` [O]."""
    text = java_text(data)
    if len(text) > MAX_ENCODED_CHARS // 2 and utf16_length(text) > MAX_ENCODED_CHARS:
        raise invalid_arguments("States.Hash")
    return hashlib.new(HASH_ALGORITHMS[algorithm], text.encode("utf-8", "replace")).hexdigest()


def json_merge(first: dict[str, Any], second: dict[str, Any], deep: Any) -> dict[str, Any]:
    """Shallow merge, `second` wins, in Java `HashMap` key order [O]."""
    return hash_map_merge(first, second)


def math_add(left: int | float, right: int | float) -> int:
    """Operands rounded half-up [O], sum must fit a Java int [O]."""
    total = round_half_up(left) + round_half_up(right)
    if not in_int32(total):
        raise invalid_arguments("States.MathAdd")
    return total


def _random_bounds(start: int | float, end: int | float) -> tuple[int, int]:
    low, high = truncate(start), truncate(end)
    # [O]: bounds are truncated (1.4..1.6 fails as an empty range); start inclusive, end exclusive.
    if not (low < high and in_int32(low) and in_int32(high) and in_int32(high - low)):
        raise invalid_arguments("States.MathRandom")
    return low, high


def math_random(env: IntrinsicEnv, start: int | float, end: int | float) -> int:
    low, high = _random_bounds(start, end)
    return low + env.random().randrange(high - low)


def math_random_seeded(start: int | float, end: int | float, seed: int | float) -> int:
    """Same seed, same number [D]; the generator is Java's `Random(seed).nextInt(end - start)` [U]."""
    low, high = _random_bounds(start, end)
    return low + JavaRandom(truncate(seed)).next_int(high - low)


def string_split(text: str, delimiters: str) -> list[str]:
    """Java `StringTokenizer`: every delimiter character splits, empty tokens vanish [O]."""
    if not delimiters:
        return [text] if text else []
    first = delimiters[0]
    if len(delimiters) > 1:
        text = text.translate({ord(char): first for char in delimiters[1:]})
    return [token for token in text.split(first) if token]


def uuid(env: IntrinsicEnv) -> str:
    return env.uuid4()


# -- signatures --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """How a function is called: argument checks, arity and whether it needs the environment.

    `checks` covers the fixed positions; `rest` (if any) checks every further argument.
    `pure` functions of literal arguments are evaluated once, at compile time.
    """

    name: str
    impl: Callable[..., Any]
    checks: tuple[Check, ...] = ()
    min_args: int | None = None
    rest: Check | None = None
    needs_env: bool = False
    pure: bool = True

    def accepts_count(self, count: int) -> bool:
        minimum = len(self.checks) if self.min_args is None else self.min_args
        return count >= minimum and (self.rest is not None or count <= len(self.checks))

    def check_for(self, position: int) -> Check:
        return self.checks[position] if position < len(self.checks) else self.rest or any_value

    def arity_text(self) -> str:
        minimum = len(self.checks) if self.min_args is None else self.min_args
        if self.rest is not None:
            return f"at least {minimum} argument{'s' if minimum != 1 else ''}"
        if minimum == len(self.checks):
            return f"{minimum} argument{'s' if minimum != 1 else ''}"
        return f"{minimum} to {len(self.checks)} arguments"


def _signature(name: str, impl: Callable[..., Any], *checks: Check, **options: Any) -> Signature:
    return Signature(f"States.{name}", impl, checks, **options)


FORMAT: Final = "States.Format"
STRING_TO_JSON: Final = "States.StringToJson"
MATH_RANDOM: Final = "States.MathRandom"

SIGNATURES: Final[dict[str, Signature]] = {
    signature.name: signature
    for signature in (
        # States.Format is compiled specially (template pieces); its checks cover the template only.
        _signature("Format", array, is_string, rest=any_value),
        _signature("StringToJson", string_to_json, is_string),
        _signature("JsonToString", json_to_string, any_value),
        _signature("Array", array, rest=any_value),
        _signature("ArrayPartition", array_partition, is_array, is_positive_size),
        _signature("ArrayContains", array_contains, is_array, any_value),
        _signature("ArrayRange", array_range, is_number, is_number, is_nonzero_step),
        _signature("ArrayGetItem", array_get_item, is_array, is_number),
        _signature("ArrayLength", array_length, is_array),
        _signature("ArrayUnique", array_unique, is_array),
        _signature("Base64Encode", base64_encode, is_short_string),
        _signature("Base64Decode", base64_decode, is_short_string),
        _signature("Hash", hash_of, any_value, is_hash_algorithm),
        _signature("JsonMerge", json_merge, is_object, is_object, is_shallow_flag),
        _signature("MathRandom", math_random, is_number, is_number, is_number, min_args=2, needs_env=True),
        _signature("MathAdd", math_add, is_int32_after_rounding, is_int32_after_rounding),
        _signature("StringSplit", string_split, is_string, is_string),
        _signature("UUID", uuid, needs_env=True, pure=False),
    )
}

# MathRandom with a seed is deterministic (and may be folded); without one it needs randomness.
SEEDED_MATH_RANDOM: Final = Signature(MATH_RANDOM, math_random_seeded, (is_number, is_number, is_number))
UNSEEDED_MATH_RANDOM: Final = Signature(
    MATH_RANDOM, math_random, (is_number, is_number), needs_env=True, pure=False
)
