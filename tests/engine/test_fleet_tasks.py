"""Parallel branches spread over a fleet: their Task invocations run on any worker.

A fleet worker (`DurableEngine(spread_branches=True)`) posts the Task invocations of a
Parallel's branches to the store's job queue and waits on their tokens; any worker runs
them. The execution's history, output, error and cause are those of the same execution
run in the foreground, where every handler runs in the execution's own process. Each
test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_map_runs import Lambdas
from test_store_postgres_fixtures import sqlite_or_postgres

from engine.api import build_handlers
from engine.clock import RealClock, VirtualClock
from engine.durable import DurableEngine, run_workers, spreads_branches
from engine.execution import ExecutionStatus
from engine.fleet_tasks import QUEUE, TOKEN_PREFIX, decode_job, encode_job
from engine.handlers.base import TaskRequest
from engine.queues import Queues
from engine.store import QueueDoesNotExist, Store

T0 = 1_800_000_000.0
WORK = "arn:aws:lambda:us-east-1:123456789012:function:work"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def branch(name: str, n: int, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": name,
        "States": {"Pass" + name: {"Type": "Pass", "End": True}}
        | {name: {"Type": "Task", "Resource": WORK, "Parameters": {"n": n}, "Next": "Pass" + name} | task},
    }


def machine(*branches: dict[str, Any], **fan: Any) -> str:
    return json.dumps(
        {
            "StartAt": "Fan",
            "States": {"Fan": {"Type": "Parallel", "Branches": list(branches), "End": True} | fan},
        }
    )


THREE = machine(branch("A", 1), branch("B", 2), branch("C", 3))


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with sqlite_or_postgres(request.param, tmp_path) as s:
        yield s


class Fleet:
    def __init__(self, store: Store, workers: int = 2, clock: Any = None) -> None:
        self.store = store
        self.clock = clock or VirtualClock(start=T0)
        self.lambdas = Lambdas()
        self.engines = [self.engine(f"w{i + 1}") for i in range(workers)]

    def engine(self, worker: str, *, spread: bool = True) -> DurableEngine:
        return DurableEngine(
            store=self.store,
            handlers=build_handlers({"work": self.lambdas.for_worker(worker)}),
            clock=self.clock,
            worker_id=worker,
            lease_seconds=30,
            park_after=1.0,
            spread_branches=spread,
        )

    def foreground(self, definition: str, name: str = "fg") -> Any:
        engine = self.engine("fg", spread=False)
        record = engine.start("shop", definition, "{}", name=name, queued=False)
        engine.run_in_foreground(record)
        self.lambdas.calls.clear()
        return self.store.get_execution(record.arn)

    def both(self, definition: str) -> tuple[Any, Any]:
        """The execution run in the foreground, then by the fleet: (foreground record, fleet record)."""
        fg = self.foreground(definition)
        return fg, self.run(self.start(definition))

    def start(self, definition: str, name: str = "e1") -> str:
        return self.engines[0].start("shop", definition, "{}", name=name).arn

    def run(self, arn: str, engines: list[DurableEngine] | None = None) -> Any:
        """Work in turns until the execution ends, moving the clock to the next timer when idle."""
        engines = engines or self.engines
        for _ in range(1000):
            if self.store.get_execution(arn).status is not ExecutionStatus.RUNNING:
                return self.store.get_execution(arn)
            if not sum(e.work_once() for e in engines):
                wake = self.store.next_wake_at()
                assert wake is not None and wake > self.clock.now(), "the execution is stuck"
                self.clock.advance_to(wake)
        raise AssertionError("the execution did not end")


def lonely(engine: DurableEngine) -> DurableEngine:
    """A worker that posts its branch tasks but never runs a job (as if it died right after)."""
    engine.fleet_tasks.run_one = lambda: False  # type: ignore[method-assign]
    return engine


def by_branch(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Events without timestamps and ids, in a canonical order: concurrent branches interleave
    their events in whatever order their tasks finish, here and on AWS."""
    out = []
    for e in events:
        details = {k: v for k, v in e.items() if k.endswith("EventDetails")}
        text = re.sub(UUID, "<uuid>", json.dumps(details, sort_keys=True))  # Lambda request ids
        out.append((e["type"], text))
    return sorted(out)


def well_formed(events: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)


def output(record: Any) -> Any:
    return json.loads(record.output or "null")


# ------------------------------------------------------------------ the same execution


def test_branch_tasks_run_as_fleet_jobs_and_the_execution_matches_the_foreground_run(store: Store) -> None:
    fleet = Fleet(store)
    fg, record = fleet.both(THREE)
    arn = record.arn

    assert record.status is ExecutionStatus.SUCCEEDED
    assert output(record) == output(fg) == [{"n": n, "square": n * n} for n in (1, 2, 3)]
    history = store.get_history(arn)
    well_formed(history)
    assert by_branch(history) == by_branch(store.get_history(fg.arn))
    assert sorted(n for _, n in fleet.lambdas.calls) == [1, 2, 3]  # each task ran once
    tokens = [t for t in store.list_task_tokens(arn) if t.token.startswith(TOKEN_PREFIX)]
    assert len(tokens) == 3 and all(t.status.value == "SUCCEEDED" for t in tokens)
    assert store.queue_counts(QUEUE, now=fleet.clock.now()).visible == 0


