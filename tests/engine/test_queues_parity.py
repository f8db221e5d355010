"""The memory and SQLite stores agree on random sequences of queue operations."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.queues import Queues
from engine.store import MemoryStore, SqliteStore, Store

T0 = 1_700_000_000.0

operation = st.one_of(
    st.tuples(
        st.just("send"),
        st.sampled_from(["std", "f.fifo"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 3),
    ),
    st.tuples(
        st.just("receive"), st.sampled_from(["std", "f.fifo", "dlq"]), st.integers(1, 4), st.integers(0, 5)
    ),
    st.tuples(st.just("delete"), st.sampled_from(["std", "f.fifo", "dlq"]), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("advance"), st.just(""), st.integers(1, 8), st.just(0)),
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def replay(store: Store, operations: list[tuple[str, str, Any, int]]) -> list[Any]:
    clock = Clock()
    queues = Queues(store, clock=clock)
    queues.create("dlq")
    queues.create(
        "std", {"VisibilityTimeout": "3", "MessageRetentionPeriod": "60"}, dead_letter="dlq", max_receives=2
    )
    queues.create(
        "f.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "2"}
    )
    handles: dict[str, list[str]] = {"std": [], "f.fifo": [], "dlq": []}
    log: list[Any] = []
    for i, (kind, queue, value, extra) in enumerate(operations):
        if kind == "send":
            body = f"{value}{i if extra else ''}"  # repeats test FIFO deduplication
            queues.send(queue, body, group_id=value if queue.endswith(".fifo") else None)
        elif kind == "receive":
            got = queues.receive(queue, max=value, visibility_timeout=extra)
            handles[queue] = [m.receipt_handle for m in got]
            log.append([(m.body, m.attributes["ApproximateReceiveCount"]) for m in got])
        elif kind == "delete" and handles[queue]:
            queues.delete(queue, handles[queue][value % len(handles[queue])])
        elif kind == "advance":
            clock.now += value
        counts = {name: queues.attributes(name) for name in ("std", "f.fifo", "dlq")}
        log.append(
            {
                name: [c[f"ApproximateNumberOfMessages{suffix}"] for suffix in ("", "NotVisible", "Delayed")]
                for name, c in counts.items()
            }
        )
    return log


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=25))
def test_memory_and_sqlite_agree(operations: list[tuple[str, str, Any, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "p.db")
        try:
            assert replay(MemoryStore(), operations) == replay(sqlite, operations)
        finally:
            sqlite.close()
