"""Which fields each state type accepts, per query language, and the rules for the
fields most states share (Next/End, InputPath, OutputPath, ResultPath, Parameters,
ResultSelector, Arguments, Output).

A field the type knows only in the *other* query language gets AWS's dedicated
message ("The QueryLanguage is set to 'JSONPath', but field 'Output' is only
supported for the 'JSONata' QueryLanguage"); a field the type does not know at all
gets "Field 'X' is not supported" with a suggestion for typos.
"""

from __future__ import annotations

from typing import Final

from asl.validation.context import JSONATA, JSONPATH, Context, Obj, State, child, suggest
from asl.validation.expressions import check_jsonata_value, check_path, check_reference_path, check_template

STATE_TYPES: Final = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")
COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})

_JSONPATH_IO: Final = frozenset({"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"})

# type -> (fields in both languages, JSONPath-only fields, JSONata-only fields)
FIELDS: Final[dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]]] = {
    "Pass": (
        frozenset({"Next", "End", "Assign"}),
        frozenset({"InputPath", "OutputPath", "Parameters", "ResultPath", "Result"}),
        frozenset({"Output"}),
    ),
    "Task": (
        frozenset(
            {"Resource", "Next", "End", "Retry", "Catch", "Assign", "TimeoutSeconds", "HeartbeatSeconds"}
            | {"Credentials"}
        ),
        _JSONPATH_IO | {"TimeoutSecondsPath", "HeartbeatSecondsPath"},
        frozenset({"Arguments", "Output"}),
    ),
    "Choice": (
        frozenset({"Choices", "Default", "Assign"}),
        frozenset({"InputPath", "OutputPath"}),
        frozenset({"Output"}),
    ),
    "Wait": (
        frozenset({"Next", "End", "Assign", "Seconds", "Timestamp"}),
        frozenset({"InputPath", "OutputPath", "SecondsPath", "TimestampPath"}),
        frozenset({"Output"}),
    ),
    "Succeed": (frozenset(), frozenset({"InputPath", "OutputPath"}), frozenset({"Output"})),
    "Fail": (frozenset({"Error", "Cause"}), frozenset({"ErrorPath", "CausePath"}), frozenset()),
    "Parallel": (
        frozenset({"Branches", "Next", "End", "Retry", "Catch", "Assign"}),
        _JSONPATH_IO,
        frozenset({"Arguments", "Output"}),
    ),
    "Map": (
        frozenset(
            {"ItemProcessor", "Iterator", "ItemReader", "ItemSelector", "ItemBatcher", "ResultWriter"}
            | {"MaxConcurrency", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label"}
            | {"Next", "End", "Retry", "Catch", "Assign"}
        ),
        _JSONPATH_IO
        | {"ItemsPath", "MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath"},
        frozenset({"Items", "Output"}),
    ),
}

REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "Task": ("Resource",),
    "Choice": ("Choices",),
    "Parallel": ("Branches",),
}

HAS_NEXT_OR_END: Final = frozenset({"Pass", "Task", "Wait", "Parallel", "Map"})
RESULT_PRODUCERS: Final = frozenset({"Task", "Map", "Parallel"})


def language_message(ql: str, field: str) -> str:
    other = JSONATA if ql == JSONPATH else JSONPATH
    return (
        f"The QueryLanguage is set to '{ql}', but field '{field}' is only supported "
        f"for the '{other}' QueryLanguage"
    )


def check_object_fields(
    ctx: Context,
    value: Obj,
    pointer: str,
    ql: str,
    both: frozenset[str],
    jsonpath_only: frozenset[str] = frozenset(),
    jsonata_only: frozenset[str] = frozenset(),
) -> None:
    """Report every member of `value` that is unknown, or known only in the other language."""
    own = jsonpath_only if ql == JSONPATH else jsonata_only
    other = jsonata_only if ql == JSONPATH else jsonpath_only
    for key in value:
        if key in both or key in own:
            continue
        field_pointer = child(pointer, key)
        if key in other:
            ctx.schema(language_message(ql, key), field_pointer, at_key=True)
        else:
            hint = suggest(key, both | own)
            ctx.schema(f"Field '{key}' is not supported{hint}", field_pointer, at_key=True)


def check_required(ctx: Context, value: Obj, pointer: str, names: tuple[str, ...]) -> None:
    missing = [name for name in names if name not in value]
    if missing:
        ctx.schema(f"These fields are required: [{', '.join(missing)}]", pointer, at_key=True)


