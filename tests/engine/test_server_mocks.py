"""Step Functions Local's mocked test cases through the HTTP API: `StartExecution` on
`<stateMachineArn>#<TestCase>` with a server started with a mock configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from engine.api import build_handlers
from engine.handlers.mocks import parse_mock_config
from engine.server import ServerOptions, StatelaneServer
from tests.engine.test_server_fixtures import create, history, machine, make_client, wait_until

CHARGE = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
    "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Declined"}],
    "ResultSelector": {"charged.$": "$.Payload.charged"},
    "Next": "Ship",
}
ORDER = machine(
    {
        "Charge": CHARGE,
        "Ship": {"Type": "Pass", "Result": "shipped", "ResultPath": "$.shipping", "End": True},
        "Declined": {"Type": "Fail", "Error": "Declined", "Cause": "the card was declined"},
    }
)
MOCKS = {
    "StateMachines": {
        "OrderFlow": {
            "TestCases": {
                "HappyPath": {"Charge": "ChargeOk"},
                "ThrottledThenOk": {"Charge": "ThrottledOnce"},
                "Declined": {"Charge": "CardDeclined"},
            }
        }
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}}},
        "ThrottledOnce": {
            "0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
            "1": {"Return": {"StatusCode": 200, "Payload": {"charged": 7}}},
        },
        "CardDeclined": {"0": {"Throw": {"Error": "CardError", "Cause": "declined"}}},
    },
}


@pytest.fixture
def calls() -> list[Any]:
    return []


@pytest.fixture
def server(tmp_path: Path, calls: list[Any]) -> Iterator[StatelaneServer]:
    def charge(event: Any, context: Any) -> Any:
        calls.append(event)
        return {"charged": -1}

    (tmp_path / "mocks.json").write_text(json.dumps(MOCKS))
    options = ServerOptions(
        port=0,
        db=f"sqlite:///{tmp_path}/api.db",
        handlers=build_handlers({"charge": charge}),
        concurrency=2,
        park_after=0.0,
        mock_config=tmp_path / "mocks.json",
    )
    with StatelaneServer(options) as running:
        yield running


@pytest.fixture
def sfn(server: StatelaneServer) -> Any:
    return make_client(server.url)


def test_each_test_case_gets_its_mocked_responses_and_the_plain_arn_the_real_handler(
    sfn: Any, calls: list[Any]
) -> None:
    arn = create(sfn, "OrderFlow", ORDER)
    happy = sfn.start_execution(stateMachineArn=f"{arn}#HappyPath", name="happy", input='{"order": 1}')
    assert happy["executionArn"].endswith(":execution:OrderFlow:happy")
    throttled = sfn.start_execution(stateMachineArn=f"{arn}#ThrottledThenOk", input="{}")["executionArn"]
    declined = sfn.start_execution(stateMachineArn=f"{arn}#Declined", input="{}")["executionArn"]
    real = sfn.start_execution(stateMachineArn=arn, input='{"real": true}')["executionArn"]

    described = wait_until(sfn, happy["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert described["stateMachineArn"] == arn
    assert json.loads(described["output"]) == {"charged": 42, "shipping": "shipped"}

    described = wait_until(sfn, throttled, timeout=20)  # one retry after 1 s, as the Retry says
    assert json.loads(described["output"])["charged"] == 7
    kinds = [e["type"] for e in history(sfn, throttled)]
    assert kinds.count("TaskFailed") == 1 and kinds.count("TaskSucceeded") == 1

    described = wait_until(sfn, declined)
    assert (described["status"], described["error"]) == ("FAILED", "Declined")
    failed = [e for e in history(sfn, declined) if e["type"] == "TaskFailed"]
    assert failed[0]["taskFailedEventDetails"]["error"] == "CardError"

    assert json.loads(wait_until(sfn, real)["output"])["charged"] == -1
    assert calls == [{"real": True}]  # only the execution without a test case reached the function


def test_express_executions_use_the_test_case_too(sfn: Any) -> None:
    arn = create(sfn, "OrderFlow", ORDER, type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=f"{arn}#HappyPath", input="{}")
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["charged"] == 42


def test_an_unknown_test_case_is_refused_before_anything_starts(sfn: Any) -> None:
    arn = create(sfn, "OrderFlow", ORDER)
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=f"{arn}#NoSuchCase", name="never")
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "NoSuchCase" in error["Message"] and "HappyPath" in error["Message"]
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []


def test_a_server_without_mocks_says_how_to_give_them(tmp_path: Path) -> None:
    options = ServerOptions(port=0, db=f"sqlite:///{tmp_path}/api.db", concurrency=0)
    with StatelaneServer(options) as server:
        sfn = make_client(server.url)
        arn = create(sfn, "OrderFlow", ORDER)
        with pytest.raises(ClientError) as caught:
            sfn.start_execution(stateMachineArn=f"{arn}#HappyPath")
    assert "--mock-config" in caught.value.response["Error"]["Message"]


def test_a_parsed_configuration_can_be_handed_in(tmp_path: Path) -> None:
    options = ServerOptions(
        port=0,
        db="memory://",
        concurrency=1,
        park_after=0.0,
        mock_config=parse_mock_config(MOCKS),
        handlers=build_handlers({}),
    )
    with StatelaneServer(options) as server:
        sfn = make_client(server.url)
        arn = create(sfn, "OrderFlow", ORDER)
        started = sfn.start_execution(stateMachineArn=f"{arn}#HappyPath", input="{}")
        assert wait_until(sfn, started["executionArn"])["status"] == "SUCCEEDED"
