"""The fleet store: PostgreSQL, shared by any number of worker and server processes on any machines.

Same protocol, same answers as SQLite (the decisions are `rules`'), different locking:
SQLite serialises every write behind one file lock; here each write locks only the
rows it changes (`FOR NO KEY UPDATE` on the execution), and a claim takes runnable
executions with `FOR UPDATE SKIP LOCKED`, so workers never wait for each other's
claims and never get the same execution. A transition is one transaction; a lease is
a row's `lease_owner`/`lease_expires_at`, checked by every commit.

Idle workers block in `wait_for_work`, which wakes on a LISTEN/NOTIFY channel: starting
an execution, completing a task token, redriving, and releasing an execution with a
timer all NOTIFY, so an idle fleet begins a started execution within milliseconds, not
a poll period later. Polling stays as the fallback (timers coming due, a lost listener).

psycopg errors are translated to the store's exceptions here and nowhere else.
URL: `postgresql://user:password@host:5432/db?schema=statelane&pool_max=8` plus any
libpq parameter (`sslmode`, `connect_timeout`, `application_name`...).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import select
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import unquote, urlsplit, urlunsplit

try:
    import psycopg
    import psycopg_pool
    from psycopg import errors as pg_errors
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "PostgreSQL stores need psycopg 3 and psycopg-pool: pip install 'statelane[postgres]'"
    ) from exc

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
from engine.store.postgres_queues import PostgresQueues
from engine.store.postgres_schema import LATEST_VERSION, MIGRATION_LOCK, MIGRATIONS
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

# One column layout and one row decoder for both SQL stores: a row means the same record.
from engine.store.sqlite import (
    _E_FIELDS,
    _FULL,
    _MACHINE_FIELDS,
    _TOKEN_FIELDS,
    _execution_from_row,
    _machine_from_row,
    _token_from_row,
)

#: Set (to anything) to make the store record every lease grant, renewal, release and commit
#: in the `lease_log` table, in the same transaction (fault tests check it for overlaps).
LEASE_LOG_ENV: Final = "STATELANE_LEASE_LOG"
DEFAULT_SCHEMA: Final = "statelane"
DEFAULT_POOL_MAX: Final = 8
DEFAULT_CONNECT_TIMEOUT: Final = 10
_REVISION_CACHE: Final = 256

_OUR_OPTIONS: Final = ("schema", "pool_min", "pool_max")
_SCHEMA_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_RUNNING: Final = ExecutionStatus.RUNNING.value
_REVISION_FIELDS: Final = _MACHINE_FIELDS.replace("arn,", "state_machine_arn,", 1)

#: Oldest due first; each branch reads its own partial index and skips rows another worker
#: is claiming right now. The row re-check under the lock (READ COMMITTED's EvalPlanQual)
#: drops a row another transaction changed since the snapshot.
_CLAIM: Final = f"""
WITH queued AS (
    SELECT id, coalesce(redrive_date, start_date) AS due FROM executions
    WHERE queued AND lease_owner IS NULL AND status = 'RUNNING'
    ORDER BY coalesce(redrive_date, start_date), id LIMIT %(limit)s FOR NO KEY UPDATE SKIP LOCKED
), timers AS (
    SELECT id, wake_at AS due FROM executions
    WHERE wake_at <= %(now)s AND lease_owner IS NULL AND NOT queued AND status = 'RUNNING'
    ORDER BY wake_at, id LIMIT %(limit)s FOR NO KEY UPDATE SKIP LOCKED
), orphans AS (
    SELECT id, lease_expires_at AS due FROM executions
    WHERE lease_expires_at <= %(now)s AND lease_owner IS NOT NULL AND status = 'RUNNING'
    ORDER BY lease_expires_at, id LIMIT %(limit)s FOR NO KEY UPDATE SKIP LOCKED
), picked AS (
    SELECT id, due FROM (
        SELECT * FROM queued UNION ALL SELECT * FROM timers UNION ALL SELECT * FROM orphans
    ) runnable ORDER BY due, id LIMIT %(limit)s
)
UPDATE executions e SET lease_owner = %(worker)s, lease_expires_at = %(expires)s, queued = false, wake_at = NULL
FROM picked JOIN execution_payloads p ON p.execution_id = picked.id WHERE e.id = picked.id
RETURNING picked.due, e.id, {_E_FIELDS}, p.output, p.input
"""


@dataclass(frozen=True)
class PostgresTarget:
    """Where a PostgreSQL store lives, parsed from its URL."""

    #: What libpq connects with (the URL less statelane's own options).
    conninfo: str
    schema: str
    pool_min: int
    pool_max: int
    #: The URL without its password, safe to print (libpq finds the password in PGPASSWORD or ~/.pgpass).
    display: str

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this store (one per schema; identifiers stop at 63 bytes)."""
        name = f"statelane:{self.schema}"
        return name if len(name) <= 63 else "statelane:" + hashlib.sha1(self.schema.encode()).hexdigest()


