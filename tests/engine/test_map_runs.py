"""Distributed Map iterations as child executions that any worker of a fleet runs.

A standard execution run by fleet workers (`DurableEngine.work_once` / `run_workers`)
turns each iteration of a Distributed Map into an execution of its own, of the state
machine `{machine}/{label}`, that any worker may claim; the parent parks until they
end. The parent's history and result are exactly those of the same execution run in
the foreground (where iterations stay quiet frames of the parent). Each test runs on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_store_postgres_fixtures import sqlite_or_postgres

from engine.api import build_handlers
from engine.clock import VirtualClock
from engine.durable import DurableEngine, run_workers
from engine.execution import ExecutionStatus
from engine.history import HistoryEvent
from engine.map_runs import child_execution_arn
from engine.store import ExecutionDoesNotExist, Store, open_store

T0 = 1_800_000_000.0
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def machine(
    *,
    concurrency: int = 5,
    nap: int = 5,
    tolerated: int | None = None,
    label: str = "fan",
    catch: bool = False,
) -> str:
    """A Map over `$.items` whose children call a local Lambda and then Wait."""
    fan: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": concurrency,
        "Label": label,
        "ItemSelector": {"n.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Task", "Resource": LAMBDA, "Next": "Nap"},
                "Nap": {"Type": "Wait", "Seconds": nap, "End": True},
            },
        },
        "ResultPath": "$.results",
        "Next": "Report",
    }
    if tolerated is not None:
        fan["ToleratedFailureCount"] = tolerated
    if catch:
        fan["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}]
    return json.dumps(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": fan,
                "Report": {"Type": "Pass", "End": True},
            },
        }
    )


class Lambdas:
    """The `work` function, one per worker so each call says which worker ran it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.failing: set[int] = set()
        #: When set, every call waits here until as many calls run at once (proof that they overlap).
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def for_worker(self, worker: str) -> Callable[[Any, Any], Any]:
        def work(event: Any, context: Any) -> Any:
            with self._lock:
                self.calls.append((worker, event["n"]))
            if self.barrier is not None:
                self.barrier.wait()
            if event["n"] in self.failing:
                raise ValueError(f"item {event['n']} is broken")
            return {"n": event["n"], "square": event["n"] ** 2}

        return work


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with sqlite_or_postgres(request.param, tmp_path) as s:
        yield s


class Fleet:
    """Worker engines (distinct worker ids) on one store and one virtual clock."""

    def __init__(self, store: Store, workers: int = 2, lease_seconds: float = 30) -> None:
        self.store = store
        self.clock = VirtualClock(start=T0)
        self.lambdas = Lambdas()
        self.engines = [self.engine(f"w{i + 1}", lease_seconds) for i in range(workers)]

    def engine(self, worker: str, lease_seconds: float = 30, store: Any = None) -> DurableEngine:
        return DurableEngine(
            store=store or self.store,
            handlers=build_handlers({"work": self.lambdas.for_worker(worker)}),
            clock=self.clock,
            worker_id=worker,
            lease_seconds=lease_seconds,
            park_after=1.0,
        )

    def foreground(self, definition: str, items: list[int], name: str = "fg") -> Any:
        engine = self.engines[0]
        record = engine.start("shop", definition, json.dumps({"items": items}), name=name, queued=False)
        engine.run_in_foreground(record)
        self.lambdas.calls.clear()
        return self.store.get_execution(record.arn)

    def start(self, definition: str, items: list[int], name: str = "parent") -> str:
        return self.engines[0].start("shop", definition, json.dumps({"items": items}), name=name).arn

    def run(
        self,
        arn: str,
        engines: list[DurableEngine] | None = None,
        *,
        check: Callable[[], None] | None = None,
    ) -> Any:
        """Work in turns until the parent ends; when nothing is claimable, move the clock to the
        next timer or lease expiry, as time passing would."""
        engines = engines or self.engines
        for _ in range(5000):
            if self.store.get_execution(arn).status is not ExecutionStatus.RUNNING:
                return self.store.get_execution(arn)
            claimed = sum(e.work_once() for e in engines)
            if check is not None:
                check()
            if not claimed:
                wake = self.store.next_wake_at()
                assert wake is not None and wake > self.clock.now(), "the map run is stuck"
                self.clock.advance_to(wake)
        raise AssertionError("the map run did not end")

    def children(self, parent_arn: str) -> list[Any]:
        """The parent's Map Run's child executions, in item order (each name is derived from the index)."""
        run = self.map_run_arn(parent_arn)
        found = []
        for i in range(1000):
            try:
                found.append(self.store.get_execution(child_execution_arn(run, i)))
            except ExecutionDoesNotExist:
                break
        return found

    def map_run_arn(self, parent_arn: str) -> str:
        started = [e for e in self.store.get_history(parent_arn) if e["type"] == "MapRunStarted"]
        return str(started[-1]["mapRunStartedEventDetails"]["mapRunArn"])

    def running_children(self, label: str = "fan") -> list[Any]:
        if not _has_machine(self.store, f"shop/{label}"):
            return []
        return self.store.list_executions(status=ExecutionStatus.RUNNING, state_machine=f"shop/{label}")

    def settle(self) -> None:
        """Work until nothing is claimable without time passing."""
        while sum(e.work_once() for e in self.engines):
            pass

    def drain(self, engines: list[DurableEngine]) -> None:
        """Work until no execution is left running (a child cut off by a crash closes late)."""
        for _ in range(5000):
            if not self.store.list_executions(status=ExecutionStatus.RUNNING, limit=1):
                return
            if not sum(e.work_once() for e in engines):
                wake = self.store.next_wake_at()
                assert wake is not None and wake > self.clock.now(), "an execution is stuck"
                self.clock.advance_to(wake)
        raise AssertionError("executions did not end")


def comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A history without what differs between any two runs: timestamps and the Map Run's id."""
    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k != "timestamp"}
        if "mapRunStartedEventDetails" in event:
            event["mapRunStartedEventDetails"] = {"mapRunArn": "<map run>"}
        out.append(event)
    return out


def output(record: Any) -> Any:
    return json.loads(record.output or "null")


def well_formed(events: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    types = [e["type"] for e in events]
    assert types.count("ExecutionStarted") == 1 and types[0] == "ExecutionStarted"


def expected_results(items: list[int], failing: frozenset[int] | set[int] = frozenset()) -> list[Any]:
    return [None if n in failing else {"n": n, "square": n * n} for n in items]


# ------------------------------------------------------------------ the map run


def test_each_item_is_a_child_execution_and_the_parent_matches_the_foreground_run(store: Store) -> None:
    fleet = Fleet(store)
    items = list(range(20))
    definition = machine(concurrency=5)
    fg = fleet.foreground(definition, items)
    arn = fleet.start(definition, items)
    most = [0]

    def concurrency() -> None:
        most[0] = max(most[0], len(fleet.running_children()))

    parent = fleet.run(arn, check=concurrency)

    assert parent.status is ExecutionStatus.SUCCEEDED
    assert output(parent) == output(fg)
    assert output(parent)["results"] == expected_results(items)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    assert [e["type"] for e in store.get_history(arn)] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]

    run = fleet.map_run_arn(arn)
    assert re.fullmatch(f"arn:aws:states:us-east-1:123456789012:mapRun:shop/fan:{UUID}", run)
    children = fleet.children(arn)
    assert len(children) == 20 == len(store.list_executions(state_machine="shop/fan"))
    for i, child in enumerate(children):
        assert re.fullmatch(f"arn:aws:states:us-east-1:123456789012:execution:shop/fan:{UUID}", child.arn)
        assert child.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:shop/fan"
        assert child.status is ExecutionStatus.SUCCEEDED
        assert json.loads(child.input) == {"n": i, "index": i}
        assert output(child) == {"n": i, "square": i * i}
        history = store.get_history(child.arn)
        well_formed(history)
        assert [e["type"] for e in history] == [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded",
        ]
    machine_record = store.get_state_machine("shop/fan")
    assert json.loads(machine_record.definition)["StartAt"] == "Work"
    assert "ProcessorConfig" not in json.loads(machine_record.definition)

    # MaxConcurrency 5: a new child starts only when one ends; every item ran once, on both workers.
    assert most[0] == 5
    assert sorted(n for _, n in fleet.lambdas.calls) == items
    assert {worker for worker, _ in fleet.lambdas.calls} == {"w1", "w2"}


