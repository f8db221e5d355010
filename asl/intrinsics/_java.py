"""Java behaviour the Step Functions service shows through its intrinsic functions.

AWS implements the intrinsics in Java on values parsed by Jackson into plain Java
objects (`Map`, `List`, `String`, `Integer`/`Long`/`BigInteger`, `Double`, `Boolean`,
`null`). Several observable results follow from that, and reproducing them is the
only way to print what AWS prints:

* `States.Format` renders arguments with `String.valueOf` (objects as `{a=1, b=[]}`,
  doubles as `1.0E20`), and `States.ArrayContains` compares those renderings
  (recorded: `true` is found in `["true"]`, `{"b":2,"a":1}` is not found in
  `[{"a":1,"b":2}]`).
* `States.ArrayUnique` returns a `HashSet`'s iteration order (recorded:
  `[true,false,true,false]` -> `[false,true]`; `[[1,2],[1,2],[2,1]]` -> `[[2,1],[1,2]]`).
* `States.JsonMerge` returns a `HashMap`'s iteration order (recorded:
  `{"constant_in_literal":..}` merged with `{"constant_input_field":..}` prints the second key first).
* `States.MathRandom` with a seed is modelled on `java.util.Random(seed).nextInt(bound)`
  (the seeded value itself was never recorded; this choice at least makes it stable).
* `States.Base64Decode` is as lenient as Apache commons-codec (recorded: `'abc'`,
  `'!!!invalid!!!'`, `'ab==cd'` and `' YWJjZA== '` all decode instead of failing).

Everything here is pure and works on JSON values as Python's `json` produces them.
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_MASK32: Final = 0xFFFFFFFF


def is_number(value: Any) -> bool:
    """True for a JSON number; `bool` is an `int` subclass in Python but never a JSON number."""
    kind = type(value)
    return kind is int or kind is float


def in_int32(value: int) -> bool:
    return _INT32_MIN <= value <= _INT32_MAX


def truncate(value: int | float) -> int:
    """Java's `Number.intValue()`/`longValue()` on a double: drop the fraction toward zero."""
    return value if type(value) is int else int(value)


def round_half_up(value: int | float) -> int:
    """Java's `Math.round(double)`: the nearest integer, ties toward positive infinity.

    Computed from `floor` and the exact remainder, so `0.49999999999999994` rounds to 0
    as it does in Java (the naive `floor(x + 0.5)` would give 1).
    """
    if type(value) is int:
        return value
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


# -- String.valueOf ----------------------------------------------------------------------------------


