"""The PostgreSQL schema, as ordered migrations, kept in step with the SQLite one.

Everything lives in one PostgreSQL schema (`statelane` unless the URL names another),
so a store can share a database with other applications and tests can each use a
fresh one. A schema is ours when it holds a `schema_version` table; a schema with
other tables and no `schema_version` is somebody else's and is refused, not altered.
Migration N brings version N-1 to N inside one transaction, under an advisory lock,
so workers starting together migrate once.

Text that is compared or sorted (names, ARNs, tokens) uses the "C" collation: byte
order of UTF-8 is code point order, as in SQLite and Python, so listings sort the same
and name-prefix range scans are exact whatever the database's locale.
"""

from __future__ import annotations

from typing import Final

#: `pg_advisory_xact_lock` key taken while migrating ("STLN", as SQLite's application id).
MIGRATION_LOCK: Final = 0x53544C4E

_V1: Final = (
    """CREATE TABLE schema_version (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE state_machines (
        arn text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        type text NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
        definition text NOT NULL,
        role_arn text NOT NULL,
        revision_id text NOT NULL,
        creation_date double precision NOT NULL,
        update_date double precision NOT NULL
    )""",
    # Revisions outlive their state machine: running executions keep the definition they started on.
    """CREATE TABLE state_machine_revisions (
        state_machine_arn text COLLATE "C" NOT NULL,
        revision_id text NOT NULL,
        name text COLLATE "C" NOT NULL,
        type text NOT NULL,
        definition text NOT NULL,
        role_arn text NOT NULL,
        creation_date double precision NOT NULL,
        update_date double precision NOT NULL,
        PRIMARY KEY (state_machine_arn, revision_id)
    )""",
    """CREATE TABLE executions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        arn text COLLATE "C" NOT NULL UNIQUE,
        name text COLLATE "C" NOT NULL,
        state_machine_arn text COLLATE "C" NOT NULL,
        revision_id text NOT NULL,
        status text NOT NULL CHECK (status IN
            ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE')),
        input text NOT NULL,
        output text,
        error text,
        cause text,
        start_date double precision NOT NULL,
        stop_date double precision,
        redrive_count integer NOT NULL DEFAULT 0,
        redrive_date double precision,
        checkpoint text,
        wake_at double precision,
        lease_owner text,
        lease_expires_at double precision,
        queued boolean NOT NULL DEFAULT false,
        last_event_id integer NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX executions_by_name ON executions (name)",
    "CREATE INDEX executions_by_start ON executions (start_date, id)",
    "CREATE INDEX executions_by_machine ON executions (state_machine_arn, start_date)",
    # The three ways an execution becomes claimable, each a partial index in the order a claim
    # reads it, so a claim costs the same with 10 or 100,000 parked executions.
    "CREATE INDEX executions_queued ON executions ((coalesce(redrive_date, start_date)), id)"
    " WHERE queued AND lease_owner IS NULL AND status = 'RUNNING'",
    "CREATE INDEX executions_timers ON executions (wake_at, id)"
    " WHERE wake_at IS NOT NULL AND lease_owner IS NULL AND status = 'RUNNING'",
    "CREATE INDEX executions_leases ON executions (lease_expires_at, id)"
    " WHERE lease_owner IS NOT NULL AND status = 'RUNNING'",
    """CREATE TABLE events (
        execution_id bigint NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        id integer NOT NULL,
        previous_event_id integer NOT NULL,
        timestamp double precision NOT NULL,
        type text NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (execution_id, id)
    )""",
    """CREATE TABLE task_tokens (
        token text COLLATE "C" PRIMARY KEY,
        execution_id bigint NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        state_entered_event_id integer NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT')),
        created_at double precision NOT NULL,
        timeout_at double precision,
        heartbeat_seconds double precision,
        heartbeat_deadline double precision,
        output text,
        error text,
        cause text,
        completed_at double precision
    )""",
    "CREATE INDEX task_tokens_by_execution ON task_tokens (execution_id)",
    # Written only when STATELANE_LEASE_LOG is set (fault tests): every grant, renewal, release
    # and commit of a lease, in the transaction that made it, so the log is exactly what happened.
    """CREATE TABLE lease_log (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        execution_arn text COLLATE "C" NOT NULL,
        worker text,
        action text NOT NULL CHECK (action IN ('claim', 'acquire', 'renew', 'release', 'commit', 'close')),
        at double precision,
        expires_at double precision,
        logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
)

# Local SQS queues and SNS topics (as SQLite's version 2). Messages keep their send order in `id`;
# a receive scans the visible ones of one queue through `queue_messages_visible`.
_V2: Final = (
    """CREATE TABLE queues (
        name text COLLATE "C" PRIMARY KEY,
        attributes text NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        sequence bigint NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE queue_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue text COLLATE "C" NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        message_id text NOT NULL,
        body text NOT NULL,
        md5_body text NOT NULL,
        message_attributes text NOT NULL,
        md5_attributes text,
        group_id text,
        dedup_id text,
        sequence_number text,
        sent_at double precision NOT NULL,
        visible_at double precision NOT NULL,
        receive_count integer NOT NULL DEFAULT 0,
        first_receive_at double precision,
        receipt text
    )""",
    "CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at, id)",
    "CREATE INDEX queue_messages_receipts ON queue_messages (receipt) WHERE receipt IS NOT NULL",
    """CREATE TABLE queue_dedup (
        queue text COLLATE "C" NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        key text NOT NULL,
        message_id text NOT NULL,
        sequence_number text,
        expires_at double precision NOT NULL,
        PRIMARY KEY (queue, key)
    )""",
    """CREATE TABLE topics (
        name text COLLATE "C" PRIMARY KEY,
        arn text NOT NULL,
        attributes text NOT NULL,
        created_at double precision NOT NULL,
        sequence bigint NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE topic_dedup (
        topic text COLLATE "C" NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
        key text NOT NULL,
        message_id text NOT NULL,
        sequence_number text NOT NULL,
        expires_at double precision NOT NULL,
        PRIMARY KEY (topic, key)
    )""",
    """CREATE TABLE subscriptions (
        id bigint GENERATED ALWAYS AS IDENTITY,
        arn text COLLATE "C" PRIMARY KEY,
        topic text COLLATE "C" NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
        protocol text NOT NULL,
        endpoint text NOT NULL,
        attributes text NOT NULL,
        created_at double precision NOT NULL
    )""",
    "CREATE INDEX subscriptions_by_topic ON subscriptions (topic, created_at, id)",
)

# An execution's large values leave its row, as in SQLite's version 3 (see `engine.store.payloads`):
# TOAST already keeps them out of line, but every transition read the whole row, input included,
# and shipped it back to the worker.
_V3: Final = (
    """CREATE TABLE execution_payloads (
        execution_id bigint PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        output text,
        input text NOT NULL
    )""",
    """CREATE TABLE execution_checkpoints (
        execution_id bigint PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
        checkpoint text NOT NULL
    )""",
    "INSERT INTO execution_payloads (execution_id, output, input) SELECT id, output, input FROM executions",
    "INSERT INTO execution_checkpoints (execution_id, checkpoint)"
    " SELECT id, checkpoint FROM executions WHERE checkpoint IS NOT NULL",
    "ALTER TABLE executions DROP COLUMN input, DROP COLUMN output, DROP COLUMN checkpoint",
)

#: (version, description, statements), in order. Never edit a released step; add the next one.
MIGRATIONS: Final[tuple[tuple[int, str, tuple[str, ...]], ...]] = (
    (1, "state machines, executions, history events, task tokens, lease log", _V1),
    (2, "local SQS queues and SNS topics", _V2),
    (3, "execution input, output and checkpoint in tables of their own", _V3),
)

LATEST_VERSION: Final = MIGRATIONS[-1][0]
