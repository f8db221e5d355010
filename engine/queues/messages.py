"""Message bodies and message attributes: validation and the MD5 digests SQS returns.

`MD5OfMessageAttributes` is computed exactly as SQS does: for each attribute in
name order, the name, the data type and the value, each prefixed by its length
as a 4-byte big-endian integer, with one transport byte (1 = string, 2 = binary)
before the value; the MD5 of the concatenation, in hex. Clients (the SDKs) check
it, so it must be right to the bit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from engine.queues.errors import ServiceError, invalid_value, sns_invalid_parameter

MAX_ATTRIBUTES: Final = 10
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
#: Characters SQS accepts in a body:
#: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
_INVALID_BODY_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Attributes = dict[str, dict[str, str]]


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def fifo_dedup_id(
    body: str, dedup_id: str | None, content_based: bool, kind: str, refuse: Callable[[str], ServiceError]
) -> str:
    """A FIFO deduplication id: the given one, else (ContentBasedDeduplication) the body's SHA-256."""
    if dedup_id is not None:
        return dedup_id
    if not content_based:
        raise refuse(
            f"The {kind} should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
            "provided explicitly"
        )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def attribute_bytes(attribute: Mapping[str, str]) -> bytes:
    """The value's bytes: a StringValue as UTF-8, a BinaryValue decoded from base64."""
    if "BinaryValue" in attribute:
        return decode_binary(attribute["BinaryValue"])
    return attribute.get("StringValue", "").encode("utf-8")


def decode_binary(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return value.encode("utf-8")


def md5_of_attributes(attributes: Mapping[str, Mapping[str, str]]) -> str | None:
    """SQS's MD5OfMessageAttributes, or None without attributes (SQS then omits the member)."""
    if not attributes:
        return None
    digest = hashlib.md5()
    for name in sorted(attributes, key=lambda n: n.encode("utf-8")):
        attribute = attributes[name]
        data_type = attribute["DataType"]
        for part in (name.encode("utf-8"), data_type.encode("utf-8")):
            digest.update(struct.pack(">I", len(part)) + part)
        value = attribute_bytes(attribute)
        digest.update(b"\x02" if "BinaryValue" in attribute else b"\x01")
        digest.update(struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


def message_size(body: str, attributes: Mapping[str, Mapping[str, str]]) -> int:
    """What counts against MaximumMessageSize: the body plus every attribute's name, type and value."""
    size = len(body.encode("utf-8"))
    for name, attribute in attributes.items():
        size += len(name.encode("utf-8")) + len(attribute["DataType"].encode("utf-8"))
        size += len(attribute_bytes(attribute))
    return size


def check_body(body: str, max_size: int, attributes: Mapping[str, Mapping[str, str]]) -> None:
    if _INVALID_BODY_CHAR.search(body):
        raise invalid_value(
            "Invalid binary character in the message body. Only characters allowed by the XML 1.0 "
            "specification are accepted: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | "
            "#x10000 to #x10FFFF"
        )
    if message_size(body, attributes) > max_size:
        raise invalid_value(
            f"One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
        )


def sqs_attributes(value: Any) -> Attributes:
    """SendMessage's MessageAttributes, validated as SQS does, reduced to DataType and the value."""
    return _attributes(value, _SQS_MESSAGES, allow_array=False)


def sns_attributes(value: Any) -> Attributes:
    """Publish's MessageAttributes (SNS also knows `String.Array`)."""
    return _attributes(value, _SNS_MESSAGES, allow_array=True)


_SQS_MESSAGES: Final = {
    "too_many": "Number of message attributes [{count}] exceeds the allowed maximum [10].",
    "name": "Message (user) attribute name '{name}' is invalid. The attribute name can contain A-Z, a-z, "
    "0-9, underscore (_), hyphen (-), and period (.) characters.",
    "reserved": "Message (user) attribute name '{name}' is reserved for use by Amazon SQS.",
    "no_type": "The message attribute '{name}' must contain non-empty message attribute type.",
    "bad_type": "The type of message (user) attribute '{name}' is invalid. You must use only the following "
    "supported type prefixes: Binary, Number, String.",
    "no_value": "The message attribute '{name}' with type '{type}' must use field '{field}'.",
    "number": "Can't cast the value of message (user) attribute '{name}' to a number.",
    "shape": "The message attribute '{name}' must contain non-empty message attribute value.",
}

_SNS_MESSAGES: Final = {
    "too_many": "Number of message attributes [{count}] exceeds the allowed maximum [10].",
    "name": "The message attribute name '{name}' is invalid: it can contain A-Z, a-z, 0-9, underscore (_), "
    "hyphen (-), and period (.) characters.",
    "reserved": "The message attribute name '{name}' is reserved.",
    "no_type": "The message attribute '{name}' must contain non-empty message attribute type.",
    "bad_type": "The message attribute '{name}' has an invalid message attribute type, the set of supported "
    "type prefixes is Binary, Number, and String.",
    "no_value": "The message attribute '{name}' must contain non-empty message attribute value for message "
    "attribute type '{type}'.",
    "number": "Could not cast message attribute '{name}' value to number.",
    "shape": "The message attribute '{name}' must contain non-empty message attribute value.",
    "array": "The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a "
    "JSON array of strings, numbers, true, false or null.",
}


def _attributes(value: Any, messages: Mapping[str, str], *, allow_array: bool) -> Attributes:
    sns = allow_array

    def fail(key: str, **fields: Any) -> ServiceError:
        text = messages[key].format(**fields)
        return sns_invalid_parameter(text) if sns else invalid_value(text)

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail("shape", name="MessageAttributes")
    if len(value) > MAX_ATTRIBUTES:
        raise fail("too_many", count=len(value))
    out: Attributes = {}
    for name, attribute in value.items():
        name = str(name)
        if not _ATTRIBUTE_NAME.match(name) or ".." in name or name.startswith(".") or name.endswith("."):
            raise fail("name", name=name)
        if name.lower().startswith(("aws.", "amazon.")):
            raise fail("reserved", name=name)
        if not isinstance(attribute, Mapping):
            raise fail("shape", name=name)
        data_type = attribute.get("DataType")
        if not isinstance(data_type, str) or not data_type:
            raise fail("no_type", name=name)
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise fail("bad_type", name=name)
        field = "BinaryValue" if base == "Binary" else "StringValue"
        raw = attribute.get(field)
        if not isinstance(raw, str) or raw == "":
            raise fail(
                "no_value", name=name, type=data_type, field="Binary" if base == "Binary" else "String"
            )
        if base == "Number" and not _is_number(raw):
            raise fail("number", name=name)
        if data_type == "String.Array" and allow_array and not _is_array(raw):
            raise fail("array", name=name)
        out[name] = {"DataType": data_type, field: raw}
    return out


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return bool(text.strip())


def _is_array(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(
        v is None or isinstance(v, str | int | float | bool) for v in value
    )
