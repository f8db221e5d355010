"""A PostgreSQL server for tests (no tests here): one fresh schema per test, dropped afterwards.

The server is STATELANE_TEST_POSTGRES (default: this project's machines' local server,
postgresql://postgres@127.0.0.1:5432/test, trust auth). Where none is reachable the
PostgreSQL tests skip, saying why; STATELANE_REQUIRE_POSTGRES=1 (CI) makes that a failure.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.store import Store

SERVER_ENV = "STATELANE_TEST_POSTGRES"
REQUIRE_ENV = "STATELANE_REQUIRE_POSTGRES"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def server_url() -> str:
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


@functools.cache
def unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can)."""
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg 3 / psycopg-pool are not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(server_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server at {server_url()} ({detail}); start one with `{START_HINT}`"
    return None


def require_server(*, module: bool = False) -> None:
    """Skip (or, with STATELANE_REQUIRE_POSTGRES=1, fail) when no server is reachable.

    `module=True` at the top of a test module skips the whole module before it imports psycopg.
    """
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {reason}", pytrace=False)
    pytest.skip(
        f"PostgreSQL leg skipped: {reason}; set {SERVER_ENV} to a server URL to run it",
        allow_module_level=module,
    )


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A store URL naming a schema nobody has used; the schema is dropped afterwards."""
    require_server()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield with_schema(server_url(), schema)
    finally:
        drop_schema(schema)


@contextmanager
def sqlite_or_postgres(kind: str, folder: Path) -> Iterator[Store]:
    """An open store of `kind` ("sqlite" in `folder`, or "postgres" in a fresh schema, which skips
    saying why without a server), closed afterwards: the body of a fixture parametrised on both."""
    from engine.store import open_store

    if kind == "postgres":
        with fresh_schema() as url:
            store = open_store(url)
            try:
                yield store
            finally:
                store.close()
        return
    store = open_store(f"sqlite:///{folder}/fleet.db")
    try:
        yield store
    finally:
        store.close()
