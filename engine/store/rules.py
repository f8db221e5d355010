"""The decisions every store makes the same way, whatever holds the rows.

Each implementation fetches rows its own way and hands them here, so "is this
start idempotent", "which execution does this prefix mean", "may these events be
appended" and "may this token still be used" have one answer for memory, SQLite
and (later) PostgreSQL alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from engine.history import HistoryEvent
from engine.ids import Partition
from engine.store.errors import (
    AmbiguousExecution,
    ConflictError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    ExecutionNotRunning,
    InvalidToken,
    StateMachineAlreadyExists,
    TaskDoesNotExist,
    TaskTimedOut,
)
from engine.store.records import (
    REDRIVABLE_STATUSES,
    TERMINAL_STATUSES,
    ExecutionRecord,
    ExecutionStatus,
    StateMachineRecord,
    StateMachineType,
    TaskTokenRecord,
    TaskTokenStatus,
    Unset,
)

#: How many execution names an ExecutionDoesNotExist message offers.
RECENT_NAMES = 5

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

EventLike = Mapping[str, Any] | HistoryEvent


class EventRow(NamedTuple):
    id: int
    previous_event_id: int
    timestamp: float
    type: str
    body: str


def execution_arn(state_machine_arn: str, name: str) -> str:
    """`arn:...:stateMachine:M` + `E` -> `arn:...:execution:M:E`, as AWS forms it."""
    prefix, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"{prefix}:execution:{machine}:{name}"


def name_from_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string starting with `prefix` (for index range scans)."""
    return prefix + "\U0010ffff"


def pick_execution(
    ref: str, exact: Sequence[tuple[str, str]], prefixed: Sequence[tuple[str, str]], recent: Sequence[str]
) -> str:
    """The ARN `ref` means, given (name, arn) pairs named exactly `ref` and those starting with it.

    An exact name wins over longer names sharing it as a prefix; several matches are
    ambiguous (the same name under two state machines is, too).
    """
    for matches in (exact, prefixed):
        if len(matches) == 1:
            return matches[0][1]
        if len(matches) > 1:
            names = [name for name, _ in matches]
            distinct = len(set(names)) == len(names)
            raise AmbiguousExecution(ref, sorted(names) if distinct else sorted(arn for _, arn in matches))
    raise ExecutionDoesNotExist(ref, recent[:RECENT_NAMES])


def put_machine(
    current: StateMachineRecord | None,
    name: str,
    definition: str,
    *,
    now: float,
    type: StateMachineType,
    role_arn: str | None,
    arn: str | None,
    new_revision_id: Callable[[], str],
) -> StateMachineRecord | None:
    """The record CreateStateMachine/UpdateStateMachine leaves, or None when nothing changes."""
    role = role_arn or Partition().role_arn()
    if current is None:
        arn = arn or Partition().state_machine_arn(name)
        return StateMachineRecord(name, arn, definition, type, role, new_revision_id(), now, now)
    if current.type is not type:
        raise StateMachineAlreadyExists(current.arn, f"it is {current.type.value}, not {type.value}")
    if current.definition == definition and current.role_arn == role:
        return None
    return replace(
        current, definition=definition, role_arn=role, revision_id=new_revision_id(), update_date=now
    )


def new_execution(
    machine: StateMachineRecord, name: str, input_text: str, now: float, queued: bool
) -> ExecutionRecord:
    return ExecutionRecord(
        arn=execution_arn(machine.arn, name),
        name=name,
        state_machine_arn=machine.arn,
        revision_id=machine.revision_id,
        status=ExecutionStatus.RUNNING,
        input=input_text,
        start_date=now,
        queued=queued,
    )


def new_token(
    token: str,
    execution_arn: str,
    state_entered_event_id: int,
    now: float,
    timeout_at: float | None,
    heartbeat_seconds: float | None,
) -> TaskTokenRecord:
    return TaskTokenRecord(
        token=token,
        execution_arn=execution_arn,
        state_entered_event_id=state_entered_event_id,
        status=TaskTokenStatus.PENDING,
        created_at=now,
        timeout_at=timeout_at,
        heartbeat_seconds=heartbeat_seconds,
        heartbeat_deadline=None if heartbeat_seconds is None else now + heartbeat_seconds,
    )


