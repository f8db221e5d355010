"""SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat: answers to `.waitForTaskToken` tasks.

The store records the answer exactly once and queues the execution; a worker of this
server (or any worker on the same store) resumes it.
"""

from __future__ import annotations

import json
from typing import Any

from engine.server.context import ServiceContext
from engine.server.errors import ApiError
from engine.shapes import SendTaskFailureInput, SendTaskHeartbeatInput, SendTaskSuccessInput
from engine.store.records import TaskOutcome


def send_task_success(ctx: ServiceContext, req: SendTaskSuccessInput) -> dict[str, Any]:
    try:
        json.loads(req.output)
    except ValueError as exc:
        raise ApiError("InvalidOutput", f"Invalid Output: '{exc}'") from None
    ctx.store.complete_task_token(req.taskToken, TaskOutcome.success(req.output), now=ctx.clock.now())
    return {}


def send_task_failure(ctx: ServiceContext, req: SendTaskFailureInput) -> dict[str, Any]:
    outcome = TaskOutcome.failure(req.error, req.cause)
    ctx.store.complete_task_token(req.taskToken, outcome, now=ctx.clock.now())
    return {}


def send_task_heartbeat(ctx: ServiceContext, req: SendTaskHeartbeatInput) -> dict[str, Any]:
    ctx.store.heartbeat_task_token(req.taskToken, now=ctx.clock.now())
    return {}
