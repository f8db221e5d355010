"""Task states: the Resource, its parameters, timeouts and heartbeats, credentials.

statelane runs Lambda (function ARNs and `lambda:invoke`), SQS `sendMessage` and SNS
`publish` (each also `.waitForTaskToken`). Other `arn:aws:states:::` integrations
and activities are valid on AWS, so they only draw a warning: the definition is
fine, but a Task using them cannot run here yet.
"""

from __future__ import annotations

import re
from typing import Any, Final

from asl.validation.context import (
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    UNSUPPORTED_RESOURCE,
    Context,
    Obj,
    State,
    child,
    is_int,
    json_type,
    suggest,
)
from asl.validation.expressions import (
    check_jsonata_or,
    check_path_or_intrinsic,
    check_reference_path,
    is_expression,
)
from asl.validation.fields import check_exclusive

_PARTITION = r"aws(?:-[a-z]+)*"
LAMBDA_FUNCTION_ARN: Final = re.compile(
    rf"^arn:{_PARTITION}:lambda:[a-z0-9-]+:\d{{12}}:function:[A-Za-z0-9_-]{{1,140}}(?::[A-Za-z0-9_$-]{{1,128}})?$"
)
SERVICE_ARN: Final = re.compile(
    rf"^arn:{_PARTITION}:states:::(?P<service>[A-Za-z0-9-]+(?::[A-Za-z0-9-]+)*):"
    r"(?P<api>[A-Za-z0-9_-]+)(?P<suffix>\.sync(?::2)?|\.waitForTaskToken)?$"
)
ACTIVITY_ARN: Final = re.compile(rf"^arn:{_PARTITION}:states:[a-z0-9-]+:\d{{12}}:activity:[^\s:]+$")

# service:api -> (required parameters, allowed parameters); `.waitForTaskToken` is allowed on all.
SUPPORTED: Final[dict[str, tuple[tuple[str, ...], frozenset[str]]]] = {
    "lambda:invoke": (
        ("FunctionName",),
        frozenset({"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"}),
    ),
    "sqs:sendMessage": (
        ("QueueUrl", "MessageBody"),
        frozenset(
            {"QueueUrl", "MessageBody", "DelaySeconds", "MessageAttributes", "MessageDeduplicationId"}
            | {"MessageGroupId", "MessageSystemAttributes"}
        ),
    ),
    "sns:publish": (
        ("Message",),
        frozenset(
            {"Message", "MessageAttributes", "MessageStructure", "MessageDeduplicationId", "MessageGroupId"}
            | {"PhoneNumber", "Subject", "TargetArn", "TopicArn"}
        ),
    ),
}


# Optimized integrations whose API list is small and certain: any other API of these
# services is rejected by AWS (e.g. `dynamodb:query` exists only as `aws-sdk:dynamodb:query`).
KNOWN_APIS: Final[dict[str, frozenset[str]]] = {
    "lambda": frozenset({"invoke"}),
    "sqs": frozenset({"sendMessage"}),
    "sns": frozenset({"publish"}),
    "dynamodb": frozenset({"getItem", "putItem", "deleteItem", "updateItem"}),
    "states": frozenset({"startExecution"}),
    "events": frozenset({"putEvents"}),
}


def _not_recognized(resource: str) -> str:
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region."
    )


def check_task(ctx: Context, st: State) -> None:
    resource = st.value.get("Resource")
    if "Resource" in st.value:
        _check_resource(ctx, st, resource)
    _check_timeouts(ctx, st)
    if "Credentials" in st.value:
        _check_credentials(ctx, st, st.value["Credentials"])


def _check_resource(ctx: Context, st: State, resource: Any) -> None:
    pointer = st.at("Resource")
    if not isinstance(resource, str):
        ctx.schema(f"The field 'Resource' must be a string (an ARN), not {json_type(resource)}", pointer)
        return
    if LAMBDA_FUNCTION_ARN.match(resource):
        return
    activity = ACTIVITY_ARN.match(resource)
    service = SERVICE_ARN.match(resource)
    if activity is None and service is None:
        ctx.schema(_not_recognized(resource), pointer)
        return
    if ctx.express and activity is not None:
        ctx.schema("Express state machine does not support Activity ARN", pointer)
        return
    if service is not None:
        suffix = service["suffix"] or ""
        if ctx.express and suffix.startswith(".sync"):
            ctx.schema("Express state machine does not support '.sync' service integration", pointer)
            return
        if ctx.express and suffix == ".waitForTaskToken":
            # AWS's message has two spaces before its "at <location>"; the trailing space reproduces it.
            message = "Express state machine does not support '.waitForTaskToken' service integration "
            ctx.schema(message, pointer)
            return
        integration = f"{service['service']}:{service['api']}"
        if integration in SUPPORTED and suffix in ("", ".waitForTaskToken"):
            _check_parameters(ctx, st, integration)
            return
        known = KNOWN_APIS.get(service["service"])
        if known is not None and service["api"] not in known:
            ctx.schema(_not_recognized(resource) + suggest(service["api"], known), pointer)
            return
    ctx.warning(
        UNSUPPORTED_RESOURCE,
        f"The resource {resource} is valid on AWS, but statelane cannot run it yet (supported: Lambda "
        "function ARNs, lambda:invoke, sqs:sendMessage and sns:publish, each also .waitForTaskToken)",
        pointer,
    )


