"""`statelane run`: run a state machine to completion in the foreground."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import app
from cli.options import (
    ConfigOption,
    DefinitionArg,
    InputFileOption,
    InputOption,
    LambdasOption,
    LiftLimitsOption,
    NameOption,
    StateMachineNameOption,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail_usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _read_input(input_json: str | None, input_file: Path | None) -> str | None:
    if input_json is not None and input_file is not None:
        raise _fail_usage("give either --input or --input-file, not both")
    if input_file is not None:
        try:
            return input_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise _fail_usage(f"cannot read input file {input_file}: {exc.strerror or exc}") from None
    if input_json is not None and input_json.startswith("@"):
        return _read_input(None, Path(input_json[1:]))
    return input_json


@app.command("run")
def run_command(
    definition: DefinitionArg,
    input_json: InputOption = None,
    input_file: InputFileOption = None,
    express: Annotated[bool, typer.Option("--express", help="Run as an Express workflow.")] = False,
    name: NameOption = None,
    state_machine_name: StateMachineNameOption = None,
    lambdas: LambdasOption = None,
    fast_forward: Annotated[
        bool, typer.Option("--fast-forward", help="Waits and retry back-off take no real time.")
    ] = False,
    lift_limits: LiftLimitsOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print DescribeExecution's JSON shape.")] = False,
    history: Annotated[bool, typer.Option("--history", help="With --json: add the history events.")] = False,
    mock_config: Annotated[
        Path | None,
        typer.Option(
            "--mock-config", help="Step Functions Local mock configuration file (default: SFN_MOCK_CONFIG)."
        ),
    ] = None,
    test_case: Annotated[
        str | None, typer.Option("--test-case", help="The mock configuration's test case to run.")
    ] = None,
    config_file: ConfigOption = None,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Express: append the execution's history events to FILE as JSON lines."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Store URL for standard executions (default .statelane/statelane.db, or STATELANE_DB).",
        ),
    ] = None,
) -> None:
    """Run DEFINITION to completion and print its output, or its error and cause.

    A standard execution is recorded in the store, transition by transition, so
    `statelane history` can show it and a worker can finish it if this process dies;
    an express execution stays in memory.
    """
    from asl.loader import LoadError
    from engine.api import InvalidDefinition, InvalidExecutionInput
    from engine.config import ConfigError
    from engine.handlers.lambda_local import LambdaSourceError
    from engine.handlers.mocks import MockConfigError
    from engine.handlers.registry import PluginError
    from engine.store.errors import StoreError

    try:
        text = definition.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail_usage(f"cannot read {definition}: {exc.strerror or exc}") from None
    input_text = _read_input(input_json, input_file)
    if definition.suffix.lower() in (".yaml", ".yml"):
        from asl import load

        with contextlib.suppress(LoadError):  # a bad file is reported below, with positions
            text = json.dumps(load(text, str(definition)).value)
    listener = None
    live = None
    if not as_json and sys.stdout.isatty():
        from cli.render import LiveRun

        live = LiveRun()
        listener = live.on_event
    try:
        if live is not None:
            live.start()
        execution = _execute(
            text,
            input_text,
            name=name,
            machine=state_machine_name or definition.stem,
            express=express,
            lambdas=lambdas,
            fast_forward=fast_forward,
            lift_limits=lift_limits,
            listener=listener,
            db=db,
            mock_config=mock_config,
            test_case=test_case,
            config_file=config_file,
        )
    except (InvalidDefinition, LoadError) as exc:
        if live is not None:
            live.stop()
        from cli.validate import report_definition

        report_definition(definition, text, as_json=as_json)
        if isinstance(exc, InvalidDefinition) and not as_json:
            typer.echo("nothing ran: the definition is invalid", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    except InvalidExecutionInput as exc:
        raise _fail_usage(str(exc)) from None
    except (LambdaSourceError, StoreError, ConfigError, MockConfigError, PluginError) as exc:
        raise _fail_usage(str(exc)) from None
    finally:
        if live is not None:
            live.stop()
    if log is not None:
        _append_log(log, execution)
    code = EXIT_OK if execution.status.value == "SUCCEEDED" else EXIT_FAILED
    if as_json:
        out: dict[str, Any] = execution.describe(iso_dates=True)
        if history:
            out["events"] = execution.history(iso_timestamps=True)
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        raise typer.Exit(code)
    from cli.render import print_result

    print_result(execution)
    raise typer.Exit(code)


def _execute(
    text: str,
    input_text: str | None,
    *,
    name: str | None,
    machine: str,
    express: bool,
    lambdas: list[str] | None,
    fast_forward: bool,
    lift_limits: bool,
    listener: Any,
    db: str | None,
    mock_config: Path | None = None,
    test_case: str | None = None,
    config_file: Path | None = None,
) -> Any:
    from engine.config import load_config
    from engine.handlers.registry import build_registry
    from engine.handlers.sns_local import local_handlers
    from engine.ids import IdSource
    from engine.store import Store, open_store

    stores: list[Store] = []

    def shared_store() -> Store:
        # One store per process (see SqliteStore._connect); an express run opens it only for a queue.
        if not stores:
            stores.append(open_store(db))
        return stores[0]

    ids = IdSource()
    local = local_handlers(shared_store, ids=ids)
    handlers = build_registry(
        load_config(config_file),
        lambdas=lambdas,
        mock_config=mock_config,
        test_case=test_case,
        state_machine_name=machine,
        ids=ids,
        local=local,
    )
    local.bind(handlers)
    try:
        return _execute_with(
            text,
            input_text,
            name=name,
            machine=machine,
            express=express,
            fast_forward=fast_forward,
            lift_limits=lift_limits,
            listener=listener,
            handlers=handlers,
            ids=ids,
            store=shared_store,
        )
    finally:
        for store in stores:
            store.close()


def _execute_with(
    text: str,
    input_text: str | None,
    *,
    name: str | None,
    machine: str,
    express: bool,
    fast_forward: bool,
    lift_limits: bool,
    listener: Any,
    handlers: Any,
    ids: Any,
    store: Any,
) -> Any:
    from engine.api import compile_machine, parse_input, run
    from engine.clock import RealClock, VirtualClock
    from engine.durable import DurableEngine

    if express:
        return run(
            text,
            input_text,
            name=name,
            state_machine_name=machine,
            express=True,
            handlers=handlers,
            fast_forward=fast_forward,
            lift_limits=lift_limits,
            listener=listener,
            ids=ids,
        )
    compile_machine(text)  # an invalid definition is refused before the store is touched
    parse_input(input_text, lift_limits=lift_limits)
    engine = DurableEngine(
        store=store(),
        handlers=handlers,
        clock=VirtualClock() if fast_forward else RealClock(),
        ids=ids,
        lift_limits=lift_limits,
    )
    record = engine.start(machine, text, input_text, name=name, queued=False)
    return engine.run_in_foreground(record, listener=listener)


def _append_log(path: Path, execution: Any) -> None:
    """Express executions are never stored; `--log` keeps their events, one JSON object a line."""
    try:
        with path.open("a", encoding="utf-8") as out:
            for event in execution.history(iso_timestamps=True):
                event["executionArn"] = execution.execution_arn
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise _fail_usage(f"cannot write the log {path}: {exc.strerror or exc}") from None
