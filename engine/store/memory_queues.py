"""Local queues and topics of the in-memory store (the reference behaviour for the SQLite one).

A mixin of `MemoryStore`: it shares the store's lock and id source, so every
method is atomic like the rest of the store.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

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


class MemoryQueues:
    _lock: threading.RLock
    _ids: IdSource

    def _queue_tables(self) -> None:
        self._queues: dict[str, QueueRecord] = {}
        self._messages: dict[str, dict[int, QueueMessage]] = {}
        self._queue_sequences: dict[str, int] = {}
        self._dedup: dict[tuple[str, str], tuple[str, str | None, float]] = {}
        self._topics: dict[str, TopicRecord] = {}
        self._topic_sequences: dict[str, int] = {}
        self._topic_dedup: dict[tuple[str, str], tuple[str, str, float]] = {}
        self._subscriptions: dict[str, SubscriptionRecord] = {}
        self._message_order = itertools.count(1)

    # ------------------------------------------------------------------ queues

    def create_queue(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._lock:
            existing = self._queues.get(name)
            if existing is not None:
                return q.check_create(existing, attributes, QueueAlreadyExists(name))
            record = QueueRecord(name, dict(attributes), now, now)
            self._queues[name] = record
            self._messages[name] = {}
            self._queue_sequences[name] = 0
            return record

    def get_queue(self, name: str) -> QueueRecord:
        with self._lock:
            found = self._queues.get(name)
            if found is None:
                raise QueueDoesNotExist(name, sorted(self._queues))
            return found

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        with self._lock:
            return [self._queues[n] for n in sorted(self._queues) if n.startswith(prefix)]

    def set_queue_attributes(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        with self._lock:
            current = self.get_queue(name)
            merged = {k: v for k, v in {**current.attributes, **attributes}.items() if v != ""}
            record = replace(current, attributes=merged, updated_at=now)
            self._queues[name] = record
            return record

    def delete_queue(self, name: str) -> None:
        with self._lock:
            self.get_queue(name)
            del self._queues[name], self._messages[name], self._queue_sequences[name]
            for key in [k for k in self._dedup if k[0] == name]:
                del self._dedup[key]

    def send_queue_messages(self, messages: Sequence[QueueMessage], *, now: float) -> list[QueueMessage]:
        with self._lock:
            for message in messages:
                self.get_queue(message.queue)
            out: list[QueueMessage] = []
            for message in messages:
                queue = self._queues[message.queue]
                key = q.dedup_key(queue, message)
                if key is not None:
                    seen = self._dedup.get((queue.name, key))
                    if seen is not None and seen[2] > now:
                        out.append(replace(message, message_id=seen[0], sequence_number=seen[1]))
                        continue
                stored = replace(message, seq=next(self._message_order))
                if queue.fifo:
                    self._queue_sequences[queue.name] += 1
                    stored = replace(
                        stored, sequence_number=q.sequence_number(self._queue_sequences[queue.name])
                    )
                if key is not None:
                    self._dedup[(queue.name, key)] = (
                        stored.message_id,
                        stored.sequence_number,
                        now + q.DEDUP_WINDOW_SECONDS,
                    )
                self._messages[queue.name][stored.seq] = stored
                out.append(stored)
            return out

    def receive_queue_messages(
        self, name: str, *, max_messages: int, visibility_timeout: float, now: float
    ) -> list[QueueMessage]:
        with self._lock:
            queue = self.get_queue(name)
            messages = self._messages[name]
            ordered = sorted(messages.values(), key=lambda m: m.seq)
            busy = {m.group_id for m in ordered if m.visible_at > now and m.receive_count > 0}
            visible = [m for m in ordered if m.visible_at <= now][: q.RECEIVE_SCAN_LIMIT]
            redrive = queue.redrive
            dead_letter = self._queues.get(redrive.dead_letter_queue) if redrive else None
            plan = q.plan_receive(
                queue,
                visible,
                busy,
                max_messages=max_messages,
                dead_letter_exists=dead_letter is not None,
                now=now,
            )
            for m in plan.expired:
                del messages[m.seq]
            for m in plan.to_dead_letter:
                assert dead_letter is not None
                del messages[m.seq]
                self._messages[dead_letter.name][m.seq] = q.dead_lettered(m, dead_letter, now)
            out = []
            for m in plan.deliver:
                updated = q.received(m, q.make_receipt(m, self._ids.uuid4()), visibility_timeout, now)
                messages[m.seq] = updated
                out.append(updated)
            return out

    def _by_receipt(self, name: str, receipt: str) -> QueueMessage | None:
        self.get_queue(name)
        return next((m for m in self._messages[name].values() if m.receipt == receipt), None)

    def delete_queue_message(self, name: str, receipt: str) -> bool:
        with self._lock:
            found = self._by_receipt(name, receipt)
            if found is None:
                return False
            del self._messages[name][found.seq]
            return True

    def change_queue_message_visibility(
        self, name: str, receipt: str, *, visible_at: float, now: float
    ) -> bool:
        with self._lock:
            found = self._by_receipt(name, receipt)
            if found is None or found.visible_at <= now:
                return False
            self._messages[name][found.seq] = replace(found, visible_at=visible_at)
            return True

    def purge_queue(self, name: str) -> int:
        with self._lock:
            self.get_queue(name)
            count = len(self._messages[name])
            self._messages[name] = {}
            return count

    def queue_counts(self, name: str, *, now: float) -> QueueCounts:
        with self._lock:
            self.get_queue(name)
            return q.counts(self._messages[name].values(), now)

    # ------------------------------------------------------------------ topics

    def create_topic(self, name: str, arn: str, attributes: Mapping[str, str], *, now: float) -> TopicRecord:
        with self._lock:
            existing = self._topics.get(name)
            if existing is not None:
                return q.check_create(existing, attributes, TopicAlreadyExists(name))
            record = TopicRecord(name, arn, dict(attributes), now)
            self._topics[name] = record
            self._topic_sequences[name] = 0
            return record

    def get_topic(self, ref: str) -> TopicRecord:
        with self._lock:
            found = self._topics.get(q.resource_name(ref))
            if found is None:
                raise TopicDoesNotExist(ref, sorted(self._topics))
            return found

    def list_topics(self) -> list[TopicRecord]:
        with self._lock:
            return [self._topics[n] for n in sorted(self._topics)]

    def delete_topic(self, ref: str) -> None:
        with self._lock:
            name = self.get_topic(ref).name
            del self._topics[name], self._topic_sequences[name]
            for key in [k for k in self._topic_dedup if k[0] == name]:
                del self._topic_dedup[key]
            for arn in [a for a, s in self._subscriptions.items() if s.topic == name]:
                del self._subscriptions[arn]

    def subscribe(
        self, topic: str, protocol: str, endpoint: str, attributes: Mapping[str, str], *, arn: str, now: float
    ) -> SubscriptionRecord:
        with self._lock:
            name = self.get_topic(topic).name
            for existing in self._subscriptions.values():
                if (existing.topic, existing.protocol, existing.endpoint) == (name, protocol, endpoint):
                    return q.check_create(existing, attributes, SubscriptionConflict(existing.arn))
            record = SubscriptionRecord(arn, name, protocol, endpoint, dict(attributes), now)
            self._subscriptions[arn] = record
            return record

    def list_subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        with self._lock:
            name = None if topic is None else self.get_topic(topic).name
            return [s for s in self._subscriptions.values() if name is None or s.topic == name]

    def unsubscribe(self, arn: str) -> bool:
        with self._lock:
            return self._subscriptions.pop(arn, None) is not None

    def publish_to_fifo_topic(self, topic: str, dedup_id: str, message_id: str, *, now: float) -> Published:
        with self._lock:
            name = self.get_topic(topic).name
            seen = self._topic_dedup.get((name, dedup_id))
            if seen is not None and seen[2] > now:
                return Published(seen[0], seen[1], True)
            self._topic_sequences[name] += 1
            number = q.sequence_number(self._topic_sequences[name])
            self._topic_dedup[(name, dedup_id)] = (message_id, number, now + q.DEDUP_WINDOW_SECONDS)
            return Published(message_id, number, False)
