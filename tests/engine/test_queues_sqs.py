"""Local SQS semantics on both stores: what a worker sees through `engine.queues.Queues`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ids import IdSource
from engine.queues import Message, Queues, ServiceError, md5_hex, md5_of_attributes
from engine.store import MemoryStore, QueueAlreadyExists, QueueDoesNotExist, SqliteStore, Store

T0 = 1_700_000_000.0


class Clock:
    """A hand-moved clock: visibility timeouts, delays and retention without sleeping."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "q.db")
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queues(store: Store, clock: Clock) -> Queues:
    return Queues(store, clock=clock, ids=IdSource(seed=7))


def bodies(messages: list[Message]) -> list[str]:
    return [m.body for m in messages]


# ------------------------------------------------------------------ digests


def test_md5_of_attributes_is_sqs_s_digest() -> None:
    # Known answers (as SQS returns them for these attributes).
    assert md5_of_attributes({"timestamp": {"DataType": "Number", "StringValue": "1493147359900"}}) == (
        "235c5c510d26fb653d073faed50ae77c"
    )
    assert md5_of_attributes({}) is None
    assert md5_hex("hello") == "5d41402abc4b2a76b9719d911017c592"


def test_md5_of_attributes_sorts_by_name_and_marks_binary() -> None:
    a = {"b": {"DataType": "String", "StringValue": "1"}, "a": {"DataType": "Binary", "BinaryValue": "AAE="}}
    reordered = dict(reversed(list(a.items())))
    assert md5_of_attributes(a) == md5_of_attributes(reordered)
    as_string = {"b": a["b"], "a": {"DataType": "Binary", "StringValue": "\x00\x01"}}
    assert md5_of_attributes(a) != md5_of_attributes(as_string)  # the transport byte differs


# ------------------------------------------------------------------ send / receive / delete


def test_send_receive_delete(queues: Queues) -> None:
    queues.create("jobs")
    sent = queues.send("jobs", "hello", attributes={"k": {"DataType": "String", "StringValue": "v"}})
    assert sent["MD5OfMessageBody"] == md5_hex("hello")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(
        {"k": {"DataType": "String", "StringValue": "v"}}
    )
    assert "SequenceNumber" not in sent
    [got] = queues.receive("jobs")
    assert (got.body, got.message_id, got.md5_of_body) == (
        "hello",
        sent["MessageId"],
        sent["MD5OfMessageBody"],
    )
    assert got.attributes["ApproximateReceiveCount"] == "1"
    assert got.message_attributes == {"k": {"DataType": "String", "StringValue": "v"}}
    shape = got.to_sqs()
    assert list(shape) == [
        "MessageId",
        "ReceiptHandle",
        "MD5OfBody",
        "Body",
        "Attributes",
        "MD5OfMessageAttributes",
        "MessageAttributes",
    ]
    queues.delete("jobs", got.receipt_handle)
    assert queues.receive("jobs") == []
    assert queues.attributes("jobs")["ApproximateNumberOfMessages"] == "0"


def test_a_queue_is_found_by_name_url_or_arn(queues: Queues) -> None:
    queues.create("jobs")
    queues.send("https://sqs.eu-west-1.amazonaws.com/000000000000/jobs", "a")
    queues.send("arn:aws:sqs:us-west-2:999999999999:jobs", "b")
    assert bodies(queues.receive("jobs", max=10)) == ["a", "b"]


def test_unknown_queue_names_the_known_ones(queues: Queues) -> None:
    queues.create("jobs")
    with pytest.raises(QueueDoesNotExist, match="no queue named 'jbos'; known queues: jobs"):
        queues.send("jbos", "x")


def test_create_is_idempotent_but_not_with_other_attributes(queues: Queues) -> None:
    first = queues.create("jobs", visibility_timeout=10)
    assert queues.create("jobs", visibility_timeout=10) == first
    with pytest.raises(QueueAlreadyExists):
        queues.create("jobs", visibility_timeout=11)


