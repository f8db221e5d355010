"""The typer application. Commands live in their own modules and import heavy
dependencies inside the command body, so `statelane validate` starts fast enough to
run on every save."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="statelane",
    help="Validate, run and inspect AWS Step Functions (Amazon States Language) state machines locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each module adds its commands to `app` on import.
    from cli import run as _run  # noqa: F401
    from cli import validate as _validate  # noqa: F401


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
