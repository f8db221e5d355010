"""Local SQS: durable queues in statelane's store, with SQS's semantics and errors.

`Queues(store)` is the Python API for workers and the engine of the `sqs:sendMessage`
handler and the `statelane queues` commands:

    with Queues.open() as queues:             # the store `statelane run` uses here (or Queues(store))
        queues.create("jobs", visibility_timeout=60, dead_letter="jobs-dlq", max_receives=3)
        queues.send("jobs", '{"n": 1}')
        for message in queues.receive("jobs", max=10, wait=20):
            handle(message.body)
            queues.delete("jobs", message.receipt_handle)

A queue is named by its name, its URL or its ARN (account and region do not matter
locally). Standard and FIFO queues; visibility timeout, receive counts, long polling
(up to 20 s, woken at once by a send from this process and polling the store for
other processes' sends), redrive to a dead-letter queue after maxReceiveCount,
retention, delays and FIFO deduplication within five minutes.
"""

from __future__ import annotations

import json
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from engine.ids import IdSource, Partition
from engine.queues import messages as msg
from engine.queues.errors import ServiceError, invalid_value, missing_parameter, sqs_error
from engine.store import Store
from engine.store.queues import QueueDoesNotExist, QueueMessage, QueueRecord, parse_receipt, resource_name

MAX_WAIT_SECONDS: Final = 20
MAX_RECEIVE: Final = 10
#: How often a long poll looks at the store for messages other processes sent.
POLL_SECONDS: Final = 0.1

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
_FIFO_ONLY: Final = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
#: Attribute -> (minimum, maximum) for the numeric ones.
_RANGES: Final = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 262_144),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_SECONDS),
    "VisibilityTimeout": (0, 43_200),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
KNOWN_ATTRIBUTES: Final = frozenset(
    {
        *_RANGES,
        *_FIFO_ONLY,
        "FifoQueue",
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
    }
)

_signals: weakref.WeakKeyDictionary[Any, threading.Condition] = weakref.WeakKeyDictionary()
_signals_lock = threading.Lock()


def _signal(store: Store) -> threading.Condition:
    """One condition per store object: a send wakes the long polls of this process at once."""
    with _signals_lock:
        found = _signals.get(store)
        if found is None:
            found = _signals[store] = threading.Condition()
        return found


@dataclass(frozen=True, slots=True)
class Message:
    """A received message, with what SQS's ReceiveMessage says about it."""

    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Mapping[str, str]]
    md5_of_message_attributes: str | None = None

    def to_sqs(self) -> dict[str, Any]:
        """ReceiveMessage's shape of one message."""
        out: dict[str, Any] = {
            "MessageId": self.message_id,
            "ReceiptHandle": self.receipt_handle,
            "MD5OfBody": self.md5_of_body,
            "Body": self.body,
            "Attributes": dict(self.attributes),
        }
        if self.message_attributes:
            out["MD5OfMessageAttributes"] = self.md5_of_message_attributes
            out["MessageAttributes"] = {k: dict(v) for k, v in self.message_attributes.items()}
        return out


