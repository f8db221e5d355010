"""`statelane db migrate`: create or upgrade a store's schema before a fleet starts on it.

Stores migrate on first use anyway; an explicit step lets an operator upgrade a shared
PostgreSQL database once, at a moment of their choosing, instead of whichever worker
happens to start first after an upgrade.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app
from cli.run import _fail_usage

db_app = typer.Typer(name="db", help="Manage the durable store (schema migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("migrate")
def migrate_command(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Store URL (default .statelane/statelane.db, or STATELANE_DB)."),
    ] = None,
) -> None:
    """Create the store if it does not exist and bring its schema to this statelane's version."""
    from engine.store import open_store, resolve_url
    from engine.store.errors import StoreError

    url = resolve_url(db)
    try:
        if url.partition("://")[0].lower() in ("postgresql", "postgres"):
            try:
                from engine.store.postgres import migrate_database, parse_url
            except ImportError as exc:
                raise StoreError(str(exc)) from None
            before, after = migrate_database(url)
            shown = parse_url(url).display
        else:  # SQLite (and memory) stores migrate whenever they are opened
            from engine.store.sqlite_schema import LATEST_VERSION

            store = open_store(url)
            store.close()
            typer.echo(f"{store.url}: schema {LATEST_VERSION} (SQLite stores migrate whenever opened)")
            return
    except StoreError as exc:
        raise _fail_usage(str(exc)) from None
    if before == after:
        typer.echo(f"{shown}: schema {after}, up to date")
    elif before == 0:
        typer.echo(f"{shown}: created at schema {after}")
    else:
        typer.echo(f"{shown}: migrated from schema {before} to {after}")
