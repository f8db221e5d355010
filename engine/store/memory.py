"""The in-memory store: the protocol's reference behaviour, for unit tests and express bookkeeping.

Rows are frozen records swapped under one lock, so every method is atomic; a
transition is validated and staged completely before anything is swapped in.
Events and checkpoints are kept as JSON text, as a database keeps them, so a
caller can never alias (and mutate) what the store holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from engine.ids import IdSource
from engine.store import rules
from engine.store.errors import (
    ConflictError,
    ExecutionDoesNotExist,
    ExecutionNotRunning,
    InvalidToken,
    StateMachineDoesNotExist,
    TaskTimedOut,
)
from engine.store.memory_queues import MemoryQueues
from engine.store.records import (
    UNSET,
    ExecutionRecord,
    ExecutionStatus,
    Started,
    StateMachineRecord,
    StateMachineType,
    TaskOutcome,
    TaskTokenRecord,
    TaskTokenStatus,
    Unset,
)

_RUNNING = ExecutionStatus.RUNNING


class MemoryStore(MemoryQueues):
    url = "memory://"

    def __init__(self, *, ids: IdSource | None = None) -> None:
        self._ids = ids or IdSource()
        self._lock = threading.RLock()
        self._machines: dict[str, StateMachineRecord] = {}
        self._revisions: dict[tuple[str, str], StateMachineRecord] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._checkpoints: dict[str, str] = {}
        self._events: dict[str, list[str]] = {}
        self._tokens: dict[str, TaskTokenRecord] = {}
        self._queue_tables()

    def close(self) -> None:
        return None

    # ------------------------------------------------------------ state machines

    def put_state_machine(
        self,
        name: str,
        definition: str,
        *,
        now: float,
        type: StateMachineType = StateMachineType.STANDARD,
        role_arn: str | None = None,
        arn: str | None = None,
    ) -> StateMachineRecord:
        with self._lock:
            current = self._machine_by_name(name)
            record = rules.put_machine(
                current,
                name,
                definition,
                now=now,
                type=type,
                role_arn=role_arn,
                arn=arn,
                new_revision_id=self._ids.uuid4,
            )
            if record is None:
                assert current is not None
                return current
            self._machines[record.arn] = record
            self._revisions[(record.arn, record.revision_id)] = record
            return record

    def get_state_machine(self, ref: str) -> StateMachineRecord:
        with self._lock:
            found = self._machines.get(ref) if ref.startswith("arn:") else self._machine_by_name(ref)
            if found is None:
                raise StateMachineDoesNotExist(ref, sorted(m.name for m in self._machines.values()))
            return found

    def get_revision(self, state_machine_arn: str, revision_id: str) -> StateMachineRecord:
        with self._lock:
            found = self._revisions.get((state_machine_arn, revision_id))
            if found is None:
                raise StateMachineDoesNotExist(state_machine_arn)
            return found

    def list_state_machines(self) -> list[StateMachineRecord]:
        with self._lock:
            return sorted(self._machines.values(), key=lambda m: m.name)

    def delete_state_machine(self, ref: str) -> None:
        with self._lock:
            del self._machines[self.get_state_machine(ref).arn]

    def _machine_by_name(self, name: str) -> StateMachineRecord | None:
        return next((m for m in self._machines.values() if m.name == name), None)

    # ---------------------------------------------------------------- executions

    def start_execution(
        self, state_machine: str, name: str, input: str, *, now: float, queued: bool = True
    ) -> Started:
        with self._lock:
            machine = self.get_state_machine(state_machine)
            arn = rules.execution_arn(machine.arn, name)
            existing = self._executions.get(arn)
            if existing is not None:
                return Started(rules.check_start(existing, input), False)
            record = rules.new_execution(machine, name, input, now, queued)
            self._executions[arn] = record
            self._events[arn] = []
            return Started(record, True)

    def get_execution(self, ref: str) -> ExecutionRecord:
        with self._lock:
            if ref.startswith("arn:"):
                return self._execution(ref)
            pairs = [(e.name, e.arn) for e in self._executions.values()]
            exact = [p for p in pairs if p[0] == ref]
            prefixed = [p for p in pairs if p[0].startswith(ref)]
            return self._executions[rules.pick_execution(ref, exact, prefixed, self._recent_names())]

    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        state_machine: str | None = None,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        with self._lock:
            machine_arn = self._machine_arn_filter(state_machine)
            found = [
                e
                for e in self._newest_first()
                if (status is None or e.status is status)
                and (machine_arn is None or e.state_machine_arn == machine_arn)
            ]
            return found if limit is None else found[:limit]

    def load_checkpoint(self, execution_arn: str) -> Any:
        with self._lock:
            self._execution(execution_arn)
            text = self._checkpoints.get(execution_arn)
            return None if text is None else json.loads(text)

    def commit_transition(
        self,
        execution_arn: str,
        events: Sequence[rules.EventLike],
        checkpoint: Any | Unset = UNSET,
        *,
        status: ExecutionStatus | None = None,
        output: str | Unset | None = UNSET,
        error: str | Unset | None = UNSET,
        cause: str | Unset | None = UNSET,
        stop_date: float | None = None,
        wake_at: float | Unset | None = UNSET,
        lease_owner: str | None = None,
    ) -> ExecutionRecord:
        with self._lock:
            current = self._execution(execution_arn)
            rules.require_running(current)
            rules.check_lease(current, lease_owner)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            checkpoint_text = None if isinstance(checkpoint, Unset) else rules.encode(checkpoint)
            changes = rules.transition_changes(
                current,
                rows,
                status=status,
                output=output,
                error=error,
                cause=cause,
                stop_date=stop_date,
                wake_at=wake_at,
            )
            record = replace(current, **changes)
            self._write_execution_row(record)
            self._events[execution_arn].extend(row.body for row in rows)
            if checkpoint_text is not None:
                self._checkpoints[execution_arn] = checkpoint_text
            return record

    def _write_execution_row(self, record: ExecutionRecord) -> None:
        """The first write of a transition, after everything is checked and encoded (a fault-injection point)."""
        self._executions[record.arn] = record

    def redrive_execution(
        self, execution_arn: str, events: Sequence[rules.EventLike], checkpoint: Any, *, now: float
    ) -> ExecutionRecord:
        with self._lock:
            current = self._execution(execution_arn)
            rules.check_redrivable(current)
            rows = rules.event_rows(execution_arn, current.last_event_id, events)
            record = replace(current, **rules.redrive_changes(current, rows, now))
            checkpoint_text = rules.encode(checkpoint)
            self._events[execution_arn].extend(row.body for row in rows)
            self._checkpoints[execution_arn] = checkpoint_text
            self._executions[execution_arn] = record
            return record

    def get_history(
        self,
        execution_arn: str,
        *,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[dict[str, Any]]:
        with self._lock:
            self._execution(execution_arn)
            bodies = self._events[execution_arn]
            end = len(bodies) if before_id is None else max(0, min(len(bodies), before_id - 1))
            selected = bodies[max(0, after_id) : end]
        if reverse:
            selected = selected[::-1]
        if limit is not None:
            selected = selected[:limit]
        return [json.loads(body) for body in selected]

    def count_events(self, execution_arn: str) -> int:
        with self._lock:
            return self._execution(execution_arn).last_event_id

    # ------------------------------------------------------------ leases, timers

    def claim(self, worker_id: str, *, lease_seconds: float, limit: int, now: float) -> list[ExecutionRecord]:
        with self._lock:
            due: list[tuple[float, int, ExecutionRecord]] = []
            for order, e in enumerate(self._executions.values()):
                when = _due(e, now)
                if when is not None:
                    due.append((when, order, e))
            due.sort(key=lambda item: item[:2])
            claimed = []
            for _, _, e in due[: max(0, limit)]:
                record = replace(
                    e, lease_owner=worker_id, lease_expires_at=now + lease_seconds, queued=False, wake_at=None
                )
                self._executions[e.arn] = record
                claimed.append(record)
            return claimed

    def acquire(
        self, worker_id: str, execution_arn: str, *, lease_seconds: float, now: float
    ) -> ExecutionRecord:
        with self._lock:
            e = self._executions.get(execution_arn)
            if e is None:
                raise ExecutionDoesNotExist(execution_arn, [])
            if e.status is not _RUNNING:
                raise ExecutionNotRunning(execution_arn, e.status.value)
            held_by_other = e.lease_owner not in (None, worker_id)
            if held_by_other and e.lease_expires_at is not None and e.lease_expires_at > now:
                raise ConflictError(f"worker '{e.lease_owner}' holds '{execution_arn}'")
            record = replace(
                e, lease_owner=worker_id, lease_expires_at=now + lease_seconds, queued=False, wake_at=None
            )
            self._executions[execution_arn] = record
            return record

    def renew(
        self, worker_id: str, execution_arns: Sequence[str], lease_seconds: float, now: float
    ) -> list[str]:
        with self._lock:
            held = []
            for arn in execution_arns:
                e = self._executions.get(arn)
                if e is not None and e.status is _RUNNING and e.lease_owner == worker_id:
                    self._executions[arn] = replace(e, lease_expires_at=now + lease_seconds)
                    held.append(arn)
            return held

    def release(self, worker_id: str, execution_arn: str, wake_at: float | None = None) -> None:
        with self._lock:
            e = self._execution(execution_arn)
            if e.status is not _RUNNING:
                return
            if e.lease_owner not in (None, worker_id):
                raise ConflictError(
                    f"worker '{worker_id}' does not hold '{execution_arn}' ({e.lease_owner} does)"
                )
            self._executions[execution_arn] = replace(
                e, lease_owner=None, lease_expires_at=None, wake_at=e.wake_at if wake_at is None else wake_at
            )

    def next_wake_at(self) -> float | None:
        with self._lock:
            times = [t for e in self._executions.values() if (t := _next_event(e)) is not None]
            return min(times) if times else None

    def has_pending_work(self, now: float | None = None) -> bool:
        with self._lock:
            return any(
                e.status is _RUNNING
                and (
                    e.queued
                    or e.lease_owner is not None
                    or (e.wake_at is not None and not self._token_timer(e))
                )
                for e in self._executions.values()
            )

    def _token_timer(self, e: ExecutionRecord) -> bool:
        """Is the parked execution's timer an open task token's deadline (see `rules.pending_work_query`)?"""
        assert e.wake_at is not None
        limit = e.wake_at + 1
        return any(
            t.execution_arn == e.arn
            and t.status is TaskTokenStatus.PENDING
            and any(d is not None and d <= limit for d in (t.timeout_at, t.heartbeat_deadline))
            for t in self._tokens.values()
        )

    # --------------------------------------------------------------- task tokens

    def put_task_token(
        self,
        token: str,
        execution_arn: str,
        state_entered_event_id: int,
        *,
        now: float,
        timeout_at: float | None = None,
        heartbeat_seconds: float | None = None,
    ) -> TaskTokenRecord:
        with self._lock:
            self._execution(execution_arn)
            existing = self._tokens.get(token)
            if existing is not None:
                return rules.check_token_repeat(existing, execution_arn, state_entered_event_id)
            record = rules.new_token(
                token, execution_arn, state_entered_event_id, now, timeout_at, heartbeat_seconds
            )
            self._tokens[token] = record
            return record

    def get_task_token(self, token: str) -> TaskTokenRecord:
        with self._lock:
            found = self._tokens.get(token)
            if found is None:
                raise InvalidToken(token)
            return found

    def list_task_tokens(self, execution_arn: str) -> list[TaskTokenRecord]:
        with self._lock:
            found = [t for t in self._tokens.values() if t.execution_arn == execution_arn]
            return sorted(found, key=lambda t: (t.created_at, t.token))  # as the SQL stores order them

    def complete_task_token(self, token: str, outcome: TaskOutcome, *, now: float) -> TaskTokenRecord:
        with self._lock:
            record = self._usable_token(token)
            if outcome.status is not TaskTokenStatus.TIMED_OUT and rules.is_past_deadline(record, now):
                self._finish_token(record, TaskOutcome.timed_out(), now)
                raise TaskTimedOut(token)
            return self._finish_token(record, outcome, now)

    def heartbeat_task_token(self, token: str, *, now: float) -> TaskTokenRecord:
        with self._lock:
            record = self._usable_token(token)
            if rules.is_past_deadline(record, now):
                self._finish_token(record, TaskOutcome.timed_out(), now)
                raise TaskTimedOut(token)
            if record.heartbeat_seconds is not None:
                record = replace(record, heartbeat_deadline=now + record.heartbeat_seconds)
                self._tokens[token] = record
            return record

    def _finish_token(self, record: TaskTokenRecord, outcome: TaskOutcome, now: float) -> TaskTokenRecord:
        """Record the outcome and queue the execution, so a worker resumes the waiting task."""
        done = replace(
            record,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            cause=outcome.cause,
            completed_at=now,
        )
        self._tokens[record.token] = done
        execution = self._executions[record.execution_arn]
        self._executions[execution.arn] = replace(execution, queued=True)
        return done

    def _usable_token(self, token: str) -> TaskTokenRecord:
        record = self._tokens.get(token)
        execution = self._executions.get(record.execution_arn) if record is not None else None
        return rules.check_token(token, record, execution.status if execution else None)

    # ------------------------------------------------------------------ helpers

    def _execution(self, arn: str) -> ExecutionRecord:
        found = self._executions.get(arn)
        if found is None:
            raise ExecutionDoesNotExist(arn, self._recent_names())
        return found

    def _newest_first(self) -> list[ExecutionRecord]:
        ordered = list(self._executions.values())
        ordered.reverse()  # insertion order breaks start-date ties the way SQLite's rowid does
        return sorted(ordered, key=lambda e: -e.start_date)

    def _recent_names(self) -> list[str]:
        return [e.name for e in self._newest_first()[: rules.RECENT_NAMES]]

    def _machine_arn_filter(self, state_machine: str | None) -> str | None:
        return None if state_machine is None else self.get_state_machine(state_machine).arn


def _due(e: ExecutionRecord, now: float) -> float | None:
    """When a claimable execution became due (for oldest-first order), None if it is not claimable."""
    if e.status is not _RUNNING:
        return None
    if e.lease_owner is None:
        if e.queued:
            return e.start_date if e.redrive_date is None else e.redrive_date
        if e.wake_at is not None and e.wake_at <= now:
            return e.wake_at
        return None
    assert e.lease_expires_at is not None
    return e.lease_expires_at if e.lease_expires_at <= now else None


def _next_event(e: ExecutionRecord) -> float | None:
    if e.status is not _RUNNING:
        return None
    return e.wake_at if e.lease_owner is None else e.lease_expires_at