def test_run_workers_threads_share_the_children(store: Store) -> None:
    fleet = Fleet(store)
    items = list(range(12))
    definition = machine(concurrency=4, nap=1)  # waits shorter than park_after pass in place
    fg = fleet.foreground(definition, items)
    arn = fleet.start(definition, items)
    engines = [fleet.engine(f"thread-{i}", lease_seconds=3600) for i in range(4)]
    run_workers(lambda i: engines[i], concurrency=4, until_idle=True, poll_seconds=0.01)
    parent = store.get_execution(arn)
    assert parent.status is ExecutionStatus.SUCCEEDED
    assert output(parent) == output(fg)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    assert sorted(n for _, n in fleet.lambdas.calls) == items
    assert len({worker for worker, _ in fleet.lambdas.calls}) > 1
    assert all(c.status is ExecutionStatus.SUCCEEDED for c in fleet.children(arn))


def test_tolerated_failures_leave_nulls_and_match_the_foreground(store: Store) -> None:
    fleet = Fleet(store)
    fleet.lambdas.failing = {3, 7}
    items = list(range(10))
    definition = machine(concurrency=3, tolerated=2)
    fg = fleet.foreground(definition, items)
    arn = fleet.start(definition, items)
    parent = fleet.run(arn)
    assert parent.status is ExecutionStatus.SUCCEEDED
    assert output(parent)["results"] == expected_results(items, {3, 7})
    assert output(parent) == output(fg)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    statuses = [c.status for c in fleet.children(arn)]
    assert statuses.count(ExecutionStatus.FAILED) == 2
    failed = fleet.children(arn)[3]
    assert (
        failed.error == "ValueError" and json.loads(failed.cause or "")["errorMessage"] == "item 3 is broken"
    )


def test_too_many_failures_fail_the_map_and_stop_the_running_children(store: Store) -> None:
    fleet = Fleet(store)
    fleet.lambdas.failing = {2, 3}
    items = list(range(10))
    definition = machine(concurrency=4, tolerated=1)
    fg = fleet.foreground(definition, items)
    arn = fleet.start(definition, items)
    parent = fleet.run(arn)
    assert (parent.status, parent.error, parent.cause) == (
        ExecutionStatus.FAILED,
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )
    assert (parent.status, parent.error, parent.cause) == (fg.status, fg.error, fg.cause)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    children = fleet.children(arn)
    assert len(children) < len(items)  # no child starts after the map run failed
    assert not fleet.running_children()
    assert any(c.status is ExecutionStatus.ABORTED for c in children)
    for child in children:
        if child.status is ExecutionStatus.ABORTED:
            assert store.get_history(child.arn)[-1]["type"] == "ExecutionAborted"


def test_a_caught_map_failure_goes_on_and_its_children_are_stopped(store: Store) -> None:
    fleet = Fleet(store)
    fleet.lambdas.failing = {0}
    items = list(range(6))
    definition = machine(concurrency=3, catch=True)
    fg = fleet.foreground(definition, items)
    arn = fleet.start(definition, items)
    parent = fleet.run(arn)
    assert parent.status is ExecutionStatus.SUCCEEDED
    assert output(parent) == output(fg)
    assert output(parent)["error"]["Error"] == "States.ExceedToleratedFailureThreshold"
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    assert not fleet.running_children()
    assert [c.status for c in fleet.children(arn)] == [ExecutionStatus.FAILED] + [ExecutionStatus.ABORTED] * 2


# ------------------------------------------------------------------ stopping


def test_stopping_the_parent_stops_its_children(store: Store) -> None:
    fleet = Fleet(store)
    arn = fleet.start(machine(concurrency=5, nap=3600), list(range(20)))
    fleet.settle()  # the first five children are parked in their hour-long Wait
    assert len(fleet.running_children()) == 5
    assert all(c.wake_at == T0 + 3600 for c in fleet.running_children())
    stopped = fleet.engines[1].stop(arn, error="Operator", cause="enough")
    assert stopped.status is ExecutionStatus.ABORTED
    children = fleet.children(arn)
    assert len(children) == 5 and all(c.status is ExecutionStatus.ABORTED for c in children)
    assert all(store.get_history(c.arn)[-1]["type"] == "ExecutionAborted" for c in children)
    fleet.clock.advance(7200)
    assert sum(e.work_once() for e in fleet.engines) == 0


