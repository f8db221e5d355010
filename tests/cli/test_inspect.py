"""`statelane executions`, `describe` and `history` against a store filled with AWS-recorded histories."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.inspect as inspect_cli
from cli.app import app
from engine.history import iso_format
from engine.store import ExecutionStatus, SqliteStore, Store

CASES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases"
T0 = 1_764_000_000.0
DOCUMENT_FIELDS = ("input", "output", "cause", "parameters")

runner = CliRunner()


def aws_history(case: str, at: float = T0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A recorded case's expected result and history, placeholders replaced as a live store would hold them."""
    expected = json.loads((CASES / case / "expected.json").read_text())
    events = []
    for raw in expected["history"]:
        event = {**raw, "timestamp": at + raw["id"] * 0.25}
        for key, details in raw.items():
            if key.endswith("EventDetails"):
                event[key] = {k: _as_text(k, v) for k, v in details.items()}
        events.append(event)
    return expected, events


def _as_text(key: str, value: Any) -> Any:
    if key in DOCUMENT_FIELDS and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    if key == "assignedVariables":
        return {
            k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in value.items()
        }
    return value


def record_case(store: Store, case: str, name: str, machine: str, *, at: float = T0) -> None:
    expected, events = aws_history(case, at)
    definition = (CASES / case / "definition.json").read_text()
    store.put_state_machine(machine, definition, now=at)
    input_text = (CASES / case / "input.json").read_text()
    e = store.start_execution(machine, name, input_text, now=at, queued=False).execution
    output = expected["output"]
    store.commit_transition(
        e.arn,
        events,
        {"done": True},
        status=ExecutionStatus(expected["status"]),
        output=None if expected["status"] != "SUCCEEDED" else json.dumps(output, separators=(",", ":")),
        error=expected["error"],
        cause=expected["cause"]
        if isinstance(expected["cause"], str | None)
        else json.dumps(expected["cause"]),
    )


MAP_CASE = "assign_base__base_cases__BASE_SCOPE_MAP"
MAP_RETRY_CASE = "base_scenarios__map_state_retry"
LAMBDA_RETRY_CASE = "base_scenarios__lambda_invoke_with_retry_base"
PARALLEL_RETRY_CASE = "base_scenarios__parallel_state_retry"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, SqliteStore]]:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    record_case(store, MAP_CASE, "map-run", "Mapper", at=T0)
    record_case(store, MAP_RETRY_CASE, "map-retry", "Mapper", at=T0 + 10)
    record_case(store, LAMBDA_RETRY_CASE, "lambda-retry", "Caller", at=T0 + 20)
    record_case(store, PARALLEL_RETRY_CASE, "parallel-retry", "Fanout", at=T0 + 30)
    yield f"sqlite:///{path}", store
    store.close()


def invoke(url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"STATELANE_DB": url, "COLUMNS": "220", "NO_COLOR": "1"})


# ------------------------------------------------------------------ executions


def test_executions_table_newest_first(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "executions")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "state", "machine", "status", "start", "(UTC)", "duration"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["parallel-retry", "Fanout", "FAILED"],
        ["lambda-retry", "Caller", "SUCCEEDED"],
        ["map-retry", "Mapper", "FAILED"],
        ["map-run", "Mapper", "SUCCEEDED"],
    ]
    assert "2025-11-24 16:00:30" in lines[1] and lines[1].endswith(" 2.500s")


def test_executions_filters_and_json(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "executions", "--status", "failed", "--state-machine", "Mapper", "--json")
    assert result.exit_code == 0
    [item] = json.loads(result.stdout)["executions"]
    assert item == {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:Mapper:map-retry",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Mapper",
        "name": "map-retry",
        "status": "FAILED",
        "startDate": iso_format(T0 + 10),
        "stopDate": iso_format(T0 + 10 + 18 * 0.25),
        "redriveCount": 0,
    }
    limited = json.loads(invoke(db[0], "executions", "--limit", "2", "--json").stdout)["executions"]
    assert [e["name"] for e in limited] == ["parallel-retry", "lambda-retry"]
    assert "no executions match" in invoke(db[0], "executions", "--status", "ABORTED").stdout


