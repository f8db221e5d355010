"""Memory and SQLite stores answer every sequence of operations the same way (hypothesis-generated)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store_fixtures import DEFINITION, event

from engine.ids import IdSource
from engine.store import (
    UNSET,
    ExecutionStatus,
    MemoryStore,
    SqliteStore,
    StoreError,
    TaskOutcome,
)
from engine.store.base import Store

NAMES = ["a", "ab", "b", "ba"]
WORKERS = ["w1", "w2"]
TOKENS = ["t1", "t2", "t3"]
times = st.integers(0, 40).map(float)

operations = st.one_of(
    st.tuples(
        st.just("start"), st.sampled_from(NAMES), st.sampled_from(["{}", '{"x":1}']), times, st.booleans()
    ),
    st.tuples(st.just("claim"), st.sampled_from(WORKERS), st.integers(0, 3), st.integers(1, 10), times),
    st.tuples(
        st.just("renew"), st.sampled_from(WORKERS), st.lists(st.sampled_from(NAMES), max_size=3), times
    ),
    st.tuples(st.just("release"), st.sampled_from(WORKERS), st.sampled_from(NAMES), st.none() | times),
    st.tuples(
        st.just("commit"),
        st.sampled_from(NAMES),
        st.integers(0, 3),
        st.sampled_from([None, None, ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED]),
        st.sampled_from([UNSET, None, 10.0, 30.0]),
        st.sampled_from([None, "w1", "w2"]),
        st.sampled_from([0, 0, 0, -1, 1]),
    ),
    st.tuples(st.just("token"), st.sampled_from(TOKENS), st.sampled_from(NAMES), times, st.none() | times),
    st.tuples(st.just("complete"), st.sampled_from(TOKENS), st.booleans(), times),
    st.tuples(st.just("heartbeat"), st.sampled_from(TOKENS), times),
    st.tuples(st.just("redrive"), st.sampled_from(NAMES), times),
    st.tuples(
        st.just("lookup"), st.sampled_from(["a", "b", "c", "arn:aws:states:us-east-1:1:execution:M:a"])
    ),
)


def apply(store: Store, op: tuple[Any, ...]) -> Any:
    """Run one operation; its result, or the error it raised (type and message)."""
    arn = "arn:aws:states:us-east-1:123456789012:execution:M:"
    kind = op[0]
    actions: dict[str, Callable[[], Any]] = {
        "start": lambda: store.start_execution("M", op[1], op[2], now=op[3], queued=op[4]),
        "claim": lambda: store.claim(op[1], limit=op[2], lease_seconds=op[3], now=op[4]),
        "renew": lambda: store.renew(op[1], [arn + n for n in op[2]], 5, op[3]),
        "release": lambda: store.release(op[1], arn + op[2], op[3]),
        "commit": lambda: commit(store, arn + op[1], *op[2:]),
        "token": lambda: store.put_task_token(
            op[1], arn + op[2], 1, now=op[3], timeout_at=op[4], heartbeat_seconds=5
        ),
        "complete": lambda: store.complete_task_token(
            op[1], TaskOutcome.success("1") if op[2] else TaskOutcome.failure("E", "C"), now=op[3]
        ),
        "heartbeat": lambda: store.heartbeat_task_token(op[1], now=op[2]),
        "redrive": lambda: store.redrive_execution(
            arn + op[1],
            [event(store.count_events(arn + op[1]) + 1, "ExecutionRedriven")],
            {"r": 1},
            now=op[2],
        ),
        "lookup": lambda: store.get_execution(op[1]),
    }
    try:
        return actions[kind]()
    except (StoreError, ValueError) as exc:
        return (type(exc).__name__, str(exc))


def commit(
    store: Store, arn: str, count: int, status: Any, wake_at: Any, lease_owner: Any, offset: int
) -> Any:
    first = store.count_events(arn) + 1 + offset
    return store.commit_transition(
        arn,
        [event(first + i) for i in range(count)],
        {"n": first},
        status=status,
        wake_at=wake_at,
        lease_owner=lease_owner,
    )


def snapshot(store: Store) -> Any:
    executions = store.list_executions()
    return [
        (e, store.get_history(e.arn), store.load_checkpoint(e.arn), store.list_task_tokens(e.arn))
        for e in executions
    ], (store.next_wake_at(), store.has_pending_work())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, max_size=25))
def test_memory_and_sqlite_agree(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        memory = MemoryStore(ids=IdSource(seed=7))
        sqlite = SqliteStore(Path(folder) / "parity.db", ids=IdSource(seed=7))
        try:
            for s in (memory, sqlite):
                s.put_state_machine("M", DEFINITION, now=0.0)
            for op in ops:
                assert apply(memory, op) == apply(sqlite, op), op
            assert snapshot(memory) == snapshot(sqlite)
        finally:
            sqlite.close()
