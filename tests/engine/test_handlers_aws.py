"""The AWS backends end to end: state machines run through `engine.api.run` against real HTTP endpoints.

SQS and SNS are served by moto in server mode on a loopback port; Lambda (which moto
would run in Docker) by a small stub of Lambda's Invoke API, also on loopback. Nothing
is patched: boto3 sends real requests, and what comes back is mapped as Step Functions
maps it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

pytest.importorskip("boto3", reason="the aws extra is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

import boto3  # type: ignore[import-untyped]  # noqa: E402

from engine.api import run  # noqa: E402
from engine.config import StatelaneConfig, parse_config  # noqa: E402
from engine.handlers.aws import SQS, client_side_error, function_error, sdk_metadata  # noqa: E402
from engine.handlers.base import TaskRequest  # noqa: E402
from engine.handlers.registry import build_registry  # noqa: E402

REGION = "us-east-1"


# --- fixtures: moto on loopback, a Lambda stub on loopback -------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def aws(moto_url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return {name: session.client(name, endpoint_url=moto_url) for name in ("sqs", "sns")}


class LambdaStub(BaseHTTPRequestHandler):
    """Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for a few canned functions."""

    protocol_version = "HTTP/1.1"
    requests: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        url = urlparse(self.path)
        name = unquote(url.path.split("/")[3])
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request_id = str(uuid.uuid4())
        self.requests.append(
            {"name": name, "query": parse_qs(url.query), "headers": dict(self.headers), "body": body}
        )
        function = name.rsplit(":function:", 1)[-1].split(":")[0]
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if function == "missing":
            arn = f"arn:aws:lambda:{REGION}:123456789012:function:missing"
            headers["x-amzn-ErrorType"] = "ResourceNotFoundException"
            return self._send(404, headers, {"Type": "User", "message": f"Function not found: {arn}"})
        if function == "odd":
            headers["x-amzn-ErrorType"] = "KMSFrobnicatedException"
            return self._send(400, headers, {"message": "the key is frobnicated"})
        headers["X-Amz-Executed-Version"] = "$LATEST"
        headers["X-Amzn-Trace-Id"] = "Root=1-00000000-000000000000000000000000;Sampled=0"
        headers["x-amzn-Remapped-Content-Length"] = "0"
        if invocation_type == "Event":
            return self._send(202, {k: v for k, v in headers.items() if k != "X-Amz-Executed-Version"}, b"")
        if self.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(b"START RequestId\n").decode()
        if function == "fail":
            headers["X-Amz-Function-Error"] = "Unhandled"
            # The Python runtime writes its error document with spaces after separators.
            document = {
                "errorMessage": "boom",
                "errorType": "ValueError",
                "requestId": request_id,
                "stackTrace": [],
            }
            return self._send(200, headers, json.dumps(document).encode())
        if function == "timeout":
            headers["X-Amz-Function-Error"] = "Unhandled"
            return self._send(200, headers, b'{"errorMessage":"Task timed out after 1.00 seconds"}')
        return self._send(200, headers, body)  # "echo"

    def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def lambda_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LambdaStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(moto_url: str, lambda_url: str) -> StatelaneConfig:
    return parse_config(
        {
            "region": REGION,
            "endpoint_url": moto_url,
            "lambda": {"backend": "aws", "endpoint_url": lambda_url},
            "sqs": {"backend": "aws"},
            "sns": {"backend": "aws"},
        }
    )


def task_machine(resource: str, parameters: dict[str, Any] | None = None, **extra: Any) -> str:
    task: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **extra}
    if parameters is not None:
        task["Parameters"] = parameters
    return json.dumps({"StartAt": "Call", "States": {"Call": task}})


def run_task(config: StatelaneConfig, resource: str, parameters: Any, data: Any, **extra: Any) -> Any:
    return run(
        task_machine(resource, parameters, **extra),
        json.dumps(data),
        handlers=build_registry(config, plugins=False),
        fast_forward=True,
    )


def failed_event(execution: Any) -> dict[str, Any]:
    return next(e for e in execution.events if e.type in ("TaskFailed", "LambdaFunctionFailed")).details


def assert_sdk_metadata(output: dict[str, Any], content_type: str) -> None:
    http = output["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    assert http["HttpHeaders"]["Content-Type"] == content_type  # spelt as the service sent it
    assert http["AllHttpHeaders"]["Content-Type"] == [content_type]
    assert set(http["AllHttpHeaders"]) == set(http["HttpHeaders"])
    request_id = next(v for k, v in http["HttpHeaders"].items() if k.lower() == "x-amzn-requestid")
    assert output["SdkResponseMetadata"] == {"RequestId": request_id}


# --- SQS ----------------------------------------------------------------------------------------------


def test_sqs_send_message_from_a_state_machine_then_receive_it(config: StatelaneConfig, aws: Any) -> None:
    queue = aws["sqs"].create_queue(QueueName="orders")["QueueUrl"]
    execution = run_task(
        config,
        "arn:aws:states:::sqs:sendMessage",
        {
            "QueueUrl.$": "$.queue",
            "MessageBody.$": "$.order",
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "new"}},
        },
        {"queue": queue, "order": {"id": 7, "item": "bücher"}},
    )
    assert execution.status == "SUCCEEDED", execution.error
    out = execution.output
    assert list(out) == [
        "MD5OfMessageAttributes",
        "MD5OfMessageBody",
        "MessageId",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
    ]
    body = '{"id":7,"item":"bücher"}'  # a non-string body is sent as compact JSON text
    assert out["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert_sdk_metadata(out, "application/x-amz-json-1.0")

    received = aws["sqs"].receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)
    (message,) = received["Messages"]
    assert message["Body"] == body
    assert message["MessageId"] == out["MessageId"]
    assert message["MessageAttributes"]["kind"]["StringValue"] == "new"


def test_sqs_fifo_queue_reports_the_sequence_number(config: StatelaneConfig, aws: Any) -> None:
    queue = aws["sqs"].create_queue(QueueName="steps.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    execution = run_task(
        config,
        "arn:aws:states:::sqs:sendMessage",
        {"QueueUrl": queue, "MessageBody": "one", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {},
    )
    assert execution.status == "SUCCEEDED", execution.error
    assert execution.output["SequenceNumber"].isdigit()
    assert "MD5OfMessageAttributes" not in execution.output


def test_sqs_unknown_queue_is_the_sdk_exception_and_catchable(
    config: StatelaneConfig, aws: Any, moto_url: str
) -> None:
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": f"{moto_url}/123456789012/nowhere", "MessageBody": "x"},
                "Catch": [{"ErrorEquals": ["SQS.QueueDoesNotExistException"], "Next": "Lost"}],
                "End": True,
            },
            "Lost": {"Type": "Pass", "End": True},
        },
    }
    execution = run(json.dumps(definition), handlers=build_registry(config, plugins=False), fast_forward=True)
    assert execution.status == "SUCCEEDED"
    assert execution.output["Error"] == "SQS.QueueDoesNotExistException"
    cause = execution.output["Cause"]
    assert cause.startswith("The specified queue does not exist")
    assert (
        " (Service: AmazonSQS; Status Code: 400; Error Code: AWS.SimpleQueueService.NonExistentQueue; "
        in cause
    )
    assert cause.endswith("; Proxy: null)")
    assert failed_event(execution)["error"] == "SQS.QueueDoesNotExistException"


def test_unreachable_endpoint_is_sdk_client_exception(aws: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    config = parse_config({"sqs": {"backend": "aws", "endpoint_url": f"http://127.0.0.1:{port}"}})
    execution = run_task(
        config, "arn:aws:states:::sqs:sendMessage", {"QueueUrl": "q", "MessageBody": "x"}, {}
    )
    assert execution.status == "FAILED"
    assert execution.error == "SQS.SdkClientException"
    assert (
        execution.cause
        == f"Unable to execute HTTP request: Connect to 127.0.0.1:{port} failed: Connection refused"
    )


def test_unknown_parameter_is_rejected_before_any_request(config: StatelaneConfig) -> None:
    # The validator rejects unknown static fields; a JSONata expression can still produce one at run time.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Arguments": "{% $states.input %}",
                "End": True,
            }
        },
    }
    execution = run(
        json.dumps(definition),
        '{"QueueUrl":"q","MessageBody":"x","Colour":"red"}',
        handlers=build_registry(config, plugins=False),
        fast_forward=True,
    )
    assert execution.error == "States.Runtime"
    assert execution.cause == (
        'The Parameters \'{"QueueUrl":"q","MessageBody":"x","Colour":"red"}\' could not be used to start the '
        'Task: [The field "Colour" is not supported by Step Functions]'
    )


# --- SNS ----------------------------------------------------------------------------------------------


def test_sns_publish_fans_out_to_a_subscribed_queue(config: StatelaneConfig, aws: Any) -> None:
    topic = aws["sns"].create_topic(Name="announcements")["TopicArn"]
    queue = aws["sqs"].create_queue(QueueName="listener")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    execution = run_task(
        config,
        "arn:aws:states:::sns:publish",
        {
            "TopicArn.$": "$.topic",
            "Message.$": "$.news",
            "Subject": "news",
            "MessageAttributes": {"level": {"DataType": "String", "StringValue": "high"}},
        },
        {"topic": topic, "news": {"headline": "done", "parts": [1, 2]}},
    )
    assert execution.status == "SUCCEEDED", execution.error
    out = execution.output
    assert list(out) == ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    assert_sdk_metadata(out, "text/xml")

    (message,) = aws["sqs"].receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == out["MessageId"]
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "news"
    assert envelope["Message"] == '{"headline":"done","parts":[1,2]}'
    assert envelope["MessageAttributes"] == {"level": {"Type": "String", "Value": "high"}}


def test_sns_unknown_topic_is_not_found_exception(config: StatelaneConfig) -> None:
    execution = run_task(
        config,
        "arn:aws:states:::sns:publish",
        {"TopicArn": f"arn:aws:sns:{REGION}:123456789012:nowhere", "Message": "x"},
        {},
    )
    assert execution.status == "FAILED"
    assert execution.error == "SNS.NotFoundException"
    assert " (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: " in execution.cause
    assert execution.cause.endswith("; Proxy: null)")


def test_sns_error_code_outside_the_model_is_the_catch_all(config: StatelaneConfig, aws: Any) -> None:
    topic = aws["sns"].create_topic(Name="ordered.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    execution = run_task(config, "arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "x"}, {})
    # moto answers MissingParameter, a code SNS's model does not define: the SDK's catch-all class.
    assert execution.error == "SNS.AmazonSNSException"
    assert "Status Code: 400; Error Code: MissingParameter; Request ID: " in execution.cause


# --- Lambda -------------------------------------------------------------------------------------------


def test_lambda_invoke_envelope(config: StatelaneConfig) -> None:
    execution = run_task(
        config,
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "echo", "Payload.$": "$", "LogType": "Tail"},
        {"n": 1, "s": "é"},
    )
    assert execution.status == "SUCCEEDED", execution.cause
    out = execution.output
    assert list(out) == [
        "ExecutedVersion",
        "LogResult",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert out["Payload"] == {"n": 1, "s": "é"}
    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    assert base64.b64decode(out["LogResult"]) == b"START RequestId\n"
    assert_sdk_metadata(out, "application/json")
    headers = out["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["X-Amz-Executed-Version"] == "$LATEST"
    assert headers["x-amzn-Remapped-Content-Length"] == "0"
    assert list(headers) == sorted(headers, key=str.lower)


def test_lambda_string_payload_is_the_request_body(config: StatelaneConfig) -> None:
    LambdaStub.requests.clear()
    execution = run_task(
        config,
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "echo", "Payload": "0.0", "Qualifier": "live"},
        {},
    )
    assert execution.output["Payload"] == 0.0
    (request,) = LambdaStub.requests
    assert request["body"] == b"0.0"
    assert request["query"] == {"Qualifier": ["live"]}


def test_lambda_event_invocation(config: StatelaneConfig) -> None:
    execution = run_task(
        config, "arn:aws:states:::lambda:invoke", {"FunctionName": "echo", "InvocationType": "Event"}, {}
    )
    assert execution.output["StatusCode"] == 202
    assert execution.output["Payload"] == ""
    assert "ExecutedVersion" not in execution.output


def test_lambda_function_error_through_lambda_invoke_is_compact(config: StatelaneConfig) -> None:
    execution = run_task(
        config, "arn:aws:states:::lambda:invoke", {"FunctionName": "fail", "Payload": {}}, {}
    )
    assert execution.status == "FAILED"
    assert execution.error == "ValueError"
    document = json.loads(execution.cause)
    assert execution.cause == json.dumps(document, separators=(",", ":"))
    assert document["errorMessage"] == "boom"


def test_lambda_function_error_through_a_function_arn_keeps_lambdas_text(config: StatelaneConfig) -> None:
    LambdaStub.requests.clear()
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:fail"
    execution = run_task(config, arn, None, {"k": [1, 2]})
    assert execution.error == "ValueError"
    assert execution.cause.startswith('{"errorMessage": "boom", "errorType": "ValueError"')
    assert failed_event(execution)["error"] == "ValueError"
    (request,) = LambdaStub.requests
    assert request["name"] == arn
    assert request["body"] == b'{"k":[1,2]}'


def test_lambda_function_arn_returns_the_bare_payload(config: StatelaneConfig) -> None:
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:echo"
    execution = run_task(config, arn, {"x.$": "$.v"}, {"v": "hi"})
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"x": "hi"}


def test_lambda_error_without_error_type_is_lambda_unknown(config: StatelaneConfig) -> None:
    execution = run_task(config, "arn:aws:states:::lambda:invoke", {"FunctionName": "timeout"}, {})
    assert execution.error == "Lambda.Unknown"
    assert execution.cause == (
        "The cause could not be determined because Lambda did not return an error type. "
        'Returned payload: {"errorMessage":"Task timed out after 1.00 seconds"}'
    )


def test_lambda_missing_function_is_resource_not_found(config: StatelaneConfig) -> None:
    execution = run_task(config, "arn:aws:states:::lambda:invoke", {"FunctionName": "missing"}, {})
    assert execution.error == "Lambda.ResourceNotFoundException"
    assert execution.cause.startswith(
        f"Function not found: arn:aws:lambda:{REGION}:123456789012:function:missing "
        "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "
    )


def test_lambda_unmodelled_error_code_is_aws_lambda_exception(config: StatelaneConfig) -> None:
    execution = run_task(config, "arn:aws:states:::lambda:invoke", {"FunctionName": "odd"}, {})
    assert execution.error == "Lambda.AWSLambdaException"
    assert execution.cause.startswith(
        "the key is frobnicated (Service: AWSLambda; Status Code: 400; Error Code: KMSFrobnicatedException;"
    )


def test_lambda_invoke_needs_a_function_name(config: StatelaneConfig) -> None:
    execution = run_task(config, "arn:aws:states:::lambda:invoke", {"FunctionName.$": "$.f"}, {"f": None})
    assert execution.error == "States.Runtime"
    assert execution.cause.endswith('[The field "FunctionName" is required]')


# --- mapping units --------------------------------------------------------------------------------------


def test_dns_failure_cause_names_the_host() -> None:
    from botocore.exceptions import EndpointConnectionError  # type: ignore[import-untyped]

    exc = EndpointConnectionError(endpoint_url="https://no-such-queue.example/")
    exc.__context__ = socket.gaierror(-2, "Name or service not known")
    err = client_side_error(SQS, exc, None)
    assert (err.error, err.cause) == (
        "SQS.SdkClientException",
        "Unable to execute HTTP request: no-such-queue.example: Name or service not known",
    )


def test_function_error_document_that_is_not_json_is_lambda_unknown() -> None:
    err = function_error("Segmentation fault", compact=True)
    assert err.error == "Lambda.Unknown"
    assert err.cause is not None and err.cause.endswith("Returned payload: Segmentation fault")


def test_sdk_metadata_orders_headers_case_insensitively_and_keeps_their_spelling() -> None:
    response = {
        "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "r-1"},
        "_statelane_http_headers": [("x-amzn-RequestId", "r-1"), ("connection", "keep-alive"), ("Date", "d")],
    }
    assert sdk_metadata(response) == {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"connection": ["keep-alive"], "Date": ["d"], "x-amzn-RequestId": ["r-1"]},
            "HttpHeaders": {"connection": "keep-alive", "Date": "d", "x-amzn-RequestId": "r-1"},
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": "r-1"},
    }


def test_aws_handlers_serve_only_their_resources(config: StatelaneConfig) -> None:
    registry = build_registry(config, plugins=False)
    request = TaskRequest("arn:aws:states:::dynamodb:putItem", {}, "S", "arn", "k", REGION)
    from asl.errors import StatesError

    with pytest.raises(StatesError, match="is not recognized"):
        registry.resolve(request.resource)
    for resource, kind in [
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", "AwsSqsHandler"),
        ("arn:aws-us-gov:states:::sns:publish", "AwsSnsHandler"),
        ("arn:aws:lambda:eu-west-1:1:function:f:prod", "AwsLambdaHandler"),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", "AwsLambdaHandler"),
    ]:
        assert type(registry.resolve(resource)).__name__ == kind
