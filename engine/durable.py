"""Standard executions on a durable store: started, run, parked, resumed, recovered.

Every step of the interpreter that records events commits them, with a checkpoint of
the whole execution, in one store transaction. A worker holds each execution through
a lease it renews; a worker that dies leaves leases that expire, and whichever worker
claims the execution next restores the checkpoint and carries on. A Wait or a retry
back-off farther away than `park_after` seconds parks the execution (its timer is a
row, not a thread) until it is due.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asl.validation.references import UNDEFINED_VARIABLE
from engine.api import InvalidDefinition, compile_machine, parse_input
from engine.callbacks import StoreCallbacks
from engine.checkpoint import restore, snapshot
from engine.clock import Clock, RealClock
from engine.execution import Execution, ExecutionStatus
from engine.fleet_tasks import StoreFleetTasks
from engine.handlers.base import HandlerRegistry
from engine.history import HistoryEvent
from engine.ids import IdSource, Partition
from engine.interpreter import Interpreter, Limits
from engine.map_runs import (
    TOKEN_PREFIX,
    ChildStart,
    child_execution_arn,
    child_machine_arn,
    child_token,
    parent_token,
)
from engine.store import Store
from engine.store.errors import (
    ConflictError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRunning,
    InvalidToken,
    StoreError,
    TaskTokenError,
)
from engine.store.records import (
    UNSET,
    ExecutionRecord,
    StateMachineRecord,
    StateMachineType,
    TaskOutcome,
    TaskTokenStatus,
)

EventListener = Callable[[HistoryEvent], None]
#: How long a worker loop waits before trying a failing store again.
STORE_RETRY_SECONDS = 2.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class DurableEngine:
    """Runs standard executions against `store` with one worker identity."""

    store: Store
    handlers: HandlerRegistry
    clock: Clock = field(default_factory=RealClock)
    ids: IdSource = field(default_factory=IdSource)
    partition: Partition = field(default_factory=Partition)
    lift_limits: bool = False
    worker_id: str = field(default_factory=default_worker_id)
    lease_seconds: float = 30.0
    #: Timers farther away than this park the execution instead of keeping a worker busy.
    park_after: float | None = 2.0
    #: Handlers for one execution instead of `handlers` (the server's mocked test cases).
    handlers_for: Callable[[ExecutionRecord], HandlerRegistry] | None = None
    #: Post the Task invocations of Parallel branches for any worker of the fleet to run
    #: (engine.fleet_tasks) instead of invoking them in this worker's process.
    spread_branches: bool = False
    _children: _FleetChildren | None = field(default=None, init=False, repr=False)
    _fleet_tasks: StoreFleetTasks | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------ starting

    def register(self, name: str, definition: str) -> StateMachineRecord:
        """Validate and store (or update) a standard state machine."""
        compile_machine(definition)  # raises InvalidDefinition before anything is stored
        return self.store.put_state_machine(
            name,
            definition,
            now=self.clock.now(),
            type=StateMachineType.STANDARD,
            role_arn=self.partition.role_arn(),
            arn=self.partition.state_machine_arn(name),
        )

    def start(
        self,
        machine: str,
        definition: str,
        input_text: str | None = None,
        *,
        name: str | None = None,
        queued: bool = True,
    ) -> ExecutionRecord:
        """StartExecution: register the machine, then record a RUNNING execution (idempotent by name)."""
        text, _ = parse_input(input_text, lift_limits=self.lift_limits)
        record = self.register(machine, definition)
        started = self.store.start_execution(
            record.arn, name or self.ids.uuid4(), text, now=self.clock.now(), queued=queued
        )
        return started.execution

    # ------------------------------------------------------------------ running

    def run_in_foreground(
        self, record: ExecutionRecord, *, listener: EventListener | None = None
    ) -> Execution:
        """Run one execution here until it ends (waits sleep in place), holding its lease."""
        held = self.store.acquire(
            self.worker_id, record.arn, lease_seconds=self.lease_seconds, now=self.clock.now()
        )
        with _LeaseKeeper(self, [held.arn]):
            return self._drive(held, listener=listener, park=False)

    def run_claimed(
        self, record: ExecutionRecord, *, listener: EventListener | None = None
    ) -> Execution | None:
        """Run an execution this worker claimed until it ends or parks; None if another took it over
        (or if it is a Distributed Map child its parent no longer waits for: it is stopped instead)."""
        token = parent_token(record.arn)
        if token is not None and self._abandoned(token):
            with contextlib.suppress(ConflictError):
                self.stop(record.arn)
            return None
        with _LeaseKeeper(self, [record.arn]):
            try:
                return self._drive(record, listener=listener, park=True)
            except ConflictError:
                return None  # the lease was lost or the execution was stopped meanwhile

    def _drive(self, record: ExecutionRecord, *, listener: EventListener | None, park: bool) -> Execution:
        machine_record = self.store.get_revision(record.state_machine_arn, record.revision_id)
        machine = compile_machine(machine_record.definition)
        execution = Execution(
            execution_arn=record.arn,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=record.state_machine_name,
            name=record.name,
            input_text=record.input,
            input=json.loads(record.input),
            start_date=record.start_date,
            role_arn=machine_record.role_arn,
            redrive_count=record.redrive_count,
        )
        interp = Interpreter(
            machine.plan,
            execution,
            handlers=self._handlers_of(record),
            clock=self.clock,
            ids=self.ids,
            partition=self.partition,
            limits=Limits(lifted=self.lift_limits),
            listener=listener,
        )
        interp._on_commit = self._committer(record.arn)
        interp.callbacks = StoreCallbacks(self.store)
        if park:
            interp.park_after = self.park_after
            # A fleet worker runs Distributed Map iterations as child executions any worker may claim.
            if self._children is None:
                self._children = _FleetChildren(self)
            interp.map_runs = self._children
            if self.spread_branches:
                interp.fleet_tasks = self.fleet_tasks
        checkpoint = self.store.load_checkpoint(record.arn) if record.last_event_id else None
        if checkpoint is None:
            return interp.run()
        restore(interp, checkpoint, self.store.get_history(record.arn))
        if checkpoint.get("redrive") and machine.plan.timeout_seconds:
            # The execution's time limit counts again from the redrive.
            interp._add_timer(self.clock.now() + machine.plan.timeout_seconds, ("exec_timeout", None, ()))
        return interp.resume()

    @property
    def fleet_tasks(self) -> StoreFleetTasks:
        """The fleet's queue of branch task invocations, which this worker helps run."""
        if self._fleet_tasks is None:
            self._fleet_tasks = StoreFleetTasks(
                self.store, clock=self.clock, handlers_for=self._handlers_of, lease_seconds=self.lease_seconds
            )
        return self._fleet_tasks

    def _handlers_of(self, record: ExecutionRecord) -> HandlerRegistry:
        return self.handlers if self.handlers_for is None else self.handlers_for(record)

    # ------------------------------------------------------------------ stopping and redriving

    def stop(self, ref: str, *, error: str | None = None, cause: str | None = None) -> ExecutionRecord:
        """StopExecution: ABORTED with an ExecutionAborted event; a worker running it loses it at its next commit."""
        details: dict[str, Any] = {}
        if cause is not None:
            details["cause"] = cause
        if error is not None:
            details["error"] = error
        for _ in range(20):  # a worker may commit between our read and our write: read again
            record = self.store.get_execution(ref)
            if record.status is not ExecutionStatus.RUNNING:
                raise ExecutionNotRunning(record.arn, record.status.value)
            token = parent_token(record.arn)
            if token is not None:  # a Distributed Map child: its parent counts it as a failed item
                self._answer_parent(token, ExecutionStatus.ABORTED, None, error, cause)
            now = self.clock.now()
            event = HistoryEvent(record.last_event_id + 1, 0, now, "ExecutionAborted", details)
            try:
                stopped = self.store.commit_transition(
                    record.arn,
                    [event],
                    status=ExecutionStatus.ABORTED,
                    error=error,
                    cause=cause,
                    stop_date=now,
                )
            except ExecutionNotRunning:
                raise
            except ConflictError:
                continue
            self._stop_children(stopped.arn)
            return stopped
        raise ConflictError(f"could not stop '{ref}': its worker keeps committing; try again")

    def _stop_children(self, arn: str) -> None:
        """Stop the Distributed Map children of a stopped execution, as AWS aborts its Map Runs.

        Its checkpoint lists every child it may have created and not seen end (children are
        created only after the checkpoint listing them is committed). A child created after
        this look stops itself when claimed: see `_abandoned`.
        """
        doc = self.store.load_checkpoint(arn)
        if not isinstance(doc, dict):
            return
        children = [fd["child"] for fd in doc.get("frames", ()) if fd.get("child")]
        for child in [*children, *doc.get("stops", ())]:
            with contextlib.suppress(ExecutionNotRunning, ExecutionDoesNotExist, ConflictError):
                self.stop(child)

    def _abandoned(self, token: str) -> bool:
        """Is this Distributed Map child's parent gone, or done waiting for it?"""
        try:
            waiting = self.store.get_task_token(token)
        except InvalidToken:
            return False  # not a child after all (a machine of its own with "/" in its name)
        if waiting.status is TaskTokenStatus.TIMED_OUT:
            return True
        if waiting.status is not TaskTokenStatus.PENDING:
            return False  # it answered its parent and was cut off before it closed: let it close
        try:
            parent = self.store.get_execution(waiting.execution_arn)
        except ExecutionDoesNotExist:
            return True
        return parent.status is not ExecutionStatus.RUNNING

    def _answer_parent(
        self, token: str, status: ExecutionStatus, output: str | None, error: str | None, cause: str | None
    ) -> None:
        """Hand a Distributed Map child's outcome to its parent (which the store queues), once."""
        if status is ExecutionStatus.SUCCEEDED:
            outcome = TaskOutcome.success(output or "null")
        else:
            outcome = TaskOutcome.failure(error, cause)
        # Already answered (a resumed child), abandoned, or its parent ended: nobody waits for it.
        with contextlib.suppress(TaskTokenError):
            self.store.complete_task_token(token, outcome, now=self.clock.now())

    def redrive(self, ref: str) -> ExecutionRecord:
        """RedriveExecution: resume a FAILED, TIMED_OUT or ABORTED execution from where it failed.

        The last checkpoint before the failure is where the execution stood when the failing
        step began: states and Map iterations that had finished are not run again.
        """
        record = self.store.get_execution(ref)
        checkpoint = self.store.load_checkpoint(record.arn) if record.last_event_id else None
        event_id = record.last_event_id + 1
        event = HistoryEvent(
            event_id,
            record.last_event_id,
            self.clock.now(),
            "ExecutionRedriven",
            {"redriveCount": record.redrive_count + 1},
        )
        doc = redrive_checkpoint(checkpoint, record, event_id)
        return self.store.redrive_execution(record.arn, [event], doc, now=self.clock.now())

    def _committer(self, arn: str) -> Callable[[Interpreter], None]:
        store, owner = self.store, self.worker_id
        token = parent_token(arn)

        def commit(interp: Interpreter) -> None:
            ex = interp.execution
            new_events = interp._events[interp._committed_events :]
            status = None if ex.status is ExecutionStatus.RUNNING else ex.status
            kwargs: dict[str, Any] = {}
            if status is not None:
                output = (
                    json.dumps(ex.output, ensure_ascii=False, separators=(",", ":"))
                    if ex.has_output
                    else None
                )
                kwargs.update(
                    status=status, output=output, error=ex.error, cause=ex.cause, stop_date=ex.stop_date
                )
                if token is not None:
                    # Answer the parent before closing: a crash in between replays the last step
                    # and answers again (refused, harmlessly); the other order could lose the answer.
                    self._answer_parent(token, status, output, ex.error, ex.cause)
            elif interp.parked_until is not None:
                kwargs["wake_at"] = interp.parked_until
            # A terminal transition keeps the last checkpoint: RedriveExecution resumes from it.
            store.commit_transition(
                arn,
                new_events,
                UNSET if status is not None else snapshot(interp),
                lease_owner=owner,
                **kwargs,
            )

        return commit

    # ------------------------------------------------------------------ working

    def work_once(self, *, limit: int = 1, listener: EventListener | None = None) -> int:
        """Claim up to `limit` runnable executions and run each until it ends or parks; with none to
        claim, run one of the branch tasks the fleet posted, if any (an execution's own worker runs
        them too while it waits, so they never depend on idle workers alone).

        Returns how many it ran (a task counts as one).
        """
        claimed = self.store.claim(
            self.worker_id, lease_seconds=self.lease_seconds, limit=limit, now=self.clock.now()
        )
        for record in claimed:
            execution = self.run_claimed(record, listener=listener)
            if execution is not None and execution.status is ExecutionStatus.RUNNING:
                self.store.release(self.worker_id, record.arn)
        if not claimed and self.spread_branches and self.fleet_tasks.run_one():
            return 1
        return len(claimed)


