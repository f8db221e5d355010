"""Checkpoints: where every part of an execution stands, as a JSON document.

A standard execution commits, with each transition's history events, a snapshot of
its frames (current state, input, retry counters, variables), of the Map/Parallel
joins waiting on children, of the run queue and of its timers. `restore` rebuilds
an interpreter from it that continues exactly where the snapshot was taken; tasks
that were in flight are invoked again with the same idempotency key.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import threading
from collections import ChainMap
from typing import Any

from asl.errors import StatesError
from engine.history import HistoryEvent, JsonText, RenderedVariables, details_member
from engine.interpreter import Frame, Interpreter, Join, Step

VERSION = 1
_COLLECTED_AGAIN = frozenset({"task_done", "callback_done"})


class CheckpointError(ValueError):
    """A checkpoint does not fit the plan it is restored against."""


def snapshot(interp: Interpreter) -> dict[str, Any]:
    frames = sorted(interp._frames.values(), key=lambda f: f.id)
    return {
        "v": VERSION,
        "events": len(interp._events),
        "next_frame": max((f.id for f in frames), default=0) + 1,
        "frames": [_frame_doc(f) for f in frames],
        # Completions are not copied: their frames still wait, so a restored execution collects
        # them again (a task is invoked again; a token's answer is read again from the store).
        "runnable": [_step_doc(s) for s in interp._runnable if s[0] not in _COLLECTED_AGAIN],
        # Checkpoints stay small: values already in the history (a state's input, a finished
        # iteration's output) and values derived from them (a Map's items) are referred to, not copied.
        "timers": [[when, _step_doc(step)] for when, _, step in sorted(interp._timers)],
        # Distributed Map children to stop (to create: the frames waiting "spawn").
        "stops": list(interp._stopping),
    }


def _frame_doc(f: Frame) -> dict[str, Any]:
    return {
        "id": f.id,
        "scope": f.scope.key,
        "vars": f.vars,
        "last": f.last_event,
        "parent": f.parent.id if f.parent is not None else None,
        "join": f.join.frame.id if f.join is not None else None,
        "index": f.index,
        "quiet": f.quiet,
        "state": f.state.name if f.state is not None else None,
        "input_event": f.entered_id if _input_recorded(f) else None,
        "input": None if _input_recorded(f) else f.input,
        "entered": [f.entered_id, f.entered_prev, f.entered_time],
        "retry": f.retry_counts,
        "retry_total": f.retry_total,
        "attempt": f.attempt,
        "effective_input": f.effective_input,
        "waiting": f.waiting,
        "task": [f.task_token, f.task_timeout, f.task_heartbeat],
        "child_join": _join_doc(f.child_join) if f.child_join is not None else None,
        "child": f.child_arn,
    }


def _input_recorded(f: Frame) -> bool:
    """The frame's current state input is in its StateEntered event."""
    return not f.quiet and f.state is not None and f.entered_id > 0


def _join_doc(j: Join) -> dict[str, Any]:
    derived = j.kind == "map"  # items come again from the Map's input; outputs from the history
    by_event = derived and not j.distributed
    return {
        "kind": j.kind,
        # Child executions' outputs are in the store: only which ones succeeded is recorded.
        "results": None if by_event or j.external else j.results,
        "succeeded": _index_ranges(j.succeeded) if j.external else None,
        "result_events": _runs(j.result_events) if by_event else None,
        "pending": j.pending,
        "items": None if derived else j.items,
        "next_index": j.next_index,
        "concurrency": j.concurrency,
        "active": sorted(f.id for f in j.active),
        "failures": j.failures,
        "tolerated_count": j.tolerated_count,
        "tolerated_percentage": j.tolerated_percentage,
        "failed": [j.failed.error, j.failed.cause] if j.failed is not None else None,
        "distributed": j.distributed,
        "effective_input": None if derived else j.effective_input,
        "batches": j.batches,
        "map_run_arn": j.map_run_arn,
        "external": j.external,
    }


#: id(result_events) -> (that dict, how many of its entries `runs` covers, runs): see `_runs`.
_RUNS_MEMO: dict[int, tuple[dict[int, int], int, list[list[int]]]] = {}
_RUNS_MEMO_SIZE = 64
_RUNS_LOCK = threading.Lock()  # executions run on several threads (the server, worker pools)


