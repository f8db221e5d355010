"""AWS API response shapes, typed: what `--json`, the Python API and the HTTP API print.

Each model mirrors the Step Functions API member names exactly, so a wrong or
missing field fails here, at the boundary, not in a user's script.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The API document: absent members are left out, as AWS leaves them out."""
        return self.model_dump(exclude_none=True)


class DataDetails(_Shape):
    included: bool = True


class ExecutionDescription(_Shape):
    """DescribeExecution's response."""

    executionArn: str
    stateMachineArn: str
    name: str
    status: Status
    startDate: float | str
    stopDate: float | str | None = None
    input: str | None = None
    inputDetails: DataDetails | None = None
    output: str | None = None
    outputDetails: DataDetails | None = None
    error: str | None = None
    cause: str | None = None
    redriveCount: int | None = None
    redriveDate: float | str | None = None
    mapRunArn: str | None = None