def parse_url(url: str) -> PostgresTarget:
    """Split a `postgresql://` URL into libpq's part and statelane's options (schema, pool size)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise StoreError(f"not a PostgreSQL URL: {url!r}")
    # libpq's parameters pass through byte for byte (libpq percent-decodes them itself; '+' is not a space).
    pieces = [piece for piece in parts.query.split("&") if piece]
    ours = {
        unquote(key): unquote(value)
        for key, _, value in (piece.partition("=") for piece in pieces)
        if unquote(key) in _OUR_OPTIONS
    }
    rest = [piece for piece in pieces if unquote(piece.partition("=")[0]) not in _OUR_OPTIONS]
    schema = ours.get("schema", DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.fullmatch(schema):
        raise StoreError(
            f"schema {schema!r} in the store URL must be a plain identifier (letters, digits, _)"
        )
    try:
        pool_min = int(ours.get("pool_min", "1"))
        pool_max = int(ours.get("pool_max", str(DEFAULT_POOL_MAX)))
    except ValueError:
        raise StoreError(f"pool_min and pool_max in the store URL {url!r} must be whole numbers") from None
    if not 0 <= pool_min <= pool_max or pool_max < 1:
        raise StoreError(f"the store URL {url!r} needs 0 <= pool_min <= pool_max and pool_max >= 1")
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query="&".join(rest)))
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = userinfo.partition(":")[0] + "@" + hostport
    return PostgresTarget(conninfo, schema, pool_min, pool_max, urlunsplit(parts._replace(netloc=netloc)))


def migrate_database(url: str) -> tuple[int, int]:
    """Create or upgrade the store's schema (`statelane db migrate`): (version before, version after)."""
    target = parse_url(url)
    with _translating(target), _connect(target) as conn:
        return _migrate(conn, target)


