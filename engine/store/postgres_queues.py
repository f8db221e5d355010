"""Local queues and topics of the PostgreSQL store (the rules and statements: engine.store.sql_queues).

A mixin of `PostgresStore`. Row locks do what SQLite's single writer does (see
engine.store.sql_queues), and every send wakes idle workers: a fleet's Parallel branch
tasks are messages (engine.fleet_tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from engine.store.sql_queues import POSTGRES, QueueSql, SqlQueues


class PostgresQueues(SqlQueues):
    _queue_sql: ClassVar[QueueSql] = POSTGRES
    _notify: Callable[[Any], None]

    def _sent(self, cur: Any) -> None:
        self._notify(cur)