def test_a_branch_task_failure_gives_the_error_and_cause_of_the_foreground_run(store: Store) -> None:
    fleet = Fleet(store)
    fleet.lambdas.failing = {2}
    fg, record = fleet.both(THREE)
    arn = record.arn

    assert record.status is ExecutionStatus.FAILED
    assert (record.error, json.loads(record.cause or "{}")["errorMessage"]) == (
        "ValueError",
        "item 2 is broken",
    )
    assert (fg.error, json.loads(fg.cause or "{}")["errorMessage"]) == ("ValueError", "item 2 is broken")
    failed = [e for e in store.get_history(arn) if e["type"] == "LambdaFunctionFailed"]
    assert failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "ValueError"
    # How far the other branches got before they were aborted depends on timing, here and on AWS.
    for history in (store.get_history(arn), store.get_history(fg.arn)):
        well_formed(history)
        assert [e["type"] for e in history][-2:] == ["ParallelStateFailed", "ExecutionFailed"]


def test_retriers_and_catchers_in_branches_see_the_fleet_task_error(store: Store) -> None:
    retried = branch(
        "A",
        1,
        Retry=[{"ErrorEquals": ["ValueError"], "IntervalSeconds": 3, "MaxAttempts": 2}],
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PassA"}],
    )
    definition = machine(retried, branch("B", 2))
    fleet = Fleet(store)
    fleet.lambdas.failing = {1}
    fg, record = fleet.both(definition)
    arn = record.arn

    assert record.status is ExecutionStatus.SUCCEEDED
    assert output(record)[0]["error"]["Error"] == "ValueError"
    assert by_branch(store.get_history(arn)) == by_branch(store.get_history(fg.arn))
    assert sorted(n for _, n in fleet.lambdas.calls) == [1, 1, 1, 2]  # two retries


def test_tasks_outside_branches_and_in_the_foreground_run_in_process(store: Store) -> None:
    definition = json.dumps(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Task", "Resource": WORK, "Parameters": {"n": 5}, "End": True}},
        }
    )
    fleet = Fleet(store)
    arn = fleet.start(definition)
    assert fleet.run(arn).status is ExecutionStatus.SUCCEEDED
    fleet.foreground(THREE)
    assert not [t for t in store.list_task_tokens(arn) if t.token.startswith(TOKEN_PREFIX)]
    with pytest.raises(QueueDoesNotExist):
        store.get_queue(QUEUE)  # nothing was ever posted


# ------------------------------------------------------------------ spreading


def test_branch_tasks_run_at_once_on_different_workers(store: Store) -> None:
    """Each task waits at a barrier until all of them run: one worker alone could never pass it."""
    fleet = Fleet(store, workers=3, clock=RealClock())
    fleet.lambdas.barrier = threading.Barrier(3, timeout=10)
    arn = fleet.start(THREE)
    engines = iter(fleet.engines)
    run_workers(lambda _: next(engines), concurrency=3, until_idle=True, poll_seconds=0.01)

    record = store.get_execution(arn)
    assert record.status is ExecutionStatus.SUCCEEDED, record.cause
    assert len({worker for worker, _ in fleet.lambdas.calls}) == 3


def test_a_parked_execution_resumes_on_another_worker_once_its_jobs_are_answered(store: Store) -> None:
    fleet = Fleet(store)
    first = lonely(fleet.engines[0])
    arn = fleet.start(THREE)
    assert first.work_once() == 1
    assert fleet.lambdas.calls == []
    assert store.queue_counts(QUEUE, now=fleet.clock.now()).visible == 3  # parked with three jobs posted

    other = fleet.engines[1]
    record = fleet.run(arn, [other])
    assert record.status is ExecutionStatus.SUCCEEDED
    assert sorted(fleet.lambdas.calls) == [("w2", 1), ("w2", 2), ("w2", 3)]
    well_formed(store.get_history(arn))


def test_a_job_whose_worker_died_runs_again_when_its_lease_lapses(store: Store) -> None:
    fleet = Fleet(store)
    arn = fleet.start(machine(branch("A", 1)))
    lonely(fleet.engines[0]).work_once()
    # A worker takes the job and dies before answering it.
    taken = store.receive_queue_messages(QUEUE, max_messages=1, visibility_timeout=30, now=fleet.clock.now())
    assert len(taken) == 1
    helper = fleet.engines[1]
    assert not helper.fleet_tasks.run_one()  # invisible while its lease runs
    assert helper.fleet_tasks.pending()  # but still pending: `worker --until-idle` waits for it
    fleet.clock.advance(31)
    record = fleet.run(arn, [helper])
    assert record.status is ExecutionStatus.SUCCEEDED
    assert fleet.lambdas.calls == [("w2", 1)]
    assert not helper.fleet_tasks.pending()


