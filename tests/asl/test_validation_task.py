"""Task states: Resource recognition, integration parameters, timeouts, credentials, Express."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import assert_valid, errors, machine, only_error, run, warnings

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"
INVOKE = "arn:aws:states:::lambda:invoke"


def task(ql: str | None = None, **fields: Any) -> dict[str, Any]:
    top = {"QueryLanguage": ql} if ql else {}
    return machine({"T": {"Type": "Task", "End": True, **fields}}, **top)


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        (FN, None),
        (FN + ":prod", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:identity", None),
        (INVOKE, {"FunctionName": "f", "Payload.$": "$"}),
        (INVOKE + ".waitForTaskToken", {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}),
        ("arn:aws:states:::sqs:sendMessage", {"QueueUrl": "https://q", "MessageBody.$": "$"}),
        ("arn:aws:states:::sns:publish", {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "m"}),
    ],
)
def test_supported_resources(resource: str, params: dict[str, Any] | None) -> None:
    fields: dict[str, Any] = {"Resource": resource}
    if params is not None:
        fields["Parameters"] = params
    assert run(task(**fields)) == []


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::aws-sdk:s3:listBuckets",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:us-east-1:123456789012:activity:a",
    ],
)
def test_resources_the_engine_does_not_run_are_warnings(resource: str) -> None:
    definition = task(Resource=resource)
    assert errors(definition) == []
    assert warnings(definition) == [("UNSUPPORTED_RESOURCE", "/States/T/Resource")]


@pytest.mark.parametrize(
    "resource", ["createToken", "arn:aws:lambda:us-east-1:1:function:f", "arn:aws:states:::", 7]
)
def test_unrecognised_resource(resource: Any) -> None:
    d = only_error(task(Resource=resource))
    assert d.pointer == "/States/T/Resource"


def test_unrecognised_resource_message_is_aws_s() -> None:
    assert only_error(task(Resource="nope")).message == (
        "The resource provided nope is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region."
    )


def test_integration_parameters() -> None:
    assert errors(task(Resource=INVOKE)) == []
    assert warnings(task(Resource=INVOKE)) == [("MISSING_PARAMETERS", "/States/T")]
    d = only_error(task(Resource=INVOKE, Parameters={"Payload": {}}))
    assert (d.pointer, d.message) == (
        "/States/T/Parameters",
        "The field 'FunctionName' is required but was missing",
    )
    d = only_error(task(Resource=INVOKE, Parameters={"FunctionName": "f", "Paylod": {}}))
    assert d.pointer == "/States/T/Parameters/Paylod" and "did you mean 'Payload'?" in d.message
    assert_valid(task(ql="JSONata", Resource=INVOKE, Arguments={"FunctionName": "{% $states.input.f %}"}))
    assert_valid(task(ql="JSONata", Resource=INVOKE, Arguments="{% $states.input %}"))


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            INVOKE + ".waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "Express state machine does not support Activity ARN",
        ),
    ],
)
def test_express_restrictions(resource: str, message: str) -> None:
    params: dict[str, Any] = {"Parameters": {"FunctionName": "f"}} if resource.startswith(INVOKE) else {}
    definition = task(Resource=resource, **params)
    d = only_error(definition, express=True)
    assert (d.pointer, d.message) == ("/States/T/Resource", message)
    assert errors(definition) == []


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"TimeoutSeconds": 0}, "/States/T/TimeoutSeconds"),
        ({"TimeoutSeconds": 100000000}, "/States/T/TimeoutSeconds"),
        ({"HeartbeatSeconds": 1.5}, "/States/T/HeartbeatSeconds"),
        ({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}, "/States/T/HeartbeatSeconds"),
        ({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"}, "/States/T/TimeoutSecondsPath"),
        ({"HeartbeatSecondsPath": "$.h[*]"}, "/States/T/HeartbeatSecondsPath"),
    ],
)
def test_timeouts(fields: dict[str, Any], pointer: str) -> None:
    assert errors(task(Resource=FN, **fields)) == [("SCHEMA_VALIDATION_FAILED", pointer)]


def test_valid_timeouts() -> None:
    assert_valid(task(Resource=FN, TimeoutSeconds=10, HeartbeatSeconds=5))
    assert_valid(task(Resource=FN, TimeoutSecondsPath="$.t", HeartbeatSecondsPath="$.h"))
    assert_valid(task(ql="JSONata", Resource=FN, TimeoutSeconds="{% 120 %}", HeartbeatSeconds="{% 20 %}"))


def test_jsonata_timeout_must_be_int_or_expression() -> None:
    assert errors(task(ql="JSONata", Resource=FN, TimeoutSeconds="120")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/TimeoutSeconds")
    ]


def test_credentials() -> None:
    assert_valid(task(Resource=FN, Credentials={"RoleArn": "arn:aws:iam::1:role/r"}))
    assert_valid(task(Resource=FN, Credentials={"RoleArn.$": "$.role"}))
    d = only_error(task(Resource=FN, Credentials={}))
    assert (d.pointer, d.message) == (
        "/States/T/Credentials",
        "The field 'RoleArn' is required but was missing",
    )