def _runs(refs: dict[int, int]) -> list[list[int]]:
    """index -> event id, as runs [first index, first event, event step, length]: iterations that
    run one after another finish a fixed number of events apart, so most maps need one run.

    Every transition snapshots the Map, so the runs are carried over from the last snapshot
    of the same dict rather than recomputed from all its entries (10,000 iterations would
    cost 50 million steps). That is sound because `result_events` only grows, one entry per
    finished iteration written once, in finishing order: the runs that end before the lowest
    index finished since are final, and only the ones after it are recomputed.
    """
    with _RUNS_LOCK:
        memo = _RUNS_MEMO.get(id(refs))
    if memo is None or memo[0] is not refs or memo[1] > len(refs):
        runs = _extend_runs([], sorted(refs.items()))
    else:
        new = sorted(itertools.islice(reversed(refs.items()), len(refs) - memo[1]))
        old = memo[2]
        keep = len(old)
        if new:
            keep = bisect.bisect_right([first + length for first, _, _, length in old], new[0][0])
        tail = [(i, refs[i]) for first, _, _, length in old[keep:] for i in range(first, first + length)]
        runs = _extend_runs([list(run) for run in old[:keep]], sorted(tail + new))
    with _RUNS_LOCK:
        _RUNS_MEMO.pop(id(refs), None)
        _RUNS_MEMO[id(refs)] = (refs, len(refs), runs)  # holding `refs` keeps its id from being reused
        while len(_RUNS_MEMO) > _RUNS_MEMO_SIZE:
            del _RUNS_MEMO[next(iter(_RUNS_MEMO))]
    return runs


def _extend_runs(runs: list[list[int]], items: list[tuple[int, int]]) -> list[list[int]]:
    """Append (index, event) pairs, in index order and all past `runs`, to `runs`."""
    for index, event in items:
        if runs:
            first, start, step, length = runs[-1]
            if index == first + length and (length == 1 or event == start + step * length):
                if length == 1:
                    runs[-1][2] = event - start
                runs[-1][3] += 1
                continue
        runs.append([index, event, 0, 1])
    return runs


def _unruns(runs: list[list[int]]) -> dict[int, int]:
    return {first + k: start + step * k for first, start, step, length in runs for k in range(length)}


def _step_doc(step: Step) -> list[Any]:
    kind, frame, args = step
    if kind == "enter" and frame is not None and frame.state is None and _is_map_item(frame):
        return ["enter_item", frame.id, [frame.index]]  # its input is recomputed from the Map's items
    return [kind, frame.id if frame is not None else None, list(args)]


def _is_map_item(frame: Frame) -> bool:
    return frame.join is not None and frame.join.kind == "map" and not frame.join.batches


def restore(interp: Interpreter, doc: dict[str, Any], events: list[dict[str, Any]]) -> Interpreter:
    """Load `doc` (and the execution's recorded events) into a fresh interpreter."""
    if doc.get("v") != VERSION:
        raise CheckpointError(f"unsupported checkpoint version {doc.get('v')!r}")
    if doc["events"] != len(events):
        raise CheckpointError(f"checkpoint expects {doc['events']} events, the store has {len(events)}")
    interp._events.clear()
    interp._events.extend(from_aws(e) for e in events)
    interp._committed_events = len(events)
    plan = interp.plan
    frames: dict[int, Frame] = {}
    docs = doc["frames"]
    for fd in docs:
        scope = plan.scopes.get(fd["scope"])
        if scope is None:
            raise CheckpointError(f"the plan has no scope {fd['scope']!r}")
        f = Frame(scope=scope, vars=dict(fd["vars"]), var_view=ChainMap(), last_event=fd["last"])
        f.id = fd["id"]
        f.index, f.quiet = fd["index"], fd["quiet"]
        f.state = scope.states[fd["state"]] if fd["state"] is not None else None
        f.input = fd["input"] if fd.get("input_event") is None else _recorded_input(events, fd["input_event"])
        f.entered_id, f.entered_prev, f.entered_time = fd["entered"]
        f.retry_counts, f.retry_total, f.attempt = list(fd["retry"]), fd["retry_total"], fd["attempt"]
        f.effective_input, f.waiting = fd["effective_input"], fd["waiting"]
        f.task_token, f.task_timeout, f.task_heartbeat = fd["task"]
        f.child_arn = fd.get("child")
        frames[f.id] = f
    for fd in docs:  # links, in id order so parents are wired before their children's views
        f = frames[fd["id"]]
        parent = frames.get(fd["parent"]) if fd["parent"] is not None else None
        f.parent = parent
        f.var_view = ChainMap(f.vars, *(parent.var_view.maps if parent is not None else []))
    for fd in docs:
        if fd["child_join"] is not None:
            owner = frames[fd["id"]]
            owner.child_join = _join_from(fd["child_join"], owner, frames)
            _derive(interp, owner, owner.child_join, fd["child_join"], events)
    for fd in docs:
        if fd["join"] is not None:
            owner = frames[fd["join"]]
            if owner.child_join is None:
                raise CheckpointError(f"frame {fd['id']} belongs to a join its owner does not have")
            frames[fd["id"]].join = owner.child_join
    interp._frames.clear()
    interp._frames.update(frames)
    interp._frame_ids = itertools.count(doc["next_frame"])
    interp._runnable.clear()
    for step in doc["runnable"]:
        interp._runnable.append(_step_from(step, frames, interp))
    interp._timers.clear()
    for when, step in doc["timers"]:
        heapq.heappush(interp._timers, (when, next(interp._seq), _step_from(step, frames, interp)))
    for f in sorted(frames.values(), key=lambda x: x.id):
        if f.waiting == "task":
            interp._runnable.append(("reinvoke", f, ()))
        elif f.waiting in ("callback", "execution", "fleet") and f.task_token is not None:
            interp._awaiting[f.task_token] = (f, f.attempt)
        elif f.waiting == "spawn":  # a child execution that may or may not have been created
            interp._spawning.append(f)
    interp._stopping[:] = doc.get("stops", [])
    return interp


