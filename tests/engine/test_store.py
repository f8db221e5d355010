"""The store contract: one body of tests run against every implementation (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_store_fixtures import DEFINITION, T0, event, events, start, started_event
from test_store_postgres_fixtures import fresh_schema

from engine.history import HistoryEvent, JsonText
from engine.store import (
    AmbiguousExecution,
    ConflictError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    ExecutionNotRunning,
    ExecutionStatus,
    InvalidToken,
    MemoryStore,
    SqliteStore,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineType,
    Store,
    TaskDoesNotExist,
    TaskOutcome,
    TaskTimedOut,
    TaskTokenStatus,
)
from engine.store.errors import StoreError

KINDS = ["memory", "sqlite", "postgres"]


def make_store(kind: str, tmp_path: Path) -> Store:
    return MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "store.db")


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":  # a fresh schema per test; skipped, saying why, without a server
        from engine.store import open_store

        with fresh_schema() as url:
            s = open_store(url)
            yield s
            s.close()
        return
    s = make_store(request.param, tmp_path)
    yield s
    s.close()


def test_both_implementations_satisfy_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


# ------------------------------------------------------------------ state machines


def test_state_machine_revisions(store: Store) -> None:
    first = store.put_state_machine("Orders", DEFINITION, now=T0)
    assert first.arn == "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
    assert first.type is StateMachineType.STANDARD
    assert store.put_state_machine("Orders", DEFINITION, now=T0 + 1) == first  # idempotent repeat
    changed = DEFINITION.replace('"A"', '"B"')
    second = store.put_state_machine("Orders", changed, now=T0 + 2)
    assert second.revision_id != first.revision_id
    assert (second.creation_date, second.update_date) == (T0, T0 + 2)
    assert store.get_state_machine("Orders") == second
    assert store.get_state_machine(first.arn) == second
    assert store.get_revision(first.arn, first.revision_id).definition == DEFINITION
    assert [m.name for m in store.list_state_machines()] == ["Orders"]
    assert second.describe()["revisionId"] == second.revision_id


def test_state_machine_type_is_fixed_at_creation(store: Store) -> None:
    store.put_state_machine("Fast", DEFINITION, now=T0, type=StateMachineType.EXPRESS)
    with pytest.raises(StateMachineAlreadyExists, match=r"State Machine Already Exists: 'arn:.*:Fast'"):
        store.put_state_machine("Fast", DEFINITION, now=T0)


def test_unknown_state_machine_names_the_known_ones(store: Store) -> None:
    with pytest.raises(StateMachineDoesNotExist, match="no state machine named 'X'; the store has none yet"):
        store.get_state_machine("X")
    store.put_state_machine("B", DEFINITION, now=T0)
    store.put_state_machine("A", DEFINITION, now=T0)
    with pytest.raises(StateMachineDoesNotExist, match="no state machine named 'X'; known ones: A, B"):
        store.start_execution("X", "e", "{}", now=T0)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:X"
    with pytest.raises(StateMachineDoesNotExist, match=f"State Machine Does Not Exist: '{arn}'"):
        store.get_state_machine(arn)


def test_deleting_a_state_machine_keeps_its_executions_and_revisions(store: Store) -> None:
    e = start(store, "e1")
    store.delete_state_machine("M")
    with pytest.raises(StateMachineDoesNotExist):
        store.get_state_machine("M")
    assert store.get_execution("e1") == e
    assert store.get_revision(e.state_machine_arn, e.revision_id).definition == DEFINITION


# ------------------------------------------------------------------ executions


def test_lifecycle_start_claim_commit_finish(store: Store) -> None:
    e = start(store, "order-1", input='{"a": 1}')
    assert (e.status, e.queued, e.last_event_id) == (ExecutionStatus.RUNNING, True, 0)
    assert e.arn == "arn:aws:states:us-east-1:123456789012:execution:M:order-1"
    [claimed] = store.claim("w1", lease_seconds=30, limit=10, now=T0 + 1)
    assert (claimed.lease_owner, claimed.lease_expires_at, claimed.queued) == ("w1", T0 + 31, False)
    first = [started_event('{"a": 1}'), event(2)]
    after = store.commit_transition(e.arn, first, {"frames": ["A"]}, lease_owner="w1")
    assert after.last_event_id == 2 and after.status is ExecutionStatus.RUNNING
    assert store.load_checkpoint(e.arn) == {"frames": ["A"]}
    done = store.commit_transition(
        e.arn,
        [
            event(3, "PassStateExited", name="A", output={"a": 1}),
            event(4, "ExecutionSucceeded", output={"a": 1}),
        ],
        {"frames": []},
        status=ExecutionStatus.SUCCEEDED,
        output='{"a":1}',
        lease_owner="w1",
    )
    assert done.status is ExecutionStatus.SUCCEEDED
    assert done.stop_date == T0 + 4  # the closing event's timestamp
    assert (done.lease_owner, done.lease_expires_at, done.queued, done.wake_at) == (None, None, False, None)
    assert store.get_execution(e.arn) == done
    assert store.count_events(e.arn) == 4
    assert [ev["type"] for ev in store.get_history(e.arn)] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    described = done.describe(iso_dates=True)
    assert described["status"] == "SUCCEEDED" and described["output"] == '{"a":1}'
    assert described["input"] == '{"a": 1}' and described["redriveCount"] == 0
    assert described["startDate"] == "2023-11-14T22:13:20.000Z"
    assert described["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert store.claim("w1", lease_seconds=30, limit=10, now=T0 + 100) == []


def test_start_execution_is_idempotent_as_on_aws(store: Store) -> None:
    first = start(store, "same", input='{"x":1}')
    again = store.start_execution("M", "same", '{"x":1}', now=T0 + 5)
    assert again.created is False and again.execution == first
    with pytest.raises(ExecutionAlreadyExists, match=f"Execution Already Exists: '{first.arn}'"):
        store.start_execution("M", "same", '{"x":2}', now=T0 + 5)
    store.commit_transition(
        first.arn, [event(1, "ExecutionFailed", error="E")], status=ExecutionStatus.FAILED
    )
    with pytest.raises(ExecutionAlreadyExists):
        store.start_execution("M", "same", '{"x":1}', now=T0 + 6)


def test_lookup_by_arn_name_and_unambiguous_prefix(store: Store) -> None:
    for i, name in enumerate(["order-1", "order-10", "invoice-7", "zeta", "alpha", "beta", "gamma"]):
        start(store, name, at=T0 + i)
    e = store.get_execution("order-1")
    assert e.name == "order-1"  # an exact name wins over longer names with that prefix
    assert store.get_execution(e.arn) == e
    assert store.get_execution("inv").name == "invoice-7"
    assert store.get_execution("order-10").name == "order-10"
    with pytest.raises(
        AmbiguousExecution, match="'ord' matches 2 executions: order-1, order-10"
    ) as ambiguous:
        store.get_execution("ord")
    assert ambiguous.value.candidates == ["order-1", "order-10"]
    with pytest.raises(ExecutionDoesNotExist) as missing:
        store.get_execution("nope")
    assert str(missing.value) == "no execution named 'nope'; recent ones: gamma, beta, alpha, zeta, invoice-7"
    arn = "arn:aws:states:us-east-1:123456789012:execution:M:nope"
    with pytest.raises(ExecutionDoesNotExist, match=f"^Execution Does Not Exist: '{arn}'$"):
        store.get_execution(arn)


def test_the_same_name_under_two_state_machines_is_ambiguous(store: Store) -> None:
    a = start(store, "nightly", machine="A")
    b = start(store, "nightly", machine="B")
    with pytest.raises(AmbiguousExecution) as ambiguous:
        store.get_execution("nightly")
    assert ambiguous.value.candidates == sorted([a.arn, b.arn])
    assert store.get_execution(b.arn) == b


def test_empty_store_says_so(store: Store) -> None:
    with pytest.raises(ExecutionDoesNotExist, match="no execution named 'x'; the store has none yet"):
        store.get_execution("x")


def test_list_executions_newest_first_with_filters(store: Store) -> None:
    for i in range(5):
        start(store, f"a{i}", machine="A", at=T0 + i)
    start(store, "b0", machine="B", at=T0 + 10)
    failed = store.get_execution("a2")
    store.commit_transition(failed.arn, [event(1, "ExecutionFailed")], status=ExecutionStatus.FAILED)
    assert [e.name for e in store.list_executions()] == ["b0", "a4", "a3", "a2", "a1", "a0"]
    assert [e.name for e in store.list_executions(limit=2)] == ["b0", "a4"]
    assert [e.name for e in store.list_executions(state_machine="A", limit=2)] == ["a4", "a3"]
    assert [e.name for e in store.list_executions(status=ExecutionStatus.FAILED)] == ["a2"]
    assert store.list_executions(status=ExecutionStatus.FAILED, state_machine="B") == []
    with pytest.raises(StateMachineDoesNotExist):
        store.list_executions(state_machine="C")


# ------------------------------------------------------------------ transitions


def test_event_ids_must_continue_the_history(store: Store) -> None:
    e = start(store, "e")
    store.commit_transition(e.arn, events(1, 3), {"at": 3})
    for bad in ([event(3)], [event(5)], [event(4), event(6)], [event(4), event(4)]):
        with pytest.raises(ConflictError, match="does not continue the history"):
            store.commit_transition(e.arn, bad, {"at": "bad"})
    assert store.count_events(e.arn) == 3
    assert store.load_checkpoint(e.arn) == {"at": 3}
    assert [ev["id"] for ev in store.get_history(e.arn)] == [1, 2, 3]


def test_a_transition_that_fails_midway_leaves_nothing_behind(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = start(store, "e")
    store.commit_transition(e.arn, events(1, 2), {"at": 2})
    before = (store.get_execution(e.arn), store.get_history(e.arn), store.load_checkpoint(e.arn))
    # A checkpoint that is not JSON fails after the events were written in the same transaction.
    with pytest.raises(TypeError):
        store.commit_transition(e.arn, events(3, 2), {"bad": {1, 2}}, status=ExecutionStatus.FAILED)
    assert (store.get_execution(e.arn), store.get_history(e.arn), store.load_checkpoint(e.arn)) == before

    def boom(*args: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_write_execution_row", boom)
    with pytest.raises(RuntimeError):
        store.commit_transition(e.arn, events(3, 2), {"at": 4}, status=ExecutionStatus.SUCCEEDED, output="1")
    assert (store.get_execution(e.arn), store.get_history(e.arn), store.load_checkpoint(e.arn)) == before
    monkeypatch.undo()
    store.commit_transition(e.arn, events(3, 2), {"at": 4})
    assert store.count_events(e.arn) == 4


def test_history_round_trips_exactly_what_to_aws_renders(store: Store) -> None:
    e = start(store, "e")
    rendered = [
        started_event('{ "spaced" : [1, 2.5, "ü"] }'),
        HistoryEvent(2, 0, T0 + 2.125, "TaskStateEntered", {"name": "T", "input": {"k": "ü"}}).to_aws(),
        HistoryEvent(3, 2, T0 + 3, "LambdaFunctionStarted", None).to_aws(),
        HistoryEvent(
            4, 3, T0 + 4, "PassStateExited", {"name": "P", "assignedVariables": {"x": [1]}}
        ).to_aws(),
    ]
    store.commit_transition(e.arn, rendered[:2], None)
    store.commit_transition(e.arn, [HistoryEvent(3, 2, T0 + 3, "LambdaFunctionStarted", None)], None)
    store.commit_transition(e.arn, rendered[3:], None)
    assert store.get_history(e.arn) == rendered
    assert (
        store.get_history(e.arn)[0]["executionStartedEventDetails"]["input"] == '{ "spaced" : [1, 2.5, "ü"] }'
    )


def test_history_paging(store: Store) -> None:
    e = start(store, "e")
    store.commit_transition(e.arn, events(1, 6), None)

    def ids(**kw: Any) -> list[int]:
        return [ev["id"] for ev in store.get_history(e.arn, **kw)]

    assert ids(after_id=4) == [5, 6]
    assert ids(after_id=1, limit=2) == [2, 3]
    assert ids(reverse=True, limit=2) == [6, 5]
    assert ids(before_id=3) == [1, 2]
    assert ids(before_id=5, reverse=True, limit=3) == [4, 3, 2]
    assert ids(after_id=6) == []
    with pytest.raises(ExecutionDoesNotExist):
        store.get_history(e.arn + "x")


def test_event_timestamps_must_be_epoch_seconds(store: Store) -> None:
    e = start(store, "e")
    iso = HistoryEvent(1, 0, T0, "ExecutionStarted", None).to_aws(iso_timestamps=True)
    with pytest.raises(ValueError, match="epoch-seconds timestamp"):
        store.commit_transition(e.arn, [iso], None)
    assert store.count_events(e.arn) == 0


def test_commit_checks_the_lease(store: Store) -> None:
    e = start(store, "e")
    store.claim("w1", lease_seconds=10, limit=1, now=T0)
    with pytest.raises(ConflictError, match=r"worker 'w2' lost its lease .* held by worker 'w1'"):
        store.commit_transition(e.arn, events(1, 1), None, lease_owner="w2")
    # w1 stalls past its lease; w2 takes the execution over, and w1's late write is refused.
    [taken] = store.claim("w2", lease_seconds=10, limit=1, now=T0 + 11)
    assert taken.lease_owner == "w2"
    with pytest.raises(ConflictError):
        store.commit_transition(e.arn, events(1, 1), None, lease_owner="w1")
    store.commit_transition(e.arn, events(1, 1), None, lease_owner="w2")
    assert store.count_events(e.arn) == 1


def test_closed_executions_take_no_more_transitions(store: Store) -> None:
    e = start(store, "e")
    store.commit_transition(
        e.arn,
        [event(1, "ExecutionAborted")],
        None,
        status=ExecutionStatus.ABORTED,
        error="Stop",
        cause="by hand",
    )
    closed = store.get_execution(e.arn)
    assert (closed.status, closed.error, closed.cause, closed.stop_date) == (
        "ABORTED",
        "Stop",
        "by hand",
        T0 + 1,
    )
    with pytest.raises(ExecutionNotRunning, match="is ABORTED, not RUNNING"):
        store.commit_transition(e.arn, events(2, 1), None)


def test_closing_without_events_needs_a_stop_date(store: Store) -> None:
    e = start(store, "e")
    with pytest.raises(ValueError, match="needs a stop_date"):
        store.commit_transition(e.arn, [], None, status=ExecutionStatus.TIMED_OUT)
    done = store.commit_transition(e.arn, [], None, status=ExecutionStatus.TIMED_OUT, stop_date=T0 + 9)
    assert done.stop_date == T0 + 9


def test_redrive_reopens_a_failed_execution(store: Store) -> None:
    e = start(store, "e")
    with pytest.raises(ExecutionNotRedrivable, match="Execution is RUNNING and cannot be redriven"):
        store.redrive_execution(e.arn, [event(1, "ExecutionRedriven")], None, now=T0)
    store.commit_transition(
        e.arn,
        [event(1, "ExecutionFailed")],
        {"failed": "A"},
        status=ExecutionStatus.FAILED,
        error="E",
        cause="C",
    )
    redriven = store.redrive_execution(e.arn, [event(2, "ExecutionRedriven")], {"resume": "A"}, now=T0 + 50)
    assert redriven.status is ExecutionStatus.RUNNING and redriven.queued
    assert (redriven.redrive_count, redriven.redrive_date, redriven.error, redriven.stop_date) == (
        1,
        T0 + 50,
        None,
        None,
    )
    assert store.get_execution(e.arn) == redriven
    assert store.load_checkpoint(e.arn) == {"resume": "A"}
    assert redriven.describe()["redriveDate"] == T0 + 50
    assert [c.arn for c in store.claim("w", lease_seconds=5, limit=5, now=T0 + 51)] == [e.arn]


# ------------------------------------------------------------------ leases and timers


def test_claim_takes_queued_due_timers_and_orphans_oldest_first(store: Store) -> None:
    queued = start(store, "queued", at=T0 + 3)
    timer = start(store, "timer", at=T0, queued=False)
    late_timer = start(store, "late-timer", at=T0, queued=False)
    orphan = start(store, "orphan", at=T0 + 1)
    token_wait = start(store, "token-wait", at=T0, queued=False)
    store.claim("dead-worker", lease_seconds=5, limit=1, now=T0 + 2)  # takes "orphan" (queued at T0+1)
    store.commit_transition(timer.arn, [], None, wake_at=T0 + 4)
    store.commit_transition(late_timer.arn, [], None, wake_at=T0 + 100)
    assert token_wait.wake_at is None
    claimed = store.claim("w", lease_seconds=1000, limit=10, now=T0 + 10)
    # due: queued since T0+3, timer at T0+4, orphan's lease expired at T0+7
    assert [c.name for c in claimed] == ["queued", "timer", "orphan"]
    assert all(c.lease_owner == "w" and not c.queued and c.wake_at is None for c in claimed)
    assert store.claim("w2", lease_seconds=30, limit=10, now=T0 + 10) == []
    assert [c.arn for c in store.claim("w2", lease_seconds=30, limit=10, now=T0 + 100)] == [late_timer.arn]
    assert {queued.arn, orphan.arn} <= {c.arn for c in claimed}


def test_claim_respects_the_limit(store: Store) -> None:
    for i in range(5):
        start(store, f"e{i}", at=T0 + i)
    assert [c.name for c in store.claim("w", lease_seconds=5, limit=2, now=T0 + 9)] == ["e0", "e1"]
    assert [c.name for c in store.claim("w", lease_seconds=5, limit=0, now=T0 + 9)] == []
    assert [c.name for c in store.claim("w", lease_seconds=5, limit=9, now=T0 + 9)] == ["e2", "e3", "e4"]


def test_renew_and_release(store: Store) -> None:
    a, b = start(store, "a"), start(store, "b", at=T0 + 1)
    store.claim("w1", lease_seconds=10, limit=2, now=T0)
    assert store.renew("w1", [a.arn, b.arn], 10, T0 + 5) == [a.arn, b.arn]
    assert store.get_execution(a.arn).lease_expires_at == T0 + 15
    assert store.claim("w2", lease_seconds=10, limit=2, now=T0 + 12) == []  # renewed: not orphaned yet
    assert [c.arn for c in store.claim("w2", lease_seconds=100, limit=2, now=T0 + 16)] == [a.arn, b.arn]
    assert store.renew("w1", [a.arn, b.arn], 10, T0 + 17) == []  # lost both
    with pytest.raises(ConflictError, match="does not hold"):
        store.release("w1", a.arn)
    store.release("w2", a.arn, wake_at=T0 + 60)
    parked = store.get_execution(a.arn)
    assert (parked.lease_owner, parked.wake_at) == (None, T0 + 60)
    assert store.claim("w3", lease_seconds=10, limit=5, now=T0 + 59) == []
    assert [c.arn for c in store.claim("w3", lease_seconds=10, limit=5, now=T0 + 60)] == [a.arn]
    store.commit_transition(b.arn, [event(1, "ExecutionSucceeded")], None, status=ExecutionStatus.SUCCEEDED)
    store.release("w2", b.arn)  # releasing a closed execution is a no-op
    assert store.renew("w2", [b.arn], 10, T0 + 61) == []


def test_release_keeps_a_committed_timer_unless_given_one(store: Store) -> None:
    e = start(store, "e")
    store.claim("w", lease_seconds=10, limit=1, now=T0)
    store.commit_transition(e.arn, events(1, 1), {"wait": "A"}, wake_at=T0 + 30, lease_owner="w")
    store.release("w", e.arn)
    assert store.get_execution(e.arn).wake_at == T0 + 30
    assert store.next_wake_at() == T0 + 30


def test_next_wake_at_and_pending_work(store: Store) -> None:
    assert store.next_wake_at() is None and not store.has_pending_work(T0)
    waiting = start(store, "token", queued=False)
    assert not store.has_pending_work(T0)  # waits for a task token only: no reason to stay up
    store.put_task_token("tok", waiting.arn, 2, now=T0)
    assert not store.has_pending_work(T0)
    timer = start(store, "timer", queued=False)
    store.commit_transition(timer.arn, [], None, wake_at=T0 + 500)
    assert store.has_pending_work(T0) and store.next_wake_at() == T0 + 500
    queued = start(store, "queued")
    store.claim("w", lease_seconds=20, limit=1, now=T0)
    assert store.get_execution(queued.arn).lease_owner == "w"
    assert store.next_wake_at() == T0 + 20  # the lease expiry comes first
    store.commit_transition(
        queued.arn, [event(1, "ExecutionSucceeded")], None, status=ExecutionStatus.SUCCEEDED
    )
    store.commit_transition(
        timer.arn, [event(1, "ExecutionSucceeded")], None, status=ExecutionStatus.SUCCEEDED
    )
    assert store.next_wake_at() is None and not store.has_pending_work(T0)


def test_a_task_tokens_deadline_is_not_pending_work_but_a_timer_before_it_is(store: Store) -> None:
    """`worker --until-idle` must not wait out a callback task's TimeoutSeconds or heartbeat."""
    waiting = start(store, "token", queued=False)
    store.put_task_token("tok", waiting.arn, 2, now=T0, timeout_at=T0 + 86_400)
    store.commit_transition(waiting.arn, [], None, wake_at=T0 + 86_400.2)  # the task's timeout timer
    assert not store.has_pending_work(T0)
    beating = start(store, "heartbeat", queued=False)
    store.put_task_token("beat", beating.arn, 2, now=T0, heartbeat_seconds=60)
    store.heartbeat_task_token("beat", now=T0)
    store.commit_transition(beating.arn, [], None, wake_at=T0 + 60)
    assert not store.has_pending_work(T0)
    # A Wait in a parallel branch fires before the token's deadline: that timer is work.
    store.commit_transition(waiting.arn, [], None, wake_at=T0 + 30)
    assert store.has_pending_work(T0)
    store.commit_transition(waiting.arn, [], None, wake_at=T0 + 86_400.2)
    # Answered: the execution is queued.
    store.complete_task_token("tok", TaskOutcome.success("{}"), now=T0 + 1)
    assert store.has_pending_work(T0 + 1)