class Queues:
    """Local SQS queues in a store (see the module documentation)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        ids: IdSource | None = None,
        partition: Partition | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self._ids = ids or IdSource()
        self.partition = partition or Partition()
        self._signal = _signal(store)
        self._owns_store = False

    @classmethod
    def open(cls, url: str | None = None) -> Queues:
        """The queues of the store at `url` (default: STATELANE_DB, else `.statelane/statelane.db`),
        the ones `statelane run` in this directory sends to; close it (or use `with`) when done."""
        from engine.store import open_store

        queues = cls(open_store(url))
        queues._owns_store = True
        return queues

    def close(self) -> None:
        """Close the store if `open` opened it (a store passed in belongs to the caller)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Queues:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------ names

    def url(self, ref: str) -> str:
        return (
            f"https://sqs.{self.partition.region}.amazonaws.com/{self.partition.account}/{resource_name(ref)}"
        )

    def arn(self, ref: str) -> str:
        return f"arn:aws:sqs:{self.partition.region}:{self.partition.account}:{resource_name(ref)}"

    # ------------------------------------------------------------ queues

    def create(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        *,
        fifo: bool = False,
        visibility_timeout: int | None = None,
        dead_letter: str | None = None,
        max_receives: int | None = None,
    ) -> QueueRecord:
        """CreateQueue (idempotent with the same attributes); the keywords are shorthands for attributes."""
        attrs = {str(k): str(v) for k, v in (attributes or {}).items()}
        if fifo:
            attrs["FifoQueue"] = "true"
        if visibility_timeout is not None:
            attrs["VisibilityTimeout"] = str(visibility_timeout)
        if dead_letter is not None:
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self.arn(dead_letter), "maxReceiveCount": max_receives or 1},
                separators=(",", ":"),
            )
        self._check_name(name, attrs)
        self._check_attributes(attrs)
        return self.store.create_queue(name, attrs, now=self._clock())

    def get(self, ref: str) -> QueueRecord:
        return self.store.get_queue(resource_name(ref))

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        """By name; queues only the engine makes (names SQS refuses, as a fleet's job queue) are left out."""
        return [r for r in self.store.list_queues(prefix) if _NAME.match(r.name) or _FIFO_NAME.match(r.name)]

    def delete_queue(self, ref: str) -> None:
        self.store.delete_queue(resource_name(ref))

    def purge(self, ref: str) -> int:
        return self.store.purge_queue(resource_name(ref))

    def set_attributes(self, ref: str, attributes: Mapping[str, str]) -> QueueRecord:
        queue = self.get(ref)
        self._check_attributes({**queue.attributes, **attributes}, changing=queue)
        return self.store.set_queue_attributes(queue.name, attributes, now=self._clock())

    def attributes(self, ref: str) -> dict[str, str]:
        """GetQueueAttributes with `All`: the settings (defaults filled in), counts, ARN and dates."""
        queue = self.get(ref)
        counts = self.store.queue_counts(queue.name, now=self._clock())
        out = {
            "QueueArn": self.arn(queue.name),
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.in_flight),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
            "CreatedTimestamp": str(int(queue.created_at)),
            "LastModifiedTimestamp": str(int(queue.updated_at)),
            "VisibilityTimeout": str(queue.visibility_timeout),
            "MaximumMessageSize": str(queue.max_message_size),
            "MessageRetentionPeriod": str(queue.retention_seconds),
            "DelaySeconds": str(queue.delay_seconds),
            "ReceiveMessageWaitTimeSeconds": str(queue.wait_seconds),
            "SqsManagedSseEnabled": "true",
        }
        if queue.fifo:
            out["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
            out["DeduplicationScope"] = "messageGroup" if queue.dedup_per_group else "queue"
            out["FifoThroughputLimit"] = "perMessageGroupId" if queue.dedup_per_group else "perQueue"
        out.update(queue.attributes)
        return out

    # ------------------------------------------------------------ messages

    def send(
        self,
        queue: str,
        body: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        delay_seconds: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> dict[str, str]:
        """SendMessage; returns its response members (MessageId, MD5OfMessageBody, ...)."""
        message = self.prepare(
            queue,
            body,
            attributes=attributes,
            delay_seconds=delay_seconds,
            group_id=group_id,
            dedup_id=dedup_id,
        )
        return send_result(self.send_prepared([message])[0])

    def prepare(
        self,
        queue: str,
        body: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        delay_seconds: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> QueueMessage:
        """A validated message for `send_prepared` (SNS fans out several in one transaction)."""
        if not body:
            raise missing_parameter("MessageBody")
        record = self.get(queue)
        attrs = msg.sqs_attributes(attributes)
        msg.check_body(body, record.max_message_size, attrs)
        if record.fifo:
            if delay_seconds is not None:
                raise invalid_value(
                    f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
                    "Reason: The request include "
                    "parameter that is not valid for this queue type."
                )
            if not group_id:
                raise missing_parameter("MessageGroupId")
            dedup_id = msg.fifo_dedup_id(
                body, dedup_id, record.content_based_deduplication, "queue", invalid_value
            )
        elif dedup_id is not None:
            raise invalid_value(
                f"Value {dedup_id} for parameter MessageDeduplicationId is invalid. Reason: The request "
                "includes a parameter that is not valid for this queue type."
            )
        delay = record.delay_seconds if delay_seconds is None else delay_seconds
        if not 0 <= delay <= 900:
            raise invalid_value(
                f"Value {delay} for parameter DelaySeconds is invalid. "
                "Reason: DelaySeconds must be >= 0 and <= 900."
            )
        now = self._clock()
        return QueueMessage(
            queue=record.name,
            message_id=self._ids.uuid4(),
            body=body,
            md5_body=msg.md5_hex(body),
            sent_at=now,
            visible_at=now + delay,
            message_attributes=attrs,
            md5_attributes=msg.md5_of_attributes(attrs),
            group_id=group_id,
            dedup_id=dedup_id,
        )

    def send_prepared(self, prepared: Sequence[QueueMessage]) -> list[QueueMessage]:
        """Store prepared messages in one transaction and wake this process's long polls."""
        if not prepared:
            return []
        sent = self.store.send_queue_messages(prepared, now=self._clock())
        with self._signal:
            self._signal.notify_all()
        return sent

    def receive(
        self,
        queue: str,
        *,
        max: int = 1,
        wait: float | None = None,
        visibility_timeout: int | None = None,
    ) -> list[Message]:
        """ReceiveMessage: up to `max` (1-10) messages, waiting up to `wait` seconds (0-20) for the first.

        `wait` defaults to the queue's ReceiveMessageWaitTimeSeconds, `visibility_timeout`
        to its VisibilityTimeout; received messages stay invisible that long unless deleted.
        """
        record = self.get(queue)
        if not 1 <= max <= MAX_RECEIVE:
            raise invalid_value(
                f"Value {max} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, "
                "if provided."
            )
        seconds = record.wait_seconds if wait is None else wait
        if not 0 <= seconds <= MAX_WAIT_SECONDS:
            raise invalid_value(
                f"Value {seconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, "
                "if provided."
            )
        timeout = record.visibility_timeout if visibility_timeout is None else visibility_timeout
        if not 0 <= timeout <= 43_200:
            raise invalid_value(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be >= 0 and <= 43200, "
                "if provided."
            )
        deadline = time.monotonic() + seconds
        while True:
            got = self.store.receive_queue_messages(
                record.name, max_messages=max, visibility_timeout=timeout, now=self._clock()
            )
            remaining = deadline - time.monotonic()
            if got or remaining <= 0:
                return [_message(m) for m in got]
            with self._signal:
                self._signal.wait(min(POLL_SECONDS, remaining))

    def delete(self, queue: str, receipt_handle: str) -> None:
        """DeleteMessage. A stale handle (the message was received again since) deletes nothing, as on SQS."""
        name = self._check_receipt(queue, receipt_handle)
        self.store.delete_queue_message(name, receipt_handle)

    def change_visibility(self, queue: str, receipt_handle: str, timeout: int) -> None:
        """ChangeMessageVisibility: the in-flight message becomes visible `timeout` seconds from now."""
        name = self._check_receipt(queue, receipt_handle)
        if not 0 <= timeout <= 43_200:
            raise invalid_value(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be between 0 and 43200."
            )
        now = self._clock()
        if not self.store.change_queue_message_visibility(
            name, receipt_handle, visible_at=now + timeout, now=now
        ):
            raise invalid_value(
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. "
                "Reason: Message does not exist "
                "or is not available for visibility timeout change."
            )

    # ------------------------------------------------------------ checks

    def _check_receipt(self, queue: str, handle: str) -> str:
        name = self.get(queue).name
        parsed = parse_receipt(handle)
        if parsed is None or parsed[0] != name:
            raise sqs_error(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
                "ReceiptHandleIsInvalidException",
            )
        return name

    @staticmethod
    def _check_name(name: str, attrs: Mapping[str, str]) -> None:
        fifo = attrs.get("FifoQueue", "false").lower() == "true"
        if fifo and not _FIFO_NAME.match(name):
            raise invalid_value(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
        if not fifo and not _NAME.match(name):
            raise invalid_value(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            )

    def _check_attributes(self, attrs: Mapping[str, str], changing: QueueRecord | None = None) -> None:
        fifo = attrs.get("FifoQueue", "false").lower() == "true"
        for key, value in attrs.items():
            if key not in KNOWN_ATTRIBUTES or (key in _FIFO_ONLY and not fifo):
                raise sqs_error("InvalidAttributeName", f"Unknown Attribute {key}.")
            if key in ("FifoQueue", "ContentBasedDeduplication") and value.lower() not in ("true", "false"):
                raise sqs_error("InvalidAttributeValue", f"Invalid value for the parameter {key}.")
            if key in _RANGES:
                low, high = _RANGES[key]
                if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
                    raise sqs_error("InvalidAttributeValue", f"Invalid value for the parameter {key}.")
        if changing is not None and fifo != changing.fifo:
            raise sqs_error("InvalidAttributeName", "Unknown Attribute FifoQueue.")
        if "RedrivePolicy" in attrs:
            self._check_redrive(attrs["RedrivePolicy"], fifo)

    def _check_redrive(self, text: str, fifo: bool) -> None:
        def bad(reason: str) -> ServiceError:
            return sqs_error(
                "InvalidParameterValue",
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}",
            )

        try:
            policy = json.loads(text)
        except ValueError:
            raise bad("Redrive policy is not a valid JSON map.") from None
        if (
            not isinstance(policy, dict)
            or "deadLetterTargetArn" not in policy
            or "maxReceiveCount" not in policy
        ):
            raise bad(
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn, maxReceiveCount."
            )
        try:
            count = int(policy["maxReceiveCount"])
        except (TypeError, ValueError):
            count = 0
        if not 1 <= count <= 1000:
            raise bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
        try:
            target = self.store.get_queue(resource_name(str(policy["deadLetterTargetArn"])))
        except QueueDoesNotExist:  # said the way SQS says it
            raise bad("Dead letter target does not exist.") from None
        if target.fifo != fifo:
            raise bad("Dead-letter queue must be same type of queue as the source.")


def send_result(sent: QueueMessage) -> dict[str, str]:
    """SendMessage's response members, in the order SQS writes them."""
    out: dict[str, str] = {}
    if sent.md5_attributes is not None:
        out["MD5OfMessageAttributes"] = sent.md5_attributes
    out["MD5OfMessageBody"] = sent.md5_body
    out["MessageId"] = sent.message_id
    if sent.sequence_number is not None:
        out["SequenceNumber"] = sent.sequence_number
    return out


def _message(m: QueueMessage) -> Message:
    attributes = {
        "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
        "SentTimestamp": str(int(m.sent_at * 1000)),
        "ApproximateReceiveCount": str(m.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((m.first_receive_at or m.sent_at) * 1000)),
    }
    if m.sequence_number is not None:
        attributes["SequenceNumber"] = m.sequence_number
    if m.dedup_id is not None:
        attributes["MessageDeduplicationId"] = m.dedup_id
    if m.group_id is not None:
        attributes["MessageGroupId"] = m.group_id
    assert m.receipt is not None
    return Message(
        message_id=m.message_id,
        receipt_handle=m.receipt,
        body=m.body,
        md5_of_body=m.md5_body,
        attributes=attributes,
        message_attributes={k: dict(v) for k, v in m.message_attributes.items()},
        md5_of_message_attributes=m.md5_attributes,
    )
