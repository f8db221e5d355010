"""Standard executions on a store: foreground runs, workers, parked timers and recovery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.api import build_handlers
from engine.clock import VirtualClock
from engine.durable import DurableEngine
from engine.execution import ExecutionStatus
from engine.store import open_store
from engine.store.errors import ExecutionAlreadyExists

T0 = 1_800_000_000.0

WAITING = json.dumps(
    {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"n": 2}, "Next": "Sleep"},
            "Sleep": {"Type": "Wait", "Seconds": 3600, "Next": "Double"},
            "Double": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                "End": True,
            },
        },
    }
)


def double(event: Any, context: Any) -> Any:
    return {"n": event["n"] * 2}


def engine_for(store: Any, clock: VirtualClock, worker: str = "w1", **kw: Any) -> DurableEngine:
    return DurableEngine(
        store=store,
        handlers=build_handlers({"double": double}),
        clock=clock,
        worker_id=worker,
        lease_seconds=30,
        park_after=1.0,
        **kw,
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


def well_formed(events: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)


def test_foreground_run_records_every_transition(store: Any) -> None:
    clock = VirtualClock(start=T0)
    engine = engine_for(store, clock)
    record = engine.start("waiting", WAITING, "{}", name="fg", queued=False)
    execution = engine.run_in_foreground(record)
    assert execution.status is ExecutionStatus.SUCCEEDED
    stored = store.get_execution("fg")
    assert stored.status is ExecutionStatus.SUCCEEDED
    assert json.loads(stored.output) == {"n": 4}
    history = store.get_history(stored.arn)
    well_formed(history)
    assert [e["type"] for e in history] == [e.type for e in execution.events]
    assert stored.lease_owner is None


def test_worker_parks_a_long_wait_and_resumes_when_due(store: Any) -> None:
    clock = VirtualClock(start=T0)
    engine = engine_for(store, clock)
    engine.start("waiting", WAITING, "{}", name="parked")
    assert engine.work_once() == 1
    parked = store.get_execution("parked")
    assert parked.status is ExecutionStatus.RUNNING
    assert parked.lease_owner is None and parked.wake_at == pytest.approx(T0 + 3600)
    assert [e["type"] for e in store.get_history(parked.arn)][-1] == "WaitStateEntered"
    assert engine.work_once() == 0  # not due yet: nothing to claim, no thread waits on it
    clock.advance(3600)
    other = engine_for(store, clock, worker="w2")  # any worker may resume it
    assert other.work_once() == 1
    done = store.get_execution("parked")
    assert done.status is ExecutionStatus.SUCCEEDED and json.loads(done.output) == {"n": 4}
    well_formed(store.get_history(done.arn))


def test_crashed_worker_is_taken_over_after_its_lease_expires(store: Any) -> None:
    clock = VirtualClock(start=T0)
    engine = engine_for(store, clock)
    engine.start("waiting", WAITING, "{}", name="crash")
    commits = {"n": 0}
    real = engine._committer

    def dying_committer(arn: str) -> Any:
        commit = real(arn)

        def maybe_die(interp: Any) -> None:
            commits["n"] += 1
            if commits["n"] == 3:
                raise KeyboardInterrupt  # the process dies before this transition commits
            commit(interp)

        return maybe_die

    engine._committer = dying_committer  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        engine.work_once()
    survivor = engine_for(store, clock, worker="w2")
    assert survivor.work_once() == 0  # the dead worker's lease is still live
    clock.advance(31)
    while store.get_execution("crash").status is ExecutionStatus.RUNNING:
        if survivor.work_once() == 0:
            clock.advance(3600)
    done = store.get_execution("crash")
    assert done.status is ExecutionStatus.SUCCEEDED and json.loads(done.output) == {"n": 4}
    history = store.get_history(done.arn)
    well_formed(history)
    types = [e["type"] for e in history]
    assert types.count("WaitStateEntered") == 1 and types.count("ExecutionSucceeded") == 1


def test_start_is_idempotent_by_name_and_input(store: Any) -> None:
    engine = engine_for(store, VirtualClock(start=T0))
    first = engine.start("waiting", WAITING, '{"a": 1}', name="same")
    again = engine.start("waiting", WAITING, '{"a": 1}', name="same")
    assert again.arn == first.arn
    with pytest.raises(ExecutionAlreadyExists):
        engine.start("waiting", WAITING, '{"a": 2}', name="same")


FLAKY_MAP = json.dumps(
    {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fragile",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
)


def test_redrive_resumes_from_the_failed_iteration_only(store: Any) -> None:
    calls: list[int] = []
    broken = {"on": True}

    def fragile(event: Any, context: Any) -> Any:
        calls.append(event)
        if event == 2 and broken["on"]:
            raise RuntimeError("disk on fire")
        return event * 10

    clock = VirtualClock(start=T0)
    engine = DurableEngine(
        store=store, handlers=build_handlers({"fragile": fragile}), clock=clock, worker_id="w"
    )
    engine.start("flaky", FLAKY_MAP, '{"items": [1, 2, 3]}', name="r")
    engine.work_once()
    failed = store.get_execution("r")
    assert (failed.status, failed.error) == (ExecutionStatus.FAILED, "RuntimeError")
    assert calls == [1, 2]
    broken["on"] = False
    redriven = engine.redrive("r")
    assert redriven.status is ExecutionStatus.RUNNING and redriven.redrive_count == 1
    engine.work_once()
    done = store.get_execution("r")
    assert done.status is ExecutionStatus.SUCCEEDED
    assert json.loads(done.output) == [10, 20, 30]
    assert calls == [1, 2, 2, 3]  # item 1 is not run again
    history = store.get_history(done.arn)
    well_formed(history)
    types = [e["type"] for e in history]
    assert types.count("ExecutionFailed") == 1 and types.count("ExecutionRedriven") == 1
    redriven_event = next(e for e in history if e["type"] == "ExecutionRedriven")
    assert redriven_event["executionRedrivenEventDetails"] == {"redriveCount": 1}


def test_stop_aborts_with_an_execution_aborted_event(store: Any) -> None:
    from engine.store.errors import ExecutionNotRunning

    clock = VirtualClock(start=T0)
    engine = engine_for(store, clock)
    engine.start("waiting", WAITING, "{}", name="s")
    engine.work_once()  # parks in the Wait
    stopped = engine.stop("s", error="Manual", cause="operator said so")
    assert (stopped.status, stopped.error, stopped.cause) == (
        ExecutionStatus.ABORTED,
        "Manual",
        "operator said so",
    )
    last = store.get_history(stopped.arn)[-1]
    assert last["type"] == "ExecutionAborted" and last["previousEventId"] == 0
    assert last["executionAbortedEventDetails"] == {"cause": "operator said so", "error": "Manual"}
    clock.advance(7200)
    assert engine.work_once() == 0  # an aborted execution is never resumed
    with pytest.raises(ExecutionNotRunning):
        engine.stop("s")


def test_a_thousand_parked_executions_cost_rows_not_threads(store: Any) -> None:
    import threading

    year = json.dumps(
        {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 31_536_000, "End": True}}}
    )
    clock = VirtualClock(start=T0)
    engine = engine_for(store, clock)
    for i in range(1000):
        engine.start("year", year, "{}", name=f"y{i}")
    threads = threading.active_count()
    while engine.work_once(limit=50):
        pass
    assert threading.active_count() <= threads + 1
    parked = store.list_executions(status=ExecutionStatus.RUNNING)
    assert len(parked) == 1000 and all(e.lease_owner is None and e.wake_at == T0 + 31_536_000 for e in parked)
    clock.advance(31_536_000)
    restarted = engine_for(store, clock, worker="after-a-restart")
    while restarted.work_once(limit=100):
        pass
    assert len(store.list_executions(status=ExecutionStatus.SUCCEEDED)) == 1000
