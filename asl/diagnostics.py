"""Validation findings: one shape for every problem a definition can have."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, located by JSON pointer and, when known, by line and column (1-based).

    `code` is AWS's diagnostic code where AWS has one (`SCHEMA_VALIDATION_FAILED`,
    `MISSING_TRANSITION_TARGET`, ...), so `--json` output reads like
    ValidateStateMachineDefinition's.
    """

    code: str
    severity: Severity
    message: str
    pointer: str | None = None
    line: int | None = None
    column: int | None = None

    def to_aws(self) -> dict[str, object]:
        out: dict[str, object] = {"severity": self.severity.value, "code": self.code, "message": self.message}
        if self.pointer is not None:
            out["location"] = self.pointer
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        return out
