"""The task-handler protocol: how a Task state's Resource gets its work done.

A handler is found by resource ARN. The interpreter owns everything around the
call (events, timeouts, retries); a handler only turns an effective input into a
result, or raises `asl.errors.StatesError` with the error and cause AWS would
report for that service.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from asl.errors import StatesError


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """Everything a handler may need for one invocation."""

    resource: str
    parameters: Any
    state_name: str
    execution_arn: str
    #: Stable across re-invocations after a crash: execution ARN + the state's entered-event id.
    idempotency_key: str
    region: str
    timeout_seconds: float | None = None
    task_token: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


class TaskHandler(Protocol):
    """One backend for one family of resources."""

    def handles(self, resource: str) -> bool:
        """Whether this handler serves `resource`."""
        ...

    def invoke(self, request: TaskRequest) -> Any:
        """Do the work and return the task result (a JSON value), or raise StatesError."""
        ...


def handler_failure(exc: BaseException) -> StatesError:
    """The error a task fails with when its handler raised `exc`: its own StatesError, or, for
    anything else (a handler bug), States.TaskFailed naming the exception, so a bug never
    crashes the engine."""
    if isinstance(exc, StatesError):
        return exc
    return StatesError("States.TaskFailed", f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """How a resource shows up in the history: legacy Lambda events or `Task*` events."""

    legacy_lambda: bool
    resource_type: str
    resource: str
    wait_for_task_token: bool
    sync: bool


@functools.lru_cache(maxsize=1024)
def classify(resource: str) -> ResourceKind:
    """Split a resource ARN the way AWS's history does (`lambda` / `invoke`)."""
    if ":lambda:" in resource and ":function:" in resource and not resource.startswith("arn:aws:states:::"):
        return ResourceKind(True, "lambda", resource, False, False)
    tail = resource.split(":::", 1)[1] if ":::" in resource else resource
    service, _, api = tail.partition(":")
    return ResourceKind(
        legacy_lambda=False,
        resource_type=service,
        resource=api,
        wait_for_task_token=api.endswith(".waitForTaskToken"),
        sync=".sync" in api,
    )


class HandlerRegistry:
    """Handlers in priority order; the first that handles a resource serves it."""

    def __init__(self, handlers: list[TaskHandler] | None = None) -> None:
        self._handlers: list[TaskHandler] = list(handlers or [])

    def register(self, handler: TaskHandler, *, first: bool = False) -> None:
        if first:
            self._handlers.insert(0, handler)
        else:
            self._handlers.append(handler)

    def resolve(self, resource: str) -> TaskHandler:
        for handler in self._handlers:
            if handler.handles(resource):
                return handler
        raise StatesError(
            "States.Runtime",
            f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
            "or the resource is not available in this region.",
        )
