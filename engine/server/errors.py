"""API errors as AWS sends them: an error code, a message, an HTTP status.

Every failure an action can meet becomes one `ApiError` here, at the edge, so the
wire always carries `{"__type": "<Code>", "message": "..."}` with a code botocore
knows (`client.exceptions.ExecutionDoesNotExist`, ...). The store's exceptions
already carry AWS codes (`.code`); engine exceptions are mapped by type.
"""

from __future__ import annotations

from typing import Final

from asl.loader import LoadError
from engine.api import InvalidDefinition, InvalidExecutionInput
from engine.callbacks import InvalidOutput
from engine.store.errors import (
    AmbiguousExecution,
    ConflictError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StoreBusy,
    StoreError,
    TaskTokenError,
)

#: Store failures whose message is already AWS's text.
_STORE_CODES_AS_IS: Final = (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    StateMachineDoesNotExist,
    TaskTokenError,
    AmbiguousExecution,
)

TYPE_NOT_SUPPORTED: Final = "This operation is not supported by this type of state machine"


class ApiError(Exception):
    """An error response: `code` is the `__type` AWS sends, `status` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


def invalid_arn(value: str, reason: str | None = None) -> ApiError:
    """`InvalidArn` with AWS's wording: the prefix, the resource type, or the whole value."""
    if reason is None:
        return ApiError("InvalidArn", f"Invalid Arn: '{value}'")
    return ApiError("InvalidArn", f"Invalid Arn: '{reason}: {value}'")


def type_not_supported() -> ApiError:
    return ApiError("StateMachineTypeNotSupported", TYPE_NOT_SUPPORTED)


def machine_already_exists(arn: str) -> ApiError:
    return ApiError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def from_exception(exc: BaseException) -> ApiError:
    """The API error for anything an action raised; unknown exceptions are our bugs (500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidDefinition):
        return ApiError("InvalidDefinition", str(exc))
    if isinstance(exc, LoadError):
        return from_exception(InvalidDefinition([exc.diagnostic]))
    if isinstance(exc, InvalidExecutionInput):
        return ApiError("InvalidExecutionInput", str(exc))
    if isinstance(exc, InvalidOutput):
        return ApiError("InvalidOutput", str(exc))
    if isinstance(exc, StateMachineAlreadyExists):
        return machine_already_exists(exc.arn)
    if isinstance(exc, _STORE_CODES_AS_IS):
        return ApiError(exc.code, str(exc))
    if isinstance(exc, StoreBusy):
        return ApiError("ThrottlingException", f"Rate exceeded: {exc}")
    if isinstance(exc, ConflictError):
        return ApiError("ConflictException", str(exc))
    if isinstance(exc, StoreError):
        return ApiError("InternalFailure", f"The store failed: {exc}", 500)
    return ApiError("InternalFailure", f"statelane internal error: {type(exc).__name__}: {exc}", 500)
