"""Distributed Map iterations as child executions of their own, run by any worker of a fleet.

On AWS each iteration (item or batch) of a Distributed Map is a separate execution of
the state machine `{machine}/{label}` derived from the ItemProcessor, belonging to the
Map Run `...:mapRun:{machine}/{label}:{run id}`; the parent's history shows only the
Map Run events. A durable worker does the same: the interpreter asks a
`ChildExecutions` to start and stop children, and waits for each child on a task token
named after the child (`maprun-child:` + its ARN), so the store's task-token machinery
queues the parent and hands it each child's outcome exactly once across crashes.

Crash safety rests on two rules. Effects follow the checkpoint: the interpreter commits
the checkpoint that lists a child (its name and input) before creating it, and the
checkpoint that lists a child to stop before stopping it; a worker that resumes the
parent performs what the checkpoint lists again. And effects are idempotent: a child's
name is derived from the Map Run, the item index and the redrive count, so starting it
again finds the same execution, and issuing its token again is a no-op.

Everything here is naming, and finding a Map Run's children among the executions of
its machine (ListExecutions with a mapRunArn); the store-backed `ChildExecutions` is the
durable engine's (engine.durable).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from engine.store.errors import InvalidToken

if TYPE_CHECKING:
    from engine.store import ExecutionRecord, Store

#: Task tokens a parent waits on for its children: the prefix, then the child's execution ARN.
TOKEN_PREFIX: Final = "maprun-child:"
_NAMES: Final = uuid.UUID("9a3c2f0e-5b1d-4c8e-9f6a-2d7b8e1c4a50")


@dataclass(frozen=True)
class ChildStart:
    """Everything needed to (re)create one child execution and the token its parent waits on."""

    parent_arn: str
    #: The Map state's entered event in the parent (the token's task, as for a callback task).
    entered_event_id: int
    map_run_arn: str
    child_arn: str
    #: The child state machine's definition: the ItemProcessor as a machine of its own.
    definition: str
    #: The child's input, exactly what its iteration would have started with in the parent.
    input_text: str
    role_arn: str


class ChildExecutions(Protocol):
    """Where a durable parent's Distributed Map iterations run (a fleet's store)."""

    def accepts(self, definition: str) -> bool:
        """Whether iterations of this processor can run as executions of their own.

        Not when the processor reads the parent's variables: a child execution cannot see
        them, and the iterations must give what they give in the parent.
        """
        ...

    def start(self, child: ChildStart) -> None:
        """Issue the parent's token for the child, then start the child (both idempotent)."""
        ...

    def stop(self, child_arn: str) -> None:
        """Stop the child if it is still running (StopExecution; a child already gone is fine)."""
        ...

    def outputs(self, parent_arn: str) -> dict[str, str]:
        """The outputs (JSON text) of the parent's children that succeeded, by child ARN."""
        ...


def child_token(child_arn: str) -> str:
    """The token the parent waits on for the child `child_arn`."""
    return TOKEN_PREFIX + child_arn


def parent_token(execution_arn: str) -> str | None:
    """The token a parent may wait on for this execution: children run machines named
    `{machine}/{label}` (`...:execution:{machine}/{label}:{name}`), and AWS allows no `/` in the
    names users give; None for any other execution, which saves a store read."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or "/" not in parts[6]:
        return None
    return child_token(execution_arn)


def child_machine_arn(map_run_arn: str) -> str:
    """`...:mapRun:{machine}/{label}:{run}` -> `...:stateMachine:{machine}/{label}`."""
    head, sep, rest = map_run_arn.partition(":mapRun:")
    if not sep:
        raise ValueError(f"not a map run ARN: {map_run_arn!r}")
    return f"{head}:stateMachine:{rest.rsplit(':', 1)[0]}"


def child_machine_name(map_run_arn: str) -> str:
    return child_machine_arn(map_run_arn).rsplit(":", 1)[-1]


def child_name(map_run_arn: str, index: int, redrive_count: int = 0) -> str:
    """A child's execution name: a UUID (as AWS names them) fixed by its Map Run, index and redrive."""
    key = f"{map_run_arn}#{index}" + (f"#{redrive_count}" if redrive_count else "")
    return str(uuid.uuid5(_NAMES, key))


def child_execution_arn(map_run_arn: str, index: int, redrive_count: int = 0) -> str:
    """`...:execution:{machine}/{label}:{name}`."""
    machine = child_machine_arn(map_run_arn)
    prefix, _, name = machine.rpartition(":stateMachine:")
    return f"{prefix}:execution:{name}:{child_name(map_run_arn, index, redrive_count)}"


def processor_definition(processor: dict[str, Any], query_language: str | None) -> str:
    """The child state machine: the ItemProcessor without its ProcessorConfig, in the top level's
    query language (the Map state's own QueryLanguage does not flow into its processor)."""
    doc: dict[str, Any] = {}
    if query_language is not None and query_language != "JSONPath":
        doc["QueryLanguage"] = query_language
    doc.update((k, v) for k, v in processor.items() if k != "ProcessorConfig")
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def map_run_executions(store: Store, map_run_arn: str) -> list[ExecutionRecord]:
    """The Map Run's child executions, newest first (StateMachineDoesNotExist: no such run's machine).

    A child's name is derived from its run, item index and redrive count, so the names of indices
    `0 .. n-1` (n: the machine's executions, more than any run's items that started) find them
    without an index of runs; a redriven parent's new children carry its redrive count.
    """
    candidates = store.list_executions(state_machine=child_machine_arn(map_run_arn))
    by_arn = {record.arn: record for record in candidates}
    found: dict[str, ExecutionRecord] = {}
    redrives = 0
    redrive = 0
    while redrive <= redrives:
        for index in range(len(candidates)):
            arn = child_execution_arn(map_run_arn, index, redrive)
            if arn in by_arn:
                found[arn] = by_arn[arn]
        if redrive == 0 and found:  # how often the parent was redriven bounds the redrive counts
            try:
                parent = store.get_task_token(child_token(next(iter(found)))).execution_arn
                redrives = store.get_execution(parent).redrive_count
            except InvalidToken:
                pass
        redrive += 1
    return [record for record in candidates if record.arn in found]