def test_claims_from_threads_never_overlap(store: Store) -> None:
    total = 120
    for i in range(total):
        start(store, f"e{i:03d}", at=T0 + i)
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def worker(worker_id: str) -> None:
        barrier.wait()
        mine: list[str] = []
        while batch := store.claim(worker_id, lease_seconds=60, limit=7, now=T0 + 500):
            mine.extend(e.arn for e in batch)
        got[worker_id] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [arn for arns in got.values() for arn in arns]
    assert len(claimed) == total and len(set(claimed)) == total
    owners = {e.arn: e.lease_owner for e in store.list_executions()}
    assert all(owners[arn] == w for w, arns in got.items() for arn in arns)


# ------------------------------------------------------------------ task tokens


def test_task_token_completes_exactly_once(store: Store) -> None:
    e = start(store, "e", queued=False)
    token = store.put_task_token("tok-1", e.arn, 2, now=T0)
    assert token.status is TaskTokenStatus.PENDING and token.outcome is None
    assert store.put_task_token("tok-1", e.arn, 2, now=T0 + 1) == token  # a resumed worker issues it again
    with pytest.raises(ConflictError):
        store.put_task_token("tok-1", e.arn, 7, now=T0)
    assert store.claim("w", lease_seconds=5, limit=5, now=T0 + 1) == []
    done = store.complete_task_token("tok-1", TaskOutcome.success('{"ok":true}'), now=T0 + 2)
    assert done.outcome == TaskOutcome(TaskTokenStatus.SUCCEEDED, output='{"ok":true}')
    assert store.get_task_token("tok-1") == done
    assert [c.arn for c in store.claim("w", lease_seconds=5, limit=5, now=T0 + 3)] == [e.arn]  # woken up
    with pytest.raises(TaskDoesNotExist, match="Task Does Not Exist: 'tok-1'"):
        store.complete_task_token("tok-1", TaskOutcome.failure("E", "C"), now=T0 + 4)
    with pytest.raises(TaskDoesNotExist):
        store.heartbeat_task_token("tok-1", now=T0 + 4)
    with pytest.raises(InvalidToken, match="Invalid Token: 'no-such'"):
        store.complete_task_token("no-such", TaskOutcome.success("1"), now=T0)
    with pytest.raises(InvalidToken):
        store.get_task_token("no-such")
    assert store.list_task_tokens(e.arn) == [done]


