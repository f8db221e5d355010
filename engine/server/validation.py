"""ValidateStateMachineDefinition: `asl.validate`'s findings in AWS's response shape.

It never fails for a bad definition: the verdict is `result` (FAIL when any ERROR was
found, whatever the severity filter shows), the findings are `diagnostics`.
"""

from __future__ import annotations

from typing import Any

from asl.diagnostics import Diagnostic, Severity
from asl.loader import LoadError
from asl.validation import validate
from engine.server.context import ServiceContext, parse_json_document
from engine.shapes import ValidateStateMachineDefinitionInput


def validate_state_machine_definition(
    ctx: ServiceContext, req: ValidateStateMachineDefinitionInput
) -> dict[str, Any]:
    diagnostics = find_diagnostics(req.definition, express=req.type == "EXPRESS")
    failed = any(d.severity is Severity.ERROR for d in diagnostics)
    if req.severity == "ERROR":
        diagnostics = [d for d in diagnostics if d.severity is Severity.ERROR]
    limit = req.maxResults or 100
    return {
        "result": "FAIL" if failed else "OK",
        "diagnostics": [diagnostic_to_aws(d) for d in diagnostics[:limit]],
        "truncated": len(diagnostics) > limit,
    }


def find_diagnostics(text: str, *, express: bool) -> list[Diagnostic]:
    try:
        document = parse_json_document(text)
    except LoadError as exc:
        return [exc.diagnostic]
    return validate(document, express=express)


def diagnostic_to_aws(diagnostic: Diagnostic) -> dict[str, Any]:
    """AWS's Diagnostic member: severity, code, message, location (no line and column)."""
    out: dict[str, Any] = {
        "severity": diagnostic.severity.value,
        "code": diagnostic.code,
        "message": diagnostic.message,
    }
    if diagnostic.pointer:
        out["location"] = diagnostic.pointer
    return out