def spreads_branches(store: Store, choice: bool | None) -> bool:
    """Whether workers post Parallel branch tasks to the fleet: as asked, else on PostgreSQL, the
    store of fleets (on SQLite, one machine's workers gain nothing from a round trip through the store)."""
    return choice if choice is not None else store.url.startswith("postgresql")


def redrive_checkpoint(
    checkpoint: dict[str, Any] | None, record: ExecutionRecord, redriven_id: int
) -> dict[str, Any]:
    """The checkpoint a redriven execution resumes from: its last one, pointed at the ExecutionRedriven event."""
    if checkpoint is None:  # it failed in its very first step: start over
        root = {
            "id": 1,
            "scope": "",
            "vars": {},
            "last": redriven_id,
            "parent": None,
            "join": None,
            "index": 0,
            "quiet": False,
            "state": None,
            "input": None,
            "entered": [0, 0, 0.0],
            "retry": [],
            "retry_total": 0,
            "attempt": 0,
            "effective_input": None,
            "waiting": "",
            "task": [None, None, None],
            "child_join": None,
        }
        machine = json.loads(record.input)
        return {
            "v": 1,
            "events": redriven_id,
            "next_frame": 2,
            "frames": [root],
            "runnable": [["enter", 1, [None, machine]]],
            "timers": [],
            "redrive": True,
        }
    doc = dict(checkpoint)
    doc["frames"] = [dict(f, last=redriven_id) for f in checkpoint["frames"]]
    _respawn_children(doc["frames"], record.redrive_count + 1)
    invoked_again = _invoke_tasks_again(doc["frames"])
    doc["timers"] = [
        t
        for t in checkpoint["timers"]
        if t[1][0] != "exec_timeout" and not (t[1][0] in _TASK_TIMERS and t[1][1] in invoked_again)
    ]
    doc["events"] = redriven_id
    doc["redrive"] = True
    return doc


