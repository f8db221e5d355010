"""What the API keeps about resources that the execution store does not: tags, logging settings,
the mock test case an execution runs.

The store is about running executions; tags, a state machine's logging/tracing
configuration and Step Functions Local's test cases matter only to this API's callers, so they live in the server's own small
SQLite file next to the store (`statelane.db` -> `statelane.api.db`), or in memory
when the store is `memory://`. Keyed by ARN; deleting a state machine drops its rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS tags (arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (arn, key))",
    "CREATE TABLE IF NOT EXISTS machine_options (arn TEXT PRIMARY KEY, options TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS execution_test_cases (arn TEXT PRIMARY KEY, test_case TEXT NOT NULL)",
)


def meta_path_for(store_url: str) -> str:
    """Where the API's own file sits for a store URL (":memory:" for a memory store)."""
    scheme, sep, rest = store_url.partition("://")
    if sep and scheme.lower() != "sqlite":
        return ":memory:"
    location = rest.partition("?")[0][1:] if sep else store_url
    path = Path(location)
    return str(path.with_name(path.stem + ".api.db"))


class ServerMeta:
    """Tags and per-state-machine options; thread-safe (one connection, one lock)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._tx() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ tags

    def tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,))
            return dict(rows.fetchall())

    def tag(self, arn: str, tags: dict[str, str], *, limit: int | None = None) -> bool:
        """Add or overwrite tags; False (and nothing written) when the result would exceed `limit`."""
        with self._tx() as conn:
            current = {row[0] for row in conn.execute("SELECT key FROM tags WHERE arn = ?", (arn,))}
            if limit is not None and len(current | set(tags)) > limit:
                return False
            conn.executemany(
                "INSERT OR REPLACE INTO tags (arn, key, value) VALUES (?, ?, ?)",
                [(arn, key, value) for key, value in tags.items()],
            )
            return True

    def untag(self, arn: str, keys: list[str]) -> None:
        with self._tx() as conn:
            conn.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, key) for key in keys])

    # ------------------------------------------------------------------ options

    def options(self, arn: str) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute("SELECT options FROM machine_options WHERE arn = ?", (arn,)).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def set_options(self, arn: str, options: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO machine_options (arn, options) VALUES (?, ?)",
                (arn, json.dumps(options, sort_keys=True)),
            )

    # ------------------------------------------------------------------ mock test cases

    def test_case(self, execution_arn: str) -> str | None:
        """The mock test case the execution was started with (`<stateMachineArn>#<TestCase>`)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT test_case FROM execution_test_cases WHERE arn = ?", (execution_arn,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_test_case(self, execution_arn: str, test_case: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO execution_test_cases (arn, test_case) VALUES (?, ?)",
                (execution_arn, test_case),
            )

    def forget(self, arn: str) -> None:
        """A deleted state machine leaves nothing behind."""
        with self._tx() as conn:
            conn.execute("DELETE FROM tags WHERE arn = ?", (arn,))
            conn.execute("DELETE FROM machine_options WHERE arn = ?", (arn,))
