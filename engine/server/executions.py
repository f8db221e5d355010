"""Execution actions: Start, StartSync, Describe, List, GetExecutionHistory, Stop, Redrive.

Standard executions go to the store, queued for the server's workers (or any other
worker on the same store). Express executions never touch the store: StartSyncExecution
runs one in the calling thread and answers with its outcome; StartExecution on an express
machine runs it in the background and answers at once, as AWS's asynchronous express does.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Final

from engine.api import parse_input, run
from engine.execution import Execution
from engine.handlers.mocks import split_test_case
from engine.ids import IdSource
from engine.map_runs import map_run_executions
from engine.server.arns import check_name, execution_arn, parse_arn, state_machine_arn
from engine.server.context import ServiceContext, page_size, page_token, read_page_token
from engine.server.errors import ApiError, type_not_supported, validation
from engine.shapes import (
    ExecutionArnInput,
    GetExecutionHistoryInput,
    ListExecutionsInput,
    RedriveExecutionInput,
    StartExecutionInput,
    StopExecutionInput,
)
from engine.store.errors import ExecutionNotRunning, StateMachineDoesNotExist
from engine.store.records import ExecutionStatus, StateMachineRecord, StateMachineType

log = logging.getLogger("statelane.server")

#: Detail members that carry execution data (left out with includeExecutionData=false).
_DATA_MEMBERS: Final = ("input", "output", "parameters")
#: The lease holder that queues a mocked execution once its test case is recorded.
_API_WORKER: Final = "statelane-api"
#: What AWS bills a synchronous express execution for at least (observed: 64 MB, 100 ms steps).
_BILLED_MEMORY_MB: Final = 64


def start_execution(ctx: ServiceContext, req: StartExecutionInput) -> dict[str, Any]:
    machine, name, input_text, test_case = _prepare_start(ctx, req)
    if machine.type is StateMachineType.EXPRESS:
        return _start_express_async(ctx, machine, name, input_text, test_case)
    if test_case is None:
        started = ctx.store.start_execution(machine.arn, name, input_text, now=ctx.clock.now(), queued=True)
        return {"executionArn": started.execution.arn, "startDate": started.execution.start_date}
    # Record the test case before any worker can claim the execution, then queue it.
    now = ctx.clock.now()
    started = ctx.store.start_execution(machine.arn, name, input_text, now=now, queued=False)
    record = started.execution
    if started.created:
        ctx.meta.set_test_case(record.arn, test_case)
        ctx.store.acquire(_API_WORKER, record.arn, lease_seconds=60, now=now)
        ctx.store.release(_API_WORKER, record.arn, wake_at=now)
    return {"executionArn": record.arn, "startDate": record.start_date}


def start_sync_execution(ctx: ServiceContext, req: StartExecutionInput) -> dict[str, Any]:
    """Run an express execution to its end here; HTTP 200 whatever its outcome (it is in `status`)."""
    machine, name, input_text, test_case = _prepare_start(ctx, req)
    if machine.type is not StateMachineType.EXPRESS:
        raise type_not_supported()
    execution = _run_express(ctx, machine, name, input_text, IdSource(), test_case)
    out = execution.describe()
    out.pop("redriveCount", None)
    if req.includedData == "METADATA_ONLY":
        for member in ("input", "output"):
            out.pop(member, None)
        out["inputDetails"] = {"included": False}
        if "outputDetails" in out:
            out["outputDetails"] = {"included": False}
    elapsed_ms = max(0.0, ((execution.stop_date or execution.start_date) - execution.start_date) * 1000)
    out["billingDetails"] = {
        "billedMemoryUsedInMB": _BILLED_MEMORY_MB,
        "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100),
    }
    if req.traceHeader is not None:
        out["traceHeader"] = req.traceHeader
    return out


def describe_execution(ctx: ServiceContext, req: ExecutionArnInput) -> dict[str, Any]:
    arn = execution_arn(req.executionArn)
    out = ctx.store.get_execution(arn.text).describe()
    if req.includedData == "METADATA_ONLY":
        out.pop("input", None)
        out.pop("output", None)
        out["inputDetails"] = {"included": False}
        if "outputDetails" in out:
            out["outputDetails"] = {"included": False}
    return out


def list_executions(ctx: ServiceContext, req: ListExecutionsInput) -> dict[str, Any]:
    """Newest first; filters by status and by whether an execution was redriven. With a mapRunArn:
    the Map Run's child executions."""
    status = ExecutionStatus(req.statusFilter) if req.statusFilter else None
    if req.stateMachineArn is None:
        if req.mapRunArn is None:
            raise validation("Must provide a StateMachine ARN or MapRun ARN")
        map_run = parse_arn(req.mapRunArn, "mapRun")
        try:
            records = map_run_executions(ctx.store, map_run.text)
        except StateMachineDoesNotExist:
            records = []
        if not records:  # a run with no child is one this store never ran
            raise ApiError("ResourceNotFound", f"Resource not found: '{map_run.text}'")
        records = [r for r in records if status is None or r.status is status]
    else:
        machine = ctx.store.get_state_machine(state_machine_arn(req.stateMachineArn).text)
        if machine.type is StateMachineType.EXPRESS:
            raise type_not_supported()
        records = ctx.store.list_executions(status=status, state_machine=machine.arn)
    if req.redriveFilter is not None:
        redriven = req.redriveFilter == "REDRIVEN"
        records = [r for r in records if (r.redrive_count > 0) is redriven]
    position = read_page_token(req.nextToken)
    if position is not None:
        after = (float(position.get("start", 0.0)), str(position.get("arn", "")))
        # Newest first, ties broken by ARN: the page resumes strictly after the last item shown.
        records = [r for r in records if (r.start_date, r.arn) < after]
    size = page_size(req.maxResults)
    page = records[:size]
    out: dict[str, Any] = {"executions": [r.list_item() for r in page]}
    if req.mapRunArn is not None and req.stateMachineArn is None:
        for item in out["executions"]:  # AWS returns it when the request named the Map Run
            item["mapRunArn"] = req.mapRunArn
    if len(records) > size:
        out["nextToken"] = page_token({"start": page[-1].start_date, "arn": page[-1].arn})
    return out