#: Timers that belong to one invocation of a task (they name its frame and attempt).
_TASK_TIMERS = frozenset({"task_timeout", "heartbeat_check"})


def _invoke_tasks_again(frames: list[dict[str, Any]]) -> set[int]:
    """A redriven execution invokes the tasks that were in flight when it failed again, afresh: their
    time limits count from the redrive, and a branch task posted to the fleet gets a new job and
    token (its old job was dropped unrun, or its answer belongs to the failed run). The frames'
    ids, whose old timers are dropped."""
    again = set()
    for fd in frames:
        if fd["waiting"] == "fleet":
            fd.update(waiting="task", task=[None, *fd["task"][1:]])
        if fd["waiting"] == "task":
            again.add(fd["id"])
    return again


def _respawn_children(frames: list[dict[str, Any]], redrive_count: int) -> None:
    """A redriven execution runs its unfinished Distributed Map children again, as new children
    (the old ones failed or were stopped with it)."""
    by_id = {fd["id"]: fd for fd in frames}
    for fd in frames:
        if not fd.get("child") or fd["waiting"] not in ("spawn", "execution"):
            continue
        owner = by_id[fd["join"]]
        arn = child_execution_arn(owner["child_join"]["map_run_arn"], fd["index"], redrive_count)
        fd.update(child=arn, waiting="spawn", task=[child_token(arn), None, None])


