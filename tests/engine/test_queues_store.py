"""The queue tables in the stores: the migration from a store without them, and store-level rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_store_migrations import sqlite_store_at

from engine.queues import Queues
from engine.store import SqliteStore
from engine.store.queues import (
    QueueMessage,
    QueueRecord,
    make_receipt,
    parse_receipt,
    plan_receive,
    resource_name,
)


def test_a_store_from_before_queues_is_migrated_and_keeps_its_executions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite_store_at(path, 1)
    store = SqliteStore(path)
    assert store.get_execution("done").name == "done"
    Queues(store).create("jobs")
    Queues(store).send("jobs", "hi")
    assert [m.body for m in Queues(store).receive("jobs")] == ["hi"]
    store.close()


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("jobs", "jobs"),
        ("https://sqs.us-east-1.amazonaws.com/000000000000/jobs", "jobs"),
        ("http://localhost:4566/000000000000/jobs/", "jobs"),
        ("arn:aws:sqs:us-east-1:000000000000:jobs.fifo", "jobs.fifo"),
        ("arn:aws:sns:eu-west-1:1:topic-1", "topic-1"),
    ],
)
def test_resource_names(ref: str, name: str) -> None:
    assert resource_name(ref) == name


def test_receipts_round_trip_and_reject_garbage() -> None:
    message = QueueMessage("q", "m-1", "b", "md5", 0.0, 0.0)
    assert parse_receipt(make_receipt(message, "n")) == ("q", "m-1")
    for garbage in ("", "x", "!!!", "YWJj"):  # "YWJj" is base64 of "abc": no fields
        assert parse_receipt(garbage) is None


def test_plan_receive_stops_a_standard_queue_at_max_but_skips_fifo_groups() -> None:
    def m(seq: int, group: str | None = None) -> QueueMessage:
        return QueueMessage("q", f"m{seq}", "b", "md5", 100.0, 0.0, group_id=group, seq=seq)

    standard = QueueRecord("q", {}, 0.0, 0.0)
    plan = plan_receive(standard, [m(1), m(2), m(3)], [], max_messages=2, dead_letter_exists=False, now=100.0)
    assert [x.seq for x in plan.deliver] == [1, 2]
    fifo = QueueRecord("q.fifo", {"FifoQueue": "true"}, 0.0, 0.0)
    candidates = [m(1, "a"), m(2, "b"), m(3, "a"), m(4, "c")]
    plan = plan_receive(fifo, candidates, ["b"], max_messages=1, dead_letter_exists=False, now=100.0)
    assert [x.seq for x in plan.deliver] == [1]
    plan = plan_receive(fifo, candidates, ["a"], max_messages=5, dead_letter_exists=False, now=100.0)
    assert [x.seq for x in plan.deliver] == [2, 4]
