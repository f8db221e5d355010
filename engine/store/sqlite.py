"""The embedded default store: one SQLite file in WAL mode, safe for several worker processes.

Every write is one `BEGIN IMMEDIATE` transaction, so the writer lock is taken up
front and two workers never interleave a read-check-write (that is what makes a
claim exclusive, and what PostgreSQL will do with `FOR UPDATE SKIP LOCKED`). A
generous busy timeout rides out ordinary contention; only a writer that holds
the lock beyond it surfaces as StoreBusy. sqlite3 errors are translated to the
store's own exceptions here and nowhere else; a failed transaction is rolled
back, so committed data stays as it was.

`synchronous=NORMAL` in WAL mode survives a killed process (SIGKILL) without
losing a committed transition; `synchronous=FULL` also survives power loss, at
an fsync per transition.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from engine.ids import IdSource
from engine.store import rules
from engine.store.errors import (
    ConflictError,
    ExecutionDoesNotExist,
    ExecutionNotRunning,
    InvalidToken,
    SchemaTooNew,
    StateMachineDoesNotExist,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    TaskTimedOut,
)
from engine.store.payloads import InputCache, execution_writes
from engine.store.records import (
    UNSET,
    ExecutionRecord,
    ExecutionStatus,
    Started,
    StateMachineRecord,
    StateMachineType,
    TaskOutcome,
    TaskTokenRecord,
    TaskTokenStatus,
    Unset,
)
from engine.store.sqlite_queues import SqliteQueues
from engine.store.sqlite_schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS

DEFAULT_BUSY_TIMEOUT: Final = 30.0
_HEADER: Final = b"SQLite format 3\x00"

# Primary result codes (sqlite3.h).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26

#: Store files this process has open, with how many connections: see `_connect`.
_OPEN_FILES: dict[str, int] = {}
_OPEN_FILES_LOCK = threading.Lock()


def _key(path: Path) -> str:
    return os.path.realpath(path)


def _is_open(path: Path) -> bool:
    with _OPEN_FILES_LOCK:
        return _OPEN_FILES.get(_key(path), 0) > 0


def _note_open(path: Path) -> None:
    with _OPEN_FILES_LOCK:
        _OPEN_FILES[_key(path)] = _OPEN_FILES.get(_key(path), 0) + 1


def _forget_open(path: Path) -> None:
    with _OPEN_FILES_LOCK:
        left = _OPEN_FILES.get(_key(path), 0) - 1
        if left > 0:
            _OPEN_FILES[_key(path)] = left
        else:
            _OPEN_FILES.pop(_key(path), None)


#: The columns of `executions`; a whole record adds its payload's output and input (see `_FULL`).
_EXECUTION_FIELDS: Final = (
    "arn, name, state_machine_arn, revision_id, status, start_date, error, cause, stop_date, "
    "redrive_count, redrive_date, wake_at, lease_owner, lease_expires_at, queued, last_event_id"
)
_E_FIELDS: Final = ", ".join("e." + name.strip() for name in _EXECUTION_FIELDS.split(","))
_RECORD_FIELDS: Final = (*(name.strip() for name in _EXECUTION_FIELDS.split(",")), "output", "input")
_REAL_FIELDS: Final = ("start_date", "stop_date", "redrive_date", "wake_at", "lease_expires_at")
#: Whole records: `SELECT {_FULL} WHERE ...` gives rows `_execution_from_row` decodes.
_FULL: Final = (
    f"{_E_FIELDS}, p.output, p.input FROM executions e JOIN execution_payloads p ON p.execution_id = e.id"
)
_MACHINE_FIELDS: Final = "name, arn, definition, type, role_arn, revision_id, creation_date, update_date"
_TOKEN_FIELDS: Final = (
    "t.token, e.arn, t.state_entered_event_id, t.status, t.created_at, t.timeout_at, t.heartbeat_seconds, "
    "t.heartbeat_deadline, t.output, t.error, t.cause, t.completed_at"
)
_RUNNING: Final = ExecutionStatus.RUNNING.value

#: Oldest due first: queued (since start or redrive), timers that are due, leases that expired.
_CLAIMABLE: Final = """
    SELECT id FROM (
        SELECT id, coalesce(redrive_date, start_date) AS due FROM executions
            WHERE queued = 1 AND lease_owner IS NULL AND status = 'RUNNING'
        UNION ALL
        SELECT id, wake_at FROM executions
            WHERE wake_at <= :now AND lease_owner IS NULL AND queued = 0 AND status = 'RUNNING'
        UNION ALL
        SELECT id, lease_expires_at FROM executions
            WHERE lease_expires_at <= :now AND lease_owner IS NOT NULL AND status = 'RUNNING'
    ) ORDER BY due, id LIMIT :limit