def get_execution_history(ctx: ServiceContext, req: GetExecutionHistoryInput) -> dict[str, Any]:
    arn = execution_arn(req.executionArn).text
    ctx.store.get_execution(arn)  # ExecutionDoesNotExist before anything else
    position = read_page_token(req.nextToken)
    size = page_size(req.maxResults)
    bound = int(position.get("id", 0)) if position else 0
    if req.reverseOrder:
        events = ctx.store.get_history(arn, before_id=bound or None, limit=size + 1, reverse=True)
    else:
        events = ctx.store.get_history(arn, after_id=bound, limit=size + 1)
    out: dict[str, Any] = {"events": events[:size]}
    if len(events) > size:
        out["nextToken"] = page_token({"id": events[size - 1]["id"]})
    if not req.includeExecutionData:
        out["events"] = [_without_data(event) for event in out["events"]]
    return out


def stop_execution(ctx: ServiceContext, req: StopExecutionInput) -> dict[str, Any]:
    """ABORTED with an ExecutionAborted event; stopping a closed execution answers its stop date."""
    arn = execution_arn(req.executionArn).text
    try:
        record = ctx.engine.stop(arn, error=req.error, cause=req.cause)
    except ExecutionNotRunning:
        record = ctx.store.get_execution(arn)
    return {"stopDate": record.stop_date}


def redrive_execution(ctx: ServiceContext, req: RedriveExecutionInput) -> dict[str, Any]:
    arn = execution_arn(req.executionArn).text
    record = ctx.engine.redrive(arn)
    return {"redriveDate": record.redrive_date}


# ------------------------------------------------------------------ helpers


def _prepare_start(
    ctx: ServiceContext, req: StartExecutionInput
) -> tuple[StateMachineRecord, str, str, str | None]:
    """(machine, execution name, input, test case): Step Functions Local's `<arn>#<TestCase>`
    names a test case of the server's mock configuration."""
    machine_arn, test_case = split_test_case(req.stateMachineArn)
    arn = state_machine_arn(machine_arn)
    name = check_name(req.name) if req.name is not None else ctx.ids.uuid4()
    input_text, _ = parse_input(req.input if req.input is not None else "{}", lift_limits=ctx.lift_limits)
    machine = ctx.store.get_state_machine(arn.text)
    if test_case is not None:
        ctx.mocked_handlers(machine.name, test_case)  # an unknown test case fails the start
    return machine, name, input_text, test_case


def _start_express_async(
    ctx: ServiceContext, machine: StateMachineRecord, name: str, input_text: str, test_case: str | None
) -> dict[str, Any]:
    ids = _PresetRunId(ctx.ids.uuid4())
    arn = ctx.partition.express_execution_arn(machine.name, name, ids.run_id)
    start = ctx.clock.now()

    def work() -> None:
        try:
            execution = _run_express(ctx, machine, name, input_text, ids, test_case)
            log.info("express execution %s ended %s", execution.execution_arn, execution.status.value)
        except Exception:
            log.exception("express execution %s could not run", arn)

    ctx.express_pool.submit(work)
    return {"executionArn": arn, "startDate": start}


def _run_express(
    ctx: ServiceContext,
    machine: StateMachineRecord,
    name: str,
    input_text: str,
    ids: IdSource,
    test_case: str | None = None,
) -> Execution:
    return run(
        machine.definition,
        input_text,
        name=name,
        state_machine_name=machine.name,
        express=True,
        handlers=ctx.handlers if test_case is None else ctx.mocked_handlers(machine.name, test_case),
        clock=ctx.clock,
        ids=ids,
        partition=ctx.partition,
        lift_limits=ctx.lift_limits,
    )


class _PresetRunId(IdSource):
    """Hands out a chosen UUID first: the run id of the express ARN StartExecution already answered."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self._pending: str | None = run_id

    def uuid4(self) -> str:
        if self._pending is not None:
            first, self._pending = self._pending, None
            return first
        return super().uuid4()


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _DATA_MEMBERS}
        out[key] = value
    return out
