"""The store protocol: everything durable about standard executions, behind one interface.

Implementations: `MemoryStore` (unit tests, express bookkeeping) and `SqliteStore`
(the embedded default); PostgreSQL later. The protocol is shaped for several
workers sharing one store: a worker `claim`s runnable executions, which leases
them to it atomically (SQLite: one `BEGIN IMMEDIATE` transaction; PostgreSQL:
`SELECT ... FOR UPDATE SKIP LOCKED`), renews the lease while it works, writes each
transition with `commit_transition` (which checks the lease) and `release`s the
execution when it parks on a timer or a task token. A worker that dies stops
renewing; once its lease expires any worker may claim the execution again and
resume it from its last checkpoint.

Times are always passed in (`now`, epoch seconds): the store never reads a clock,
so tests drive leases and timers deterministically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from engine.store.errors import (
    AmbiguousExecution,
    ConflictError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    ExecutionNotRunning,
    InvalidToken,
    SchemaTooNew,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    TaskDoesNotExist,
    TaskTimedOut,
    TaskTokenError,
)
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
from engine.store.rules import EventLike

__all__ = [
    "UNSET",
    "AmbiguousExecution",
    "ConflictError",
    "EventLike",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionNotRedrivable",
    "ExecutionNotRunning",
    "ExecutionRecord",
    "ExecutionStatus",
    "InvalidToken",
    "Published",
    "QueueAlreadyExists",
    "QueueCounts",
    "QueueDoesNotExist",
    "QueueMessage",
    "QueueRecord",
    "SchemaTooNew",
    "Started",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineRecord",
    "StateMachineType",
    "Store",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreNotFound",
    "StoreReadOnly",
    "SubscriptionConflict",
    "SubscriptionRecord",
    "TaskDoesNotExist",
    "TaskOutcome",
    "TaskTimedOut",
    "TaskTokenError",
    "TaskTokenRecord",
    "TaskTokenStatus",
    "TopicAlreadyExists",
    "TopicDoesNotExist",
    "TopicRecord",
    "Unset",
]


@runtime_checkable
class Store(Protocol):
    """Durable state of standard executions. Every method is atomic; records are snapshots."""

    #: Where the store lives, as a URL `open_store` accepts (`sqlite:////abs/path.db`, `memory://`).
    url: str

    def close(self) -> None: ...

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
        """Create the state machine, or update it: a changed definition or role gets a new revision.

        An unchanged repeat returns the current record (CreateStateMachine is idempotent).
        The type is fixed at creation: another type raises StateMachineAlreadyExists.
        `arn` defaults to the default partition's ARN for `name`.
        """
        ...

    def get_state_machine(self, ref: str) -> StateMachineRecord:
        """By name or ARN, at its current revision; StateMachineDoesNotExist names the known ones."""
        ...

    def get_revision(self, state_machine_arn: str, revision_id: str) -> StateMachineRecord:
        """The state machine as it was at `revision_id` (what an execution started on runs)."""
        ...

    def list_state_machines(self) -> list[StateMachineRecord]: ...

    def delete_state_machine(self, ref: str) -> None:
        """Forget the state machine; its executions and their revisions stay readable."""
        ...

    # ---------------------------------------------------------------- executions

    def start_execution(
        self, state_machine: str, name: str, input: str, *, now: float, queued: bool = True
    ) -> Started:
        """StartExecution: a RUNNING execution at the machine's current revision.

        `queued` (default) leaves it for a worker to claim; `queued=False` is for a caller
        that runs it itself (`statelane run`). A name in use: the same input while the
        execution is RUNNING returns it (`created=False`); otherwise ExecutionAlreadyExists.
        """
        ...

    def get_execution(self, ref: str) -> ExecutionRecord:
        """By ARN, by name, or by an unambiguous prefix of the name.

        Raises ExecutionDoesNotExist (its message lists a few recent names) or
        AmbiguousExecution (listing the candidates).
        """
        ...

    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        state_machine: str | None = None,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        """Newest first; `state_machine` is a name or ARN (unknown -> StateMachineDoesNotExist)."""
        ...

    def load_checkpoint(self, execution_arn: str) -> Any:
        """The checkpoint last committed for the execution (a JSON value), or None before any."""
        ...

    def commit_transition(
        self,
        execution_arn: str,
        events: Sequence[EventLike],
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
        """One transition in one transaction: append `events`, replace the checkpoint, update the row.

        `events` are GetExecutionHistory-shaped dicts (or HistoryEvents, rendered with
        `to_aws()`), epoch timestamps; their ids must continue the stored history with no
        gap, else ConflictError and nothing is written. `checkpoint` is any JSON value;
        the store never looks inside. A `lease_owner` must still hold the lease
        (ConflictError otherwise); None skips that check (a foreground run, StopExecution).
        The execution must be RUNNING (ExecutionNotRunning otherwise). A terminal `status`
        sets the stop date (`stop_date`, else the last event's timestamp) and drops the
        lease, the timer and the queued flag. UNSET leaves a column as it is.
        """
        ...

    def redrive_execution(
        self, execution_arn: str, events: Sequence[EventLike], checkpoint: Any, *, now: float
    ) -> ExecutionRecord:
        """RedriveExecution: a FAILED/TIMED_OUT/ABORTED execution becomes RUNNING and queued again.

        Appends `events` (ExecutionRedriven), replaces the checkpoint, counts the redrive and
        clears the stop date, output, error and cause. Otherwise ExecutionNotRedrivable.
        """
        ...

    def get_history(
        self,
        execution_arn: str,
        *,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[dict[str, Any]]:
        """GetExecutionHistory's events with after_id < id < before_id, oldest first unless `reverse`."""
        ...

    def count_events(self, execution_arn: str) -> int: ...

    # ------------------------------------------------------------ leases, timers

    def claim(self, worker_id: str, *, lease_seconds: float, limit: int, now: float) -> list[ExecutionRecord]:
        """Lease up to `limit` runnable executions to `worker_id`, oldest due first.

        Runnable: RUNNING and unleased and either queued or with `wake_at <= now`, or
        leased with an expired lease (its worker died). The lease, the cleared queued flag
        and the cleared timer are written atomically: two workers never get the same one.
        """
        ...

    def acquire(
        self, worker_id: str, execution_arn: str, *, lease_seconds: float, now: float
    ) -> ExecutionRecord:
        """Lease one named execution (the foreground `statelane run` of an execution it just started).

        Succeeds when the execution is RUNNING and unleased, already held by `worker_id`,
        or held by a lease that expired; raises ConflictError when a live worker holds it
        and ExecutionNotRunning when it has ended.
        """
        ...

    def renew(
        self, worker_id: str, execution_arns: Sequence[str], lease_seconds: float, now: float
    ) -> list[str]:
        """Extend the worker's leases; returns the ARNs it still holds (the rest were lost or closed)."""
        ...

    def release(self, worker_id: str, execution_arn: str, wake_at: float | None = None) -> None:
        """Drop the lease: the execution parks until `wake_at` (if given; else the committed timer stays)
        or until something queues it (a task token completing). A closed execution is fine;
        a lease held by another worker raises ConflictError."""
        ...

    def next_wake_at(self) -> float | None:
        """The earliest timer of a parked execution or expiry of a held lease, for idle workers."""
        ...

    def has_pending_work(self, now: float | None = None) -> bool:
        """Is any execution running, queued, leased or parked on a timer? Executions waiting only
        for a task token do not count (`worker --until-idle` may stop while they wait)."""
        ...

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
        """Record an issued `.waitForTaskToken` token (a repeat for the same task returns the record)."""
        ...

    def get_task_token(self, token: str) -> TaskTokenRecord:
        """The token's record (InvalidToken if it was never issued)."""
        ...

    def list_task_tokens(self, execution_arn: str) -> list[TaskTokenRecord]: ...

    def complete_task_token(self, token: str, outcome: TaskOutcome, *, now: float) -> TaskTokenRecord:
        """SendTaskSuccess/SendTaskFailure (or the interpreter's timeout), exactly once.

        Records the outcome and queues the execution for a worker. Unknown token ->
        InvalidToken; finished task or closed execution -> TaskDoesNotExist; timed out ->
        TaskTimedOut. A success/failure arriving after the task's deadline records the
        timeout instead and raises TaskTimedOut.
        """
        ...

    def heartbeat_task_token(self, token: str, *, now: float) -> TaskTokenRecord:
        """SendTaskHeartbeat: push the heartbeat deadline out by HeartbeatSeconds; errors as above."""
        ...

    # ---------------------------------------------------------- local SQS queues

    def create_queue(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        """CreateQueue: idempotent for the same attributes, QueueAlreadyExists for others."""
        ...

    def get_queue(self, name: str) -> QueueRecord:
        """QueueDoesNotExist (naming the known queues) when there is none."""
        ...

    def list_queues(self, prefix: str = "") -> list[QueueRecord]:
        """By name."""
        ...

    def set_queue_attributes(self, name: str, attributes: Mapping[str, str], *, now: float) -> QueueRecord:
        """Merge `attributes` into the queue's (an empty string value removes one)."""
        ...

    def delete_queue(self, name: str) -> None:
        """Forget the queue and its messages."""
        ...

    def send_queue_messages(self, messages: Sequence[QueueMessage], *, now: float) -> list[QueueMessage]:
        """Append messages (to one queue or several) in one transaction, in order.

        A FIFO queue gives each a sequence number; one whose deduplication id was seen in the
        last five minutes is not stored and the earlier message (its id, its sequence number)
        is returned in its place. Any missing queue raises QueueDoesNotExist and stores nothing.
        """
        ...

    def receive_queue_messages(
        self, name: str, *, max_messages: int, visibility_timeout: float, now: float
    ) -> list[QueueMessage]:
        """ReceiveMessage without waiting: up to `max_messages` visible messages, now in flight.

        Drops expired messages and redrives to the dead-letter queue in the same transaction
        (see `engine.store.queues.plan_receive`); each returned message has a new receipt.
        """
        ...

    def delete_queue_message(self, name: str, receipt: str) -> bool:
        """Delete by the receipt of the latest receive; False when that receipt is stale or unknown."""
        ...

    def change_queue_message_visibility(
        self, name: str, receipt: str, *, visible_at: float, now: float
    ) -> bool:
        """Make an in-flight message visible at `visible_at`; False unless it is in flight with that receipt."""
        ...

    def purge_queue(self, name: str) -> int:
        """Delete every message of the queue; how many there were."""
        ...

    def queue_counts(self, name: str, *, now: float) -> QueueCounts: ...

    # ---------------------------------------------------------- local SNS topics

    def create_topic(self, name: str, arn: str, attributes: Mapping[str, str], *, now: float) -> TopicRecord:
        """CreateTopic: idempotent for the same attributes, TopicAlreadyExists for others."""
        ...

    def get_topic(self, ref: str) -> TopicRecord:
        """By name or ARN (only the name part of an ARN counts); TopicDoesNotExist otherwise."""
        ...

    def list_topics(self) -> list[TopicRecord]: ...

    def delete_topic(self, ref: str) -> None:
        """Forget the topic and its subscriptions."""
        ...

    def subscribe(
        self, topic: str, protocol: str, endpoint: str, attributes: Mapping[str, str], *, arn: str, now: float
    ) -> SubscriptionRecord:
        """Subscribe; the same protocol and endpoint again returns the existing subscription
        (SubscriptionConflict if its attributes differ)."""
        ...

    def list_subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        """A topic's subscriptions (all of them with None), oldest first."""
        ...

    def unsubscribe(self, arn: str) -> bool: ...

    def publish_to_fifo_topic(self, topic: str, dedup_id: str, message_id: str, *, now: float) -> Published:
        """Sequence a FIFO topic's publish, or recognise a duplicate of the last five minutes."""
        ...
