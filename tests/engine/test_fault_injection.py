"""Kill -9 a worker at random moments; every standard execution still finishes, exactly once.

A worker subprocess runs a couple of hundred executions (Tasks, Waits, a Map and a
Parallel each) and is killed with SIGKILL several times, then restarted. Afterwards
every execution has the expected output and a complete, gap-free, duplicate-free
history, and the task functions ran more often than tasks completed only by the
invocations a kill cut off.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.store import open_store
from engine.store.records import ExecutionStatus

EXECUTIONS = 200
CONCURRENCY = 4
KILLS = 4

MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
            "Parameters": {"n.$": "$.n", "step": "prepare"},
            "ResultPath": "$.prepared",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Item",
                                "States": {
                                    "Item": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:states:::lambda:invoke",
                                        "Parameters": {
                                            "FunctionName": "work",
                                            "Payload": {"n.$": "$", "step": "item"},
                                        },
                                        "OutputPath": "$.Payload.value",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": True}}},
            ],
            "ResultSelector": {"items.$": "$[0]"},
            "ResultPath": "$.fanned",
            "Next": "Finish",
        },
        "Finish": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "prepared.$": "$.prepared.value", "items.$": "$.fanned.items"},
            "End": True,
        },
    },
}

LAMBDAS = """
import os, time

LOG = os.environ["STATELANE_FAULT_LOG"]


def work(event, context):
    line = f"{context.aws_request_id}\\n"
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    time.sleep(0.02)
    return {"value": event["n"] * 10}
