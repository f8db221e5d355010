"""Parallel and Map states: their nested scopes and the Map's many tuning fields.

Each Parallel branch and each Map item processor is a scope of its own (its own
StartAt, transitions, terminal state and variables), validated by the same scope
walk as the top level.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from asl.validation.context import JSONATA, JSONPATH, Context, Obj, State, child, is_int, is_number, json_type
from asl.validation.expressions import (
    check_jsonata_or,
    check_jsonata_value,
    check_reference_path,
    check_template,
)
from asl.validation.fields import check_enum, check_exclusive, check_object_fields, check_required

_CONTAINER_FIELDS: Final = frozenset({"StartAt", "States", "Comment"})
_PROCESSOR_FIELDS: Final = _CONTAINER_FIELDS | {"ProcessorConfig"}
_LABEL_FORBIDDEN: Final = re.compile(r"[\s?*<>{}\[\]:;,\\|^~$#%&`\"\x00-\x1f\x7f-\x9f]")
_S3 = r"^arn:aws(?:-[a-z]+)*:states:::s3:"
_READER_RESOURCE: Final = re.compile(_S3 + r"(?:getObject|listObjectsV2)$")
_WRITER_RESOURCE: Final = re.compile(_S3 + r"putObject$")
_DISTRIBUTED_ONLY: Final = ("ItemReader", "ItemBatcher", "ResultWriter", "Label")


def check_parallel(ctx: Context, st: State) -> None:
    branches = st.value.get("Branches")
    pointer = st.at("Branches")
    if branches is None:
        return
    if not isinstance(branches, list):
        ctx.schema(f"The field 'Branches' must be an array, not {json_type(branches)}", pointer)
        return
    if not branches:
        ctx.schema("Value cannot be empty", pointer)
    for i, branch in enumerate(branches):
        _check_container(ctx, st, branch, child(pointer, i), _CONTAINER_FIELDS, "A branch")


def _check_container(
    ctx: Context, st: State, container: Any, pointer: str, allowed: frozenset[str], what: str
) -> None:
    from asl.validation.structure import check_scope

    if not isinstance(container, dict):
        message = f"{what} must be an object with 'StartAt' and 'States', not {json_type(container)}"
        ctx.schema(message, pointer)
        return
    check_object_fields(ctx, container, pointer, st.ql, allowed)
    check_required(ctx, container, pointer, ("StartAt", "States"))
    if "Comment" in container and not isinstance(container["Comment"], str):
        ctx.schema("The field 'Comment' must be a string", child(pointer, "Comment"))
    check_scope(ctx, container, pointer, st.scope.top_ql, st.scope.outer_vars | st.scope.vars)


def check_map(ctx: Context, st: State) -> None:
    value = st.value
    check_exclusive(ctx, value, st.pointer, "ItemProcessor", "Iterator")
    name = "ItemProcessor" if "ItemProcessor" in value else "Iterator" if "Iterator" in value else None
    distributed = False
    if name is None:
        ctx.schema("These fields are required: [ItemProcessor]", st.pointer, at_key=True)
    else:
        processor = value[name]
        if isinstance(processor, dict):
            distributed = _check_processor_config(ctx, processor, st.at(name))
        _check_container(ctx, st, processor, st.at(name), _PROCESSOR_FIELDS, f"'{name}'")
    if not distributed:
        for field in _DISTRIBUTED_ONLY:
            if field in value:
                ctx.warning(
                    "DISTRIBUTED_MAP_ONLY",
                    f"The field '{field}' only has an effect in a Distributed Map "
                    "(ProcessorConfig.Mode DISTRIBUTED)",
                    st.at(field),
                    at_key=True,
                )
    _check_items(ctx, st)
    _check_tuning(ctx, st)
    if "ItemReader" in value:
        _check_item_reader(ctx, st, value["ItemReader"], st.at("ItemReader"))
    if "ItemBatcher" in value:
        _check_item_batcher(ctx, st, value["ItemBatcher"], st.at("ItemBatcher"))
    if "ResultWriter" in value:
        _check_result_writer(ctx, st, value["ResultWriter"], st.at("ResultWriter"))
    if "Label" in value:
        _check_label(ctx, value["Label"], st.at("Label"))


def _check_processor_config(ctx: Context, processor: Obj, pointer: str) -> bool:
    """Checks `ProcessorConfig`; True for a Distributed Map."""
    config = processor.get("ProcessorConfig")
    if config is None:
        return False
    at = child(pointer, "ProcessorConfig")
    if not isinstance(config, dict):
        ctx.schema(f"The field 'ProcessorConfig' must be an object, not {json_type(config)}", at)
        return False
    check_object_fields(ctx, config, at, JSONPATH, frozenset({"Mode", "ExecutionType"}))
    check_enum(ctx, config, at, "Mode", ("INLINE", "DISTRIBUTED"))
    check_enum(ctx, config, at, "ExecutionType", ("STANDARD", "EXPRESS"))
    distributed = config.get("Mode") == "DISTRIBUTED"
    if distributed and "ExecutionType" not in config:
        ctx.schema("These fields are required: [ExecutionType] (for Mode DISTRIBUTED)", at, at_key=True)
    return distributed


def _check_items(ctx: Context, st: State) -> None:
    value = st.value
    check_exclusive(ctx, value, st.pointer, "ItemSelector", "Parameters")
    if st.ql == JSONPATH:
        if "ItemsPath" in value:
            check_reference_path(ctx, value["ItemsPath"], st.at("ItemsPath"), "ItemsPath")
        if "ItemSelector" in value:
            check_template(ctx, value["ItemSelector"], st.at("ItemSelector"), "ItemSelector")
        return
    if "Items" in value:
        items = value["Items"]
        if isinstance(items, list):
            check_jsonata_value(ctx, items, st.at("Items"), "Items")
        else:
            check_jsonata_or(ctx, items, st.at("Items"), "Items", _is_list, "an array")
    if "ItemSelector" in value:
        check_jsonata_value(ctx, value["ItemSelector"], st.at("ItemSelector"), "ItemSelector")


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _non_negative_int(value: Any) -> bool:
    return is_int(value) and value >= 0


def _positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def _percentage(value: Any) -> bool:
    return is_number(value) and 0 <= value <= 100


# (field, literal check, what the literal must be)
NumberField = tuple[str, Callable[[Any], bool], str]

_TUNING: Final[tuple[NumberField, ...]] = (
    ("MaxConcurrency", _non_negative_int, "a non-negative integer"),
    ("ToleratedFailureCount", _non_negative_int, "a non-negative integer"),
    ("ToleratedFailurePercentage", _percentage, "a number between 0 and 100"),
)


def _check_tuning(ctx: Context, st: State) -> None:
    _check_numbers(ctx, st, st.value, st.pointer, _TUNING)


def _check_numbers(ctx: Context, st: State, obj: Obj, pointer: str, fields: tuple[NumberField, ...]) -> None:
    """Numeric fields with a `...Path` twin (JSONPath) or a JSONata expression form."""
    for name, accept, expected in fields:
        path_name = f"{name}Path"
        check_exclusive(ctx, obj, pointer, name, path_name)
        if name in obj:
            at = child(pointer, name)
            if st.ql == JSONATA:
                check_jsonata_or(ctx, obj[name], at, name, accept, expected)
            elif not accept(obj[name]):
                ctx.schema(f"The field '{name}' must be {expected}", at)
        if path_name in obj and st.ql == JSONPATH:
            check_reference_path(ctx, obj[path_name], child(pointer, path_name), path_name)


def _check_io_object(ctx: Context, st: State, obj: Any, pointer: str, name: str, own: frozenset[str]) -> bool:
    """Common shape of ItemReader / ItemBatcher / ResultWriter; False when not an object."""
    if not isinstance(obj, dict):
        ctx.schema(f"The field '{name}' must be an object, not {json_type(obj)}", pointer)
        return False
    check_object_fields(ctx, obj, pointer, st.ql, own, frozenset({"Parameters"}), frozenset({"Arguments"}))
    if st.ql == JSONPATH and "Parameters" in obj:
        check_template(ctx, obj["Parameters"], child(pointer, "Parameters"), "Parameters")
    if st.ql == JSONATA and "Arguments" in obj:
        check_jsonata_value(ctx, obj["Arguments"], child(pointer, "Arguments"), "Arguments")
    return True


def _resource_and_config(
    ctx: Context, obj: Obj, pointer: str, allowed: re.Pattern[str], examples: str, config_name: str
) -> Obj | None:
    """Checks `Resource` against the allowed S3 ARNs; returns the config object if it is one."""
    resource = obj.get("Resource")
    if "Resource" in obj and not (isinstance(resource, str) and allowed.match(resource)):
        ctx.schema(
            f"The field 'Resource' does not match any of the allowed values. Examples: [{examples}]",
            child(pointer, "Resource"),
        )
    config = obj.get(config_name)
    if config is None:
        return None
    if not isinstance(config, dict):
        ctx.schema(
            f"The field '{config_name}' must be an object, not {json_type(config)}",
            child(pointer, config_name),
        )
        return None
    return config


def _check_item_reader(ctx: Context, st: State, reader: Any, pointer: str) -> None:
    fields = frozenset({"Resource", "ReaderConfig"})
    if not _check_io_object(ctx, st, reader, pointer, "ItemReader", fields):
        return
    check_required(ctx, reader, pointer, ("Resource",))
    examples = "arn:<partition>:states:::s3:getObject, arn:<partition>:states:::s3:listObjectsV2"
    config = _resource_and_config(ctx, reader, pointer, _READER_RESOURCE, examples, "ReaderConfig")
    if config is None:
        return
    at = child(pointer, "ReaderConfig")
    allowed = frozenset(
        {"InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter", "MaxItems", "ManifestType"}
        | {"Transformation", "ItemsPointer"}
    )
    check_object_fields(ctx, config, at, st.ql, allowed, frozenset({"MaxItemsPath"}))
    check_enum(ctx, config, at, "InputType", ("MANIFEST", "JSON", "CSV", "JSONL", "PARQUET"))
    check_enum(ctx, config, at, "CSVHeaderLocation", ("FIRST_ROW", "GIVEN"))
    check_enum(ctx, config, at, "CSVDelimiter", ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"))
    if config.get("CSVHeaderLocation") == "GIVEN" and "CSVHeaders" not in config:
        ctx.schema("These fields are required: [CSVHeaders] (for CSVHeaderLocation GIVEN)", at, at_key=True)
    headers = config.get("CSVHeaders")
    if headers is not None and not (isinstance(headers, list) and all(isinstance(h, str) for h in headers)):
        ctx.schema("The field 'CSVHeaders' must be an array of strings", child(at, "CSVHeaders"))
    _check_numbers(ctx, st, config, at, (("MaxItems", _non_negative_int, "a non-negative integer"),))


def _check_item_batcher(ctx: Context, st: State, batcher: Any, pointer: str) -> None:
    sizes = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
    fields = frozenset({*sizes, "BatchInput"})
    if not isinstance(batcher, dict):
        ctx.schema(f"The field 'ItemBatcher' must be an object, not {json_type(batcher)}", pointer)
        return
    path_fields = frozenset(f"{s}Path" for s in sizes)
    check_object_fields(ctx, batcher, pointer, st.ql, fields, path_fields)
    if not any(name in batcher for name in (*sizes, *path_fields)):
        message = "An ItemBatcher needs at least one of 'MaxItemsPerBatch' or 'MaxInputBytesPerBatch'"
        ctx.schema(message, pointer)
    _check_numbers(ctx, st, batcher, pointer, tuple((s, _positive_int, "a positive integer") for s in sizes))
    if "BatchInput" in batcher:
        at = child(pointer, "BatchInput")
        if st.ql == JSONPATH:
            check_template(ctx, batcher["BatchInput"], at, "BatchInput")
        else:
            check_jsonata_value(ctx, batcher["BatchInput"], at, "BatchInput")


def _check_result_writer(ctx: Context, st: State, writer: Any, pointer: str) -> None:
    own = frozenset({"Resource", "WriterConfig"})
    if not _check_io_object(ctx, st, writer, pointer, "ResultWriter", own):
        return
    if "Resource" not in writer and "WriterConfig" not in writer:
        ctx.schema("These fields are required: [Resource] (or WriterConfig)", pointer, at_key=True)
    examples = "arn:<partition>:states:::s3:putObject"
    config = _resource_and_config(ctx, writer, pointer, _WRITER_RESOURCE, examples, "WriterConfig")
    if config is None:
        return
    at = child(pointer, "WriterConfig")
    check_object_fields(ctx, config, at, st.ql, frozenset({"OutputType", "Transformation"}))
    check_required(ctx, config, at, ("OutputType",))
    check_enum(ctx, config, at, "OutputType", ("JSON", "JSONL"))
    check_enum(ctx, config, at, "Transformation", ("NONE", "COMPACT", "FLATTEN"))


def _check_label(ctx: Context, label: Any, pointer: str) -> None:
    if not isinstance(label, str):
        ctx.schema(f"The field 'Label' must be a string, not {json_type(label)}", pointer)
    elif not label:
        ctx.schema("Label cannot be empty", pointer)
    elif len(label) > 40:
        ctx.schema("Label cannot exceed 40 characters", pointer)
    else:
        bad = _LABEL_FORBIDDEN.search(label)
        if bad is not None:
            ctx.schema(f"Label contains invalid character: '{bad.group()}'", pointer)
