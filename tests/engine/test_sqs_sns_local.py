"""State machines that send to local queues and publish to local topics, end to end through `engine.api.run`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.api import run
from engine.callbacks import MemoryCallbacks
from engine.clock import VirtualClock
from engine.durable import DurableEngine
from engine.execution import Execution
from engine.handlers.base import HandlerRegistry
from engine.handlers.registry import build_registry
from engine.handlers.sns_local import local_handlers
from engine.ids import IdSource
from engine.queues import Queues, Topics, filters, md5_hex, md5_of_attributes
from engine.store import MemoryStore, SqliteStore, Store

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/"
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield s
    s.close()


class Received:
    """A local Lambda function that keeps the events SNS delivers."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any, context: Any) -> Any:
        self.events.append(event)
        return None


def registry(store: Store, functions: dict[str, Any] | None = None) -> HandlerRegistry:
    local = local_handlers(store)
    built = build_registry(lambdas=functions or {}, local=local, plugins=False)
    local.bind(built)
    return built


def task(resource: str, parameters: dict[str, Any], **extra: Any) -> str:
    return json.dumps(
        {
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": resource, "Parameters": parameters, **extra, "End": True}
            },
        }
    )


def send(store: Store, parameters: dict[str, Any], input: Any = None) -> Execution:
    return run(
        task("arn:aws:states:::sqs:sendMessage", parameters),
        json.dumps(input or {}),
        handlers=registry(store),
    )


def publish(store: Store, parameters: dict[str, Any], functions: dict[str, Any] | None = None) -> Execution:
    return run(task("arn:aws:states:::sns:publish", parameters), "{}", handlers=registry(store, functions))


def output(execution: Execution) -> Any:
    assert execution.status.value == "SUCCEEDED", (execution.error, execution.cause)
    return execution.output


# ------------------------------------------------------------------ sqs:sendMessage


