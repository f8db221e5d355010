"""Checkpoints: where every part of an execution stands, as a JSON document.

A standard execution commits, with each transition's history events, a snapshot of
its frames (current state, input, retry counters, variables), of the Map/Parallel
joins waiting on children, of the run queue and of its timers. `restore` rebuilds
an interpreter from it that continues exactly where the snapshot was taken; tasks
that were in flight are invoked again with the same idempotency key.
"""

from __future__ import annotations

import heapq
import itertools
from collections import ChainMap
from typing import Any

from asl.errors import StatesError
from engine.history import HistoryEvent, JsonText, RenderedVariables, details_member
from engine.interpreter import Frame, Interpreter, Join, Step

VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint does not fit the plan it is restored against."""


def snapshot(interp: Interpreter) -> dict[str, Any]:
    frames = sorted(interp._frames.values(), key=lambda f: f.id)
    return {
        "v": VERSION,
        "events": len(interp._events),
        "next_frame": max((f.id for f in frames), default=0) + 1,
        "frames": [_frame_doc(f) for f in frames],
        "runnable": [_step_doc(s) for s in interp._runnable if s[0] != "task_done"],
        "timers": [[when, _step_doc(step)] for when, _, step in sorted(interp._timers)],
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
        "input": f.input,
        "entered": [f.entered_id, f.entered_prev, f.entered_time],
        "retry": f.retry_counts,
        "retry_total": f.retry_total,
        "attempt": f.attempt,
        "effective_input": f.effective_input,
        "waiting": f.waiting,
        "task": [f.task_token, f.task_timeout, f.task_heartbeat],
        "child_join": _join_doc(f.child_join) if f.child_join is not None else None,
    }


def _join_doc(j: Join) -> dict[str, Any]:
    return {
        "kind": j.kind,
        "results": j.results,
        "pending": j.pending,
        "items": j.items,
        "next_index": j.next_index,
        "concurrency": j.concurrency,
        "active": sorted(f.id for f in j.active),
        "failures": j.failures,
        "tolerated_count": j.tolerated_count,
        "tolerated_percentage": j.tolerated_percentage,
        "failed": [j.failed.error, j.failed.cause] if j.failed is not None else None,
        "distributed": j.distributed,
        "effective_input": j.effective_input,
        "batches": j.batches,
    }


def _step_doc(step: Step) -> list[Any]:
    kind, frame, args = step
    return [kind, frame.id if frame is not None else None, list(args)]


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
        f.input = fd["input"]
        f.entered_id, f.entered_prev, f.entered_time = fd["entered"]
        f.retry_counts, f.retry_total, f.attempt = list(fd["retry"]), fd["retry_total"], fd["attempt"]
        f.effective_input, f.waiting = fd["effective_input"], fd["waiting"]
        f.task_token, f.task_timeout, f.task_heartbeat = fd["task"]
        frames[f.id] = f
    for fd in docs:  # links, in id order so parents are wired before their children's views
        f = frames[fd["id"]]
        parent = frames.get(fd["parent"]) if fd["parent"] is not None else None
        f.parent = parent
        f.var_view = ChainMap(f.vars, *(parent.var_view.maps if parent is not None else []))
    for fd in docs:
        if fd["child_join"] is not None:
            frames[fd["id"]].child_join = _join_from(fd["child_join"], frames[fd["id"]], frames)
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
        interp._runnable.append(_step_from(step, frames))
    interp._timers.clear()
    for when, step in doc["timers"]:
        heapq.heappush(interp._timers, (when, next(interp._seq), _step_from(step, frames)))
    for f in sorted(frames.values(), key=lambda x: x.id):
        if f.waiting == "task":
            interp._runnable.append(("reinvoke", f, ()))
        elif f.waiting == "callback" and f.task_token is not None:
            interp._awaiting[f.task_token] = (f, f.attempt)
    return interp


def _join_from(jd: dict[str, Any], owner: Frame, frames: dict[int, Frame]) -> Join:
    failed = StatesError(jd["failed"][0], jd["failed"][1]) if jd["failed"] is not None else None
    return Join(
        frame=owner,
        kind=jd["kind"],
        results=list(jd["results"]),
        pending=jd["pending"],
        items=jd["items"],
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
    )


def _step_from(step: list[Any], frames: dict[int, Frame]) -> Step:
    kind, frame_id, args = step
    frame = frames.get(frame_id) if frame_id is not None else None
    if frame_id is not None and frame is None:
        raise CheckpointError(f"a queued {kind!r} step names frame {frame_id}, which the checkpoint lacks")
    return (kind, frame, tuple(args))


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
