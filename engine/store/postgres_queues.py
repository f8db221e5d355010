"""Local queues and topics of the PostgreSQL store: the memory store's rules (`queues`), in rows.

A mixin of `PostgresStore`. SQLite serialises every write; here the row locks do it:
a FIFO send or receive, and a FIFO topic publish, lock the queue's (topic's) row first,
so sequence numbers, deduplication and group order cannot race; a standard queue's
receivers take visible messages with `FOR UPDATE SKIP LOCKED`, so concurrent receivers
never get the same message and never wait for each other.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from psycopg import Cursor

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
_QUEUE_FIELDS: Final = "name, attributes, created_at, updated_at"
_TOPIC_FIELDS: Final = "name, arn, attributes, created_at"
_SUBSCRIPTION_FIELDS: Final = "arn, topic, protocol, endpoint, attributes, created_at"

_Cur = Cursor[Any]


class PostgresQueues:
    _ids: IdSource

    _write: Callable[[], contextlib.AbstractContextManager[_Cur]]
    _read: Callable[[], contextlib.AbstractContextManager[_Cur]]
    _notify: Callable[[_Cur], None]

    # ------------------------------------------------------------------ queues

    def create_queue(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._write() as cur:
            inserted = cur.execute(
                "INSERT INTO queues (name, attributes, created_at, updated_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, q.encode(dict(attributes)), now, now),
            ).fetchone()
            if inserted is None:
                return q.check_create(_queue(cur, name), attributes, QueueAlreadyExists(name))
            return QueueRecord(name, dict(attributes), now, now)

    def get_queue(self, name: str) -> QueueRecord:
        with self._read() as cur:
            return _queue(cur, name)

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {_QUEUE_FIELDS} FROM queues WHERE starts_with(name, %s) ORDER BY name", (prefix,)
            ).fetchall()
        return [_queue_from_row(row) for row in rows]

    def set_queue_attributes(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._write() as cur:
            current = _queue(cur, name, lock=True)
            merged = {k: v for k, v in {**current.attributes, **attributes}.items() if v != ""}
            cur.execute(
                "UPDATE queues SET attributes = %s, updated_at = %s WHERE name = %s",
                (q.encode(merged), now, name),
            )
            return QueueRecord(name, merged, current.created_at, now)

    def delete_queue(self, name: str) -> None:
        with self._write() as cur:
            _queue(cur, name)
            cur.execute("DELETE FROM queues WHERE name = %s", (name,))

    def send_queue_messages(self, messages: Sequence[QueueMessage], *, now: float) -> list[QueueMessage]:
        with self._write() as cur:
            # FIFO queues are locked in name order (no deadlock between two multi-queue sends).
            queues = {m.queue: _queue(cur, m.queue) for m in messages}
            for name in sorted(name for name, queue in queues.items() if queue.fifo):
                queues[name] = _queue(cur, name, lock=True)
            sent = [_send(cur, queues[m.queue], m, now) for m in messages]
            # Idle workers wake on it: a fleet's branch tasks are messages (engine.fleet_tasks).
            self._notify(cur)
            return sent

    def receive_queue_messages(
        self, name: str, *, max_messages: int, visibility_timeout: float, now: float
    ) -> list[QueueMessage]:
        with self._write() as cur:
            queue = _queue(cur, name)
            if queue.fifo:  # one receiver at a time: message groups are delivered strictly in order
                queue = _queue(cur, name, lock=True)
            skip = "" if queue.fifo else " SKIP LOCKED"
            visible = [
                _message_from_row(row)
                for row in cur.execute(
                    f"SELECT {_MESSAGE_FIELDS} FROM queue_messages WHERE queue = %s AND visible_at <= %s "
                    f"ORDER BY id LIMIT %s FOR UPDATE{skip}",
                    (name, now, q.RECEIVE_SCAN_LIMIT),
                ).fetchall()
            ]
            if not visible:
                return []
            busy: set[str | None] = set()
            if queue.fifo:
                busy = {
                    row[0]
                    for row in cur.execute(
                        "SELECT DISTINCT group_id FROM queue_messages WHERE queue = %s AND visible_at > %s "
                        "AND receive_count > 0",
                        (name, now),
                    )
                }
            redrive = queue.redrive
            dead_letter = _queue_or_none(cur, redrive.dead_letter_queue) if redrive else None
            plan = q.plan_receive(
                queue,
                visible,
                busy,
                max_messages=max_messages,
                dead_letter_exists=dead_letter is not None,
                now=now,
            )
            if plan.expired:
                cur.execute("DELETE FROM queue_messages WHERE id = ANY(%s)", ([m.seq for m in plan.expired],))
            for m in plan.to_dead_letter:
                assert dead_letter is not None
                moved = q.dead_lettered(m, dead_letter, now)
                cur.execute(
                    "UPDATE queue_messages SET queue = %s, visible_at = %s, sent_at = %s, receipt = NULL"
                    " WHERE id = %s",
                    (moved.queue, moved.visible_at, moved.sent_at, m.seq),
                )
            out = []
            for m in plan.deliver:
                updated = q.received(m, q.make_receipt(m, self._ids.uuid4()), visibility_timeout, now)
                cur.execute(
                    "UPDATE queue_messages SET receive_count = %s, first_receive_at = %s, visible_at = %s,"
                    " receipt = %s WHERE id = %s",
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
        with self._write() as cur:
            _queue(cur, name)
            cur.execute("DELETE FROM queue_messages WHERE queue = %s AND receipt = %s", (name, receipt))
            return cur.rowcount > 0

    def change_queue_message_visibility(
        self, name: str, receipt: str, *, visible_at: float, now: float
    ) -> bool:
        with self._write() as cur:
            _queue(cur, name)
            cur.execute(
                "UPDATE queue_messages SET visible_at = %s WHERE queue = %s AND receipt = %s AND visible_at > %s",
                (visible_at, name, receipt, now),
            )
            return cur.rowcount > 0

    def purge_queue(self, name: str) -> int:
        with self._write() as cur:
            _queue(cur, name)
            cur.execute("DELETE FROM queue_messages WHERE queue = %s", (name,))
            return cur.rowcount

    def queue_counts(self, name: str, *, now: float) -> QueueCounts:
        with self._read() as cur:
            _queue(cur, name)
            row = cur.execute(
                "SELECT count(*) FILTER (WHERE visible_at <= %(now)s),"
                " count(*) FILTER (WHERE visible_at > %(now)s AND receive_count > 0),"
                " count(*) FILTER (WHERE visible_at > %(now)s AND receive_count = 0)"
                " FROM queue_messages WHERE queue = %(name)s",
                {"now": now, "name": name},
            ).fetchone()
        assert row is not None
        return QueueCounts(int(row[0]), int(row[1]), int(row[2]))

    # ------------------------------------------------------------------ topics

    def create_topic(self, name: str, arn: str, attributes: Mapping[str, str], *, now: float) -> TopicRecord:
        with self._write() as cur:
            inserted = cur.execute(
                "INSERT INTO topics (name, arn, attributes, created_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, arn, q.encode(dict(attributes)), now),
            ).fetchone()
            if inserted is None:
                return q.check_create(_topic(cur, name), attributes, TopicAlreadyExists(name))
            return TopicRecord(name, arn, dict(attributes), now)

    def get_topic(self, ref: str) -> TopicRecord:
        with self._read() as cur:
            return _topic(cur, ref)

    def list_topics(self) -> list[TopicRecord]:
        with self._read() as cur:
            rows = cur.execute(f"SELECT {_TOPIC_FIELDS} FROM topics ORDER BY name").fetchall()
        return [_topic_from_row(row) for row in rows]

    def delete_topic(self, ref: str) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM topics WHERE name = %s", (_topic(cur, ref).name,))

    def subscribe(
        self, topic: str, protocol: str, endpoint: str, attributes: Mapping[str, str], *, arn: str, now: float
    ) -> SubscriptionRecord:
        with self._write() as cur:
            name = _topic(cur, topic, lock=True).name  # two identical subscribes: one creates, one finds it
            row = cur.execute(
                f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions"
                " WHERE topic = %s AND protocol = %s AND endpoint = %s",
                (name, protocol, endpoint),
            ).fetchone()
            if row is not None:
                existing = _subscription_from_row(row)
                return q.check_create(existing, attributes, SubscriptionConflict(existing.arn))
            record = SubscriptionRecord(arn, name, protocol, endpoint, dict(attributes), now)
            cur.execute(
                f"INSERT INTO subscriptions ({_SUBSCRIPTION_FIELDS}) VALUES (%s, %s, %s, %s, %s, %s)",
                (arn, name, protocol, endpoint, q.encode(dict(attributes)), now),
            )
            return record

    def list_subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        with self._read() as cur:
            if topic is None:
                cur.execute(f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions ORDER BY created_at, id")
            else:
                cur.execute(
                    f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions WHERE topic = %s ORDER BY created_at, id",
                    (_topic(cur, topic).name,),
                )
            return [_subscription_from_row(row) for row in cur.fetchall()]

    def unsubscribe(self, arn: str) -> bool:
        with self._write() as cur:
            cur.execute("DELETE FROM subscriptions WHERE arn = %s", (arn,))
            return cur.rowcount > 0

    def publish_to_fifo_topic(self, topic: str, dedup_id: str, message_id: str, *, now: float) -> Published:
        with self._write() as cur:
            name = _topic(cur, topic, lock=True).name
            seen = cur.execute(
                "SELECT message_id, sequence_number FROM topic_dedup"
                " WHERE topic = %s AND key = %s AND expires_at > %s",
                (name, dedup_id, now),
            ).fetchone()
            if seen is not None:
                return Published(seen[0], seen[1], True)
            counter = cur.execute(
                "UPDATE topics SET sequence = sequence + 1 WHERE name = %s RETURNING sequence", (name,)
            ).fetchone()
            assert counter is not None
            number = q.sequence_number(int(counter[0]))
            cur.execute(
                "INSERT INTO topic_dedup (topic, key, message_id, sequence_number, expires_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (topic, key) DO UPDATE SET"
                " message_id = excluded.message_id, sequence_number = excluded.sequence_number,"
                " expires_at = excluded.expires_at",
                (name, dedup_id, message_id, number, now + q.DEDUP_WINDOW_SECONDS),
            )
            return Published(message_id, number, False)


def _send(cur: _Cur, queue: QueueRecord, message: QueueMessage, now: float) -> QueueMessage:
    """One send, inside the caller's transaction (which holds a FIFO queue's row lock)."""
    key = q.dedup_key(queue, message)
    if key is not None:
        seen = cur.execute(
            "SELECT message_id, sequence_number FROM queue_dedup WHERE queue = %s AND key = %s AND expires_at > %s",
            (queue.name, key, now),
        ).fetchone()
        if seen is not None:
            return replace(message, message_id=seen[0], sequence_number=seen[1])
    if queue.fifo:
        counter = cur.execute(
            "UPDATE queues SET sequence = sequence + 1 WHERE name = %s RETURNING sequence", (queue.name,)
        ).fetchone()
        assert counter is not None
        message = replace(message, sequence_number=q.sequence_number(int(counter[0])))
    row = cur.execute(
        "INSERT INTO queue_messages (queue, message_id, body, md5_body, message_attributes, md5_attributes,"
        " group_id, dedup_id, sequence_number, sent_at, visible_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
    ).fetchone()
    assert row is not None
    if key is not None:
        cur.execute(
            "INSERT INTO queue_dedup (queue, key, message_id, sequence_number, expires_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (queue, key) DO UPDATE SET"
            " message_id = excluded.message_id, sequence_number = excluded.sequence_number,"
            " expires_at = excluded.expires_at",
            (queue.name, key, message.message_id, message.sequence_number, now + q.DEDUP_WINDOW_SECONDS),
        )
    return replace(message, seq=int(row[0]))


def _queue_or_none(cur: _Cur, name: str, *, lock: bool = False) -> QueueRecord | None:
    suffix = " FOR NO KEY UPDATE" if lock else ""
    row = cur.execute(f"SELECT {_QUEUE_FIELDS} FROM queues WHERE name = %s{suffix}", (name,)).fetchone()
    return None if row is None else _queue_from_row(row)


def _queue(cur: _Cur, name: str, *, lock: bool = False) -> QueueRecord:
    found = _queue_or_none(cur, name, lock=lock)
    if found is None:
        raise QueueDoesNotExist(name, [r[0] for r in cur.execute("SELECT name FROM queues ORDER BY name")])
    return found


def _queue_from_row(row: Sequence[Any]) -> QueueRecord:
    return QueueRecord(row[0], json.loads(row[1]), float(row[2]), float(row[3]))


def _message_from_row(row: Sequence[Any]) -> QueueMessage:
    values = list(row)
    values[6] = json.loads(values[6])
    return QueueMessage(*values)


def _topic(cur: _Cur, ref: str, *, lock: bool = False) -> TopicRecord:
    suffix = " FOR NO KEY UPDATE" if lock else ""
    row = cur.execute(
        f"SELECT {_TOPIC_FIELDS} FROM topics WHERE name = %s{suffix}", (q.resource_name(ref),)
    ).fetchone()
    if row is None:
        raise TopicDoesNotExist(ref, [r[0] for r in cur.execute("SELECT name FROM topics ORDER BY name")])
    return _topic_from_row(row)


def _topic_from_row(row: Sequence[Any]) -> TopicRecord:
    return TopicRecord(row[0], row[1], json.loads(row[2]), float(row[3]))


def _subscription_from_row(row: Sequence[Any]) -> SubscriptionRecord:
    return SubscriptionRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), float(row[5]))