class PostgresStore(PostgresQueues):
    """The store in a PostgreSQL schema. Thread-safe (a connection pool); open one per process."""

    def __init__(
        self, url: str, *, create: bool = True, read_only: bool = False, ids: IdSource | None = None
    ) -> None:
        self._target = target = parse_url(url)
        self.url = target.display
        self.read_only = read_only
        self._ids = ids or IdSource()
        self._lease_log = bool(os.environ.get(LEASE_LOG_ENV))
        self._wake = _Listener(target)
        self._local = threading.local()
        self._revisions: dict[tuple[str, str], StateMachineRecord] = {}
        self._inputs = InputCache()
        with _translating(target), _connect(target) as conn:
            version = _identify(conn, target)
            if version == 0 and (read_only or not create):
                raise StoreNotFound(
                    f"no statelane store in schema '{target.schema}' of {target.display} (nothing has run "
                    "with this store yet; `statelane db migrate --db URL` creates it)"
                )
            if version < LATEST_VERSION:
                if read_only:
                    raise StoreReadOnly(
                        f"the store {target.display} has schema {version} and needs upgrading to "
                        f"{LATEST_VERSION}, which a read-only store cannot do"
                    )
                _migrate(conn, target)
        self._pool = psycopg_pool.ConnectionPool(
            target.conninfo,
            min_size=target.pool_min,
            max_size=target.pool_max,
            kwargs={"autocommit": True, **_connect_defaults(target)},
            configure=self._configure,
            check=_check_idle_connection,
            open=False,
            name=f"statelane:{target.schema}",
        )
        with _translating(target):
            self._pool.open(wait=True, timeout=DEFAULT_CONNECT_TIMEOUT)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self._target.schema)))
        if self.read_only:
            conn.execute("SET default_transaction_read_only = on")

    def close(self) -> None:
        self._wake.stop()
        self._pool.close()

    @property
    def schema_version(self) -> int:
        with self._read() as cur:
            row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction; rolled back on any error, psycopg's translated to the store's."""
        with (
            _translating(self._target),
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            yield cur

    @contextlib.contextmanager
    def _pipelined(self) -> Iterator[psycopg.Cursor[Any]]:
        """A `_write` whose statements go out without waiting for each other's results (libpq pipeline mode).

        BEGIN travels with the first query, and the writes after the last read travel with
        COMMIT: a transition costs two round trips instead of five. Only for bodies that
        read results with fetch*() (which waits for them), never `rowcount` of a write.
        Errors arrive at the next wait, at the latest at COMMIT, and roll everything back.
        """
        with (
            _translating(self._target),
            self._pool.connection() as conn,
            conn.pipeline(),
            conn.transaction(),
            conn.cursor() as cur,
        ):
            yield cur

    @contextlib.contextmanager
    def _read(self) -> Iterator[psycopg.Cursor[Any]]:
        """Autocommit reads: each statement sees the latest committed state."""
        with _translating(self._target), self._pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def _notify(self, cur: psycopg.Cursor[Any]) -> None:
        """Wake idle workers when this transaction commits (a rolled-back one notifies nobody)."""
        cur.execute("SELECT pg_notify(%s, '')", (self._target.channel,))

    def _log(self, cur: psycopg.Cursor[Any], entries: Iterable[tuple[Any, ...]]) -> None:
        """Append (arn, worker, action, at, expires_at) rows to the lease log, if it is on."""
        if self._lease_log:
            cur.executemany(
                "INSERT INTO lease_log (execution_arn, worker, action, at, expires_at) VALUES (%s, %s, %s, %s, %s)",
                list(entries),
            )

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
        with self._write() as cur:
            # Two processes registering the same new machine at once: one creates, one sees it.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("state_machine:" + name,))
            current = _machine(
                cur.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines WHERE name = %s", (name,))
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
            cur.execute("DELETE FROM state_machines WHERE name = %s OR arn = %s", (record.name, record.arn))
            cur.execute(f"INSERT INTO state_machines ({_MACHINE_FIELDS}) VALUES ({_marks(8)})", values)
            cur.execute(
                f"INSERT INTO state_machine_revisions ({_REVISION_FIELDS}) VALUES ({_marks(8)})", values
            )
            return record

    def get_state_machine(self, ref: str) -> StateMachineRecord:
        with self._read() as cur:
            return self._machine_by_ref(cur, ref)

    def _machine_by_ref(self, cur: psycopg.Cursor[Any], ref: str) -> StateMachineRecord:
        column = "arn" if ref.startswith("arn:") else "name"
        found = _machine(
            cur.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines WHERE {column} = %s", (ref,))
        )
        if found is None:
            known = [row[0] for row in cur.execute("SELECT name FROM state_machines ORDER BY name")]
            raise StateMachineDoesNotExist(ref, known)
        return found

    def get_revision(self, state_machine_arn: str, revision_id: str) -> StateMachineRecord:
        # A revision never changes once written: every claim of a fleet's worker reads one, so keep them.
        key = (state_machine_arn, revision_id)
        cached = self._revisions.get(key)
        if cached is not None:
            return cached
        with self._read() as cur:
            found = _machine(
                cur.execute(
                    f"SELECT {_REVISION_FIELDS} FROM state_machine_revisions"
                    " WHERE state_machine_arn = %s AND revision_id = %s",
                    (state_machine_arn, revision_id),
                )
            )
        if found is None:
            raise StateMachineDoesNotExist(state_machine_arn)
        if len(self._revisions) >= _REVISION_CACHE:
            self._revisions.clear()
        self._revisions[key] = found
        return found

    def list_state_machines(self) -> list[StateMachineRecord]:
        with self._read() as cur:
            cur.execute(f"SELECT {_MACHINE_FIELDS} FROM state_machines ORDER BY name")
            return [_machine_from_row(row) for row in cur]

    def delete_state_machine(self, ref: str) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM state_machines WHERE arn = %s", (self._machine_by_ref(cur, ref).arn,))

    # ---------------------------------------------------------------- executions

    def start_execution(
        self, state_machine: str, name: str, input: str, *, now: float, queued: bool = True
    ) -> Started:
        with self._write() as cur:
            machine = self._machine_by_ref(cur, state_machine)
            arn = rules.execution_arn(machine.arn, name)
            inserted = cur.execute(
                "INSERT INTO executions (arn, name, state_machine_arn, revision_id, status, start_date, queued)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (arn) DO NOTHING RETURNING id",
                (arn, name, machine.arn, machine.revision_id, _RUNNING, now, queued),
            ).fetchone()
            if inserted is None:  # the name is taken (perhaps by a concurrent start that just committed)
                return Started(rules.check_start(self._execution(cur, arn)[1], input), False)
            cur.execute(
                "INSERT INTO execution_payloads (execution_id, input) VALUES (%s, %s)", (inserted[0], input)
            )
            if queued:
                self._notify(cur)
        self._inputs.put(inserted[0], arn, input)  # committed
        return Started(rules.new_execution(machine, name, input, now, queued), True)

    def get_execution(self, ref: str) -> ExecutionRecord:
        with self._read() as cur:
            if ref.startswith("arn:"):
                return self._execution(cur, ref)[1]
            exact = cur.execute("SELECT name, arn FROM executions WHERE name = %s", (ref,)).fetchall()
            prefixed = cur.execute(
                "SELECT name, arn FROM executions WHERE name >= %s AND name < %s LIMIT 50",
                (ref, rules.prefix_upper_bound(ref)),
            ).fetchall()
            arn = rules.pick_execution(ref, exact, prefixed, self._recent_names(cur))
            return self._execution(cur, arn)[1]

    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        state_machine: str | None = None,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        where: list[str] = []
        params: list[Any] = []
        with self._read() as cur:
            if status is not None:
                where.append("e.status = %s")
                params.append(status.value)
            if state_machine is not None:
                where.append("e.state_machine_arn = %s")
                params.append(self._machine_by_ref(cur, state_machine).arn)
            query = f"SELECT {_FULL}"
            if where:
                query += " WHERE " + " AND ".join(where)
            query += " ORDER BY e.start_date DESC, e.id DESC"
            if limit is not None:
                query += f" LIMIT {int(limit)}"
            cur.execute(query, params)
            return [_execution_from_row(row) for row in cur]

    def load_checkpoint(self, execution_arn: str) -> Any:
        with self._read() as cur:
            row = cur.execute(
                "SELECT c.checkpoint FROM executions e"
                " LEFT JOIN execution_checkpoints c ON c.execution_id = e.id WHERE e.arn = %s",
                (execution_arn,),
            ).fetchone()
            if row is None:
                raise ExecutionDoesNotExist(execution_arn, self._recent_names(cur))
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
        with self._pipelined() as cur:
            execution_id, current = self._execution(cur, execution_arn, lock=True)
            rules.require_running(current)
            rules.check_lease(current, lease_owner)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            _insert_events(cur, execution_id, rows)
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
            self._write_execution_row(cur, execution_id, columns)
            if lease_owner is not None or "stop_date" in changes:
                at = rows[-1].timestamp if rows else changes.get("stop_date")
                action = "close" if "stop_date" in changes else "commit"
                self._log(cur, [(execution_arn, lease_owner, action, at, None)])
            return replace(current, **changes)

    def _write_execution_row(
        self, cur: psycopg.Cursor[Any], execution_id: int, columns: dict[str, Any]
    ) -> None:
        """The last step of a transition, after the events are inserted (a fault-injection point in tests)."""
        for statement, values in execution_writes(execution_id, columns, "%s"):
            cur.execute(statement, values)

    def redrive_execution(
        self, execution_arn: str, events: Sequence[rules.EventLike], checkpoint: Any, *, now: float
    ) -> ExecutionRecord:
        with self._write() as cur:
            execution_id, current = self._execution(cur, execution_arn, lock=True)
            rules.check_redrivable(current)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            _insert_events(cur, execution_id, rows)
            changes = rules.redrive_changes(current, rows, now)
            self._write_execution_row(cur, execution_id, {**changes, "checkpoint": rules.encode(checkpoint)})
            self._notify(cur)
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
        with self._read() as cur:
            execution_id = self._execution_column(cur, execution_arn, "id")
            query, params = rules.history_query(execution_id, after_id, before_id, limit, reverse, "%s")
            bodies = [row[0] for row in cur.execute(query, params)]
        return [json.loads(body) for body in bodies]

    def count_events(self, execution_arn: str) -> int:
        with self._read() as cur:
            return self._execution_column(cur, execution_arn, "last_event_id")

    # ------------------------------------------------------------ leases, timers

    def claim(self, worker_id: str, *, lease_seconds: float, limit: int, now: float) -> list[ExecutionRecord]:
        self._local.seen = self._wake.generation  # a NOTIFY from here on ends this thread's next wait
        if limit <= 0:
            return []
        expires = now + lease_seconds
        with self._pipelined() as cur:
            rows = cur.execute(
                _CLAIM, {"limit": limit, "now": now, "worker": worker_id, "expires": expires}
            ).fetchall()
            rows.sort(key=lambda row: (row[0], row[1]))
            claimed = [_execution_from_row(row[2:]) for row in rows]
            self._log(cur, [(e.arn, worker_id, "claim", now, expires) for e in claimed])
        for row, record in zip(rows, claimed, strict=True):
            self._inputs.put(row[1], record.arn, record.input)
        return claimed

    def acquire(
        self, worker_id: str, execution_arn: str, *, lease_seconds: float, now: float
    ) -> ExecutionRecord:
        with self._write() as cur:
            execution_id, e = self._execution(cur, execution_arn, lock=True)
            if e.status is not ExecutionStatus.RUNNING:
                raise ExecutionNotRunning(execution_arn, e.status.value)
            held_by_other = e.lease_owner not in (None, worker_id)
            if held_by_other and e.lease_expires_at is not None and e.lease_expires_at > now:
                raise ConflictError(f"worker '{e.lease_owner}' holds '{execution_arn}'")
            cur.execute(
                "UPDATE executions SET lease_owner = %s, lease_expires_at = %s, queued = false, wake_at = NULL"
                " WHERE id = %s",
                (worker_id, now + lease_seconds, execution_id),
            )
            self._log(cur, [(execution_arn, worker_id, "acquire", now, now + lease_seconds)])
        return replace(
            e, lease_owner=worker_id, lease_expires_at=now + lease_seconds, queued=False, wake_at=None
        )

    def renew(
        self, worker_id: str, execution_arns: Sequence[str], lease_seconds: float, now: float
    ) -> list[str]:
        if not execution_arns:
            return []
        expires = now + lease_seconds
        with self._pipelined() as cur:
            held = {
                row[0]
                for row in cur.execute(
                    "UPDATE executions SET lease_expires_at = %s WHERE lease_owner = %s AND status = 'RUNNING'"
                    " AND arn = ANY(%s) RETURNING arn",
                    (expires, worker_id, list(execution_arns)),
                )
            }
            self._log(cur, [(arn, worker_id, "renew", now, expires) for arn in sorted(held)])
        return [arn for arn in execution_arns if arn in held]

    def release(self, worker_id: str, execution_arn: str, wake_at: float | None = None) -> None:
        with self._pipelined() as cur:
            execution_id, e = self._execution(cur, execution_arn, lock=True)
            if e.status is not ExecutionStatus.RUNNING:
                return
            if e.lease_owner not in (None, worker_id):
                raise ConflictError(
                    f"worker '{worker_id}' does not hold '{execution_arn}' ({e.lease_owner} does)"
                )
            cur.execute(
                "UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL,"
                " wake_at = coalesce(%s, wake_at) WHERE id = %s",
                (wake_at, execution_id),
            )
            self._log(cur, [(execution_arn, worker_id, "release", None, None)])
            if e.queued or wake_at is not None or e.wake_at is not None:
                # Runnable now (a token completed while it ran) or a new timer: idle workers re-check.
                self._notify(cur)

    def next_wake_at(self) -> float | None:
        with self._read() as cur:
            row = cur.execute(
                "SELECT least("
                " (SELECT min(wake_at) FROM executions"
                "   WHERE wake_at IS NOT NULL AND lease_owner IS NULL AND status = 'RUNNING'),"
                " (SELECT min(lease_expires_at) FROM executions WHERE lease_owner IS NOT NULL AND status = 'RUNNING'))"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def has_pending_work(self, now: float | None = None) -> bool:
        with self._read() as cur:
            row = cur.execute(rules.pending_work_query("queued")).fetchone()
        return bool(row and row[0])

    def wait_for_work(self, timeout: float) -> bool:
        """Block until something may have become runnable (a NOTIFY) or `timeout` passes.

        A notification that arrived since this thread's last `claim` ends the wait at once,
        so none is lost between "found nothing" and "wait". True when woken by one.
        """
        seen = getattr(self._local, "seen", None)
        woken, self._local.seen = self._wake.wait(seen, timeout)
        return woken

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
        record = rules.new_token(
            token, execution_arn, state_entered_event_id, now, timeout_at, heartbeat_seconds
        )
        with self._write() as cur:
            execution_id = self._execution_column(cur, execution_arn, "id")
            inserted = cur.execute(
                "INSERT INTO task_tokens (token, execution_id, state_entered_event_id, status, created_at,"
                " timeout_at, heartbeat_seconds, heartbeat_deadline) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (token) DO NOTHING RETURNING token",
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
            ).fetchone()
            if inserted is None:
                existing = _token(cur, token)
                assert existing is not None
                return rules.check_token_repeat(existing, execution_arn, state_entered_event_id)
            return record

    def get_task_token(self, token: str) -> TaskTokenRecord:
        with self._read() as cur:
            found = _token(cur, token)
        if found is None:
            raise InvalidToken(token)
        return found

    def list_task_tokens(self, execution_arn: str) -> list[TaskTokenRecord]:
        with self._read() as cur:
            execution_id = self._execution_column(cur, execution_arn, "id")
            cur.execute(
                f"SELECT {_TOKEN_FIELDS} FROM task_tokens t JOIN executions e ON e.id = t.execution_id "
                "WHERE t.execution_id = %s ORDER BY t.created_at, t.token",
                (execution_id,),
            )
            return [_token_from_row(row) for row in cur]

    def complete_task_token(self, token: str, outcome: TaskOutcome, *, now: float) -> TaskTokenRecord:
        with self._write() as cur:
            record = self._usable_token(cur, token)
            late = outcome.status is not TaskTokenStatus.TIMED_OUT and rules.is_past_deadline(record, now)
            done = self._finish_token(cur, record, TaskOutcome.timed_out() if late else outcome, now)
        if late:  # raised after the commit: the timeout itself is recorded
            raise TaskTimedOut(token)
        return done

    def heartbeat_task_token(self, token: str, *, now: float) -> TaskTokenRecord:
        with self._write() as cur:
            record = self._usable_token(cur, token)
            late = rules.is_past_deadline(record, now)
            if late:
                self._finish_token(cur, record, TaskOutcome.timed_out(), now)
            elif record.heartbeat_seconds is not None:
                record = replace(record, heartbeat_deadline=now + record.heartbeat_seconds)
                cur.execute(
                    "UPDATE task_tokens SET heartbeat_deadline = %s WHERE token = %s",
                    (record.heartbeat_deadline, token),
                )
        if late:
            raise TaskTimedOut(token)
        return record

    def _usable_token(self, cur: psycopg.Cursor[Any], token: str) -> TaskTokenRecord:
        """The pending token, its execution row locked first and then the token's (one lock order:
        a worker closing the execution and a caller answering the token serialise, never deadlock)."""
        found = cur.execute("SELECT execution_id FROM task_tokens WHERE token = %s", (token,)).fetchone()
        if found is None:  # decided here: a token committed after this statement must not count as "gone"
            raise InvalidToken(token)
        row = cur.execute(
            "SELECT status FROM executions WHERE id = %s FOR NO KEY UPDATE", (found[0],)
        ).fetchone()
        status = None if row is None else ExecutionStatus(row[0])
        return rules.check_token(token, _token(cur, token, lock=True), status)

    def _finish_token(
        self, cur: psycopg.Cursor[Any], record: TaskTokenRecord, outcome: TaskOutcome, now: float
    ) -> TaskTokenRecord:
        """Record the outcome and queue the execution, so a worker resumes the waiting task."""
        cur.execute(
            "UPDATE task_tokens SET status = %s, output = %s, error = %s, cause = %s, completed_at = %s"
            " WHERE token = %s",
            (outcome.status.value, outcome.output, outcome.error, outcome.cause, now, record.token),
        )
        cur.execute("UPDATE executions SET queued = true WHERE arn = %s", (record.execution_arn,))
        self._notify(cur)
        return replace(
            record,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            cause=outcome.cause,
            completed_at=now,
        )

    # ------------------------------------------------------------------ helpers

    def _execution(
        self, cur: psycopg.Cursor[Any], arn: str, *, lock: bool = False
    ) -> tuple[int, ExecutionRecord]:
        """The execution's row id and record; `lock` holds its row until the transaction ends.

        The input comes from the cache when this store has read it (see `engine.store.payloads`).
        """
        suffix = " FOR NO KEY UPDATE OF e" if lock else ""
        row = cur.execute(
            f"SELECT e.id, {_E_FIELDS}, p.output FROM executions e"
            f" JOIN execution_payloads p ON p.execution_id = e.id WHERE e.arn = %s{suffix}",
            (arn,),
        ).fetchone()
        if row is None:
            raise ExecutionDoesNotExist(arn, self._recent_names(cur))
        execution_id = row[0]
        text = self._inputs.get(execution_id, arn)
        if text is None:
            found = cur.execute(
                "SELECT input FROM execution_payloads WHERE execution_id = %s", (execution_id,)
            ).fetchone()
            assert found is not None  # a payload row is inserted with its execution
            text = found[0]
            self._inputs.put(execution_id, arn, text)  # committed: only StartExecution writes an input
        return execution_id, _execution_from_row((*row[1:], text))

    def _execution_column(self, cur: psycopg.Cursor[Any], arn: str, column: str) -> int:
        """One integer column (`id`, `last_event_id`) of the execution's row, without its record."""
        row = cur.execute(f"SELECT {column} FROM executions WHERE arn = %s", (arn,)).fetchone()
        if row is None:
            raise ExecutionDoesNotExist(arn, self._recent_names(cur))
        return int(row[0])

    @staticmethod
    def _recent_names(cur: psycopg.Cursor[Any]) -> list[str]:
        cur.execute(
            "SELECT name FROM executions ORDER BY start_date DESC, id DESC LIMIT %s", (rules.RECENT_NAMES,)
        )
        return [row[0] for row in cur]