def java_double_text(value: float) -> str:
    """`Double.toString`: shortest digits, plain between 1e-3 and 1e7, else `d.dddE<n>`."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)  # finite: JSON has no NaN or Infinity
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exponent += len(digit_tuple) - len(digits)
    point = len(digits) - 1 + exponent  # value = d.ddd x 10^point
    prefix = "-" if sign else ""
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        if point >= 0:
            whole = digits[: point + 1].ljust(point + 1, "0")
            fraction = digits[point + 1 :] or "0"
            return f"{prefix}{whole}.{fraction}"
        return f"{prefix}0.{'0' * (-point - 1)}{digits}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{point}"


def java_text(value: Any) -> str:
    """`String.valueOf` of the Java object Jackson would have built for this JSON value."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return java_double_text(value)
    if kind is list:
        return "[" + ", ".join(map(java_text, value)) + "]"
    if kind is dict:
        return "{" + ", ".join(f"{key}={java_text(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"not a JSON value: {kind.__name__}")


# -- hashCode and equals -----------------------------------------------------------------------------


def _int32(value: int) -> int:
    value &= _MASK32
    return value - (1 << 32) if value > _INT32_MAX else value


def string_hash(text: str) -> int:
    """`String.hashCode` over UTF-16 code units, as a signed 32-bit int."""
    code = 0
    if text.isascii():
        for char in text.encode("ascii"):
            code = (31 * code + char) & _MASK32
    else:
        units = text.encode("utf-16-be")
        for index in range(0, len(units), 2):
            code = (31 * code + (units[index] << 8 | units[index + 1])) & _MASK32
    return _int32(code)


def _long_hash(value: int) -> int:
    bits = value & 0xFFFFFFFFFFFFFFFF
    return _int32(bits ^ (bits >> 32))


def _big_integer_hash(value: int) -> int:
    magnitude = abs(value)
    code = 0
    for shift in range((magnitude.bit_length() + 31) // 32 * 32 - 32, -32, -32):
        code = (31 * code + ((magnitude >> shift) & _MASK32)) & _MASK32
    return _int32(code * (1 if value > 0 else -1))


def java_hash(value: Any) -> int:
    """`hashCode()` of the Java object for a JSON value (null hashes to 0 inside a HashMap)."""
    kind = type(value)
    if kind is str:
        return string_hash(value)
    if value is None:
        return 0
    if kind is bool:
        return 1231 if value else 1237
    if kind is int:
        if in_int32(value):
            return value
        if _INT64_MIN <= value <= _INT64_MAX:
            return _long_hash(value)
        return _big_integer_hash(value)
    if kind is float:
        return _long_hash(struct.unpack(">q", struct.pack(">d", value))[0])
    if kind is list:
        code = 1
        for item in value:
            code = (31 * code + java_hash(item)) & _MASK32
        return _int32(code)
    if kind is dict:
        total = 0
        for key, item in value.items():
            total += string_hash(key) ^ java_hash(item)
        return _int32(total)
    raise TypeError(f"not a JSON value: {kind.__name__}")


def java_equality_key(value: Any) -> Any:
    """A hashable key equal for two values exactly when their Java objects are `equals`.

    Types never mix (`1` is an Integer, `1.0` a Double, `true` a Boolean) and maps
    compare without regard to key order, as `AbstractMap.equals` does.
    """
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is bool:
        return ("b", value)
    if kind is int:
        return ("i", value)
    if kind is float:
        return ("d", value.hex())
    if kind is list:
        return ("a", tuple(map(java_equality_key, value)))
    if kind is dict:
        return ("o", frozenset((key, java_equality_key(item)) for key, item in value.items()))
    raise TypeError(f"not a JSON value: {kind.__name__}")


# -- HashMap / HashSet iteration order ---------------------------------------------------------------


def _table_size_for(capacity: int) -> int:
    """`HashMap.tableSizeFor`: the smallest power of two >= capacity (at least 1)."""
    return 1 if capacity <= 1 else 1 << (capacity - 1).bit_length()


def _sized_for(count: int) -> int:
    """The table a `HashMap(Map)` copy or a `putAll` into an empty map allocates for `count` entries."""
    return _table_size_for(int(count / 0.75 + 1.0))


def _grown(capacity: int, size: int) -> int:
    """The capacity after inserting up to `size` entries (resize whenever size > 0.75 * capacity)."""
    threshold = int(capacity * 0.75)
    while size > threshold:
        threshold = threshold * 2 if capacity >= 16 else int(capacity * 2 * 0.75)
        capacity *= 2
    return capacity


def _bucket_order(keys: Iterable[Any], capacity: int, hash_of: Callable[[Any], int]) -> list[Any]:
    """Keys in a HashMap's iteration order: by bucket, then insertion order within a bucket."""
    mask = capacity - 1
    decorated = []
    for position, key in enumerate(keys):
        code = hash_of(key) & _MASK32
        decorated.append(((code ^ (code >> 16)) & mask, position, key))
    decorated.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in decorated]


def hash_set_unique(items: list[Any]) -> list[Any]:
    """`new ArrayList<>(new HashSet<>(items))`: first occurrences, in hash-bucket order."""
    seen: dict[Any, Any] = {}
    for item in items:
        seen.setdefault(java_equality_key(item), item)
    capacity = _table_size_for(max(int(len(items) / 0.75) + 1, 16))
    return _bucket_order(seen.values(), capacity, java_hash)


def hash_map_merge(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """`m = new HashMap<>(first); m.putAll(second)`, with the HashMap's iteration order."""
    merged = dict(first)
    merged.update(second)
    if len(merged) < 2:
        return merged
    capacity = _sized_for(len(first) if first else len(second))
    capacity = _grown(capacity, len(merged))
    return {key: merged[key] for key in _bucket_order(merged, capacity, string_hash)}


# -- java.util.Random --------------------------------------------------------------------------------

_MULTIPLIER: Final = 0x5DEECE66D
_MASK48: Final = (1 << 48) - 1


class JavaRandom:
    """`java.util.Random`: a 48-bit linear congruential generator, bit-exact with Java."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = (seed ^ _MULTIPLIER) & _MASK48

    def next_bits(self, bits: int) -> int:
        """`next(bits)`: the top `bits` of the new state, as a signed 32-bit int."""
        self._state = (self._state * _MULTIPLIER + 0xB) & _MASK48
        return _int32(self._state >> (48 - bits))

    def next_int(self, bound: int) -> int:
        """`nextInt(bound)` for a positive int32 bound: uniform in [0, bound)."""
        bits = self.next_bits(31)
        if bound & (bound - 1) == 0:
            return (bound * bits) >> 31
        value = bits % bound
        while _int32(bits - value + bound - 1) < 0:
            bits = self.next_bits(31)
            value = bits % bound
        return value


# -- Base64 ------------------------------------------------------------------------------------------

_BASE64_KEEP: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_URL_SAFE: Final = str.maketrans("-_", "+/")


def lenient_base64_decode(text: str) -> bytes:
    """Decode like commons-codec's lenient decoder: skip non-alphabet characters, stop at `=`,
    accept both alphabets, decode a trailing partial group and drop a lone leftover character."""
    end = text.find("=")
    if end >= 0:
        text = text[:end]
    if not _BASE64_KEEP.issuperset(text):
        text = "".join(char for char in text if char in _BASE64_KEEP)
    text = text.translate(_URL_SAFE)
    leftover = len(text) % 4
    if leftover == 1:
        text = text[:-1]
    elif leftover:
        text += "=" * (4 - leftover)
    return binascii.a2b_base64(text)


def utf16_length(text: str) -> int:
    """`String.length()`: UTF-16 code units (characters outside the BMP count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2
