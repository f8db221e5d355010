"""The functions Step Functions adds to JSONata: $partition, $range, $hash, $random, $uuid, $parse.

They work on plain Python JSON values (`UNDEFINED` for a missing argument) so they do
not depend on the JSONata library. Edge cases follow AWS as measured by others
(floci issues #2662/#2676, TestState probes): non-integer numbers are truncated
towards zero; a zero or wrong-signed step or chunk size gives undefined; a value of the
wrong type is a T0410 signature error naming the argument; a wrong value is D3137.
`$random(seed)` is `java.util.Random(seed).nextDouble()`, bit for bit, because AWS
draws from it; unseeded draws and `$uuid()` come from the injected `RandomSource` so
that `asl` stays pure and tests stay deterministic.
"""

from __future__ import annotations

import hashlib
import json
import random as _random
import uuid as _uuid
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from asl.jsonata.core import UNDEFINED, JsonataError, normalize_number


class RandomSource(Protocol):
    """Where unseeded `$random()` and `$uuid()` draw from (the engine injects one)."""

    def random(self) -> float: ...

    def uuid4(self) -> Any: ...


class _DefaultRandomSource:
    """The process's random generators; used when the bindings bring no source."""

    def random(self) -> float:
        return _random.random()

    def uuid4(self) -> Any:
        return _uuid.uuid4()


DEFAULT_RANDOM_SOURCE: Final[RandomSource] = _DefaultRandomSource()

HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
_HASH_NAMES_IN_MESSAGE: Final = "SHA-1, SHA-384, SHA-256, SHA-512, MD5"


def signature_error(function: str, argument_number: int) -> JsonataError:
    """jsonata-js's T0410, which AWS reports for an argument of the wrong type or one too many."""
    return JsonataError(
        "T0410", f'Argument {argument_number} of function "{function}" does not match function signature'
    )


def _arg(args: Sequence[Any], index: int) -> Any:
    return args[index] if index < len(args) else UNDEFINED


def _reject_surplus(args: Sequence[Any], function: str, arity: int) -> None:
    for index in range(arity, len(args)):
        if args[index] is not UNDEFINED:
            raise signature_error(function, index + 1)


def _towards_zero(value: Any, function: str, argument_number: int) -> int:
    """A numeric argument as the integer AWS uses: truncated, so -1.7 is -1, not -2."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise signature_error(function, argument_number)
    try:
        return int(value)  # int() truncates towards zero
    except (OverflowError, ValueError):  # inf, nan
        raise signature_error(function, argument_number) from None


def partition(args: Sequence[Any], source: RandomSource) -> Any:
    """$partition(array, size): chunks of `size`, the last one shorter."""
    _reject_surplus(args, "partition", 2)
    array = _arg(args, 0)
    if array is UNDEFINED:
        return UNDEFINED
    if not isinstance(array, list):
        raise JsonataError("T0412", 'Argument 1 of function "partition" must be an array of undefined')
    if not array:
        return UNDEFINED
    size_arg = _arg(args, 1)
    if size_arg is UNDEFINED:
        return [list(array)]
    size = _towards_zero(size_arg, "partition", 2)
    if size < 0:
        raise JsonataError("D3137", "Second argument must be zero or greater")
    if size == 0:
        return UNDEFINED
    return [array[start : start + size] for start in range(0, len(array), size)]


def range_(args: Sequence[Any], source: RandomSource) -> Any:
    """$range(start, end, step): inclusive; a single element collapses to a scalar (JSONata sequence)."""
    _reject_surplus(args, "range", 3)
    start = _towards_zero(_arg(args, 0), "range", 1)
    end = _towards_zero(_arg(args, 1), "range", 2)
    step_arg = _arg(args, 2)
    if step_arg is UNDEFINED:
        return UNDEFINED
    step = _towards_zero(step_arg, "range", 3)
    if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
        return UNDEFINED
    values = list(range(start, end + (1 if step > 0 else -1), step))
    return values[0] if len(values) == 1 else values


def hash_(args: Sequence[Any], source: RandomSource) -> Any:
    """$hash(value, algorithm): lowercase hex digest of the UTF-8 bytes."""
    _reject_surplus(args, "hash", 2)
    value = _arg(args, 0)
    if not isinstance(value, str):
        raise signature_error("hash", 1)
    algorithm = _arg(args, 1)
    if algorithm is UNDEFINED:
        return UNDEFINED
    if not isinstance(algorithm, str):
        raise signature_error("hash", 2)
    name = HASH_ALGORITHMS.get(algorithm)
    if name is None:
        raise JsonataError("D3137", f"Hash algorithm '{algorithm}' must be one of {_HASH_NAMES_IN_MESSAGE}")
    return hashlib.new(name, value.encode("utf-8")).hexdigest()


def random_(args: Sequence[Any], source: RandomSource) -> Any:
    """$random([seed]): [0, 1); with a seed, java.util.Random's first nextDouble()."""
    _reject_surplus(args, "random", 1)
    seed = _arg(args, 0)
    if seed is UNDEFINED:
        return source.random()
    return java_random_next_double(_towards_zero(seed, "random", 1))


def uuid_(args: Sequence[Any], source: RandomSource) -> Any:
    """$uuid(): a version 4 UUID string."""
    _reject_surplus(args, "uuid", 0)
    return str(source.uuid4())


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _parse_float(text: str) -> Any:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return normalize_number(value)


def parse(args: Sequence[Any], source: RandomSource) -> Any:
    """$parse(json): the JSON text as a value; AWS's replacement for $eval. Strict JSON only."""
    _reject_surplus(args, "parse", 1)
    text = _arg(args, 0)
    if text is UNDEFINED:
        return UNDEFINED
    if not isinstance(text, str):
        raise signature_error("parse", 1)
    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        raise JsonataError("D3137", "Invalid JSON") from None


_MULTIPLIER: Final = 0x5DEECE66D
_MASK: Final = (1 << 48) - 1


def java_random_next_double(seed: int) -> float:
    """`new java.util.Random(seed).nextDouble()`: the 48-bit LCG, two draws of 26 and 27 bits."""
    state = (seed ^ _MULTIPLIER) & _MASK
    state = (state * _MULTIPLIER + 0xB) & _MASK
    high = state >> (48 - 26)
    state = (state * _MULTIPLIER + 0xB) & _MASK
    low = state >> (48 - 27)
    return ((high << 27) + low) * (1.0 / (1 << 53))


AwsFunction = Callable[[Sequence[Any], RandomSource], Any]

AWS_FUNCTIONS: Final[dict[str, AwsFunction]] = {
    "partition": partition,
    "range": range_,
    "hash": hash_,
    "random": random_,
    "uuid": uuid_,
    "parse": parse,
}
"""Name (without `$`) -> implementation. Each takes the evaluated arguments and the random source."""
