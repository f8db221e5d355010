"""The compiled plan of a state machine.

A definition that passed `asl.validate` is compiled here exactly once: every path,
payload template, intrinsic, choice rule and JSONata expression becomes a compiled
object, so the interpreter only evaluates. Plans are immutable and shared by every
execution of the same definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from asl import errors
from asl.choice import ChoiceRule, compile_choice_rule
from asl.intrinsics import Intrinsic, compile_intrinsic
from asl.jsonata import JsonataTemplate
from asl.jsonata import compile_template as compile_jsonata
from asl.paths import Path, ReferencePath, compile_path, compile_reference_path
from asl.templates import Template, compile_template

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"


class _Discard:
    """Marks a path field explicitly set to JSON null (`"ResultPath": null`), which differs from absent."""

    _instance: _Discard | None = None

    def __new__(cls) -> _Discard:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DISCARD"


DISCARD: Final = _Discard()

PathField = Path | _Discard | None
RefPathField = ReferencePath | _Discard | None


@dataclass(frozen=True, slots=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: float | None
    jitter_full: bool

    def matches(self, error: str, *, heartbeat: bool = False) -> bool:
        return _error_matches(self.error_equals, error, heartbeat)

    def delay(self, attempt: int) -> float:
        """Delay before the `attempt`-th retry (1-based) of this retrier, before jitter."""
        d = self.interval_seconds * self.backoff_rate ** (attempt - 1)
        if self.max_delay_seconds is not None:
            d = min(d, self.max_delay_seconds)
        return d


@dataclass(frozen=True, slots=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: RefPathField
    output: JsonataTemplate | None
    assign: Template | JsonataTemplate | None

    def matches(self, error: str, *, heartbeat: bool = False) -> bool:
        return _error_matches(self.error_equals, error, heartbeat)


def _error_matches(error_equals: tuple[str, ...], error: str, heartbeat: bool = False) -> bool:
    """AWS's matching: exact names, `States.ALL` for everything but `States.Runtime`,
    `States.TaskFailed` for everything but `States.Timeout`; a heartbeat timeout is
    recorded as `States.Timeout` and also answers to `States.HeartbeatTimeout`."""
    if error == errors.RUNTIME:
        return False
    for name in error_equals:
        if name == error or name == errors.ALL:
            return True
        if name == errors.TASK_FAILED and error not in (errors.TIMEOUT, errors.HEARTBEAT_TIMEOUT):
            return True
        if name == errors.HEARTBEAT_TIMEOUT and heartbeat:
            return True
    return False


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    rule: ChoiceRule | None  # JSONPath
    condition: JsonataTemplate | None  # JSONata
    next: str
    assign: Template | JsonataTemplate | None
    output: JsonataTemplate | None


@dataclass(slots=True)
class State:
    """One compiled state. Fields that do not apply to a type stay None."""

    name: str
    type: str
    query_language: str
    next: str | None = None
    end: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    uses_context: bool = False
    # JSONPath I/O
    input_path: PathField = None
    output_path: PathField = None
    parameters: Template | None = None
    result_selector: Template | None = None
    result_path: RefPathField = None
    result: Any = None
    has_result: bool = False
    # JSONata I/O
    arguments: JsonataTemplate | None = None
    output: JsonataTemplate | None = None
    # both
    assign: Template | JsonataTemplate | None = None
    retriers: tuple[Retrier, ...] = ()
    catchers: tuple[Catcher, ...] = ()
    # Task
    resource: str | None = None
    timeout_seconds: int | None = None
    timeout_seconds_path: ReferencePath | None = None
    timeout_expr: JsonataTemplate | None = None
    heartbeat_seconds: int | None = None
    heartbeat_seconds_path: ReferencePath | None = None
    heartbeat_expr: JsonataTemplate | None = None
    credentials: Any = None
    # Choice
    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None
    # Wait
    seconds: int | None = None
    timestamp: str | None = None
    seconds_path: ReferencePath | None = None
    timestamp_path: ReferencePath | None = None
    seconds_expr: JsonataTemplate | None = None
    timestamp_expr: JsonataTemplate | None = None
    # Fail
    error: str | None = None
    cause: str | None = None
    error_path: Path | Intrinsic | None = None
    cause_path: Path | Intrinsic | None = None
    error_expr: JsonataTemplate | None = None
    cause_expr: JsonataTemplate | None = None
    # Parallel
    branches: tuple[Scope, ...] = ()
    # Map
    processor: Scope | None = None
    distributed: bool = False
    items_path: ReferencePath | None = None
    items_expr: JsonataTemplate | None = None
    item_selector: Template | JsonataTemplate | None = None
    max_concurrency: int = 0
    max_concurrency_path: ReferencePath | None = None
    max_concurrency_expr: JsonataTemplate | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: ReferencePath | None = None
    tolerated_failure_count_expr: JsonataTemplate | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: ReferencePath | None = None
    tolerated_failure_percentage_expr: JsonataTemplate | None = None
    item_batcher: Mapping[str, Any] | None = None
    batch_input: Template | JsonataTemplate | None = None
    label: str | None = None

    @property
    def is_jsonata(self) -> bool:
        return self.query_language == JSONATA


@dataclass(slots=True)
class Scope:
    """A `States` object with its `StartAt`: the top level, a Parallel branch or a Map processor."""

    start_at: str
    states: dict[str, State]
    #: Where this scope sits in the machine ("" for the top level, "Name/branch/0", "Name/items"),
    #: so a checkpoint can name it.
    key: str = ""

    @property
    def start(self) -> State:
        return self.states[self.start_at]


@dataclass(frozen=True, slots=True)
class Plan:
    definition: Mapping[str, Any]
    root: Scope
    timeout_seconds: int | None
    query_language: str
    scopes: Mapping[str, Scope] = field(default_factory=dict)


class PlanError(ValueError):
    """The definition cannot be compiled (it should have failed validation)."""


def compile_plan(definition: Mapping[str, Any]) -> Plan:
    top_ql = definition.get("QueryLanguage", JSONPATH)
    root = _compile_scope(definition, top_ql, "")
    timeout = definition.get("TimeoutSeconds")
    scopes: dict[str, Scope] = {}
    _index_scopes(root, scopes)
    return Plan(
        definition=definition, root=root, timeout_seconds=timeout, query_language=top_ql, scopes=scopes
    )


def _index_scopes(scope: Scope, out: dict[str, Scope]) -> None:
    out[scope.key] = scope
    for st in scope.states.values():
        for branch in st.branches:
            _index_scopes(branch, out)
        if st.processor is not None:
            _index_scopes(st.processor, out)


def _compile_scope(node: Mapping[str, Any], top_ql: str, key: str) -> Scope:
    states = {name: _compile_state(name, raw, top_ql) for name, raw in node["States"].items()}
    return Scope(start_at=node["StartAt"], states=states, key=key)


def _opt_path(raw: Mapping[str, Any], key: str) -> PathField:
    if key not in raw:
        return None
    value = raw[key]
    return DISCARD if value is None else compile_path(value)


def _opt_ref(raw: Mapping[str, Any], key: str) -> ReferencePath | None:
    value = raw.get(key)
    return None if value is None else compile_reference_path(value)


def _ata(raw: Mapping[str, Any], key: str, field_name: str | None = None) -> JsonataTemplate | None:
    if key not in raw:
        return None
    return compile_jsonata(raw[key], field_name or key)


def _assign(raw: Mapping[str, Any], jsonata: bool) -> Template | JsonataTemplate | None:
    if "Assign" not in raw:
        return None
    if jsonata:
        return compile_jsonata(raw["Assign"], "Assign")
    return compile_template(raw["Assign"], "Assign")


def _static_or_expr(raw: Mapping[str, Any], key: str, jsonata: bool) -> tuple[Any, JsonataTemplate | None]:
    """A field that JSONata states may write as `{% %}`: (static value, expression)."""
    if key not in raw:
        return None, None
    value = raw[key]
    if jsonata and isinstance(value, str):
        return None, compile_jsonata(value, key)
    return value, None


def _compile_state(name: str, raw: Mapping[str, Any], top_ql: str) -> State:
    ql = raw.get("QueryLanguage", top_ql)
    jsonata = ql == JSONATA
    st = State(name=name, type=raw["Type"], query_language=ql, raw=raw)
    st.next = raw.get("Next")
    st.end = bool(raw.get("End", False))
    text = json.dumps(raw)
    st.uses_context = "$$" in text or "states.context" in text or "$states" in text
    if not jsonata:
        st.input_path = _opt_path(raw, "InputPath")
        st.output_path = _opt_path(raw, "OutputPath")
        if "Parameters" in raw and st.type != "Map":
            st.parameters = compile_template(raw["Parameters"], "Parameters")
        if "ResultSelector" in raw:
            st.result_selector = compile_template(raw["ResultSelector"], "ResultSelector")
        if "ResultPath" in raw:
            st.result_path = (
                DISCARD if raw["ResultPath"] is None else compile_reference_path(raw["ResultPath"])
            )
    else:
        st.arguments = _ata(raw, "Arguments")
        st.output = _ata(raw, "Output")
    st.assign = _assign(raw, jsonata)
    st.retriers = tuple(_compile_retrier(r) for r in raw.get("Retry", ()))
    st.catchers = tuple(_compile_catcher(c, jsonata) for c in raw.get("Catch", ()))

    kind = st.type
    if kind == "Pass":
        if "Result" in raw:
            st.result, st.has_result = raw["Result"], True
    elif kind == "Task":
        st.resource = raw["Resource"]
        st.timeout_seconds, st.timeout_expr = _static_or_expr(raw, "TimeoutSeconds", jsonata)
        st.heartbeat_seconds, st.heartbeat_expr = _static_or_expr(raw, "HeartbeatSeconds", jsonata)
        st.timeout_seconds_path = _opt_ref(raw, "TimeoutSecondsPath")
        st.heartbeat_seconds_path = _opt_ref(raw, "HeartbeatSecondsPath")
        st.credentials = raw.get("Credentials")
    elif kind == "Choice":
        st.choices = tuple(_compile_choice(rule, jsonata) for rule in raw.get("Choices", ()))
        st.default = raw.get("Default")
    elif kind == "Wait":
        st.seconds, st.seconds_expr = _static_or_expr(raw, "Seconds", jsonata)
        st.timestamp, st.timestamp_expr = _static_or_expr(raw, "Timestamp", jsonata)
        st.seconds_path = _opt_ref(raw, "SecondsPath")
        st.timestamp_path = _opt_ref(raw, "TimestampPath")
    elif kind == "Fail":
        st.error, st.error_expr = _static_or_expr(raw, "Error", jsonata)
        st.cause, st.cause_expr = _static_or_expr(raw, "Cause", jsonata)
        st.error_path = _path_or_intrinsic(raw.get("ErrorPath"))
        st.cause_path = _path_or_intrinsic(raw.get("CausePath"))
    elif kind == "Parallel":
        st.branches = tuple(
            _compile_scope(b, top_ql, f"{name}/branch/{i}") for i, b in enumerate(raw["Branches"])
        )
    elif kind == "Map":
        _compile_map(st, raw, top_ql, jsonata)
    elif kind not in ("Succeed",):
        raise PlanError(f"unknown state type {kind!r}")
    return st


def _path_or_intrinsic(text: str | None) -> Path | Intrinsic | None:
    if text is None:
        return None
    if text.startswith("$"):
        return compile_path(text)
    return compile_intrinsic(text)


def _compile_map(st: State, raw: Mapping[str, Any], top_ql: str, jsonata: bool) -> None:
    processor = raw.get("ItemProcessor") or raw.get("Iterator")
    if processor is None:
        raise PlanError(f"Map state {st.name!r} has no ItemProcessor")
    st.processor = _compile_scope(processor, top_ql, f"{st.name}/items")
    config = processor.get("ProcessorConfig") or {}
    st.distributed = config.get("Mode") == "DISTRIBUTED"
    st.label = raw.get("Label")
    if jsonata:
        st.items_expr = _ata(raw, "Items")
        if "ItemSelector" in raw:
            st.item_selector = compile_jsonata(raw["ItemSelector"], "ItemSelector")
    else:
        st.items_path = _opt_ref(raw, "ItemsPath")
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        if selector is not None:
            st.item_selector = compile_template(
                selector, "ItemSelector" if "ItemSelector" in raw else "Parameters"
            )
    value, st.max_concurrency_expr = _static_or_expr(raw, "MaxConcurrency", jsonata)
    st.max_concurrency = int(value or 0)
    st.max_concurrency_path = _opt_ref(raw, "MaxConcurrencyPath")
    st.tolerated_failure_count, st.tolerated_failure_count_expr = _static_or_expr(
        raw, "ToleratedFailureCount", jsonata
    )
    st.tolerated_failure_count_path = _opt_ref(raw, "ToleratedFailureCountPath")
    st.tolerated_failure_percentage, st.tolerated_failure_percentage_expr = _static_or_expr(
        raw, "ToleratedFailurePercentage", jsonata
    )
    st.tolerated_failure_percentage_path = _opt_ref(raw, "ToleratedFailurePercentagePath")
    batcher = raw.get("ItemBatcher")
    if batcher is not None:
        st.item_batcher = batcher
        if "BatchInput" in batcher:
            bi = batcher["BatchInput"]
            st.batch_input = (
                compile_jsonata(bi, "ItemBatcher/BatchInput")
                if jsonata
                else compile_template(bi, "BatchInput")
            )


def _compile_retrier(raw: Mapping[str, Any]) -> Retrier:
    return Retrier(
        error_equals=tuple(raw["ErrorEquals"]),
        interval_seconds=raw.get("IntervalSeconds", 1),
        max_attempts=raw.get("MaxAttempts", 3),
        backoff_rate=raw.get("BackoffRate", 2.0),
        max_delay_seconds=raw.get("MaxDelaySeconds"),
        jitter_full=raw.get("JitterStrategy", "NONE") == "FULL",
    )


def _compile_catcher(raw: Mapping[str, Any], jsonata: bool) -> Catcher:
    result_path: RefPathField = None
    if not jsonata and "ResultPath" in raw:
        result_path = DISCARD if raw["ResultPath"] is None else compile_reference_path(raw["ResultPath"])
    return Catcher(
        error_equals=tuple(raw["ErrorEquals"]),
        next=raw["Next"],
        result_path=result_path,
        output=_ata(raw, "Output") if jsonata else None,
        assign=_assign(raw, jsonata),
    )


def _compile_choice(raw: Mapping[str, Any], jsonata: bool) -> ChoiceBranch:
    if jsonata:
        return ChoiceBranch(
            rule=None,
            condition=compile_jsonata(raw["Condition"], "Condition"),
            next=raw["Next"],
            assign=_assign(raw, True),
            output=_ata(raw, "Output"),
        )
    return ChoiceBranch(
        rule=compile_choice_rule(raw),
        condition=None,
        next=raw["Next"],
        assign=_assign(raw, False),
        output=None,
    )


def iter_states(scope: Scope) -> Sequence[State]:
    """Every state of a scope and of the scopes nested in it (for lookups by name, e.g. mocks)."""
    out: list[State] = []
    for st in scope.states.values():
        out.append(st)
        for b in st.branches:
            out.extend(iter_states(b))
        if st.processor is not None:
            out.extend(iter_states(st.processor))
    return out
