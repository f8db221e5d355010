"""Local queues and topics in the PostgreSQL store: the memory store's answers, and no message twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_store_postgres_fixtures import fresh_schema, require_server

require_server(module=True)  # before anything imports psycopg

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_queues_parity import operation, replay  # noqa: E402

from engine.queues import Queues  # noqa: E402
from engine.queues.sns import Topics  # noqa: E402
from engine.store import MemoryStore  # noqa: E402
from engine.store.postgres import PostgresStore  # noqa: E402

T0 = 1_700_000_000.0


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as u:
        yield u


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=25))
def test_memory_and_postgres_agree_on_queues(operations: list[tuple[str, str, Any, int]]) -> None:
    require_server()
    with fresh_schema() as url:
        postgres = PostgresStore(url)
        try:
            assert replay(MemoryStore(), operations) == replay(postgres, operations)
        finally:
            postgres.close()


def test_concurrent_receivers_never_get_the_same_message(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(4)]
    try:
        Queues(stores[0]).create("jobs")
        Queues(stores[0]).create("ordered.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        for i in range(120):
            Queues(stores[0]).send("jobs", f"m{i}")
            Queues(stores[0]).send("ordered.fifo", f"f{i}", group_id=f"g{i % 3}")
        got: dict[str, list[str]] = {"jobs": [], "ordered.fifo": []}
        lock = threading.Lock()
        barrier = threading.Barrier(len(stores))

        def receive(store: PostgresStore) -> None:
            queues = Queues(store)
            barrier.wait()
            for name in ("jobs", "ordered.fifo"):
                while batch := queues.receive(name, max=3, visibility_timeout=300):
                    with lock:
                        got[name].extend(m.body for m in batch)
                    if name.endswith(".fifo"):  # the next message of a group comes once this one is done
                        for m in batch:
                            queues.delete(name, m.receipt_handle)

        threads = [threading.Thread(target=receive, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got["jobs"]) == sorted(f"m{i}" for i in range(120))
        assert sorted(got["ordered.fifo"]) == sorted(f"f{i}" for i in range(120))
        for group in range(3):  # each FIFO group came out in the order it went in
            order = [int(b[1:]) for b in got["ordered.fifo"] if int(b[1:]) % 3 == group]
            assert order == sorted(order)
    finally:
        for s in stores:
            s.close()


def topic_walkthrough(store: Any) -> list[Any]:
    topics = Topics(store, clock=lambda: T0)
    topics.queues.create("inbox.fifo", {"FifoQueue": "true"})
    topics.create("events.fifo", {"ContentBasedDeduplication": "true"}, fifo=True)
    topics.create("plain")
    sub = topics.subscribe("events.fifo", queue="inbox.fifo", raw=True)
    seen: list[Any] = [topics.subscribe("events.fifo", queue="inbox.fifo", raw=True) == sub]
    seen.append([t.name for t in topics.list_topics()])
    first = topics.publish("events.fifo", "hello", group_id="g")
    seen += [topics.publish("events.fifo", "hello", group_id="g") == first]
    seen += [topics.publish("events.fifo", "world", group_id="g")["SequenceNumber"] > first["SequenceNumber"]]
    seen.append([m.body for m in topics.queues.receive("inbox.fifo", max=10)])
    seen.append([s.endpoint for s in topics.subscriptions("events.fifo")])
    seen.append((topics.unsubscribe(sub.arn), topics.subscriptions()))
    topics.delete("plain")
    seen.append([t.name for t in topics.list_topics()])
    return seen


def test_topics_subscriptions_and_fifo_deduplication(url: str) -> None:
    store = PostgresStore(url)
    try:
        walked = topic_walkthrough(store)
    finally:
        store.close()
    assert walked == topic_walkthrough(MemoryStore())
    assert walked[:5] == [True, ["events.fifo", "plain"], True, True, ["hello", "world"]]
