"""Step Functions Local's mock configuration: the file's rules, and mocked executions end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asl.errors import StatesError
from engine.api import run
from engine.handlers.mocks import (
    MockConfig,
    MockConfigError,
    MockingRegistry,
    find_mock_config,
    load_mock_config,
    parse_mock_config,
    parse_range,
    split_test_case,
)
from engine.handlers.registry import build_registry

OK = {"Return": {"StatusCode": 200, "Payload": {"ok": True}}}


def config(
    test_cases: dict[str, dict[str, str]], responses: dict[str, Any], machine: str = "Flow"
) -> MockConfig:
    return parse_mock_config(
        {"StateMachines": {machine: {"TestCases": test_cases}}, "MockedResponses": responses}
    )


def task(resource: str = "arn:aws:states:::lambda:invoke", **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": {"FunctionName": "nowhere"}, **fields}


def run_mocked(
    states: dict[str, Any],
    mocks: MockConfig,
    case: str = "Case",
    *,
    lambdas: dict[str, Any] | None = None,
    data: Any = None,
) -> Any:
    definition = json.dumps({"StartAt": next(iter(states)), "States": states})
    registry = build_registry(
        lambdas=lambdas, mock_config=mocks, test_case=case, state_machine_name="Flow", plugins=False
    )
    return run(
        definition,
        json.dumps(data if data is not None else {}),
        state_machine_name="Flow",
        handlers=registry,
        fast_forward=True,
    )


def types(execution: Any) -> list[str]:
    return [e.type for e in execution.events]


# --- mocked executions --------------------------------------------------------------------------------


def test_return_is_the_task_result_and_no_handler_is_called() -> None:
    mocks = config({"Case": {"Call": "Ok"}}, {"Ok": {"0": OK}})
    execution = run_mocked({"Call": task(ResultSelector={"ok.$": "$.Payload.ok"}, End=True)}, mocks)
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"ok": True}
    assert types(execution)[2:6] == ["TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]


def test_retries_count_as_invocations() -> None:
    mocks = config(
        {"Case": {"Call": "Flaky"}},
        {
            "Flaky": {
                "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
                "2": OK,
            }
        },
    )
    retry = [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3, "IntervalSeconds": 1}]
    execution = run_mocked({"Call": task(Retry=retry, End=True)}, mocks)
    assert execution.status == "SUCCEEDED"
    assert types(execution).count("TaskFailed") == 2
    failed = next(e for e in execution.events if e.type == "TaskFailed")
    assert failed.details["error"] == "Lambda.TooManyRequestsException"
    assert failed.details["cause"] == "slow down"


def test_map_iterations_count_as_invocations() -> None:
    mocks = config(
        {"Case": {"Work": "PerItem"}},
        {"PerItem": {"0": {"Return": "first"}, "1-2": {"Return": "later"}}},
    )
    states = {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemsPath": "$.items",
            "Iterator": {"StartAt": "Work", "States": {"Work": task(End=True)}},
            "End": True,
        }
    }
    execution = run_mocked(states, mocks, data={"items": [1, 2, 3]})
    assert execution.output == ["first", "later", "later"]


def test_throw_is_caught_like_a_real_failure() -> None:
    mocks = config(
        {"Case": {"Call": "Boom"}}, {"Boom": {"0": {"Throw": {"Error": "Custom", "Cause": "why"}}}}
    )
    states = {
        "Call": task(Catch=[{"ErrorEquals": ["Custom"], "Next": "Handled"}], End=True),
        "Handled": {"Type": "Pass", "End": True},
    }
    execution = run_mocked(states, mocks)
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"Error": "Custom", "Cause": "why"}


def test_unmocked_states_reach_the_real_handlers() -> None:
    mocks = config({"Case": {"First": "Ok"}}, {"Ok": {"0": {"Return": 1}}})
    states = {
        "First": task(ResultPath="$.first", Next="Second"),
        "Second": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
            "InputPath": "$.first",
            "End": True,
        },
    }
    execution = run_mocked(states, mocks, lambdas={"double": lambda event, _ctx: event * 2})
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == 2


def test_a_mocked_state_needs_no_handler_for_its_resource() -> None:
    mocks = config({"Case": {"Put": "Stored"}}, {"Stored": {"0": {"Return": {"ok": 1}}}})
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "t", "Item": {}},
        "End": True,
    }
    execution = run_mocked({"Put": put}, mocks)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"ok": 1}


def test_an_uncovered_invocation_fails_the_execution_even_with_a_catch() -> None:
    mocks = config({"Case": {"Call": "Once"}}, {"Once": {"0": {"Throw": {"Error": "E", "Cause": "c"}}}})
    states = {
        "Call": task(
            Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            End=True,
        ),
        "Caught": {"Type": "Pass", "End": True},
    }
    execution = run_mocked(states, mocks)
    assert execution.status == "FAILED"
    assert execution.error == "States.Runtime"
    assert execution.cause == (
        "The mocked response 'Once' of test case 'Case' defines no response for invocation 1 of state "
        "'Call' (invocations are counted from 0, retries and Map iterations included)."
    )


def test_counts_are_per_execution() -> None:
    mocks = config({"Case": {"Call": "Ok"}}, {"Ok": {"0": OK}})
    registry = build_registry(mock_config=mocks, test_case="Case", state_machine_name="Flow", plugins=False)
    assert isinstance(registry, MockingRegistry)
    definition = json.dumps({"StartAt": "Call", "States": {"Call": task(End=True)}})
    first = run(definition, handlers=registry, state_machine_name="Flow", fast_forward=True)
    second = run(definition, handlers=registry, state_machine_name="Flow", fast_forward=True)
    assert first.status == second.status == "SUCCEEDED"
    assert registry.invocations(first.execution_arn, "Call") == 1
    assert registry.invocations(second.execution_arn, "Call") == 1
    assert registry.is_mocked("Call") and not registry.is_mocked("Other")


def test_mock_config_file_and_test_case_from_the_cli_arguments(tmp_path: Path) -> None:
    file = tmp_path / "mocks.json"
    file.write_text(
        json.dumps(
            {
                "StateMachines": {"Flow": {"TestCases": {"Happy": {"Call": "Ok"}}}},
                "MockedResponses": {"Ok": {"0": {"Return": "done"}}},
            }
        )
    )
    registry = build_registry(
        mock_config=str(file), test_case="Happy", state_machine_name="Flow", plugins=False
    )
    definition = json.dumps({"StartAt": "Call", "States": {"Call": task(End=True)}})
    assert run(definition, handlers=registry, state_machine_name="Flow", fast_forward=True).output == "done"


# --- selecting a test case ------------------------------------------------------------------------------


def test_unknown_test_case_names_the_known_ones() -> None:
    mocks = config({"Happy": {}, "Sad": {}}, {})
    with pytest.raises(MockConfigError) as info:
        mocks.test_case("Flow", "Hapy")
    assert str(info.value) == (
        "Invalid mock test case name 'Hapy' for state machine 'Flow': no such test case (it has: Happy, Sad)"
    )


def test_unknown_state_machine() -> None:
    with pytest.raises(
        MockConfigError, match="for state machine 'Other': no such state machine \\(it has: Flow\\)"
    ):
        config({"Happy": {}}, {}).test_case("Other", "Happy")


def test_a_test_case_naming_an_undefined_response() -> None:
    mocks = config({"Happy": {"Call": "Nope"}}, {})
    with pytest.raises(MockConfigError, match="maps state 'Call' to the mocked response 'Nope', which"):
        mocks.test_case("Flow", "Happy")


def test_test_case_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFN_MOCK_CONFIG", raising=False)
    with pytest.raises(MockConfigError, match="no mock configuration"):
        build_registry(test_case="Happy", plugins=False)


def test_where_step_functions_local_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFN_MOCK_CONFIG", raising=False)
    assert find_mock_config(tmp_path) is None
    (tmp_path / "MockConfigFile.json").write_text("{}")
    assert find_mock_config(tmp_path) == tmp_path / "MockConfigFile.json"
    monkeypatch.setenv("SFN_MOCK_CONFIG", "/elsewhere/mocks.json")
    assert find_mock_config(tmp_path) == Path("/elsewhere/mocks.json")


def test_split_test_case() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"
    assert split_test_case(f"{arn}#Happy") == (arn, "Happy")
    assert split_test_case(arn) == (arn, None)


# --- validating the file ----------------------------------------------------------------------------------


def invalid(data: Any) -> str:
    with pytest.raises(MockConfigError) as info:
        parse_mock_config(data, source="m.json")
    return str(info.value)


def test_each_entry_has_exactly_one_of_return_or_throw() -> None:
    both = invalid({"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}})
    assert "MockedResponses.R.0: must contain exactly one of 'Return' or 'Throw'" in both
    neither = invalid({"MockedResponses": {"R": {"0": {}}}})
    assert "MockedResponses.R.0: must contain exactly one of 'Return' or 'Throw'" in neither


def test_throw_needs_an_error_string() -> None:
    message = invalid({"MockedResponses": {"R": {"0": {"Throw": {"Cause": "c"}}}}})
    assert "MockedResponses.R.0.Throw.Error: Field required" in message


def test_invocation_keys() -> None:
    assert "'x' is not a number" in invalid({"MockedResponses": {"R": {"x": {"Return": 1}}}})
    assert "'3-1' ends before it starts" in invalid({"MockedResponses": {"R": {"3-1": {"Return": 1}}}})
    assert "'0-2' and '2' overlap" in invalid(
        {"MockedResponses": {"R": {"0-2": {"Return": 1}, "2": {"Return": 2}}}}
    )
    assert "at least one invocation key" in invalid({"MockedResponses": {"R": {}}})


def test_misspelt_top_level_field() -> None:
    message = invalid({"StateMachines": {}, "MockedResponse": {}})
    assert (
        message
        == "m.json: invalid mock configuration:\n  MockedResponse: unknown field (did you mean 'MockedResponses'?)"
    )


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MockConfigError, match="cannot read"):
        load_mock_config(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(MockConfigError, match=r"bad\.json: the mock configuration is not valid JSON"):
        load_mock_config(bad)


def test_return_may_be_any_json_value_including_null() -> None:
    mocks = config({"Case": {"S": "R"}}, {"R": {"0": {"Return": None}, "1": {"Return": [1, "a"]}}})
    case = mocks.test_case("Flow", "Case")
    assert case.result("S", 0) is None
    assert case.result("S", 1) == [1, "a"]


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6), st.integers(0, 30))
def test_ranges_cover_exactly_their_invocations(lengths: list[int], invocation: int) -> None:
    responses: dict[str, Any] = {}
    owner: dict[int, int] = {}
    start = 0
    for index, length in enumerate(lengths):
        end = start + length - 1
        key = str(start) if length == 1 else f"{start}-{end}"
        responses[key] = {"Return": index}
        owner.update(dict.fromkeys(range(start, end + 1), index))
        start = end + 1
    assert [parse_range(k) for k in responses][-1][1] == start - 1
    case = config({"Case": {"S": "R"}}, {"R": responses}).test_case("Flow", "Case")
    if invocation in owner:
        assert case.result("S", invocation) == owner[invocation]
    else:
        with pytest.raises(StatesError, match="defines no response for invocation"):
            case.result("S", invocation)
