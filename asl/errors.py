"""ASL runtime errors and the names AWS gives them.

A runtime failure inside a state machine is a *value* that flows through Retry and
Catch into the history, not a Python crash. Every layer that can fail at run time
(paths, intrinsics, JSONata, choice rules, task handlers) raises `StatesError`
with the exact error name and cause text AWS would report, so the executor never
has to translate.
"""

from __future__ import annotations

from typing import Final

ALL: Final = "States.ALL"
RUNTIME: Final = "States.Runtime"
TIMEOUT: Final = "States.Timeout"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
TASK_FAILED: Final = "States.TaskFailed"
PERMISSIONS: Final = "States.Permissions"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED: Final = "States.ItemReaderFailed"
RESULT_WRITER_FAILED: Final = "States.ResultWriterFailed"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
BRANCH_FAILED: Final = "States.BranchFailed"
#: AWS reports a ResultPath that cannot be applied under this name (not the spec's ResultPathMatchFailure).
REFERENCE_PATH_CONFLICT: Final = "States.ReferencePathConflict"


class StatesError(Exception):
    """A runtime failure with an ASL error name and cause, as AWS reports it.

    `location` is set for JSONata failures (the field path, e.g. ``Output`` or
    ``Arguments/FunctionName``) because AWS records those in an
    ``EvaluationFailed`` history event before the failure itself.
    """

    def __init__(self, error: str, cause: str | None = None, *, location: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause is not None else error)
        self.error = error
        self.cause = cause
        self.location = location
        #: A missed heartbeat: recorded as States.Timeout, and also matched by States.HeartbeatTimeout.
        self.heartbeat = False

    def __repr__(self) -> str:
        return f"StatesError({self.error!r}, {self.cause!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StatesError)
            and (self.error, self.cause, self.location) == (other.error, other.cause, other.location)
        )

    def __hash__(self) -> int:
        return hash((self.error, self.cause, self.location))


def runtime_error(cause: str) -> StatesError:
    """`States.Runtime`: the uncatchable interpreter failure (bad paths, bad values)."""
    return StatesError(RUNTIME, cause)


def query_evaluation_error(cause: str, location: str | None = None) -> StatesError:
    """`States.QueryEvaluationError`: a JSONata expression failed or returned a bad value."""
    return StatesError(QUERY_EVALUATION_ERROR, cause, location=location)


class DefinitionError(ValueError):
    """A static error in an expression found while compiling it (bad path or intrinsic syntax).

    The validator turns these into diagnostics; the compiler never sees one for a
    definition that validated.
    """
