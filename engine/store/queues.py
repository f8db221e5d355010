"""Local SQS queues and SNS topics as the store keeps them: records, errors and shared rules.

The store only keeps queue and topic state durable and atomic; what a message *means*
(MD5 digests, attribute validation, SNS envelopes, filter policies) belongs to
`engine.queues`. The decisions that must happen inside one transaction (which
messages a receive takes, which go to the dead-letter queue, which expired, whether
a FIFO send is a duplicate) are made here, once, for every store implementation.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, NamedTuple, TypeVar

from engine.store.errors import StoreError

#: FIFO queues and topics drop a repeated deduplication id for five minutes.
DEDUP_WINDOW_SECONDS: Final = 300.0
DEFAULT_VISIBILITY_TIMEOUT: Final = 30
DEFAULT_RETENTION_SECONDS: Final = 345_600
#: How many visible messages a receive looks at (FIFO groups in flight are skipped over).
RECEIVE_SCAN_LIMIT: Final = 1000
_SEQUENCE_BASE: Final = 10**19


class QueueDoesNotExist(StoreError):
    """No local queue has that name."""

    code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self, name: str, known: Sequence[str] = ()) -> None:
        self.name = name
        self.known = list(known)
        listing = (
            f"; known queues: {', '.join(self.known)}" if self.known else "; the store has no queues yet"
        )
        super().__init__(f"no queue named '{name}'{listing}")


class QueueAlreadyExists(StoreError):
    """CreateQueue with a name in use and other attributes."""

    code = "QueueAlreadyExists"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"A queue already exists with the same name and a different value for attribute(s): {name}"
        )


class TopicDoesNotExist(StoreError):
    """No local topic has that name (or ARN)."""

    code = "NotFound"

    def __init__(self, ref: str, known: Sequence[str] = ()) -> None:
        self.ref = ref
        self.known = list(known)
        listing = (
            f"; known topics: {', '.join(self.known)}" if self.known else "; the store has no topics yet"
        )
        super().__init__(f"no topic named '{ref}'{listing}")


class TopicAlreadyExists(StoreError):
    """CreateTopic with a name in use and other attributes."""

    code = "InvalidParameter"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"Invalid parameter: Attributes Reason: Topic already exists with different attributes ({name})"
        )


class SubscriptionConflict(StoreError):
    """Subscribe with an existing protocol and endpoint but other attributes."""

    code = "InvalidParameter"

    def __init__(self, arn: str) -> None:
        self.arn = arn
        super().__init__(
            "Invalid parameter: Attributes Reason: Subscription already exists with different attributes "
            f"({arn})"
        )


def _flag(attributes: Mapping[str, str], key: str) -> bool:
    return str(attributes.get(key, "false")).lower() == "true"


def _int(attributes: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(attributes.get(key, default))
    except (TypeError, ValueError):
        return default


class Redrive(NamedTuple):
    dead_letter_queue: str
    max_receive_count: int


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """A queue and its SQS attributes (strings, as CreateQueue takes them)."""

    name: str
    attributes: Mapping[str, str]
    created_at: float
    updated_at: float

    @property
    def fifo(self) -> bool:
        return _flag(self.attributes, "FifoQueue")

    @property
    def visibility_timeout(self) -> int:
        return _int(self.attributes, "VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT)

    @property
    def delay_seconds(self) -> int:
        return _int(self.attributes, "DelaySeconds", 0)

    @property
    def retention_seconds(self) -> int:
        return _int(self.attributes, "MessageRetentionPeriod", DEFAULT_RETENTION_SECONDS)

    @property
    def wait_seconds(self) -> int:
        return _int(self.attributes, "ReceiveMessageWaitTimeSeconds", 0)

    @property
    def max_message_size(self) -> int:
        return _int(self.attributes, "MaximumMessageSize", 262_144)

    @property
    def content_based_deduplication(self) -> bool:
        return _flag(self.attributes, "ContentBasedDeduplication")

    @property
    def dedup_per_group(self) -> bool:
        return self.attributes.get("DeduplicationScope") == "messageGroup"

    @property
    def redrive(self) -> Redrive | None:
        """The RedrivePolicy: the dead-letter queue's name (from its ARN or URL) and maxReceiveCount."""
        text = self.attributes.get("RedrivePolicy")
        if not text:
            return None
        try:
            policy = json.loads(text)
            target = str(policy["deadLetterTargetArn"])
            count = int(policy["maxReceiveCount"])
        except (ValueError, KeyError, TypeError):
            return None
        return Redrive(resource_name(target), count)


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One message in a queue; `receipt` is the handle of its latest receive (None before any)."""

    queue: str
    message_id: str
    body: str
    md5_body: str
    sent_at: float
    visible_at: float
    message_attributes: Mapping[str, Any] = field(default_factory=dict)
    md5_attributes: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    receipt: str | None = None
    #: The store's order of sends (FIFO order within a group; best-effort order otherwise).
    seq: int = 0


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """GetQueueAttributes' ApproximateNumberOfMessages* at one moment."""

    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True, slots=True)
