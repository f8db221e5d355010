"""Local SNS: topics in statelane's store that fan out to local queues and local Lambda functions.

    topics = Topics(store, queues=Queues(store), invoke_function=call)
    topics.create("orders")
    topics.subscribe("orders", queue="billing", filter_policy={"kind": ["paid"]})
    paid = {"kind": {"DataType": "String", "StringValue": "paid"}}
    topics.publish("orders", "order 7 paid", attributes=paid)

A queue receives SNS's JSON notification envelope (Type, MessageId, TopicArn,
Subject, Message, Timestamp, signature fields, MessageAttributes) unless the
subscription has raw message delivery, in which case it receives the message
itself with the message attributes as SQS message attributes. A function is
invoked with SNS's Lambda event (`{"Records": [{"EventSource": "aws:sns", "Sns": ...}]}`)
through `invoke_function(function name, event)`; its failures do not fail the
publish (SNS invokes functions asynchronously).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from engine.ids import IdSource, Partition
from engine.queues import filters
from engine.queues import messages as msg
from engine.queues.errors import ServiceError, sns_invalid_parameter
from engine.queues.sqs import Queues
from engine.store import QueueDoesNotExist, Store, SubscriptionRecord, TopicRecord
from engine.store.queues import resource_name

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 262_144
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
KNOWN_ATTRIBUTES: Final = frozenset(
    {
        "DisplayName",
        "Policy",
        "DeliveryPolicy",
        "FifoTopic",
        "ContentBasedDeduplication",
        "KmsMasterKeyId",
        "SignatureVersion",
        "TracingConfig",
        "ArchivePolicy",
        "FifoThroughputScope",
    }
)
SUBSCRIPTION_ATTRIBUTES: Final = frozenset(
    {"RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy"}
)

InvokeFunction = Callable[[str, Any], Any]


class Topics:
    """Local SNS topics in a store (see the module documentation)."""

    def __init__(
        self,
        store: Store,
        *,
        queues: Queues | None = None,
        invoke_function: InvokeFunction | None = None,
        clock: Callable[[], float] = time.time,
        ids: IdSource | None = None,
        partition: Partition | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self._ids = ids or IdSource()
        self.partition = partition or Partition()
        self.queues = queues or Queues(store, clock=clock, ids=self._ids, partition=self.partition)
        self.invoke_function = invoke_function

    def arn(self, ref: str) -> str:
        return f"arn:aws:sns:{self.partition.region}:{self.partition.account}:{resource_name(ref)}"

    # ------------------------------------------------------------ topics

    def create(
        self, name: str, attributes: Mapping[str, str] | None = None, *, fifo: bool = False
    ) -> TopicRecord:
        """CreateTopic (idempotent with the same attributes)."""
        attrs = {str(k): str(v) for k, v in (attributes or {}).items()}
        if fifo:
            attrs["FifoTopic"] = "true"
        is_fifo = attrs.get("FifoTopic", "false").lower() == "true"
        for key, value in attrs.items():
            if key not in KNOWN_ATTRIBUTES:
                raise sns_invalid_parameter(f"Attributes Reason: Unknown attribute {key}")
            if key in ("FifoTopic", "ContentBasedDeduplication") and value.lower() not in ("true", "false"):
                raise sns_invalid_parameter(f"Attributes Reason: {key}: Invalid value [{value}]")
        if is_fifo and not _FIFO_NAME.match(name):
            raise sns_invalid_parameter(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase "
                "ASCII "
                "letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long."
            )
        if not is_fifo and not _NAME.match(name):
            raise sns_invalid_parameter(
                "Topic Name"
                if not name.endswith(".fifo")
                else "Topic Name Reason: FIFO topics need FifoTopic=true"
            )
        return self.store.create_topic(name, self.arn(name), attrs, now=self._clock())

    def get(self, ref: str) -> TopicRecord:
        return self.store.get_topic(ref)

    def list_topics(self) -> list[TopicRecord]:
        return self.store.list_topics()

    def delete(self, ref: str) -> None:
        self.store.delete_topic(ref)

    # ------------------------------------------------------------ subscriptions

    def subscribe(
        self,
        topic: str,
        *,
        queue: str | None = None,
        function: str | None = None,
        raw: bool = False,
        filter_policy: str | Mapping[str, Any] | None = None,
        filter_policy_scope: str | None = None,
    ) -> SubscriptionRecord:
        """Subscribe a local queue or a local Lambda function (exactly one of them) to the topic."""
        record = self.get(topic)
        if (queue is None) == (function is None):
            raise sns_invalid_parameter("Endpoint Reason: give exactly one of a queue and a function")
        attrs: dict[str, str] = {}
        if raw:
            attrs["RawMessageDelivery"] = "true"
        if filter_policy is not None:
            try:
                policy = filters.parse_policy(filter_policy)
            except filters.FilterPolicyError as exc:
                raise sns_invalid_parameter(f"FilterPolicy: {exc}") from None
            attrs["FilterPolicy"] = json.dumps(policy, separators=(",", ":"))
        if filter_policy_scope is not None:
            if filter_policy_scope not in ("MessageAttributes", "MessageBody"):
                raise sns_invalid_parameter("Attributes Reason: FilterPolicyScope: Invalid value")
            attrs["FilterPolicyScope"] = filter_policy_scope
        if queue is not None:
            target = self.queues.get(queue)
            if target.fifo and not record.fifo:
                raise sns_invalid_parameter(
                    # SNS really does say "Invalid parameter: " twice here.
                    "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard "
                    "SNS topics"
                )
            protocol, endpoint = "sqs", self.queues.arn(target.name)
        else:
            assert function is not None
            protocol, endpoint = "lambda", self.partition.lambda_arn(resource_name(function))
        return self.store.subscribe(
            record.name,
            protocol,
            endpoint,
            attrs,
            arn=f"{record.arn}:{self._ids.uuid4()}",
            now=self._clock(),
        )

    def subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        return self.store.list_subscriptions(topic)

    def unsubscribe(self, arn: str) -> bool:
        return self.store.unsubscribe(arn)

    # ------------------------------------------------------------ publishing

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        message_structure: str | None = None,
    ) -> dict[str, str]:
        """Publish; returns Publish's response members (MessageId, and SequenceNumber for FIFO topics)."""
        if message == "":
            raise sns_invalid_parameter("Empty message")
        if len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise sns_invalid_parameter("Message too long")
        if subject is not None and (not subject or len(subject) > 100 or not subject.isprintable()):
            raise sns_invalid_parameter("Subject")
        attrs = msg.sns_attributes(attributes)
        per_protocol = _structured(message) if message_structure == "json" else None
        if message_structure not in (None, "json"):
            raise sns_invalid_parameter("MessageStructure")
        record = self.get(topic)
        message_id = self._ids.uuid4()
        sequence: str | None = None
        if record.fifo:
            if not group_id:
                raise sns_invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
            dedup_id = msg.fifo_dedup_id(
                message, dedup_id, record.content_based_deduplication, "topic", sns_invalid_parameter
            )
            published = self.store.publish_to_fifo_topic(record.name, dedup_id, message_id, now=self._clock())
            message_id, sequence = published.message_id, published.sequence_number
            if published.duplicate:
                return {"MessageId": message_id, "SequenceNumber": sequence}
        elif dedup_id is not None:
            raise sns_invalid_parameter(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that "
                "is not "
                "valid for this topic type"
            )
        notification = _Notification(
            topic=record,
            message_id=message_id,
            message=message,
            per_protocol=per_protocol,
            subject=subject,
            attributes=attrs,
            timestamp=self._clock(),
            sequence_number=sequence,
            group_id=group_id,
            dedup_id=dedup_id,
        )
        self._deliver(notification)
        out = {"MessageId": message_id}
        if sequence is not None:
            out["SequenceNumber"] = sequence
        return out

    def _deliver(self, n: _Notification) -> None:
        prepared = []
        values = filters.attribute_values(n.attributes)
        for sub in self.store.list_subscriptions(n.topic.name):
            if not _passes(sub, values, n.text_for(sub.protocol)):
                continue
            if sub.protocol == "sqs":
                try:
                    prepared.append(self._for_queue(sub, n))
                except (QueueDoesNotExist, ServiceError) as exc:  # SNS drops what a queue refuses
                    log.warning("SNS delivery to %s failed: %s", sub.endpoint, exc)
            elif sub.protocol == "lambda":
                self._invoke(sub, n)
        self.queues.send_prepared(prepared)

    def _for_queue(self, sub: SubscriptionRecord, n: _Notification) -> Any:
        queue = resource_name(sub.endpoint)
        if sub.raw:
            body, attributes = n.text_for("sqs"), n.attributes
        else:
            body, attributes = n.envelope(sub.arn, self.partition.region), None
        group = n.group_id if self.queues.get(queue).fifo else None
        dedup = n.dedup_id if group is not None else None
        return self.queues.prepare(queue, body, attributes=attributes, group_id=group, dedup_id=dedup)

    def _invoke(self, sub: SubscriptionRecord, n: _Notification) -> None:
        function = resource_name(sub.endpoint)
        if self.invoke_function is None:
            log.warning("SNS: no local Lambda functions to deliver to %s", function)
            return
        try:
            self.invoke_function(function, n.lambda_event(sub.arn, self.partition.region))
        except Exception as exc:  # asynchronous on AWS: a failing function never fails the publish
            log.warning("SNS delivery to function %s failed: %s", function, exc)


