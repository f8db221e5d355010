"""The interpreter: runs one execution of a compiled plan.

Where every part of an execution stands is explicit data, never a Python call
stack: a `Frame` per active scope (the top level, each Parallel branch, each Map
iteration) holds its current state, that state's input and retry counters, and
what it waits for (a task, a timer, child frames). The loop below only moves
frames forward, so an execution can be checkpointed between any two steps.

Pure states run straight through; a Task, a Wait, a retry back-off, a Parallel
or a Map suspends its frame until a task completion, a timer or its children
wake it. Task handlers run inline when nothing else could run meanwhile, and in
a thread pool otherwise, so concurrent branches really overlap.

A Distributed Map's iterations are quiet frames of the execution, except under a
fleet worker (`map_runs` set): there each one is a child execution of its own and
its frame only stands for it, waiting on the task token the child answers (see
engine.map_runs).
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import queue
from collections import ChainMap, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asl import errors
from asl.errors import StatesError
from asl.json_text import dumps, size_in_bytes
from asl.jsonata import ENV_KEY, JsonataTemplate, expect_type
from asl.paths import Path, PathNotFound, ReferencePath, path_failure_cause
from asl.templates import Template
from asl.timestamps import parse_timestamp
from engine.callbacks import Callbacks
from engine.clock import Clock
from engine.execution import Execution, ExecutionStatus
from engine.fleet_tasks import FleetTasks, new_token
from engine.handlers.base import HandlerRegistry, TaskRequest, classify, handler_failure
from engine.history import HistoryEvent, JsonText, iso_format
from engine.ids import IdSource, Partition
from engine.map_runs import (
    ChildExecutions,
    ChildStart,
    child_execution_arn,
    child_token,
    processor_definition,
)
from engine.plan import DISCARD, Catcher, Plan, Scope, State
from engine.store.records import TaskOutcome, TaskTokenStatus

PAYLOAD_LIMIT = 256 * 1024
HISTORY_LIMIT = 25_000
#: "Unbounded" inline Map concurrency still runs on a bounded set of frames at a time.
MAX_INLINE_CONCURRENCY = 40
MAX_WAIT_SECONDS = 2**31 - 1
EXPRESS_MAX_SECONDS = 300
#: How often an execution waiting only for task-token answers looks for them.
CALLBACK_POLL_SECONDS = 0.1

EventListener = Callable[[HistoryEvent], None]


@dataclass(frozen=True)
class Limits:
    """AWS's quotas; `lifted` turns them off for workloads that knowingly exceed them."""

    payload_bytes: int = PAYLOAD_LIMIT
    history_events: int = HISTORY_LIMIT
    lifted: bool = False


@dataclass(eq=False)
class Join:
    """A Parallel or Map state waiting for its child frames."""

    frame: Frame
    kind: str  # "parallel" | "map"
    results: list[Any]
    pending: int
    items: list[Any] = field(default_factory=list)
    next_index: int = 0
    concurrency: int = 0
    active: set[Frame] = field(default_factory=set)
    failures: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    failed: StatesError | None = None
    distributed: bool = False
    effective_input: Any = None
    batches: bool = False
    #: Map iterations that finished: index -> the id of their last event, which records their output
    #: (so a checkpoint refers to outputs in the history instead of copying them).
    result_events: dict[int, int] = field(default_factory=dict)
    #: A Distributed Map's run, and whether its iterations are child executions (durable workers)
    #: rather than quiet frames of this execution.
    map_run_arn: str = ""
    external: bool = False
    #: Child executions that succeeded (by index); those whose outputs a restored checkpoint did not
    #: carry are read back from the store when the Map Run ends.
    succeeded: set[int] = field(default_factory=set)
    unloaded: set[int] = field(default_factory=set)


@dataclass(eq=False)
class Frame:
    """One running scope and where it stands."""

    scope: Scope
    vars: dict[str, Any]
    var_view: ChainMap[str, Any]
    last_event: int
    parent: Frame | None = None
    join: Join | None = None
    index: int = 0
    quiet: bool = False  # distributed Map children: their events belong to child executions
    state: State | None = None
    input: Any = None
    entered_id: int = 0
    entered_prev: int = 0
    entered_time: float = 0.0
    retry_counts: list[int] = field(default_factory=list)
    retry_total: int = 0
    attempt: int = 0
    effective_input: Any = None
    waiting: str = ""  # "", "task", "timer", "children"
    child_join: Join | None = None
    alive: bool = True
    id: int = 0
    task_token: str | None = None
    task_timeout: float | None = None
    task_heartbeat: float | None = None
    #: A Distributed Map iteration run as a child execution: its ARN. The frame stands for the
    #: child (waiting "spawn" until the child is created, then "execution"); `input` is its input.
    child_arn: str | None = None


#: A unit of work for the run queue or a timer: (kind, frame, arguments). Plain data, so the
#: queue and the timers can be written into a checkpoint.
Step = tuple[str, "Frame | None", tuple[Any, ...]]


class _Parked(Exception):
    """Only far timers are left: the execution waits in the store, not in a thread."""


class _Finished(Exception):
    """The execution reached a terminal status; unwinds the current step."""


