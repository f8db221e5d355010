"""The API's edges without HTTP: names, ARNs, request checking, and actions called directly."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.api import build_handlers
from engine.server import ApiError, ServiceContext, call, executions
from engine.server.arns import check_name, execution_arn, parse_arn, state_machine_arn
from engine.server.meta import ServerMeta, meta_path_for
from engine.server.requests import parse
from engine.shapes import CreateStateMachineInput, ListExecutionsInput, TagResourceInput
from engine.store import MemoryStore

FORBIDDEN = ' <>{}[]?*"#%\\^|~`$&,;:/\t\n\x00\x1f\x7f\x9f'
ROLE = "arn:aws:iam::123456789012:role/R"


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.+=@!()'", min_size=1, max_size=80))
def test_names_of_allowed_characters_pass(name: str) -> None:
    assert check_name(name) == name


@given(st.text(min_size=0, max_size=20), st.sampled_from(FORBIDDEN), st.text(max_size=20))
def test_a_forbidden_character_anywhere_is_an_invalid_name(before: str, bad: str, after: str) -> None:
    with pytest.raises(ApiError) as info:
        check_name(before + bad + after)
    assert info.value.code == "InvalidName"
    assert info.value.message == f"Invalid Name: '{before + bad + after}'"


def test_names_allow_non_ascii_and_stop_at_80() -> None:
    assert check_name("Bestellung-Ünterwegs") == "Bestellung-Ünterwegs"
    with pytest.raises(ApiError):
        check_name("x" * 81)
    with pytest.raises(ApiError):
        check_name("")


def test_arns() -> None:
    machine = state_machine_arn("arn:aws:states:eu-west-1:111122223333:stateMachine:M")
    assert (machine.region, machine.account, machine.parts) == ("eu-west-1", "111122223333", ("M",))
    express = execution_arn("arn:aws:states:us-east-1:1:express:M:e:1234", express=True)
    assert express.resource_type == "express"
    cases = {
        "M": "Invalid Arn: 'Invalid ARN prefix: M'",
        "arn:aws:lambda:us-east-1:1:function:f": "Invalid Arn: 'arn:aws:lambda:us-east-1:1:function:f'",
        "arn:aws:states:us-east-1:1:activity:a": "Invalid Arn: 'Resource type not valid in this context: activity'",
        "arn:aws:states:us-east-1:1:stateMachine:": "Invalid Arn: 'arn:aws:states:us-east-1:1:stateMachine:'",
    }
    for value, message in cases.items():
        with pytest.raises(ApiError) as info:
            state_machine_arn(value)
        assert (info.value.code, info.value.message) == ("InvalidArn", message)
    with pytest.raises(ApiError, match="Resource type not valid in this context: express"):
        execution_arn("arn:aws:states:us-east-1:1:express:M:e:1234")
    with pytest.raises(ApiError, match="Invalid Arn"):
        execution_arn("arn:aws:states:us-east-1:1:execution:M")
    assert parse_arn("arn:aws:states:us-east-1:1:activity:a", "activity").parts == ("a",)


def test_request_checking_names_members_as_aws_does() -> None:
    with pytest.raises(ApiError) as info:
        parse(TagResourceInput, {"resourceArn": "a", "tags": [{"key": "", "value": "v"}, {"value": "w"}]})
    assert info.value.code == "ValidationException"
    assert info.value.message == (
        "2 validation errors detected: "
        "Value '' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        "Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null"
    )
    with pytest.raises(ApiError) as sensitive:
        parse(CreateStateMachineInput, {"name": "n", "definition": "", "roleArn": ROLE})
    assert sensitive.value.message.startswith("1 validation error detected: Value at 'definition' failed")
    with pytest.raises(ApiError) as wrong_type:
        parse(ListExecutionsInput, {"maxResults": "ten"})
    assert wrong_type.value.code == "SerializationException"
    assert parse(ListExecutionsInput, {"stateMachineArn": "a", "nextToken": None}).nextToken is None


@pytest.fixture
def ctx() -> Iterator[ServiceContext]:
    context = ServiceContext(store=MemoryStore(), meta=ServerMeta(), handlers=build_handlers({}))
    yield context
    context.close()


def test_actions_run_without_http(ctx: ServiceContext) -> None:
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    created = call(ctx, "CreateStateMachine", {"name": "Direct", "definition": definition, "roleArn": ROLE})
    started = call(ctx, "StartExecution", {"stateMachineArn": created["stateMachineArn"], "name": "e"})
    assert started["executionArn"].endswith(":execution:Direct:e")
    assert ctx.engine.work_once() == 1
    described = call(ctx, "DescribeExecution", {"executionArn": started["executionArn"]})
    assert (described["status"], described["output"]) == ("SUCCEEDED", "{}")
    with pytest.raises(ApiError) as info:
        call(ctx, "Nonsense", {})
    assert info.value.code == "UnknownOperationException"


def test_an_unexpected_failure_is_an_internal_failure(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[object]:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ctx.store, "list_state_machines", broken)
    with pytest.raises(ApiError) as info:
        call(ctx, "ListStateMachines", {})
    assert (info.value.code, info.value.status) == ("InternalFailure", 500)


def test_the_api_file_sits_next_to_the_store() -> None:
    assert meta_path_for("sqlite:////data/x/statelane.db") == "/data/x/statelane.api.db"
    assert meta_path_for("sqlite:///rel/s.db") == "rel/s.api.db"
    assert meta_path_for("/plain/path.db") == "/plain/path.api.db"
    assert meta_path_for("memory://") == ":memory:"


def test_an_async_express_run_uses_the_arn_it_was_answered_with(ctx: ServiceContext) -> None:
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    call(
        ctx,
        "CreateStateMachine",
        {"name": "Fast", "definition": definition, "roleArn": ROLE, "type": "EXPRESS"},
    )
    machine = ctx.store.get_state_machine("Fast")
    ran = executions._run_express(ctx, machine, "e1", "{}", executions._PresetRunId("run-id-1"))
    assert ran.execution_arn == "arn:aws:states:us-east-1:123456789012:express:Fast:e1:run-id-1"