def test_task_token_timeouts_and_heartbeats(store: Store) -> None:
    e = start(store, "e", queued=False)
    store.put_task_token("t", e.arn, 2, now=T0, timeout_at=T0 + 100, heartbeat_seconds=10)
    assert store.heartbeat_task_token("t", now=T0 + 8).heartbeat_deadline == T0 + 18
    assert store.heartbeat_task_token("t", now=T0 + 17).heartbeat_deadline == T0 + 27
    with pytest.raises(TaskTimedOut, match="Task Timed Out: 't'"):  # heartbeat missed: recorded as a timeout
        store.complete_task_token("t", TaskOutcome.success("1"), now=T0 + 30)
    assert store.get_task_token("t").status is TaskTokenStatus.TIMED_OUT
    assert store.get_execution(e.arn).queued
    with pytest.raises(TaskTimedOut):
        store.complete_task_token("t", TaskOutcome.success("1"), now=T0 + 31)
    store.put_task_token("u", e.arn, 9, now=T0, timeout_at=T0 + 5)
    with pytest.raises(TaskTimedOut):
        store.heartbeat_task_token("u", now=T0 + 5)
    store.put_task_token("v", e.arn, 12, now=T0, timeout_at=T0 + 5)
    assert (
        store.complete_task_token("v", TaskOutcome.timed_out(), now=T0 + 5).status
        is TaskTokenStatus.TIMED_OUT
    )


