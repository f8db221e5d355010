"""Shared helpers for the validation tests (no tests here)."""

from __future__ import annotations

import json
from typing import Any

from asl.diagnostics import Diagnostic, Severity
from asl.loader import load
from asl.validation import validate


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    """A definition with `states` at the top level, starting at the first state by default."""
    return {"StartAt": start if start is not None else next(iter(states)), "States": states, **top}


def run(definition: Any, *, express: bool = False) -> list[Diagnostic]:
    """Validate through the loader (so positions are attached), as the CLI does."""
    doc = load(json.dumps(definition, indent=2))
    found = validate(doc, express=express)
    for d in found:
        if d.pointer is not None:
            assert doc.position(d.pointer) is not None or doc.key_position(d.pointer) is not None, d
            assert d.line is not None and d.column is not None, d
    return found


def errors(definition: Any, *, express: bool = False) -> list[tuple[str, str | None]]:
    return [(d.code, d.pointer) for d in run(definition, express=express) if d.severity is Severity.ERROR]


def warnings(definition: Any) -> list[tuple[str, str | None]]:
    return [(d.code, d.pointer) for d in run(definition) if d.severity is Severity.WARNING]


def only_error(definition: Any, *, express: bool = False) -> Diagnostic:
    """The single ERROR of `definition` (fails when there are none or several)."""
    found = [d for d in run(definition, express=express) if d.severity is Severity.ERROR]
    assert len(found) == 1, found
    return found[0]


def assert_valid(definition: Any, *, express: bool = False) -> None:
    assert errors(definition, express=express) == []


PASS_END: dict[str, Any] = {"Type": "Pass", "End": True}