def test_a_child_whose_parent_ended_without_stopping_it_stops_when_claimed(store: Store) -> None:
    fleet = Fleet(store)
    arn = fleet.start(machine(concurrency=3), list(range(6)))
    assert fleet.engines[0].work_once() == 1  # the parent creates three children and parks
    assert len(fleet.running_children()) == 3
    # The parent ends by a path that does not reach its children (say its stopper died).
    last = store.get_execution(arn).last_event_id
    store.commit_transition(
        arn,
        [HistoryEvent(last + 1, 0, fleet.clock.now(), "ExecutionAborted", {})],
        status=ExecutionStatus.ABORTED,
    )
    fleet.settle()
    assert fleet.lambdas.calls == []  # no child ran its Task
    assert [c.status for c in fleet.children(arn)] == [ExecutionStatus.ABORTED] * 3


def test_a_parent_that_times_out_stops_its_children(store: Store) -> None:
    fleet = Fleet(store)
    definition = json.loads(machine(concurrency=2, nap=3600))
    definition["TimeoutSeconds"] = 600
    arn = fleet.start(json.dumps(definition), list(range(5)))
    parent = fleet.run(arn)
    assert (parent.status, parent.error) == (ExecutionStatus.TIMED_OUT, "States.Timeout")
    assert [c.status for c in fleet.children(arn)] == [ExecutionStatus.ABORTED] * 2
    assert not fleet.running_children()


def test_a_failing_parallel_sibling_stops_the_map_runs_children(store: Store) -> None:
    fleet = Fleet(store)
    fan = json.loads(machine(concurrency=3, nap=3600))["States"]["Fan"]
    fan.pop("Next")
    fan.pop("ResultPath")
    fan["End"] = True
    definition = json.dumps(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Fan", "States": {"Fan": fan}},
                        {
                            "StartAt": "Later",
                            "States": {
                                "Later": {"Type": "Wait", "Seconds": 60, "Next": "Boom"},
                                "Boom": {"Type": "Fail", "Error": "Sibling", "Cause": "gave up"},
                            },
                        },
                    ],
                    "End": True,
                }
            },
        }
    )
    fg = fleet.foreground(definition, list(range(4)))
    arn = fleet.start(definition, list(range(4)))
    parent = fleet.run(arn)
    assert (parent.status, parent.error, parent.cause) == (ExecutionStatus.FAILED, "Sibling", "gave up")
    assert (fg.status, fg.error) == (parent.status, parent.error)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    assert [c.status for c in fleet.children(arn)] == [ExecutionStatus.ABORTED] * 3


def test_stopping_a_child_fails_its_item(store: Store) -> None:
    fleet = Fleet(store)
    arn = fleet.start(machine(concurrency=2, nap=3600, tolerated=0), list(range(4)))
    fleet.settle()
    assert len(fleet.running_children()) == 2
    first = fleet.children(arn)[0]
    fleet.engines[0].stop(first.arn)
    parent = fleet.run(arn)
    assert (parent.status, parent.error) == (ExecutionStatus.FAILED, "States.ExceedToleratedFailureThreshold")
    assert [c.status for c in fleet.children(arn)] == [ExecutionStatus.ABORTED] * 2


# ------------------------------------------------------------------ staying in the parent


def test_a_processor_reading_the_parents_variables_keeps_its_iterations_in_the_parent(store: Store) -> None:
    fleet = Fleet(store)
    definition = json.dumps(
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"factor": 3}, "Next": "Fan"},
                "Fan": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Scale",
                        "States": {
                            "Scale": {
                                "Type": "Pass",
                                "Parameters": {"v.$": "States.MathAdd($, $factor)"},
                                "End": True,
                            }
                        },
                    },
                    "ItemsPath": "$.items",
                    "End": True,
                },
            },
        }
    )
    fg = fleet.foreground(definition, [1, 2])
    arn = fleet.start(definition, [1, 2])
    parent = fleet.run(arn)
    assert output(parent) == output(fg) == [{"v": 4}, {"v": 5}]
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    assert not _has_machine(store, "shop/Fan")


def _has_machine(store: Store, name: str) -> bool:
    return any(m.name == name for m in store.list_state_machines())


def test_foreground_runs_keep_iterations_in_the_parent(store: Store) -> None:
    fleet = Fleet(store)
    fleet.foreground(machine(), [1, 2, 3])
    assert not _has_machine(store, "shop/fan")


# ------------------------------------------------------------------ redrive