# ---------------------------------------------------------------- connections and schema


def _check_idle_connection(conn: psycopg.Connection[Any]) -> None:
    """On checkout: is this pooled connection still alive? (After a server restart none are.)

    An idle connection has nothing to read unless the server closed it, so a zero-timeout
    poll costs microseconds; only then is the server asked, and a dead connection raises,
    which makes the pool open a fresh one instead of failing the caller's transaction.
    """
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        conn.execute("SELECT 1")


def _connect_defaults(target: PostgresTarget) -> dict[str, Any]:
    """libpq defaults statelane adds unless the URL sets them: give up on a dead server in seconds."""
    return {} if "connect_timeout=" in target.conninfo else {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}


def _connect(target: PostgresTarget) -> psycopg.Connection[Any]:
    return psycopg.connect(target.conninfo, autocommit=True, **_connect_defaults(target))


def _identify(conn: psycopg.Connection[Any], target: PostgresTarget) -> int:
    """The schema version of our store (0: no such schema, or an empty one); StoreCorrupt for anybody else's."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
            (target.schema,),
        )
    ]
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise StoreCorrupt(
            f"schema '{target.schema}' of {target.display} holds tables that are not a statelane store "
            f"({', '.join(tables[:8])}); statelane will not change them: choose another ?schema= in the URL"
        )
    query = sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(
        sql.Identifier(target.schema)
    )
    row = conn.execute(query).fetchone()
    version = int(row[0]) if row else 0
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"{target.display} (schema '{target.schema}') has store schema {version}, written by a newer "
            f"statelane; this one knows up to {LATEST_VERSION}: upgrade statelane"
        )
    return version


def _migrate(conn: psycopg.Connection[Any], target: PostgresTarget) -> tuple[int, int]:
    """Apply the missing migrations in one transaction, under a lock that makes concurrent openers queue."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        before = _identify(conn, target)  # again, under the lock: another process may have migrated
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(target.schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(target.schema)))
        for number, description, statements in MIGRATIONS:
            if number <= before:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)", (number, description)
            )
    return before, LATEST_VERSION


