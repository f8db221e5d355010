"""Local Lambda functions: their timeouts and the failures Lambda reports itself, as Step Functions sees them."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asl.errors import StatesError
from engine.api import run
from engine.config import ConfigError, load_config, parse_config
from engine.handlers.base import HandlerRegistry, TaskRequest
from engine.handlers.lambda_local import DEFAULT_TIMEOUT_SECONDS, LocalLambdaHandler
from engine.handlers.registry import build_registry

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of a test so functions abandoned after a timeout return and free their thread."""
    event = threading.Event()
    yield event
    event.set()


def machine(states: dict[str, Any], start: str = "T") -> str:
    return json.dumps({"StartAt": start, "States": states})


def events(ex: Any, kind: str) -> list[dict[str, Any]]:
    return [e.details for e in ex.events if e.type == kind]


def hanging(release: threading.Event) -> Any:
    """A function stuck in a Python loop (the timeout interrupts it where it is)."""

    def function(event: Any, context: Any) -> Any:
        try:
            while not release.is_set():
                pass
        except Exception:  # a function's own handler must not swallow its timeout
            return "swallowed"
        return "too late"

    return function


def test_a_function_past_its_timeout_fails_as_lambda_unknown(release: threading.Event) -> None:
    handler = LocalLambdaHandler({"slow": hanging(release)}, timeouts={"slow": 0.05})
    ex = run(
        machine({"T": {"Type": "Task", "Resource": ARN + "slow", "End": True}}),
        handlers=HandlerRegistry([handler]),
    )
    assert ex.status == "FAILED"
    assert ex.error == "Lambda.Unknown"
    cause = json.loads(ex.cause or "")
    assert list(cause) == ["errorMessage"]
    assert cause["errorMessage"].endswith(" Task timed out after 0.05 seconds")
    (failed,) = events(ex, "LambdaFunctionFailed")
    assert failed["error"] == "Lambda.Unknown"
    assert events(ex, "LambdaFunctionTimedOut") == []  # the function timed out, not the Task state


