"""State machine actions: Create, Describe, Update, Delete, List, DescribeStateMachineForExecution."""

from __future__ import annotations

import contextlib
from typing import Any, Final

from engine.server.arns import check_name, execution_arn, state_machine_arn
from engine.server.context import ServiceContext, load_definition, page_size, page_token, read_page_token
from engine.server.errors import ApiError, invalid_arn, machine_already_exists, validation
from engine.server.tags import tag_resource
from engine.shapes import (
    CreateStateMachineInput,
    ExecutionArnInput,
    PageInput,
    StateMachineArnInput,
    UpdateStateMachineInput,
)
from engine.store.errors import StateMachineDoesNotExist
from engine.store.records import StateMachineRecord, StateMachineType

#: Members whose difference makes a repeated CreateStateMachine a conflict (roleArn and tags do not).
_OPTION_NAMES: Final = ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration")
_DEFAULT_OPTIONS: Final[dict[str, Any]] = {
    "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
    "tracingConfiguration": {"enabled": False},
}


def create_state_machine(ctx: ServiceContext, req: CreateStateMachineInput) -> dict[str, Any]:
    name = check_name(req.name)
    _check_version_description(req.publish, req.versionDescription)
    _check_role(req.roleArn)
    machine_type = StateMachineType(req.type)
    load_definition(req.definition, express=machine_type is StateMachineType.EXPRESS)
    arn = ctx.partition.state_machine_arn(name)
    options = _options(req)
    with ctx.machines_lock:
        try:
            existing: StateMachineRecord | None = ctx.store.get_state_machine(arn)
        except StateMachineDoesNotExist:
            existing = None
        if existing is not None:
            same = (
                existing.definition == req.definition
                and existing.type is machine_type
                and ctx.meta.options(arn) == options
            )
            if not same:
                raise machine_already_exists(arn)
            return {"stateMachineArn": existing.arn, "creationDate": existing.creation_date}
        record = ctx.store.put_state_machine(
            name, req.definition, now=ctx.clock.now(), type=machine_type, role_arn=req.roleArn, arn=arn
        )
        if options:
            ctx.meta.set_options(arn, options)
        if req.tags:
            tag_resource(ctx, arn, req.tags)
    return {"stateMachineArn": record.arn, "creationDate": record.creation_date}


def describe_state_machine(ctx: ServiceContext, req: StateMachineArnInput) -> dict[str, Any]:
    arn = state_machine_arn(req.stateMachineArn)
    record = ctx.store.get_state_machine(arn.text)
    return _describe(ctx, record)


def update_state_machine(ctx: ServiceContext, req: UpdateStateMachineInput) -> dict[str, Any]:
    arn = state_machine_arn(req.stateMachineArn)
    if (
        req.definition is None
        and req.roleArn is None
        and req.loggingConfiguration is None
        and req.tracingConfiguration is None
    ):
        raise ApiError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration "
            "must be specified",
        )
    _check_version_description(req.publish, req.versionDescription)
    if req.roleArn is not None:
        _check_role(req.roleArn)
    with ctx.machines_lock:
        current = ctx.store.get_state_machine(arn.text)
        if req.definition is not None:
            load_definition(req.definition, express=current.type is StateMachineType.EXPRESS)
        record = ctx.store.put_state_machine(
            current.name,
            req.definition if req.definition is not None else current.definition,
            now=ctx.clock.now(),
            type=current.type,
            role_arn=req.roleArn or current.role_arn,
            arn=current.arn,
        )
        changed = {**ctx.meta.options(current.arn), **_options(req)}
        if changed != ctx.meta.options(current.arn):
            ctx.meta.set_options(current.arn, changed)
    unchanged = record.revision_id == current.revision_id
    return {
        "updateDate": ctx.clock.now() if unchanged else record.update_date,
        "revisionId": record.revision_id,
    }


def delete_state_machine(ctx: ServiceContext, req: StateMachineArnInput) -> dict[str, Any]:
    """Deleting a machine that does not exist succeeds, as on AWS; its executions stay readable."""
    arn = state_machine_arn(req.stateMachineArn)
    with ctx.machines_lock:
        with contextlib.suppress(StateMachineDoesNotExist):
            ctx.store.delete_state_machine(arn.text)
        ctx.meta.forget(arn.text)
    return {}


def list_state_machines(ctx: ServiceContext, req: PageInput) -> dict[str, Any]:
    position = read_page_token(req.nextToken)
    after = str(position.get("after", "")) if position else ""
    records = [r for r in ctx.store.list_state_machines() if r.name > after]
    size = page_size(req.maxResults)
    page = records[:size]
    out: dict[str, Any] = {
        "stateMachines": [
            {
                "stateMachineArn": r.arn,
                "name": r.name,
                "type": r.type.value,
                "creationDate": r.creation_date,
            }
            for r in page
        ]
    }
    if len(records) > size:
        out["nextToken"] = page_token({"after": page[-1].name})
    return out


def describe_state_machine_for_execution(ctx: ServiceContext, req: ExecutionArnInput) -> dict[str, Any]:
    """The machine at the revision the execution runs, even after an update or a delete."""
    arn = execution_arn(req.executionArn)
    execution = ctx.store.get_execution(arn.text)
    record = ctx.store.get_revision(execution.state_machine_arn, execution.revision_id)
    return {
        "stateMachineArn": record.arn,
        "name": record.name,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "updateDate": record.update_date,
        **_DEFAULT_OPTIONS,
        **{k: v for k, v in ctx.meta.options(record.arn).items() if k != "encryptionConfiguration"},
        "revisionId": record.revision_id,
    }


def _describe(ctx: ServiceContext, record: StateMachineRecord) -> dict[str, Any]:
    out = record.describe()
    out.update(ctx.meta.options(record.arn))
    return out


def _options(req: CreateStateMachineInput | UpdateStateMachineInput) -> dict[str, Any]:
    given = {name: getattr(req, name) for name in _OPTION_NAMES}
    return {name: value for name, value in given.items() if value is not None}


def _check_version_description(publish: bool, description: str | None) -> None:
    if description is not None and not publish:
        raise validation("Version description can only be set when publish is true")


def _check_role(role_arn: str) -> None:
    if not role_arn.startswith("arn:"):
        raise invalid_arn(role_arn, "Invalid ARN prefix")
