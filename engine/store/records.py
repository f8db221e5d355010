"""Typed rows of the store: what a store returns, never a live view of its tables.

Records are frozen: a caller holding one sees the row as it was when read. The
checkpoint is not part of `ExecutionRecord` (lists of executions must not pay for
loading it); a worker reads it with `Store.load_checkpoint` after a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NamedTuple

from engine.execution import ExecutionStatus
from engine.history import iso_format

__all__ = [
    "UNSET",
    "ExecutionRecord",
    "ExecutionStatus",
    "Started",
    "StateMachineRecord",
    "StateMachineType",
    "TaskOutcome",
    "TaskTokenRecord",
    "TaskTokenStatus",
    "Unset",
]


class Unset:
    """The type of `UNSET`: "leave this column as it is" (None means "set it to NULL")."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()

TERMINAL_STATUSES: Final = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED}
)
REDRIVABLE_STATUSES: Final = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED}
)


class StateMachineType(StrEnum):
    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


@dataclass(frozen=True, slots=True)
class StateMachineRecord:
    """A state machine at one revision (the current one, unless read with `get_revision`)."""

    name: str
    arn: str
    definition: str
    type: StateMachineType
    role_arn: str
    revision_id: str
    creation_date: float
    update_date: float

    def describe(self, *, iso_dates: bool = False) -> dict[str, Any]:
        """DescribeStateMachine's response shape."""
        return {
            "stateMachineArn": self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "definition": self.definition,
            "roleArn": self.role_arn,
            "type": self.type.value,
            "creationDate": _date(self.creation_date, iso_dates),
            "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
            "tracingConfiguration": {"enabled": False},
            "revisionId": self.revision_id,
        }


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One standard execution as stored: what DescribeExecution shows plus the worker bookkeeping."""

    arn: str
    name: str
    state_machine_arn: str
    #: The state machine revision the execution runs (UpdateStateMachine never changes running ones).
    revision_id: str
    status: ExecutionStatus
    #: The execution input, verbatim JSON text.
    input: str
    start_date: float
    #: JSON text, or None while running / after a failure.
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    redrive_count: int = 0
    redrive_date: float | None = None
    #: Epoch seconds at which a parked execution must be resumed (a Wait, a retry back-off, a timeout).
    wake_at: float | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    #: True from StartExecution/RedriveExecution/a task completion until a worker claims it.
    queued: bool = False
    #: The id of the last history event (0 before ExecutionStarted is committed).
    last_event_id: int = 0

    @property
    def state_machine_name(self) -> str:
        return self.state_machine_arn.rsplit(":", 1)[-1]

    def describe(self, *, iso_dates: bool = False) -> dict[str, Any]:
        """DescribeExecution's response shape (dates as epoch seconds, or ISO 8601 as the AWS CLI shows)."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status.value,
            "startDate": _date(self.start_date, iso_dates),
        }
        if self.stop_date is not None:
            out["stopDate"] = _date(self.stop_date, iso_dates)
        out["input"] = self.input
        out["inputDetails"] = {"included": True}
        if self.output is not None:
            out["output"] = self.output
            out["outputDetails"] = {"included": True}
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        out["redriveCount"] = self.redrive_count
        if self.redrive_date is not None:
            out["redriveDate"] = _date(self.redrive_date, iso_dates)
        if self.status in REDRIVABLE_STATUSES:
            out["redriveStatus"] = "REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {self.status.value} and cannot be redriven"
        return out

    def list_item(self, *, iso_dates: bool = False) -> dict[str, Any]:
        """One entry of ListExecutions' `executions`."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status.value,
            "startDate": _date(self.start_date, iso_dates),
        }
        if self.stop_date is not None:
            out["stopDate"] = _date(self.stop_date, iso_dates)
        out["redriveCount"] = self.redrive_count
        if self.redrive_date is not None:
            out["redriveDate"] = _date(self.redrive_date, iso_dates)
        return out


class Started(NamedTuple):
    """What StartExecution did: the execution and whether this call created it (False: idempotent repeat)."""

    execution: ExecutionRecord
    created: bool


class TaskTokenStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a `.waitForTaskToken` task ended: SendTaskSuccess, SendTaskFailure or a timeout."""

    status: TaskTokenStatus
    #: JSON text from SendTaskSuccess.
    output: str | None = None
    error: str | None = None
    cause: str | None = None

    @classmethod
    def success(cls, output: str) -> TaskOutcome:
        return cls(TaskTokenStatus.SUCCEEDED, output=output)

    @classmethod
    def failure(cls, error: str | None = None, cause: str | None = None) -> TaskOutcome:
        return cls(TaskTokenStatus.FAILED, error=error, cause=cause)

    @classmethod
    def timed_out(cls) -> TaskOutcome:
        return cls(TaskTokenStatus.TIMED_OUT)


@dataclass(frozen=True, slots=True)
class TaskTokenRecord:
    token: str
    execution_arn: str
    #: The id of the TaskStateEntered event of the task that issued the token.
    state_entered_event_id: int
    status: TaskTokenStatus
    created_at: float
    #: The task's TimeoutSeconds deadline (epoch seconds), if any.
    timeout_at: float | None = None
    heartbeat_seconds: float | None = None
    #: When the next heartbeat is due (epoch seconds), if the task has HeartbeatSeconds.
    heartbeat_deadline: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    completed_at: float | None = None

    @property
    def outcome(self) -> TaskOutcome | None:
        if self.status is TaskTokenStatus.PENDING:
            return None
        return TaskOutcome(self.status, self.output, self.error, self.cause)

    def deadline(self) -> float | None:
        """The earliest moment the task times out (TimeoutSeconds or a missed heartbeat)."""
        candidates = [t for t in (self.timeout_at, self.heartbeat_deadline) if t is not None]
        return min(candidates) if candidates else None


def _date(value: float, iso: bool) -> Any:
    return iso_format(value) if iso else value
