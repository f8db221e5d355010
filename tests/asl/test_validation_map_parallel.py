"""Parallel and Map: nested scopes, processors, items, tuning fields, reader/batcher/writer, Label."""

from __future__ import annotations

from typing import Any

import pytest
from test_validation_support import PASS_END, assert_valid, errors, machine, only_error, warnings

PROCESSOR = {"StartAt": "I", "States": {"I": PASS_END}}
DISTRIBUTED = {**PROCESSOR, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}


def map_state(ql: str | None = None, **fields: Any) -> dict[str, Any]:
    top = {"QueryLanguage": ql} if ql else {}
    fields.setdefault("ItemProcessor", PROCESSOR)
    return machine({"M": {"Type": "Map", "End": True, **fields}}, **top)


def parallel(*branches: Any) -> dict[str, Any]:
    return machine({"P": {"Type": "Parallel", "Branches": list(branches), "End": True}})


def test_valid_parallel() -> None:
    assert_valid(
        parallel(
            {"StartAt": "A", "States": {"A": PASS_END}},
            {"StartAt": "B", "States": {"B": PASS_END}, "Comment": "c"},
        )
    )


def test_empty_branches() -> None:
    d = only_error(parallel())
    assert (d.pointer, d.message) == ("/States/P/Branches", "Value cannot be empty")


def test_branch_is_its_own_scope() -> None:
    branch = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "A2"}, "A2": {"Type": "Pass", "Next": "A"}},
    }
    assert errors(parallel(branch)) == [("MISSING_END_STATE", "/States/P/Branches/0/States")]
    branch = {"StartAt": "X", "States": {"A": PASS_END}}
    assert errors(parallel(branch)) == [("MISSING_TRANSITION_TARGET", "/States/P/Branches/0/StartAt")]
    branch = {"StartAt": "A", "States": {"A": PASS_END, "B": PASS_END}}
    assert errors(parallel(branch)) == [("MISSING_TRANSITION_TARGET", "/States/P/Branches/0/States/B")]


def test_branch_fields() -> None:
    assert errors(parallel({"StartAt": "A", "States": {"A": PASS_END}, "QueryLanguage": "JSONata"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0/QueryLanguage")
    ]
    assert errors(parallel({"States": {"A": PASS_END}})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0")
    ]
    assert errors(parallel("x")) == [("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0")]


def test_valid_maps() -> None:
    assert_valid(
        map_state(
            ItemsPath="$.items", ItemSelector={"v.$": "$$.Map.Item.Value"}, MaxConcurrency=0, ResultPath="$.r"
        )
    )
    assert_valid(
        machine({"M": {"Type": "Map", "Iterator": PROCESSOR, "Parameters": {"a.$": "$"}, "End": True}})
    )
    assert_valid(
        map_state(
            ItemProcessor=DISTRIBUTED,
            Label="my-label",
            ToleratedFailurePercentage=5.5,
            ToleratedFailureCountPath="$.n",
            MaxConcurrencyPath="$.c",
        )
    )
    assert_valid(
        map_state(
            ql="JSONata",
            Items="{% $states.input.xs %}",
            MaxConcurrency="{% 2 %}",
            ItemSelector={"v": "{% $states.context.Map.Item.Value %}"},
        )
    )
    assert_valid(map_state(ql="JSONata", Items=[1, 2], ToleratedFailureCount="{% $variable := 1 %}"))


def test_processor_required_and_exclusive() -> None:
    definition = machine({"M": {"Type": "Map", "End": True}})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/M")]
    assert errors(map_state(Iterator=PROCESSOR)) == [("SCHEMA_VALIDATION_FAILED", "/States/M/Iterator")]


def test_processor_fields() -> None:
    assert errors(map_state(ItemProcessor={**PROCESSOR, "QueryLanguage": "JSONata"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/M/ItemProcessor/QueryLanguage")
    ]
    config = {"Mode": "DISTRIBUTED"}
    assert errors(map_state(ItemProcessor={**PROCESSOR, "ProcessorConfig": config})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/M/ItemProcessor/ProcessorConfig")
    ]
    config = {"Mode": "INLIN"}
    d = only_error(map_state(ItemProcessor={**PROCESSOR, "ProcessorConfig": config}))
    assert (
        d.pointer == "/States/M/ItemProcessor/ProcessorConfig/Mode" and "did you mean 'INLINE'?" in d.message
    )


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"ItemsPath": "$.a[*]"}, "/States/M/ItemsPath"),
        ({"MaxConcurrency": -1}, "/States/M/MaxConcurrency"),
        ({"MaxConcurrency": 1, "MaxConcurrencyPath": "$.c"}, "/States/M/MaxConcurrencyPath"),
        ({"ToleratedFailurePercentage": 101}, "/States/M/ToleratedFailurePercentage"),
        ({"ToleratedFailureCount": 1.5}, "/States/M/ToleratedFailureCount"),
        ({"ToleratedFailureCountPath": "n"}, "/States/M/ToleratedFailureCountPath"),
        ({"ItemSelector": {"a.$": "$.x"}, "Parameters": {"a.$": "$.x"}}, "/States/M/Parameters"),
        ({"ItemSelector": {"a.$": "x"}}, "/States/M/ItemSelector/a.$"),
        ({"Items": [1]}, "/States/M/Items"),
    ],
)
def test_invalid_jsonpath_map_fields(fields: dict[str, Any], pointer: str) -> None:
    assert errors(map_state(**fields)) == [("SCHEMA_VALIDATION_FAILED", pointer)]