def test_a_branch_task_timeout_ends_the_wait_and_its_late_job_is_skipped(store: Store) -> None:
    definition = machine(branch("A", 1, TimeoutSeconds=5), branch("B", 2, TimeoutSeconds=5))
    fleet = Fleet(store)
    arn = fleet.start(definition)
    lonely(fleet.engines[0]).work_once()
    fleet.clock.advance(6)
    record = fleet.run(arn, [lonely(fleet.engine("w3"))])
    assert record.status is ExecutionStatus.FAILED
    assert record.error == "States.Timeout"
    assert [e["type"] for e in store.get_history(arn)].count("LambdaFunctionTimedOut") == 1
    # The jobs are still queued; whoever takes them finds nobody waiting and does not invoke.
    assert fleet.engines[1].fleet_tasks.run_one() and fleet.engines[1].fleet_tasks.run_one()
    assert fleet.lambdas.calls == []


def test_stopping_an_execution_leaves_its_jobs_unrun(store: Store) -> None:
    fleet = Fleet(store)
    arn = fleet.start(THREE)
    lonely(fleet.engines[0]).work_once()
    fleet.engines[1].stop(arn)
    while fleet.engines[1].fleet_tasks.run_one():
        pass
    assert fleet.lambdas.calls == []
    assert store.get_execution(arn).status is ExecutionStatus.ABORTED


def test_a_worker_with_until_idle_waits_for_posted_jobs(store: Store) -> None:
    fleet = Fleet(store, clock=RealClock())
    arns = [fleet.start(THREE, name=f"e{i}") for i in range(5)]
    engines = iter(fleet.engines)
    run_workers(lambda _: next(engines), concurrency=2, until_idle=True, poll_seconds=0.01)
    assert [store.get_execution(a).status for a in arns] == [ExecutionStatus.SUCCEEDED] * 5
    assert len(fleet.lambdas.calls) == 15


# ------------------------------------------------------------------ the pieces


def test_the_job_queue_is_not_listed_as_a_users_sqs_queue(store: Store) -> None:
    fleet = Fleet(store)
    lonely(fleet.engines[0])
    fleet.start(THREE)
    fleet.engines[0].work_once()
    queues = Queues(store)
    queues.create("orders")
    assert [q.name for q in queues.list_queues()] == ["orders"]


def test_fleets_on_postgresql_spread_by_default_and_sqlite_does_not(store: Store) -> None:
    postgres = store.url.startswith("postgresql")
    assert spreads_branches(store, None) is postgres
    assert spreads_branches(store, True) is True and spreads_branches(store, False) is False


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(parameters=json_values, timeout=st.none() | st.integers(1, 900), state=st.text(min_size=1))
def test_a_job_carries_its_request_unchanged(parameters: Any, timeout: int | None, state: str) -> None:
    request = TaskRequest(
        resource=WORK,
        parameters=parameters,
        state_name=state,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:shop:e1",
        idempotency_key="arn:aws:states:us-east-1:123456789012:execution:shop:e1#7",
        region="us-east-1",
        timeout_seconds=timeout,
        context={"State": {"Name": state}},
    )
    token, back = decode_job(encode_job("fleet-task:x", request))
    assert token == "fleet-task:x"
    assert back == request


def test_a_job_body_it_did_not_write_is_refused() -> None:
    with pytest.raises(ValueError, match="not a fleet task job"):
        decode_job('{"token": 1}')


def test_redrive_invokes_the_unfinished_branch_tasks_again_with_new_jobs(store: Store) -> None:
    definition = machine(branch("A", 1, TimeoutSeconds=60), branch("B", 2))
    fleet = Fleet(store)
    fleet.lambdas.failing = {2}
    arn = fleet.start(definition)
    lonely(fleet.engines[0]).work_once()  # both jobs posted
    # A worker takes A's job and dies; B's job fails the Parallel while A is still in flight.
    assert store.receive_queue_messages(QUEUE, max_messages=1, visibility_timeout=600, now=fleet.clock.now())
    helper = fleet.engines[1]
    assert fleet.run(arn, [helper]).status is ExecutionStatus.FAILED
    assert fleet.lambdas.calls == [("w2", 2)]

    fleet.lambdas.failing = set()
    helper.redrive(arn)
    record = fleet.run(arn, [helper])
    assert record.status is ExecutionStatus.SUCCEEDED, (record.error, record.cause)
    assert output(record) == [{"n": 1, "square": 1}, {"n": 2, "square": 4}]
    assert sorted(fleet.lambdas.calls) == [("w2", 1), ("w2", 2), ("w2", 2)]
    well_formed(store.get_history(arn))