def _join_from(jd: dict[str, Any], owner: Frame, frames: dict[int, Frame]) -> Join:
    failed = StatesError(jd["failed"][0], jd["failed"][1]) if jd["failed"] is not None else None
    return Join(
        frame=owner,
        kind=jd["kind"],
        results=list(jd["results"]) if jd["results"] is not None else [],
        pending=jd["pending"],
        items=jd["items"] if jd["items"] is not None else [],
        next_index=jd["next_index"],
        concurrency=jd["concurrency"],
        active={frames[i] for i in jd["active"] if i in frames},
        failures=jd["failures"],
        tolerated_count=jd["tolerated_count"],
        tolerated_percentage=jd["tolerated_percentage"],
        failed=failed,
        distributed=jd["distributed"],
        effective_input=jd["effective_input"],
        batches=jd["batches"],
        map_run_arn=jd.get("map_run_arn", ""),
        external=jd.get("external", False),
    )


def _step_from(step: list[Any], frames: dict[int, Frame], interp: Interpreter) -> Step:
    kind, frame_id, args = step
    frame = frames.get(frame_id) if frame_id is not None else None
    if frame_id is not None and frame is None:
        raise CheckpointError(f"a queued {kind!r} step names frame {frame_id}, which the checkpoint lacks")
    if kind == "enter_item":
        assert frame is not None and frame.join is not None
        join = frame.join
        owner = join.frame
        assert owner.state is not None and owner.state.processor is not None
        (index,) = args
        data = interp._item_input(owner, owner.state, join, index, join.items[index])
        return ("enter", frame, (owner.state.processor.start_at, data))
    return (kind, frame, tuple(args))


def _recorded_input(events: list[dict[str, Any]], event_id: int) -> Any:
    details = events[event_id - 1].get("stateEnteredEventDetails") or {}
    return json.loads(details["input"])


def _derive(
    interp: Interpreter, owner: Frame, join: Join, jd: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    """Recompute what a Map join's checkpoint referred to instead of copying."""
    if join.kind != "map":
        return
    st = owner.state
    assert st is not None
    ctx = interp._context(owner, st) if st.uses_context or st.is_jsonata else None
    bindings = interp._bindings(owner, {"input": owner.input, "context": ctx}) if st.is_jsonata else None
    join.items, join.effective_input, _ = interp._map_items(owner, st, ctx, bindings)
    if jd.get("succeeded") is not None:
        join.succeeded = {first + k for first, length in jd["succeeded"] for k in range(length)}
        join.unloaded = set(join.succeeded)
        join.results = [None] * len(join.items)
    if jd.get("result_events") is not None:
        join.result_events = _unruns(jd["result_events"])
        join.results = [None] * len(join.items)
        for index, event_id in join.result_events.items():
            details = events[event_id - 1].get("stateExitedEventDetails")
            if details is None:
                raise CheckpointError(f"event {event_id} does not record the output of iteration {index}")
            join.results[index] = json.loads(details["output"])


def _index_ranges(indexes: set[int]) -> list[list[int]]:
    """Indexes as [first, length] ranges: children end roughly in order, so a few ranges cover a map."""
    ranges: list[list[int]] = []
    for index in sorted(indexes):
        if ranges and ranges[-1][0] + ranges[-1][1] == index:
            ranges[-1][1] += 1
        else:
            ranges.append([index, 1])
    return ranges


_DOCUMENT_FIELDS = ("input", "output", "parameters")


def from_aws(event: dict[str, Any]) -> HistoryEvent:
    """A stored GetExecutionHistory event back as a HistoryEvent (documents stay as JSON text)."""
    member = details_member(event["type"])
    details = event.get(member)
    if details is not None:
        details = {
            k: JsonText(v) if k in _DOCUMENT_FIELDS and isinstance(v, str) else v for k, v in details.items()
        }
        if "assignedVariables" in details:
            details["assignedVariables"] = RenderedVariables(details["assignedVariables"])
    ts = event["timestamp"]
    return HistoryEvent(
        event["id"],
        event["previousEventId"],
        ts if isinstance(ts, int | float) else 0.0,
        event["type"],
        details,
    )