def _passes(sub: SubscriptionRecord, values: Mapping[str, Any], text: str) -> bool:
    policy_text = sub.attributes.get("FilterPolicy")
    if not policy_text:
        return True
    policy = json.loads(policy_text)
    if sub.attributes.get("FilterPolicyScope") == "MessageBody":
        return filters.matches_body(policy, text)
    return filters.matches(policy, values)


def _json(value: Any) -> str:
    """Compact JSON as Jackson writes it (no spaces, non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _structured(message: str) -> dict[str, Any]:
    try:
        document = json.loads(message)
    except ValueError:
        raise sns_invalid_parameter("Message Structure - JSON message body failed to parse") from None
    if not isinstance(document, dict) or "default" not in document:
        raise sns_invalid_parameter("Message Structure - No default entry in JSON message body")
    return document


class _Notification:
    """One published message and the shapes it is delivered in."""

    def __init__(
        self,
        *,
        topic: TopicRecord,
        message_id: str,
        message: str,
        per_protocol: Mapping[str, Any] | None,
        subject: str | None,
        attributes: Mapping[str, Mapping[str, str]],
        timestamp: float,
        sequence_number: str | None,
        group_id: str | None,
        dedup_id: str | None,
    ) -> None:
        self.topic = topic
        self.message_id = message_id
        self.message = message
        self.per_protocol = per_protocol
        self.subject = subject
        self.attributes = attributes
        self.timestamp = timestamp
        self.sequence_number = sequence_number
        self.group_id = group_id
        self.dedup_id = dedup_id

    def text_for(self, protocol: str) -> str:
        """The message a protocol gets: with MessageStructure json, its own entry or `default`."""
        if self.per_protocol is None:
            return self.message
        value = self.per_protocol.get(protocol, self.per_protocol["default"])
        return value if isinstance(value, str) else json.dumps(value)

    def _fields(self, subscription_arn: str, region: str, *, lambda_style: bool) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        out: dict[str, Any] = {"Type": "Notification", "MessageId": self.message_id}
        if self.sequence_number is not None:
            out["SequenceNumber"] = self.sequence_number
        out["TopicArn"] = self.topic.arn
        if self.subject is not None or lambda_style:
            out["Subject"] = self.subject
        out["Message"] = self.text_for("lambda" if lambda_style else "sqs")
        out["Timestamp"] = stamp
        digest = hashlib.sha256(f"{self.message_id}{self.message}".encode()).digest()
        cert = f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{digest.hex()[:32]}.pem"
        unsubscribe = (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
        )
        out["SignatureVersion"] = "1"
        out["Signature"] = base64.b64encode(digest * 8).decode("ascii")
        out["SigningCertUrl" if lambda_style else "SigningCertURL"] = cert
        out["UnsubscribeUrl" if lambda_style else "UnsubscribeURL"] = unsubscribe
        if self.attributes or lambda_style:
            out["MessageAttributes"] = {
                name: {"Type": a["DataType"], "Value": a.get("StringValue", a.get("BinaryValue"))}
                for name, a in self.attributes.items()
            }
        return out

    def envelope(self, subscription_arn: str, region: str) -> str:
        """The notification as SNS writes it into a queue: Jackson's pretty printing, `"Key" : value`."""
        fields = self._fields(subscription_arn, region, lambda_style=False)
        lines = []
        for key, value in fields.items():
            if key == "MessageAttributes":
                inner = ",\n".join(f"    {_json(name)} : {_json(attr)}" for name, attr in value.items())
                lines.append(f'  "MessageAttributes" : {{\n{inner}\n  }}')
            else:
                lines.append(f"  {_json(key)} : {json.dumps(value, ensure_ascii=False)}")
        return "{\n" + ",\n".join(lines) + "\n}"

    def lambda_event(self, subscription_arn: str, region: str) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription_arn,
                    "Sns": self._fields(subscription_arn, region, lambda_style=True),
                }
            ]
        }