def test_executions_rejects_unknown_status_and_machine(db: tuple[str, SqliteStore]) -> None:
    bad = invoke(db[0], "executions", "--status", "done")
    assert bad.exit_code == 2
    assert "unknown status 'done'; expected one of RUNNING, SUCCEEDED, FAILED" in bad.stderr
    missing = invoke(db[0], "executions", "--state-machine", "Nope")
    assert missing.exit_code == 2
    assert "no state machine named 'Nope'; known ones: Caller, Fanout, Mapper" in missing.stderr
    assert "Traceback" not in missing.output


def test_no_store_yet_is_not_an_error_and_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none.db"
    listed = invoke(url, "executions")
    assert listed.exit_code == 0 and "no executions: no statelane store at" in listed.stdout
    assert json.loads(invoke(url, "executions", "--json").stdout) == {"executions": []}
    described = invoke(url, "describe", "x")
    assert described.exit_code == 2 and "no execution named 'x': no statelane store at" in described.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"garbage" * 50)
    for args in (["executions"], ["describe", "x"], ["history", "x"]):
        result = invoke(f"sqlite:///{path}", *args)
        assert result.exit_code == 2 and "is not a SQLite database" in result.stderr
        assert "Traceback" not in result.output


# ------------------------------------------------------------------ describe


def test_describe_by_prefix(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "describe", "map-ret")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "map-retry",
        "FAILED",
        "HandleItemFailError",
        "HandleItemFailCause",
        "events         18",
    ):
        assert expected in out


