"""Task tokens: where `.waitForTaskToken` tasks wait for SendTaskSuccess / Failure / Heartbeat.

The interpreter issues a token when a callback task has been submitted and then asks
its `Callbacks` whether the token has an outcome yet. Durable executions keep tokens
in the store (any process may answer them: the CLI, the HTTP API, another worker);
in-memory executions keep them in a `MemoryCallbacks` that the Python API answers.
Both raise the store's error types, which carry AWS's error codes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, replace
from typing import Protocol

from engine.store import Store
from engine.store.errors import InvalidToken, TaskDoesNotExist, TaskTimedOut, TaskTokenError
from engine.store.records import TaskOutcome, TaskTokenStatus


class Callbacks(Protocol):
    def issue(
        self,
        token: str,
        execution_arn: str,
        entered_event_id: int,
        *,
        now: float,
        timeout_at: float | None,
        heartbeat_seconds: float | None,
    ) -> None:
        """A callback task was submitted with `token`; answers for it are accepted from now on."""
        ...

    def outcome(self, token: str) -> TaskOutcome | None:
        """The answer, once there is one."""
        ...

    def heartbeat_deadline(self, token: str) -> float | None:
        """When the next SendTaskHeartbeat is due, for tasks with HeartbeatSeconds."""
        ...

    def time_out(self, token: str, *, now: float) -> None:
        """The task timed out: later answers get TaskTimedOut."""
        ...


class StoreCallbacks:
    """Tokens in the durable store; also the Python API that answers them (any process).

        StoreCallbacks(open_store("sqlite:///statelane.db")).send_task_success(token, '{"ok": true}')

    The answer is recorded once and queues the execution; a worker on the store resumes it.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def issue(
        self,
        token: str,
        execution_arn: str,
        entered_event_id: int,
        *,
        now: float,
        timeout_at: float | None,
        heartbeat_seconds: float | None,
    ) -> None:
        self._store.put_task_token(
            token,
            execution_arn,
            entered_event_id,
            now=now,
            timeout_at=timeout_at,
            heartbeat_seconds=heartbeat_seconds,
        )

    def outcome(self, token: str) -> TaskOutcome | None:
        return self._store.get_task_token(token).outcome

    def heartbeat_deadline(self, token: str) -> float | None:
        return self._store.get_task_token(token).heartbeat_deadline

    def time_out(self, token: str, *, now: float) -> None:
        # Already answered or timed out: the interpreter's own attempt check decides.
        with contextlib.suppress(TaskTokenError):
            self._store.complete_task_token(token, TaskOutcome.timed_out(), now=now)

    # ------------------------------------------------------------------ the answering side

    def send_task_success(self, token: str, output: str, *, now: float | None = None) -> None:
        """SendTaskSuccess: `output` must be JSON text (InvalidOutput otherwise)."""
        check_output(token, output)
        self._store.complete_task_token(token, TaskOutcome.success(output), now=_now(now))

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None, *, now: float | None = None
    ) -> None:
        self._store.complete_task_token(token, TaskOutcome.failure(error, cause), now=_now(now))

    def send_task_heartbeat(self, token: str, *, now: float | None = None) -> None:
        self._store.heartbeat_task_token(token, now=_now(now))


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def check_output(token: str, output: str) -> None:
    """SendTaskSuccess's output must be JSON text."""
    try:
        json.loads(output)
    except ValueError as exc:
        raise InvalidOutput(token, f"Invalid Output: '{exc}'") from None


@dataclass(frozen=True)
class _Token:
    execution_arn: str
    timeout_at: float | None
    heartbeat_seconds: float | None
    heartbeat_deadline: float | None
    outcome: TaskOutcome | None = None


class MemoryCallbacks:
    """Tokens of in-memory executions, answered through the Python API (thread-safe)."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def issue(
        self,
        token: str,
        execution_arn: str,
        entered_event_id: int,
        *,
        now: float,
        timeout_at: float | None,
        heartbeat_seconds: float | None,
    ) -> None:
        deadline = now + heartbeat_seconds if heartbeat_seconds else None
        with self._lock:
            self._tokens.setdefault(token, _Token(execution_arn, timeout_at, heartbeat_seconds, deadline))

    def outcome(self, token: str) -> TaskOutcome | None:
        with self._lock:
            found = self._tokens.get(token)
            return None if found is None else found.outcome

    def heartbeat_deadline(self, token: str) -> float | None:
        with self._lock:
            found = self._tokens.get(token)
            return None if found is None else found.heartbeat_deadline

    def time_out(self, token: str, *, now: float) -> None:
        with self._lock:
            found = self._tokens.get(token)
            if found is not None and found.outcome is None:
                self._tokens[token] = replace(found, outcome=TaskOutcome.timed_out())

    # ------------------------------------------------------------------ the answering side

    def send_task_success(self, token: str, output: str) -> None:
        """SendTaskSuccess: `output` must be JSON text."""
        check_output(token, output)
        self._complete(token, TaskOutcome.success(output))

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        self._complete(token, TaskOutcome.failure(error, cause))

    def send_task_heartbeat(self, token: str, *, now: float) -> None:
        with self._lock:
            found = self._pending(token)
            if found.heartbeat_seconds:
                self._tokens[token] = replace(found, heartbeat_deadline=now + found.heartbeat_seconds)

    def _complete(self, token: str, outcome: TaskOutcome) -> None:
        with self._changed:
            found = self._pending(token)
            self._tokens[token] = replace(found, outcome=outcome)
            self._changed.notify_all()

    def _pending(self, token: str) -> _Token:
        found = self._tokens.get(token)
        if found is None:
            raise InvalidToken(token)
        if found.outcome is not None:
            if found.outcome.status is TaskTokenStatus.TIMED_OUT:
                raise TaskTimedOut(token)
            raise TaskDoesNotExist(token)
        return found


class InvalidOutput(TaskTokenError):
    """SendTaskSuccess with an output that is not JSON."""

    code = "InvalidOutput"
