"""SNS subscription filter policies: which published messages a subscription receives.

A policy is a JSON object of keys to lists of conditions; every key must match
(AND), any condition of a key may (OR); `"$or": [policy, ...]` combines whole
policies. Conditions: exact strings and numbers, `null` and booleans (message body
scope), `{"prefix"}`, `{"suffix"}`, `{"equals-ignore-case"}`, `{"anything-but"}`
(a value, a list, or a prefix/suffix), `{"numeric": [op, n, ...]}`, `{"exists"}`
and `{"cidr"}`. With `FilterPolicyScope` `MessageAttributes` (the default) the keys
are message attribute names: String attributes match string conditions, Number
attributes numeric ones, String.Array attributes match when any element does. With
`MessageBody` the message must be a JSON object and keys may nest.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

_MISSING: Final = object()
_OPERATORS: Final = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_OPERATOR_KEYS: Final = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr"}
)


class FilterPolicyError(ValueError):
    """The policy is not one SNS would accept; the message says why."""


def parse_policy(text: str | Mapping[str, Any]) -> dict[str, Any]:
    """Validate a filter policy (JSON text or an object) and return it as an object."""
    try:
        policy = json.loads(text) if isinstance(text, str) else dict(text)
    except ValueError as exc:
        raise FilterPolicyError(f"failed to parse JSON: {exc}") from None
    if not isinstance(policy, dict) or not policy:
        raise FilterPolicyError("the policy must be a non-empty JSON object")
    _check(policy)
    return policy


def _check(policy: Mapping[str, Any]) -> None:
    for key, value in policy.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(p, dict) for p in value):
                raise FilterPolicyError('"$or" takes a list of at least two policies')
            for sub in value:
                _check(sub)
        elif isinstance(value, dict):
            _check(value)
        elif isinstance(value, list) and value:
            for condition in value:
                _check_condition(key, condition)
        else:
            raise FilterPolicyError(f'"{key}" must be an object or a non-empty list of conditions')


def _check_condition(key: str, condition: Any) -> None:
    if not isinstance(condition, dict):
        return
    if len(condition) != 1 or next(iter(condition)) not in _OPERATOR_KEYS:
        raise FilterPolicyError(f'"{key}": unrecognized match type {json.dumps(condition)}')
    operator, operand = next(iter(condition.items()))
    if operator == "numeric":
        if not isinstance(operand, list) or len(operand) not in (2, 4):
            raise FilterPolicyError(f'"{key}": numeric takes [op, n] or [op, n, op, n]')
        for op, number in zip(operand[::2], operand[1::2], strict=True):
            if op not in _OPERATORS or isinstance(number, bool) or not isinstance(number, int | float):
                raise FilterPolicyError(f'"{key}": bad numeric comparison {op!r} {number!r}')
    elif operator == "exists" and not isinstance(operand, bool):
        raise FilterPolicyError(f'"{key}": exists takes true or false')
    elif operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(operand, str):
        raise FilterPolicyError(f'"{key}": {operator} takes a string')


def attribute_values(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Message attributes as matchable values: strings, Decimals, lists (String.Array).

    Binary attributes are not matchable.
    """
    out: dict[str, Any] = {}
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", "String")
        value = attribute.get("StringValue")
        if value is None:
            continue
        if data_type.startswith("Number"):
            out[name] = _decimal(value)
        elif data_type == "String.Array":
            try:
                out[name] = [_decimal(v) if isinstance(v, int | float) else v for v in json.loads(value)]
            except ValueError:
                out[name] = value
        else:
            out[name] = value
    return out


def matches(policy: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Does a message with these (attribute or body) values pass the policy?"""
    for key, expected in policy.items():
        if key == "$or":
            if not any(matches(sub, values) for sub in expected):
                return False
            continue
        actual = values.get(key, _MISSING) if isinstance(values, Mapping) else _MISSING
        if isinstance(expected, dict):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif not _key_matches(expected, actual):
            return False
    return True


def matches_body(policy: Mapping[str, Any], body: str) -> bool:
    try:
        document = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        return False
    return isinstance(document, dict) and matches(policy, document)


def _key_matches(conditions: list[Any], actual: Any) -> bool:
    if actual is _MISSING:
        return any(isinstance(c, dict) and c.get("exists") is False for c in conditions)
    candidates = actual if isinstance(actual, list) else [actual]
    return any(_condition(c, v) for c in conditions for v in candidates)


def _condition(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return _equals(condition, value)
    operator, operand = next(iter(condition.items()))
    if operator == "exists":
        return operand is True
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == operand.casefold()
    if operator == "anything-but":
        return not _anything_but_hit(operand, value)
    if operator == "numeric":
        if not isinstance(value, Decimal):
            return False
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return all(_OPERATORS[op](value, _decimal(n)) for op, n in pairs)
    if operator == "cidr":
        try:
            return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(operand), strict=False)
        except ValueError:
            return False
    return False


def _anything_but_hit(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        return _condition(operand, value)
    listed = operand if isinstance(operand, list) else [operand]
    return any(_equals(item, value) for item in listed)


def _equals(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, int | float):
        return isinstance(value, Decimal) and value == _decimal(expected)
    return isinstance(value, str) and value == expected


def _decimal(value: Any) -> Decimal | Any:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return value
