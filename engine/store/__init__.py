"""The durable store of standard executions, chosen by URL.

    open_store()                          STATELANE_DB, else ./.statelane/statelane.db
    open_store("sqlite:///relative.db")   relative to the working directory
    open_store("sqlite:////abs/path.db")  absolute (four slashes, as SQLAlchemy writes it)
    open_store("/abs/path.db")            a plain path works too
    open_store("memory://")               nothing written anywhere
    open_store("postgresql://u@host/db")  PostgreSQL, for a fleet (`pip install statelane[postgres]`);
                                          `?schema=NAME` (default statelane), `?pool_max=N`, libpq options

SQLite URLs take options as a query: `?busy_timeout=5` (seconds), `?mode=ro`,
`?synchronous=FULL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs

from engine.ids import IdSource
from engine.store.base import *  # noqa: F403  (the protocol, records and errors are this package's API)
from engine.store.base import Store, StoreError
from engine.store.base import __all__ as _base_all
from engine.store.memory import MemoryStore
from engine.store.sqlite import DEFAULT_BUSY_TIMEOUT, SqliteStore

ENV_VAR: Final = "STATELANE_DB"
DEFAULT_PATH: Final = Path(".statelane") / "statelane.db"

__all__ = [*_base_all, "DEFAULT_PATH", "ENV_VAR", "MemoryStore", "SqliteStore", "open_store", "resolve_url"]


def resolve_url(url: str | None = None) -> str:
    """The URL a store is opened from: the argument, else STATELANE_DB, else the default file."""
    chosen = url or os.environ.get(ENV_VAR) or ""
    return chosen.strip() or "sqlite:///" + str(DEFAULT_PATH)


def open_store(
    url: str | None = None, *, create: bool = True, read_only: bool = False, ids: IdSource | None = None
) -> Store:
    """Open (and, unless `create=False`, create and migrate) the store at `url`; see the module doc.

    `read_only` opens a SQLite store for reading only (as `?mode=ro` does): inspecting a
    store in a directory one may not write to.
    """
    chosen = resolve_url(url)
    scheme, sep, rest = chosen.partition("://")
    if not sep:
        return SqliteStore(chosen, create=create and not read_only, read_only=read_only, ids=ids)
    scheme = scheme.lower()
    if scheme == "memory":
        return MemoryStore(ids=ids)
    if scheme in ("postgresql", "postgres"):
        try:
            from engine.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(str(exc)) from None
        return PostgresStore(chosen, create=create and not read_only, read_only=read_only, ids=ids)
    if scheme != "sqlite":
        raise StoreError(
            f"unknown store URL {chosen!r}; expected sqlite:///path.db, memory:// or postgresql://..."
        )
    location, _, query = rest.partition("?")
    if not location.startswith("/") or location == "/":
        raise StoreError(
            f"store URL {chosen!r} names no file; write sqlite:///relative.db or sqlite:////abs/path.db"
        )
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = sorted(set(options) - {"busy_timeout", "mode", "synchronous"})
    if unknown:
        raise StoreError(f"unknown option(s) {', '.join(unknown)} in store URL {chosen!r}")
    try:
        busy_timeout = float(options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT))
    except ValueError:
        raise StoreError(f"busy_timeout in {chosen!r} must be a number of seconds") from None
    mode = options.get("mode", "ro" if read_only else "rwc")
    if mode not in ("ro", "rw", "rwc"):
        raise StoreError(f"mode in {chosen!r} must be ro, rw or rwc")
    return SqliteStore(
        location[1:],  # sqlite:///rel.db -> rel.db; sqlite:////abs.db -> /abs.db
        create=create and mode == "rwc",
        read_only=mode == "ro",
        busy_timeout=busy_timeout,
        synchronous=options.get("synchronous", "NORMAL"),
        ids=ids,
    )
