"""`statelane serve` as a process: it prints where it listens, Ctrl-C stops it cleanly, executions
resume on the next start, and the AWS CLI drives the whole lifecycle against it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from typer.testing import CliRunner

import cli.serve  # noqa: F401  (registers the command until cli.app's _register does)
from cli.app import _register, app

_register()
runner = CliRunner()

ROLE = "arn:aws:iam::123456789012:role/StatelaneTest"
LAUNCH = "import cli.app as a, cli.serve; a._register(); a.main()"
LAMBDAS = """
import os
from pathlib import Path

def ask(event, context):
    Path(os.environ["TOKEN_FILE"]).write_text(event["token"])
    return {"queued": True}
"""


class Served:
    """A `statelane serve` subprocess on a free loopback port."""

    def __init__(self, tmp_path: Path, db: str, *extra: str) -> None:
        env = {**os.environ, "TOKEN_FILE": str(tmp_path / "token.txt"), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "serve", "--port", "0", "--db", db, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found is None:
            self.process.kill()
            raise AssertionError(
                f"no address printed: {line!r} {self.process.stderr.read() if self.process.stderr else ''}"
            )
        self.url = found.group(1)

    def interrupt(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/served.db"


@pytest.fixture
def served(tmp_path: Path, db: str) -> Iterator[Served]:
    (tmp_path / "lambdas.py").write_text(LAMBDAS)
    process = Served(tmp_path, db, "--lambdas", str(tmp_path / "lambdas.py"))
    try:
        yield process
    finally:
        process.kill()


def client(url: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="cli",
        aws_secret_access_key="cli",
        config=Config(retries={"total_max_attempts": 1}),
    )


def wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_ctrl_c_stops_cleanly_and_executions_resume_on_the_next_start(tmp_path: Path, db: str) -> None:
    first = Served(tmp_path, db)
    try:
        sfn = client(first.url)
        definition = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3, "End": True}}}
        arn = sfn.create_state_machine(name="Napper", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn, name="nap")["executionArn"]
        wait_for(lambda: len(sfn.get_execution_history(executionArn=execution)["events"]) >= 2)
        code, err = first.interrupt()
    finally:
        first.kill()
    assert code == 0, err
    assert "Traceback" not in err
    assert "stopped" in err
    second = Served(tmp_path, db)
    try:
        sfn = client(second.url)
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        done = wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED")
        assert done
        types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
        assert types == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"]
    finally:
        second.kill()


def test_sigterm_stops_as_cleanly_as_ctrl_c(tmp_path: Path) -> None:
    served = Served(tmp_path, "memory://")
    try:
        assert client(served.url).list_state_machines()["stateMachines"] == []
        code, err = served.interrupt(signal.SIGTERM)
    finally:
        served.kill()
    assert code == 0, err
    assert "stopped" in err


def test_a_long_express_run_does_not_hold_ctrl_c(tmp_path: Path) -> None:
    served = Served(tmp_path, "memory://")
    try:
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=served.url,
            region_name="us-east-1",
            aws_access_key_id="cli",
            aws_secret_access_key="cli",
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}, read_timeout=120),
        )
        definition = {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 120, "End": True}}}
        arn = sfn.create_state_machine(
            name="Long", type="EXPRESS", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        sfn.start_execution(stateMachineArn=arn)  # runs in the background
        answers: list[str] = []

        def sync_call() -> None:
            try:
                sfn.start_sync_execution(stateMachineArn=arn)
            except Exception as exc:  # the server stops under it
                answers.append(str(exc))

        caller = threading.Thread(target=sync_call)
        caller.start()
        time.sleep(0.5)
        began = time.monotonic()
        code, err = served.interrupt()
        caller.join(30)
    finally:
        served.kill()
    assert code == 0, err
    assert time.monotonic() - began < 15
    assert answers and "ServiceUnavailable" in answers[0]


def test_usage_errors_exit_2() -> None:
    bad_auth = runner.invoke(app, ["serve", "--auth", "no-secret-here"])
    assert bad_auth.exit_code == 2
    assert "ACCESS_KEY:SECRET" in bad_auth.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = runner.invoke(app, ["serve", "--port", str(port), "--db", "memory://"])
    assert busy.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr


def test_a_bad_mock_configuration_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "mocks.json").write_text('{"MockedResponses": {"R": {"zero": {"Return": 1}}}}')
    bad = runner.invoke(
        app, ["serve", "--db", "memory://", "--port", "0", "--mock-config", str(tmp_path / "mocks.json")]
    )
    assert bad.exit_code == 2
    assert "zero" in bad.stderr and "Traceback" not in bad.stderr
    missing = runner.invoke(
        app, ["serve", "--db", "memory://", "--port", "0", "--mock-config", str(tmp_path / "no.json")]
    )
    assert missing.exit_code == 2 and "no.json" in missing.stderr


# ------------------------------------------------------------------ the AWS CLI


def aws(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "cli",
        "AWS_SECRET_ACCESS_KEY": "cli",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_PAGER": "",
    }
    for name in ("PYENV_ROOT", "PYENV_VERSION"):
        if name in os.environ:
            env[name] = os.environ[name]
    return subprocess.run(
        ["aws", "stepfunctions", "--endpoint-url", url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def aws_json(url: str, home: Path, *args: str) -> Any:
    done = aws(url, home, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_drives_the_lifecycle(served: Served, tmp_path: Path) -> None:
    url, home = served.url, tmp_path
    definition = {
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer",
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "Seconds": 3600, "End": True},
        },
    }
    (tmp_path / "flow.json").write_text(json.dumps(definition))
    created = aws_json(
        url,
        home,
        "create-state-machine",
        "--name",
        "Flow",
        "--definition",
        f"file://{tmp_path / 'flow.json'}",
        "--role-arn",
        ROLE,
    )
    arn = created["stateMachineArn"]
    assert aws_json(url, home, "describe-state-machine", "--state-machine-arn", arn)["name"] == "Flow"
    started = aws_json(
        url, home, "start-execution", "--state-machine-arn", arn, "--name", "one", "--input", '{"k": 1}'
    )
    execution = started["executionArn"]
    token = wait_for(lambda: (tmp_path / "token.txt").exists() and (tmp_path / "token.txt").read_text())
    aws_json(url, home, "send-task-success", "--task-token", token, "--task-output", '{"ok": true}')
    wait_for(
        lambda: any(
            e["type"] == "WaitStateEntered"
            for e in aws_json(url, home, "get-execution-history", "--execution-arn", execution)["events"]
        )
    )
    page = aws_json(
        url,
        home,
        "get-execution-history",
        "--execution-arn",
        execution,
        "--max-results",
        "2",
        "--no-paginate",
    )
    assert [e["id"] for e in page["events"]] == [1, 2]
    assert page["nextToken"]
    everything = aws_json(url, home, "get-execution-history", "--execution-arn", execution)["events"]
    assert [e["id"] for e in everything] == list(range(1, len(everything) + 1))  # the CLI paged through all

    aws_json(
        url, home, "stop-execution", "--execution-arn", execution, "--error", "Halt", "--cause", "enough"
    )
    described = aws_json(url, home, "describe-execution", "--execution-arn", execution)
    assert (described["status"], described["error"]) == ("ABORTED", "Halt")
    assert aws_json(url, home, "redrive-execution", "--execution-arn", execution)["redriveDate"]
    listed = aws_json(url, home, "list-executions", "--state-machine-arn", arn, "--status-filter", "RUNNING")
    assert [e["name"] for e in listed["executions"]] == ["one"]

    aws_json(url, home, "delete-state-machine", "--state-machine-arn", arn)
    missing = aws(url, home, "describe-state-machine", "--state-machine-arn", arn)
    assert missing.returncode != 0
    assert "StateMachineDoesNotExist" in missing.stderr
    bad = aws(url, home, "describe-execution", "--execution-arn", "not-an-arn")
    assert "InvalidArn" in bad.stderr