@pytest.mark.parametrize(
    ("name", "attributes", "code"),
    [
        ("bad name", {}, "InvalidParameterValue"),
        ("jobs", {"FifoQueue": "true"}, "InvalidParameterValue"),
        ("jobs", {"Colour": "blue"}, "InvalidAttributeName"),
        ("jobs", {"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
        ("jobs", {"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        (
            "jobs",
            {"RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:r:1:nope","maxReceiveCount":2}'},
            "InvalidParameterValue",
        ),
    ],
)
def test_create_refuses_what_sqs_refuses(
    queues: Queues, name: str, attributes: dict[str, str], code: str
) -> None:
    with pytest.raises(ServiceError) as info:
        queues.create(name, attributes)
    assert info.value.code == code


def test_visibility_timeout_hides_a_received_message_until_it_expires(queues: Queues, clock: Clock) -> None:
    queues.create("jobs", visibility_timeout=30)
    queues.send("jobs", "m")
    first = queues.receive("jobs")
    assert queues.receive("jobs") == []
    counts = queues.attributes("jobs")
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "1",
    )
    clock.advance(30)
    [again] = queues.receive("jobs")
    assert again.message_id == first[0].message_id
    assert again.attributes["ApproximateReceiveCount"] == "2"
    assert (
        again.attributes["ApproximateFirstReceiveTimestamp"]
        == first[0].attributes["ApproximateFirstReceiveTimestamp"]
    )
    assert again.receipt_handle != first[0].receipt_handle


def test_a_stale_receipt_deletes_nothing(queues: Queues, clock: Clock) -> None:
    queues.create("jobs", visibility_timeout=5)
    queues.send("jobs", "m")
    [old] = queues.receive("jobs")
    clock.advance(5)
    [new] = queues.receive("jobs")
    queues.delete("jobs", old.receipt_handle)  # accepted, as on SQS, but the message stays
    clock.advance(5)
    assert bodies(queues.receive("jobs")) == ["m"]
    del new


def test_a_malformed_receipt_is_refused(queues: Queues) -> None:
    queues.create("jobs")
    queues.create("other")
    queues.send("other", "m")
    [got] = queues.receive("other")
    for handle in ("nonsense", got.receipt_handle):  # another queue's handle is not this queue's
        with pytest.raises(ServiceError) as info:
            queues.delete("jobs", handle)
        assert info.value.code == "ReceiptHandleIsInvalid"


def test_change_visibility(queues: Queues, clock: Clock) -> None:
    queues.create("jobs", visibility_timeout=300)
    queues.send("jobs", "m")
    [got] = queues.receive("jobs")
    queues.change_visibility("jobs", got.receipt_handle, 0)
    [again] = queues.receive("jobs")
    clock.advance(300)
    with pytest.raises(ServiceError, match="not available for visibility timeout change"):
        queues.change_visibility("jobs", again.receipt_handle, 10)


def test_receive_takes_at_most_max_in_send_order(queues: Queues) -> None:
    queues.create("jobs")
    for i in range(12):
        queues.send("jobs", f"m{i}")
    assert bodies(queues.receive("jobs", max=10)) == [f"m{i}" for i in range(10)]
    assert bodies(queues.receive("jobs", max=10)) == ["m10", "m11"]
    with pytest.raises(ServiceError, match="MaxNumberOfMessages"):
        queues.receive("jobs", max=11)
    with pytest.raises(ServiceError, match="WaitTimeSeconds"):
        queues.receive("jobs", wait=21)


def test_delay_seconds_per_queue_and_per_message(queues: Queues, clock: Clock) -> None:
    queues.create("slow", {"DelaySeconds": "10"})
    queues.send("slow", "queued")
    queues.send("slow", "now", delay_seconds=0)
    assert bodies(queues.receive("slow", max=10)) == ["now"]
    assert queues.attributes("slow")["ApproximateNumberOfMessagesDelayed"] == "1"
    clock.advance(10)
    assert bodies(queues.receive("slow", max=10)) == ["queued"]
    with pytest.raises(ServiceError, match="DelaySeconds must be >= 0 and <= 900"):
        queues.send("slow", "x", delay_seconds=901)


def test_retention_drops_old_messages(queues: Queues, clock: Clock) -> None:
    queues.create("short", {"MessageRetentionPeriod": "60"})
    queues.send("short", "old")
    clock.advance(30)
    queues.send("short", "young")
    clock.advance(30)
    assert bodies(queues.receive("short", max=10)) == ["young"]


def test_redrive_to_the_dead_letter_queue_after_max_receives(queues: Queues, clock: Clock) -> None:
    queues.create("dlq")
    queues.create("jobs", visibility_timeout=1, dead_letter="dlq", max_receives=2)
    queues.send("jobs", "poison")
    for _ in range(2):
        assert bodies(queues.receive("jobs")) == ["poison"]
        clock.advance(1)
    assert queues.receive("jobs") == []  # the third receive moves it instead
    [dead] = queues.receive("dlq")
    assert dead.body == "poison"
    assert json.loads(queues.attributes("jobs")["RedrivePolicy"])["maxReceiveCount"] == 2


def test_purge_and_delete_queue(queues: Queues) -> None:
    queues.create("jobs")
    for i in range(3):
        queues.send("jobs", str(i))
    assert queues.purge("jobs") == 3
    assert queues.receive("jobs") == []
    queues.delete_queue("jobs")
    assert [q.name for q in queues.list_queues()] == []
    with pytest.raises(QueueDoesNotExist):
        queues.receive("jobs")


def test_body_and_attribute_validation(queues: Queues) -> None:
    queues.create("jobs")
    with pytest.raises(ServiceError, match=r"The request must contain the parameter MessageBody\."):
        queues.send("jobs", "")
    with pytest.raises(ServiceError, match="Message must be shorter than 262144 bytes"):
        queues.send("jobs", "a" * 262_145)
    with pytest.raises(ServiceError, match="Invalid binary character"):
        queues.send("jobs", "bell\x07")
    bad = {
        "no type": {"a": {"StringValue": "x"}},
        "bad type": {"a": {"DataType": "Text", "StringValue": "x"}},
        "no value": {"a": {"DataType": "String"}},
        "not a number": {"a": {"DataType": "Number", "StringValue": "five"}},
        "reserved": {"AWS.x": {"DataType": "String", "StringValue": "x"}},
        "too many": {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(11)},
    }
    for case, attributes in bad.items():
        with pytest.raises(ServiceError) as info:
            queues.send("jobs", "x", attributes=attributes)
        assert info.value.code == "InvalidParameterValue", case


# ------------------------------------------------------------------ FIFO


def test_fifo_orders_each_group_and_holds_a_group_while_a_message_is_in_flight(queues: Queues) -> None:
    queues.create("f.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")]:
        queues.send("f.fifo", body, group_id=group)
    first = queues.receive("f.fifo", max=1)
    assert bodies(first) == ["a1"]
    # Group a is in flight: only b's messages come, in order.
    assert bodies(queues.receive("f.fifo", max=10)) == ["b1", "b2"]
    assert queues.receive("f.fifo", max=10) == []
    queues.delete("f.fifo", first[0].receipt_handle)
    [a2] = queues.receive("f.fifo", max=10)
    assert a2.body == "a2"
    assert a2.attributes["MessageGroupId"] == "a"
    assert int(a2.attributes["SequenceNumber"]) > int(first[0].attributes["SequenceNumber"])


def test_fifo_deduplicates_within_five_minutes(queues: Queues, clock: Clock) -> None:
    queues.create("f.fifo", {"FifoQueue": "true"})
    one = queues.send("f.fifo", "x", group_id="g", dedup_id="d1")
    two = queues.send("f.fifo", "x", group_id="g", dedup_id="d1")
    assert two["MessageId"] == one["MessageId"] and two["SequenceNumber"] == one["SequenceNumber"]
    assert len(one["SequenceNumber"]) == 20
    clock.advance(301)
    three = queues.send("f.fifo", "x", group_id="g", dedup_id="d1")
    assert three["MessageId"] != one["MessageId"]
    assert bodies(queues.receive("f.fifo", max=10)) == ["x", "x"]


def test_content_based_deduplication_uses_the_body(queues: Queues) -> None:
    queues.create("f.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    queues.send("f.fifo", "same", group_id="g")
    queues.send("f.fifo", "same", group_id="h")
    queues.send("f.fifo", "other", group_id="g")
    assert sorted(bodies(queues.receive("f.fifo", max=10))) == ["other", "same"]


def test_deduplication_scope_message_group(queues: Queues) -> None:
    queues.create("f.fifo", {"FifoQueue": "true", "DeduplicationScope": "messageGroup"})
    queues.send("f.fifo", "x", group_id="g", dedup_id="d")
    queues.send("f.fifo", "x", group_id="h", dedup_id="d")
    assert len(queues.receive("f.fifo", max=10)) == 2


def test_fifo_requests_sqs_refuses(queues: Queues) -> None:
    queues.create("f.fifo", fifo=True)
    queues.create("std")
    with pytest.raises(ServiceError, match=r"The request must contain the parameter MessageGroupId\."):
        queues.send("f.fifo", "x")
    with pytest.raises(ServiceError, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        queues.send("f.fifo", "x", group_id="g")
    with pytest.raises(ServiceError, match="parameter DelaySeconds is invalid"):
        queues.send("f.fifo", "x", group_id="g", dedup_id="d", delay_seconds=1)
    with pytest.raises(ServiceError, match="MessageDeduplicationId is invalid"):
        queues.send("std", "x", dedup_id="d")
    with pytest.raises(ServiceError, match="same type of queue"):
        queues.create("std2", dead_letter="f.fifo", max_receives=1)


def test_fifo_redrive_keeps_group_order(queues: Queues, clock: Clock) -> None:
    queues.create("dlq.fifo", fifo=True)
    queues.create(
        "f.fifo", {"FifoQueue": "true", "VisibilityTimeout": "1"}, dead_letter="dlq.fifo", max_receives=1
    )
    queues.send("f.fifo", "first", group_id="g", dedup_id="1")
    queues.send("f.fifo", "second", group_id="g", dedup_id="2")
    assert bodies(queues.receive("f.fifo", max=10)) == ["first", "second"]
    clock.advance(1)
    assert queues.receive("f.fifo", max=10) == []
    assert bodies(queues.receive("dlq.fifo", max=10)) == ["first", "second"]


# ------------------------------------------------------------------ long polling


def test_long_poll_returns_as_soon_as_a_message_arrives(store: Store) -> None:
    queues = Queues(store)
    queues.create("jobs")
    threading.Timer(0.2, lambda: queues.send("jobs", "late")).start()
    started = time.monotonic()
    got = queues.receive("jobs", wait=5)
    assert bodies(got) == ["late"]
    assert time.monotonic() - started < 2


def test_long_poll_sees_another_process_s_send(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    mine, theirs = SqliteStore(path), SqliteStore(path)
    try:
        Queues(mine).create("jobs")
        threading.Timer(0.3, lambda: Queues(theirs).send("jobs", "from afar")).start()
        assert bodies(Queues(mine).receive("jobs", wait=5)) == ["from afar"]
    finally:
        time.sleep(0.05)
        mine.close()
        theirs.close()


def test_long_poll_gives_up_after_wait_seconds(store: Store) -> None:
    queues = Queues(store)
    queues.create("jobs", {"ReceiveMessageWaitTimeSeconds": "1"})
    started = time.monotonic()
    assert queues.receive("jobs", wait=0.3) == []
    assert 0.25 < time.monotonic() - started < 2
    started = time.monotonic()
    assert queues.receive("jobs") == []  # the queue's own wait time
    assert time.monotonic() - started >= 0.95


def test_concurrent_receivers_never_share_a_message(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    setup = SqliteStore(path)
    Queues(setup).create("jobs")
    for i in range(60):
        Queues(setup).send("jobs", str(i))
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        store = SqliteStore(path)
        queues = Queues(store)
        while True:
            got = queues.receive("jobs", max=3)
            if not got:
                break
            with lock:
                seen.extend(m.body for m in got)
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    setup.close()
    assert sorted(seen, key=int) == [str(i) for i in range(60)]


def test_messages_survive_reopening_the_store(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    store = SqliteStore(path)
    Queues(store).create("jobs")
    Queues(store).send("jobs", "kept")
    store.close()
    reopened = SqliteStore(path)
    assert bodies(Queues(reopened).receive("jobs")) == ["kept"]
    reopened.close()


def test_open_uses_the_default_store_of_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATELANE_DB")
    monkeypatch.chdir(tmp_path)
    with Queues.open() as queues:
        queues.create("jobs")
        queues.send("jobs", "hi")
    assert (tmp_path / ".statelane" / "statelane.db").exists()
    with Queues.open(f"sqlite:///{tmp_path}/.statelane/statelane.db") as queues:
        assert bodies(queues.receive("jobs")) == ["hi"]
