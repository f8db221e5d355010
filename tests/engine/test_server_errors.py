"""Every error code the API answers, through botocore's own exception classes, and what it leaves behind."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_server_fixtures import (
    CALLBACK,
    PASS,
    ROLE,
    WAIT_LONG,
    Lambdas,
    create,
    machine,
    wait_until,
)

from engine.server import StatelaneServer

MISSING_SM = "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"
MISSING_EXEC = "arn:aws:states:us-east-1:123456789012:execution:Nope:none"

pytest_plugins = ["test_server_fixtures"]


def test_state_machine_errors(sfn: Any) -> None:
    arn = create(sfn, "Exists", PASS)
    with pytest.raises(
        sfn.exceptions.StateMachineAlreadyExists, match=f"State Machine Already Exists: '{arn}'"
    ):
        sfn.create_state_machine(name="Exists", definition=WAIT_LONG, roleArn=ROLE)
    with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
        sfn.create_state_machine(name="Exists", definition=PASS, roleArn=ROLE, type="EXPRESS")
    with pytest.raises(
        sfn.exceptions.StateMachineDoesNotExist, match=f"State Machine Does Not Exist: '{MISSING_SM}'"
    ):
        sfn.describe_state_machine(stateMachineArn=MISSING_SM)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.start_execution(stateMachineArn=MISSING_SM)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.update_state_machine(stateMachineArn=MISSING_SM, definition=PASS)
    with pytest.raises(sfn.exceptions.InvalidName, match="Invalid Name: 'has space'"):
        sfn.create_state_machine(name="has space", definition=PASS, roleArn=ROLE)
    with pytest.raises(
        sfn.exceptions.InvalidDefinition, match="Invalid State Machine Definition: 'MISSING_TRANS"
    ):
        sfn.create_state_machine(
            name="Broken", definition=machine({"A": {"Type": "Pass", "Next": "B"}}), roleArn=ROLE
        )
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="INVALID_JSON_DESCRIPTION"):
        sfn.create_state_machine(name="Broken", definition="{not json", roleArn=ROLE)
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="waitForTaskToken"):
        sfn.create_state_machine(name="Broken", definition=CALLBACK, roleArn=ROLE, type="EXPRESS")
    with pytest.raises(sfn.exceptions.MissingRequiredParameter):
        sfn.update_state_machine(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.ValidationException, match="only be set when publish is true"):
        sfn.create_state_machine(name="V", definition=PASS, roleArn=ROLE, versionDescription="v1")
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["Exists"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-an-arn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'"),
        (MISSING_EXEC, "Invalid Arn: 'Resource type not valid in this context: execution'"),
        ("arn:aws:states:us-east-1:123456789012:stateMachine", "Invalid Arn: 'arn:aws:states"),
    ],
)
def test_invalid_state_machine_arns(sfn: Any, value: str, message: str) -> None:
    with pytest.raises(sfn.exceptions.InvalidArn, match=message):
        sfn.describe_state_machine(stateMachineArn=value)


def test_execution_errors(sfn: Any) -> None:
    arn = create(sfn, "Runs", WAIT_LONG)
    with pytest.raises(
        sfn.exceptions.ExecutionDoesNotExist, match=f"Execution Does Not Exist: '{MISSING_EXEC}'"
    ):
        sfn.describe_execution(executionArn=MISSING_EXEC)
    for call in (sfn.get_execution_history, sfn.stop_execution, sfn.redrive_execution):
        with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
            call(executionArn=MISSING_EXEC)
    with pytest.raises(sfn.exceptions.InvalidArn, match="Invalid ARN prefix"):
        sfn.describe_execution(executionArn="execution-name")
    with pytest.raises(
        sfn.exceptions.InvalidArn, match="Resource type not valid in this context: stateMachine"
    ):
        sfn.get_execution_history(executionArn=arn)
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=arn, name="a/b")
    with pytest.raises(sfn.exceptions.ValidationException, match="less than or equal to 80"):  # the API model
        sfn.start_execution(stateMachineArn=arn, name="x" * 81)
    with pytest.raises(sfn.exceptions.InvalidExecutionInput, match="Invalid State Machine Execution Input"):
        sfn.start_execution(stateMachineArn=arn, input="{oops")
    execution = sfn.start_execution(stateMachineArn=arn, name="one", input="{}")["executionArn"]
    with pytest.raises(
        sfn.exceptions.ExecutionAlreadyExists, match=f"Execution Already Exists: '{execution}'"
    ):
        sfn.start_execution(stateMachineArn=arn, name="one", input='{"x": 1}')
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=execution)
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported, match="not supported by this type"):
        sfn.start_sync_execution(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.get_execution_history(executionArn=execution, nextToken="garbage!")
    with pytest.raises(sfn.exceptions.ValidationException, match="Must provide a StateMachine ARN"):
        sfn.list_executions()
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == ["one"]


def test_validation_exception_texts_follow_aws(sfn: Any) -> None:
    arn = create(sfn, "Listed", PASS)
    with pytest.raises(sfn.exceptions.ValidationException) as info:
        sfn.list_executions(stateMachineArn=arn, statusFilter="succeeded")
    assert str(info.value).endswith(
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: "
        "Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
    )
    with pytest.raises(
        sfn.exceptions.ValidationException, match="Value '1001' at 'maxResults' failed to satisfy"
    ):
        sfn.list_executions(stateMachineArn=arn, maxResults=1001)
    with pytest.raises(sfn.exceptions.ValidationException, match="2 validation errors detected"):
        sfn.list_executions(stateMachineArn=arn, maxResults=1001, redriveFilter="SOMETIMES")


def test_task_token_errors(sfn: Any, lambdas: Lambdas) -> None:
    with pytest.raises(sfn.exceptions.InvalidToken, match="Invalid Token"):
        sfn.send_task_success(taskToken="never-issued", output="{}")
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_heartbeat(taskToken="never-issued")
    timed = json.loads(CALLBACK)
    timed["States"]["Approve"]["TimeoutSeconds"] = 1
    arn = create(sfn, "Impatient", json.dumps(timed))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = lambdas.wait_for_token()
    with pytest.raises(sfn.exceptions.InvalidOutput):
        sfn.send_task_success(taskToken=token, output="not json")
    done = wait_until(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=token, output="{}")
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_failure(taskToken=token)


def test_task_does_not_exist_after_the_execution_closed(sfn: Any, lambdas: Lambdas) -> None:
    arn = create(sfn, "Closed", CALLBACK)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = lambdas.wait_for_token()
    sfn.stop_execution(executionArn=execution)
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_heartbeat(taskToken=token)


# ------------------------------------------------------------------ raw HTTP: what an SDK would never send


def post(
    server: StatelaneServer, body: bytes, target: str | None, **headers: str
) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    sent = {"Content-Type": "application/x-amz-json-1.0", **headers}
    if target is not None:
        sent["X-Amz-Target"] = target
    try:
        conn.request("POST", "/", body=body, headers=sent)
        response = conn.getresponse()
        assert response.getheader("x-amzn-RequestId")
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def store_snapshot(sfn: Any) -> Any:
    machines = sfn.list_state_machines()["stateMachines"]
    return [
        (
            m["name"],
            [
                e["executionArn"]
                for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
            ],
        )
        for m in machines
    ]


@pytest.mark.parametrize(
    ("body", "target", "code"),
    [
        (b"{not json", "AWSStepFunctions.StartExecution", "SerializationException"),
        (b"[1, 2]", "AWSStepFunctions.StartExecution", "SerializationException"),
        (b'{"stateMachineArn": 7}', "AWSStepFunctions.StartExecution", "SerializationException"),
        (b"{}", "AWSStepFunctions.StartExecution", "ValidationException"),
        (b"{}", "AWSStepFunctions.LaunchRocket", "UnknownOperationException"),
        (b"{}", "SomethingElse.StartExecution", "UnknownOperationException"),
        (b"{}", None, "UnknownOperationException"),
        (b'{"stateMachineArn": "nope"}', "AWSStepFunctions.StartExecution", "InvalidArn"),
        (
            b'{"name": "x", "definition": "{}", "roleArn": "r"}',
            "AWSStepFunctions.CreateStateMachine",
            "InvalidArn",
        ),
        (b"\xff\xfe", "AWSStepFunctions.ListStateMachines", "SerializationException"),
    ],
)
def test_malformed_requests_get_aws_errors_and_change_nothing(
    server: StatelaneServer, sfn: Any, body: bytes, target: str | None, code: str
) -> None:
    arn = create(sfn, "Keep", WAIT_LONG)
    sfn.start_execution(stateMachineArn=arn, name="kept")
    before = store_snapshot(sfn)
    status, document = post(server, body, target)
    assert (status, document["__type"]) == (400, code)
    assert document["message"]
    assert store_snapshot(sfn) == before  # nothing changed, and the server still answers


def test_missing_member_is_named_as_aws_names_it(server: StatelaneServer) -> None:
    status, document = post(
        server, b'{"name": "x", "roleArn": "arn:aws:iam::1:role/r"}', "AWSStepFunctions.CreateStateMachine"
    )
    assert status == 400
    assert document == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'definition' failed to satisfy constraint: "
        "Member must not be null",
    }


def test_oversize_payload_is_refused_and_the_server_keeps_serving(server: StatelaneServer, sfn: Any) -> None:
    arn = create(sfn, "Big", PASS)
    huge = json.dumps(
        {"stateMachineArn": arn, "input": json.dumps({"blob": "x" * (3 * 1024 * 1024)})}
    ).encode()
    status, document = post(server, huge, "AWSStepFunctions.StartExecution")
    assert (status, document["__type"]) == (413, "ValidationException")
    with pytest.raises(
        sfn.exceptions.ValidationException, match="Member must have length less than or equal to 262144"
    ):
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"blob": "x" * 300_000}))
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
    started = sfn.start_execution(stateMachineArn=arn)
    assert wait_until(sfn, started["executionArn"])["status"] == "SUCCEEDED"


def test_express_arns_are_refused_where_aws_refuses_them(sfn: Any) -> None:
    arn = create(sfn, "Fast", PASS, type="EXPRESS")
    express = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    for call in (
        sfn.describe_execution,
        sfn.get_execution_history,
        sfn.stop_execution,
        sfn.redrive_execution,
    ):
        with pytest.raises(
            sfn.exceptions.InvalidArn, match="Resource type not valid in this context: express"
        ):
            call(executionArn=express)
    time.sleep(0.05)  # let the background run finish before the server closes
