"""Task invocations of Parallel branches, run by any worker of a fleet.

A Parallel state's branches are frames of their execution, and the execution's worker
stays the only writer of its history: AWS's history of a Parallel is one ordered log,
and one writer keeps ours ordered and duplicate-free without locking it per event. What
a branch spends its time on is its Task invocations, and those are what spread: under a
fleet worker (`fleet_tasks` set on the interpreter) a Task inside a Parallel branch does
not call its handler in the worker's own process. It issues a task token (named
`fleet-task:` + a UUID), posts the invocation as a job on the store's internal queue, and
waits on the token the way a `.waitForTaskToken` task waits for SendTaskSuccess. Any
worker takes the job (the queue's visibility timeout is its lease, renewed while the
handler runs), invokes the handler with its own registry, and answers the token, which
queues the execution for its worker.

Crash safety rests on the store's guarantees. A job whose worker dies becomes visible
again when its visibility lapses and another worker invokes it again (an invocation is
at least once, as it already is for a task cut off by a crash); the token takes the
first answer only. A worker that resumes the execution from a checkpoint finds the frame
still waiting on its token; the job was posted before that checkpoint was committed.

The execution's own worker does not sit idle meanwhile: while it waits for its branches'
tokens it takes jobs from the queue too (its own or others'), so a single worker runs a
Parallel without parking it, and idle workers elsewhere take the jobs it has not reached.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Final, Protocol

from asl.json_text import dumps
from engine.clock import Clock
from engine.execution import ExecutionStatus
from engine.handlers.base import HandlerRegistry, TaskRequest, handler_failure
from engine.queues.messages import md5_hex
from engine.store import Store
from engine.store.errors import ExecutionDoesNotExist, InvalidToken, TaskTokenError
from engine.store.queues import QueueAlreadyExists, QueueDoesNotExist, QueueMessage
from engine.store.records import ExecutionRecord, TaskOutcome, TaskTokenStatus

#: The store's queue of posted invocations. A `.` is not allowed in the names SQS users give
#: standard queues, so no user queue can collide with it; listings leave it out.
QUEUE: Final = "statelane.fleet-tasks"
#: Task tokens a frame waits on for an invocation posted to the fleet.
TOKEN_PREFIX: Final = "fleet-task:"


class FleetTasks(Protocol):
    """Where an interpreter posts its branch task invocations and helps run the fleet's."""

    def post(self, token: str, request: TaskRequest) -> None:
        """Queue the invocation for any worker (its token is already issued)."""
        ...

    def run_one(self) -> bool:
        """Take one posted invocation, run it and answer its token; False if none was waiting."""
        ...


def new_token(uuid4: Callable[[], str]) -> str:
    return TOKEN_PREFIX + uuid4()


def encode_job(token: str, request: TaskRequest) -> str:
    """The job's message body: the token and the request, as JSON text."""
    return dumps(
        {
            "token": token,
            "resource": request.resource,
            "parameters": request.parameters,
            "state_name": request.state_name,
            "execution_arn": request.execution_arn,
            "idempotency_key": request.idempotency_key,
            "region": request.region,
            "timeout_seconds": request.timeout_seconds,
            "context": dict(request.context),
        }
    )