class _FleetChildren:
    """Distributed Map children as executions in the engine's store (see engine.map_runs)."""

    def __init__(self, engine: DurableEngine) -> None:
        self._engine = engine
        self._registered: set[tuple[str, str]] = set()

    def accepts(self, definition: str) -> bool:
        try:
            machine = compile_machine(definition)
        except InvalidDefinition:
            return False
        return not any(d.code == UNDEFINED_VARIABLE for d in machine.warnings)

    def start(self, child: ChildStart) -> None:
        engine = self._engine
        store, now = engine.store, engine.clock.now()
        machine_arn = child_machine_arn(child.map_run_arn)
        if (machine_arn, child.definition) not in self._registered:
            store.put_state_machine(
                machine_arn.rsplit(":", 1)[-1],
                child.definition,
                now=now,
                type=StateMachineType.STANDARD,
                role_arn=child.role_arn or None,
                arn=machine_arn,
            )
            self._registered.add((machine_arn, child.definition))
        store.put_task_token(child_token(child.child_arn), child.parent_arn, child.entered_event_id, now=now)
        # Already there and ended: it ran before the parent's worker died; its answer waits in the token.
        with contextlib.suppress(ExecutionAlreadyExists):
            store.start_execution(machine_arn, child.child_arn.rsplit(":", 1)[-1], child.input_text, now=now)

    def stop(self, child_arn: str) -> None:
        with contextlib.suppress(ExecutionNotRunning, ExecutionDoesNotExist):
            self._engine.stop(child_arn)

    def outputs(self, parent_arn: str) -> dict[str, str]:
        # The answers the children gave their tokens: one query, whatever the number of children.
        return {
            t.token[len(TOKEN_PREFIX) :]: t.output
            for t in self._engine.store.list_task_tokens(parent_arn)
            if t.token.startswith(TOKEN_PREFIX)
            and t.status is TaskTokenStatus.SUCCEEDED
            and t.output is not None
        }


