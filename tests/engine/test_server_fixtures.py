"""Shared by the HTTP API tests (no tests here): a server on a free loopback port, a boto3 client, lambdas."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]

from engine.api import build_handlers
from engine.server import ServerOptions, StatelaneServer

ROLE = "arn:aws:iam::123456789012:role/StatelaneTest"
REGION = "us-east-1"


class Lambdas:
    """Local Lambda functions the tests' state machines call."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.token_arrived = threading.Event()
        self.flaky_failures = 1
        self._lock = threading.Lock()

    def ask(self, event: Any, context: Any) -> Any:
        """Stores the task token it is given, as a human approver's inbox would."""
        with self._lock:
            self.tokens.append(event["token"])
        self.token_arrived.set()
        return {"queued": True}

    def flaky(self, event: Any, context: Any) -> Any:
        """Fails while `flaky_failures` lasts, then echoes its input."""
        with self._lock:
            fail = self.flaky_failures > 0
            self.flaky_failures -= 1
        if fail:
            raise RuntimeError("not yet")
        return {"echo": event}

    def wait_for_token(self, count: int = 1, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.tokens) >= count:
                    return self.tokens[count - 1]
            time.sleep(0.01)
        raise AssertionError("no task token arrived")


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> str:
    return json.dumps({"StartAt": start or next(iter(states)), "States": states, **top})


PASS = machine(
    {
        "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    }
)
WAIT_LONG = machine({"W": {"Type": "Wait", "Seconds": 3600, "End": True}})
CALLBACK = machine(
    {
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "ResultPath": "$.answer",
            "End": True,
        }
    }
)
FLAKY = machine(
    {
        "First": {"Type": "Pass", "Result": "ok", "ResultPath": "$.first", "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        },
    }
)


@pytest.fixture
def lambdas() -> Lambdas:
    return Lambdas()


@pytest.fixture
def server(tmp_path: Path, lambdas: Lambdas) -> Iterator[StatelaneServer]:
    handlers = build_handlers({"ask": lambdas.ask, "flaky": lambdas.flaky})
    options = ServerOptions(port=0, db=f"sqlite:///{tmp_path}/api.db", handlers=handlers, concurrency=4)
    with StatelaneServer(options) as running:
        yield running


def make_client(url: str, *, key: str = "testing", secret: str = "testing") -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        # StartSyncExecution and TestState would go to `sync-<host>`, which does not resolve locally.
        config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def sfn(server: StatelaneServer) -> Any:
    return make_client(server.url)


def create(sfn: Any, name: str, definition: str, **kwargs: Any) -> str:
    return str(
        sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, **kwargs)["stateMachineArn"]
    )


def wait_until(sfn: Any, execution_arn: str, done: Any = None, timeout: float = 15.0) -> dict[str, Any]:
    """Poll DescribeExecution until `done(description)` (default: no longer RUNNING)."""
    done = done or (lambda d: d["status"] != "RUNNING")
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if done(described):
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"execution still {described['status']}: {execution_arn}")
        time.sleep(0.02)


def history(sfn: Any, execution_arn: str, **kwargs: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution_arn, **kwargs)["events"]
    return events
