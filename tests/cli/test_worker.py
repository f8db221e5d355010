"""statelane start / worker / stop / redrive against a store, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import _register, app

_register()
runner = CliRunner()


def write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_start_then_worker_until_idle(tmp_path: Path) -> None:
    flow = write(
        tmp_path, "flow.json", {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
    )
    started = runner.invoke(app, ["start", str(flow), "--name", "one", "--json"])
    assert started.exit_code == 0, started.stderr
    assert json.loads(started.stdout)["executionArn"].endswith(":execution:flow:one")
    worked = runner.invoke(app, ["worker", "--until-idle", "--concurrency", "2"])
    assert worked.exit_code == 0, worked.stderr
    described = runner.invoke(app, ["describe", "one", "--json"])
    assert json.loads(described.stdout)["status"] == "SUCCEEDED"


def test_start_same_name_other_input_is_refused(tmp_path: Path) -> None:
    flow = write(
        tmp_path, "flow.json", {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    assert runner.invoke(app, ["start", str(flow), "--name", "x", "--input", "{}"]).exit_code == 0
    again = runner.invoke(app, ["start", str(flow), "--name", "x", "--input", '{"a": 1}'])
    assert again.exit_code == 2
    assert "Execution Already Exists" in again.stderr


def test_stop_and_redrive(tmp_path: Path) -> None:
    flow = write(
        tmp_path, "flow.json", {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    assert runner.invoke(app, ["start", str(flow), "--name", "w"]).exit_code == 0
    stopped = runner.invoke(app, ["stop", "w", "--error", "E", "--cause", "C"])
    assert stopped.exit_code == 0, stopped.stderr
    described = json.loads(runner.invoke(app, ["describe", "w", "--json"]).stdout)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "E", "C")
    again = runner.invoke(app, ["stop", "w"])
    assert again.exit_code == 2
    redriven = runner.invoke(app, ["redrive", "w"])
    assert redriven.exit_code == 0, redriven.stderr
    assert json.loads(runner.invoke(app, ["describe", "w", "--json"]).stdout)["status"] == "RUNNING"


def test_unknown_execution_is_a_clear_error() -> None:
    result = runner.invoke(app, ["stop", "nope"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr


def test_send_task_success_completes_a_waiting_execution(tmp_path: Path) -> None:
    lambdas = tmp_path / "fns.py"
    lambdas.write_text(
        "import pathlib\n"
        f"BOX = pathlib.Path({str(tmp_path / 'token.txt')!r})\n"
        "def ask(event, context):\n"
        "    BOX.write_text(event['token'])\n"
        "    return {}\n"
    )
    flow = write(
        tmp_path,
        "approve.json",
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        },
    )
    assert runner.invoke(app, ["start", str(flow), "--name", "ap"]).exit_code == 0
    assert runner.invoke(app, ["worker", "--until-idle", "--lambdas", str(lambdas)]).exit_code == 0
    token = (tmp_path / "token.txt").read_text()
    bad = runner.invoke(app, ["send-task-success", token, "--output", "{nope"])
    assert bad.exit_code == 2
    ok = runner.invoke(app, ["send-task-success", token, "--output", '{"approved": true}'])
    assert ok.exit_code == 0, ok.stderr
    again = runner.invoke(app, ["send-task-success", token, "--output", "{}"])
    assert again.exit_code == 2 and "Task Does Not Exist" in again.stderr
    assert runner.invoke(app, ["send-task-failure", "nope"]).exit_code == 2
    assert runner.invoke(app, ["worker", "--until-idle", "--lambdas", str(lambdas)]).exit_code == 0
    described = json.loads(runner.invoke(app, ["describe", "ap", "--json"]).stdout)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}


def test_worker_until_idle_does_not_wait_out_a_callback_tasks_timeout(tmp_path: Path) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "approvals", "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 86400,
        "HeartbeatSeconds": 3600,
        "End": True,
    }
    flow = write(tmp_path, "flow.json", {"StartAt": "Approve", "States": {"Approve": task}})
    assert runner.invoke(app, ["queues", "create", "approvals"]).exit_code == 0
    assert runner.invoke(app, ["start", str(flow), "--name", "ask"]).exit_code == 0
    worked = runner.invoke(app, ["worker", "--until-idle"])  # returns at once: only an answer can move it
    assert worked.exit_code == 0, worked.stderr
    described = json.loads(runner.invoke(app, ["describe", "ask", "--json"]).stdout)
    assert described["status"] == "RUNNING"
    received = json.loads(runner.invoke(app, ["queues", "receive", "approvals", "--json"]).stdout)
    token = json.loads(received["Messages"][0]["Body"])["token"]
    assert runner.invoke(app, ["send-task-success", token, "--output", '"yes"']).exit_code == 0
    assert runner.invoke(app, ["worker", "--until-idle"]).exit_code == 0
    described = json.loads(runner.invoke(app, ["describe", "ask", "--json"]).stdout)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '"yes"')
