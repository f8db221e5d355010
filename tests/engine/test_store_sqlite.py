"""What only the SQLite store has: a file, its schema, other processes, and the ways disks fail."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store_fixtures import DEFINITION, T0, event, events, start

from engine.store import (
    ExecutionStatus,
    MemoryStore,
    SchemaTooNew,
    SqliteStore,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    open_store,
    sqlite_schema,
)
from engine.store.sqlite import _CLAIMABLE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "store.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(db)
    yield s
    s.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=0)


# ------------------------------------------------------------------ schema


def test_a_new_store_is_created_migrated_and_in_wal_mode(store: SqliteStore, db: Path) -> None:
    assert db.exists()
    conn = raw(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == sqlite_schema.APPLICATION_ID
    assert [r[0] for r in conn.execute("SELECT version FROM schema_version")] == [
        m[0] for m in sqlite_schema.MIGRATIONS
    ]
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


def test_an_empty_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    s = SqliteStore(path)
    start(s, "e")
    s.close()
    assert SqliteStore(path).get_execution("e").name == "e"


def test_migrations_run_in_order_once_and_newer_schemas_are_refused(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStore(db).close()
    nxt = sqlite_schema.LATEST_VERSION + 1
    step = (nxt, "executions get a trace header", ("ALTER TABLE executions ADD COLUMN trace_header TEXT",))
    monkeypatch.setattr("engine.store.sqlite.MIGRATIONS", (*sqlite_schema.MIGRATIONS, step))
    monkeypatch.setattr("engine.store.sqlite.LATEST_VERSION", nxt)
    SqliteStore(db).close()
    SqliteStore(db).close()  # already at the newest: nothing to do
    conn = raw(db)
    assert [
        r[:2] for r in conn.execute("SELECT version, description FROM schema_version ORDER BY version")
    ] == [(m[0], m[1]) for m in sqlite_schema.MIGRATIONS] + [(nxt, "executions get a trace header")]
    assert "trace_header" in [r[1] for r in conn.execute("PRAGMA table_info(executions)")]
    conn.close()
    monkeypatch.undo()
    with pytest.raises(
        SchemaTooNew,
        match=f"store schema {nxt}, written by a newer statelane; this one knows up to {nxt - 1}",
    ):
        SqliteStore(db)


def test_a_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "statelane.db"
    path.write_bytes(b"this is my thesis, not a database\n" * 100)
    before = digest(path)
    with pytest.raises(StoreCorrupt, match="is not a SQLite database"):
        SqliteStore(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["statelane.db"]


def test_a_damaged_store_is_reported_as_corrupt(store: SqliteStore, db: Path) -> None:
    start(store, "e")
    store.close()
    data = bytearray(db.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # keep the header, scramble every page
    db.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt):
        s = SqliteStore(db)
        s.get_execution("e")


def test_somebody_elses_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = raw(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
    conn.close()
    before = digest(path)
    with pytest.raises(
        StoreCorrupt, match=r"is a SQLite database but not a statelane store \(its tables: users"
    ):
        SqliteStore(path)
    assert digest(path) == before
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'executions'").fetchone()[0] == 0
    conn.close()


def test_a_foreign_schema_version_table_does_not_make_it_ours(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = raw(path)
    conn.execute("CREATE TABLE schema_version (v TEXT)")
    conn.close()
    with pytest.raises(StoreCorrupt, match="not a statelane store"):
        SqliteStore(path)


def test_our_store_without_its_schema_version_table_is_damaged(store: SqliteStore, db: Path) -> None:
    store.close()
    conn = raw(db)
    conn.execute("DROP TABLE schema_version")
    conn.close()
    with pytest.raises(StoreCorrupt, match="schema_version table is missing"):
        SqliteStore(db)


def test_claim_query_uses_the_partial_indexes(store: SqliteStore) -> None:
    plan = [
        row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + _CLAIMABLE, {"now": T0, "limit": 5})
    ]
    scans = [step for step in plan if "executions" in step]
    assert len(scans) == 3 and all("USING INDEX" in step for step in scans), plan


# ------------------------------------------------------------------ failures at the boundary


def test_missing_store_is_not_created_when_asked_not_to(db: Path) -> None:
    with pytest.raises(StoreNotFound, match="no statelane store at"):
        SqliteStore(db, create=False)
    assert not db.parent.exists()


def test_read_only_store_reads_but_refuses_writes(store: SqliteStore, db: Path) -> None:
    e = start(store, "e")
    store.commit_transition(e.arn, events(1, 2), {"at": 2})
    store.close()
    reader = open_store(f"sqlite:///{db}?mode=ro")
    assert reader.get_execution("e").last_event_id == 2
    with pytest.raises(StoreReadOnly, match="read-only"):
        reader.commit_transition(e.arn, events(3, 1), {"at": 3})
    assert [ev["id"] for ev in reader.get_history(e.arn)] == [1, 2]
    reader.close()


def test_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing; see the mode=ro test")
        with pytest.raises(StoreReadOnly, match="is read-only"):
            SqliteStore(folder / "statelane.db")
        with pytest.raises(StoreReadOnly, match="permission denied"):
            SqliteStore(folder / "sub" / "statelane.db")
    finally:
        folder.chmod(0o755)


def test_read_only_directory_with_an_existing_store(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    s = SqliteStore(folder / "statelane.db")
    e = start(s, "e")
    s.commit_transition(e.arn, events(1, 1), None)
    s.close()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing; see the mode=ro test")
        with pytest.raises(StoreReadOnly):
            s = SqliteStore(folder / "statelane.db")
            s.commit_transition(e.arn, events(2, 1), None)
    finally:
        folder.chmod(0o755)
    assert SqliteStore(folder / "statelane.db").count_events(e.arn) == 1


def test_a_full_disk_fails_the_transaction_and_keeps_committed_data(store: SqliteStore) -> None:
    e = start(store, "e")
    store.commit_transition(e.arn, events(1, 2), {"at": 2})
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
    big = [event(3, "PassStateEntered", name="Big", input="x" * 200_000)]
    with pytest.raises(StoreFull, match=r"full .* committed data is intact"):
        store.commit_transition(e.arn, big, {"at": 3}, status=ExecutionStatus.SUCCEEDED)
    assert store.count_events(e.arn) == 2
    assert store.load_checkpoint(e.arn) == {"at": 2}
    assert store.get_execution(e.arn).status is ExecutionStatus.RUNNING
    store._conn.execute(f"PRAGMA max_page_count = {pages * 1000}")  # space freed: writes work again
    store.commit_transition(e.arn, big, {"at": 3})
    assert store.count_events(e.arn) == 3


def test_a_second_writer_holding_the_lock_gives_store_busy(db: Path) -> None:
    s = SqliteStore(db, busy_timeout=0.05)
    e = start(s, "e")
    other = raw(db)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE execution_payloads SET input = 'theirs'")
    try:
        with pytest.raises(StoreBusy, match=r"locked by another writer that held it for over 0\.05s"):
            s.commit_transition(e.arn, events(1, 1), None)
        assert s.get_execution("e").input == "{}"  # readers are not blocked in WAL mode
    finally:
        other.execute("ROLLBACK")
        other.close()
    s.commit_transition(e.arn, events(1, 1), None)
    assert s.count_events(e.arn) == 1


def test_threads_with_their_own_connections_never_claim_the_same_execution(db: Path) -> None:
    setup = SqliteStore(db)
    for i in range(80):
        start(setup, f"e{i}", at=T0 + i)
    stores = [SqliteStore(db) for _ in range(4)]
    got: dict[int, list[str]] = {}
    barrier = threading.Barrier(len(stores))

    def worker(n: int) -> None:
        barrier.wait()
        mine: list[str] = []
        while batch := stores[n].claim(f"w{n}", lease_seconds=60, limit=3, now=T0 + 99):
            mine.extend(e.arn for e in batch)
        got[n] = mine

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [arn for arns in got.values() for arn in arns]
    assert len(claimed) == 80 == len(set(claimed))
    owners = {e.arn: e.lease_owner for e in setup.list_executions()}
    assert all(owners[arn] == f"w{n}" for n, arns in got.items() for arn in arns)


WORKER = textwrap.dedent(
    """
    import json, sys
    from engine.store import SqliteStore
    store = SqliteStore(sys.argv[1])
    got = []
    while batch := store.claim(sys.argv[2], lease_seconds=600, limit=3, now=float(sys.argv[3])):
        got.extend(e.arn for e in batch)
    print(json.dumps(got))
    """
)


def test_worker_processes_never_claim_the_same_execution(db: Path) -> None:
    s = SqliteStore(db)
    for i in range(150):
        start(s, f"e{i:03d}", at=T0 + i)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), f"p{i}", str(T0 + 1000)], stdout=subprocess.PIPE, env=env
        )
        for i in range(3)
    ]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    claimed = [arn for arns in results for arn in arns]
    assert len(claimed) == 150 == len(set(claimed))


CRASHER = textwrap.dedent(
    """
    import os, signal, sys
    from engine.store import SqliteStore
    sys.path.insert(0, sys.argv[2])
    from test_store_fixtures import events
    store = SqliteStore(sys.argv[1])
    arn = store.get_execution("e").arn
    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies between the events and the row
    store._write_execution_row = die
    store.commit_transition(arn, events(3, 5), {"at": 7})
    """
)


def test_a_process_killed_mid_transition_leaves_no_partial_transition(db: Path) -> None:
    s = SqliteStore(db)
    e = start(s, "e")
    s.commit_transition(e.arn, events(1, 2), {"at": 2})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(db), str(Path(__file__).parent)], env=env, capture_output=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    fresh = SqliteStore(db)
    assert fresh.count_events(e.arn) == 2 and fresh.load_checkpoint(e.arn) == {"at": 2}
    assert [ev["id"] for ev in fresh.get_history(e.arn)] == [1, 2]
    fresh.commit_transition(e.arn, events(3, 1), {"at": 3})


# ------------------------------------------------------------------ choosing a store


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATELANE_DB", raising=False)
    default = open_store()
    assert isinstance(default, SqliteStore)
    assert default.path == tmp_path / ".statelane" / "statelane.db"
    assert isinstance(open_store("memory://"), MemoryStore)
    relative = open_store("sqlite:///rel.db")
    assert isinstance(relative, SqliteStore) and relative.path == tmp_path / "rel.db"
    absolute = open_store(f"sqlite:///{tmp_path}/abs.db?busy_timeout=2.5")
    assert isinstance(absolute, SqliteStore)
    assert (absolute.path, absolute.busy_timeout) == (tmp_path / "abs.db", 2.5)
    assert absolute.url == f"sqlite:///{tmp_path}/abs.db"
    plain = open_store("plain.db")
    assert isinstance(plain, SqliteStore) and plain.path == tmp_path / "plain.db"
    monkeypatch.setenv("STATELANE_DB", "sqlite:///from-env.db")
    chosen = open_store()
    assert isinstance(chosen, SqliteStore) and chosen.path == tmp_path / "from-env.db"
    assert isinstance(open_store("memory://"), MemoryStore)  # an explicit URL wins over the environment


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@nowhere.invalid/db", "cannot reach the PostgreSQL store"),
        ("mysql://x", "unknown store URL 'mysql://x'"),
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?journal=off", "unknown option"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout .* must be a number"),
        ("sqlite:///x.db?mode=rwx", "mode .* must be ro, rw or rwc"),
        ("sqlite:///x.db?synchronous=maybe", "unknown synchronous mode"),
    ],
)
def test_bad_store_urls(url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(url)
    assert not (tmp_path / "x.db").exists()


def test_a_second_store_on_the_same_file_keeps_seeing_other_processes_writes(tmp_path: Path) -> None:
    """Opening a second store in one process must not drop the first one's SQLite locks
    (closing any descriptor of a file releases every POSIX lock the process holds on it)."""
    import subprocess
    import sys

    from engine.store import open_store

    url = f"sqlite:///{tmp_path}/shared.db"
    first = open_store(url)
    first.put_state_machine("m", DEFINITION, now=T0)
    first.list_state_machines()
    second = open_store(url)
    second.list_state_machines()
    for i in range(3):
        script = (
            "from engine.store import open_store\n"
            f"s = open_store({url!r})\n"
            f"s.put_state_machine('elsewhere-{i}', {DEFINITION!r}, now={T0})\n"
            "s.close()\n"
        )
        subprocess.run([sys.executable, "-c", script], check=True)
        names = {m.name for m in first.list_state_machines()}
        assert f"elsewhere-{i}" in names, f"write {i} from another process is invisible: {sorted(names)}"
    second.close()
    first.close()
