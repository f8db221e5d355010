"""Builders shared by the store tests (no tests here): machines, executions and realistic events."""

from __future__ import annotations

from typing import Any

from engine.history import HistoryEvent, JsonText
from engine.store import ExecutionRecord, StateMachineDoesNotExist, Store

DEFINITION = '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}'
T0 = 1_700_000_000.0


def event(
    event_id: int, event_type: str = "PassStateEntered", *, at: float | None = None, **details: Any
) -> dict[str, Any]:
    """An event as `HistoryEvent.to_aws()` renders it (epoch timestamp)."""
    if not details and event_type.endswith("StateEntered"):
        details = {"name": f"S{event_id}", "input": {"n": event_id}, "inputDetails": {"truncated": False}}
    return HistoryEvent(
        event_id, event_id - 1, T0 + event_id if at is None else at, event_type, details or None
    ).to_aws()


def events(first: int, count: int) -> list[dict[str, Any]]:
    return [event(i) for i in range(first, first + count)]


def started_event(input_text: str = "{}") -> dict[str, Any]:
    return HistoryEvent(
        1,
        0,
        T0 + 1,
        "ExecutionStarted",
        {
            "input": JsonText(input_text),
            "inputDetails": {"truncated": False},
            "roleArn": "arn:aws:iam::1:role/R",
        },
    ).to_aws()


def start(
    store: Store, name: str, *, machine: str = "M", input: str = "{}", at: float = T0, queued: bool = True
) -> ExecutionRecord:
    """An execution of `machine` (created on first use) started at `at`."""
    try:
        store.get_state_machine(machine)
    except StateMachineDoesNotExist:
        store.put_state_machine(machine, DEFINITION, now=at)
    return store.start_execution(machine, name, input, now=at, queued=queued).execution
