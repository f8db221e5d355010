"""The typer application. Commands live in their own modules and import heavy
dependencies inside the command body, so `statelane validate` starts fast enough to
run on every save."""

from __future__ import annotations

import gc
import os
import sys

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
    from cli import db as _db  # noqa: F401
    from cli import inspect as _inspect  # noqa: F401
    from cli import queues as _queues  # noqa: F401
    from cli import run as _run  # noqa: F401
    from cli import serve as _serve  # noqa: F401
    from cli import validate as _validate  # noqa: F401
    from cli import worker as _worker  # noqa: F401


EXIT_INTERNAL = 3


def main() -> None:
    _register()
    # A command is a short-lived process: keep the imported modules out of the cyclic
    # collector's way, and let it run less often (finished executions are freed in bulk).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # a bug of ours: say so in one line, never a traceback
        sys.stderr.write(
            f"statelane: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in statelane; set STATELANE_DEBUG=1 to see the traceback.\n"
        )
        if os.environ.get("STATELANE_DEBUG"):
            raise
        raise SystemExit(EXIT_INTERNAL) from None


if __name__ == "__main__":
    main()