def test_send_message_returns_sqs_s_response_and_the_message_arrives(store: Store) -> None:
    Queues(store).create("jobs")
    out = output(send(store, {"QueueUrl": QUEUE_URL + "jobs", "MessageBody.$": "$"}, {"n": 1}))
    assert list(out) == ["MD5OfMessageBody", "MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    assert out["MD5OfMessageBody"] == md5_hex('{"n":1}')
    meta = out["SdkHttpMetadata"]
    assert meta["HttpStatusCode"] == 200
    assert meta["HttpHeaders"]["Content-Type"] == "application/x-amz-json-1.0"
    assert meta["HttpHeaders"]["Content-Length"] == "106"  # the JSON body SQS would have sent
    assert meta["AllHttpHeaders"]["connection"] == ["keep-alive"]
    assert out["SdkResponseMetadata"]["RequestId"] == meta["HttpHeaders"]["x-amzn-RequestId"]
    [message] = Queues(store).receive("jobs")
    assert (message.body, message.message_id) == ('{"n":1}', out["MessageId"])


def test_send_message_with_attributes_to_a_fifo_queue(store: Store) -> None:
    Queues(store).create("f.fifo", fifo=True)
    attributes = {
        "a": {"DataType": "String", "StringValue": "x"},
        "n": {"DataType": "Number", "StringValue": "2"},
    }
    parameters = {
        "QueueUrl": QUEUE_URL + "f.fifo",
        "MessageBody": "hello",
        "MessageAttributes": attributes,
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    out = output(send(store, parameters))
    assert list(out) == [
        "MD5OfMessageAttributes",
        "MD5OfMessageBody",
        "MessageId",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "SequenceNumber",
    ]
    assert out["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    body = {k: out[k] for k in ("MD5OfMessageAttributes", "MD5OfMessageBody", "MessageId", "SequenceNumber")}
    assert out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == str(
        len(json.dumps(body, separators=(",", ":")))
    )
    [message] = Queues(store).receive("f.fifo")
    assert message.attributes["MessageGroupId"] == "g"
    assert message.attributes["SequenceNumber"] == out["SequenceNumber"]


def test_missing_body_is_sqs_s_missing_parameter_and_can_be_caught(store: Store) -> None:
    Queues(store).create("jobs")
    execution = send(store, {"QueueUrl": QUEUE_URL + "jobs", "MessageBody": None})
    assert execution.error == "SQS.AmazonSQSException"
    assert execution.cause is not None
    assert execution.cause.startswith(
        "The request must contain the parameter MessageBody. (Service: AmazonSQS; Status Code: 400; "
        "Error Code: MissingParameter; Request ID: "
    )
    assert execution.cause.endswith("; Proxy: null)")


def test_an_unknown_queue_is_queue_does_not_exist(store: Store) -> None:
    execution = send(store, {"QueueUrl": QUEUE_URL + "nope", "MessageBody": "x"})
    assert execution.error == "SQS.QueueDoesNotExistException"
    assert execution.cause is not None and execution.cause.startswith(
        "The specified queue does not exist. (Service: AmazonSQS; Status Code: 400; "
        "Error Code: AWS.SimpleQueueService.NonExistentQueue;"
    )


def test_wait_for_task_token_a_worker_answers_from_the_queue(store: Store) -> None:
    Queues(store).create("approvals")
    callbacks = MemoryCallbacks()
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        {"QueueUrl": QUEUE_URL + "approvals", "MessageBody": {"token.$": "$$.Task.Token", "who.$": "$.who"}},
    )

    def worker() -> None:
        [message] = Queues(store).receive("approvals", wait=10)
        request = json.loads(message.body)
        callbacks.send_task_success(request["token"], json.dumps({"approved_for": request["who"]}))
        Queues(store).delete("approvals", message.receipt_handle)

    thread = threading.Thread(target=worker)
    thread.start()
    execution = run(definition, '{"who": "ana"}', handlers=registry(store), callbacks=callbacks)
    thread.join()
    assert output(execution) == {"approved_for": "ana"}
    assert Queues(store).attributes("approvals")["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_durable_execution_and_its_queue_share_one_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "one.db")
    Queues(store).create("jobs")
    engine = DurableEngine(store=store, handlers=registry(store), clock=VirtualClock(), ids=IdSource(seed=1))
    definition = task(
        "arn:aws:states:::sqs:sendMessage", {"QueueUrl": QUEUE_URL + "jobs", "MessageBody.$": "$.m"}
    )
    record = engine.start("sender", definition, '{"m": "durable"}', queued=False)
    finished = engine.run_in_foreground(record)
    assert finished.status.value == "SUCCEEDED"
    store.close()
    reopened = SqliteStore(tmp_path / "one.db")
    assert [m.body for m in Queues(reopened).receive("jobs")] == ["durable"]
    reopened.close()


# ------------------------------------------------------------------ sns:publish


def test_publish_returns_sns_s_response(store: Store) -> None:
    Topics(store).create("news")
    out = output(publish(store, {"TopicArn": TOPIC_ARN + "news", "Message": {"m": 1}}))
    assert list(out) == ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    headers = out["SdkHttpMetadata"]["HttpHeaders"]
    assert (headers["Content-Type"], headers["Content-Length"]) == ("text/xml", "294")


def test_publish_to_a_fifo_topic(store: Store) -> None:
    Topics(store).create("t.fifo", fifo=True)
    parameters = {
        "TopicArn": TOPIC_ARN + "t.fifo",
        "Message": "m",
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    out = output(publish(store, parameters))
    assert list(out)[-1] == "SequenceNumber" and len(out["SequenceNumber"]) == 20
    assert out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "352"
    again = output(publish(store, parameters))  # a duplicate within five minutes: the same message
    assert (again["MessageId"], again["SequenceNumber"]) == (out["MessageId"], out["SequenceNumber"])


def test_sns_errors_as_aws_reports_them(store: Store) -> None:
    Topics(store).create("t.fifo", fifo=True)
    missing = publish(store, {"TopicArn": TOPIC_ARN + "gone", "Message": "m"})
    assert missing.error == "SNS.NotFoundException"
    assert missing.cause is not None and missing.cause.startswith(
        "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: "
    )
    no_group = publish(store, {"TopicArn": TOPIC_ARN + "t.fifo", "Message": "m"})
    assert no_group.error == "SNS.InvalidParameterException"
    assert no_group.cause is not None and no_group.cause.startswith(
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics (Service: AmazonSNS; "
        "Status Code: 400; Error Code: InvalidParameter; Request ID: "
    )


def test_a_queue_subscribed_to_a_topic_gets_sns_s_envelope(store: Store) -> None:
    Queues(store).create("inbox")
    topics = Topics(store)
    topics.create("news")
    subscription = topics.subscribe("news", queue="inbox")
    attributes = {"kind": {"DataType": "String", "StringValue": "paid"}}
    out = output(
        publish(
            store,
            {
                "TopicArn": TOPIC_ARN + "news",
                "Message": "hi",
                "Subject": "S",
                "MessageAttributes": attributes,
            },
        )
    )
    [message] = Queues(store).receive("inbox")
    assert message.body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')
    envelope = json.loads(message.body)
    assert list(envelope) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert envelope["MessageId"] == out["MessageId"]
    assert (envelope["Message"], envelope["Subject"]) == ("hi", "S")
    assert envelope["TopicArn"] == topics.arn("news")
    assert envelope["UnsubscribeURL"].endswith(subscription.arn)
    assert envelope["MessageAttributes"] == {"kind": {"Type": "String", "Value": "paid"}}
    assert message.message_attributes == {}


def test_raw_delivery_and_filter_policies(store: Store) -> None:
    queues = Queues(store)
    for name in ("raw", "paid", "big"):
        queues.create(name)
    topics = Topics(store)
    topics.create("orders")
    topics.subscribe("orders", queue="raw", raw=True)
    topics.subscribe("orders", queue="paid", filter_policy={"kind": ["paid"]})
    topics.subscribe("orders", queue="big", raw=True, filter_policy={"amount": [{"numeric": [">", 100]}]})
    arn = TOPIC_ARN + "orders"
    for kind, amount in (("paid", 500), ("refund", 50), ("paid", 5)):
        attributes = {
            "kind": {"DataType": "String", "StringValue": kind},
            "amount": {"DataType": "Number", "StringValue": str(amount)},
        }
        output(
            publish(store, {"TopicArn": arn, "Message": f"{kind}-{amount}", "MessageAttributes": attributes})
        )
    raw = queues.receive("raw", max=10)
    assert [m.body for m in raw] == ["paid-500", "refund-50", "paid-5"]
    assert raw[0].message_attributes["amount"] == {"DataType": "Number", "StringValue": "500"}
    assert [json.loads(m.body)["Message"] for m in queues.receive("paid", max=10)] == ["paid-500", "paid-5"]
    assert [m.body for m in queues.receive("big", max=10)] == ["paid-500"]


def test_a_fifo_topic_delivers_in_order_to_a_fifo_queue(store: Store) -> None:
    queues = Queues(store)
    queues.create("q.fifo", fifo=True)
    queues.create("std")
    topics = Topics(store)
    topics.create("t.fifo", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    topics.create("plain")
    topics.subscribe("t.fifo", queue="q.fifo", raw=True)
    with pytest.raises(Exception, match="FIFO SQS Queues can not be subscribed to standard SNS topics"):
        topics.subscribe("plain", queue="q.fifo")
    for i in range(3):
        topics.publish("t.fifo", f"m{i}", group_id="g")
    got = queues.receive("q.fifo", max=10)
    assert [m.body for m in got] == ["m0", "m1", "m2"]
    assert {m.attributes["MessageGroupId"] for m in got} == {"g"}


def test_a_function_subscribed_to_a_topic_is_called_with_sns_s_event(store: Store) -> None:
    received = Received()
    topics = Topics(store)
    topics.create("news")
    subscription = topics.subscribe("news", function="listener")
    output(publish(store, {"TopicArn": TOPIC_ARN + "news", "Message": "hello"}, {"listener": received}))
    [event] = received.events
    [record] = event["Records"]
    assert (record["EventSource"], record["EventSubscriptionArn"]) == ("aws:sns", subscription.arn)
    assert record["Sns"]["Message"] == "hello"
    assert record["Sns"]["Subject"] is None
    assert "SigningCertUrl" in record["Sns"] and "UnsubscribeUrl" in record["Sns"]


def test_a_failing_subscriber_does_not_fail_the_publish(store: Store) -> None:
    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("down")

    Topics(store).create("news")
    Topics(store).subscribe("news", function="broken")
    output(publish(store, {"TopicArn": TOPIC_ARN + "news", "Message": "m"}, {"broken": broken}))


def test_message_structure_json_gives_each_protocol_its_message(store: Store) -> None:
    Queues(store).create("inbox")
    topics = Topics(store)
    topics.create("news")
    topics.subscribe("news", queue="inbox", raw=True)
    message = json.dumps({"default": "plain", "sqs": "for queues"})
    output(publish(store, {"TopicArn": TOPIC_ARN + "news", "Message": message, "MessageStructure": "json"}))
    assert [m.body for m in Queues(store).receive("inbox")] == ["for queues"]
    bad = publish(
        store, {"TopicArn": TOPIC_ARN + "news", "Message": '{"sqs": "x"}', "MessageStructure": "json"}
    )
    assert bad.error == "SNS.InvalidParameterException"


# ------------------------------------------------------------------ filter policies


def attrs(**values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, int | float):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": value}
    return filters.attribute_values(out)


@pytest.mark.parametrize(
    ("policy", "values", "expected"),
    [
        ({"k": ["a", "b"]}, attrs(k="b"), True),
        ({"k": ["a"]}, attrs(k="c"), False),
        ({"k": ["a"]}, attrs(), False),
        ({"k": [{"prefix": "ord"}]}, attrs(k="order"), True),
        ({"k": [{"suffix": ".png"}]}, attrs(k="x.jpg"), False),
        ({"k": [{"equals-ignore-case": "PAID"}]}, attrs(k="paid"), True),
        ({"k": [{"anything-but": ["a", "b"]}]}, attrs(k="c"), True),
        ({"k": [{"anything-but": "a"}]}, attrs(k="a"), False),
        ({"k": [{"anything-but": {"prefix": "tmp"}}]}, attrs(k="tmp1"), False),
        ({"k": [{"anything-but": ["a"]}]}, attrs(), False),
        ({"n": [{"numeric": [">=", 10, "<", 20]}]}, attrs(n=15), True),
        ({"n": [{"numeric": [">=", 10, "<", 20]}]}, attrs(n=20), False),
        ({"n": [5]}, attrs(n=5.0), True),
        ({"n": ["5"]}, attrs(n=5), False),
        ({"n": [{"numeric": ["=", 5]}]}, attrs(n="5"), False),
        ({"k": [{"exists": True}]}, attrs(k="x"), True),
        ({"k": [{"exists": False}]}, attrs(), True),
        ({"k": [{"exists": False}]}, attrs(k="x"), False),
        ({"tags": ["red"]}, attrs(tags=["blue", "red"]), True),
        ({"tags": ["green"]}, attrs(tags=["blue", "red"]), False),
        ({"a": ["x"], "b": ["y"]}, attrs(a="x", b="z"), False),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, attrs(b="y"), True),
        ({"ip": [{"cidr": "10.0.0.0/24"}]}, attrs(ip="10.0.0.7"), True),
    ],
)
def test_filter_policy_on_attributes(policy: dict[str, Any], values: dict[str, Any], expected: bool) -> None:
    assert filters.matches(filters.parse_policy(policy), values) is expected


def test_filter_policy_on_the_message_body() -> None:
    policy = filters.parse_policy({"order": {"status": ["paid"], "total": [{"numeric": [">", 10]}]}})
    assert filters.matches_body(policy, '{"order": {"status": "paid", "total": 12.5}}')
    assert not filters.matches_body(policy, '{"order": {"status": "paid", "total": 2}}')
    assert not filters.matches_body(policy, "not json")


@pytest.mark.parametrize(
    "policy", ["[]", "{}", '{"k": "a"}', '{"k": [{"numeric": ["~", 1]}]}', '{"k": [{"bogus": 1}]}', "nope"]
)
def test_invalid_filter_policies_are_refused(policy: str) -> None:
    with pytest.raises(filters.FilterPolicyError):
        filters.parse_policy(policy)
