"""An execution's large values beside its row, for both SQL stores.

The `executions` row is rewritten by every transition, claim and lease renewal, and
both SQL stores read it at the start of each of them. So it holds only small fields:
the input and the output (which may be megabytes) live in `execution_payloads`, the
checkpoint (rewritten by every transition, but never needed to check or claim one) in
`execution_checkpoints`, each one row per execution keyed by its id (schema version 3).
In SQLite, which rewrites a whole row on any update and must walk a big value's overflow
pages to reach the columns after it, that makes a transition of an execution with a
10 MB input cost what it costs with a tiny one; PostgreSQL no longer reads and ships the
input back on every transition either.

A transition still returns the whole `ExecutionRecord`, input included. The input never
changes after StartExecution (a redrive keeps it), so each store keeps the inputs it has
read in an `InputCache` and reads one from the table only once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from engine.store.records import ExecutionStatus

#: The fields of a transition that are not columns of `executions`.
PAYLOAD_FIELDS: Final = frozenset({"output", "checkpoint"})

DEFAULT_CACHE_CHARS: Final = 64 * 1024 * 1024
DEFAULT_CACHE_ENTRIES: Final = 1024


class InputCache:
    """Execution inputs by row id, least recently used out first, bounded in entries and characters.

    Sound because an input is written once with its execution and rows are never deleted
    (so an id always names the same execution); the ARN is checked as well, so a row that
    some future clean-up deleted and reused could not hand back another execution's input.
    Thread-safe: PostgreSQL stores serve several threads.
    """

    def __init__(
        self, *, max_chars: int = DEFAULT_CACHE_CHARS, max_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> None:
        self.max_chars = max_chars
        self.max_entries = max_entries
        self._entries: OrderedDict[int, tuple[str, str]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, execution_id: int, arn: str) -> str | None:
        with self._lock:
            entry = self._entries.get(execution_id)
            if entry is None or entry[0] != arn:
                return None
            self._entries.move_to_end(execution_id)
            return entry[1]

    def put(self, execution_id: int, arn: str, text: str) -> None:
        """Remember a committed input (never one a transaction that may still roll back wrote)."""
        if len(text) > self.max_chars:
            return
        with self._lock:
            old = self._entries.pop(execution_id, None)
            if old is not None:
                self._chars -= len(old[1])
            self._entries[execution_id] = (arn, text)
            self._chars += len(text)
            while self._chars > self.max_chars or len(self._entries) > self.max_entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._chars -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def execution_writes(
    execution_id: int, columns: Mapping[str, Any], mark: str
) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that store a transition's changed fields; `mark` is the driver's placeholder.

    Field names come from `rules.transition_changes`/`rules.redrive_changes` (and "checkpoint",
    already encoded), never from a caller. The checkpoint row is written whole each time;
    `output` is written only when a transition sets it (closing, or a redrive clearing it).
    """
    writes: list[tuple[str, tuple[Any, ...]]] = []
    row = [(name, value) for name, value in columns.items() if name not in PAYLOAD_FIELDS]
    if row:
        assignments = ", ".join(f"{name} = {mark}" for name, _ in row)
        values = tuple(v.value if isinstance(v, ExecutionStatus) else v for _, v in row)
        writes.append((f"UPDATE executions SET {assignments} WHERE id = {mark}", (*values, execution_id)))
    if "output" in columns:
        writes.append(
            (
                f"UPDATE execution_payloads SET output = {mark} WHERE execution_id = {mark}",
                (columns["output"], execution_id),
            )
        )
    if "checkpoint" in columns:
        writes.append(
            (
                f"INSERT INTO execution_checkpoints (execution_id, checkpoint) VALUES ({mark}, {mark})"
                " ON CONFLICT (execution_id) DO UPDATE SET checkpoint = excluded.checkpoint",
                (execution_id, columns["checkpoint"]),
            )
        )
    return writes
