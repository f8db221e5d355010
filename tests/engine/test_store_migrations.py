"""Stores written by older statelane versions open, migrate and keep every execution.

The old databases are built here with the old migrations' own statements and rows in the
old layout (the current store code cannot write them), then opened by the current store.
Version 3 moved each execution's input, output and checkpoint out of `executions` into
tables of their own (`engine.store.payloads`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_store_fixtures import DEFINITION, T0, event, events

from engine.store import ExecutionStatus, SqliteStore, Store, TaskTokenStatus, open_store, sqlite_schema

MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:M"
RUNNING_ARN = "arn:aws:states:us-east-1:123456789012:execution:M:running"
DONE_ARN = "arn:aws:states:us-east-1:123456789012:execution:M:done"
#: Big enough to spill into SQLite overflow pages (and PostgreSQL TOAST).
BIG_INPUT = json.dumps({"payload": "ab" * 150_000})


def old_rows(mark: str) -> list[tuple[str, tuple[Any, ...]]]:
    """A machine, a running execution (checkpoint, history, lease, a pending task token) and a
    finished one (output, no checkpoint), as versions 1 and 2 stored them."""

    def sql(text: str) -> str:
        return text.replace("?", mark)

    machine = (MACHINE_ARN, "M", "STANDARD", DEFINITION, "arn:aws:iam::1:role/R", "rev-1", T0, T0)
    running_events = [event(1, "ExecutionStarted", input="{}"), event(2)]
    rows: list[tuple[str, tuple[Any, ...]]] = [
        (
            sql(
                "INSERT INTO state_machines (arn, name, type, definition, role_arn, revision_id,"
                " creation_date, update_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            machine,
        ),
        (
            sql(
                "INSERT INTO state_machine_revisions (state_machine_arn, name, type, definition, role_arn,"
                " revision_id, creation_date, update_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            machine,
        ),
        (
            sql(
                "INSERT INTO executions (arn, name, state_machine_arn, revision_id, status, input, start_date,"
                " checkpoint, wake_at, lease_owner, lease_expires_at, queued, last_event_id)"
                " VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                RUNNING_ARN,
                "running",
                MACHINE_ARN,
                "rev-1",
                BIG_INPUT,
                T0,
                '{"at":2}',
                None,
                "old-worker",
                T0 + 30,
                False,
                2,
            ),
        ),
        (
            sql(
                "INSERT INTO executions (arn, name, state_machine_arn, revision_id, status, input, start_date,"
                " output, stop_date, last_event_id) VALUES (?, ?, ?, ?, 'SUCCEEDED', ?, ?, ?, ?, ?)"
            ),
            (DONE_ARN, "done", MACHINE_ARN, "rev-1", '{"n":1}', T0 - 10, '{"done":true}', T0 - 5, 0),
        ),
    ]
    for e in running_events:
        rows.append(
            (
                sql(
                    "INSERT INTO events (execution_id, id, previous_event_id, timestamp, type, body)"
                    " SELECT id, ?, ?, ?, ?, ? FROM executions WHERE arn = ?"
                ),
                (e["id"], e["previousEventId"], e["timestamp"], e["type"], json.dumps(e), RUNNING_ARN),
            )
        )
    rows.append(
        (
            sql(
                "INSERT INTO task_tokens (token, execution_id, state_entered_event_id, status, created_at)"
                " SELECT 'tok', id, 2, 'PENDING', ? FROM executions WHERE arn = ?"
            ),
            (T0 + 2, RUNNING_ARN),
        )
    )
    return rows


def sqlite_store_at(path: Path, version: int, *, rows: bool = True) -> None:
    """A SQLite store file as statelane left it at schema `version`, with `old_rows` if asked."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for number, description, statements in sqlite_schema.MIGRATIONS[:version]:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", (number, description))
    conn.execute(f"PRAGMA application_id = {sqlite_schema.APPLICATION_ID}")
    for statement, params in old_rows("?") if rows else []:
        conn.execute(statement, params)
    conn.execute("COMMIT")
    conn.close()


