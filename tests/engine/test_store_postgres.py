"""What only the PostgreSQL store has: URLs, its schema and migrations, other processes, NOTIFY, the lease log.

The protocol itself is tested by test_store.py's parametrised body (the "postgres" leg);
here: the store answers every sequence of operations as the memory store does
(hypothesis), concurrent claimers in separate connections never share an execution,
idle waiters wake on NOTIFY, and the lease log records what happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_store_postgres_fixtures import drop_schema, fresh_schema, require_server, server_url, with_schema

require_server(module=True)  # before anything imports psycopg

import psycopg  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_store_fixtures import DEFINITION, T0, event, start  # noqa: E402
from test_store_parity import apply, operations, snapshot  # noqa: E402

from engine.ids import IdSource  # noqa: E402
from engine.store import (  # noqa: E402
    ConflictError,
    ExecutionStatus,
    MemoryStore,
    SchemaTooNew,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
    StoreReadOnly,
    TaskOutcome,
    open_store,
)
from engine.store.postgres import LEASE_LOG_ENV, PostgresStore, migrate_database, parse_url  # noqa: E402
from engine.store.postgres_schema import LATEST_VERSION, MIGRATIONS  # noqa: E402


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as u:
        yield u


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(url)
    yield s
    s.close()


def schema_of(url: str) -> str:
    return parse_url(url).schema


def raw(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(server_url(), autocommit=True)
    conn.execute(f'SET search_path TO "{schema_of(url)}"')
    return conn


# ------------------------------------------------------------------ URLs


def test_url_options_are_split_from_libpq_and_the_password_is_never_shown() -> None:
    target = parse_url("postgresql://u:secret@db.example:6543/app?schema=fleet&pool_max=3&sslmode=require")
    assert (target.schema, target.pool_min, target.pool_max) == ("fleet", 1, 3)
    assert target.conninfo == "postgresql://u:secret@db.example:6543/app?sslmode=require"
    assert "secret" not in target.display and target.display.startswith("postgresql://u@db.example:6543/app?")
    assert parse_url("postgres://h/d").schema == "statelane"
    spaced = parse_url("postgresql://h/d?options=-c%20synchronous_commit%3Doff&schema=s&application_name=a+b")
    assert spaced.conninfo == "postgresql://h/d?options=-c%20synchronous_commit%3Doff&application_name=a+b"
    assert target.channel == "statelane:fleet"
    for bad in ("postgresql://h/d?schema=a-b", "postgresql://h/d?pool_max=x", "postgresql://h/d?pool_max=0"):
        with pytest.raises(StoreError):
            parse_url(bad)


def test_libpq_options_reach_the_server(url: str) -> None:
    store = PostgresStore(url + "&options=-c%20synchronous_commit%3Doff&application_name=statelane-test")
    try:
        with store._read() as cur:
            assert cur.execute("SHOW synchronous_commit").fetchone() == ("off",)
            assert cur.execute("SHOW application_name").fetchone() == ("statelane-test",)
    finally:
        store.close()


def test_an_unreachable_server_is_a_store_error_naming_it() -> None:
    with pytest.raises(
        StoreError, match=r"cannot reach the PostgreSQL store at postgresql://nobody@127\.0\.0\.1:1/x"
    ):
        open_store("postgresql://nobody:pw@127.0.0.1:1/x?connect_timeout=2")


# ------------------------------------------------------------------ schema


def test_first_use_creates_the_schema_at_the_latest_version(store: PostgresStore, url: str) -> None:
    assert store.schema_version == LATEST_VERSION
    with raw(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m[0] for m in MIGRATIONS]
    assert "?schema=" in store.url and store.url.startswith("postgresql://")


def test_db_migrate_creates_then_has_nothing_to_do(url: str) -> None:
    assert migrate_database(url) == (0, LATEST_VERSION)
    assert migrate_database(url) == (LATEST_VERSION, LATEST_VERSION)


def test_migrations_run_in_order_once_and_newer_schemas_are_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    PostgresStore(url).close()
    nxt = LATEST_VERSION + 1
    step = (nxt, "executions get a trace header", ("ALTER TABLE executions ADD COLUMN trace_header text",))
    monkeypatch.setattr("engine.store.postgres.MIGRATIONS", (*MIGRATIONS, step))
    monkeypatch.setattr("engine.store.postgres.LATEST_VERSION", nxt)
    assert migrate_database(url) == (LATEST_VERSION, nxt)
    PostgresStore(url).close()  # already at the newest: nothing to do
    with raw(url) as conn:
        rows = [
            r[:2] for r in conn.execute("SELECT version, description FROM schema_version ORDER BY version")
        ]
    assert rows == [(m[0], m[1]) for m in MIGRATIONS] + [(nxt, "executions get a trace header")]
    monkeypatch.undo()
    with pytest.raises(SchemaTooNew, match=f"has store schema {nxt}, written by a newer statelane"):
        PostgresStore(url)


def test_processes_opening_a_new_store_together_migrate_it_once(url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_close() -> None:
        barrier.wait()
        try:
            PostgresStore(url).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_close) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with raw(url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)


def test_someone_elses_schema_is_refused_untouched(url: str) -> None:
    with raw(url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema_of(url)}"')
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreCorrupt, match=r"holds tables that are not a statelane store \(invoices\)"):
        PostgresStore(url)
    with raw(url) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ]
    assert tables == ["invoices"]


def test_inspection_does_not_create_a_store(url: str) -> None:
    with pytest.raises(StoreNotFound, match="no statelane store in schema"):
        open_store(url, create=False)
    with pytest.raises(StoreNotFound):
        open_store(url, read_only=True)
    with raw(url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema_of(url),)
        ).fetchone() == (0,)


def test_a_read_only_store_reads_and_refuses_writes(store: PostgresStore, url: str) -> None:
    e = start(store, "e")
    reader = open_store(url, read_only=True)
    try:
        assert reader.get_execution("e") == e
        with pytest.raises(StoreReadOnly):
            reader.start_execution("M", "f", "{}", now=T0)
    finally:
        reader.close()


def test_two_schemas_in_one_database_are_two_stores(url: str) -> None:
    other = with_schema(server_url(), schema_of(url) + "_b")
    a, b = PostgresStore(url), PostgresStore(other)
    try:
        start(a, "only-in-a")
        assert [e.name for e in a.list_executions()] == ["only-in-a"]
        assert b.list_executions() == []
    finally:
        a.close()
        b.close()
        drop_schema(schema_of(other))


# ------------------------------------------------------------------ behaving like the reference store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operations, max_size=25))
def test_memory_and_postgres_agree(ops: list[tuple[Any, ...]]) -> None:
    require_server()
    with fresh_schema() as url:
        memory = MemoryStore(ids=IdSource(seed=7))
        postgres = PostgresStore(url, ids=IdSource(seed=7))
        try:
            for s in (memory, postgres):
                s.put_state_machine("M", DEFINITION, now=0.0)
            for op in ops:
                assert apply(memory, op) == apply(postgres, op), op
            assert snapshot(memory) == snapshot(postgres)
        finally:
            postgres.close()


# ------------------------------------------------------------------ several processes


def test_claimers_on_separate_connections_never_share_an_execution(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(4)]
    try:
        for i in range(200):
            start(stores[0], f"e{i:03d}", at=T0 + i)
        got: dict[str, list[str]] = {}
        barrier = threading.Barrier(len(stores))

        def worker(index: int) -> None:
            barrier.wait()
            mine: list[str] = []
            while batch := stores[index].claim(f"w{index}", lease_seconds=60, limit=3, now=T0 + 500):
                mine.extend(e.arn for e in batch)
            got[f"w{index}"] = mine

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        claimed = [arn for arns in got.values() for arn in arns]
        assert len(claimed) == 200 and len(set(claimed)) == 200
        assert sum(1 for arns in got.values() if arns) > 1  # SKIP LOCKED let them work side by side
    finally:
        for s in stores:
            s.close()


def test_a_token_completes_once_however_many_answer_at_once(store: PostgresStore, url: str) -> None:
    e = start(store, "e", queued=False)
    store.put_task_token("tok", e.arn, 2, now=T0)
    others = [PostgresStore(url) for _ in range(5)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(others))

    def answer(s: PostgresStore, i: int) -> None:
        barrier.wait()
        try:
            s.complete_task_token("tok", TaskOutcome.success(str(i)), now=T0 + 1)
            outcomes.append("ok")
        except StoreError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=answer, args=(s, i)) for i, s in enumerate(others)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in others:
        s.close()
    assert sorted(outcomes) == ["TaskDoesNotExist"] * 4 + ["ok"]


def race_close_and_answer(store: PostgresStore, other: PostgresStore, name: str) -> Any:
    """Close an execution and answer its token at the same moment; the answer's result or error."""
    e = start(store, name, queued=False)
    store.put_task_token(name, e.arn, 2, now=T0)
    results: dict[str, Any] = {}
    barrier = threading.Barrier(2)

    def close() -> None:
        barrier.wait()
        store.commit_transition(e.arn, [event(1, "ExecutionAborted")], None, status=ExecutionStatus.ABORTED)

    def answer() -> None:
        barrier.wait()
        try:
            results["answer"] = other.complete_task_token(name, TaskOutcome.success("1"), now=T0 + 1)
        except StoreError as exc:
            results["answer"] = exc

    threads = [threading.Thread(target=close), threading.Thread(target=answer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results["answer"]


def test_a_closing_worker_and_a_late_answer_never_both_win(store: PostgresStore, url: str) -> None:
    other = PostgresStore(url)
    try:
        for round_ in range(20):
            answer = race_close_and_answer(store, other, f"e{round_}")
            closed = store.get_execution(f"e{round_}")
            assert closed.status is ExecutionStatus.ABORTED and not closed.queued
            token = store.get_task_token(f"e{round_}")
            if isinstance(answer, StoreError):  # the close came first: the token is spent
                assert type(answer).__name__ == "TaskDoesNotExist" and token.status.value == "PENDING"
            else:  # the answer came first, while the execution still ran
                assert token.status.value == "SUCCEEDED"
    finally:
        other.close()


# ------------------------------------------------------------------ NOTIFY


def test_idle_waiters_wake_on_start_token_and_release(store: PostgresStore, url: str) -> None:
    waker = PostgresStore(url)
    try:
        store.claim("w", lease_seconds=5, limit=1, now=T0)  # nothing to do: the worker goes idle
        store.wait_for_work(0.5)  # the first wait starts the listener (and returns on connecting)
        store.claim("w", lease_seconds=5, limit=1, now=T0)
        began = time.monotonic()
        assert store.wait_for_work(0.3) is False
        assert time.monotonic() - began >= 0.25

        def wake_by(action: Any) -> float:
            store.claim("w", lease_seconds=5, limit=1, now=T0)
            timer = threading.Timer(0.05, action)
            began = time.monotonic()
            timer.start()
            assert store.wait_for_work(5.0) is True
            timer.join()
            return time.monotonic() - began

        assert wake_by(lambda: start(waker, "queued")) < 1.0
        parked = start(waker, "parked", queued=False)
        waker.put_task_token("tok", parked.arn, 2, now=T0)
        assert wake_by(lambda: waker.complete_task_token("tok", TaskOutcome.success("1"), now=T0)) < 1.0
        [held] = waker.claim("other", lease_seconds=5, limit=1, now=T0 + 1)
        assert wake_by(lambda: waker.release("other", held.arn, wake_at=T0 + 60)) < 1.0
    finally:
        waker.close()


def test_a_notification_between_claim_and_wait_is_not_lost(store: PostgresStore, url: str) -> None:
    store.wait_for_work(0.5)  # listener running
    store.claim("w", lease_seconds=5, limit=1, now=T0)
    start(store, "arrives-before-the-wait")
    time.sleep(0.2)  # the NOTIFY lands while this thread is not yet waiting
    began = time.monotonic()
    assert store.wait_for_work(5.0) is True
    assert time.monotonic() - began < 0.1


# ------------------------------------------------------------------ the lease log


def test_the_lease_log_records_grants_renewals_releases_and_commits(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEASE_LOG_ENV, "1")
    store = PostgresStore(url)
    try:
        e = start(store, "e")
        store.claim("w1", lease_seconds=10, limit=1, now=T0)
        store.renew("w1", [e.arn], 10, T0 + 5)
        store.commit_transition(e.arn, [event(1, "ExecutionStarted")], {"c": 1}, lease_owner="w1")
        store.release("w1", e.arn, wake_at=T0 + 50)
        store.acquire("w2", e.arn, lease_seconds=10, now=T0 + 51)
        with pytest.raises(ConflictError):
            store.commit_transition(e.arn, [event(2)], None, lease_owner="w1")  # refused: not logged
        store.commit_transition(
            e.arn, [event(2, "ExecutionSucceeded")], None, status=ExecutionStatus.SUCCEEDED, lease_owner="w2"
        )
        with raw(url) as conn:
            log = conn.execute("SELECT worker, action, at, expires_at FROM lease_log ORDER BY seq").fetchall()
        assert log == [
            ("w1", "claim", T0, T0 + 10),
            ("w1", "renew", T0 + 5, T0 + 15),
            ("w1", "commit", T0 + 1, None),
            ("w1", "release", None, None),
            ("w2", "acquire", T0 + 51, T0 + 61),
            ("w2", "close", T0 + 2, None),
        ]
    finally:
        store.close()


def test_without_the_variable_nothing_is_logged(store: PostgresStore, url: str) -> None:
    start(store, "e")
    store.claim("w1", lease_seconds=10, limit=1, now=T0)
    with raw(url) as conn:
        assert conn.execute("SELECT count(*) FROM lease_log").fetchone() == (0,)


def test_an_answer_racing_the_token_being_recorded_is_invalid_or_accepted(
    store: PostgresStore, url: str
) -> None:
    """Until the token's row commits, SendTaskSuccess says InvalidToken; after, it succeeds; never anything else."""
    e = start(store, "e", queued=False)
    answerer = PostgresStore(url)
    unexpected: list[str] = []
    tokens = [f"tok-{i}" for i in range(150)]

    def answer() -> None:
        for token in tokens:
            while True:
                try:
                    answerer.complete_task_token(token, TaskOutcome.success("1"), now=T0 + 1)
                    break
                except StoreError as exc:
                    if type(exc).__name__ != "InvalidToken":
                        unexpected.append(f"{token}: {exc}")
                        break

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        for i, token in enumerate(tokens):
            store.put_task_token(token, e.arn, i + 2, now=T0)
    finally:
        thread.join(30)
        answerer.close()
    assert unexpected == []


def test_connections_the_server_dropped_are_replaced_not_failed(url: str) -> None:
    """After a server restart (here: its backends terminated) the next calls and the NOTIFY listener just work."""
    store = PostgresStore(url + "&application_name=statelane-victim")
    waker = PostgresStore(url)
    try:
        start(store, "before")
        store.wait_for_work(0.5)  # the listener is up
        with raw(url) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'statelane-victim'"
            ).fetchone()
        assert killed is not None and killed[0] >= 2  # a pooled connection and the listener's
        time.sleep(0.2)
        assert store.get_execution("before").name == "before"
        start(store, "after")
        # The listener may reconnect before or after a claim (its reconnection alone wakes waiters
        # once, since notifications may have been missed): the first round may end by either, the
        # second only by a NOTIFY that the reconnected listener received. A dead listener fails both.
        for name in ("notified", "notified-again"):
            store.claim("w", lease_seconds=5, limit=2, now=T0)  # a wait after a claim needs news
            timer = threading.Timer(0.1, lambda n=name: start(waker, n))
            timer.start()
            assert store.wait_for_work(5.0) is True
            timer.join()
    finally:
        waker.close()
        store.close()
