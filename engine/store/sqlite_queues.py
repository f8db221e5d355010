"""Local queues and topics of the SQLite store (the rules and statements: engine.store.sql_queues).

A mixin of `SqliteStore`. Every write is one `BEGIN IMMEDIATE` transaction, so two
processes receiving from one queue never get the same message, and a FIFO send's
duplicate check and sequence number cannot race: no row locks are needed.
"""

from __future__ import annotations

from typing import ClassVar

from engine.store.sql_queues import SQLITE, QueueSql, SqlQueues


class SqliteQueues(SqlQueues):
    _queue_sql: ClassVar[QueueSql] = SQLITE
