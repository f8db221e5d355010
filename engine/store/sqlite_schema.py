"""The SQLite schema, as ordered migrations applied on open.

Migration N brings a database at version N-1 to version N inside one
transaction; `schema_version` records each applied step. A database is ours when
its header carries `APPLICATION_ID` and it has a `schema_version` table; anything
else is refused rather than altered.
"""

from __future__ import annotations

from typing import Final

#: `PRAGMA application_id` of a statelane store: "STLN".
APPLICATION_ID: Final = 0x53544C4E

_V1: Final = (
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    """CREATE TABLE state_machines (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
        definition TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        creation_date REAL NOT NULL,
        update_date REAL NOT NULL
    )""",
    # Revisions outlive their state machine: running executions keep the definition they started on.
    """CREATE TABLE state_machine_revisions (
        state_machine_arn TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        definition TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        creation_date REAL NOT NULL,
        update_date REAL NOT NULL,
        PRIMARY KEY (state_machine_arn, revision_id)
    )""",
    """CREATE TABLE executions (
        id INTEGER PRIMARY KEY,
        arn TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        state_machine_arn TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE')),
        input TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT,
        start_date REAL NOT NULL,
        stop_date REAL,
        redrive_count INTEGER NOT NULL DEFAULT 0,
        redrive_date REAL,
        checkpoint TEXT,
        wake_at REAL,
        lease_owner TEXT,
        lease_expires_at REAL,
        queued INTEGER NOT NULL DEFAULT 0 CHECK (queued IN (0, 1)),
        last_event_id INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX executions_by_name ON executions (name)",
    "CREATE INDEX executions_by_start ON executions (start_date)",
    "CREATE INDEX executions_by_machine ON executions (state_machine_arn, start_date)",
    # The three ways an execution becomes claimable, each a small partial index, so a claim
    # costs the same with 10 or 100,000 parked executions.
    "CREATE INDEX executions_queued ON executions (start_date) WHERE queued = 1 AND lease_owner IS NULL",
    "CREATE INDEX executions_timers ON executions (wake_at) WHERE wake_at IS NOT NULL AND lease_owner IS NULL",
    "CREATE INDEX executions_leases ON executions (lease_expires_at) WHERE lease_owner IS NOT NULL",
    """CREATE TABLE events (
        execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        previous_event_id INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (execution_id, id)
    ) WITHOUT ROWID""",
    """CREATE TABLE task_tokens (
        token TEXT PRIMARY KEY,
        execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        state_entered_event_id INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT')),
        created_at REAL NOT NULL,
        timeout_at REAL,
        heartbeat_seconds REAL,
        heartbeat_deadline REAL,
        output TEXT,
        error TEXT,
        cause TEXT,
        completed_at REAL
    )""",
    "CREATE INDEX task_tokens_by_execution ON task_tokens (execution_id)",
)

#: (version, description, statements), in order. Never edit a released step; add the next one.
MIGRATIONS: Final[tuple[tuple[int, str, tuple[str, ...]], ...]] = (
    (1, "state machines, executions, history events, task tokens", _V1),
)

LATEST_VERSION: Final = MIGRATIONS[-1][0]
