"""`statelane start` and `statelane worker`: queue standard executions, and run them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.app import app
from cli.options import (
    ConfigOption,
    DbOption,
    DefinitionArg,
    InputFileOption,
    InputOption,
    LambdasOption,
    LiftLimitsOption,
    NameOption,
    SpreadBranchesOption,
    StateMachineNameOption,
)
from cli.run import EXIT_FAILED, _fail_usage, _read_input

if TYPE_CHECKING:
    from engine.callbacks import StoreCallbacks


@app.command("start")
def start_command(
    definition: DefinitionArg,
    input_json: InputOption = None,
    input_file: InputFileOption = None,
    name: NameOption = None,
    state_machine_name: StateMachineNameOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print StartExecution's response shape.")] = False,
) -> None:
    """Register DEFINITION and queue a standard execution; print its ARN and return at once."""
    from asl import load
    from asl.loader import LoadError
    from engine.api import InvalidDefinition, InvalidExecutionInput
    from engine.durable import DurableEngine
    from engine.handlers.base import HandlerRegistry
    from engine.history import iso_format
    from engine.store import open_store
    from engine.store.errors import StoreError

    try:
        text = definition.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail_usage(f"cannot read {definition}: {exc.strerror or exc}") from None
    input_text = _read_input(input_json, input_file)
    try:
        document = load(text, str(definition))
        text = json.dumps(document.value) if definition.suffix.lower() in (".yaml", ".yml") else text
        store = open_store(db)
        try:
            engine = DurableEngine(store=store, handlers=HandlerRegistry())
            record = engine.start(state_machine_name or definition.stem, text, input_text, name=name)
        finally:
            store.close()
    except (InvalidDefinition, LoadError):
        from cli.validate import report_definition

        report_definition(definition, text, as_json=as_json)
        raise typer.Exit(EXIT_FAILED) from None
    except (InvalidExecutionInput, StoreError) as exc:
        raise _fail_usage(str(exc)) from None
    if as_json:
        sys.stdout.write(
            json.dumps({"executionArn": record.arn, "startDate": iso_format(record.start_date)}) + "\n"
        )
    else:
        typer.echo(record.arn)


@app.command("worker")
def worker_command(
    lambdas: LambdasOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Executions run at once.")
    ] = 4,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Exit once nothing is running, queued or waiting on a timer."),
    ] = False,
    db: DbOption = None,
    lease_seconds: Annotated[float, typer.Option("--lease-seconds", min=1.0, help="Lease period.")] = 30.0,
    lift_limits: LiftLimitsOption = False,
    park_after: Annotated[
        float,
        typer.Option(
            "--park-after", min=0.0, help="Park executions whose next timer is further away (seconds)."
        ),
    ] = 2.0,
    config_file: ConfigOption = None,
    spread_branches: SpreadBranchesOption = None,
) -> None:
    """Run queued, parked and orphaned standard executions from the store until stopped."""
    from engine.config import ConfigError, load_config
    from engine.durable import DurableEngine, default_worker_id, run_workers, spreads_branches
    from engine.handlers.lambda_local import LambdaSourceError
    from engine.handlers.registry import PluginError, build_registry
    from engine.handlers.sns_local import local_handlers
    from engine.ids import IdSource
    from engine.store import open_store
    from engine.store.errors import StoreError

    try:
        store = open_store(db)
        ids = IdSource()
        local = local_handlers(store, ids=ids)
        handlers = build_registry(load_config(config_file), lambdas=lambdas, ids=ids, local=local)
        local.bind(handlers)
    except (LambdaSourceError, StoreError, ConfigError, PluginError) as exc:
        raise _fail_usage(str(exc)) from None
    base = default_worker_id()
    spread = spreads_branches(store, spread_branches)

    def make(index: int) -> DurableEngine:
        return DurableEngine(
            store=store,
            handlers=handlers,
            worker_id=f"{base}#{index}",
            lease_seconds=lease_seconds,
            lift_limits=lift_limits,
            park_after=park_after,
            spread_branches=spread,
        )

    typer.echo(f"worker {base}: {concurrency} at a time on {store.url}", err=True)
    try:
        run_workers(make, concurrency=concurrency, until_idle=until_idle)
    except KeyboardInterrupt:
        typer.echo("worker stopped; running executions resume on the next start", err=True)
    finally:
        store.close()


def _control(db: str | None) -> Any:
    from engine.durable import DurableEngine
    from engine.handlers.base import HandlerRegistry
    from engine.store import open_store

    store = open_store(db)
    return store, DurableEngine(store=store, handlers=HandlerRegistry())


@app.command("stop")
def stop_command(
    execution: Annotated[str, typer.Argument(help="Execution ARN, name or unambiguous name prefix.")],
    error: Annotated[str | None, typer.Option("--error", help="Error name to record.")] = None,
    cause: Annotated[str | None, typer.Option("--cause", help="Cause to record.")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print StopExecution's response shape.")] = False,
) -> None:
    """StopExecution: end a running standard execution as ABORTED."""
    from engine.history import iso_format
    from engine.store.errors import StoreError

    try:
        store, engine = _control(db)
        try:
            record = engine.stop(execution, error=error, cause=cause)
        finally:
            store.close()
    except StoreError as exc:
        raise _fail_usage(str(exc)) from None
    stop_date = iso_format(record.stop_date or 0.0)
    if as_json:
        sys.stdout.write(json.dumps({"stopDate": stop_date}) + "\n")
    else:
        typer.echo(f"{record.name}: ABORTED at {stop_date}")


@app.command("redrive")
def redrive_command(
    execution: Annotated[str, typer.Argument(help="Execution ARN, name or unambiguous name prefix.")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print RedriveExecution's response shape.")] = False,
) -> None:
    """RedriveExecution: queue a FAILED, TIMED_OUT or ABORTED execution to resume from where it failed."""
    from engine.history import iso_format
    from engine.store.errors import StoreError

    try:
        store, engine = _control(db)
        try:
            record = engine.redrive(execution)
        finally:
            store.close()
    except StoreError as exc:
        raise _fail_usage(str(exc)) from None
    redrive_date = iso_format(record.redrive_date or 0.0)
    if as_json:
        sys.stdout.write(json.dumps({"redriveDate": redrive_date}) + "\n")
    else:
        typer.echo(f"{record.name}: redriven (redrive {record.redrive_count}); a worker will resume it")


def _answer(db: str | None, send: Callable[[StoreCallbacks], None]) -> None:
    from engine.callbacks import StoreCallbacks
    from engine.store import open_store
    from engine.store.errors import StoreError

    try:
        store = open_store(db)
        try:
            send(StoreCallbacks(store))
        finally:
            store.close()
    except StoreError as exc:
        raise _fail_usage(str(exc)) from None


@app.command("send-task-success")
def send_task_success_command(
    token: Annotated[str, typer.Argument(help="The task token the execution handed out.")],
    output: Annotated[str, typer.Option("--output", help="The task's result, as JSON text.")] = "{}",
    db: DbOption = None,
) -> None:
    """SendTaskSuccess: complete a `.waitForTaskToken` task with OUTPUT."""
    _answer(db, lambda answer: answer.send_task_success(token, output))


@app.command("send-task-failure")
def send_task_failure_command(
    token: Annotated[str, typer.Argument(help="The task token the execution handed out.")],
    error: Annotated[str | None, typer.Option("--error", help="Error name.")] = None,
    cause: Annotated[str | None, typer.Option("--cause", help="Cause text.")] = None,
    db: DbOption = None,
) -> None:
    """SendTaskFailure: fail a `.waitForTaskToken` task with ERROR and CAUSE."""
    _answer(db, lambda answer: answer.send_task_failure(token, error, cause))


@app.command("send-task-heartbeat")
def send_task_heartbeat_command(
    token: Annotated[str, typer.Argument(help="The task token the execution handed out.")],
    db: DbOption = None,
) -> None:
    """SendTaskHeartbeat: tell a task with HeartbeatSeconds that its worker is still at it."""
    _answer(db, lambda answer: answer.send_task_heartbeat(token))