def test_jsonata_items_must_be_array_or_expression() -> None:
    assert errors(map_state(ql="JSONata", Items={"a": 1})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/M/Items")
    ]
    assert errors(map_state(ql="JSONata", ItemsPath="$.a")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/M/ItemsPath")
    ]


def test_item_reader_batcher_writer() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key": "k"},
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 10},
    }
    batcher = {"MaxItemsPerBatch": 10, "BatchInput": {"x.$": "$.x"}}
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "b", "Prefix": "p"},
        "WriterConfig": {"OutputType": "JSON", "Transformation": "COMPACT"},
    }
    assert_valid(
        map_state(ItemProcessor=DISTRIBUTED, ItemReader=reader, ItemBatcher=batcher, ResultWriter=writer)
    )


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:get"}}, "/States/M/ItemReader/Resource"),
        ({"ItemReader": {"Parameters": {}}}, "/States/M/ItemReader"),
        (
            {
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "XML"},
                }
            },
            "/States/M/ItemReader/ReaderConfig/InputType",
        ),
        (
            {
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"},
                }
            },
            "/States/M/ItemReader/ReaderConfig",
        ),
        (
            {
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"MaxItems": 1, "MaxItemsPath": "$.m"},
                }
            },
            "/States/M/ItemReader/ReaderConfig/MaxItemsPath",
        ),
        ({"ItemBatcher": {"BatchInput": {}}}, "/States/M/ItemBatcher"),
        ({"ItemBatcher": {"MaxItemsPerBatch": 0}}, "/States/M/ItemBatcher/MaxItemsPerBatch"),
        (
            {"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "WriterConfig": {}}},
            "/States/M/ResultWriter/WriterConfig",
        ),
        (
            {"ResultWriter": {"WriterConfig": {"OutputType": "CSV"}}},
            "/States/M/ResultWriter/WriterConfig/OutputType",
        ),
        ({"Label": ""}, "/States/M/Label"),
        ({"Label": "x" * 41}, "/States/M/Label"),
        ({"Label": "a b"}, "/States/M/Label"),
    ],
)
def test_invalid_distributed_fields(fields: dict[str, Any], pointer: str) -> None:
    assert errors(map_state(ItemProcessor=DISTRIBUTED, **fields)) == [("SCHEMA_VALIDATION_FAILED", pointer)]


def test_label_messages() -> None:
    assert (
        only_error(map_state(ItemProcessor=DISTRIBUTED, Label="a:b")).message
        == "Label contains invalid character: ':'"
    )


def test_distributed_only_fields_in_inline_map_warn() -> None:
    definition = map_state(Label="x")
    assert errors(definition) == []
    assert warnings(definition) == [("DISTRIBUTED_MAP_ONLY", "/States/M/Label")]


def test_processor_is_its_own_scope() -> None:
    processor = {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Outside"}}}
    definition = machine(
        {"M": {"Type": "Map", "ItemProcessor": processor, "Next": "Outside"}, "Outside": PASS_END}
    )
    assert errors(definition) == [
        ("MISSING_TRANSITION_TARGET", "/States/M/ItemProcessor/States/I/Next"),
        ("MISSING_END_STATE", "/States/M/ItemProcessor/States"),
    ]
