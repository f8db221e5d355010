"""Static validation of state machine definitions: every problem at once.

`validate(doc)` returns a list of `Diagnostic`s (AWS's codes and wording where AWS
has them, a JSON pointer to the offending field, and line/column when the
definition came from `asl.load`). An empty list, or warnings only, means valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asl.diagnostics import Diagnostic, Severity
from asl.loader import Document
from asl.validation.context import Context
from asl.validation.structure import check_machine

__all__ = ["has_errors", "validate"]


def validate(doc: Document | Mapping[str, Any] | Any, *, express: bool = False) -> list[Diagnostic]:
    """All problems of a definition; `express=True` adds the Express workflow restrictions."""
    if isinstance(doc, Document):
        ctx, value = Context(doc, express=express), doc.value
    else:
        ctx, value = Context(None, express=express), dict(doc) if isinstance(doc, Mapping) else doc
    try:
        check_machine(ctx, value)
    except RecursionError:
        ctx.schema("The definition is nested too deeply to validate", "")
    return ctx.diagnostics()


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)
