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

# Local SQS queues and SNS topics. Messages keep their send order in `id`; a receive scans the
# visible ones of one queue through `queue_messages_visible`, a delete finds its receipt directly.
_V2: Final = (
    """CREATE TABLE queues (
        name TEXT PRIMARY KEY,
        attributes TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        sequence INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE queue_messages (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        md5_body TEXT NOT NULL,
        message_attributes TEXT NOT NULL,
        md5_attributes TEXT,
        group_id TEXT,
        dedup_id TEXT,
        sequence_number TEXT,
        sent_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_receive_at REAL,
        receipt TEXT
    )""",
    "CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at, id)",
    "CREATE INDEX queue_messages_receipts ON queue_messages (receipt) WHERE receipt IS NOT NULL",
    """CREATE TABLE queue_dedup (
        queue TEXT NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sequence_number TEXT,
        expires_at REAL NOT NULL,
        PRIMARY KEY (queue, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE topics (
        name TEXT PRIMARY KEY,
        arn TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at REAL NOT NULL,
        sequence INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE topic_dedup (
        topic TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
        key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sequence_number TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (topic, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE subscriptions (
        arn TEXT PRIMARY KEY,
        topic TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX subscriptions_by_topic ON subscriptions (topic, created_at)",
)

# An execution's large values leave its row (see `engine.store.payloads`): SQLite rewrites a whole
# row on every UPDATE, and every transition, claim and lease renewal updates `executions`. The
# output comes before the input so that reading it (small or NULL) never walks the input's overflow
# pages. Existing rows keep their values; an execution without a checkpoint has no row in
# `execution_checkpoints`.
_V3: Final = (
    """CREATE TABLE execution_payloads (
        execution_id INTEGER PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        output TEXT,
        input TEXT NOT NULL
    )""",
    """CREATE TABLE execution_checkpoints (
        execution_id INTEGER PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        checkpoint TEXT NOT NULL
    )""",
    "INSERT INTO execution_payloads (execution_id, output, input) SELECT id, output, input FROM executions",
    "INSERT INTO execution_checkpoints (execution_id, checkpoint)"
    " SELECT id, checkpoint FROM executions WHERE checkpoint IS NOT NULL",
    "ALTER TABLE executions DROP COLUMN input",
    "ALTER TABLE executions DROP COLUMN output",
    "ALTER TABLE executions DROP COLUMN checkpoint",
)

#: (version, description, statements), in order. Never edit a released step; add the next one.
MIGRATIONS: Final[tuple[tuple[int, str, tuple[str, ...]], ...]] = (
    (1, "state machines, executions, history events, task tokens", _V1),
    (2, "local SQS queues and SNS topics", _V2),
    (3, "execution input, output and checkpoint in tables of their own", _V3),
)

LATEST_VERSION: Final = MIGRATIONS[-1][0]