def test_redrive_runs_only_the_unfinished_items_again_as_new_children(store: Store) -> None:
    fleet = Fleet(store)
    fleet.lambdas.failing = {2}
    items = [0, 1, 2, 3]
    arn = fleet.start(machine(concurrency=1), items)
    failed = fleet.run(arn)
    assert failed.status is ExecutionStatus.FAILED
    assert [n for _, n in fleet.lambdas.calls] == [0, 1, 2]
    fleet.lambdas.failing = set()
    fleet.engines[0].redrive(arn)
    done = fleet.run(arn)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert output(done)["results"] == expected_results(items)
    assert [n for _, n in fleet.lambdas.calls] == [0, 1, 2, 2, 3]
    run = fleet.map_run_arn(arn)
    again = store.get_execution(child_execution_arn(run, 2, redrive_count=1))
    assert again.status is ExecutionStatus.SUCCEEDED
    assert store.get_execution(child_execution_arn(run, 2)).status is ExecutionStatus.FAILED


# ------------------------------------------------------------------ crashes


class Crash(BaseException):
    """The worker process dies here (BaseException: nothing in the engine catches it)."""


class DyingStore:
    """The store as a worker sees it, until the worker dies at its `at`-th write (before or after it)."""

    WRITES = frozenset(
        {"commit_transition", "start_execution", "put_task_token", "complete_task_token", "claim", "release"}
    )

    def __init__(self, store: Store, at: int, after: bool) -> None:
        self._store, self._at, self._after = store, at, after
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if name not in self.WRITES:
            return real

        def write(*args: Any, **kwargs: Any) -> Any:
            self.writes += 1
            if self.writes == self._at and not self._after:
                raise Crash
            result = real(*args, **kwargs)
            if self.writes == self._at and self._after:
                raise Crash
            return result

        return write


def crash_run(store: Store, at: int, after: bool, name: str) -> bool:
    """Worker w1 runs a map run until it dies at its `at`-th write; w2 takes over once w1's leases
    expire. False when w1 finished before reaching that write."""
    fleet = Fleet(store, workers=1)
    items = list(range(6))
    definition = machine(concurrency=2)
    fg = fleet.foreground(definition, items, name=f"{name}-fg")
    dying = DyingStore(store, at, after)
    doomed = fleet.engine("doomed", store=dying)
    arn = fleet.start(definition, items, name=name)
    try:
        fleet.run(arn, [doomed])
        return False
    except Crash:
        pass
    survivor = fleet.engines[0]
    parent = fleet.run(arn, [survivor])
    fleet.drain([survivor])
    where = f"crash at write {at} ({'after' if after else 'before'} it)"
    assert parent.status is ExecutionStatus.SUCCEEDED, where
    assert output(parent) == output(fg), where
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn)), where
    children = fleet.children(arn)
    assert [output(c) for c in children] == expected_results(items), where
    for child in children:
        history = store.get_history(child.arn)
        well_formed(history)
        assert [e["type"] for e in history].count("ExecutionSucceeded") == 1, where
    calls = Counter(n for _, n in fleet.lambdas.calls)
    assert set(calls) == set(items), where
    # Only an invocation whose result the crash kept from being recorded runs again.
    assert sum(calls.values()) <= len(items) + 1, (where, calls)
    return True


def test_a_worker_dying_at_any_write_loses_no_item_and_runs_none_twice(store: Store) -> None:
    crashed = runs = 0
    step = 1 if store.url.startswith("sqlite") else 6  # PostgreSQL: a sample of the same points
    for after in (False, True):
        at = 1
        while True:
            runs += 1
            if not crash_run(store, at, after, f"crash-{int(after)}-{at}"):
                break  # the doomed worker finished before its `at`-th write
            crashed += 1
            at += step
    assert crashed > (150 if step == 1 else 20)
    # One child execution per item per map run: none was created twice, under another name.
    assert len(store.list_executions(state_machine="shop/fan")) == 6 * runs


# ------------------------------------------------------------------ the AWS-recorded corpus


def _distributed_cases() -> list[Any]:
    from tests.conformance import harness

    if not harness.available():  # the corpus lives beside the repository, in ../shared
        return []
    return [
        case
        for case in harness.load_cases()
        if "DISTRIBUTED" in Path(case.definition_path).read_text()
        and not case.express
        and harness.skip_reason(case) is None
    ]