class Interpreter:
    def __init__(
        self,
        plan: Plan,
        execution: Execution,
        *,
        handlers: HandlerRegistry,
        clock: Clock,
        ids: IdSource | None = None,
        partition: Partition | None = None,
        limits: Limits | None = None,
        listener: EventListener | None = None,
        max_workers: int = 32,
    ) -> None:
        self.plan = plan
        self.execution = execution
        self.handlers = handlers
        self.clock = clock
        self.ids = ids or IdSource()
        self.partition = partition or Partition()
        self.limits = limits or Limits()
        self.listener = listener
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._runnable: deque[Step] = deque()
        self._timers: list[tuple[float, int, Step]] = []
        self._frames: dict[int, Frame] = {}
        self._frame_ids = itertools.count(1)
        self._committed_events = 0
        self._on_commit: Callable[[Interpreter], None] | None = None
        #: Timers farther away than this stop the loop and leave the execution parked (durable workers).
        self.park_after: float | None = None
        #: When the execution parked, the time its earliest timer is due.
        self.parked_until: float | None = None
        self._steps: dict[str, Callable[..., None]] = {
            "enter": self._step_enter,
            "retry": self._retry,
            "wait_done": self._wait_done,
            "task_timeout": self._task_timed_out,
            "task_done": self._task_completed,
            "reinvoke": self._reinvoke,
            "exec_timeout": self._execution_timed_out,
            "callback_done": self._callback_done,
            "heartbeat_check": self._heartbeat_check,
        }
        #: Where `.waitForTaskToken` tasks get their answers (the store, or the Python API).
        self.callbacks: Callbacks | None = None
        #: Tokens of callback tasks waiting for an answer: token -> (frame, attempt).
        self._awaiting: dict[str, tuple[Frame, int]] = {}
        #: Where Distributed Map iterations run as child executions (durable workers); None keeps
        #: them as quiet frames of this execution.
        self.map_runs: ChildExecutions | None = None
        #: Where a fleet worker posts the Task invocations of Parallel branches, for any worker to
        #: run (engine.fleet_tasks); None invokes every handler here.
        self.fleet_tasks: FleetTasks | None = None
        #: Effects on child executions, performed once the checkpoint recording them is committed:
        #: children to create (their frames) and children to stop (their ARNs).
        self._spawning: list[Frame] = []
        self._stopping: list[str] = []
        self._child_definitions: dict[str, str] = {}
        self._seq = itertools.count()
        self._completions: queue.Queue[tuple[Frame, int, Future[Any]]] = queue.Queue()
        self._in_flight = 0
        self._done = False
        self._events = execution.events
        self._jsonata_env = _JsonataEnv(self.ids, self.clock)
        self._machine_ctx = {"Id": execution.state_machine_arn, "Name": execution.state_machine_name}

    # ------------------------------------------------------------------ driving

    def run(self) -> Execution:
        ex = self.execution
        ex.role_arn = ex.role_arn or self.partition.role_arn()
        root = self._new_frame(Frame(scope=self.plan.root, vars={}, var_view=ChainMap(), last_event=0))
        root.var_view = ChainMap(root.vars)
        self._emit(
            root,
            "ExecutionStarted",
            {"input": JsonText(ex.input_text), "inputDetails": {"truncated": False}, "roleArn": ex.role_arn},
        )
        root.last_event = 0  # AWS: the first state's entered event points to 0, not to ExecutionStarted
        limit = self.plan.timeout_seconds
        if ex.express and not self.limits.lifted:
            # Express executions run for five minutes at most.
            limit = min(limit or EXPRESS_MAX_SECONDS, EXPRESS_MAX_SECONDS)
        if limit:
            self._add_timer(ex.start_date + limit, ("exec_timeout", None, ()))
        self._runnable.append(("enter", root, (self.plan.root.start_at, ex.input)))
        return self.resume()

    def resume(self) -> Execution:
        """Drive the execution from where it stands (a fresh start, or a restored checkpoint)."""
        ex = self.execution
        try:
            self._loop()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        return ex

    def _loop(self) -> None:
        while not self._done:
            while self._runnable and not self._done:
                kind, frame, args = self._runnable.popleft()
                try:
                    if frame is None:
                        self._steps[kind](*args)
                    else:
                        self._steps[kind](frame, *args)
                except _Finished:
                    self._commit()
                    return
                if self._on_commit is not None and (
                    len(self._events) != self._committed_events or self._spawning or self._stopping
                ):
                    self._commit()
            if self._done:
                return
            if self._spawning or self._stopping:  # restored from a checkpoint that lists them
                self._commit()
            try:
                self._wait_for_work()
            except _Parked:
                return

    def _wait_for_work(self) -> None:
        now = self.clock.now()
        if self._timers and self._timers[0][0] <= now:
            self._fire_due_timers()
            return
        if self._in_flight:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - now)
            try:
                frame, attempt, fut = self._completions.get(timeout=timeout)
            except queue.Empty:
                self.clock.advance_to(self._timers[0][0])
                self._fire_due_timers()
                return
            self._in_flight -= 1
            self._runnable.append(("task_done", frame, (attempt, fut)))
            return
        if self._awaiting and self._poll_callbacks():
            return
        if (
            self._awaiting
            and self.fleet_tasks is not None
            and self._awaits_fleet()
            and self.fleet_tasks.run_one()
        ):
            return  # ran one of the fleet's jobs (perhaps one of ours) while the others run elsewhere
        if self._awaiting and (not self._timers or self._timers[0][0] - now > CALLBACK_POLL_SECONDS):
            if self.park_after is not None:  # a durable worker: the store wakes the execution up
                self.parked_until = self._timers[0][0] if self._timers else None
                self._commit()
                raise _Parked
            wait = CALLBACK_POLL_SECONDS
            if self.clock.virtual and self._timers:
                self.clock.advance_to(self._timers[0][0])
                self._fire_due_timers()
            else:
                try:
                    self._completions.get(timeout=wait)
                except queue.Empty:
                    pass
                else:
                    self._in_flight -= 1
            return
        if self._timers:
            when = self._timers[0][0]
            if self.park_after is not None and when - now > self.park_after:
                self.parked_until = when
                self._commit()
                raise _Parked
            if self.clock.virtual:
                self.clock.advance_to(when)
            else:
                try:
                    frame, attempt, fut = self._completions.get(timeout=max(0.0, when - now))
                except queue.Empty:
                    pass
                else:  # a completion from an abandoned (timed-out) task: ignore it
                    self._in_flight -= 1
            self._fire_due_timers()
            return
        raise RuntimeError("interpreter stalled: nothing runnable, in flight or scheduled")

    def _poll_callbacks(self) -> bool:
        """Queue the callback tasks that got an answer; True if any did."""
        if self.callbacks is None:
            return False
        found = False
        for token, (frame, attempt) in list(self._awaiting.items()):
            outcome = self.callbacks.outcome(token)
            if outcome is not None:
                del self._awaiting[token]
                self._runnable.append(("callback_done", frame, (attempt, outcome)))
                found = True
        return found

    def _fire_due_timers(self) -> None:
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, step = heapq.heappop(self._timers)
            self._runnable.append(step)

    def _add_timer(self, when: float, step: Step) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), step))

    def _commit(self) -> None:
        if self._on_commit is not None:
            self._on_commit(self)
        self._committed_events = len(self._events)
        if self._spawning or self._stopping:
            self._child_effects()

    def _child_effects(self) -> None:
        """Create and stop the child executions the committed checkpoint lists (idempotent: a
        worker that resumes from that checkpoint does it again)."""
        runs = self.map_runs
        assert runs is not None
        while self._spawning:
            child = self._spawning[0]
            if child.alive and child.waiting == "spawn":
                runs.start(self._child_start(child))
                child.waiting = "execution"
                assert child.task_token is not None
                self._awaiting[child.task_token] = (child, child.attempt)
            self._spawning.pop(0)
        while self._stopping:
            runs.stop(self._stopping[0])
            self._stopping.pop(0)

    def _child_start(self, child: Frame) -> ChildStart:
        join = child.join
        assert join is not None and child.child_arn is not None
        owner = join.frame
        return ChildStart(
            parent_arn=self.execution.execution_arn,
            entered_event_id=owner.entered_id,
            map_run_arn=join.map_run_arn,
            child_arn=child.child_arn,
            definition=self._child_definition(owner),
            input_text=dumps(child.input),
            role_arn=self.execution.role_arn,
        )

    def _child_definition(self, owner: Frame) -> str:
        st = owner.state
        assert st is not None and st.processor is not None
        key = st.processor.key
        if key not in self._child_definitions:
            raw = st.raw.get("ItemProcessor") or st.raw.get("Iterator") or {}
            self._child_definitions[key] = processor_definition(dict(raw), self.plan.query_language)
        return self._child_definitions[key]

    def _retire(self, frame: Frame) -> None:
        frame.alive = False
        self._frames.pop(frame.id, None)

    def _new_frame(self, frame: Frame) -> Frame:
        frame.id = next(self._frame_ids)
        self._frames[frame.id] = frame
        return frame

    def _step_enter(self, frame: Frame, state_name: str | None, data: Any) -> None:
        if frame.alive:
            self._enter(frame, frame.scope.states[state_name or frame.scope.start_at], data)

    # ------------------------------------------------------------------ events

    def _emit(
        self, frame: Frame, event_type: str, details: dict[str, Any] | None, prev: int | None = None
    ) -> int:
        if frame.quiet:  # distributed Map children: their events belong to child executions
            return frame.last_event
        events = self._events
        event_id = len(events) + 1
        if (
            event_id >= self.limits.history_events
            and event_type != "ExecutionFailed"
            and not self.limits.lifted
            and not self.execution.express
        ):
            # The last event a standard execution may have is the one that fails it.
            self._finish_failed(
                frame,
                StatesError(
                    errors.RUNTIME,
                    f"The execution reached the maximum number of history events ({self.limits.history_events}).",
                ),
            )
        ev = HistoryEvent(
            event_id, frame.last_event if prev is None else prev, self.clock.now(), event_type, details
        )
        events.append(ev)
        frame.last_event = event_id
        if self.listener is not None:
            self.listener(ev)
        return event_id

    # ------------------------------------------------------------------ context

    def _context(self, frame: Frame, st: State, *, task_token: str | None = None) -> dict[str, Any]:
        ex = self.execution
        state_ctx: dict[str, Any] = {"Name": st.name, "EnteredTime": iso_format(frame.entered_time)}
        if st.type == "Task":
            state_ctx["RetryCount"] = frame.retry_total
        ctx: dict[str, Any] = {
            "Execution": {
                "Id": ex.execution_arn,
                "Input": ex.input,
                "StartTime": iso_format(ex.start_date),
                "Name": ex.name,
                "RoleArn": ex.role_arn,
            },
            "StateMachine": self._machine_ctx,
            "State": state_ctx,
        }
        if not ex.express:
            ctx["Execution"]["RedriveCount"] = ex.redrive_count
        if task_token is not None:
            ctx["Task"] = {"Token": task_token}
        return ctx

    def _bindings(self, frame: Frame, states: dict[str, Any]) -> ChainMap[str, Any]:
        return ChainMap({"states": states, ENV_KEY: self._jsonata_env}, *frame.var_view.maps)

    # ------------------------------------------------------------------ entering states

    def _enter(self, frame: Frame, st: State, raw_input: Any) -> None:
        frame.state = st
        frame.input = raw_input
        frame.retry_counts = [0] * len(st.retriers)
        frame.retry_total = 0
        frame.entered_time = self.clock.now()
        frame.entered_prev = frame.last_event
        if not frame.quiet:
            frame.entered_id = self._emit(
                frame,
                f"{st.type}StateEntered",
                {"input": raw_input, "inputDetails": {"truncated": False}, "name": st.name},
            )
        self._attempt(frame)

    def _attempt(self, frame: Frame) -> None:
        st = frame.state
        assert st is not None
        frame.attempt += 1
        try:
            handler = _STATE_RUNNERS[st.type]
            handler(self, frame, st)
        except StatesError as err:
            self._state_failed(frame, err, processing=True)

    def _prefix(self, frame: Frame, err: StatesError) -> StatesError:
        st = frame.state
        assert st is not None
        prefix = f"An error occurred while executing the state '{st.name}' (entered at the event id #{frame.entered_id}). "
        return StatesError(err.error, prefix + (err.cause or ""), location=err.location)

    # ---- data processing helpers (JSONPath)

    def _path(self, path: Path, data: Any, ctx: Mapping[str, Any] | None, frame: Frame) -> Any:
        try:
            return path.evaluate(data, ctx, frame.var_view)
        except PathNotFound as exc:
            raise StatesError(errors.RUNTIME, path_failure_cause(path.text, exc.detail)) from None

    def _input_path(self, frame: Frame, st: State, raw: Any, ctx: Mapping[str, Any] | None) -> Any:
        ip = st.input_path
        if ip is None:
            return raw
        if ip is DISCARD:
            return {}
        assert isinstance(ip, Path)
        return self._path(ip, raw, ctx, frame)

    def _effective_input(self, frame: Frame, st: State, ctx: Mapping[str, Any] | None) -> Any:
        data = self._input_path(frame, st, frame.input, ctx)
        if st.parameters is not None:
            data = st.parameters.evaluate(data, ctx, frame.var_view, self.ids)
        return data

    def _finish_output(
        self, frame: Frame, st: State, raw: Any, result: Any, ctx: Mapping[str, Any] | None
    ) -> Any:
        """ResultPath then OutputPath (JSONPath)."""
        rp = st.result_path
        if rp is None:
            combined = result
        elif rp is DISCARD:
            combined = raw
        else:
            assert isinstance(rp, ReferencePath)
            combined = rp.assign(raw, result)
        op = st.output_path
        if op is None:
            return combined
        if op is DISCARD:
            return {}
        assert isinstance(op, Path)
        return self._path(op, combined, ctx, frame)

    def _check_size(self, st: State, value: Any) -> None:
        if self.limits.lifted:
            return
        if _maybe_large(value) and size_in_bytes(value) > self.limits.payload_bytes:
            raise StatesError(
                errors.DATA_LIMIT_EXCEEDED,
                f"The state/task '{st.name}' returned a result with a size exceeding the maximum number "
                "of bytes service limit.",
            )

    # ---- leaving states

    def _exit(
        self, frame: Frame, st: State, output: Any, next_name: str | None, assigned: dict[str, Any] | None
    ) -> None:
        if assigned:
            frame.vars.update(assigned)
        if not frame.quiet:
            details: dict[str, Any] = {
                "name": st.name,
                "output": output,
                "outputDetails": {"truncated": False},
            }
            if assigned:
                details["assignedVariables"] = assigned
                details["assignedVariablesDetails"] = {"truncated": False}
            self._emit(frame, f"{st.type}StateExited", details)
        if next_name is None:
            self._frame_succeeded(frame, output)
        else:
            # Continue this frame before any other (run to block), without growing the stack.
            self._runnable.appendleft(("enter", frame, (next_name, output)))

    def _next_of(self, st: State) -> str | None:
        return None if st.end else st.next

    # ------------------------------------------------------------------ errors, retry, catch

    def _state_failed(
        self, frame: Frame, err: StatesError, *, processing: bool = False, failed_event: str | None = None
    ) -> None:
        """Retry, catch or fail the frame's current state.

        `failed_event` (`MapStateFailed` / `ParallelStateFailed`) is recorded only when
        the failure is final for this attempt series: AWS writes none before a retry.
        """
        st = frame.state
        assert st is not None
        if processing and err.error not in (errors.DATA_LIMIT_EXCEEDED, errors.NO_CHOICE_MATCHED):
            err = self._prefix(frame, err)
        if err.location is not None:
            prev = frame.entered_prev if frame.last_event == frame.entered_id and st.type != "Wait" else None
            details: dict[str, Any] = {"cause": err.cause, "error": err.error}
            if err.location:
                details["location"] = err.location
            details["state"] = st.name
            self._emit(frame, "EvaluationFailed", details, prev=prev)
            if st.type == "Map" and failed_event is None:
                failed_event = "MapStateFailed"
            err = StatesError(err.error, err.cause)
        if err.error != errors.RUNTIME:
            heartbeat = err.heartbeat
            for i, retrier in enumerate(st.retriers):
                if retrier.matches(err.error, heartbeat=heartbeat):
                    if frame.retry_counts[i] < retrier.max_attempts:
                        frame.retry_counts[i] += 1
                        frame.retry_total += 1
                        delay = retrier.delay(frame.retry_counts[i])
                        if retrier.jitter_full:
                            delay = self.ids.random().uniform(0, delay)
                        frame.waiting = "timer"
                        self._add_timer(self.clock.now() + delay, ("retry", frame, (frame.attempt,)))
                        return
                    break
            for catcher in st.catchers:
                if catcher.matches(err.error, heartbeat=heartbeat):
                    if failed_event is not None:
                        self._emit(frame, failed_event, None)
                    self._catch(frame, st, catcher, err)
                    return
        if failed_event is not None:
            self._emit(frame, failed_event, None)
        self._frame_failed(frame, err)

    def _retry(self, frame: Frame, attempt: int) -> None:
        if not frame.alive or frame.attempt != attempt:
            return
        frame.waiting = ""
        self._attempt(frame)

    def _catch(self, frame: Frame, st: State, catcher: Catcher, err: StatesError) -> None:
        error_output = {"Error": err.error, "Cause": err.cause if err.cause is not None else ""}
        if err.cause is None and err.error is None:
            error_output = {"Error": None, "Cause": None}
        ctx: dict[str, Any] | None
        try:
            if st.is_jsonata:
                ctx = self._context(frame, st)
                bindings = self._bindings(
                    frame, {"input": frame.input, "context": ctx, "errorOutput": error_output}
                )
                assigned = catcher.assign.evaluate(bindings) if catcher.assign is not None else None
                output = catcher.output.evaluate(bindings) if catcher.output is not None else error_output
            else:
                ctx = self._context(frame, st) if st.uses_context else None
                assigned = (
                    _jsonpath(catcher.assign, error_output, ctx, frame.var_view, self.ids)
                    if catcher.assign is not None
                    else None
                )
                rp = catcher.result_path
                if rp is None:
                    output = error_output
                elif rp is DISCARD:
                    output = frame.input
                else:
                    assert isinstance(rp, ReferencePath)
                    output = rp.assign(frame.input, error_output)
        except StatesError as inner:
            self._frame_failed(frame, self._prefix(frame, inner))
            return
        self._exit(frame, st, output, catcher.next, assigned)

    def _frame_failed(self, frame: Frame, err: StatesError) -> None:
        """The frame's current state failed for good: the scope fails."""
        self._retire(frame)
        join = frame.join
        if join is None:
            self._finish_failed(frame, err)
            return
        owner = join.frame
        join.active.discard(frame)
        if join.kind == "map":
            inner_last = frame.last_event
            if not frame.quiet:
                self._emit(
                    frame,
                    "MapIterationFailed",
                    {"index": frame.index, "name": _state_name(owner)},
                    prev=inner_last,
                )
            join.failures += 1
            join.pending -= 1
            if join.failed is None and self._tolerated(join):
                if not frame.quiet:
                    owner.last_event = inner_last
                self._map_spawn_more(join, after=frame)
                return
            if join.failed is None:
                join.failed = (
                    StatesError(
                        errors.EXCEED_TOLERATED_FAILURE_THRESHOLD,
                        "The specified tolerated failure threshold was exceeded",
                    )
                    if join.distributed
                    else err
                )
                self._abort_children(join)
                if not frame.quiet:
                    owner.last_event = inner_last
                self._join_failed(join)
            return
        # parallel
        if join.failed is None:
            join.failed = err
            self._abort_children(join)
            owner.last_event = frame.last_event
            self._join_failed(join)

    def _tolerated(self, join: Join) -> bool:
        if join.tolerated_count is None and join.tolerated_percentage is None:
            return False
        total = len(join.items) or 1
        if join.tolerated_count is not None and join.failures > join.tolerated_count:
            return False
        return not (
            join.tolerated_percentage is not None and join.failures / total * 100 > join.tolerated_percentage
        )

    def _abort_children(self, join: Join) -> None:
        for child in list(join.active):
            self._abort_frame(child, join)
        join.active.clear()

    def _abort_frame(self, frame: Frame, join: Join) -> None:
        self._retire(frame)
        if frame.child_arn is not None:
            self._stop_child(frame)
            return
        st = frame.state
        if frame.child_join is not None:
            self._abort_children(frame.child_join)
        if frame.quiet or st is None:
            return
        if frame.waiting == "fleet" and frame.task_token is not None:
            self._awaiting.pop(frame.task_token, None)
            if self.callbacks is not None:  # the worker that takes its job skips it
                self.callbacks.time_out(frame.task_token, now=self.clock.now())
        if st.type in ("Task", "Wait", "Parallel", "Map") and frame.waiting:
            self._emit(frame, f"{st.type}StateAborted", None)
        if join.kind == "map":
            self._emit(frame, "MapIterationAborted", {"index": frame.index, "name": _state_name(join.frame)})

    def _finish_failed(self, frame: Frame, err: StatesError) -> None:
        ex = self.execution
        details: dict[str, Any] = {}
        if err.cause is not None:
            details["cause"] = err.cause
        if err.error is not None:
            details["error"] = err.error
        self._emit(frame, "ExecutionFailed", details)
        ex.status = ExecutionStatus.FAILED
        ex.error, ex.cause = err.error, err.cause
        self._finish()

    def _load_child_outputs(self, join: Join) -> None:
        """The outputs of children that succeeded before the checkpoint this execution resumed from."""
        assert self.map_runs is not None
        outputs = self.map_runs.outputs(self.execution.execution_arn)
        for index in sorted(join.unloaded):
            for redrive in range(self.execution.redrive_count, -1, -1):
                text = outputs.get(child_execution_arn(join.map_run_arn, index, redrive))
                if text is not None:
                    join.results[index] = json.loads(text)
                    break
            else:
                raise RuntimeError(f"the output of item {index} of {join.map_run_arn} is not in the store")
        join.unloaded.clear()

    def _stop_child(self, frame: Frame) -> None:
        assert frame.child_arn is not None
        if frame.task_token is not None:
            self._awaiting.pop(frame.task_token, None)
        self._stopping.append(frame.child_arn)

    def _finish(self) -> None:
        # As AWS aborts a Map Run's children when its execution ends.
        for frame in list(self._frames.values()):
            if frame.child_arn is not None:
                self._retire(frame)
                self._stop_child(frame)
        self.execution.stop_date = self.clock.now()
        self._done = True
        raise _Finished

    def _execution_timed_out(self) -> None:
        if self._done:
            return
        ex = self.execution
        frame = Frame(scope=self.plan.root, vars={}, var_view=ChainMap(), last_event=len(self._events))
        # AWS records the timeout by its error name alone.
        self._emit(frame, "ExecutionTimedOut", {"error": errors.TIMEOUT})
        ex.status = ExecutionStatus.TIMED_OUT
        ex.error, ex.cause = errors.TIMEOUT, None
        self._finish()

    # ------------------------------------------------------------------ frame completion

    def _frame_succeeded(self, frame: Frame, output: Any) -> None:
        self._retire(frame)
        join = frame.join
        if join is None:
            ex = self.execution
            self._emit(frame, "ExecutionSucceeded", {"output": output, "outputDetails": {"truncated": False}})
            ex.status = ExecutionStatus.SUCCEEDED
            ex.output, ex.has_output = output, True
            self._finish()
            return
        if join.failed is not None:
            return
        join.results[frame.index] = output
        if join.external:
            join.succeeded.add(frame.index)
        join.pending -= 1
        join.active.discard(frame)
        owner = join.frame
        if join.kind == "map":
            inner_last = frame.last_event
            if not frame.quiet:
                join.result_events[frame.index] = inner_last
            succeeded_id = inner_last
            if not frame.quiet:
                succeeded_id = self._emit(
                    frame, "MapIterationSucceeded", {"index": frame.index, "name": _state_name(owner)}
                )
            owner.last_event = inner_last
            if join.pending == 0 and join.next_index >= len(join.items):
                owner.last_event = succeeded_id
                self._join_succeeded(join)
            else:
                self._map_spawn_more(join, after=frame)
            return
        owner.last_event = frame.last_event
        if join.pending == 0:
            self._join_succeeded(join)

    # ------------------------------------------------------------------ joins

    def _join_succeeded(self, join: Join) -> None:
        frame = join.frame
        st = frame.state
        assert st is not None
        frame.child_join = None
        frame.waiting = ""
        kind = "Parallel" if join.kind == "parallel" else "Map"
        if join.unloaded:
            self._load_child_outputs(join)
        # Recordings since November 2024: MapStateExited points at MapRunStarted, the parent
        # of MapRunSucceeded (earlier recordings pointed at MapRunSucceeded).
        parent_prev = frame.last_event
        if join.distributed:
            self._emit(frame, "MapRunSucceeded", None)
        self._emit(frame, f"{kind}StateSucceeded", None)
        frame.last_event = parent_prev  # the Exited event is a sibling of Succeeded (of MapRunSucceeded)
        try:
            self._after_result(frame, st, join.results)
        except StatesError as err:
            self._state_failed(frame, err, processing=True)

    def _join_failed(self, join: Join) -> None:
        frame = join.frame
        st = frame.state
        assert st is not None and join.failed is not None
        frame.child_join = None
        frame.waiting = ""
        if join.distributed:
            self._emit(frame, "MapRunFailed", {"error": join.failed.error, "cause": join.failed.cause})
        kind = "Parallel" if join.kind == "parallel" else "Map"
        self._state_failed(frame, join.failed, failed_event=f"{kind}StateFailed")

    # ------------------------------------------------------------------ result pipeline shared by Task/Map/Parallel

    def _after_result(self, frame: Frame, st: State, result: Any) -> None:
        ctx = self._context(frame, st) if st.uses_context else None
        if st.is_jsonata:
            ctx = ctx or self._context(frame, st)
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx, "result": result})
            assigned = st.assign.evaluate(bindings) if st.assign is not None else None
            output = st.output.evaluate(bindings) if st.output is not None else result
        else:
            assigned = (
                _jsonpath(st.assign, result, ctx, frame.var_view, self.ids) if st.assign is not None else None
            )
            if st.result_selector is not None:
                result = st.result_selector.evaluate(result, ctx, frame.var_view, self.ids)
            output = self._finish_output(frame, st, frame.input, result, ctx)
        self._check_size(st, output)
        self._exit(frame, st, output, self._next_of(st), assigned)

    # ------------------------------------------------------------------ Task

    def _run_task(self, frame: Frame, st: State) -> None:
        assert st.resource is not None
        kind = classify(st.resource)
        token = self.ids.uuid4() if kind.wait_for_task_token else None
        # The context object is built only when something can read it.
        ctx = (
            self._context(frame, st, task_token=token) if st.uses_context or token or st.is_jsonata else None
        )
        timeout: float | None = None
        heartbeat: float | None = None
        if st.is_jsonata:
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            params = st.arguments.evaluate(bindings) if st.arguments is not None else frame.input
            if st.timeout_expr is not None:
                timeout = _positive_int(st.timeout_expr.evaluate(bindings), "TimeoutSeconds")
            if st.heartbeat_expr is not None:
                heartbeat = _positive_int(st.heartbeat_expr.evaluate(bindings), "HeartbeatSeconds")
        else:
            params = self._effective_input(frame, st, ctx)
            if st.timeout_seconds_path is not None or st.heartbeat_seconds_path is not None:
                path_input = self._input_path(frame, st, frame.input, ctx)
                if st.timeout_seconds_path is not None:
                    timeout = self._path(st.timeout_seconds_path, path_input, ctx, frame)
                if st.heartbeat_seconds_path is not None:
                    heartbeat = self._path(st.heartbeat_seconds_path, path_input, ctx, frame)
        if timeout is None:
            timeout = st.timeout_seconds
        if heartbeat is None:
            heartbeat = st.heartbeat_seconds
        frame.effective_input = params
        if kind.legacy_lambda:
            details: dict[str, Any] = {
                "input": params,
                "inputDetails": {"truncated": False},
                "resource": st.resource,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            self._emit(frame, "LambdaFunctionScheduled", details)
            self._emit(frame, "LambdaFunctionStarted", None)
        else:
            details = {
                "parameters": params,
                "region": self.partition.region,
                "resource": kind.resource,
                "resourceType": kind.resource_type,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                details["heartbeatInSeconds"] = heartbeat
            self._emit(frame, "TaskScheduled", details)
            self._emit(frame, "TaskStarted", {"resource": kind.resource, "resourceType": kind.resource_type})
        frame.task_token, frame.task_timeout, frame.task_heartbeat = token, timeout, heartbeat
        self._dispatch(frame, st, ctx)

    def _reinvoke(self, frame: Frame) -> None:
        """Invoke a task again after a restart cut it off (its Scheduled/Started events are recorded)."""
        st = frame.state
        assert st is not None
        if frame.alive and frame.waiting == "task":
            self._dispatch(frame, st, self._context(frame, st, task_token=frame.task_token))

    def _dispatch(self, frame: Frame, st: State, ctx: dict[str, Any] | None) -> None:
        assert st.resource is not None
        timeout = frame.task_timeout
        request = TaskRequest(
            resource=st.resource,
            parameters=frame.effective_input,
            state_name=st.name,
            execution_arn=self.execution.execution_arn,
            idempotency_key=f"{self.execution.execution_arn}#{frame.entered_id}",
            region=self.partition.region,
            timeout_seconds=timeout,
            task_token=frame.task_token,
            context=ctx or {},
        )
        try:
            handler = self.handlers.resolve(st.resource)
        except StatesError as err:
            self._task_error(frame, err)
            return
        if frame.task_token is not None and not self._mocked(st) and not self._issue_token(frame):
            return
        if (
            self.fleet_tasks is not None
            and frame.task_token is None
            and self.callbacks is not None
            and _in_parallel_branch(frame)
            and not self._mocked(st)
        ):
            self._post_to_fleet(frame, request)
            return
        attempt = frame.attempt
        frame.waiting = "task"
        if timeout is None and not self._runnable and not self._in_flight:
            try:
                result = handler.invoke(request)
            except Exception as exc:  # a StatesError, or a handler bug, which must not crash the engine
                self._task_error(frame, handler_failure(exc))
                return
            self._task_result(frame, result)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="statelane-task"
            )
        fut = self._pool.submit(handler.invoke, request)
        self._in_flight += 1
        fut.add_done_callback(lambda f: self._completions.put((frame, attempt, f)))
        if timeout is not None:
            self._add_timer(self.clock.now() + float(timeout), ("task_timeout", frame, (attempt,)))

    def _post_to_fleet(self, frame: Frame, request: TaskRequest) -> None:
        """Post the invocation for any worker of the fleet and wait on its token (engine.fleet_tasks)."""
        assert self.fleet_tasks is not None and self.callbacks is not None
        token = new_token(self.ids.uuid4)
        now = self.clock.now()
        timeout = frame.task_timeout
        self.callbacks.issue(
            token,
            self.execution.execution_arn,
            frame.entered_id,
            now=now,
            timeout_at=now + float(timeout) if timeout else None,
            heartbeat_seconds=None,
        )
        self.fleet_tasks.post(token, request)
        frame.task_token = token
        frame.waiting = "fleet"
        self._awaiting[token] = (frame, frame.attempt)
        if timeout is not None:
            self._add_timer(now + float(timeout), ("task_timeout", frame, (frame.attempt,)))

    def _awaits_fleet(self) -> bool:
        return any(frame.waiting == "fleet" for frame, _ in self._awaiting.values())

    def _task_completed(self, frame: Frame, attempt: int, fut: Future[Any]) -> None:
        if not frame.alive or frame.attempt != attempt or frame.waiting != "task":
            return
        exc = fut.exception()
        if exc is None:
            self._task_result(frame, fut.result())
        else:
            self._task_error(frame, handler_failure(exc))

    def _task_timed_out(self, frame: Frame, attempt: int, heartbeat: bool = False) -> None:
        if not frame.alive or frame.attempt != attempt or frame.waiting not in ("task", "callback", "fleet"):
            return
        if frame.waiting in ("callback", "fleet") and frame.task_token is not None:
            self._awaiting.pop(frame.task_token, None)
            if self.callbacks is not None:
                self.callbacks.time_out(frame.task_token, now=self.clock.now())
        frame.waiting = ""
        st = frame.state
        assert st is not None and st.resource is not None
        kind = classify(st.resource)
        if kind.legacy_lambda:
            self._emit(frame, "LambdaFunctionTimedOut", {"error": errors.TIMEOUT})
        else:
            self._emit(
                frame,
                "TaskTimedOut",
                {"error": errors.TIMEOUT, "resource": kind.resource, "resourceType": kind.resource_type},
            )
        timeout = StatesError(errors.TIMEOUT, None)
        timeout.heartbeat = heartbeat  # recorded as States.Timeout; also answers to States.HeartbeatTimeout
        self._state_failed(frame, timeout)

    def _task_error(self, frame: Frame, err: StatesError) -> None:
        frame.waiting = ""
        st = frame.state
        assert st is not None and st.resource is not None
        kind = classify(st.resource)
        details: dict[str, Any] = {}
        if err.cause is not None:
            details["cause"] = err.cause
        if err.error is not None:
            details["error"] = err.error
        if kind.legacy_lambda:
            self._emit(frame, "LambdaFunctionFailed", details)
        else:
            details["resource"] = kind.resource
            details["resourceType"] = kind.resource_type
            self._emit(frame, "TaskFailed", details)
        self._state_failed(frame, err)

    def _task_result(self, frame: Frame, result: Any, *, answered: bool = False) -> None:
        st = frame.state
        assert st is not None and st.resource is not None
        kind = classify(st.resource)
        if kind.wait_for_task_token and not answered and not self._mocked(st):
            self._submitted(frame, st, kind.resource, kind.resource_type, result)
            return
        frame.waiting = ""
        if (
            not self.limits.lifted
            and _maybe_large(result)
            and size_in_bytes(result) > self.limits.payload_bytes
        ):
            name = "lambda" if kind.resource_type == "lambda" and not kind.legacy_lambda else st.resource
            self._task_error(
                frame,
                StatesError(
                    errors.DATA_LIMIT_EXCEEDED,
                    f"The state/task '{name}' returned a result with a size exceeding the maximum number of "
                    "bytes service limit.",
                ),
            )
            return
        if kind.legacy_lambda:
            self._emit(
                frame, "LambdaFunctionSucceeded", {"output": result, "outputDetails": {"truncated": False}}
            )
        else:
            self._emit(
                frame,
                "TaskSucceeded",
                {
                    "output": result,
                    "outputDetails": {"truncated": False},
                    "resource": kind.resource,
                    "resourceType": kind.resource_type,
                },
            )
        try:
            self._after_result(frame, st, result)
        except StatesError as err:
            self._state_failed(frame, err, processing=True)

    def _mocked(self, st: State) -> bool:
        """A mocked callback task completes with its mocked response, as in Step Functions Local."""
        is_mocked = getattr(self.handlers, "is_mocked", None)
        return bool(is_mocked is not None and is_mocked(st.name))

    def _issue_token(self, frame: Frame) -> bool:
        """Accept answers for the task's token before its request goes out: a responder may answer
        at once (as AWS allows)."""
        assert frame.task_token is not None
        if self.callbacks is None:
            self._task_error(
                frame,
                StatesError(errors.RUNTIME, "This execution cannot receive task tokens (no callback store)."),
            )
            return False
        now = self.clock.now()
        timeout = frame.task_timeout
        self.callbacks.issue(
            frame.task_token,
            self.execution.execution_arn,
            frame.entered_id,
            now=now,
            timeout_at=now + float(timeout) if timeout else None,
            heartbeat_seconds=float(frame.task_heartbeat) if frame.task_heartbeat else None,
        )
        return True

    def _submitted(self, frame: Frame, st: State, resource: str, resource_type: str, result: Any) -> None:
        """The callback task's request went out: record it and wait for its token to be answered."""
        self._emit(
            frame,
            "TaskSubmitted",
            {
                "output": result,
                "outputDetails": {"truncated": False},
                "resource": resource,
                "resourceType": resource_type,
            },
        )
        token = frame.task_token
        assert token is not None
        now = self.clock.now()
        frame.waiting = "callback"
        self._awaiting[token] = (frame, frame.attempt)
        if frame.task_heartbeat:
            self._add_timer(now + float(frame.task_heartbeat), ("heartbeat_check", frame, (frame.attempt,)))

    def _callback_done(self, frame: Frame, attempt: int, outcome: TaskOutcome) -> None:
        if frame.alive and frame.waiting == "execution":
            self._child_execution_done(frame, outcome)
            return
        if not frame.alive or frame.attempt != attempt or frame.waiting not in ("callback", "fleet"):
            return
        if outcome.status is TaskTokenStatus.SUCCEEDED:
            self._task_result(frame, json.loads(outcome.output or "null"), answered=True)
        elif outcome.status is TaskTokenStatus.FAILED:
            self._task_error(frame, StatesError(outcome.error, outcome.cause))  # type: ignore[arg-type]
        else:
            self._task_timed_out(frame, attempt)

    def _child_execution_done(self, frame: Frame, outcome: TaskOutcome) -> None:
        """A Distributed Map child execution ended: its frame ends as a quiet iteration would."""
        frame.waiting = ""
        if outcome.status is TaskTokenStatus.SUCCEEDED:
            self._frame_succeeded(frame, json.loads(outcome.output or "null"))
        else:  # FAILED, or TIMED_OUT / ABORTED: a failed iteration all the same
            self._frame_failed(frame, StatesError(outcome.error, outcome.cause))  # type: ignore[arg-type]

    def _heartbeat_check(self, frame: Frame, attempt: int) -> None:
        if (
            not frame.alive
            or frame.attempt != attempt
            or frame.waiting != "callback"
            or self.callbacks is None
        ):
            return
        assert frame.task_token is not None
        deadline = self.callbacks.heartbeat_deadline(frame.task_token)
        if deadline is not None and deadline > self.clock.now():
            self._add_timer(deadline, ("heartbeat_check", frame, (attempt,)))
            return
        self._task_timed_out(frame, attempt, heartbeat=True)

    # ------------------------------------------------------------------ Pass, Choice, Succeed, Fail

    def _run_pass(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context else None
        if st.is_jsonata:
            ctx = ctx or self._context(frame, st)
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            assigned = st.assign.evaluate(bindings) if st.assign is not None else None
            output = st.output.evaluate(bindings) if st.output is not None else frame.input
        else:
            result = st.result if st.has_result else self._effective_input(frame, st, ctx)
            assigned = (
                _jsonpath(st.assign, result, ctx, frame.var_view, self.ids) if st.assign is not None else None
            )
            output = self._finish_output(frame, st, frame.input, result, ctx)
        self._check_size(st, output)
        self._exit(frame, st, output, self._next_of(st), assigned)

    def _run_choice(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context else None
        if st.is_jsonata:
            ctx = ctx or self._context(frame, st)
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            for branch in st.choices:
                assert branch.condition is not None
                cond = branch.condition.evaluate(bindings)
                if not isinstance(cond, bool):
                    expect_type(cond, "boolean", _source(st.raw, branch), "Condition")
                if cond:
                    assigned = branch.assign.evaluate(bindings) if branch.assign is not None else None
                    output = branch.output.evaluate(bindings) if branch.output is not None else frame.input
                    self._exit(frame, st, output, branch.next, assigned)
                    return
            if st.default is None:
                raise StatesError(errors.NO_CHOICE_MATCHED, "No Matches!")
            assigned = st.assign.evaluate(bindings) if st.assign is not None else None
            output = st.output.evaluate(bindings) if st.output is not None else frame.input
            self._exit(frame, st, output, st.default, assigned)
            return
        data = self._input_path(frame, st, frame.input, ctx)
        target: str | None = None
        assign = st.assign
        for branch in st.choices:
            assert branch.rule is not None
            if branch.rule.evaluate(data, ctx, frame.var_view):
                target = branch.next
                assign = branch.assign
                break
        if target is None:
            if st.default is None:
                raise StatesError(errors.NO_CHOICE_MATCHED, "No Matches!")
            target = st.default
        assigned = _jsonpath(assign, data, ctx, frame.var_view, self.ids) if assign is not None else None
        output = self._finish_output_path_only(frame, st, data, ctx)
        self._exit(frame, st, output, target, assigned)

    def _finish_output_path_only(
        self, frame: Frame, st: State, data: Any, ctx: Mapping[str, Any] | None
    ) -> Any:
        op = st.output_path
        if op is None:
            return data
        if op is DISCARD:
            return {}
        assert isinstance(op, Path)
        return self._path(op, data, ctx, frame)

    def _run_succeed(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context else None
        if st.is_jsonata:
            ctx = ctx or self._context(frame, st)
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            output = st.output.evaluate(bindings) if st.output is not None else frame.input
        else:
            data = self._input_path(frame, st, frame.input, ctx)
            output = self._finish_output_path_only(frame, st, data, ctx)
        self._exit(frame, st, output, None, None)

    def _run_fail(self, frame: Frame, st: State) -> None:
        error: Any = st.error
        cause: Any = st.cause
        if st.is_jsonata:
            if st.error_expr is not None or st.cause_expr is not None:
                bindings = self._bindings(frame, {"input": frame.input, "context": self._context(frame, st)})
                if st.error_expr is not None:
                    error = st.error_expr.evaluate(bindings)
                if st.cause_expr is not None:
                    cause = st.cause_expr.evaluate(bindings)
        else:
            ctx = self._context(frame, st) if st.uses_context else None
            if st.error_path is not None:
                error = self._fail_path(frame, st.error_path, "ErrorPath", ctx)
            if st.cause_path is not None:
                cause = self._fail_path(frame, st.cause_path, "CausePath", ctx)
        self._frame_failed(frame, StatesError(error, cause))

    def _fail_path(self, frame: Frame, expr: Any, field_name: str, ctx: Mapping[str, Any] | None) -> Any:
        if isinstance(expr, Path):
            try:
                return expr.evaluate(frame.input, ctx, frame.var_view)
            except PathNotFound:
                raise StatesError(
                    errors.RUNTIME,
                    f"The JSONPath '{expr.text}' specified for the field '{field_name}' could not be found in "
                    f"the input '{dumps(frame.input)}'",
                ) from None
        return expr.evaluate(frame.input, ctx, frame.var_view, self.ids)

    # ------------------------------------------------------------------ Wait

    def _run_wait(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context else None
        now = self.clock.now()
        if st.is_jsonata:
            ctx = ctx or self._context(frame, st)
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            data = frame.input
            if st.seconds_expr is not None:
                seconds = st.seconds_expr.evaluate(bindings)
                if (
                    isinstance(seconds, bool)
                    or not isinstance(seconds, int | float)
                    or seconds < 0
                    or (isinstance(seconds, float) and not seconds.is_integer())
                ):
                    expect_type(seconds, "integer", _expr_text(st.raw.get("Seconds")), "Seconds")
                    raise StatesError(
                        errors.QUERY_EVALUATION_ERROR,
                        f"The JSONata expression '{_expr_text(st.raw.get('Seconds'))}' specified for the field "
                        f"'Seconds' returned an unexpected result type. Expected 'integer', but was 'number' "
                        f"for value: {dumps(seconds)}",
                        location="Seconds",
                    )
                until = now + float(seconds)
            elif st.timestamp_expr is not None:
                ts = st.timestamp_expr.evaluate(bindings)
                parsed = parse_timestamp(ts) if isinstance(ts, str) else None
                if parsed is None:
                    raise StatesError(
                        errors.QUERY_EVALUATION_ERROR,
                        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
                        f"string: {ts if isinstance(ts, str) else dumps(ts)}",
                        location="Timestamp",
                    )
                until = _epoch(parsed)
            else:
                until = self._static_wait(st, now)
        else:
            data = self._input_path(frame, st, frame.input, ctx)
            if st.seconds_path is not None:
                until = now + self._seconds_from_path(frame, st.seconds_path, data, ctx)
            elif st.timestamp_path is not None:
                until = self._timestamp_from_path(frame, st.timestamp_path, data, ctx)
            else:
                until = self._static_wait(st, now)
        if until - now > MAX_WAIT_SECONDS:
            raise StatesError(errors.RUNTIME, "Wait state delay is too long.")
        frame.waiting = "timer"
        attempt = frame.attempt
        self._add_timer(until, ("wait_done", frame, (attempt, data)))

    def _static_wait(self, st: State, now: float) -> float:
        if st.seconds is not None:
            return now + float(st.seconds)
        if st.timestamp is not None:
            parsed = parse_timestamp(st.timestamp)
            assert parsed is not None
            return _epoch(parsed)
        return now

    def _seconds_from_path(
        self, frame: Frame, path: ReferencePath, data: Any, ctx: Mapping[str, Any] | None
    ) -> float:
        try:
            value = path.evaluate(data, ctx, frame.var_view)
        except PathNotFound:
            raise StatesError(
                errors.RUNTIME, f"The SecondsPath parameter does not reference an input value: {path.text}"
            ) from None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise StatesError(
                    errors.RUNTIME,
                    f"The SecondsPath parameter cannot be parsed as a long value: {path.text} == {_plain(value)}",
                )
        if value < 0:
            raise StatesError(
                errors.RUNTIME,
                f"The SecondsPath parameter references a negative value: {path.text} == {value}",
            )
        return float(value)

    def _timestamp_from_path(
        self, frame: Frame, path: ReferencePath, data: Any, ctx: Mapping[str, Any] | None
    ) -> float:
        try:
            value = path.evaluate(data, ctx, frame.var_view)
        except PathNotFound:
            raise StatesError(
                errors.RUNTIME, f"The TimestampPath parameter does not reference an input value: {path.text}"
            ) from None
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            raise StatesError(
                errors.RUNTIME,
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                f"format string: {path.text} == {_plain(value)}",
            )
        return _epoch(parsed)

    def _wait_done(self, frame: Frame, attempt: int, data: Any) -> None:
        if not frame.alive or frame.attempt != attempt:
            return
        frame.waiting = ""
        st = frame.state
        assert st is not None
        try:
            ctx = self._context(frame, st) if st.uses_context or st.is_jsonata else None
            if st.is_jsonata:
                assert ctx is not None
                bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
                assigned = st.assign.evaluate(bindings) if st.assign is not None else None
                output = st.output.evaluate(bindings) if st.output is not None else frame.input
            else:
                assigned = (
                    _jsonpath(st.assign, data, ctx, frame.var_view, self.ids)
                    if st.assign is not None
                    else None
                )
                output = self._finish_output_path_only(frame, st, data, ctx)
        except StatesError as err:
            self._state_failed(frame, err, processing=True)
            return
        self._exit(frame, st, output, self._next_of(st), assigned)

    # ------------------------------------------------------------------ Parallel

    def _run_parallel(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context or st.is_jsonata else None
        if st.is_jsonata:
            assert ctx is not None
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            branch_input = st.arguments.evaluate(bindings) if st.arguments is not None else frame.input
        else:
            branch_input = self._effective_input(frame, st, ctx)
        self._emit(frame, "ParallelStateStarted", None)
        join = Join(frame=frame, kind="parallel", results=[None] * len(st.branches), pending=len(st.branches))
        frame.child_join = join
        frame.waiting = "children"
        started = frame.last_event
        for i, branch in enumerate(st.branches):
            child = self._child_frame(frame, join, branch, i, started)
            join.active.add(child)
            self._runnable.append(("enter", child, (branch.start_at, branch_input)))

    def _child_frame(
        self, frame: Frame, join: Join, scope: Scope, index: int, last_event: int, quiet: bool = False
    ) -> Frame:
        child_vars: dict[str, Any] = {}
        return self._new_frame(
            Frame(
                scope=scope,
                vars=child_vars,
                var_view=ChainMap(child_vars, *frame.var_view.maps),
                last_event=last_event,
                parent=frame,
                join=join,
                index=index,
                quiet=quiet,
            )
        )

    # ------------------------------------------------------------------ Map

    def _run_map(self, frame: Frame, st: State) -> None:
        ctx = self._context(frame, st) if st.uses_context or st.is_jsonata else None
        bindings = self._bindings(frame, {"input": frame.input, "context": ctx}) if st.is_jsonata else None
        items, eff_input, batches = self._map_items(frame, st, ctx, bindings)
        concurrency = self._map_concurrency(frame, st, eff_input, ctx, bindings)
        self._emit(frame, "MapStateStarted", {"length": len(items)})
        # AWS resolves the tolerance settings only after MapStateStarted.
        tol_count, tol_pct = self._map_tolerance(frame, st, eff_input, ctx, bindings)
        join = Join(
            frame=frame,
            kind="map",
            results=[None] * len(items),
            pending=len(items),
            items=items,
            concurrency=int(concurrency or 0),
            tolerated_count=tol_count,
            tolerated_percentage=tol_pct,
            distributed=st.distributed,
            effective_input=eff_input,
            batches=batches,
        )
        frame.child_join = join
        frame.waiting = "children"
        if st.distributed:
            run_id = self.ids.uuid4()
            label = st.label or st.name[:40]
            arn = self.partition.map_run_arn(self.execution.state_machine_name, label, run_id)
            join.map_run_arn = arn
            join.external = self.map_runs is not None and self.map_runs.accepts(self._child_definition(frame))
            self._emit(frame, "MapRunStarted", {"mapRunArn": arn})
        if not items:
            self._join_succeeded(join)
            return
        self._map_spawn_more(join, after=None)

    def _map_items(
        self, frame: Frame, st: State, ctx: dict[str, Any] | None, bindings: ChainMap[str, Any] | None
    ) -> tuple[list[Any], Any, bool]:
        """(items, effective input, batched) of a Map state: a pure function of its input, so a
        checkpoint need not carry them."""
        if bindings is not None:
            if st.items_expr is not None:
                items = st.items_expr.evaluate(bindings)
                if not isinstance(items, list):
                    expect_type(items, "array", _expr_text(st.raw.get("Items")), "Items")
            else:
                items = frame.input
                if not isinstance(items, list):
                    raise StatesError(
                        errors.QUERY_EVALUATION_ERROR,
                        f"Map state input must be an array but was: {_type_name(items)}",
                        location="",
                    )
            eff_input = frame.input
        else:
            eff_input = self._input_path(frame, st, frame.input, ctx)
            items_path = st.items_path
            items = eff_input if items_path is None else self._path(items_path, eff_input, ctx, frame)
            if not isinstance(items, list):
                shown = "$" if items_path is None else items_path.text
                raise StatesError(errors.RUNTIME, f'Reference path "{shown}" must point to array.')
        batches = False
        if st.item_batcher is not None:
            items = self._batch(frame, st, items, eff_input, ctx)
            batches = True
        return items, eff_input, batches

    def _map_concurrency(
        self,
        frame: Frame,
        st: State,
        eff_input: Any,
        ctx: Mapping[str, Any] | None,
        bindings: ChainMap[str, Any] | None,
    ) -> Any:
        if bindings is not None:
            return _opt_eval(st.max_concurrency_expr, bindings, st.max_concurrency)
        if st.max_concurrency_path is not None:
            return self._int_from_path(frame, st.max_concurrency_path, eff_input, ctx, "MaxConcurrencyPath")
        return st.max_concurrency

    def _map_tolerance(
        self,
        frame: Frame,
        st: State,
        eff_input: Any,
        ctx: Mapping[str, Any] | None,
        bindings: ChainMap[str, Any] | None,
    ) -> tuple[Any, Any]:
        if bindings is not None:
            return (
                _opt_eval(st.tolerated_failure_count_expr, bindings, st.tolerated_failure_count),
                _opt_eval(st.tolerated_failure_percentage_expr, bindings, st.tolerated_failure_percentage),
            )
        tol_count = st.tolerated_failure_count
        if st.tolerated_failure_count_path is not None:
            tol_count = self._int_from_path(
                frame, st.tolerated_failure_count_path, eff_input, ctx, "ToleratedFailureCountPath"
            )
            if tol_count < 0:
                raise StatesError(errors.RUNTIME, "ToleratedFailureCount cannot be negative.")
        tol_pct = st.tolerated_failure_percentage
        if st.tolerated_failure_percentage_path is not None:
            tol_pct = self._float_from_path(
                frame, st.tolerated_failure_percentage_path, eff_input, ctx, "ToleratedFailurePercentagePath"
            )
            if not 0 <= tol_pct <= 100:
                raise StatesError(errors.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
        return tol_count, tol_pct

    def _map_spawn_more(self, join: Join, after: Frame | None) -> None:
        frame = join.frame
        st = frame.state
        assert st is not None and st.processor is not None
        limit = join.concurrency if join.concurrency > 0 else MAX_INLINE_CONCURRENCY
        if join.pending == 0 and join.next_index >= len(join.items):
            if join.failures and not self._tolerated(join):
                return
            self._join_succeeded(join)
            return
        while join.next_index < len(join.items) and len(join.active) < limit:
            index = join.next_index
            join.next_index += 1
            item = join.items[index]
            try:
                child_input = self._item_input(frame, st, join, index, item)
            except StatesError as err:
                join.failed = self._prefix(frame, err)
                self._abort_children(join)
                self._join_failed(join)
                return
            child = self._child_frame(
                frame, join, st.processor, index, frame.last_event, quiet=st.distributed
            )
            join.active.add(child)
            if join.external:
                # The iteration is a child execution, created once this is committed.
                child.child_arn = child_execution_arn(join.map_run_arn, index, self.execution.redrive_count)
                child.task_token = child_token(child.child_arn)
                child.input, child.waiting = child_input, "spawn"
                self._spawning.append(child)
                continue
            if not child.quiet:
                self._emit(child, "MapIterationStarted", {"index": index, "name": st.name})
            self._runnable.append(("enter", child, (st.processor.start_at, child_input)))

    def _item_input(self, frame: Frame, st: State, join: Join, index: int, item: Any) -> Any:
        if join.batches or st.item_selector is None:
            return item
        ctx = self._context(frame, st)
        ctx["Map"] = {"Item": {"Index": index, "Value": item}}
        if st.is_jsonata:
            bindings = self._bindings(frame, {"input": frame.input, "context": ctx})
            return st.item_selector.evaluate(bindings)
        return _jsonpath(st.item_selector, join.effective_input, ctx, frame.var_view, self.ids)

    def _batch(
        self, frame: Frame, st: State, items: list[Any], eff_input: Any, ctx: Mapping[str, Any] | None
    ) -> list[Any]:
        cfg = st.item_batcher or {}
        max_items = cfg.get("MaxItemsPerBatch")
        if "MaxItemsPerBatchPath" in cfg:
            from asl.paths import compile_reference_path

            max_items = self._int_from_path(
                frame,
                compile_reference_path(cfg["MaxItemsPerBatchPath"]),
                eff_input,
                ctx,
                "MaxItemsPerBatchPath",
            )
        max_bytes = cfg.get("MaxInputBytesPerBatch")
        if "MaxInputBytesPerBatchPath" in cfg:
            from asl.paths import compile_reference_path

            max_bytes = self._int_from_path(
                frame,
                compile_reference_path(cfg["MaxInputBytesPerBatchPath"]),
                eff_input,
                ctx,
                "MaxInputBytesPerBatchPath",
            )
        batch_input: Any = None
        has_batch_input = st.batch_input is not None
        if st.batch_input is not None:
            if st.is_jsonata:
                bindings = self._bindings(
                    frame, {"input": frame.input, "context": ctx or self._context(frame, st)}
                )
                batch_input = st.batch_input.evaluate(bindings)
            else:
                batch_input = _jsonpath(st.batch_input, eff_input, ctx, frame.var_view, self.ids)
        out: list[Any] = []
        current: list[Any] = []
        size = 0
        for index, item in enumerate(items):
            selected = self._item_input(
                frame, st, Join(frame, "map", [], 0, effective_input=eff_input), index, item
            )
            item_size = size_in_bytes(selected) if max_bytes else 0
            if current and (
                (max_items and len(current) >= max_items) or (max_bytes and size + item_size > max_bytes)
            ):
                out.append(_batch_doc(current, batch_input, has_batch_input))
                current, size = [], 0
            current.append(selected)
            size += item_size
        if current:
            out.append(_batch_doc(current, batch_input, has_batch_input))
        return out

    def _int_from_path(
        self, frame: Frame, path: ReferencePath, data: Any, ctx: Mapping[str, Any] | None, field_name: str
    ) -> int:
        return int(self._number_from_path(frame, path, data, ctx, field_name, integer=True))

    def _float_from_path(
        self, frame: Frame, path: ReferencePath, data: Any, ctx: Mapping[str, Any] | None, field_name: str
    ) -> float:
        return float(self._number_from_path(frame, path, data, ctx, field_name, integer=False))

    def _number_from_path(
        self,
        frame: Frame,
        path: ReferencePath,
        data: Any,
        ctx: Mapping[str, Any] | None,
        field_name: str,
        *,
        integer: bool,
    ) -> int | float:
        """A number a `*Path` field points at; numeric strings count, as Java's parsers take them."""
        value = self._path(path, data, ctx, frame)
        parse = int if integer else float
        if isinstance(value, str):
            try:
                return parse(value.strip())
            except ValueError:
                pass
        expected = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, expected):
            kind = "integer" if integer else "float"
            raise StatesError(
                errors.RUNTIME,
                f'The {field_name} field refers to value "{_plain(value)}" which is not a valid {kind}: {path.text}',
            )
        return value


class _JsonataEnv:
    """What JSONata's $random, $uuid, $now and $millis draw from: the execution's own sources."""

    def __init__(self, ids: IdSource, clock: Clock) -> None:
        self._ids, self._clock = ids, clock

    def random(self) -> Any:
        return self._ids.random()

    def uuid4(self) -> str:
        return self._ids.uuid4()

    def now_millis(self) -> int:
        return int(self._clock.now() * 1000)


def _jsonpath(
    template: Template | JsonataTemplate, data: Any, ctx: Mapping[str, Any] | None, variables: Any, env: Any
) -> Any:
    """Evaluate a field of a JSONPath state (typed apart from its JSONata twin)."""
    assert isinstance(template, Template)
    return template.evaluate(data, ctx, variables, env)


def _batch_doc(items: list[Any], batch_input: Any, has_batch_input: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if has_batch_input:
        doc["BatchInput"] = batch_input
    doc["Items"] = items
    return doc


def _in_parallel_branch(frame: Frame) -> bool:
    """Is the frame part of a Parallel branch (itself, or nested in one)?"""
    join = frame.join
    while join is not None:
        if join.kind == "parallel":
            return True
        join = join.frame.join
    return False


def _state_name(frame: Frame) -> str:
    assert frame.state is not None
    return frame.state.name


def _maybe_large(value: Any) -> bool:
    """Cheap pre-check before measuring a payload: small containers cannot reach 256 KiB."""
    if isinstance(value, str):
        return len(value) * 4 > PAYLOAD_LIMIT // 4
    if isinstance(value, dict | list):
        return len(value) > 64 or len(repr(value)) > PAYLOAD_LIMIT // 8
    return False


def _plain(value: Any) -> str:
    """A value as AWS's Java runtime prints it in causes: strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    return dumps(value)


def _type_name(value: Any) -> str:
    return dumps(value)


def _positive_int(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise StatesError(
            errors.QUERY_EVALUATION_ERROR,
            f"The value of the field '{field_name}' must be a positive integer, but was: {dumps(value)}",
            location=field_name,
        )
    return int(value)


def _opt_eval(expr: Any, bindings: Mapping[str, Any], default: Any) -> Any:
    if expr is None:
        return default
    return expr.evaluate(bindings)


def _epoch(dt: datetime) -> float:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return math.floor(dt.timestamp())


def _expr_text(value: Any) -> str:
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        return value[2:-2].strip()
    return dumps(value)


def _source(raw: Mapping[str, Any], branch: Any) -> str:
    for rule in raw.get("Choices", ()):
        if rule.get("Next") == branch.next:
            return _expr_text(rule.get("Condition"))
    return ""


_STATE_RUNNERS: dict[str, Callable[[Interpreter, Frame, State], None]] = {
    "Pass": Interpreter._run_pass,
    "Task": Interpreter._run_task,
    "Choice": Interpreter._run_choice,
    "Wait": Interpreter._run_wait,
    "Succeed": Interpreter._run_succeed,
    "Fail": Interpreter._run_fail,
    "Parallel": Interpreter._run_parallel,
    "Map": Interpreter._run_map,
}
