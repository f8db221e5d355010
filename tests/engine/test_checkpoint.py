"""Crash anywhere, resume from the last checkpoint: the execution ends exactly as if nothing happened."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from engine.api import build_handlers, compile_machine, parse_input
from engine.checkpoint import CheckpointError, restore, snapshot
from engine.clock import VirtualClock
from engine.execution import Execution
from engine.ids import IdSource
from engine.interpreter import Interpreter

START = 1_700_000_000.0


class Boom(Exception):
    pass


def double(event: Any, context: Any) -> Any:
    return {"v": event["v"] * 2}


def always_fails(event: Any, context: Any) -> Any:
    raise Boom("no")


LAMBDAS = {"double": double, "always_fails": always_fails}

MACHINE = {
    "StartAt": "Init",
    "States": {
        "Init": {
            "Type": "Pass",
            "Assign": {"seen": 0},
            "Result": {"items": [1, 2, 3], "v": 5},
            "Next": "Twice",
        },
        "Twice": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
            "ResultPath": "$.doubled",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemProcessor": {
                                "StartAt": "Nap",
                                "States": {
                                    "Nap": {"Type": "Wait", "Seconds": 5, "Next": "Dbl"},
                                    "Dbl": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:states:::lambda:invoke",
                                        "Parameters": {"FunctionName": "double", "Payload": {"v.$": "$"}},
                                        "OutputPath": "$.Payload.v",
                                        "End": True,
                                    },
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Risky",
                    "States": {
                        "Risky": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:always_fails",
                            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 2}],
                            "Catch": [
                                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Recovered"}
                            ],
                            "End": True,
                        },
                        "Recovered": {
                            "Type": "Pass",
                            "Parameters": {"recovered.$": "$.err.Error"},
                            "End": True,
                        },
                    },
                },
            ],
            "ResultSelector": {"mapped.$": "$[0]", "risky.$": "$[1]"},
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.risky.recovered", "StringEquals": "Boom", "Next": "Done"}],
            "Default": "Bad",
        },
        "Bad": {"Type": "Fail", "Error": "Unexpected"},
        "Done": {"Type": "Succeed"},
    },
}


SEQUENTIAL = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": {"items": [1, 2, 3], "v": 5}, "Next": "Twice"},
        "Twice": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
            "ResultPath": "$.doubled",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Nap",
                "States": {
                    "Nap": {"Type": "Wait", "Seconds": 5, "Next": "Risky"},
                    "Risky": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:always_fails",
                        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 1}],
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Dbl"}],
                        "Next": "Dbl",
                    },
                    "Dbl": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True},
                },
            },
            "ResultPath": "$.mapped",
            "End": True,
        },
    },
}


def new_interpreter(definition: dict[str, Any] = MACHINE) -> Interpreter:
    machine = compile_machine(json.dumps(definition))
    text, value = parse_input("{}")
    clock = VirtualClock(start=START)
    ex = Execution("arn:exec", "arn:sm", "sm", "exec", text, value, START)
    return Interpreter(
        machine.plan, ex, handlers=build_handlers(LAMBDAS), clock=clock, ids=IdSource(seed=7), max_workers=4
    )


def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for e in events:
        details = {k: v for k, v in e.items() if k.endswith("EventDetails")}
        text = json.dumps(details, sort_keys=True)
        # request ids, dates and trace ids vary between invocations; the rest must not
        if "SdkHttpMetadata" in text or "errorMessage" in text:
            text = ""
        out.append((e["id"], e["previousEventId"], e["type"], text))
    return out


def checkpoints_of(
    definition: dict[str, Any],
) -> tuple[Any, list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    checkpoints: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    interp = new_interpreter(definition)

    def capture(it: Interpreter) -> None:
        checkpoints.append((copy.deepcopy(snapshot(it)), it.execution.history()))

    interp._on_commit = capture
    return interp.run(), checkpoints


def well_formed(events: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    entered = sum(e["type"].endswith("StateEntered") and not e["type"].startswith("Fail") for e in events)
    exited = sum(e["type"].endswith("StateExited") for e in events)
    assert entered == exited


def test_sequential_resume_from_every_checkpoint_is_identical() -> None:
    original, checkpoints = checkpoints_of(SEQUENTIAL)
    assert original.status == "SUCCEEDED", original.cause
    reference = shape(original.history())
    for doc, events in checkpoints[:-1]:
        resumed = restore(new_interpreter(SEQUENTIAL), json.loads(json.dumps(doc)), events).resume()
        assert (resumed.status, resumed.output) == (original.status, original.output)
        assert shape(resumed.history()) == reference


def test_concurrent_resume_from_every_checkpoint_gives_the_same_execution() -> None:
    checkpoints: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    interp = new_interpreter()

    def capture(it: Interpreter) -> None:
        checkpoints.append((copy.deepcopy(snapshot(it)), it.execution.history()))

    interp._on_commit = capture
    original = interp.run()
    assert original.status == "SUCCEEDED", original.cause
    assert original.output == {"mapped": [2, 4, 6], "risky": {"recovered": "Boom"}}
    assert len(checkpoints) > 20
    reference = shape(original.history())
    for doc, events in checkpoints[:-1]:
        resumed = restore(new_interpreter(), json.loads(json.dumps(doc)), events).resume()
        assert resumed.status == original.status
        assert resumed.output == original.output
        # branches interleave differently from run to run; the events themselves must be the same
        well_formed(resumed.history())
        assert sorted(t[2:] for t in shape(resumed.history())) == sorted(t[2:] for t in reference)


def test_checkpoint_must_match_the_recorded_events() -> None:
    interp = new_interpreter()
    docs: list[dict[str, Any]] = []
    interp._on_commit = lambda it: docs.append(snapshot(it))
    interp.run()
    with pytest.raises(CheckpointError):
        restore(new_interpreter(), docs[3], [])


def test_answers_collected_together_are_not_copied_into_the_checkpoint(tmp_path: Any) -> None:
    """Two callback answers found in one look: the first one's transition commits while the second
    still waits in the run queue; the checkpoint leaves it out and a resumed worker reads it again."""
    from engine.durable import DurableEngine
    from engine.store import TaskOutcome, open_store

    def ask(event: Any, context: Any) -> Any:
        return {}

    def branch(name: str) -> dict[str, Any]:
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
        return {"StartAt": name, "States": {name: task}}

    machine = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "Branches": [branch("A"), branch("B")], "End": True}},
    }
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    clock = VirtualClock(start=START)
    engine = DurableEngine(store=store, handlers=build_handlers({"ask": ask}), clock=clock, worker_id="w")
    record = engine.start("both", json.dumps(machine), "{}", name="x")
    assert engine.work_once() == 1  # both tasks submitted; the execution parks
    for token in store.list_task_tokens(record.arn):
        store.complete_task_token(token.token, TaskOutcome.success('{"ok": true}'), now=clock.now())
    assert engine.work_once() == 1
    done = store.get_execution(record.arn)
    assert (done.status.value, json.loads(done.output or "null")) == (
        "SUCCEEDED",
        [{"ok": True}, {"ok": True}],
    )
    store.close()
