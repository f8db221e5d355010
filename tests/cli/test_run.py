"""`statelane run` through the CLI: its JSON contract, exit codes and messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import _register, app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

_register()
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello.json"
    path.write_text(
        json.dumps(
            {
                "StartAt": "Greet",
                "States": {
                    "Greet": {
                        "Type": "Pass",
                        "Parameters": {"greeting.$": "States.Format('hi {}', $.who)"},
                        "Next": "Check",
                    },
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.greeting", "StringEquals": "hi bob", "Next": "Bob"}],
                        "Default": "NotBob",
                    },
                    "Bob": {"Type": "Succeed"},
                    "NotBob": {"Type": "Fail", "Error": "NotBob", "Cause": "wrong person"},
                },
            }
        )
    )
    return path


def test_json_contract_success_with_history(hello: Path) -> None:
    code, out, _ = invoke("run", str(hello), "--input", '{"who": "bob"}', "--json", "--history")
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "SUCCEEDED"
    assert json.loads(doc["output"]) == {"greeting": "hi bob"}
    assert doc["stateMachineArn"].endswith(":stateMachine:hello")
    assert doc["executionArn"].startswith("arn:aws:states:") and ":execution:hello:" in doc["executionArn"]
    assert re.match(r"\d{4}-\d\d-\d\dT", doc["startDate"]) and "stopDate" in doc
    assert doc["events"][0]["type"] == "ExecutionStarted"
    assert [e["id"] for e in doc["events"]] == list(range(1, len(doc["events"]) + 1))


def test_json_contract_failure_exit_1(hello: Path) -> None:
    code, out, _ = invoke("run", str(hello), "--input", '{"who": "al"}', "--json")
    assert code == 1
    doc = json.loads(out)
    assert (doc["status"], doc["error"], doc["cause"]) == ("FAILED", "NotBob", "wrong person")
    assert "output" not in doc and "events" not in doc


def test_input_file_and_name(hello: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.json"
    inp.write_text('{"who": "bob"}')
    code, out, _ = invoke("run", str(hello), "--input-file", str(inp), "--name", "first", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "first"


def test_bad_input_is_a_usage_error(hello: Path) -> None:
    code, out, err = invoke("run", str(hello), "--input", "{nope")
    assert code == 2
    assert "Invalid State Machine Execution Input" in err
    assert "Traceback" not in out + err


def test_missing_definition_file(tmp_path: Path) -> None:
    code, out, err = invoke("run", str(tmp_path / "absent.json"))
    assert code == 2
    assert "cannot read" in err and "Traceback" not in out + err


def test_invalid_definition_reports_diagnostics_and_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    code, out, err = invoke("run", str(path))
    assert code == 1
    assert "MISSING_TRANSITION_TARGET" in out + err
    assert "nothing ran" in err


def test_yaml_definition(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {ok: true}\n    End: true\n")
    code, out, _ = invoke("run", str(path), "--json")
    assert code == 0
    assert json.loads(json.loads(out)["output"]) == {"ok": True}


def test_missing_lambda_source_is_a_usage_error(hello: Path, tmp_path: Path) -> None:
    code, _, err = invoke("run", str(hello), "--lambdas", str(tmp_path / "nope.py"))
    assert code == 2
    assert "Lambda source" in err


def test_human_output_shows_status_and_output(hello: Path) -> None:
    code, out, _ = invoke("run", str(hello), "--input", '{"who": "bob"}')
    assert code == 0
    assert "SUCCEEDED" in out and "hi bob" in out


EXPECTED_SAMPLES = {
    "order-processing": {
        "reservation": {"reserved": ["kettle", "mug"]},
        "confirmation": "Order A-1001 confirmed: 2 items",
    },
    "map-fanout": {
        "count": 6,
        "thumbnails": [
            "cat-320w.jpg",
            "dog-320w.png",
            "bird-320w.gif",
            "fish-320w.jpg",
            "fox-320w.png",
            "owl-320w.jpg",
        ],
    },
    "jsonata-variables": {"customer": "grace", "items": 3, "total": 57.75, "discounted": 51.98},
}


@pytest.mark.parametrize("sample", sorted(EXPECTED_SAMPLES))
def test_samples_run(sample: str) -> None:
    folder = SAMPLES / sample
    args = [
        "run",
        str(folder / "definition.json"),
        "--input-file",
        str(folder / "input.json"),
        "--fast-forward",
        "--json",
    ]
    if (folder / "lambdas.py").exists():
        args += ["--lambdas", str(folder / "lambdas.py")]
    code, out, err = invoke(*args)
    assert code == 0, err
    assert json.loads(json.loads(out)["output"]) == EXPECTED_SAMPLES[sample]


def test_readme_main_command_runs_a_sample() -> None:
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "statelane run samples/" in line)
    args = command.split(".venv/bin/statelane ", 1)[1].split()
    code, out, err = invoke(*args)
    assert code == 0, err
    assert "SUCCEEDED" in out


def test_express_log_writes_json_lines_and_no_store(hello: Path, tmp_path: Path) -> None:
    log = tmp_path / "express.jsonl"
    code, _, err = invoke(
        "run",
        str(hello),
        "--input",
        '{"who": "bob"}',
        "--express",
        "--log",
        str(log),
        "--db",
        f"sqlite:///{tmp_path}/never.db",
    )
    assert code == 0, err
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["type"] == "ExecutionStarted" and lines[-1]["type"] == "ExecutionSucceeded"
    assert ":express:" in lines[0]["executionArn"]
    assert not (tmp_path / "never.db").exists()


def test_standard_run_is_recorded_in_the_store(hello: Path) -> None:
    code, out, _ = invoke("run", str(hello), "--input", '{"who": "bob"}', "--name", "kept", "--json")
    assert code == 0
    code, out, _ = invoke("history", "kept", "--json")
    assert code == 0
    events = json.loads(out)["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"


def test_mock_config_test_case_runs_without_the_real_functions(tmp_path: Path) -> None:
    flow = tmp_path / "OrderFlow.json"
    flow.write_text(
        json.dumps(
            {
                "StartAt": "Charge",
                "States": {
                    "Charge": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3}],
                        "OutputPath": "$.Payload",
                        "Next": "Approve",
                    },
                    "Approve": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                        "ResultPath": "$.approval",
                        "End": True,
                    },
                },
            }
        )
    )
    mocks = tmp_path / "MockConfigFile.json"
    mocks.write_text(
        json.dumps(
            {
                "StateMachines": {
                    "OrderFlow": {
                        "TestCases": {"RetryThenOk": {"Charge": "ChargeFlaky", "Approve": "Approved"}}
                    }
                },
                "MockedResponses": {
                    "ChargeFlaky": {
                        "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "throttled"}},
                        "2": {"Return": {"StatusCode": 200, "Payload": {"charged": True}}},
                    },
                    "Approved": {"0": {"Return": {"ok": True}}},
                },
            }
        )
    )
    code, out, err = invoke(
        "run",
        str(flow),
        "--mock-config",
        str(mocks),
        "--test-case",
        "RetryThenOk",
        "--fast-forward",
        "--json",
        "--history",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert json.loads(doc["output"]) == {"charged": True, "approval": {"ok": True}}
    assert [e["type"] for e in doc["events"]].count("TaskFailed") == 2
    code, _, err = invoke(
        "run", str(flow), "--mock-config", str(mocks), "--test-case", "Nope", "--fast-forward"
    )
    assert code == 2 and "Invalid mock test case name 'Nope'" in err