def test_describe_json_is_describe_execution(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "describe", "lambda-retry", "--json")
    described = json.loads(result.stdout)
    assert described["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:Caller:lambda-retry"
    assert described["status"] == "SUCCEEDED" and described["startDate"] == iso_format(T0 + 20)
    assert described["input"] == (CASES / LAMBDA_RETRY_CASE / "input.json").read_text()
    assert json.loads(described["output"])["Error"] == "Exception"
    assert described["redriveCount"] == 0 and described["redriveStatus"] == "NOT_REDRIVABLE"
    by_arn = invoke(db[0], "describe", described["executionArn"], "--json")
    assert json.loads(by_arn.stdout) == described


def test_describe_unknown_and_ambiguous_names(db: tuple[str, SqliteStore]) -> None:
    missing = invoke(db[0], "describe", "x")
    assert missing.exit_code == 2
    assert (
        missing.stderr.strip()
        == "error: no execution named 'x'; recent ones: parallel-retry, lambda-retry, map-retry, map-run"
    )
    ambiguous = invoke(db[0], "describe", "map")
    assert ambiguous.exit_code == 2
    assert "'map' matches 2 executions: map-retry, map-run" in ambiguous.stderr


def test_describe_a_running_execution_says_where_it_is(db: tuple[str, SqliteStore]) -> None:
    url, store = db
    store.start_execution("Mapper", "waiting", "{}", now=T0 + 40)
    assert "queued for a worker" in invoke(url, "describe", "waiting").stdout
    store.claim("worker-7", lease_seconds=60, limit=1, now=T0 + 41)
    assert "held by worker-7" in invoke(url, "describe", "waiting").stdout


# ------------------------------------------------------------------ history


def test_history_table_names_the_state_of_every_event(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "history", "lambda-retry")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [row[0] for row in rows[:3]] == ["1", "2", "3"]
    assert rows[2][:4] == ["3", "+0.750s", "LambdaFunctionScheduled", "InvokeLambdaWithRetry"]
    assert rows[4][2:5] == ["LambdaFunctionFailed", "InvokeLambdaWithRetry", "Exception:"]
    assert rows[-1][2] == "ExecutionSucceeded"


def test_history_json_is_get_execution_history(db: tuple[str, SqliteStore]) -> None:
    url, store = db
    result = invoke(url, "history", "map-run", "--json")
    events = json.loads(result.stdout)["events"]
    stored = store.get_history(store.get_execution("map-run").arn)
    assert events == [{**e, "timestamp": iso_format(e["timestamp"])} for e in stored]
    assert events[4] == {
        "id": 5,
        "mapStateStartedEventDetails": {"length": 3},
        "previousEventId": 4,
        "timestamp": iso_format(T0 + 1.25),
        "type": "MapStateStarted",
    }
    reverse = json.loads(invoke(url, "history", "map-run", "--json", "--reverse").stdout)["events"]
    assert [e["id"] for e in reverse] == list(range(22, 0, -1))


def test_history_errors_shows_failures_with_their_causes(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "history", "lambda-retry", "--errors", "--json")
    failures = json.loads(result.stdout)["events"]
    assert [e["type"] for e in failures] == ["LambdaFunctionFailed"] * 4
    table = invoke(db[0], "history", "lambda-retry", "--errors").stdout
    assert "Some exception was raised." in table and "PassStateEntered" not in table
    assert (
        "no failures in the history of map-run (SUCCEEDED)"
        in invoke(db[0], "history", "map-run", "--errors").stdout
    )


def test_history_tree_groups_map_iterations(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "history", "map-run", "--tree")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    iteration = lines.index(next(line for line in lines if line.endswith("iteration 1")))
    assert "MapIterationStarted" in lines[iteration + 1]
    assert "Pass Inner" in lines[iteration + 2] and "output 2" in lines[iteration + 2]
    assert "MapIterationSucceeded" in lines[iteration + 3]


def test_history_tree_marks_failed_states(db: tuple[str, SqliteStore]) -> None:
    out = invoke(db[0], "history", "parallel-retry", "--tree").stdout
    assert "Parallel ParallelState  ParallelStateFailed" in out
    assert out.count("branch 1") == 3  # three attempts, one branch each
    assert "FailureType: Cause description" in out


def test_history_flags_that_do_not_mix(db: tuple[str, SqliteStore]) -> None:
    for args in (["--tree", "--json"], ["--tree", "--follow"], ["--follow", "--reverse"]):
        result = invoke(db[0], "history", "map-run", *args)
        assert result.exit_code == 2 and "does not combine" in result.stderr


def test_history_follow_tails_until_the_execution_closes(
    db: tuple[str, SqliteStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, store = db
    monkeypatch.setattr(inspect_cli, "FOLLOW_POLL_SECONDS", 0.01)
    arn = store.start_execution("Mapper", "live", "{}", now=T0, queued=False).execution.arn
    _, events = aws_history(MAP_CASE)
    store.commit_transition(arn, events[:3], None)
    writer_store = SqliteStore(url.removeprefix("sqlite:///"))

    def writer() -> None:
        for i in range(3, len(events), 5):
            time.sleep(0.02)
            closing = i + 5 >= len(events)
            status = ExecutionStatus.SUCCEEDED if closing else None
            writer_store.commit_transition(arn, events[i : i + 5], None, status=status, output="[1,2,3]")

    thread = threading.Thread(target=writer)
    thread.start()
    result = invoke(url, "history", "live", "--follow", "--json")
    thread.join()
    writer_store.close()
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == list(range(1, 23))


def test_history_follow_of_a_finished_execution_prints_it_and_stops(db: tuple[str, SqliteStore]) -> None:
    result = invoke(db[0], "history", "map-retry", "--follow", "--errors")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "ExecutionFailed" in lines[0] and "HandleItemFailError: HandleItemFailCause" in lines[0]
    assert lines[-1] == "map-retry finished: FAILED"


# ------------------------------------------------------------------ the tree's structure


def parallel_history() -> list[dict[str, Any]]:
    """Two branches whose events interleave, as a live Parallel writes them."""
    rows = [
        (1, 0, "ExecutionStarted", {"input": "{}"}),
        (2, 0, "ParallelStateEntered", {"name": "P", "input": "{}"}),
        (3, 2, "ParallelStateStarted", None),
        (4, 3, "TaskStateEntered", {"name": "A1", "input": "{}"}),
        (5, 3, "PassStateEntered", {"name": "B1", "input": "{}"}),
        (
            6,
            4,
            "LambdaFunctionScheduled",
            {"resource": "arn:aws:lambda:us-east-1:1:function:f", "input": "{}"},
        ),
        (7, 5, "PassStateExited", {"name": "B1", "output": "1"}),
        (8, 7, "PassStateEntered", {"name": "B2", "input": "1"}),
        (9, 6, "LambdaFunctionStarted", None),
        (10, 8, "PassStateExited", {"name": "B2", "output": "2"}),
        (11, 9, "LambdaFunctionSucceeded", {"output": "3"}),
        (12, 11, "TaskStateExited", {"name": "A1", "output": "3"}),
        (13, 12, "ParallelStateSucceeded", None),
        (14, 12, "ParallelStateExited", {"name": "P", "output": "[3,2]"}),
        (15, 14, "ExecutionSucceeded", {"output": "[3,2]"}),
    ]
    out = []
    for event_id, prev, kind, details in rows:
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": prev,
            "timestamp": T0 + event_id,
            "type": kind,
        }
        if details is not None:
            member = (
                "stateEnteredEventDetails"
                if kind.endswith("StateEntered")
                else "stateExitedEventDetails"
                if kind.endswith("StateExited")
                else kind[0].lower() + kind[1:] + "EventDetails"
            )
            event[member] = details
        out.append(event)
    return out


def outline(node: inspect_cli.Node) -> list[Any]:
    """The tree as nested lists: state/group labels with their children, events as their ids."""
    items: list[Any] = []
    for child in node.children:
        if isinstance(child, inspect_cli.Node):
            items.append((child.label, outline(child)))
        else:
            items.append(child["id"])
    return items


def test_parallel_branches_are_told_apart_by_previous_event_ids() -> None:
    structure = inspect_cli.HistoryStructure(parallel_history())
    assert outline(structure.root) == [
        1,
        ("P", [3, ("branch 1", [("A1", [6, 9, 11])]), ("branch 2", [("B1", []), ("B2", [])]), 13]),
        15,
    ]
    assert [structure.state_of(i) for i in (6, 9, 11, 12, 13, 14, 15)] == [
        "A1",
        "A1",
        "A1",
        "A1",
        "P",
        "P",
        "",
    ]


def conformance_histories() -> list[str]:
    names = []
    for path in sorted(CASES.glob("*/expected.json")):
        history = json.loads(path.read_text()).get("history") or []
        if history and all(
            isinstance(e["id"], int) and isinstance(e["previousEventId"], int) for e in history
        ):
            names.append(path.parent.name)
    return names


def placed(node: inspect_cli.Node) -> list[int]:
    ids: list[int] = []
    for event in (node.entered, node.exited):
        if event is not None:
            ids.append(event["id"])
    for child in node.children:
        ids.extend(placed(child) if isinstance(child, inspect_cli.Node) else [child["id"]])
    return ids


def test_every_recorded_history_places_each_event_once_in_the_tree() -> None:
    cases = conformance_histories()
    assert len(cases) > 400
    for case in cases:
        _, events = aws_history(case)
        structure = inspect_cli.HistoryStructure(events)
        assert sorted(placed(structure.root)) == [e["id"] for e in events], case
        for event in events:
            name = inspect_cli.event_details(event).get("name")
            if event["type"].endswith(("StateEntered", "StateExited")):
                assert structure.state_of(event["id"]) == name, (case, event["id"])


def test_durations_read_well() -> None:
    assert [inspect_cli.duration(s) for s in (0.25, 42, 187, 7500, 270000, -1)] == [
        "0.250s",
        "42.0s",
        "3m07s",
        "2h05m",
        "3d03h",
        "0.000s",
    ]


def test_db_option_wins_over_the_environment(db: tuple[str, SqliteStore], tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path}/other.db"
    result = runner.invoke(app, ["executions", "--db", db[0], "--json"], env={"STATELANE_DB": other})
    assert len(json.loads(result.stdout)["executions"]) == 4
    assert not (tmp_path / "other.db").exists()