def check_start(existing: ExecutionRecord, input_text: str) -> ExecutionRecord:
    """StartExecution with a name in use: the same input while RUNNING is the same execution."""
    if existing.status is ExecutionStatus.RUNNING and existing.input == input_text:
        return existing
    raise ExecutionAlreadyExists(existing.arn)


def require_running(record: ExecutionRecord) -> None:
    if record.status is not ExecutionStatus.RUNNING:
        raise ExecutionNotRunning(record.arn, record.status.value)


def check_lease(record: ExecutionRecord, lease_owner: str | None) -> None:
    """A worker writes only while it holds the lease; `None` is a writer outside the lease protocol."""
    if lease_owner is not None and record.lease_owner != lease_owner:
        holder = f"worker '{record.lease_owner}'" if record.lease_owner else "no worker"
        raise ConflictError(f"worker '{lease_owner}' lost its lease on '{record.arn}' (now held by {holder})")


def event_rows(arn: str, last_event_id: int, events: Sequence[EventLike]) -> list[EventRow]:
    """Render and check events to append after `last_event_id`: ids must continue it with no gap."""
    rows: list[EventRow] = []
    expected = last_event_id + 1
    for event in events:
        doc = event.to_aws() if isinstance(event, HistoryEvent) else event
        event_id = doc.get("id")
        if event_id != expected:
            raise ConflictError(
                f"event id {event_id!r} does not continue the history of '{arn}' (expected {expected}): "
                "another writer got there first, or the events were replayed"
            )
        timestamp = doc.get("timestamp")
        if (
            not isinstance(timestamp, int | float)
            or isinstance(timestamp, bool)
            or not math.isfinite(timestamp)
        ):
            raise ValueError(
                f"event {event_id} of '{arn}' needs an epoch-seconds timestamp, not {timestamp!r}"
            )
        rows.append(
            EventRow(expected, int(doc["previousEventId"]), float(timestamp), str(doc["type"]), encode(doc))
        )
        expected += 1
    return rows


def transition_changes(
    current: ExecutionRecord,
    rows: Sequence[EventRow],
    *,
    status: ExecutionStatus | None,
    output: str | Unset | None,
    error: str | Unset | None,
    cause: str | Unset | None,
    stop_date: float | None,
    wake_at: float | Unset | None,
) -> dict[str, Any]:
    """The execution fields a transition changes, by field name (= column name)."""
    changes: dict[str, Any] = {"last_event_id": current.last_event_id + len(rows)}
    for key, value in (("output", output), ("error", error), ("cause", cause), ("wake_at", wake_at)):
        if not isinstance(value, Unset):
            changes[key] = value
    if status is not None:
        changes["status"] = status
        if status in TERMINAL_STATUSES:
            changes.update(
                stop_date=stop_date_for(status, stop_date, rows),
                lease_owner=None,
                lease_expires_at=None,
                wake_at=None,
                queued=False,
            )
    return changes


def check_redrivable(current: ExecutionRecord) -> None:
    if current.status not in REDRIVABLE_STATUSES:
        raise ExecutionNotRedrivable(current.arn, current.status.value)


def redrive_changes(current: ExecutionRecord, rows: Sequence[EventRow], now: float) -> dict[str, Any]:
    """RedriveExecution's changes: RUNNING and queued again, the outcome of the last run forgotten."""
    return {
        "status": ExecutionStatus.RUNNING,
        "stop_date": None,
        "output": None,
        "error": None,
        "cause": None,
        "redrive_count": current.redrive_count + 1,
        "redrive_date": now,
        "queued": True,
        "wake_at": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_event_id": current.last_event_id + len(rows),
    }