def check_migrated(store: Store) -> None:
    """Every value of `old_rows` reads back, and the running execution carries on."""
    running = store.get_execution(RUNNING_ARN)
    assert (running.status, running.input, running.output, running.last_event_id) == (
        ExecutionStatus.RUNNING,
        BIG_INPUT,
        None,
        2,
    )
    assert (running.lease_owner, running.lease_expires_at, running.queued) == ("old-worker", T0 + 30, False)
    done = store.get_execution("done")
    assert (done.status, done.input, done.output, done.stop_date) == (
        ExecutionStatus.SUCCEEDED,
        '{"n":1}',
        '{"done":true}',
        T0 - 5,
    )
    assert store.list_executions() == [running, done]
    assert store.load_checkpoint(RUNNING_ARN) == {"at": 2}
    assert store.load_checkpoint(DONE_ARN) is None
    assert [e["type"] for e in store.get_history(RUNNING_ARN)] == ["ExecutionStarted", "PassStateEntered"]
    assert [(t.token, t.status) for t in store.list_task_tokens(RUNNING_ARN)] == [
        ("tok", TaskTokenStatus.PENDING)
    ]
    # The lease of the worker that ran it before the upgrade expires; another worker resumes it.
    (claimed,) = store.claim("new-worker", lease_seconds=30, limit=5, now=T0 + 31)
    assert (claimed.arn, claimed.input) == (RUNNING_ARN, BIG_INPUT)
    store.commit_transition(RUNNING_ARN, events(3, 1), {"at": 3}, lease_owner="new-worker")
    assert store.load_checkpoint(RUNNING_ARN) == {"at": 3}
    closed = store.commit_transition(
        RUNNING_ARN,
        [event(4, "ExecutionSucceeded", output="{}")],
        status=ExecutionStatus.SUCCEEDED,
        output='{"ok":1}',
        lease_owner="new-worker",
    )
    assert (closed.status, closed.output, closed.input) == (ExecutionStatus.SUCCEEDED, '{"ok":1}', BIG_INPUT)
    assert store.get_execution(RUNNING_ARN) == closed
    assert store.load_checkpoint(RUNNING_ARN) == {"at": 3}  # a closing transition keeps the last one


# ------------------------------------------------------------------ SQLite


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def migrate_sqlite_store_at(path: Path, version: int) -> None:
    """Build a store at schema `version`, open it with this statelane and check what it kept."""
    sqlite_store_at(path, version)
    store = SqliteStore(path)
    try:
        check_migrated(store)
    finally:
        store.close()


def test_a_version_2_sqlite_store_migrates_and_keeps_its_executions(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    migrate_sqlite_store_at(path, 2)
    assert not {"input", "output", "checkpoint"} & set(columns(path, "executions"))
    assert columns(path, "execution_payloads") == ["execution_id", "output", "input"]
    reopened = SqliteStore(path)  # nothing left to migrate; the data is in the new tables
    try:
        assert reopened.get_execution(RUNNING_ARN).output == '{"ok":1}'
        assert reopened.get_execution(RUNNING_ARN).input == BIG_INPUT
        conn = sqlite3.connect(path)
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        conn.close()
        assert versions == [m[0] for m in sqlite_schema.MIGRATIONS]
    finally:
        reopened.close()


def test_a_version_1_sqlite_store_migrates_through_every_step(tmp_path: Path) -> None:
    migrate_sqlite_store_at(tmp_path / "v1.db", 1)


def test_a_transition_rewrites_only_small_rows(tmp_path: Path) -> None:
    """The point of version 3: committing a transition of an execution with a big input writes
    pages in proportion to the transition, not to the input (SQLite rewrites whole rows)."""
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.put_state_machine("M", DEFINITION, now=T0)
        big = store.start_execution("M", "big", BIG_INPUT, now=T0).execution
        small = store.start_execution("M", "small", "{}", now=T0).execution

        def pages_written(arn: str, first: int) -> int:
            before = store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert before[0] == 0
            for i in range(first, first + 5):
                store.commit_transition(arn, events(i, 1), {"at": i}, wake_at=T0 + i)
            frames = store._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
            return int(frames)

        assert pages_written(big.arn, 1) <= pages_written(small.arn, 1) + 2
    finally:
        store.close()


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_url() -> Iterator[str]:
    from test_store_postgres_fixtures import fresh_schema

    with fresh_schema() as url:
        yield url


def test_a_version_2_postgres_store_migrates_and_keeps_its_executions(pg_url: str) -> None:
    import psycopg
    from psycopg import sql
    from test_store_postgres_fixtures import server_url

    from engine.store import postgres_schema
    from engine.store.postgres import parse_url

    schema = parse_url(pg_url).schema
    with psycopg.connect(server_url(), autocommit=True) as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        for number, description, statements in postgres_schema.MIGRATIONS[:2]:
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)", (number, description)
            )
        for statement, params in old_rows("%s"):
            conn.execute(statement, params)
    store = open_store(pg_url)
    try:
        check_migrated(store)
    finally:
        store.close()
    with psycopg.connect(server_url(), autocommit=True) as conn:
        names = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'executions'",
                (schema,),
            )
        }
        assert names and not {"input", "output", "checkpoint"} & names
        versions = conn.execute(
            sql.SQL("SELECT max(version) FROM {}.schema_version").format(sql.Identifier(schema))
        ).fetchone()
        assert versions == (postgres_schema.LATEST_VERSION,)
