"""An execution's record: what DescribeExecution shows, plus its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asl.json_text import dumps
from engine.history import HistoryEvent, iso_format, render
from engine.shapes import DataDetails, ExecutionDescription


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


@dataclass
class Execution:
    execution_arn: str
    state_machine_arn: str
    state_machine_name: str
    name: str
    input_text: str
    input: Any
    start_date: float
    express: bool = False
    role_arn: str = ""
    status: ExecutionStatus = ExecutionStatus.RUNNING
    stop_date: float | None = None
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    events: list[HistoryEvent] = field(default_factory=list)

    def describe(self, *, iso_dates: bool = False) -> dict[str, Any]:
        """DescribeExecution's response shape (dates as epoch seconds, or ISO 8601 like the AWS CLI)."""

        def date(value: float | None) -> Any:
            if value is None:
                return None
            return iso_format(value) if iso_dates else value

        return ExecutionDescription(
            executionArn=self.execution_arn,
            stateMachineArn=self.state_machine_arn,
            name=self.name,
            status=self.status.value,
            startDate=date(self.start_date),
            stopDate=date(self.stop_date),
            input=self.input_text,
            inputDetails=DataDetails(),
            output=dumps(self.output) if self.has_output else None,
            outputDetails=DataDetails() if self.has_output else None,
            error=self.error,
            cause=self.cause,
            redriveCount=None if self.express else self.redrive_count,
        ).to_json()

    def history(self, *, iso_timestamps: bool = False) -> list[dict[str, Any]]:
        return render(self.events, iso_timestamps=iso_timestamps)
