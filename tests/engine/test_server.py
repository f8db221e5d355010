"""`statelane serve` driven by a real boto3 client: the lifecycle of state machines and executions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from test_server_fixtures import (
    CALLBACK,
    FLAKY,
    PASS,
    ROLE,
    WAIT_LONG,
    Lambdas,
    create,
    history,
    machine,
    wait_until,
)

pytest_plugins = ["test_server_fixtures"]


def test_state_machine_create_describe_update_list_delete(sfn: Any) -> None:
    arn = create(sfn, "Orders", PASS, tags=[{"key": "team", "value": "core"}])
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == "Orders"
    assert described["definition"] == PASS
    assert described["roleArn"] == ROLE
    assert (described["type"], described["status"]) == ("STANDARD", "ACTIVE")
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert isinstance(described["creationDate"], dt.datetime)

    again = sfn.create_state_machine(name="Orders", definition=PASS, roleArn=ROLE)  # idempotent
    assert again["stateMachineArn"] == arn

    updated = sfn.update_state_machine(stateMachineArn=arn, definition=WAIT_LONG)
    assert updated["revisionId"] != described["revisionId"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == WAIT_LONG

    create(sfn, "Billing", PASS)
    listed = sfn.list_state_machines()["stateMachines"]
    assert [m["name"] for m in listed] == ["Billing", "Orders"]
    first = sfn.list_state_machines(maxResults=1)
    assert [m["name"] for m in first["stateMachines"]] == ["Billing"]
    second = sfn.list_state_machines(maxResults=1, nextToken=first["nextToken"])
    assert [m["name"] for m in second["stateMachines"]] == ["Orders"]
    assert "nextToken" not in second

    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "core"}]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=arn)
    sfn.delete_state_machine(stateMachineArn=arn)  # deleting again is fine, as on AWS


def test_execution_runs_and_history_pages(sfn: Any) -> None:
    arn = create(sfn, "Flow", PASS)
    started = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:Flow:run-1"
    done = wait_until(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert done["input"] == '{"a": 1}'
    assert json.loads(done["output"]) == {"a": 1, "r": {"x": 1}}
    assert done["redriveStatus"] == "NOT_REDRIVABLE"

    full = history(sfn, started["executionArn"])
    assert [e["type"] for e in full] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    paged: list[dict[str, Any]] = []
    token = None
    while True:
        page = sfn.get_execution_history(
            executionArn=started["executionArn"], maxResults=2, **({"nextToken": token} if token else {})
        )
        assert len(page["events"]) <= 2
        paged.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    assert paged == full
    backwards = history(sfn, started["executionArn"], reverseOrder=True, maxResults=4)
    assert [e["id"] for e in backwards] == [6, 5, 4, 3]
    bare = history(sfn, started["executionArn"], includeExecutionData=False)
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]

    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):  # the name of a closed execution
        sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')


def test_start_execution_is_idempotent_while_running(sfn: Any) -> None:
    arn = create(sfn, "Waits", WAIT_LONG)
    first = sfn.start_execution(stateMachineArn=arn, name="w", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="w", input="{}")
    assert again["executionArn"] == first["executionArn"]
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="w", input='{"other": true}')


def test_list_executions_filters_and_pages(sfn: Any) -> None:
    arn = create(sfn, "Mixed", WAIT_LONG)
    for i in range(5):
        sfn.start_execution(stateMachineArn=arn, name=f"e{i}")
    sfn.stop_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":e1")
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert sorted(e["name"] for e in running) == ["e0", "e2", "e3", "e4"]
    aborted = sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]
    assert [e["name"] for e in aborted] == ["e1"]
    assert "stopDate" in aborted[0]
    names: list[str] = []
    kwargs: dict[str, Any] = {"stateMachineArn": arn, "maxResults": 2}
    while True:
        page = sfn.list_executions(**kwargs)
        names += [e["name"] for e in page["executions"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert names == ["e4", "e3", "e2", "e1", "e0"]  # newest first, each once
    assert sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"] == []


def test_callback_through_send_task_success(sfn: Any, lambdas: Lambdas) -> None:
    arn = create(sfn, "Approval", CALLBACK)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"order": 7}')["executionArn"]
    token = lambdas.wait_for_token()
    wait_until(sfn, execution, lambda d: any(e["type"] == "TaskSubmitted" for e in history(sfn, execution)))
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    done = wait_until(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"order": 7, "answer": {"approved": True}}
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken=token, output="{}")


def test_callback_through_send_task_failure(sfn: Any, lambdas: Lambdas) -> None:
    arn = create(sfn, "Rejection", CALLBACK)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = lambdas.wait_for_token()
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="not today")
    done = wait_until(sfn, execution)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Rejected", "not today")
    assert done["redriveStatus"] == "REDRIVABLE"


def test_stop_then_redrive(sfn: Any) -> None:
    arn = create(sfn, "Sleeper", WAIT_LONG)
    execution = sfn.start_execution(stateMachineArn=arn, name="nap")["executionArn"]
    wait_until(sfn, execution, lambda d: len(history(sfn, execution)) >= 2)
    stopped = sfn.stop_execution(executionArn=execution, error="Enough", cause="woken up")
    assert isinstance(stopped["stopDate"], dt.datetime)
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Enough", "woken up")
    last = history(sfn, execution)[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Enough", "cause": "woken up"}
    assert sfn.stop_execution(executionArn=execution)["stopDate"] == stopped["stopDate"]

    redriven = sfn.redrive_execution(executionArn=execution)
    assert isinstance(redriven["redriveDate"], dt.datetime)
    again = sfn.describe_execution(executionArn=execution)
    assert (again["status"], again["redriveCount"]) == ("RUNNING", 1)
    assert history(sfn, execution)[-1]["type"] == "ExecutionRedriven"


def test_redrive_resumes_a_failed_execution_from_the_failed_state(sfn: Any, lambdas: Lambdas) -> None:
    arn = create(sfn, "Flaky", FLAKY)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    failed = wait_until(sfn, execution)
    assert failed["status"] == "FAILED"
    sfn.redrive_execution(executionArn=execution)
    done = wait_until(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"echo": {"n": 1, "first": "ok"}}
    types = [e["type"] for e in history(sfn, execution)]
    assert types.count("PassStateEntered") == 1  # the state that had succeeded did not run again
    assert "ExecutionRedriven" in types
    listed = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["executionArn"] for e in listed] == [execution]


def test_describe_state_machine_for_execution_keeps_the_revision_it_ran(sfn: Any) -> None:
    arn = create(sfn, "Versioned", WAIT_LONG)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=PASS)
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert described["definition"] == WAIT_LONG
    assert described["stateMachineArn"] == arn
    sfn.delete_state_machine(stateMachineArn=arn)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_express_sync_and_async(sfn: Any) -> None:
    arn = create(sfn, "Quick", PASS, type="EXPRESS")
    result = sfn.start_sync_execution(stateMachineArn=arn, name="now", input='{"a": 2}')
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"a": 2, "r": {"x": 1}}
    assert result["executionArn"].startswith("arn:aws:states:us-east-1:123456789012:express:Quick:now:")
    assert result["billingDetails"]["billedMemoryUsedInMB"] == 64
    failing = create(
        sfn, "Sad", machine({"F": {"Type": "Fail", "Error": "Nope", "Cause": "why"}}), type="EXPRESS"
    )
    outcome = sfn.start_sync_execution(stateMachineArn=failing)
    assert (outcome["status"], outcome["error"], outcome["cause"]) == ("FAILED", "Nope", "why")

    started = sfn.start_execution(stateMachineArn=arn, name="later")
    assert ":express:Quick:later:" in started["executionArn"]
    with pytest.raises(sfn.exceptions.InvalidArn, match="Resource type not valid in this context: express"):
        sfn.describe_execution(executionArn=started["executionArn"])
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.list_executions(stateMachineArn=arn)


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=PASS)
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    broken = machine({"A": {"Type": "Pass", "Next": "Missing"}})
    bad = sfn.validate_state_machine_definition(definition=broken)
    assert bad["result"] == "FAIL"
    found = {d["code"]: d for d in bad["diagnostics"]}
    assert found["MISSING_TRANSITION_TARGET"]["location"] == "/States/A/Next"
    assert set(found["MISSING_TRANSITION_TARGET"]) == {"severity", "code", "message", "location"}
    not_json = sfn.validate_state_machine_definition(definition="{")
    assert not_json["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    callback_express = sfn.validate_state_machine_definition(definition=CALLBACK, type="EXPRESS")
    assert callback_express["result"] == "FAIL"
    capped = sfn.validate_state_machine_definition(
        definition=machine({f"S{i}": {"Type": "Pass", "Next": "Nowhere"} for i in range(3)}), maxResults=2
    )
    assert (len(capped["diagnostics"]), capped["truncated"]) == (2, True)


def test_test_state_reports_output_next_state_and_errors(sfn: Any) -> None:
    passed = sfn.test_state(
        definition=json.dumps({"Type": "Pass", "Result": 1, "ResultPath": "$.r", "Next": "After"}),
        input='{"a": 1}',
        inspectionLevel="DEBUG",
    )
    assert (passed["status"], passed["nextState"]) == ("SUCCEEDED", "After")
    assert json.loads(passed["output"]) == {"a": 1, "r": 1}
    assert json.loads(passed["inspectionData"]["afterResultPath"]) == {"a": 1, "r": 1}

    choice = machine(
        {
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Succeed"},
        }
    )
    picked = sfn.test_state(definition=choice, stateName="Pick", input='{"n": 9}')
    assert (picked["status"], picked["nextState"]) == ("SUCCEEDED", "Big")

    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}}
    retriable = sfn.test_state(
        definition=json.dumps(
            {**task, "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3}], "End": True}
        ),
        mock={"errorOutput": {"error": "Boom", "cause": "bad"}},
    )
    assert retriable["status"] == "RETRIABLE"
    assert retriable["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}
    caught = sfn.test_state(
        definition=json.dumps(
            {**task, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "End": True}
        ),
        mock={"errorOutput": {"error": "Boom", "cause": "bad"}},
    )
    assert (caught["status"], caught["nextState"], caught["error"]) == ("CAUGHT_ERROR", "Handle", "Boom")
    assert json.loads(caught["output"]) == {"Error": "Boom", "Cause": "bad"}
    failed = sfn.test_state(definition=json.dumps({"Type": "Fail", "Error": "E", "Cause": "C"}))
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E", "C")
    mocked = sfn.test_state(
        definition=json.dumps({**task, "OutputPath": "$.Payload", "End": True}),
        mock={"result": '{"Payload": {"ok": true}}'},
    )
    assert (mocked["status"], json.loads(mocked["output"])) == ("SUCCEEDED", {"ok": True})
    assert "nextState" not in mocked

    with pytest.raises(sfn.exceptions.ValidationException, match="RoleArn must be specified"):
        sfn.test_state(definition=json.dumps({**task, "End": True}))
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="does not support Map or Parallel"):
        sfn.test_state(definition=json.dumps({"Type": "Parallel", "Branches": [], "End": True}))


def test_tags(sfn: Any) -> None:
    arn = create(sfn, "Tagged", PASS)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}, {"key": "a", "value": "1"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["b"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "1"}]
    with pytest.raises(sfn.exceptions.TooManyTags):
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": ""} for i in range(50)])
    assert len(sfn.list_tags_for_resource(resourceArn=arn)["tags"]) == 1  # nothing was added
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_tags_for_resource(resourceArn=arn + "Gone")
