"""AWS API response shapes, typed: what `--json`, the Python API and the HTTP API print.

Each model mirrors the Step Functions API member names exactly, so a wrong or
missing field fails here, at the boundary, not in a user's script.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


# --------------------------------------------------------------------------- HTTP API requests
#
# The request members of the Step Functions API actions `statelane serve` answers, with
# the length, range and enum constraints of AWS's API model. Unknown members are ignored
# (as AWS ignores them); values are strict (a number where a string belongs is an error,
# never coerced). `engine.server.requests` turns violations into AWS's ValidationException.

Arn = Annotated[str, Field(min_length=1, max_length=256)]
Name = Annotated[str, Field(min_length=1, max_length=80)]
Definition = Annotated[str, Field(min_length=1, max_length=1048576)]
Data = Annotated[str, Field(max_length=262144)]
ErrorName = Annotated[str, Field(max_length=256)]
Cause = Annotated[str, Field(max_length=32768)]
TaskToken = Annotated[str, Field(min_length=1, max_length=2048)]
PageToken = Annotated[str, Field(min_length=1, max_length=1024)]
PageSize = Annotated[int, Field(ge=0, le=1000)]
StateMachineTypeName = Literal["STANDARD", "EXPRESS"]
IncludedData = Literal["ALL_DATA", "METADATA_ONLY"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Tag(_Request):
    key: Annotated[str, Field(min_length=1, max_length=128)]
    value: Annotated[str, Field(max_length=256)] = ""


class CreateStateMachineInput(_Request):
    name: Name
    definition: Definition
    roleArn: Arn
    type: StateMachineTypeName = "STANDARD"
    loggingConfiguration: dict[str, Any] | None = None
    tracingConfiguration: dict[str, Any] | None = None
    encryptionConfiguration: dict[str, Any] | None = None
    tags: list[Tag] | None = None
    publish: bool = False
    versionDescription: Annotated[str, Field(max_length=256)] | None = None


class StateMachineArnInput(_Request):
    """DescribeStateMachine, DeleteStateMachine."""

    stateMachineArn: Arn
    includedData: IncludedData | None = None


class UpdateStateMachineInput(_Request):
    stateMachineArn: Arn
    definition: Definition | None = None
    roleArn: Arn | None = None
    loggingConfiguration: dict[str, Any] | None = None
    tracingConfiguration: dict[str, Any] | None = None
    encryptionConfiguration: dict[str, Any] | None = None
    publish: bool = False
    versionDescription: Annotated[str, Field(max_length=256)] | None = None


class PageInput(_Request):
    """ListStateMachines."""

    maxResults: PageSize = 0
    nextToken: PageToken | None = None


class ExecutionArnInput(_Request):
    """DescribeExecution, DescribeStateMachineForExecution."""

    executionArn: Arn
    includedData: IncludedData | None = None


class StartExecutionInput(_Request):
    """StartExecution and StartSyncExecution."""

    stateMachineArn: Arn
    name: Name | None = None
    input: Data | None = None
    traceHeader: Annotated[str, Field(max_length=256)] | None = None
    includedData: IncludedData | None = None


class ListExecutionsInput(_Request):
    stateMachineArn: Arn | None = None
    mapRunArn: Arn | None = None
    statusFilter: (
        Literal["SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED", "FAILED", "RUNNING"] | None
    ) = None
    redriveFilter: Literal["REDRIVEN", "NOT_REDRIVEN"] | None = None
    maxResults: PageSize = 0
    nextToken: Annotated[str, Field(min_length=1, max_length=3096)] | None = None


class GetExecutionHistoryInput(_Request):
    executionArn: Arn
    maxResults: PageSize = 0
    reverseOrder: bool = False
    nextToken: PageToken | None = None
    includeExecutionData: bool = True


class StopExecutionInput(_Request):
    executionArn: Arn
    error: ErrorName | None = None
    cause: Cause | None = None


class RedriveExecutionInput(_Request):
    executionArn: Arn
    clientToken: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class SendTaskSuccessInput(_Request):
    taskToken: TaskToken
    output: Data


class SendTaskFailureInput(_Request):
    taskToken: TaskToken
    error: ErrorName | None = None
    cause: Cause | None = None


class SendTaskHeartbeatInput(_Request):
    taskToken: TaskToken


class ValidateStateMachineDefinitionInput(_Request):
    definition: Definition
    type: StateMachineTypeName = "STANDARD"
    severity: Literal["ERROR", "WARNING"] = "ERROR"
    maxResults: Annotated[int, Field(ge=0, le=100)] = 0


class MockErrorOutput(_Request):
    error: ErrorName | None = None
    cause: Cause | None = None


class TestStateMock(_Request):
    result: Data | None = None
    errorOutput: MockErrorOutput | None = None
    fieldValidationMode: Literal["STRICT", "PRESENT", "NONE"] = "STRICT"


class TestStateInput(_Request):
    definition: Definition
    roleArn: Arn | None = None
    input: Data | None = None
    inspectionLevel: Literal["INFO", "DEBUG", "TRACE"] = "INFO"
    revealSecrets: bool = False
    variables: Data | None = None
    stateName: Name | None = None
    mock: TestStateMock | None = None
    context: Data | None = None
    stateConfiguration: dict[str, Any] | None = None


class TagResourceInput(_Request):
    resourceArn: Arn
    tags: list[Tag]


class UntagResourceInput(_Request):
    resourceArn: Arn
    tagKeys: list[Annotated[str, Field(min_length=1, max_length=128)]]


class ResourceArnInput(_Request):
    """ListTagsForResource."""

    resourceArn: Arn