@pytest.mark.parametrize("case", _distributed_cases(), ids=lambda c: c.name)
def test_every_recorded_distributed_map_gives_the_foreground_result_on_a_fleet(
    store: Store, case: Any
) -> None:
    """The corpus's Distributed Maps (nested ones, tolerance paths, batching, labels, selectors),
    run by two workers with children executions: result and history as in the foreground."""
    from tests.conformance import harness

    r = harness.runner()
    definition = Path(case.definition_path).read_text()
    input_text = Path(case.input_path).read_text()
    if case.meta.get("input_time_relative"):
        input_text = r.build_time_relative_input(case, input_text)
    clock = VirtualClock(start=T0)
    engines = [
        DurableEngine(
            store=store, handlers=harness._handlers(case, r), clock=clock, worker_id=f"w{i}", park_after=1.0
        )
        for i in range(2)
    ]
    fg = engines[0].start("conformance", definition, input_text, name="fg", queued=False)
    engines[0].run_in_foreground(fg)
    fg = store.get_execution(fg.arn)
    arn = engines[0].start("conformance", definition, input_text, name="fleet").arn
    fleet = Fleet.__new__(Fleet)
    fleet.store, fleet.clock, fleet.engines = store, clock, engines
    parent = fleet.run(arn)
    fleet.drain(engines)
    assert (parent.status, parent.error, parent.cause) == (fg.status, fg.error, fg.cause)
    assert output(parent) == output(fg)
    assert comparable(store.get_history(arn)) == comparable(store.get_history(fg.arn))
    # Wherever a Map Run had items, they ran as child executions, and all of them ended.
    history = store.get_history(arn)
    had_items = any(e["type"] == "MapRunStarted" for e in history) and any(
        e["type"] == "MapStateStarted" and e["mapStateStartedEventDetails"]["length"] for e in history
    )
    children = [e for e in store.list_executions() if e.arn not in (arn, fg.arn)]
    assert bool(children) == had_items
    assert all(c.status is not ExecutionStatus.RUNNING for c in children)


# ------------------------------------------------------------------ reading map runs back


def test_the_http_api_runs_children_and_lists_them_by_map_run(tmp_path: Path) -> None:
    """`statelane serve`'s workers are a fleet too; ListExecutions(mapRunArn=...) as on AWS."""
    from test_server_fixtures import ROLE, make_client, wait_until

    from engine.server import ServerOptions, StatelaneServer

    lambdas = Lambdas()
    options = ServerOptions(
        port=0,
        db=f"sqlite:///{tmp_path}/api.db",
        handlers=build_handlers({"work": lambdas.for_worker("api")}),
        concurrency=4,
    )
    with StatelaneServer(options) as running:
        sfn = make_client(running.url)
        machine_arn = sfn.create_state_machine(name="shop", definition=machine(nap=0), roleArn=ROLE)[
            "stateMachineArn"
        ]
        started = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps({"items": [1, 2, 3]}))
        described = wait_until(sfn, started["executionArn"])
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"])["results"] == expected_results([1, 2, 3])
        events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
        run = next(e for e in events if e["type"] == "MapRunStarted")["mapRunStartedEventDetails"][
            "mapRunArn"
        ]
        listed = sfn.list_executions(mapRunArn=run)["executions"]
        assert sorted(e["executionArn"] for e in listed) == sorted(
            child_execution_arn(run, i) for i in range(3)
        )
        assert {(e["status"], e["mapRunArn"]) for e in listed} == {("SUCCEEDED", run)}
        assert sfn.list_executions(mapRunArn=run, statusFilter="FAILED")["executions"] == []
        child = sfn.describe_execution(executionArn=listed[0]["executionArn"])
        assert json.loads(child["output"])["square"] in (1, 4, 9)
        unknown = run.rsplit(":", 1)[0] + ":00000000-0000-4000-8000-000000000000"
        with pytest.raises(sfn.exceptions.ResourceNotFound):
            sfn.list_executions(mapRunArn=unknown)


def test_statelane_executions_lists_a_map_runs_children(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import cli.inspect  # noqa: F401  (registers the command)
    from cli.app import app

    db = f"sqlite:///{tmp_path}/cli.db"
    store = open_store(db)
    try:
        fleet = Fleet(store)
        arn = fleet.start(machine(), [4, 5])
        fleet.run(arn)
        run = fleet.map_run_arn(arn)
    finally:
        store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["executions", "--db", db, "--map-run", run, "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted(child_execution_arn(run, i) for i in range(2))
    table = runner.invoke(app, ["executions", "--db", db, "--map-run", run])
    assert table.exit_code == 0 and "SUCCEEDED" in table.output
    both = runner.invoke(app, ["executions", "--db", db, "--map-run", run, "--state-machine", "shop"])
    assert both.exit_code == 2 and "not both" in both.output
