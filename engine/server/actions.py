"""The Step Functions actions this server answers: name -> (request model, handler).

`call` is the whole API without HTTP: it checks the request against its model, runs
the action and turns whatever it raised into an `ApiError` with AWS's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from pydantic import BaseModel

from engine import shapes
from engine.server import executions, machines, tags, tasks, teststate, validation
from engine.server.context import ServiceContext
from engine.server.errors import ApiError, from_exception
from engine.server.requests import parse

Action = Callable[[ServiceContext, Any], dict[str, Any]]

ACTIONS: Final[Mapping[str, tuple[type[BaseModel], Action]]] = {
    "CreateStateMachine": (shapes.CreateStateMachineInput, machines.create_state_machine),
    "DescribeStateMachine": (shapes.StateMachineArnInput, machines.describe_state_machine),
    "UpdateStateMachine": (shapes.UpdateStateMachineInput, machines.update_state_machine),
    "DeleteStateMachine": (shapes.StateMachineArnInput, machines.delete_state_machine),
    "ListStateMachines": (shapes.PageInput, machines.list_state_machines),
    "DescribeStateMachineForExecution": (
        shapes.ExecutionArnInput,
        machines.describe_state_machine_for_execution,
    ),
    "StartExecution": (shapes.StartExecutionInput, executions.start_execution),
    "StartSyncExecution": (shapes.StartExecutionInput, executions.start_sync_execution),
    "DescribeExecution": (shapes.ExecutionArnInput, executions.describe_execution),
    "ListExecutions": (shapes.ListExecutionsInput, executions.list_executions),
    "GetExecutionHistory": (shapes.GetExecutionHistoryInput, executions.get_execution_history),
    "StopExecution": (shapes.StopExecutionInput, executions.stop_execution),
    "RedriveExecution": (shapes.RedriveExecutionInput, executions.redrive_execution),
    "SendTaskSuccess": (shapes.SendTaskSuccessInput, tasks.send_task_success),
    "SendTaskFailure": (shapes.SendTaskFailureInput, tasks.send_task_failure),
    "SendTaskHeartbeat": (shapes.SendTaskHeartbeatInput, tasks.send_task_heartbeat),
    "ValidateStateMachineDefinition": (
        shapes.ValidateStateMachineDefinitionInput,
        validation.validate_state_machine_definition,
    ),
    "TestState": (shapes.TestStateInput, teststate.test_state),
    "TagResource": (shapes.TagResourceInput, tags.tag_resource_action),
    "UntagResource": (shapes.UntagResourceInput, tags.untag_resource_action),
    "ListTagsForResource": (shapes.ResourceArnInput, tags.list_tags_for_resource),
}

#: Actions that may run for minutes: they get their own threads so they never starve the others.
LONG_RUNNING: Final = frozenset({"StartSyncExecution", "TestState"})


def unknown_operation(action: str) -> ApiError:
    return ApiError("UnknownOperationException", f"Unknown operation: '{action}'")


def call(ctx: ServiceContext, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Run `action` with request `body`; raises ApiError (never anything else)."""
    found = ACTIONS.get(action)
    if found is None:
        raise unknown_operation(action)
    model, handler = found
    try:
        return handler(ctx, parse(model, body))
    except Exception as exc:
        raise from_exception(exc) from exc