class TopicRecord:
    name: str
    arn: str
    attributes: Mapping[str, str]
    created_at: float

    @property
    def fifo(self) -> bool:
        return _flag(self.attributes, "FifoTopic")

    @property
    def content_based_deduplication(self) -> bool:
        return _flag(self.attributes, "ContentBasedDeduplication")


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """A subscription of a local queue (`sqs`) or local Lambda function (`lambda`) to a topic."""

    arn: str
    topic: str
    protocol: str
    endpoint: str
    attributes: Mapping[str, str]
    created_at: float

    @property
    def raw(self) -> bool:
        return _flag(self.attributes, "RawMessageDelivery")


class Published(NamedTuple):
    """A FIFO topic's publish: its message id and sequence number, or those of the duplicate it repeats."""

    message_id: str
    sequence_number: str
    duplicate: bool


class ReceivePlan(NamedTuple):
    deliver: list[QueueMessage]
    to_dead_letter: list[QueueMessage]
    expired: list[QueueMessage]


# ------------------------------------------------------------------ rules


def resource_name(ref: str) -> str:
    """A queue/topic name from a name, an ARN (`...:name`) or a queue URL (`.../name`)."""
    ref = ref.strip().rstrip("/")
    if ref.startswith("arn:"):
        return ref.rsplit(":", 1)[-1]
    if "://" in ref or "/" in ref:
        return ref.rsplit("/", 1)[-1]
    return ref


def sequence_number(counter: int) -> str:
    """SQS/SNS FIFO sequence numbers are 20-digit decimal strings that grow per queue/topic."""
    return f"{_SEQUENCE_BASE + counter:020d}"


def dedup_key(queue: QueueRecord, message: QueueMessage) -> str | None:
    """The key a FIFO send is deduplicated on (per queue, or per message group), None for standard."""
    if not queue.fifo or message.dedup_id is None:
        return None
    if queue.dedup_per_group:
        return f"{message.group_id}\x1f{message.dedup_id}"
    return message.dedup_id


_Created = TypeVar("_Created", QueueRecord, TopicRecord, SubscriptionRecord)


def check_create(existing: _Created, attributes: Mapping[str, str], error: StoreError) -> _Created:
    """CreateQueue/CreateTopic are idempotent for the same attributes; other attributes are an error."""
    if dict(existing.attributes) != dict(attributes):
        raise error
    return existing


def make_receipt(message: QueueMessage, nonce: str) -> str:
    """An opaque handle naming the queue, the message and this receive."""
    raw = f"{message.queue}\x1f{message.message_id}\x1f{nonce}".encode()
    return base64.b64encode(raw).decode("ascii")


def parse_receipt(handle: str) -> tuple[str, str] | None:
    """(queue, message id) of a handle `make_receipt` made, or None for anything else."""
    try:
        parts = base64.b64decode(handle.encode("ascii"), validate=True).decode("utf-8").split("\x1f")
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return (parts[0], parts[1]) if len(parts) == 3 else None


def plan_receive(
    queue: QueueRecord,
    candidates: Iterable[QueueMessage],
    busy_groups: Iterable[str | None],
    *,
    max_messages: int,
    dead_letter_exists: bool,
    now: float,
) -> ReceivePlan:
    """Which of the visible `candidates` (in send order) a receive takes, moves or drops.

    Expired messages (past MessageRetentionPeriod) are dropped. A message already
    received maxReceiveCount times moves to the dead-letter queue instead of being
    delivered again. In a FIFO queue a message group with a message in flight
    (`busy_groups`) delivers nothing, and a group whose next message does not fit
    in this receive stops there, so every group is delivered strictly in order.
    """
    deliver: list[QueueMessage] = []
    moved: list[QueueMessage] = []
    expired: list[QueueMessage] = []
    blocked = set(busy_groups)
    redrive = queue.redrive if dead_letter_exists else None
    for message in candidates:
        if message.sent_at + queue.retention_seconds <= now:
            expired.append(message)
            continue
        if queue.fifo and message.group_id in blocked:
            continue
        if redrive is not None and message.receive_count >= redrive.max_receive_count:
            moved.append(message)
            continue
        if len(deliver) >= max_messages:
            if not queue.fifo:
                break
            blocked.add(message.group_id)
            continue
        deliver.append(message)
    return ReceivePlan(deliver, moved, expired)


def received(message: QueueMessage, receipt: str, visibility_timeout: float, now: float) -> QueueMessage:
    return replace(
        message,
        receive_count=message.receive_count + 1,
        first_receive_at=message.first_receive_at if message.first_receive_at is not None else now,
        visible_at=now + visibility_timeout,
        receipt=receipt,
    )


def dead_lettered(message: QueueMessage, dead_letter: QueueRecord, now: float) -> QueueMessage:
    """The message as it lands in the dead-letter queue: visible at once (a FIFO DLQ restarts retention)."""
    return replace(
        message,
        queue=dead_letter.name,
        visible_at=now,
        receipt=None,
        sent_at=now if dead_letter.fifo else message.sent_at,
    )


def counts(messages: Iterable[QueueMessage], now: float) -> QueueCounts:
    visible = in_flight = delayed = 0
    for m in messages:
        if m.visible_at <= now:
            visible += 1
        elif m.receive_count > 0:
            in_flight += 1
        else:
            delayed += 1
    return QueueCounts(visible, in_flight, delayed)


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