def check_exclusive(ctx: Context, value: Obj, pointer: str, *names: str) -> None:
    """At most one of `names` (reported at the second one present)."""
    present = [name for name in names if name in value]
    if len(present) > 1:
        listed = " or ".join(f"'{n}'" for n in names)
        ctx.schema(f"Only one of {listed} may be specified", f"{pointer}/{present[1]}", at_key=True)


def check_state_fields(ctx: Context, st: State) -> None:
    """Unknown / wrong-language fields, required fields, Next/End, Comment."""
    both, jsonpath_only, jsonata_only = FIELDS[st.type]
    check_object_fields(ctx, st.value, st.pointer, st.ql, both | COMMON, jsonpath_only, jsonata_only)
    check_required(ctx, st.value, st.pointer, REQUIRED.get(st.type, ()))
    comment = st.value.get("Comment")
    if comment is not None and not isinstance(comment, str):
        ctx.schema("The field 'Comment' must be a string", st.at("Comment"))
    if st.type in HAS_NEXT_OR_END:
        check_next_end(ctx, st)


def check_next_end(ctx: Context, st: State) -> None:
    value = st.value
    end = value.get("End")
    if "End" in value and not isinstance(end, bool):
        ctx.schema("The field 'End' must be a boolean", st.at("End"))
    if "Next" in value:
        target = value["Next"]
        if not isinstance(target, str):
            ctx.schema("The field 'Next' must be a string (the name of a state)", st.at("Next"))
        elif end is True:
            ctx.schema("Only one of 'Next' or 'End' may be specified", st.at("Next"), at_key=True)
        else:
            st.transitions.append((target, st.at("Next")))
    elif end is not True:
        ctx.schema("Either 'Next' or '\"End\": true' is required", st.pointer, at_key=True)
        st.maybe_terminal = True  # probably meant to end; do not also claim "no terminal state"
    if end is not None and not isinstance(end, bool):
        st.maybe_terminal = True


def check_io_fields(ctx: Context, st: State) -> None:
    """The data-flow fields shared by several state types, in the state's language."""
    value = st.value
    if st.ql == JSONPATH:
        for name in ("InputPath", "OutputPath"):
            if name in value and st.type != "Fail":
                check_path(ctx, value[name], st.at(name), name)
        if "ResultPath" in value and st.type in RESULT_PRODUCERS | {"Pass"}:
            check_result_path(ctx, value["ResultPath"], st.at("ResultPath"))
        for name in ("Parameters", "ResultSelector"):
            if name in value and name in FIELDS[st.type][1]:
                check_template_field(ctx, value[name], st.at(name), name)
        return
    if "Output" in value and st.type != "Fail":
        producer = st.type in RESULT_PRODUCERS
        check_jsonata_value(ctx, value["Output"], st.at("Output"), "Output", allow_result=producer)
    if "Arguments" in value and st.type in ("Task", "Parallel"):
        check_jsonata_value(ctx, value["Arguments"], st.at("Arguments"), "Arguments")


def check_template_field(ctx: Context, value: object, pointer: str, name: str) -> None:
    """`Parameters`-like fields: a JSON object payload template (AWS also takes other JSON)."""
    check_template(ctx, value, pointer, name)


def check_result_path(ctx: Context, value: object, pointer: str) -> None:
    """`ResultPath`: a Reference Path or null; not the context object, not a variable."""
    if value is None:
        return
    if isinstance(value, str) and value.startswith("$$"):
        ctx.schema("The field 'ResultPath' cannot reference the context object ('$$')", pointer)
        return
    if isinstance(value, str) and len(value) > 1 and (value[1].isalpha() or value[1] == "_"):
        ctx.schema("The field 'ResultPath' cannot target a variable; use 'Assign' to set variables", pointer)
        return
    check_reference_path(ctx, value, pointer, "ResultPath", nullable=True)


def check_enum(ctx: Context, value: Obj, pointer: str, name: str, allowed: tuple[str, ...]) -> None:
    """`value[name]`, when present, is one of `allowed` (AWS's wording for enumerations)."""
    if name in value and value[name] not in allowed:
        hint = suggest(value[name], allowed) if isinstance(value[name], str) else ""
        ctx.schema(
            f"The field '{name}' should have one of these values: [{', '.join(allowed)}]{hint}",
            child(pointer, name),
        )