def run_workers(
    make_engine: Callable[[int], DurableEngine],
    *,
    concurrency: int = 4,
    until_idle: bool = False,
    stop: threading.Event | None = None,
    poll_seconds: float = 0.2,
) -> None:
    """Run `concurrency` worker loops until `stop` is set (or, with `until_idle`, until nothing is left).

    Each loop claims one execution at a time; an idle loop sleeps until the store's next
    timer or lease expiry, at most `poll_seconds`.
    """
    stop = stop or threading.Event()
    busy = [0]
    lock = threading.Lock()

    def loop(index: int) -> None:
        engine = make_engine(index)
        # A store that can block until work arrives (PostgreSQL: LISTEN/NOTIFY) wakes idle loops at once.
        wait = getattr(engine.store, "wait_for_work", None) or stop.wait
        while not stop.is_set():
            with lock:
                busy[0] += 1
            try:
                got = engine.work_once(limit=1)
            except StoreError as exc:
                # The store is unreachable or busy for now: say so, back off, and keep the loop alive;
                # whatever this loop held comes back through its lease.
                sys.stderr.write(f"statelane worker: {exc}; retrying in {STORE_RETRY_SECONDS:.0f}s\n")
                stop.wait(STORE_RETRY_SECONDS)
                continue
            finally:
                with lock:
                    busy[0] -= 1
            if got:
                continue
            if until_idle:
                with lock:
                    idle = busy[0] == 0
                if (
                    idle
                    and not engine.store.has_pending_work(engine.clock.now())
                    and not (engine.spread_branches and engine.fleet_tasks.pending())
                ):
                    stop.set()
                    return
            wake = engine.store.next_wake_at()
            delay = poll_seconds if wake is None else min(poll_seconds, max(0.0, wake - engine.clock.now()))
            wait(delay)

    threads = [
        threading.Thread(target=loop, args=(i,), name=f"statelane-worker-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join(5)
        raise


class _LeaseKeeper:
    """Renews the leases of executions this worker is running, a third of the lease period apart."""

    def __init__(self, engine: DurableEngine, arns: list[str]) -> None:
        self._engine, self._arns = engine, arns
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="statelane-lease", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1)

    def _run(self) -> None:
        engine = self._engine
        period = max(0.05, engine.lease_seconds / 3)
        while not self._stop.wait(period):
            # A renewal that fails shows up as a lost lease at the next commit.
            with contextlib.suppress(Exception):
                engine.store.renew(engine.worker_id, self._arns, engine.lease_seconds, engine.clock.now())
