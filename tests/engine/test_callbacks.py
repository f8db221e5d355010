"""`.waitForTaskToken`: the execution waits for SendTaskSuccess / Failure / Heartbeat."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.api import build_handlers, run
from engine.callbacks import InvalidOutput, MemoryCallbacks, StoreCallbacks
from engine.clock import VirtualClock
from engine.durable import DurableEngine
from engine.execution import ExecutionStatus
from engine.store import Store, open_store
from engine.store.errors import InvalidToken, TaskDoesNotExist, TaskTimedOut
from engine.store.records import TaskOutcome

T0 = 1_800_000_000.0


def machine(**task: Any) -> str:
    return json.dumps(
        {
            "StartAt": "Approve",
            "States": {
                "Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {
                        "FunctionName": "ask",
                        "Payload": {"token.$": "$$.Task.Token", "who.$": "$.who"},
                    },
                    "ResultPath": "$.answer",
                    **task,
                    "End": True,
                }
            },
        }
    )


class Inbox:
    """A Lambda function that, like a human approver's mailbox, keeps the tokens it is given."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.arrived = threading.Event()

    def ask(self, event: Any, context: Any) -> Any:
        self.tokens.append(event["token"])
        self.arrived.set()
        return {"queued": True}


def test_in_memory_execution_waits_for_send_task_success() -> None:
    inbox = Inbox()
    callbacks = MemoryCallbacks()

    def approve() -> None:
        assert inbox.arrived.wait(5)
        callbacks.send_task_success(inbox.tokens[0], '{"approved": true}')

    threading.Thread(target=approve).start()
    ex = run(machine(), '{"who": "ada"}', lambdas={"ask": inbox.ask}, callbacks=callbacks)
    assert ex.status == "SUCCEEDED"
    assert ex.output == {"who": "ada", "answer": {"approved": True}}
    types = [e.type for e in ex.events]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    with pytest.raises(TaskDoesNotExist):
        callbacks.send_task_success(inbox.tokens[0], "{}")  # a token is used once
    with pytest.raises(InvalidToken):
        callbacks.send_task_failure("never-issued")


def test_send_task_failure_without_error_or_cause_is_caught_as_nulls() -> None:
    inbox = Inbox()
    callbacks = MemoryCallbacks()

    def answer() -> None:
        inbox.arrived.wait(5)
        callbacks.send_task_failure(inbox.tokens[0])

    threading.Thread(target=answer).start()
    ex = run(
        machine(Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}])
        .replace('"End": true', '"Next": "Done"')
        .replace('"States": {', '"States": {"Done": {"Type": "Pass", "End": true}, ', 1),
        '{"who": "bo"}',
        lambdas={"ask": inbox.ask},
        callbacks=callbacks,
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["err"] == {"Error": None, "Cause": None}


def test_timeout_while_waiting_for_the_token() -> None:
    inbox = Inbox()
    callbacks = MemoryCallbacks()
    ex = run(
        machine(TimeoutSeconds=30),
        '{"who": "cy"}',
        lambdas={"ask": inbox.ask},
        callbacks=callbacks,
        clock=VirtualClock(),
    )
    assert (ex.status, ex.error) == ("FAILED", "States.Timeout")
    assert [e.type for e in ex.events][-2:] == ["TaskTimedOut", "ExecutionFailed"]
    with pytest.raises(TaskTimedOut):
        callbacks.send_task_success(inbox.tokens[0], "{}")


def durable(path: Path) -> tuple[Store, Inbox, VirtualClock, DurableEngine]:
    """A store, an approver's inbox and a worker on a virtual clock."""
    store = open_store(f"sqlite:///{path}")
    inbox = Inbox()
    clock = VirtualClock(start=T0)
    engine = DurableEngine(
        store=store, handlers=build_handlers({"ask": inbox.ask}), clock=clock, worker_id="w"
    )
    return store, inbox, clock, engine


def test_durable_execution_parks_until_the_token_is_answered(tmp_path: Path) -> None:
    store, inbox, clock, engine = durable(tmp_path / "cb.db")
    engine.start("approval", machine(), '{"who": "di"}', name="a")
    assert engine.work_once() == 1
    parked = store.get_execution("a")
    assert parked.status is ExecutionStatus.RUNNING and parked.lease_owner is None
    assert not store.has_pending_work(clock.now())  # waiting only on a token keeps no worker busy
    token = inbox.tokens[0]
    clock.advance(30)
    store.complete_task_token(token, TaskOutcome.success('{"ok": 1}'), now=clock.now())
    assert engine.work_once() == 1
    done = store.get_execution("a")
    assert done.status is ExecutionStatus.SUCCEEDED
    assert json.loads(done.output or "null") == {"who": "di", "answer": {"ok": 1}}
    types = [e["type"] for e in store.get_history(done.arn)]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    store.close()


def test_durable_heartbeat_timeout(tmp_path: Path) -> None:
    store, _inbox, clock, engine = durable(tmp_path / "hb.db")
    engine.start(
        "approval",
        machine(HeartbeatSeconds=10, Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Late"}])
        .replace('"End": true', '"Next": "Late"')
        .replace('"States": {', '"States": {"Late": {"Type": "Pass", "End": true}, ', 1),
        '{"who": "ed"}',
        name="h",
    )
    engine.work_once()
    clock.advance(11)
    assert engine.work_once() == 1  # the heartbeat deadline woke it
    done = store.get_execution("h")
    assert done.status is ExecutionStatus.SUCCEEDED, done.cause
    assert json.loads(done.output or "null") == {"Error": "States.Timeout", "Cause": ""}
    store.close()


def test_a_token_answered_before_the_request_returns_is_accepted() -> None:
    callbacks = MemoryCallbacks()

    def answer_at_once(event: Any, context: Any) -> Any:
        callbacks.send_task_success(event["token"], '{"fast": true}')  # inside the call itself
        return {}

    ex = run(machine(), '{"who": "fi"}', lambdas={"ask": answer_at_once}, callbacks=callbacks)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["answer"] == {"fast": True}


def test_the_python_api_answers_stored_tokens_as_the_cli_and_the_http_api_do(tmp_path: Path) -> None:
    store, inbox, clock, engine = durable(tmp_path / "api.db")
    answers = StoreCallbacks(store)
    engine.start("approval", machine(HeartbeatSeconds=60), '{"who": "al"}', name="yes")
    engine.start("approval", machine(), '{"who": "bo"}', name="no")
    engine.work_once(limit=2)
    yes, no = inbox.tokens
    with pytest.raises(InvalidOutput):
        answers.send_task_success(yes, "not json", now=clock.now())
    clock.advance(50)
    answers.send_task_heartbeat(yes, now=clock.now())
    clock.advance(50)  # past the first heartbeat deadline, not past the renewed one
    answers.send_task_success(yes, '{"approved": true}', now=clock.now())
    answers.send_task_failure(no, "Rejected", "not today", now=clock.now())
    with pytest.raises(TaskDoesNotExist):
        answers.send_task_failure(no, "Again")
    with pytest.raises(InvalidToken):
        answers.send_task_heartbeat("no-such-token")
    assert engine.work_once(limit=2) == 2
    assert json.loads(store.get_execution("yes").output or "null")["answer"] == {"approved": True}
    rejected = store.get_execution("no")
    assert (rejected.status, rejected.error, rejected.cause) == (
        ExecutionStatus.FAILED,
        "Rejected",
        "not today",
    )
    store.close()
