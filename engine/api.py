"""The Python API: run a state machine to completion and get its description back.

`engine.run(...)` is what `statelane run` calls and what tests and embedders use;
it returns the same `Execution` record whose `describe()` is DescribeExecution's
shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from asl.diagnostics import Diagnostic, Severity
from engine.callbacks import Callbacks, MemoryCallbacks
from engine.clock import Clock, RealClock, VirtualClock
from engine.execution import Execution
from engine.handlers.base import HandlerRegistry, TaskHandler
from engine.handlers.lambda_local import LambdaFunction
from engine.history import HistoryEvent
from engine.ids import IdSource, Partition
from engine.interpreter import Interpreter, Limits
from engine.plan import Plan, compile_plan

EXPRESS_MAX_SECONDS = 300


class InvalidDefinition(Exception):
    """The definition failed validation; nothing ran."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        text = ", ".join(
            f"{d.code}: {d.message}" + (f" at {d.pointer}" if d.pointer else "") for d in self.diagnostics
        )
        super().__init__(f"Invalid State Machine Definition: '{text}'")


class InvalidExecutionInput(Exception):
    """The execution input is not a JSON document (or is too large)."""


@dataclass(frozen=True)
class CompiledMachine:
    definition: Mapping[str, Any]
    plan: Plan
    warnings: tuple[Diagnostic, ...]


def compile_machine(definition: str | Mapping[str, Any], *, express: bool = False) -> CompiledMachine:
    """Validate and compile a definition (JSON text or a parsed mapping); cached by text."""
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return _compile_cached(text, express)


@lru_cache(maxsize=64)
def _compile_cached(text: str, express: bool) -> CompiledMachine:
    from asl import load, validate

    document = load(text)
    diagnostics = validate(document, express=express)
    errors_found = [d for d in diagnostics if d.severity == Severity.ERROR]
    if errors_found:
        raise InvalidDefinition(errors_found)
    value = document.value
    return CompiledMachine(
        definition=value,
        plan=compile_plan(value),
        warnings=tuple(d for d in diagnostics if d.severity != Severity.ERROR),
    )


def parse_input(text: str | None, *, lift_limits: bool = False) -> tuple[str, Any]:
    """(verbatim text, value) of an execution input; `{}` when none is given, as on AWS."""
    if text is None:
        return "{}", {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    if not lift_limits and len(text.encode("utf-8")) > 256 * 1024:
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'input exceeds 262144 bytes'")
    return text, value


def build_handlers(
    lambdas: str | Sequence[str] | Mapping[str, LambdaFunction] | None = None,
    extra: Sequence[TaskHandler] = (),
    ids: IdSource | None = None,
) -> HandlerRegistry:
    """The default registry: local Lambda functions, plugins; no configuration file is read.

    `engine.handlers.registry.build_registry` is the full builder (configuration, AWS
    backends, mocks); this keeps the original call working.
    """
    from engine.handlers.registry import build_registry

    return build_registry(lambdas=lambdas, extra=extra, ids=ids)


def run(
    definition: str | Mapping[str, Any],
    input: str | None = None,
    *,
    name: str | None = None,
    state_machine_name: str = "StateMachine",
    express: bool = False,
    lambdas: str | Sequence[str] | Mapping[str, LambdaFunction] | None = None,
    handlers: HandlerRegistry | None = None,
    fast_forward: bool = False,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    partition: Partition | None = None,
    lift_limits: bool = False,
    listener: Callable[[HistoryEvent], None] | None = None,
    callbacks: Callbacks | None = None,
) -> Execution:
    """Run one execution to its end, in this thread, and return its record.

    Raises InvalidDefinition or InvalidExecutionInput before anything runs.
    `.waitForTaskToken` tasks wait for answers given to `callbacks` (a MemoryCallbacks,
    answered from another thread with send_task_success/failure/heartbeat).
    """
    machine = compile_machine(definition, express=express)
    input_text, input_value = parse_input(input, lift_limits=lift_limits)
    ids = ids or IdSource()
    partition = partition or Partition()
    clock = clock or (VirtualClock() if fast_forward else RealClock())
    registry = handlers or build_handlers(lambdas, ids=ids)
    exec_name = name or ids.uuid4()
    machine_arn = partition.state_machine_arn(state_machine_name)
    if express:
        arn = partition.express_execution_arn(state_machine_name, exec_name, ids.uuid4())
    else:
        arn = partition.execution_arn(state_machine_name, exec_name)
    execution = Execution(
        execution_arn=arn,
        state_machine_arn=machine_arn,
        state_machine_name=state_machine_name,
        name=exec_name,
        input_text=input_text,
        input=input_value,
        start_date=clock.now(),
        express=express,
        role_arn=partition.role_arn(),
    )
    plan = machine.plan
    interpreter = Interpreter(
        plan,
        execution,
        handlers=registry,
        clock=clock,
        ids=ids,
        partition=partition,
        limits=Limits(lifted=lift_limits),
        listener=listener,
    )
    interpreter.callbacks = callbacks if callbacks is not None else MemoryCallbacks()
    return interpreter.run()
