"""SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat: answers to `.waitForTaskToken` tasks.

The store records the answer exactly once and queues the execution; a worker of this
server (or any worker on the same store) resumes it.
"""

from __future__ import annotations

from typing import Any

from engine.callbacks import InvalidOutput, StoreCallbacks
from engine.server.context import ServiceContext
from engine.server.errors import ApiError
from engine.shapes import SendTaskFailureInput, SendTaskHeartbeatInput, SendTaskSuccessInput


def send_task_success(ctx: ServiceContext, req: SendTaskSuccessInput) -> dict[str, Any]:
    try:
        StoreCallbacks(ctx.store).send_task_success(req.taskToken, req.output, now=ctx.clock.now())
    except InvalidOutput as exc:
        raise ApiError("InvalidOutput", str(exc)) from None
    return {}


def send_task_failure(ctx: ServiceContext, req: SendTaskFailureInput) -> dict[str, Any]:
    StoreCallbacks(ctx.store).send_task_failure(req.taskToken, req.error, req.cause, now=ctx.clock.now())
    return {}


def send_task_heartbeat(ctx: ServiceContext, req: SendTaskHeartbeatInput) -> dict[str, Any]:
    StoreCallbacks(ctx.store).send_task_heartbeat(req.taskToken, now=ctx.clock.now())
    return {}