def _check_parameters(ctx: Context, st: State, integration: str) -> None:
    """The request of an optimized integration: its required and known fields."""
    name = "Parameters" if st.ql == JSONPATH else "Arguments"
    required, allowed = SUPPORTED[integration]
    if name not in st.value:
        # The state input becomes the request then; it may well carry the fields at run time.
        ctx.warning(
            "MISSING_PARAMETERS",
            f"No '{name}': the state input is sent as the {integration} request, so it must contain "
            f"{', '.join(required)}",
            st.pointer,
        )
        return
    params = st.value[name]
    pointer = st.at(name)
    if isinstance(params, str) and is_expression(params):
        return
    if not isinstance(params, dict):
        ctx.schema(f"The field '{name}' must be an object for {integration}", pointer)
        return
    given = {key[:-2] if st.ql == JSONPATH and key.endswith(".$") else key: key for key in params}
    for field in required:
        if field not in given:
            ctx.schema(f"The field '{field}' is required but was missing", pointer)
    for field, key in given.items():
        if field not in allowed:
            hint = suggest(field, allowed)
            message = f"The field '{field}' is not supported by Step Functions for {integration}{hint}"
            ctx.schema(message, child(pointer, key), at_key=True)


def _check_timeouts(ctx: Context, st: State) -> None:
    value = st.value
    static: dict[str, int] = {}
    for name in ("TimeoutSeconds", "HeartbeatSeconds"):
        check_exclusive(ctx, value, st.pointer, name, f"{name}Path")
        if name in value:
            seconds = value[name]
            pointer = st.at(name)
            if st.ql == JSONATA and not check_jsonata_or(ctx, seconds, pointer, name, is_int, "an integer"):
                continue
            if not is_int(seconds) or not 1 <= seconds <= MAX_SECONDS:
                ctx.schema(f"The field '{name}' must be an integer between 1 and {MAX_SECONDS}", pointer)
            else:
                static[name] = seconds
        if f"{name}Path" in value and st.ql == JSONPATH:
            check_reference_path(ctx, value[f"{name}Path"], st.at(f"{name}Path"), f"{name}Path")
    heartbeat, timeout = static.get("HeartbeatSeconds"), static.get("TimeoutSeconds")
    if heartbeat is not None and timeout is not None and heartbeat >= timeout:
        message = "The field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'"
        ctx.schema(message, st.at("HeartbeatSeconds"))


def _check_credentials(ctx: Context, st: State, credentials: Any) -> None:
    pointer = st.at("Credentials")
    if not isinstance(credentials, dict):
        ctx.schema(f"The field 'Credentials' must be an object, not {json_type(credentials)}", pointer)
        return
    _check_role_arn(ctx, st, credentials, pointer)


def _check_role_arn(ctx: Context, st: State, credentials: Obj, pointer: str) -> None:
    keys = ("RoleArn", "RoleArn.$") if st.ql == JSONPATH else ("RoleArn",)
    for key in credentials:
        if key not in keys:
            message = f"Field '{key}' is not supported{suggest(key, keys)}"
            ctx.schema(message, child(pointer, key), at_key=True)
    if not any(key in credentials for key in keys):
        ctx.schema("The field 'RoleArn' is required but was missing", pointer)
    elif "RoleArn.$" in credentials:
        check_path_or_intrinsic(ctx, credentials["RoleArn.$"], child(pointer, "RoleArn.$"), "RoleArn.$")
    elif "RoleArn" in credentials and st.ql == JSONATA:
        role_at = child(pointer, "RoleArn")
        check_jsonata_or(ctx, credentials["RoleArn"], role_at, "RoleArn", _is_str, "a string")
    elif not isinstance(credentials.get("RoleArn"), str):
        ctx.schema("The field 'RoleArn' must be a string", child(pointer, "RoleArn"))


def _is_str(value: Any) -> bool:
    return isinstance(value, str)
