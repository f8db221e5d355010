"""`statelane serve`: the Step Functions API over HTTP, for boto3, the AWS CLI and the SDKs."""

from __future__ import annotations

import contextlib
import os
from typing import Annotated

import typer

from cli.app import app
from cli.options import ConfigOption, DbOption, LambdasOption, SpreadBranchesOption
from cli.run import _fail_usage


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless told).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8083,
    db: DbOption = None,
    lambdas: LambdasOption = None,
    config_file: ConfigOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=0, help="Worker loops running standard executions.")
    ] = 4,
    auth: Annotated[
        str | None,
        typer.Option("--auth", help="ACCESS_KEY:SECRET: accept only requests SigV4-signed with this key."),
    ] = None,
    lift_limits: Annotated[
        bool, typer.Option("--lift-limits", help="Lift AWS's payload and history quotas.")
    ] = False,
    mock_config: Annotated[
        str | None,
        typer.Option(
            "--mock-config",
            help="Step Functions Local mock configuration (default: SFN_MOCK_CONFIG); start executions "
            "on STATE_MACHINE_ARN#TEST_CASE to use one of its test cases.",
        ),
    ] = None,
    spread_branches: SpreadBranchesOption = None,
) -> None:
    """Serve the AWS Step Functions API (JSON 1.0) and run the executions it starts.

    Point any AWS SDK at it with endpoint_url http://HOST:PORT. Standard executions
    live in the store: stop the server with Ctrl-C and they resume on the next start.
    """
    from engine.config import ConfigError, load_config
    from engine.handlers.lambda_local import LambdaSourceError
    from engine.handlers.mocks import MOCK_CONFIG_ENV, MockConfigError
    from engine.handlers.registry import PluginError
    from engine.server import Credentials, ServerOptions, StatelaneServer
    from engine.store.errors import StoreError

    try:
        credentials = Credentials.parse(auth) if auth is not None else None
    except ValueError as exc:
        raise _fail_usage(str(exc)) from None
    options = ServerOptions(
        host=host,
        port=port,
        db=db,
        lambdas=lambdas,
        concurrency=concurrency,
        credentials=credentials,
        lift_limits=lift_limits,
        mock_config=mock_config or os.environ.get(MOCK_CONFIG_ENV) or None,
        spread_branches=spread_branches,
    )
    try:
        options.config = load_config(config_file)
        server = StatelaneServer(options)
    except (ConfigError, LambdaSourceError, MockConfigError, PluginError, StoreError) as exc:
        raise _fail_usage(str(exc)) from None
    except OSError as exc:  # the port is taken, or the address is not ours
        raise _fail_usage(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    workers = f"{concurrency} worker loop{'s' if concurrency != 1 else ''}" if concurrency else "no workers"
    auth_note = "SigV4 checked" if credentials else "any signature accepted"
    typer.echo(f"statelane serve: listening on {server.url} ({server.store.url}; {workers}; {auth_note})")
    typer.echo("Ctrl-C stops; running standard executions resume on the next start", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    typer.echo("statelane serve: stopped", err=True)