def stop_date_for(
    status: ExecutionStatus | None, stop_date: float | None, rows: Sequence[EventRow]
) -> float | None:
    """A closing transition's stop date: given, or the timestamp of its last event."""
    if status is None or status not in TERMINAL_STATUSES:
        return None
    if stop_date is not None:
        return stop_date
    if rows:
        return rows[-1].timestamp
    raise ValueError(f"closing an execution ({status.value}) needs a stop_date or events")


def check_token(
    token: str, record: TaskTokenRecord | None, execution_status: ExecutionStatus | None
) -> TaskTokenRecord:
    """Whether a SendTask* call may still use `token`; returns the pending record.

    Raises InvalidToken (never issued), TaskTimedOut (already timed out), or
    TaskDoesNotExist (finished, or its execution closed). A deadline that has passed
    is the caller's cue to record the timeout; see `is_past_deadline`.
    """
    if record is None:
        raise InvalidToken(token)
    if record.status is TaskTokenStatus.TIMED_OUT:
        raise TaskTimedOut(token)
    if record.status is not TaskTokenStatus.PENDING:
        raise TaskDoesNotExist(token, f"the task already {record.status.value.lower()}")
    if execution_status is not ExecutionStatus.RUNNING:
        status = execution_status.value if execution_status else "gone"
        raise TaskDoesNotExist(token, f"its execution is {status}")
    return record


def check_token_repeat(
    existing: TaskTokenRecord, execution_arn: str, state_entered_event_id: int
) -> TaskTokenRecord:
    """Issuing a token again for the same task (a resumed worker) is a no-op; for another task a conflict."""
    if existing.execution_arn == execution_arn and existing.state_entered_event_id == state_entered_event_id:
        return existing
    raise ConflictError(
        f"task token already issued to event {existing.state_entered_event_id} of '{existing.execution_arn}'"
    )


def is_past_deadline(record: TaskTokenRecord, now: float) -> bool:
    deadline = record.deadline()
    return deadline is not None and deadline <= now


def encode(value: Any) -> str:
    """Compact JSON text (events, checkpoints); NaN and non-JSON values are refused, not written."""
    return _COMPACT.encode(value)


def history_query(
    execution_id: int, after_id: int, before_id: int | None, limit: int | None, reverse: bool, mark: str
) -> tuple[str, list[Any]]:
    """GetExecutionHistory's SELECT for either SQL store; `mark` is the driver's placeholder (`?`, `%s`)."""
    sql = f"SELECT body FROM events WHERE execution_id = {mark} AND id > {mark}"
    params: list[Any] = [execution_id, after_id]
    if before_id is not None:
        sql += f" AND id < {mark}"
        params.append(before_id)
    sql += " ORDER BY id DESC" if reverse else " ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def pending_work_query(queued: str) -> str:
    """`has_pending_work`'s query; `queued` is the dialect's "queued is true" predicate.

    An execution parked on a timer counts unless the timer is the deadline of one of its open
    task tokens: then it waits for an answer that may never come, and `worker --until-idle`
    must not wait out (say) a day-long TimeoutSeconds for it. The timer is set a moment after
    the token's deadline is computed, hence the second of slack.
    """
    return (
        f"SELECT EXISTS (SELECT 1 FROM executions WHERE {queued} AND lease_owner IS NULL"
        "               AND status = 'RUNNING')"
        " OR EXISTS (SELECT 1 FROM executions WHERE lease_owner IS NOT NULL AND status = 'RUNNING')"
        " OR EXISTS (SELECT 1 FROM executions e WHERE e.wake_at IS NOT NULL AND e.lease_owner IS NULL"
        "            AND e.status = 'RUNNING' AND NOT EXISTS ("
        "   SELECT 1 FROM task_tokens t WHERE t.execution_id = e.id AND t.status = 'PENDING'"
        "   AND (t.timeout_at <= e.wake_at + 1 OR t.heartbeat_deadline <= e.wake_at + 1)))"
    )