def test_a_timed_out_invoke_is_caught_and_retried_like_any_task_failure(release: threading.Event) -> None:
    calls: list[int] = []

    def sometimes_slow(event: Any, context: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            while not release.is_set():
                pass
        return {"ok": len(calls)}

    handler = LocalLambdaHandler({"work": sometimes_slow}, timeouts={"work": 0.05})
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "work", "Payload": {}},
        "Retry": [{"ErrorEquals": ["Lambda.Unknown"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "OutputPath": "$.Payload",
        "End": True,
    }
    ex = run(machine({"T": task}), handlers=HandlerRegistry([handler]), fast_forward=True)
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"ok": 2}
    (failed,) = events(ex, "TaskFailed")
    assert failed["error"] == "Lambda.Unknown" and failed["resource"] == "invoke"


def test_states_task_failed_catches_a_timeout(release: threading.Event) -> None:
    handler = LocalLambdaHandler({"slow": hanging(release)}, timeouts={"slow": 0.05})
    states = {
        "T": {
            "Type": "Task",
            "Resource": ARN + "slow",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Done"}],
            "End": True,
        },
        "Done": {"Type": "Pass", "End": True},
    }
    ex = run(machine(states), "{}", handlers=HandlerRegistry([handler]))
    assert ex.status == "SUCCEEDED"
    assert ex.output["error"]["Error"] == "Lambda.Unknown"


def test_a_blocking_call_past_the_timeout_is_a_timeout_when_it_returns() -> None:
    def sleeps(event: Any, context: Any) -> Any:
        time.sleep(0.2)
        return "done"

    handler = LocalLambdaHandler({"sleeps": sleeps}, timeouts={"sleeps": 0.05})
    ex = run(
        machine({"T": {"Type": "Task", "Resource": ARN + "sleeps", "End": True}}),
        handlers=HandlerRegistry([handler]),
    )
    assert ex.error == "Lambda.Unknown"
    assert json.loads(ex.cause or "")["errorMessage"].endswith("Task timed out after 0.05 seconds")


def test_the_thread_that_ran_a_timed_out_function_carries_on_unharmed(release: threading.Event) -> None:
    handler = LocalLambdaHandler({"slow": hanging(release), "quick": lambda e, c: e}, timeouts={"slow": 0.05})
    slow = TaskRequest(ARN + "slow", {}, "T", "arn:x", "k", "us-east-1")
    quick = TaskRequest(ARN + "quick", {"n": 1}, "T", "arn:x", "k", "us-east-1")
    for _ in range(3):
        with pytest.raises(StatesError, match=r"Lambda\.Unknown"):
            handler.invoke(slow)
        assert handler.invoke(quick) == {"n": 1}
    time.sleep(0.1)  # no stray timeout arrives later in this thread
    assert handler.invoke(quick) == {"n": 1}


def test_a_function_that_exits_the_runtime_is_lambda_unknown() -> None:
    def quits(event: Any, context: Any) -> Any:
        sys.exit(2)

    ex = run(
        machine({"T": {"Type": "Task", "Resource": ARN + "quits", "End": True}}),
        lambdas={"quits": quits},
    )
    assert ex.error == "Lambda.Unknown"
    cause = json.loads(ex.cause or "")
    assert cause["errorType"] == "Runtime.ExitError"
    assert cause["errorMessage"].endswith("Error: Runtime exited with error: exit status 2")


def test_remaining_time_counts_down_from_the_function_timeout() -> None:
    seen: list[int] = []

    def look(event: Any, context: Any) -> Any:
        seen.append(context.get_remaining_time_in_millis())
        return None

    handler = LocalLambdaHandler({"look": look, "other": look}, timeouts={"look": 120})
    request = TaskRequest(ARN + "look", {}, "T", "arn:x", "k", "us-east-1")
    handler.invoke(request)
    handler.invoke(TaskRequest(ARN + "other", {}, "T", "arn:x", "k", "us-east-1", timeout_seconds=60))
    assert 110_000 < seen[0] <= 120_000
    # Lambda's default, not the Task state's TimeoutSeconds, bounds a function nobody configured.
    assert DEFAULT_TIMEOUT_SECONDS * 1000 - 2000 < seen[1] <= DEFAULT_TIMEOUT_SECONDS * 1000


def test_timeouts_come_from_the_source_file_and_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "fns.py").write_text(
        textwrap.dedent(
            """
            TIMEOUTS = {"a": 40, "b": 50}

            def a(event, context):
                return context.get_remaining_time_in_millis()

            def b(event, context):
                return context.get_remaining_time_in_millis()

            def c(event, context):
                return context.get_remaining_time_in_millis()
            """
        )
    )
    (tmp_path / "statelane.toml").write_text(
        '[lambda]\nsources = ["fns.py"]\ntimeout = 20\n[lambda.timeouts]\nb = 600\n'
    )
    registry = build_registry(load_config(cwd=tmp_path), plugins=False)

    def remaining(name: str) -> int:
        ex = run(machine({"T": {"Type": "Task", "Resource": ARN + name, "End": True}}), handlers=registry)
        return int(ex.output)

    assert 35_000 < remaining("a") <= 40_000  # the file's TIMEOUTS
    assert 595_000 < remaining("b") <= 600_000  # the configuration file wins over TIMEOUTS
    assert 15_000 < remaining("c") <= 20_000  # [lambda] timeout for the rest


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"timeout": 0}, "lambda.timeout: Input should be greater than or equal to 1"),
        ({"timeouts": {"f": 901}}, "lambda.timeouts.f: Input should be less than or equal to 900"),
        ({"timeouts": {"f": "long"}}, "lambda.timeouts.f: Input should be a valid number"),
    ],
)
def test_function_timeouts_are_validated(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"lambda": table})
