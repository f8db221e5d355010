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
        proc = worker(db, lambdas, log, until_idle=False)
        time.sleep(rng.uniform(0.8, 1.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before_final = len(log.read_text().split()) if log.exists() else 0
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