"""


def expected(n: int) -> dict[str, Any]:
    return {"n": n, "prepared": n * 10, "items": [i * 10 for i in range(n % 3 + 1)]}


def log_size(log: Path) -> int:
    return len(log.read_text().split()) if log.exists() else 0


def until_working(log: Path, before: int, timeout: float = 30.0) -> None:
    """Wait until a started worker runs task code: how long a process takes to start (about a
    second here, more on a loaded machine) must not decide whether a kill lands mid-run."""
    deadline = time.monotonic() + timeout
    while log_size(log) <= before and time.monotonic() < deadline:
        time.sleep(0.02)


def worker(db: str, lambdas: Path, log: Path, *, until_idle: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "cli", "worker", "--db", db, "--lambdas", str(lambdas)]
    args += ["--concurrency", str(CONCURRENCY), "--lease-seconds", "1", "--park-after", "0"]
    if until_idle:
        args.append("--until-idle")
    env = dict(os.environ, STATELANE_FAULT_LOG=str(log))
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/fault.db"
    lambdas = tmp_path / "lambdas.py"
    lambdas.write_text(LAMBDAS)
    log = tmp_path / "invocations.log"
    definition = tmp_path / "fault.json"
    definition.write_text(json.dumps(MACHINE))
    store = open_store(db)
    from engine.api import build_handlers
    from engine.durable import DurableEngine

    starter = DurableEngine(store=store, handlers=build_handlers())
    for n in range(EXECUTIONS):
        starter.start(
            "fault", json.dumps(MACHINE), json.dumps({"n": n, "items": list(range(n % 3 + 1))}), name=f"e{n}"
        )

    rng = random.Random(20261126)
    for _ in range(KILLS):
        before = log_size(log)
        proc = worker(db, lambdas, log, until_idle=False)
        until_working(log, before)
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before_final = log_size(log)
    final = worker(db, lambdas, log, until_idle=True)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]

    completed_tasks = 0
    for n in range(EXECUTIONS):
        record = store.get_execution(f"e{n}")
        assert record.status is ExecutionStatus.SUCCEEDED, (record.name, record.error, record.cause)
        assert json.loads(record.output or "null") == expected(n)
        events = store.get_history(record.arn)
        ids = [e["id"] for e in events]
        assert ids == list(range(1, len(events) + 1)), f"{record.name}: ids not consecutive"
        assert all(0 <= e["previousEventId"] < e["id"] for e in events)
        types = [e["type"] for e in events]
        assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
        assert types.count("ExecutionStarted") == 1 and types.count("ExecutionSucceeded") == 1
        entered = sum(t.endswith("StateEntered") for t in types)
        assert entered == sum(t.endswith("StateExited") for t in types)
        assert types.count("MapIterationStarted") == types.count("MapIterationSucceeded") == n % 3 + 1
        completed_tasks += types.count("LambdaFunctionSucceeded") + types.count("TaskSucceeded")
    invocations = len(log.read_text().split())
    assert before_final > 0, "the killed workers never got to run anything"
    # Each kill can cut off at most the tasks in flight at that moment (a few per running execution).
    assert 0 <= invocations - completed_tasks <= KILLS * CONCURRENCY * 4
    store.close()


DISTRIBUTED = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 3,
            "Label": "fan",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Item",
                "States": {
                    "Item": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
                        "Parameters": {"n.$": "$"},
                        "Next": "Nap",
                    },
                    "Nap": {"Type": "Wait", "Seconds": 1, "OutputPath": "$.value", "End": True},
                },
            },
            "End": True,
        }
    },
}


def test_sigkill_during_map_runs_loses_and_duplicates_no_child(tmp_path: Path) -> None:
    """Distributed Maps whose items are child executions, with workers killed mid map run."""
    from engine.map_runs import map_run_executions

    db = f"sqlite:///{tmp_path}/fault.db"
    lambdas = tmp_path / "lambdas.py"
    lambdas.write_text(LAMBDAS)
    log = tmp_path / "invocations.log"
    store = open_store(db)
    from engine.api import build_handlers
    from engine.durable import DurableEngine

    starter = DurableEngine(store=store, handlers=build_handlers())
    parents = 12
    for n in range(parents):
        starter.start(
            "fan", json.dumps(DISTRIBUTED), json.dumps({"items": list(range(n % 4 + 3))}), name=f"p{n}"
        )
    rng = random.Random(20261127)
    for _ in range(3):
        before = log_size(log)
        proc = worker(db, lambdas, log, until_idle=False)
        until_working(log, before)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before_final = log_size(log)
    mid_run = [
        p.name
        for p in store.list_executions(status=ExecutionStatus.RUNNING, state_machine="fan")
        if any(e["type"] == "MapRunStarted" for e in store.get_history(p.arn))
    ]
    assert mid_run, "no kill left a map run for the next worker to take over"
    final = worker(db, lambdas, log, until_idle=True)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]

    completed_tasks = 0
    for n in range(parents):
        record = store.get_execution(f"p{n}")
        items = list(range(n % 4 + 3))
        assert record.status is ExecutionStatus.SUCCEEDED, (record.name, record.error, record.cause)
        assert json.loads(record.output or "null") == [i * 10 for i in items]
        types = [e["type"] for e in store.get_history(record.arn)]
        assert types.count("MapRunStarted") == types.count("MapRunSucceeded") == 1, record.name
        run = next(e for e in store.get_history(record.arn) if e["type"] == "MapRunStarted")
        children = map_run_executions(store, run["mapRunStartedEventDetails"]["mapRunArn"])
        assert sorted(json.loads(c.input) for c in children) == items, record.name
        for child in children:
            assert child.status is ExecutionStatus.SUCCEEDED, (child.arn, child.error)
            events = [e["type"] for e in store.get_history(child.arn)]
            assert events.count("ExecutionStarted") == events.count("ExecutionSucceeded") == 1
            assert events.count("WaitStateEntered") == 1, child.arn
            completed_tasks += events.count("LambdaFunctionSucceeded")
    # Every child of every map run exists once: none is created again under another name.
    assert len(store.list_executions(state_machine="fan/fan")) == sum(n % 4 + 3 for n in range(parents))
    invocations = len(log.read_text().split())
    assert before_final > 0, "the killed workers never got to run anything"
    assert 0 <= invocations - completed_tasks <= 3 * CONCURRENCY * 4
    store.close()
