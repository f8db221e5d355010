"""JSON text as Step Functions writes it.

AWS renders engine-produced JSON compactly (no spaces) and keeps non-ASCII text as
is; history `input`/`output` fields, error causes and `States.JsonToString` all use
this one rendering, so it lives in one place.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """Compact JSON text of `value`, as AWS prints it in history events and causes."""
    return _ENCODER.encode(value)


def size_in_bytes(value: Any) -> int:
    """UTF-8 size of the compact JSON text, the measure of the 256 KiB payload quota."""
    return len(dumps(value).encode("utf-8"))
