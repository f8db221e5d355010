"""Properties: whatever the definition, validate only returns Diagnostics that point into it."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asl.diagnostics import Diagnostic
from asl.loader import load
from asl.validation import validate

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"
SEEDS: list[dict[str, Any]] = [
    {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": FN,
                "Parameters": {"a.$": "$.a", "f.$": "States.Format('{}', $.b)"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F", "ResultPath": "$.e"}],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.x", "NumericGreaterThan": 1},
                            {"Not": {"Variable": "$.y", "IsNull": True}},
                        ],
                        "Next": "W",
                    }
                ],
                "Default": "M",
            },
            "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "MaxConcurrency": 2,
                "Assign": {"n.$": "$"},
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Next": "P",
            },
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
                "End": True,
            },
            "F": {"Type": "Fail", "Error": "E", "CausePath": "$.c"},
        },
    },
    {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                "Output": "{% $states.result.Payload %}",
                "Assign": {"v": "{% $states.result %}"},
                "Catch": [{"ErrorEquals": ["X"], "Next": "S", "Output": "{% $states.errorOutput %}"}],
                "Next": "C",
            },
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $v > 1 %}", "Next": "S"}], "Default": "M"},
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "I",
                    "States": {"I": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": True}},
                },
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "Label": "L",
                "Next": "S",
            },
            "S": {"Type": "Succeed", "Output": {"a": "{% $v %}"}},
        },
    },
]

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False, width=16)
    | st.sampled_from(
        [
            "",
            "$",
            "$.a",
            "$$.x",
            "{% 1 %}",
            "{% ( %}",
            "States.ALL",
            "States.Format('{}')",
            "T",
            "x.$",
            "Pass",
            "Map",
            "JSONata",
            "DISTRIBUTED",
        ]
    )
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["Type", "Next", "End", "States", "StartAt", "Variable", "x.$", "Assign", "a"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _containers(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _containers(item, (*path, i))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for token in path:
        value = value[token]
    return value


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    definition = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_containers(definition)))
        if not path:
            continue
        parent = _get(definition, path[:-1])
        action = draw(st.sampled_from(["delete", "replace", "rename"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(_json)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["Type", "Next", "Nxt", "Output", "Parameters", "Iterator"]))] = (
                parent.pop(path[-1])
            )
    return definition


def _resolves(value: Any, pointer: str) -> bool:
    if pointer == "":
        return True
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return False
    return True


def _check(definition: Any, *, express: bool) -> None:
    doc = load(json.dumps(definition, indent=1))
    found = validate(doc, express=express)
    assert all(isinstance(d, Diagnostic) for d in found)
    for d in found:
        assert d.pointer is None or _resolves(definition, d.pointer), d
        if d.pointer is not None:
            assert d.line is not None, d


def test_seeds_are_valid() -> None:
    for seed in SEEDS:
        assert [d for d in validate(seed) if d.severity.value == "ERROR"] == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_mutated_definitions_never_crash(definition: Any, express: bool) -> None:
    _check(definition, express=express)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_random_json_never_crashes(value: Any) -> None:
    _check(value, express=False)
    _check({"StartAt": "T", "States": {"T": value}}, express=False)