@contextlib.contextmanager
def _translating(target: PostgresTarget) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise _translate(exc, target) from exc


def _translate(exc: psycopg.Error, target: PostgresTarget) -> StoreError:
    where = target.display
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(
        exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure | pg_errors.LockNotAvailable
    ):
        return StoreBusy(f"the store {where} was busy ({text}); nothing was written, try again")
    if isinstance(exc, pg_errors.QueryCanceled):
        return StoreBusy(f"the store {where} did not answer in time ({text}); nothing was written, try again")
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction | pg_errors.InsufficientPrivilege):
        return StoreReadOnly(f"cannot write the store {where}: {text}")
    if isinstance(exc, pg_errors.DiskFull | pg_errors.OutOfMemory | pg_errors.ProgramLimitExceeded):
        return StoreFull(
            f"cannot write the store {where}: the server is out of space ({text}); "
            "the last transaction was rolled back, committed data is intact"
        )
    if isinstance(exc, psycopg.IntegrityError):
        return ConflictError(f"a concurrent write to {where} conflicted with this one ({text})")
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(
            f"cannot reach the PostgreSQL store at {where} ({text}); is the server running and the URL right?"
        )
    return StoreError(f"the store {where} failed: {text}")


# ---------------------------------------------------------------- rows


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


