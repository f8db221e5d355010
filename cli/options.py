"""Options several commands share, declared once so their flags and help read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DefinitionArg = Annotated[Path, typer.Argument(help="State machine definition (JSON or YAML).")]
InputOption = Annotated[
    str | None, typer.Option("--input", "-i", help="Execution input as JSON text, or @FILE.")
]
InputFileOption = Annotated[
    Path | None, typer.Option("--input-file", help="File holding the execution input.")
]
NameOption = Annotated[str | None, typer.Option("--name", help="Execution name (default: a UUID).")]
StateMachineNameOption = Annotated[
    str | None,
    typer.Option("--state-machine-name", help="State machine name (default: the file's stem)."),
]
LambdasOption = Annotated[
    list[str] | None,
    typer.Option("--lambdas", help="Python file or module whose functions stand in for Lambda functions."),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (default .statelane/statelane.db, or STATELANE_DB)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="statelane.toml to use (default: found from the working directory)."),
]
LiftLimitsOption = Annotated[
    bool, typer.Option("--lift-limits", help="Lift AWS's payload and history quotas (say so explicitly).")
]
SpreadBranchesOption = Annotated[
    bool | None,
    typer.Option(
        "--spread-branches/--no-spread-branches",
        help="Post the Task invocations of Parallel branches for any worker of the fleet to run "
        "(default: on for PostgreSQL, off for SQLite).",
        show_default=False,
    ),
]