def decode_job(body: str) -> tuple[str, TaskRequest]:
    """`encode_job`'s inverse (ValueError for a body it did not write)."""
    try:
        doc = json.loads(body)
        return doc["token"], TaskRequest(
            resource=doc["resource"],
            parameters=doc["parameters"],
            state_name=doc["state_name"],
            execution_arn=doc["execution_arn"],
            idempotency_key=doc["idempotency_key"],
            region=doc["region"],
            timeout_seconds=doc["timeout_seconds"],
            context=doc["context"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a fleet task job: {exc}") from None


def invoke(handlers: HandlerRegistry, request: TaskRequest) -> TaskOutcome:
    """Run the handler as the interpreter would, as the token's answer."""
    try:
        return TaskOutcome.success(dumps(handlers.resolve(request.resource).invoke(request)))
    except Exception as exc:  # as in-process: its StatesError, or States.TaskFailed for a bug
        err = handler_failure(exc)
        return TaskOutcome.failure(err.error, err.cause)


class StoreFleetTasks:
    """Jobs on the store's internal queue (see the module documentation)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        handlers_for: Callable[[ExecutionRecord], HandlerRegistry],
        lease_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._handlers_for = handlers_for
        self._lease = lease_seconds
        self._created = False
        self._renewer = _Renewer(store, lease_seconds, clock)

    def _ensure_queue(self) -> None:
        if not self._created:
            with contextlib.suppress(QueueAlreadyExists):
                self._store.create_queue(QUEUE, {}, now=self._clock.now())
            self._created = True

    def post(self, token: str, request: TaskRequest) -> None:
        self._ensure_queue()
        body = encode_job(token, request)
        now = self._clock.now()
        message = QueueMessage(
            queue=QUEUE,
            message_id=str(uuid.uuid4()),
            body=body,
            md5_body=md5_hex(body),
            sent_at=now,
            visible_at=now,
        )
        self._store.send_queue_messages([message], now=now)

    def pending(self) -> bool:
        """Is any job waiting or being run (a lapsed one comes back)?"""
        try:
            counts = self._store.queue_counts(QUEUE, now=self._clock.now())
        except QueueDoesNotExist:
            return False
        return bool(counts.visible or counts.in_flight or counts.delayed)

    def run_one(self) -> bool:
        try:
            got = self._store.receive_queue_messages(
                QUEUE, max_messages=1, visibility_timeout=self._lease, now=self._clock.now()
            )
        except QueueDoesNotExist:
            return False
        if not got:
            return False
        message = got[0]
        assert message.receipt is not None
        try:
            token, request = decode_job(message.body)
        except ValueError:
            self._store.delete_queue_message(QUEUE, message.receipt)  # nothing can run it
            return True
        record = self._still_wanted(token)
        if record is not None:
            with self._renewer.holding(message.receipt):
                outcome = invoke(self._handlers_for(record), request)
            # Already answered (a job run twice), timed out, or its execution ended: nobody waits.
            with contextlib.suppress(TaskTokenError):
                self._store.complete_task_token(token, outcome, now=self._clock.now())
        self._store.delete_queue_message(QUEUE, message.receipt)
        return True

    def _still_wanted(self, token: str) -> ExecutionRecord | None:
        """The execution waiting for this job, if its token is still open and it still runs."""
        try:
            waiting = self._store.get_task_token(token)
            if waiting.status is not TaskTokenStatus.PENDING:
                return None
            record = self._store.get_execution(waiting.execution_arn)
        except (InvalidToken, ExecutionDoesNotExist):
            return None
        return record if record.status is ExecutionStatus.RUNNING else None


class _Renewer:
    """Keeps the jobs this process runs invisible to other workers while their handlers run:
    the visibility timeout is a job's lease, renewed a third of its period apart by one thread."""

    def __init__(self, store: Store, lease_seconds: float, clock: Clock) -> None:
        self._store, self._lease, self._clock = store, lease_seconds, clock
        self._receipts: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(self, receipt: str) -> Iterator[None]:
        with self._lock:
            self._receipts.add(receipt)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="statelane-job-lease", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._receipts.discard(receipt)

    def _run(self) -> None:
        while True:
            time.sleep(max(0.05, self._lease / 3))
            with self._lock:
                if not self._receipts:  # nothing running: the next job starts a new thread
                    self._thread = None
                    return
                receipts = list(self._receipts)
            now = self._clock.now()
            for receipt in receipts:
                # A renewal that fails lets the job lapse: another worker runs it again, at least once.
                with contextlib.suppress(Exception):
                    self._store.change_queue_message_visibility(
                        QUEUE, receipt, visible_at=now + self._lease, now=now
                    )
