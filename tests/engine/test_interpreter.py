"""Behaviour of whole state machines, run end to end through the Python API on a virtual clock."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from engine.api import InvalidDefinition, InvalidExecutionInput, run
from engine.clock import VirtualClock


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> str:
    return json.dumps({"StartAt": start or next(iter(states)), "States": states, **top})


def types(execution: Any) -> list[str]:
    return [e.type for e in execution.events]


def test_pass_chain_parameters_result_path_output_path() -> None:
    ex = run(
        machine(
            {
                "A": {
                    "Type": "Pass",
                    "Parameters": {"x.$": "$.a", "lit": "$.not-a-path", "nested": {"y.$": "$.b[1]"}},
                    "ResultPath": "$.res",
                    "Next": "B",
                },
                "B": {"Type": "Pass", "OutputPath": "$.res", "End": True},
            }
        ),
        '{"a": 1, "b": [10, 20]}',
        fast_forward=True,
    )
    assert ex.status == "SUCCEEDED"
    assert ex.output == {"x": 1, "lit": "$.not-a-path", "nested": {"y": 20}}
    assert types(ex) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    ids = [(e.id, e.previous_event_id) for e in ex.events]
    assert ids == [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5)]


def test_execution_input_is_kept_verbatim_in_history() -> None:
    ex = run(machine({"A": {"Type": "Pass", "End": True}}), '{ "a" :  1 }', fast_forward=True)
    started = ex.history()[0]
    assert started["executionStartedEventDetails"]["input"] == '{ "a" :  1 }'
    assert ex.history()[1]["stateEnteredEventDetails"]["input"] == '{"a":1}'


def test_choice_default_and_no_match() -> None:
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "End": True},
    }
    assert run(machine(states), '{"n": 9}', fast_forward=True).output == "big"
    assert run(machine(states), '{"n": "9"}', fast_forward=True).output == "small"  # type mismatch is false
    del states["C"]["Default"]
    del states["Small"]
    ex = run(machine(states), '{"n": 1}', fast_forward=True)
    assert ex.status == "FAILED"
    assert ex.error == "States.NoChoiceMatched"


def test_fail_state_error_and_cause_paths() -> None:
    ex = run(
        machine({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.c)"}}),
        '{"e": "Boom", "c": 7}',
        fast_forward=True,
    )
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "Boom", "bad 7")
    assert types(ex) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


def test_input_path_not_found_is_an_uncatchable_runtime_error() -> None:
    ex = run(machine({"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}), "{}", fast_forward=True)
    assert ex.error == "States.Runtime"
    assert ex.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "Invalid path '$.missing' : No results for path: $['missing']"
    )


class Flaky(Exception):
    pass


def test_retry_backoff_then_catch_with_virtual_clock() -> None:
    calls: list[int] = []

    def risky(event: Any, context: Any) -> Any:
        calls.append(event["attempt"])
        raise Flaky("nope")

    clock = VirtualClock(start=1_000_000.0)
    ex = run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:risky",
                    "Parameters": {"attempt.$": "$$.State.RetryCount"},
                    "Retry": [
                        {"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3}
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
                    "End": True,
                },
                "Recover": {"Type": "Pass", "End": True},
            }
        ),
        '{"k": 1}',
        lambdas={"risky": risky},
        clock=clock,
    )
    assert calls == [0, 1, 2]
    assert ex.status == "SUCCEEDED"
    assert ex.output["k"] == 1
    assert ex.output["error"]["Error"] == "Flaky"
    cause = json.loads(ex.output["error"]["Cause"])
    assert cause["errorType"] == "Flaky" and cause["errorMessage"] == "nope"
    # 2 s then 6 s of back-off, taken from the virtual clock, not the wall
    assert clock.now() == pytest.approx(1_000_008.0)
    assert types(ex).count("LambdaFunctionFailed") == 3
    assert types(ex)[-4:] == ["TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_max_attempts_zero_never_retries() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise Flaky("x")

    ex = run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                    "End": True,
                }
            }
        ),
        lambdas={"boom": boom},
        fast_forward=True,
    )
    assert ex.error == "Flaky"
    assert types(ex).count("LambdaFunctionScheduled") == 1


def test_lambda_invoke_envelope_and_result_selector() -> None:
    ex = run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {
                        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:double:1",
                        "Payload.$": "$",
                    },
                    "ResultSelector": {"v.$": "$.Payload.v", "code.$": "$.StatusCode"},
                    "End": True,
                }
            }
        ),
        '{"v": 21}',
        lambdas={"double": lambda e, c: {"v": e["v"] * 2}},
        fast_forward=True,
    )
    assert ex.output == {"v": 42, "code": 200}
    scheduled = ex.history()[2]
    assert scheduled["type"] == "TaskScheduled"
    details = scheduled["taskScheduledEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("lambda", "invoke")
    assert json.loads(details["parameters"])["Payload"] == {"v": 21}
    succeeded = json.loads(ex.history()[4]["taskSucceededEventDetails"]["output"])
    assert set(succeeded) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }


def test_unknown_function_is_resource_not_found() -> None:
    ex = run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nope",
                    "End": True,
                }
            }
        ),
        fast_forward=True,
    )
    assert ex.error == "Lambda.ResourceNotFoundException"
    assert ex.cause is not None and ex.cause.startswith("Function not found: arn:aws:lambda:us-east-1:")


def test_parallel_outputs_in_branch_order_and_runs_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def meet(event: Any, context: Any) -> Any:
        barrier.wait()  # both branches must be in flight at once, or this times out
        return event["b"]

    branch = lambda b: {  # noqa: E731
        "StartAt": f"S{b}",
        "States": {
            f"S{b}": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:meet",
                "Parameters": {"b": b},
                "End": True,
            }
        },
    }
    ex = run(
        machine({"P": {"Type": "Parallel", "Branches": [branch(0), branch(1)], "End": True}}),
        lambdas={"meet": meet},
        fast_forward=True,
    )
    assert ex.status == "SUCCEEDED"
    assert ex.output == [0, 1]


def test_parallel_failure_propagates_branch_error() -> None:
    ex = run(
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}},
                        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
                    ],
                    "End": True,
                }
            }
        ),
        fast_forward=True,
    )
    assert (ex.error, ex.cause) == ("E", "C")
    assert "WaitStateAborted" in types(ex)
    assert types(ex)[-2:] == ["ParallelStateFailed", "ExecutionFailed"]


def test_map_item_selector_order_and_context() -> None:
    ex = run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrency": 2,
                    "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "c.$": "$.cur"},
                    "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "End": True}}},
                    "ResultPath": "$.out",
                    "End": True,
                }
            }
        ),
        '{"cur": "EUR", "items": ["a", "b", "c"]}',
        fast_forward=True,
    )
    assert ex.output["out"] == [
        {"i": 0, "v": "a", "c": "EUR"},
        {"i": 1, "v": "b", "c": "EUR"},
        {"i": 2, "v": "c", "c": "EUR"},
    ]
    assert types(ex).count("MapIterationSucceeded") == 3


def test_map_of_ten_thousand_items_uses_frames_not_threads() -> None:
    before = threading.active_count()
    items = list(range(10_000))
    ex = run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "End": True}}},
                    "End": True,
                }
            }
        ),
        json.dumps(items),
        express=True,
        fast_forward=True,
    )
    assert ex.output == items
    assert threading.active_count() <= before + 1


def test_map_failure_fails_with_iteration_error_and_catch() -> None:
    ex = run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "ItemErr", "Cause": "bad"}},
                    },
                    "Catch": [{"ErrorEquals": ["ItemErr"], "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            }
        ),
        "[1, 2]",
        fast_forward=True,
    )
    assert ex.output == {"Error": "ItemErr", "Cause": "bad"}
    assert "MapIterationFailed" in types(ex) and "MapStateFailed" in types(ex)


def test_wait_seconds_path_errors_are_runtime() -> None:
    ex = run(
        machine({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}), '{"s": -1}', fast_forward=True
    )
    assert ex.error == "States.Runtime"
    assert ex.cause is not None and ex.cause.endswith(
        "The SecondsPath parameter references a negative value: $.s == -1"
    )


def test_wait_uses_virtual_clock() -> None:
    clock = VirtualClock(start=50.0)
    ex = run(machine({"W": {"Type": "Wait", "Seconds": 3600, "End": True}}), clock=clock)
    assert ex.status == "SUCCEEDED"
    assert clock.now() == 3650.0


def test_execution_timeout() -> None:
    ex = run(
        machine({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10),
        fast_forward=True,
    )
    assert ex.status == "TIMED_OUT"
    assert types(ex)[-1] == "ExecutionTimedOut"


def test_task_timeout_records_states_timeout() -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> Any:
        release.wait(5)
        return event

    try:
        ex = run(
            machine(
                {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow",
                        "TimeoutSeconds": 1,
                        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Done"}],
                        "End": True,
                    },
                    "Done": {"Type": "Pass", "End": True},
                }
            ),
            lambdas={"slow": slow},
            clock=VirtualClock(),
        )
    finally:
        release.set()
    assert ex.output == {"Error": "States.Timeout", "Cause": ""}
    assert "LambdaFunctionTimedOut" in types(ex)


def test_variables_assign_scope_and_read_before_write() -> None:
    ex = run(
        machine(
            {
                "Init": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Bump"},
                "Bump": {
                    "Type": "Pass",
                    "Assign": {"x": 2},
                    "Parameters": {"seen.$": "$x"},
                    "ResultPath": "$.bump",
                    "Next": "Map",
                },
                "Map": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "StartAt": "Use",
                        "States": {
                            "Use": {"Type": "Pass", "Parameters": {"outer.$": "$x", "v.$": "$"}, "End": True}
                        },
                    },
                    "End": True,
                },
            }
        ),
        '{"items": [7]}',
        fast_forward=True,
    )
    # Bump saw x as of its entry (1); the Map iteration reads the outer x after Bump assigned it (2)
    assert ex.status == "SUCCEEDED", ex.cause
    bump_exit = [e for e in ex.history() if e["type"] == "PassStateExited"][1]["stateExitedEventDetails"]
    assert json.loads(bump_exit["output"])["bump"] == {"seen": 1}
    assert bump_exit["assignedVariables"] == {"x": "2"}
    assert ex.output == [{"outer": 2, "v": 7}]


def test_jsonata_state_arguments_output_assign() -> None:
    ex = run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "inc", "Payload": {"n": "{% $states.input.n %}"}},
                    "Assign": {"code": "{% $states.result.StatusCode %}"},
                    "Output": "{% {'n': $states.result.Payload.n} %}",
                    "Next": "P",
                },
                "P": {"Type": "Pass", "Output": "{% {'n': $states.input.n, 'code': $code} %}", "End": True},
            },
            QueryLanguage="JSONata",
        ),
        '{"n": 1}',
        lambdas={"inc": lambda e, c: {"n": e["n"] + 1}},
        fast_forward=True,
    )
    assert ex.output == {"n": 2, "code": 200}


def test_jsonata_undefined_output_records_evaluation_failed() -> None:
    ex = run(
        machine({"P": {"Type": "Pass", "Output": "{% $nothing %}", "End": True}}, QueryLanguage="JSONata"),
        fast_forward=True,
    )
    assert ex.error == "States.QueryEvaluationError"
    assert types(ex) == ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"]


def test_payload_limit_on_state_output() -> None:
    ex = run(
        machine(
            {
                "P": {"Type": "Pass", "Parameters": {"big.$": "States.ArrayRange(1, 1000, 1)"}, "Next": "Q"},
                "Q": {
                    "Type": "Pass",
                    "Parameters": {"a.$": "$.big", "b.$": "$.big", "c.$": "$.big", "d.$": "$.big"},
                    "End": True,
                },
            }
        ),
        fast_forward=True,
    )
    assert ex.status == "SUCCEEDED"  # well under the limit
    huge = json.dumps({"s": "x" * (300 * 1024)})
    with pytest.raises(InvalidExecutionInput):
        run(machine({"P": {"Type": "Pass", "End": True}}), huge, fast_forward=True)


def test_invalid_definition_and_input_are_refused_before_running() -> None:
    with pytest.raises(InvalidDefinition):
        run(json.dumps({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "End": True}}}))
    with pytest.raises(InvalidExecutionInput):
        run(machine({"A": {"Type": "Pass", "End": True}}), "{not json")


def test_express_execution_arn() -> None:
    ex = run(machine({"A": {"Type": "Pass", "End": True}}), express=True, state_machine_name="sm", name="n1")
    assert ":express:sm:n1:" in ex.execution_arn
    assert "redriveCount" not in ex.describe()


def test_long_chains_do_not_grow_the_stack() -> None:
    n = 3000
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(n)}
    states[f"S{n}"] = {"Type": "Pass", "Result": "done", "End": True}
    ex = run(machine(states, start="S0"), express=True, fast_forward=True)
    assert ex.output == "done"


def test_express_executions_end_after_five_minutes() -> None:
    ex = run(machine({"W": {"Type": "Wait", "Seconds": 600, "End": True}}), express=True, fast_forward=True)
    assert ex.status == "TIMED_OUT"
    assert ex.stop_date is not None and ex.stop_date - ex.start_date == pytest.approx(300)


def test_standard_history_is_limited_to_25000_events_unless_lifted() -> None:
    loop = machine(
        {
            "Count": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "More"},
            "More": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": 7000, "Next": "Count"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        }
    )
    ex = run(loop, '{"i": 0}', fast_forward=True)
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    assert len(ex.events) == 25_000
    assert run(loop, '{"i": 0}', fast_forward=True, lift_limits=True).output == {"i": 7000}
    assert run(loop, '{"i": 0}', express=True, fast_forward=True).status == "SUCCEEDED"
