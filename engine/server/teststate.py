"""TestState: run one state with an input and report what it did, as AWS's TestState does.

The state runs inside a small machine of its own: every state it may transition to is
a `Succeed` stand-in, so whichever stand-in the run enters is `nextState`. Its Retry is
left out of the run (AWS does not retry either): when the first error matches a
retrier with attempts left, the answer is RETRIABLE. A catcher that handles the error
makes it CAUGHT_ERROR, with the catcher's output and Next. Given `variables` are
assigned by a Pass state in front of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from asl.errors import StatesError
from asl.json_text import dumps
from asl.loader import LoadError
from engine.api import InvalidDefinition, compile_machine, parse_input, run
from engine.execution import Execution, ExecutionStatus
from engine.handlers.base import HandlerRegistry, TaskRequest
from engine.history import HistoryEvent, JsonText
from engine.plan import DISCARD, State
from engine.server.context import ServiceContext, parse_json_document
from engine.server.errors import ApiError, validation
from engine.shapes import TestStateInput, TestStateMock

UNSUPPORTED_TYPES: Final = (
    "TestState API does not support Map or Parallel states. "
    "Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
)
_DEFAULT_STATE_NAME: Final = "TestState"
_VARIABLES_STATE: Final = "TestState.Variables"
_NO_MOCK_TYPES: Final = ("Pass", "Fail", "Succeed")


@dataclass(frozen=True)
class _Subject:
    """The state under test, where its run starts, and which stand-in stands for which target."""

    name: str
    machine: dict[str, Any]
    stand_ins: dict[str, str]


def test_state(ctx: ServiceContext, req: TestStateInput) -> dict[str, Any]:
    name, state, query_language = _pick_state(req.definition, req.stateName)
    state_type = state.get("Type")
    _check_request(req, state, state_type)
    input_text, input_value = parse_input(req.input if req.input is not None else "{}")
    variables = _variables(req.variables)
    subject = _subject(name, state, query_language, variables)
    plan_state = compile_machine(subject.machine).plan.root.states[name]  # validates the state as written
    run_machine = json.loads(json.dumps(subject.machine))
    run_machine["States"][name].pop("Retry", None)
    handlers = _MockHandlers(req.mock) if req.mock is not None else ctx.handlers
    execution = run(
        run_machine,
        input_text,
        state_machine_name=_DEFAULT_STATE_NAME,
        handlers=handlers,
        fast_forward=True,
        partition=ctx.partition,
        lift_limits=ctx.lift_limits,
    )
    retry_count = int((req.stateConfiguration or {}).get("retrierRetryCount", 0) or 0)
    out = _outcome(subject, plan_state, execution, retry_count)
    if req.inspectionLevel != "INFO":
        inspection = out.setdefault("inspectionData", {})
        inspection.update(_inspection(plan_state, input_text, input_value, variables, execution.events, name))
    return out


# ------------------------------------------------------------------ the request


def _pick_state(text: str, state_name: str | None) -> tuple[str, dict[str, Any], str | None]:
    """(name, state, top-level QueryLanguage): a lone state, or `stateName` of a whole machine."""
    try:
        value = parse_json_document(text).value
    except LoadError as exc:
        raise InvalidDefinition([exc.diagnostic]) from None
    if not isinstance(value, dict):
        raise ApiError(
            "InvalidDefinition", "Invalid State Machine Definition: 'the definition is not an object'"
        )
    if state_name is None and "Type" in value:
        return _DEFAULT_STATE_NAME, value, None
    states = value.get("States")
    name = state_name if state_name is not None else value.get("StartAt")
    if not isinstance(states, dict) or not isinstance(name, str) or not isinstance(states.get(name), dict):
        shown = name if isinstance(name, str) else ""
        raise validation(f"State '{shown}' is not present in the state machine definition")
    ql = value.get("QueryLanguage")
    return name, states[name], ql if isinstance(ql, str) else None


def _check_request(req: TestStateInput, state: Mapping[str, Any], state_type: Any) -> None:
    if state_type in ("Map", "Parallel"):
        raise ApiError("InvalidDefinition", UNSUPPORTED_TYPES)
    mock = req.mock
    if mock is not None:
        if mock.result is not None and mock.errorOutput is not None:
            raise validation(
                "A test mock should have only one of the following fields: [result, errorOutput]."
            )
        if mock.result is not None:
            try:
                json.loads(mock.result)
            except ValueError:
                raise validation("Mocked result must be valid JSON") from None
        if state_type in _NO_MOCK_TYPES:
            raise validation(f"State type '{state_type}' is not supported when a mock is specified")
        if req.revealSecrets:
            raise validation("TestState does not support RevealSecrets when a mock is specified.")
    if state_type == "Task" and mock is None:
        if req.roleArn is None:
            raise validation("RoleArn must be specified when testing a Task state")
        if str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            raise validation(
                "statelane's TestState cannot wait for a task token; give a mock for this Task state"
            )


def _variables(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise validation("Variables must be a valid JSON object") from None
    if not isinstance(value, dict):
        raise validation("Variables must be a valid JSON object")
    return value


def _subject(
    name: str, state: Mapping[str, Any], query_language: str | None, variables: Mapping[str, Any]
) -> _Subject:
    tested = json.loads(json.dumps(state))
    stand_ins: dict[str, str] = {}

    def stand_in(target: Any) -> Any:
        if not isinstance(target, str):
            return target
        stub = target if target != name else f"{target} (next)"[:80]
        stand_ins[stub] = target
        return stub

    if "Next" in tested:
        tested["Next"] = stand_in(tested["Next"])
    if "Default" in tested:
        tested["Default"] = stand_in(tested["Default"])
    for key in ("Choices", "Catch"):
        for rule in tested.get(key) or ():
            if isinstance(rule, dict) and "Next" in rule:
                rule["Next"] = stand_in(rule["Next"])
    states: dict[str, Any] = {name: tested}
    states.update({stub: {"Type": "Succeed"} for stub in stand_ins})
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if variables:
        states[_VARIABLES_STATE] = {"Type": "Pass", "Assign": dict(variables), "Next": name}
        machine["StartAt"] = _VARIABLES_STATE
    if query_language is not None:
        machine["QueryLanguage"] = query_language
    return _Subject(name, machine, stand_ins)


class _MockHandlers(HandlerRegistry):
    """Every Task resource answers with the mock: its result, or its error."""

    def __init__(self, mock: TestStateMock) -> None:
        super().__init__()
        self._mock = mock

    def resolve(self, resource: str) -> Any:
        return self

    def handles(self, resource: str) -> bool:
        return True

    def invoke(self, request: TaskRequest) -> Any:
        if self._mock.errorOutput is not None:
            raise StatesError(self._mock.errorOutput.error or "", self._mock.errorOutput.cause)
        return json.loads(self._mock.result) if self._mock.result is not None else {}


# ------------------------------------------------------------------ the answer


def _outcome(subject: _Subject, st: State, execution: Execution, retry_count: int) -> dict[str, Any]:
    events = execution.events
    start = next(
        (i for i, e in enumerate(events) if _entered(e) and (e.details or {}).get("name") == subject.name), 0
    )
    after = events[start + 1 :]
    next_state: str | None = None
    failure: HistoryEvent | None = None
    exited: HistoryEvent | None = None
    for event in after:
        details = event.details or {}
        if _entered(event) and details.get("name") in subject.stand_ins:
            next_state = subject.stand_ins[details["name"]]
            break
        if event.type.endswith("StateExited") and details.get("name") == subject.name:
            exited = event
        elif failure is None and event.type != "ExecutionFailed" and "error" in details:
            failure = event
    out: dict[str, Any] = {}
    error = cause = None
    if failure is not None:
        error, cause = (failure.details or {}).get("error"), (failure.details or {}).get("cause")
    elif execution.status is not ExecutionStatus.SUCCEEDED:
        error, cause = execution.error, execution.cause
    if error is not None or execution.status is not ExecutionStatus.SUCCEEDED:
        _put_error(out, error, cause)
        retry = _retry(st, error or "", retry_count)
        if retry is not None:
            out["status"] = "RETRIABLE"
            out["inspectionData"] = {"errorDetails": retry}
            return out
        if execution.status is not ExecutionStatus.SUCCEEDED:
            out["status"] = "FAILED"
            return out
        out["status"] = "CAUGHT_ERROR"
        index = next((i for i, c in enumerate(st.catchers) if c.matches(error or "")), None)
        if index is not None:
            out["inspectionData"] = {"errorDetails": {"catchIndex": index}}
    else:
        out["status"] = "SUCCEEDED"
    if exited is not None and "output" in (exited.details or {}):
        out["output"] = _text((exited.details or {})["output"])
    elif execution.has_output:
        out["output"] = dumps(execution.output)
    if next_state is not None:
        out["nextState"] = next_state
    return out


def _retry(st: State, error: str, retry_count: int) -> dict[str, Any] | None:
    """AWS consults the first retrier that matches; it retries while it has attempts left."""
    for index, retrier in enumerate(st.retriers):
        if retrier.matches(error):
            if retry_count < retrier.max_attempts:
                delay = retrier.delay(retry_count + 1)
                return {"retryIndex": index, "retryBackoffIntervalSeconds": int(delay)}
            return None
    return None


def _inspection(
    st: State,
    input_text: str,
    input_value: Any,
    variables: Mapping[str, Any],
    events: list[HistoryEvent],
    name: str,
) -> dict[str, Any]:
    """DEBUG's view of the data at each step, as JSON text; steps that cannot be shown are left out."""
    out: dict[str, Any] = {"input": input_text}
    scheduled = _first(events, ("TaskScheduled", "LambdaFunctionScheduled"))
    succeeded = _first(events, ("TaskSucceeded", "LambdaFunctionSucceeded"))
    parameters = None
    if scheduled is not None:
        details = scheduled.details or {}
        parameters = details.get("parameters", details.get("input"))
    result = (succeeded.details or {}).get("output") if succeeded is not None else None
    if variables:
        out["variables"] = dumps(dict(variables))
    if st.is_jsonata:
        if parameters is not None:
            out["afterArguments"] = _text(parameters)
        if result is not None:
            out["result"] = _text(result)
        return out
    try:
        after_input = _after_input_path(st, input_value, variables)
        out["afterInputPath"] = dumps(after_input)
        if parameters is None and st.parameters is not None:
            parameters = st.parameters.evaluate(after_input, None, variables)
        if parameters is not None:
            out["afterParameters"] = _text(parameters)
        if result is None and st.type == "Pass":
            result = st.result if st.has_result else (parameters if parameters is not None else after_input)
        if result is None:
            return out
        value = result
        out["result"] = _text(value)
        if st.result_selector is not None:
            value = st.result_selector.evaluate(value, None, variables)
        out["afterResultSelector"] = dumps(value)
        out["afterResultPath"] = dumps(_after_result_path(st, input_value, value))
    except (StatesError, LookupError, TypeError, ValueError):
        pass  # a step that needs the context object: the run's own answer still stands
    return out


def _after_input_path(st: State, value: Any, variables: Mapping[str, Any]) -> Any:
    if st.input_path is None:
        return value
    if st.input_path is DISCARD:
        return {}
    return st.input_path.evaluate(value, None, variables)  # type: ignore[union-attr]


def _after_result_path(st: State, raw: Any, result: Any) -> Any:
    if st.result_path is None:
        return result
    if st.result_path is DISCARD:
        return raw
    return st.result_path.assign(raw, result)  # type: ignore[union-attr]


def _first(events: list[HistoryEvent], types: tuple[str, ...]) -> HistoryEvent | None:
    return next((e for e in events if e.type in types), None)


def _entered(event: HistoryEvent) -> bool:
    return event.type.endswith("StateEntered")


def _text(value: Any) -> str:
    """History details hold JSON values, and verbatim text only as JsonText."""
    return str(value) if isinstance(value, JsonText) else dumps(value)


def _put_error(out: dict[str, Any], error: str | None, cause: str | None) -> None:
    if error is not None:
        out["error"] = error
    if cause is not None:
        out["cause"] = cause