"""


class SqliteStore(SqliteQueues):
    """The store in one SQLite file. Thread-safe (one connection, one lock); open one per process."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        read_only: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        synchronous: str = "NORMAL",
        ids: IdSource | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        self.url = "sqlite:///" + str(self.path)
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self._ids = ids or IdSource()
        self._lock = threading.RLock()
        self._inputs = InputCache()
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"unknown synchronous mode {synchronous!r}; expected NORMAL or FULL")
        self._closed = False
        self._conn = self._connect(create=create)
        try:
            self._prepare(synchronous.upper())
        except BaseException:
            self._conn.close()
            _forget_open(self.path)
            raise

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
            _forget_open(self.path)

    # ------------------------------------------------------------------ opening

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        path = self.path
        if not path.exists():
            if self.read_only or not create:
                raise StoreNotFound(f"no statelane store at {path} (nothing has run with this store yet)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except PermissionError:
                raise StoreReadOnly(f"cannot create the directory {path.parent}: permission denied") from None
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory {path.parent}: {exc.strerror or exc}"
                ) from None
            if not os.access(path.parent, os.W_OK):
                raise StoreReadOnly(
                    f"cannot create the store {path}: the directory {path.parent} is read-only"
                )
        elif not _is_open(path):
            # Never while this process has the file open: closing any descriptor of a file drops
            # every POSIX lock the process holds on it, SQLite's included.
            self._check_header(path)
        uri = f"file:{quote(str(path))}?mode={'ro' if self.read_only else 'rwc'}"
        with self._translating():
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        _note_open(path)
        return conn

    @staticmethod
    def _check_header(path: Path) -> None:
        """Refuse a file that is not SQLite at all before sqlite touches it."""
        try:
            with path.open("rb") as handle:
                head = handle.read(len(_HEADER))
        except PermissionError:
            raise StoreReadOnly(f"cannot read the store {path}: permission denied") from None
        except OSError as exc:
            raise StoreError(f"cannot read the store {path}: {exc.strerror or exc}") from None
        if head and head != _HEADER:
            raise StoreCorrupt(
                f"{path} is not a SQLite database, so not a statelane store (corrupt, or another kind of "
                "file); statelane leaves it untouched: move it away or point --db/STATELANE_DB elsewhere"
            )

    def _prepare(self, synchronous: str) -> None:
        with self._lock, self._translating():
            conn = self._conn
            conn.execute("PRAGMA foreign_keys = ON")
            version = self._identify(conn)  # before anything that could change a foreign file
            if not self.read_only:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {synchronous}")
            if version < LATEST_VERSION:
                if self.read_only:
                    raise StoreReadOnly(
                        f"the store {self.path} has schema {version} and needs upgrading to {LATEST_VERSION}, "
                        "which a read-only store cannot do"
                    )
                self._migrate()

    def _identify(self, conn: sqlite3.Connection) -> int:
        """The schema version of our store (0: an empty file); StoreCorrupt for anybody else's database."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if app_id == 0 and not tables:
            return 0
        if app_id != APPLICATION_ID:
            what = f"its tables: {', '.join(tables[:8])}" if tables else f"application id {app_id:#x}"
            raise StoreCorrupt(
                f"{self.path} is a SQLite database but not a statelane store ({what}; no statelane "
                "schema_version); statelane will not change it: point --db/STATELANE_DB elsewhere"
            )
        if "schema_version" not in tables:
            raise StoreCorrupt(
                f"{self.path} is a damaged statelane store: its schema_version table is missing"
            )
        version = int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
        if version > LATEST_VERSION:
            raise SchemaTooNew(
                f"{self.path} has store schema {version}, written by a newer statelane; this one knows up to "
                f"{LATEST_VERSION}: upgrade statelane"
            )
        return version

    def _migrate(self) -> None:
        with self._write() as conn:
            version = self._identify(conn)  # again, under the write lock: another process may have won
            for number, description, statements in MIGRATIONS:
                if number <= version:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)", (number, description)
                )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    # ------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def _translating(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc)
        where = self.path
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
            return StoreBusy(
                f"the store {where} is locked by another writer that held it for over "
                f"{self.busy_timeout:g}s ({text}); nothing was written, try again"
            )
        if primary == _SQLITE_READONLY or "readonly" in text:
            return StoreReadOnly(
                f"cannot write the store {where}: it (or its directory) is read-only ({text})"
            )
        if primary == _SQLITE_FULL:
            return StoreFull(
                f"cannot write the store {where}: the disk (or the database size limit) is full ({text}); "
                "the last transaction was rolled back, committed data is intact"
            )
        if primary == _SQLITE_IOERR:
            return StoreFull(
                f"cannot write the store {where}: disk I/O error, is the disk full? ({text}); "
                "the last transaction was rolled back"
            )
        if primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
            return StoreCorrupt(
                f"{where} is corrupt or not a SQLite database ({text}); statelane leaves it untouched"
            )
        if primary in (_SQLITE_CANTOPEN, _SQLITE_PERM) and not os.access(where.parent, os.W_OK):
            return StoreReadOnly(f"cannot open the store {where}: its directory is read-only ({text})")
        if isinstance(exc, sqlite3.IntegrityError):
            return ConflictError(f"a concurrent write to {where} conflicted with this one ({text})")
        return StoreError(f"the store {where} failed: {text}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's writer lock from the start; rolled back on any error."""
        with self._lock, self._translating():
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read snapshot (WAL readers never wait for writers)."""
        with self._lock, self._translating():
            conn = self._conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    # ------------------------------------------------------------ state machines

    def put_state_machine(
        self,
        name: str,
        definition: str,
        *,
        now: float,
        type: StateMachineType = StateMachineType.STANDARD,
        role_arn: str | None = None,
        arn: str | None = None,
    ) -> StateMachineRecord:
        with self._write() as conn:
            current = _machine(
                conn.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines WHERE name = ?", (name,))
            )
            record = rules.put_machine(
                current,
                name,
                definition,
                now=now,
                type=type,
                role_arn=role_arn,
                arn=arn,
                new_revision_id=self._ids.uuid4,
            )
            if record is None:
                assert current is not None
                return current
            values = (
                record.name,
                record.arn,
                record.definition,
                record.type.value,
                record.role_arn,
                record.revision_id,
                record.creation_date,
                record.update_date,
            )
            conn.execute(
                f"INSERT OR REPLACE INTO state_machines ({_MACHINE_FIELDS}) VALUES (?,?,?,?,?,?,?,?)", values
            )
            conn.execute(
                f"INSERT INTO state_machine_revisions ({_MACHINE_FIELDS.replace('arn,', 'state_machine_arn,', 1)}) "
                "VALUES (?,?,?,?,?,?,?,?)",
                values,
            )
            return record

    def get_state_machine(self, ref: str) -> StateMachineRecord:
        with self._read() as conn:
            return self._machine_by_ref(conn, ref)

    def _machine_by_ref(self, conn: sqlite3.Connection, ref: str) -> StateMachineRecord:
        column = "arn" if ref.startswith("arn:") else "name"
        found = _machine(
            conn.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines WHERE {column} = ?", (ref,))
        )
        if found is None:
            known = [row[0] for row in conn.execute("SELECT name FROM state_machines ORDER BY name")]
            raise StateMachineDoesNotExist(ref, known)
        return found

    def get_revision(self, state_machine_arn: str, revision_id: str) -> StateMachineRecord:
        fields = _MACHINE_FIELDS.replace("arn,", "state_machine_arn,", 1)
        with self._read() as conn:
            found = _machine(
                conn.execute(
                    f"SELECT {fields} FROM state_machine_revisions WHERE state_machine_arn = ? AND revision_id = ?",
                    (state_machine_arn, revision_id),
                )
            )
        if found is None:
            raise StateMachineDoesNotExist(state_machine_arn)
        return found

    def list_state_machines(self) -> list[StateMachineRecord]:
        with self._read() as conn:
            cursor = conn.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines ORDER BY name")
            return [_machine_from_row(row) for row in cursor]

    def delete_state_machine(self, ref: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM state_machines WHERE arn = ?", (self._machine_by_ref(conn, ref).arn,))

    # ---------------------------------------------------------------- executions

    def start_execution(
        self, state_machine: str, name: str, input: str, *, now: float, queued: bool = True
    ) -> Started:
        with self._write() as conn:
            machine = self._machine_by_ref(conn, state_machine)
            arn = rules.execution_arn(machine.arn, name)
            existing = self._execution_or_none(conn, arn)
            if existing is not None:
                return Started(rules.check_start(existing[1], input), False)
            record = rules.new_execution(machine, name, input, now, queued)
            execution_id = conn.execute(
                "INSERT INTO executions (arn, name, state_machine_arn, revision_id, status, start_date, queued)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (arn, name, machine.arn, machine.revision_id, _RUNNING, now, int(queued)),
            ).lastrowid
            assert execution_id is not None
            conn.execute(
                "INSERT INTO execution_payloads (execution_id, input) VALUES (?, ?)", (execution_id, input)
            )
        self._inputs.put(execution_id, arn, input)  # committed
        return Started(record, True)

    def get_execution(self, ref: str) -> ExecutionRecord:
        with self._read() as conn:
            if ref.startswith("arn:"):
                return self._execution(conn, ref)[1]
            exact = conn.execute("SELECT name, arn FROM executions WHERE name = ?", (ref,)).fetchall()
            prefixed = conn.execute(
                "SELECT name, arn FROM executions WHERE name >= ? AND name < ? LIMIT 50",
                (ref, rules.prefix_upper_bound(ref)),
            ).fetchall()
            arn = rules.pick_execution(ref, exact, prefixed, self._recent_names(conn))
            return self._execution(conn, arn)[1]

    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        state_machine: str | None = None,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        where, params = [], []
        with self._read() as conn:
            if status is not None:
                where.append("e.status = ?")
                params.append(status.value)
            if state_machine is not None:
                where.append("e.state_machine_arn = ?")
                params.append(self._machine_by_ref(conn, state_machine).arn)
            sql = f"SELECT {_FULL}"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY e.start_date DESC, e.id DESC"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            return [_execution_from_row(row) for row in conn.execute(sql, params)]

    def load_checkpoint(self, execution_arn: str) -> Any:
        with self._read() as conn:
            row = conn.execute(
                "SELECT c.checkpoint FROM executions e"
                " LEFT JOIN execution_checkpoints c ON c.execution_id = e.id WHERE e.arn = ?",
                (execution_arn,),
            ).fetchone()
            if row is None:
                raise ExecutionDoesNotExist(execution_arn, self._recent_names(conn))
        return None if row[0] is None else json.loads(row[0])

    def commit_transition(
        self,
        execution_arn: str,
        events: Sequence[rules.EventLike],
        checkpoint: Any | Unset = UNSET,
        *,
        status: ExecutionStatus | None = None,
        output: str | Unset | None = UNSET,
        error: str | Unset | None = UNSET,
        cause: str | Unset | None = UNSET,
        stop_date: float | None = None,
        wake_at: float | Unset | None = UNSET,
        lease_owner: str | None = None,
    ) -> ExecutionRecord:
        with self._write() as conn:
            execution_id, current = self._execution(conn, execution_arn)
            rules.require_running(current)
            rules.check_lease(current, lease_owner)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            _insert_events(conn, execution_id, rows)
            changes = rules.transition_changes(
                current,
                rows,
                status=status,
                output=output,
                error=error,
                cause=cause,
                stop_date=stop_date,
                wake_at=wake_at,
            )
            columns = dict(changes)
            if not isinstance(checkpoint, Unset):
                columns["checkpoint"] = rules.encode(checkpoint)
            self._write_execution_row(conn, execution_id, columns)
            return replace(current, **changes)

    def _write_execution_row(
        self, conn: sqlite3.Connection, execution_id: int, columns: dict[str, Any]
    ) -> None:
        """The last step of a transition, after the events are inserted (a fault-injection point in tests)."""
        for statement, values in execution_writes(execution_id, columns, "?"):
            conn.execute(statement, values)

    def redrive_execution(
        self, execution_arn: str, events: Sequence[rules.EventLike], checkpoint: Any, *, now: float
    ) -> ExecutionRecord:
        with self._write() as conn:
            execution_id, current = self._execution(conn, execution_arn)
            rules.check_redrivable(current)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            _insert_events(conn, execution_id, rows)
            changes = rules.redrive_changes(current, rows, now)
            self._write_execution_row(conn, execution_id, {**changes, "checkpoint": rules.encode(checkpoint)})
            return replace(current, **changes)

    def get_history(
        self,
        execution_arn: str,
        *,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[dict[str, Any]]:
        with self._read() as conn:
            execution_id = self._execution_column(conn, execution_arn, "id")
            sql, params = rules.history_query(execution_id, after_id, before_id, limit, reverse, "?")
            bodies = [row[0] for row in conn.execute(sql, params)]
        return [json.loads(body) for body in bodies]

    def count_events(self, execution_arn: str) -> int:
        with self._read() as conn:
            return self._execution_column(conn, execution_arn, "last_event_id")

    # ------------------------------------------------------------ leases, timers

    def claim(self, worker_id: str, *, lease_seconds: float, limit: int, now: float) -> list[ExecutionRecord]:
        if limit <= 0:
            return []
        with self._write() as conn:
            ids = [row[0] for row in conn.execute(_CLAIMABLE, {"now": now, "limit": limit})]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            conn.execute(
                "UPDATE executions SET lease_owner = ?, lease_expires_at = ?, queued = 0, wake_at = NULL "
                f"WHERE id IN ({marks})",
                (worker_id, now + lease_seconds, *ids),
            )
            rows = conn.execute(f"SELECT e.id, {_FULL} WHERE e.id IN ({marks})", ids).fetchall()
        by_id = {row[0]: _execution_from_row(row[1:]) for row in rows}
        for execution_id, record in by_id.items():
            self._inputs.put(execution_id, record.arn, record.input)
        return [by_id[i] for i in ids]

    def acquire(
        self, worker_id: str, execution_arn: str, *, lease_seconds: float, now: float
    ) -> ExecutionRecord:
        with self._write() as conn:
            execution_id, e = self._execution(conn, execution_arn)
            if e.status is not ExecutionStatus.RUNNING:
                raise ExecutionNotRunning(execution_arn, e.status.value)
            held_by_other = e.lease_owner not in (None, worker_id)
            if held_by_other and e.lease_expires_at is not None and e.lease_expires_at > now:
                raise ConflictError(f"worker '{e.lease_owner}' holds '{execution_arn}'")
            conn.execute(
                "UPDATE executions SET lease_owner = ?, lease_expires_at = ?, queued = 0, wake_at = NULL "
                "WHERE id = ?",
                (worker_id, now + lease_seconds, execution_id),
            )
        return replace(
            e, lease_owner=worker_id, lease_expires_at=now + lease_seconds, queued=False, wake_at=None
        )

    def renew(
        self, worker_id: str, execution_arns: Sequence[str], lease_seconds: float, now: float
    ) -> list[str]:
        if not execution_arns:
            return []
        marks = ",".join("?" * len(execution_arns))
        with self._write() as conn:
            held = {
                row[0]
                for row in conn.execute(
                    f"UPDATE executions SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'RUNNING' "
                    f"AND arn IN ({marks}) RETURNING arn",
                    (now + lease_seconds, worker_id, *execution_arns),
                )
            }
        return [arn for arn in execution_arns if arn in held]

    def release(self, worker_id: str, execution_arn: str, wake_at: float | None = None) -> None:
        with self._write() as conn:
            execution_id, e = self._execution(conn, execution_arn)
            if e.status is not ExecutionStatus.RUNNING:
                return
            if e.lease_owner not in (None, worker_id):
                raise ConflictError(
                    f"worker '{worker_id}' does not hold '{execution_arn}' ({e.lease_owner} does)"
                )
            conn.execute(
                "UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL, wake_at = coalesce(?, wake_at) "
                "WHERE id = ?",
                (wake_at, execution_id),
            )

    def next_wake_at(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT min(t) FROM ("
                " SELECT min(wake_at) AS t FROM executions"
                "  WHERE wake_at IS NOT NULL AND lease_owner IS NULL AND status = 'RUNNING'"
                " UNION ALL"
                " SELECT min(lease_expires_at) FROM executions WHERE lease_owner IS NOT NULL AND status = 'RUNNING')"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def has_pending_work(self, now: float | None = None) -> bool:
        with self._read() as conn:
            row = conn.execute(rules.pending_work_query("queued = 1")).fetchone()
        return bool(row[0])

    # --------------------------------------------------------------- task tokens

    def put_task_token(
        self,
        token: str,
        execution_arn: str,
        state_entered_event_id: int,
        *,
        now: float,
        timeout_at: float | None = None,
        heartbeat_seconds: float | None = None,
    ) -> TaskTokenRecord:
        with self._write() as conn:
            execution_id = self._execution_column(conn, execution_arn, "id")
            existing = _token(conn, token)
            if existing is not None:
                return rules.check_token_repeat(existing, execution_arn, state_entered_event_id)
            record = rules.new_token(
                token, execution_arn, state_entered_event_id, now, timeout_at, heartbeat_seconds
            )
            conn.execute(
                "INSERT INTO task_tokens (token, execution_id, state_entered_event_id, status, created_at,"
                " timeout_at, heartbeat_seconds, heartbeat_deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    execution_id,
                    state_entered_event_id,
                    record.status.value,
                    now,
                    timeout_at,
                    heartbeat_seconds,
                    record.heartbeat_deadline,
                ),
            )
            return record

    def get_task_token(self, token: str) -> TaskTokenRecord:
        with self._read() as conn:
            found = _token(conn, token)
        if found is None:
            raise InvalidToken(token)
        return found

    def list_task_tokens(self, execution_arn: str) -> list[TaskTokenRecord]:
        with self._read() as conn:
            execution_id = self._execution_column(conn, execution_arn, "id")
            cursor = conn.execute(
                f"SELECT {_TOKEN_FIELDS} FROM task_tokens t JOIN executions e ON e.id = t.execution_id "
                "WHERE t.execution_id = ? ORDER BY t.created_at, t.token",
                (execution_id,),
            )
            return [_token_from_row(row) for row in cursor]

    def complete_task_token(self, token: str, outcome: TaskOutcome, *, now: float) -> TaskTokenRecord:
        with self._write() as conn:
            record = self._usable_token(conn, token)
            late = outcome.status is not TaskTokenStatus.TIMED_OUT and rules.is_past_deadline(record, now)
            done = _finish_token(conn, record, TaskOutcome.timed_out() if late else outcome, now)
        if late:  # raised after the commit: the timeout itself is recorded
            raise TaskTimedOut(token)
        return done

    def heartbeat_task_token(self, token: str, *, now: float) -> TaskTokenRecord:
        with self._write() as conn:
            record = self._usable_token(conn, token)
            late = rules.is_past_deadline(record, now)
            if late:
                _finish_token(conn, record, TaskOutcome.timed_out(), now)
            elif record.heartbeat_seconds is not None:
                record = replace(record, heartbeat_deadline=now + record.heartbeat_seconds)
                conn.execute(
                    "UPDATE task_tokens SET heartbeat_deadline = ? WHERE token = ?",
                    (record.heartbeat_deadline, token),
                )
        if late:
            raise TaskTimedOut(token)
        return record

    def _usable_token(self, conn: sqlite3.Connection, token: str) -> TaskTokenRecord:
        record = _token(conn, token)
        status = None
        if record is not None:
            status = ExecutionStatus(
                conn.execute(
                    "SELECT status FROM executions WHERE arn = ?", (record.execution_arn,)
                ).fetchone()[0]
            )
        return rules.check_token(token, record, status)

    # ------------------------------------------------------------------ helpers

    def _execution_or_none(self, conn: sqlite3.Connection, arn: str) -> tuple[int, ExecutionRecord] | None:
        """The execution's row id and record, its input from the cache when this store has read it."""
        row = conn.execute(
            f"SELECT e.id, {_E_FIELDS}, p.output FROM executions e"
            " JOIN execution_payloads p ON p.execution_id = e.id WHERE e.arn = ?",
            (arn,),
        ).fetchone()
        if row is None:
            return None
        execution_id = row[0]
        text = self._inputs.get(execution_id, arn)
        if text is None:
            text = conn.execute(
                "SELECT input FROM execution_payloads WHERE execution_id = ?", (execution_id,)
            ).fetchone()[0]
            self._inputs.put(execution_id, arn, text)  # committed: only StartExecution writes an input
        return execution_id, _execution_from_row((*row[1:], text))

    def _execution_column(self, conn: sqlite3.Connection, arn: str, column: str) -> int:
        """One integer column (`id`, `last_event_id`) of the execution's row, without its record."""
        row = conn.execute(f"SELECT {column} FROM executions WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise ExecutionDoesNotExist(arn, self._recent_names(conn))
        return int(row[0])

    def _execution(self, conn: sqlite3.Connection, arn: str) -> tuple[int, ExecutionRecord]:
        found = self._execution_or_none(conn, arn)
        if found is None:
            raise ExecutionDoesNotExist(arn, self._recent_names(conn))
        return found

    @staticmethod
    def _recent_names(conn: sqlite3.Connection) -> list[str]:
        cursor = conn.execute(
            "SELECT name FROM executions ORDER BY start_date DESC, id DESC LIMIT ?", (rules.RECENT_NAMES,)
        )
        return [row[0] for row in cursor]


def _insert_events(conn: sqlite3.Connection, execution_id: int, rows: Sequence[rules.EventRow]) -> None:
    conn.executemany(
        "INSERT INTO events (execution_id, id, previous_event_id, timestamp, type, body) VALUES (?, ?, ?, ?, ?, ?)",
        [(execution_id, *row) for row in rows],
    )


def _finish_token(
    conn: sqlite3.Connection, record: TaskTokenRecord, outcome: TaskOutcome, now: float
) -> TaskTokenRecord:
    """Record the outcome and queue the execution, so a worker resumes the waiting task."""
    conn.execute(
        "UPDATE task_tokens SET status = ?, output = ?, error = ?, cause = ?, completed_at = ? WHERE token = ?",
        (outcome.status.value, outcome.output, outcome.error, outcome.cause, now, record.token),
    )
    conn.execute("UPDATE executions SET queued = 1 WHERE arn = ?", (record.execution_arn,))
    return replace(
        record,
        status=outcome.status,
        output=outcome.output,
        error=outcome.error,
        cause=outcome.cause,
        completed_at=now,
    )


def _token(conn: sqlite3.Connection, token: str) -> TaskTokenRecord | None:
    row = conn.execute(
        f"SELECT {_TOKEN_FIELDS} FROM task_tokens t JOIN executions e ON e.id = t.execution_id WHERE t.token = ?",
        (token,),
    ).fetchone()
    return None if row is None else _token_from_row(row)


def _token_from_row(row: Sequence[Any]) -> TaskTokenRecord:
    return TaskTokenRecord(row[0], row[1], row[2], TaskTokenStatus(row[3]), *row[4:])


def _execution_from_row(row: Sequence[Any]) -> ExecutionRecord:
    """A record from `_EXECUTION_FIELDS` followed by the payload's output and input."""
    values = dict(zip(_RECORD_FIELDS, row, strict=True))
    values["status"] = ExecutionStatus(values["status"])
    values["queued"] = bool(values["queued"])
    for name in _REAL_FIELDS:  # SQLite may hand integral REALs back as ints
        if values[name] is not None:
            values[name] = float(values[name])
    return ExecutionRecord(**values)


def _machine(cursor: sqlite3.Cursor) -> StateMachineRecord | None:
    row = cursor.fetchone()
    return None if row is None else _machine_from_row(row)


def _machine_from_row(row: Sequence[Any]) -> StateMachineRecord:
    values = list(row)
    values[3] = StateMachineType(values[3])
    return StateMachineRecord(*values)
