"""Local queues and topics of the SQLite store: the same rules as the memory store, in SQL rows.

A mixin of `SqliteStore`. Every write is one `BEGIN IMMEDIATE` transaction, so two
processes receiving from one queue never get the same message, and a FIFO send's
duplicate check and sequence number cannot race.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from engine.ids import IdSource
from engine.store import queues as q
from engine.store.queues import (
    Published,
    QueueAlreadyExists,
    QueueCounts,
    QueueDoesNotExist,
    QueueMessage,
    QueueRecord,
    SubscriptionConflict,
    SubscriptionRecord,
    TopicAlreadyExists,
    TopicDoesNotExist,
    TopicRecord,
)

_MESSAGE_FIELDS: Final = (
    "queue, message_id, body, md5_body, sent_at, visible_at, message_attributes, md5_attributes, group_id, "
    "dedup_id, sequence_number, receive_count, first_receive_at, receipt, id"
)
_SUBSCRIPTION_FIELDS: Final = "arn, topic, protocol, endpoint, attributes, created_at"


class SqliteQueues:
    _ids: IdSource

    _write: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    # ------------------------------------------------------------------ queues

    def create_queue(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._write() as conn:
            existing = _queue_or_none(conn, name)
            if existing is not None:
                return q.check_create(existing, attributes, QueueAlreadyExists(name))
            conn.execute(
                "INSERT INTO queues (name, attributes, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (name, q.encode(dict(attributes)), now, now),
            )
            return QueueRecord(name, dict(attributes), now, now)

    def get_queue(self, name: str) -> QueueRecord:
        with self._read() as conn:
            return _queue(conn, name)

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, attributes, created_at, updated_at FROM queues WHERE substr(name, 1, ?) = ? "
                "ORDER BY name",
                (len(prefix), prefix),
            ).fetchall()
        return [_queue_from_row(row) for row in rows]

    def set_queue_attributes(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._write() as conn:
            current = _queue(conn, name)
            merged = {k: v for k, v in {**current.attributes, **attributes}.items() if v != ""}
            conn.execute(
                "UPDATE queues SET attributes = ?, updated_at = ? WHERE name = ?",
                (q.encode(merged), now, name),
            )
            return QueueRecord(name, merged, current.created_at, now)

    def delete_queue(self, name: str) -> None:
        with self._write() as conn:
            _queue(conn, name)
            conn.execute("DELETE FROM queues WHERE name = ?", (name,))

    def send_queue_messages(self, messages: Sequence[QueueMessage], *, now: float) -> list[QueueMessage]:
        with self._write() as conn:
            queues = {m.queue: _queue(conn, m.queue) for m in messages}
            return [_send(conn, queues[m.queue], m, now) for m in messages]

    def receive_queue_messages(
        self, name: str, *, max_messages: int, visibility_timeout: float, now: float
    ) -> list[QueueMessage]:
        with self._write() as conn:
            queue = _queue(conn, name)
            visible = [
                _message_from_row(row)
                for row in conn.execute(
                    f"SELECT {_MESSAGE_FIELDS} FROM queue_messages WHERE queue = ? AND visible_at <= ? "
                    "ORDER BY id LIMIT ?",
                    (name, now, q.RECEIVE_SCAN_LIMIT),
                )
            ]
            if not visible:
                return []
            busy: set[str | None] = set()
            if queue.fifo:
                busy = {
                    row[0]
                    for row in conn.execute(
                        "SELECT DISTINCT group_id FROM queue_messages WHERE queue = ? AND visible_at > ? "
                        "AND receive_count > 0",
                        (name, now),
                    )
                }
            redrive = queue.redrive
            dead_letter = _queue_or_none(conn, redrive.dead_letter_queue) if redrive else None
            plan = q.plan_receive(
                queue,
                visible,
                busy,
                max_messages=max_messages,
                dead_letter_exists=dead_letter is not None,
                now=now,
            )
            conn.executemany("DELETE FROM queue_messages WHERE id = ?", [(m.seq,) for m in plan.expired])
            for m in plan.to_dead_letter:
                assert dead_letter is not None
                moved = q.dead_lettered(m, dead_letter, now)
                conn.execute(
                    "UPDATE queue_messages SET queue = ?, visible_at = ?, sent_at = ?, receipt = NULL "
                    "WHERE id = ?",
                    (moved.queue, moved.visible_at, moved.sent_at, m.seq),
                )
            out = []
            for m in plan.deliver:
                updated = q.received(m, q.make_receipt(m, self._ids.uuid4()), visibility_timeout, now)
                conn.execute(
                    "UPDATE queue_messages SET receive_count = ?, first_receive_at = ?, visible_at = ?, "
                    "receipt = ? "
                    "WHERE id = ?",
                    (
                        updated.receive_count,
                        updated.first_receive_at,
                        updated.visible_at,
                        updated.receipt,
                        m.seq,
                    ),
                )
                out.append(updated)
            return out

    def delete_queue_message(self, name: str, receipt: str) -> bool:
        with self._write() as conn:
            _queue(conn, name)
            cursor = conn.execute(
                "DELETE FROM queue_messages WHERE queue = ? AND receipt = ?", (name, receipt)
            )
            return cursor.rowcount > 0

    def change_queue_message_visibility(
        self, name: str, receipt: str, *, visible_at: float, now: float
    ) -> bool:
        with self._write() as conn:
            _queue(conn, name)
            cursor = conn.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ? AND visible_at > ?",
                (visible_at, name, receipt, now),
            )
            return cursor.rowcount > 0

    def purge_queue(self, name: str) -> int:
        with self._write() as conn:
            _queue(conn, name)
            return conn.execute("DELETE FROM queue_messages WHERE queue = ?", (name,)).rowcount

    def queue_counts(self, name: str, *, now: float) -> QueueCounts:
        with self._read() as conn:
            _queue(conn, name)
            row = conn.execute(
                "SELECT coalesce(sum(visible_at <= :now), 0),"
                " coalesce(sum(visible_at > :now AND receive_count > 0), 0),"
                " coalesce(sum(visible_at > :now AND receive_count = 0), 0)"
                " FROM queue_messages WHERE queue = :name",
                {"now": now, "name": name},
            ).fetchone()
        return QueueCounts(int(row[0]), int(row[1]), int(row[2]))

    # ------------------------------------------------------------------ topics

    def create_topic(self, name: str, arn: str, attributes: Mapping[str, str], *, now: float) -> TopicRecord:
        with self._write() as conn:
            existing = _topic_or_none(conn, name)
            if existing is not None:
                return q.check_create(existing, attributes, TopicAlreadyExists(name))
            conn.execute(
                "INSERT INTO topics (name, arn, attributes, created_at) VALUES (?, ?, ?, ?)",
                (name, arn, q.encode(dict(attributes)), now),
            )
            return TopicRecord(name, arn, dict(attributes), now)

    def get_topic(self, ref: str) -> TopicRecord:
        with self._read() as conn:
            return _topic(conn, ref)

    def list_topics(self) -> list[TopicRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, arn, attributes, created_at FROM topics ORDER BY name"
            ).fetchall()
        return [_topic_from_row(row) for row in rows]

    def delete_topic(self, ref: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM topics WHERE name = ?", (_topic(conn, ref).name,))

    def subscribe(
        self, topic: str, protocol: str, endpoint: str, attributes: Mapping[str, str], *, arn: str, now: float
    ) -> SubscriptionRecord:
        with self._write() as conn:
            name = _topic(conn, topic).name
            row = conn.execute(
                f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions "
                "WHERE topic = ? AND protocol = ? AND endpoint = ?",
                (name, protocol, endpoint),
            ).fetchone()
            if row is not None:
                existing = _subscription_from_row(row)
                return q.check_create(existing, attributes, SubscriptionConflict(existing.arn))
            record = SubscriptionRecord(arn, name, protocol, endpoint, dict(attributes), now)
            conn.execute(
                f"INSERT INTO subscriptions ({_SUBSCRIPTION_FIELDS}) VALUES (?, ?, ?, ?, ?, ?)",
                (arn, name, protocol, endpoint, q.encode(dict(attributes)), now),
            )
            return record

    def list_subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        with self._read() as conn:
            if topic is None:
                cursor = conn.execute(
                    f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions ORDER BY created_at, rowid"
                )
            else:
                cursor = conn.execute(
                    f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions WHERE topic = ? "
                    "ORDER BY created_at, rowid",
                    (_topic(conn, topic).name,),
                )
            return [_subscription_from_row(row) for row in cursor]

    def unsubscribe(self, arn: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM subscriptions WHERE arn = ?", (arn,)).rowcount > 0

    def publish_to_fifo_topic(self, topic: str, dedup_id: str, message_id: str, *, now: float) -> Published:
        with self._write() as conn:
            name = _topic(conn, topic).name
            seen = conn.execute(
                "SELECT message_id, sequence_number FROM topic_dedup "
                "WHERE topic = ? AND key = ? AND expires_at > ?",
                (name, dedup_id, now),
            ).fetchone()
            if seen is not None:
                return Published(seen[0], seen[1], True)
            counter = conn.execute(
                "UPDATE topics SET sequence = sequence + 1 WHERE name = ? RETURNING sequence", (name,)
            ).fetchone()[0]
            number = q.sequence_number(int(counter))
            conn.execute(
                "INSERT OR REPLACE INTO topic_dedup (topic, key, message_id, sequence_number, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, dedup_id, message_id, number, now + q.DEDUP_WINDOW_SECONDS),
            )
            return Published(message_id, number, False)


def _send(conn: sqlite3.Connection, queue: QueueRecord, message: QueueMessage, now: float) -> QueueMessage:
    key = q.dedup_key(queue, message)
    if key is not None:
        seen = conn.execute(
            "SELECT message_id, sequence_number FROM queue_dedup "
            "WHERE queue = ? AND key = ? AND expires_at > ?",
            (queue.name, key, now),
        ).fetchone()
        if seen is not None:
            return replace(message, message_id=seen[0], sequence_number=seen[1])
    if queue.fifo:
        counter = conn.execute(
            "UPDATE queues SET sequence = sequence + 1 WHERE name = ? RETURNING sequence", (queue.name,)
        ).fetchone()[0]
        message = replace(message, sequence_number=q.sequence_number(int(counter)))
    row_id = conn.execute(
        "INSERT INTO queue_messages (queue, message_id, body, md5_body, message_attributes, md5_attributes,"
        " group_id, dedup_id, sequence_number, sent_at, visible_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
        "RETURNING id",
        (
            message.queue,
            message.message_id,
            message.body,
            message.md5_body,
            q.encode(dict(message.message_attributes)),
            message.md5_attributes,
            message.group_id,
            message.dedup_id,
            message.sequence_number,
            message.sent_at,
            message.visible_at,
        ),
    ).fetchone()[0]
    if key is not None:
        conn.execute(
            "INSERT OR REPLACE INTO queue_dedup (queue, key, message_id, sequence_number, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (queue.name, key, message.message_id, message.sequence_number, now + q.DEDUP_WINDOW_SECONDS),
        )
    return replace(message, seq=int(row_id))


def _queue_or_none(conn: sqlite3.Connection, name: str) -> QueueRecord | None:
    row = conn.execute(
        "SELECT name, attributes, created_at, updated_at FROM queues WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else _queue_from_row(row)


def _queue(conn: sqlite3.Connection, name: str) -> QueueRecord:
    found = _queue_or_none(conn, name)
    if found is None:
        raise QueueDoesNotExist(name, [r[0] for r in conn.execute("SELECT name FROM queues ORDER BY name")])
    return found


def _queue_from_row(row: Sequence[Any]) -> QueueRecord:
    return QueueRecord(row[0], json.loads(row[1]), float(row[2]), float(row[3]))


def _message_from_row(row: Sequence[Any]) -> QueueMessage:
    values = list(row)
    values[6] = json.loads(values[6])
    for i in (4, 5):
        values[i] = float(values[i])
    if values[12] is not None:
        values[12] = float(values[12])
    return QueueMessage(*values)


def _topic_or_none(conn: sqlite3.Connection, name: str) -> TopicRecord | None:
    row = conn.execute(
        "SELECT name, arn, attributes, created_at FROM topics WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else _topic_from_row(row)


def _topic(conn: sqlite3.Connection, ref: str) -> TopicRecord:
    found = _topic_or_none(conn, q.resource_name(ref))
    if found is None:
        raise TopicDoesNotExist(ref, [r[0] for r in conn.execute("SELECT name FROM topics ORDER BY name")])
    return found


def _topic_from_row(row: Sequence[Any]) -> TopicRecord:
    return TopicRecord(row[0], row[1], json.loads(row[2]), float(row[3]))


def _subscription_from_row(row: Sequence[Any]) -> SubscriptionRecord:
    return SubscriptionRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), float(row[5]))
