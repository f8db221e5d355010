"""Local queues and topics in SQL rows: the memory store's rules (`queues`), written once for
the SQLite and the PostgreSQL store.

The statements are the same in both; a `QueueSql` says what differs. Placeholders are
written `?` and become `%s` for psycopg. SQLite serialises every write (`BEGIN
IMMEDIATE`), so it needs no row locks; PostgreSQL takes them: a FIFO send or receive,
and a FIFO topic publish, lock the queue's (topic's) row first, so sequence numbers,
deduplication and group order cannot race, and a standard queue's receivers take visible
messages with `FOR UPDATE SKIP LOCKED`, so concurrent receivers never get the same
message and never wait for each other.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Final

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


@dataclass(frozen=True)
class QueueSql:
    """What differs between the two stores' SQL."""

    #: The driver's placeholder for `?`.
    placeholder: str
    #: Appended to a SELECT of one queue or topic row that the transaction must hold.
    lock_row: str
    #: Appended to the SELECT of a standard queue's visible messages (and of a FIFO queue's).
    lock_visible: str
    lock_visible_fifo: str
    #: The column that orders rows created at the same time, in insertion order.
    insertion_order: str
    _texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, text: str) -> str:
        """`text` in the driver's placeholders (converted once per distinct statement)."""
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = text.replace("?", self.placeholder)
        return found


SQLITE: Final = QueueSql("?", "", "", "", "rowid")
POSTGRES: Final = QueueSql("%s", " FOR NO KEY UPDATE", " FOR UPDATE SKIP LOCKED", " FOR UPDATE", "id")