@functools.lru_cache(maxsize=64)
def _insert_events_statement(count: int) -> str:
    """One INSERT for `count` events: a few shapes recur, so each is prepared once per connection."""
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * count)
    return f"INSERT INTO events (execution_id, id, previous_event_id, timestamp, type, body) VALUES {rows}"


def _insert_events(cur: psycopg.Cursor[Any], execution_id: int, rows: Sequence[rules.EventRow]) -> None:
    if rows:
        cur.execute(_insert_events_statement(len(rows)), [v for row in rows for v in (execution_id, *row)])


def _token(cur: psycopg.Cursor[Any], token: str, *, lock: bool = False) -> TaskTokenRecord | None:
    suffix = " FOR UPDATE OF t" if lock else ""
    row = cur.execute(
        f"SELECT {_TOKEN_FIELDS} FROM task_tokens t JOIN executions e ON e.id = t.execution_id"
        f" WHERE t.token = %s{suffix}",
        (token,),
    ).fetchone()
    return None if row is None else _token_from_row(row)


def _machine(cur: psycopg.Cursor[Any]) -> StateMachineRecord | None:
    row = cur.fetchone()
    return None if row is None else _machine_from_row(row)


# ---------------------------------------------------------------- LISTEN/NOTIFY


class _Listener:
    """One LISTEN connection per store, started by the first wait; every NOTIFY bumps `generation`.

    Waiters compare generations rather than consume notifications, so one NOTIFY wakes every
    idle worker thread of the process (they race to claim; SKIP LOCKED makes losing cheap).
    A lost connection is re-opened; the generation is bumped on (re)connecting, since
    notifications sent meanwhile were missed.
    """

    def __init__(self, target: PostgresTarget) -> None:
        self._target = target
        self._cond = threading.Condition()
        self.generation = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def wait(self, seen: int | None, timeout: float) -> tuple[bool, int]:
        """Wait for a generation past `seen` (None: past the current one); (woken, generation now)."""
        self._start()
        with self._cond:
            mark = self.generation if seen is None else seen
            woken = self._cond.wait_for(lambda: self.generation > mark, timeout=max(0.0, timeout))
            return woken, self.generation

    def _start(self) -> None:
        with self._cond:
            if self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="statelane-listen", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(2)

    def _bump(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                with _connect(self._target) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._target.channel)))
                    backoff = 0.1
                    self._bump()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self._bump()
            except psycopg.Error:
                self._stopping.wait(backoff)  # the server went away: waiters fall back to their timeouts
                backoff = min(backoff * 2, 5.0)