def test_a_closed_execution_spends_its_tokens(store: Store) -> None:
    e = start(store, "e", queued=False)
    store.put_task_token("t", e.arn, 2, now=T0)
    store.commit_transition(e.arn, [event(1, "ExecutionAborted")], None, status=ExecutionStatus.ABORTED)
    with pytest.raises(TaskDoesNotExist, match="its execution is ABORTED"):
        store.complete_task_token("t", TaskOutcome.success("{}"), now=T0 + 1)


def test_store_errors_carry_codes(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.get_execution("arn:aws:states:us-east-1:1:execution:M:x")
    assert caught.value.code == "ExecutionDoesNotExist"
    assert InvalidToken("t").code == "InvalidToken" and TaskTimedOut("t").code == "TaskTimedOut"


def test_checkpoints_are_opaque_json(store: Store) -> None:
    e = start(store, "e")
    assert store.load_checkpoint(e.arn) is None
    document = {"frames": [{"state": "A", "input": {"k": [1, 2.5, None, "ü"]}, "retries": [0, 1]}]}
    store.commit_transition(e.arn, [], document)
    assert store.load_checkpoint(e.arn) == document
    store.commit_transition(e.arn, [], JsonText("kept as a string"))
    assert store.load_checkpoint(e.arn) == "kept as a string"
    store.commit_transition(e.arn, events(1, 1))  # no checkpoint given: the last one stays
    assert store.load_checkpoint(e.arn) == "kept as a string"


def test_acquire_leases_one_named_execution(store: Store) -> None:
    from engine.store.errors import ConflictError, ExecutionNotRunning

    target = start(store, "target", at=T0, queued=False)
    other = start(store, "other", at=T0)
    held = store.acquire("runner", target.arn, lease_seconds=10, now=T0)
    assert held.lease_owner == "runner" and held.lease_expires_at == T0 + 10
    assert store.acquire("runner", target.arn, lease_seconds=10, now=T0 + 1).lease_owner == "runner"
    with pytest.raises(ConflictError):
        store.acquire("thief", target.arn, lease_seconds=10, now=T0 + 5)
    assert store.acquire("heir", target.arn, lease_seconds=10, now=T0 + 20).lease_owner == "heir"
    assert [c.arn for c in store.claim("w", lease_seconds=5, limit=10, now=T0 + 21)] == [other.arn]
    store.commit_transition(target.arn, [], None, status=ExecutionStatus.SUCCEEDED, stop_date=T0 + 22)
    with pytest.raises(ExecutionNotRunning):
        store.acquire("heir", target.arn, lease_seconds=10, now=T0 + 23)