class SqlQueues:
    """A mixin of the SQL stores: `_write()` is one transaction, `_read()` sees committed rows;
    both yield something with `execute` and `executemany` (a sqlite3 connection, a psycopg cursor)."""

    _ids: IdSource
    _write: Callable[[], contextlib.AbstractContextManager[Any]]
    _read: Callable[[], contextlib.AbstractContextManager[Any]]
    _queue_sql: ClassVar[QueueSql]

    def _sent(self, cur: Any) -> None:
        """Called in a send's transaction (PostgreSQL wakes idle workers: see engine.fleet_tasks)."""

    # ------------------------------------------------------------------ queues

    def create_queue(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        sql = self._queue_sql
        with self._write() as cur:
            inserted = cur.execute(
                sql(
                    "INSERT INTO queues (name, attributes, created_at, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING RETURNING name"
                ),
                (name, q.encode(dict(attributes)), now, now),
            ).fetchone()
            if inserted is None:
                return q.check_create(_queue(cur, sql, name), attributes, QueueAlreadyExists(name))
            return QueueRecord(name, dict(attributes), now, now)

    def get_queue(self, name: str) -> QueueRecord:
        with self._read() as cur:
            return _queue(cur, self._queue_sql, name)

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        with self._read() as cur:
            rows = cur.execute(f"SELECT {_QUEUE_FIELDS} FROM queues ORDER BY name").fetchall()
        return [_queue_from_row(row) for row in rows if row[0].startswith(prefix)]

    def set_queue_attributes(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        sql = self._queue_sql
        with self._write() as cur:
            current = _queue(cur, sql, name, lock=True)
            merged = {k: v for k, v in {**current.attributes, **attributes}.items() if v != ""}
            cur.execute(
                sql("UPDATE queues SET attributes = ?, updated_at = ? WHERE name = ?"),
                (q.encode(merged), now, name),
            )
            return QueueRecord(name, merged, current.created_at, now)

    def delete_queue(self, name: str) -> None:
        sql = self._queue_sql
        with self._write() as cur:
            _queue(cur, sql, name)
            cur.execute(sql("DELETE FROM queues WHERE name = ?"), (name,))

    def send_queue_messages(self, messages: Sequence[QueueMessage], *, now: float) -> list[QueueMessage]:
        sql = self._queue_sql
        with self._write() as cur:
            queues = {m.queue: _queue(cur, sql, m.queue) for m in messages}
            if sql.lock_row:  # FIFO queues are locked in name order (no deadlock between two sends)
                for name in sorted(name for name, queue in queues.items() if queue.fifo):
                    queues[name] = _queue(cur, sql, name, lock=True)
            sent = [_send(cur, sql, queues[m.queue], m, now) for m in messages]
            self._sent(cur)
            return sent

    def receive_queue_messages(
        self, name: str, *, max_messages: int, visibility_timeout: float, now: float
    ) -> list[QueueMessage]:
        sql = self._queue_sql
        with self._write() as cur:
            queue = _queue(cur, sql, name)
            if queue.fifo:  # one receiver at a time: message groups are delivered strictly in order
                queue = _queue(cur, sql, name, lock=True)
            lock = sql.lock_visible_fifo if queue.fifo else sql.lock_visible
            visible = [
                _message_from_row(row)
                for row in cur.execute(
                    sql(
                        f"SELECT {_MESSAGE_FIELDS} FROM queue_messages WHERE queue = ? AND visible_at <= ? "
                        f"ORDER BY id LIMIT ?{lock}"
                    ),
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
                        sql(
                            "SELECT DISTINCT group_id FROM queue_messages WHERE queue = ? AND visible_at > ? "
                            "AND receive_count > 0"
                        ),
                        (name, now),
                    ).fetchall()
                }
            redrive = queue.redrive
            dead_letter = _queue_or_none(cur, sql, redrive.dead_letter_queue) if redrive else None
            plan = q.plan_receive(
                queue,
                visible,
                busy,
                max_messages=max_messages,
                dead_letter_exists=dead_letter is not None,
                now=now,
            )
            if plan.expired:
                cur.executemany(
                    sql("DELETE FROM queue_messages WHERE id = ?"), [(m.seq,) for m in plan.expired]
                )
            for m in plan.to_dead_letter:
                assert dead_letter is not None
                moved = q.dead_lettered(m, dead_letter, now)
                cur.execute(
                    sql(
                        "UPDATE queue_messages SET queue = ?, visible_at = ?, sent_at = ?, receipt = NULL"
                        " WHERE id = ?"
                    ),
                    (moved.queue, moved.visible_at, moved.sent_at, m.seq),
                )
            out = []
            for m in plan.deliver:
                updated = q.received(m, q.make_receipt(m, self._ids.uuid4()), visibility_timeout, now)
                cur.execute(
                    sql(
                        "UPDATE queue_messages SET receive_count = ?, first_receive_at = ?, visible_at = ?,"
                        " receipt = ? WHERE id = ?"
                    ),
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
        sql = self._queue_sql
        with self._write() as cur:
            _queue(cur, sql, name)
            done = cur.execute(
                sql("DELETE FROM queue_messages WHERE queue = ? AND receipt = ?"), (name, receipt)
            )
            return bool(done.rowcount > 0)

    def change_queue_message_visibility(
        self, name: str, receipt: str, *, visible_at: float, now: float
    ) -> bool:
        sql = self._queue_sql
        with self._write() as cur:
            _queue(cur, sql, name)
            done = cur.execute(
                sql(
                    "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ? AND visible_at > ?"
                ),
                (visible_at, name, receipt, now),
            )
            return bool(done.rowcount > 0)

    def purge_queue(self, name: str) -> int:
        sql = self._queue_sql
        with self._write() as cur:
            _queue(cur, sql, name)
            return int(cur.execute(sql("DELETE FROM queue_messages WHERE queue = ?"), (name,)).rowcount)

    def queue_counts(self, name: str, *, now: float) -> QueueCounts:
        sql = self._queue_sql
        with self._read() as cur:
            _queue(cur, sql, name)
            row = cur.execute(
                sql(
                    "SELECT coalesce(sum(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),"
                    " coalesce(sum(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),"
                    " coalesce(sum(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0)"
                    " FROM queue_messages WHERE queue = ?"
                ),
                (now, now, now, name),
            ).fetchone()
        assert row is not None
        return QueueCounts(int(row[0]), int(row[1]), int(row[2]))

    # ------------------------------------------------------------------ topics

    def create_topic(self, name: str, arn: str, attributes: Mapping[str, str], *, now: float) -> TopicRecord:
        sql = self._queue_sql
        with self._write() as cur:
            inserted = cur.execute(
                sql(
                    "INSERT INTO topics (name, arn, attributes, created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING RETURNING name"
                ),
                (name, arn, q.encode(dict(attributes)), now),
            ).fetchone()
            if inserted is None:
                return q.check_create(_topic(cur, sql, name), attributes, TopicAlreadyExists(name))
            return TopicRecord(name, arn, dict(attributes), now)

    def get_topic(self, ref: str) -> TopicRecord:
        with self._read() as cur:
            return _topic(cur, self._queue_sql, ref)

    def list_topics(self) -> list[TopicRecord]:
        with self._read() as cur:
            rows = cur.execute(f"SELECT {_TOPIC_FIELDS} FROM topics ORDER BY name").fetchall()
        return [_topic_from_row(row) for row in rows]

    def delete_topic(self, ref: str) -> None:
        sql = self._queue_sql
        with self._write() as cur:
            cur.execute(sql("DELETE FROM topics WHERE name = ?"), (_topic(cur, sql, ref).name,))

    def subscribe(
        self, topic: str, protocol: str, endpoint: str, attributes: Mapping[str, str], *, arn: str, now: float
    ) -> SubscriptionRecord:
        sql = self._queue_sql
        with self._write() as cur:
            name = _topic(
                cur, sql, topic, lock=True
            ).name  # two identical subscribes: one creates, one finds it
            row = cur.execute(
                sql(
                    f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions"
                    " WHERE topic = ? AND protocol = ? AND endpoint = ?"
                ),
                (name, protocol, endpoint),
            ).fetchone()
            if row is not None:
                existing = _subscription_from_row(row)
                return q.check_create(existing, attributes, SubscriptionConflict(existing.arn))
            record = SubscriptionRecord(arn, name, protocol, endpoint, dict(attributes), now)
            cur.execute(
                sql(f"INSERT INTO subscriptions ({_SUBSCRIPTION_FIELDS}) VALUES (?, ?, ?, ?, ?, ?)"),
                (arn, name, protocol, endpoint, q.encode(dict(attributes)), now),
            )
            return record

    def list_subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        sql = self._queue_sql
        order = f"ORDER BY created_at, {sql.insertion_order}"
        with self._read() as cur:
            if topic is None:
                rows = cur.execute(f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions {order}").fetchall()
            else:
                rows = cur.execute(
                    sql(f"SELECT {_SUBSCRIPTION_FIELDS} FROM subscriptions WHERE topic = ? {order}"),
                    (_topic(cur, sql, topic).name,),
                ).fetchall()
            return [_subscription_from_row(row) for row in rows]

    def unsubscribe(self, arn: str) -> bool:
        sql = self._queue_sql
        with self._write() as cur:
            return bool(cur.execute(sql("DELETE FROM subscriptions WHERE arn = ?"), (arn,)).rowcount > 0)

    def publish_to_fifo_topic(self, topic: str, dedup_id: str, message_id: str, *, now: float) -> Published:
        sql = self._queue_sql
        with self._write() as cur:
            name = _topic(cur, sql, topic, lock=True).name
            seen = cur.execute(
                sql(
                    "SELECT message_id, sequence_number FROM topic_dedup"
                    " WHERE topic = ? AND key = ? AND expires_at > ?"
                ),
                (name, dedup_id, now),
            ).fetchone()
            if seen is not None:
                return Published(seen[0], seen[1], True)
            counter = cur.execute(
                sql("UPDATE topics SET sequence = sequence + 1 WHERE name = ? RETURNING sequence"), (name,)
            ).fetchone()
            assert counter is not None
            number = q.sequence_number(int(counter[0]))
            _remember(cur, sql, "topic_dedup", "topic", name, dedup_id, message_id, number, now)
            return Published(message_id, number, False)


def _send(cur: Any, sql: QueueSql, queue: QueueRecord, message: QueueMessage, now: float) -> QueueMessage:
    """One send, inside the caller's transaction (which holds a FIFO queue's row lock)."""
    key = q.dedup_key(queue, message)
    if key is not None:
        seen = cur.execute(
            sql(
                "SELECT message_id, sequence_number FROM queue_dedup WHERE queue = ? AND key = ? AND expires_at > ?"
            ),
            (queue.name, key, now),
        ).fetchone()
        if seen is not None:
            return replace(message, message_id=seen[0], sequence_number=seen[1])
    if queue.fifo:
        counter = cur.execute(
            sql("UPDATE queues SET sequence = sequence + 1 WHERE name = ? RETURNING sequence"), (queue.name,)
        ).fetchone()
        assert counter is not None
        message = replace(message, sequence_number=q.sequence_number(int(counter[0])))
    row = cur.execute(
        sql(
            "INSERT INTO queue_messages (queue, message_id, body, md5_body, message_attributes, md5_attributes,"
            " group_id, dedup_id, sequence_number, sent_at, visible_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
        ),
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
        _remember(
            cur,
            sql,
            "queue_dedup",
            "queue",
            queue.name,
            key,
            message.message_id,
            message.sequence_number,
            now,
        )
    return replace(message, seq=int(row[0]))


def _remember(
    cur: Any,
    sql: QueueSql,
    table: str,
    owner_column: str,
    owner: str,
    key: str,
    message_id: str,
    sequence_number: str | None,
    now: float,
) -> None:
    """Record a FIFO deduplication id for the five-minute window (replacing an expired record)."""
    cur.execute(
        sql(
            f"INSERT INTO {table} ({owner_column}, key, message_id, sequence_number, expires_at)"
            f" VALUES (?, ?, ?, ?, ?) ON CONFLICT ({owner_column}, key) DO UPDATE SET"
            " message_id = excluded.message_id, sequence_number = excluded.sequence_number,"
            " expires_at = excluded.expires_at"
        ),
        (owner, key, message_id, sequence_number, now + q.DEDUP_WINDOW_SECONDS),
    )


def _queue_or_none(cur: Any, sql: QueueSql, name: str, *, lock: bool = False) -> QueueRecord | None:
    suffix = sql.lock_row if lock else ""
    row = cur.execute(sql(f"SELECT {_QUEUE_FIELDS} FROM queues WHERE name = ?{suffix}"), (name,)).fetchone()
    return None if row is None else _queue_from_row(row)


def _queue(cur: Any, sql: QueueSql, name: str, *, lock: bool = False) -> QueueRecord:
    found = _queue_or_none(cur, sql, name, lock=lock)
    if found is None:
        known = [r[0] for r in cur.execute("SELECT name FROM queues ORDER BY name").fetchall()]
        raise QueueDoesNotExist(name, known)
    return found


def _queue_from_row(row: Sequence[Any]) -> QueueRecord:
    return QueueRecord(row[0], json.loads(row[1]), float(row[2]), float(row[3]))


def _message_from_row(row: Sequence[Any]) -> QueueMessage:
    values = list(row)
    values[6] = json.loads(values[6])
    for i in (4, 5):  # SQLite may hand back a whole number as an int
        values[i] = float(values[i])
    if values[12] is not None:
        values[12] = float(values[12])
    return QueueMessage(*values)


def _topic(cur: Any, sql: QueueSql, ref: str, *, lock: bool = False) -> TopicRecord:
    suffix = sql.lock_row if lock else ""
    row = cur.execute(
        sql(f"SELECT {_TOPIC_FIELDS} FROM topics WHERE name = ?{suffix}"), (q.resource_name(ref),)
    ).fetchone()
    if row is None:
        known = [r[0] for r in cur.execute("SELECT name FROM topics ORDER BY name").fetchall()]
        raise TopicDoesNotExist(ref, known)
    return _topic_from_row(row)


def _topic_from_row(row: Sequence[Any]) -> TopicRecord:
    return TopicRecord(row[0], row[1], json.loads(row[2]), float(row[3]))


def _subscription_from_row(row: Sequence[Any]) -> SubscriptionRecord:
    return SubscriptionRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), float(row[5]))
