"""Smoke tests of the benchmark runner's correctness checking (no peers, the smallest workloads).

The suite's numbers are only worth something if a wrong output, a failed run or a
real-clock run shorter than its waits is reported as such; these tests make sure it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.configs import CONFIGS, IN_PROCESS, MOTO, POSTGRES_ENV, Config
from benchmarks.runner import FAST_FORWARD, REAL, Options, Row, measure_row, plan, ratio_vs_moto
from benchmarks.sample import CAPPED, OK, TIMED_OUT, WRONG, Sample
from benchmarks.workloads import WORKLOADS_DIR, first_difference, load_workloads
from tests.engine.test_store_postgres_fixtures import REQUIRE_ENV, require_server, server_url, unavailable

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = load_workloads()


def run_suite(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--runs", "1", "--quiet", "--json", str(report), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), done.stderr
    return done.returncode, json.loads(report.read_text())


def results_by_key(document: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["workload"], r["config"], r["clock"]): r for r in document["results"]}


def test_small_workloads_pass_in_every_available_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = ["express", "standard", "standard-sqlite", "cli"]
    if unavailable() is None or os.environ.get(REQUIRE_ENV):  # the PostgreSQL rows need a server
        configs.append("standard-postgres")
        monkeypatch.setenv(POSTGRES_ENV, server_url())
    code, document = run_suite(
        tmp_path,
        "--workloads",
        "intrinsics-heavy,retry-catch",
        "--configs",
        ",".join(configs),
        "--clocks",
        "fast-forward",
    )
    results = results_by_key(document)
    assert code == 0
    for config in configs:
        row = results[("intrinsics-heavy", config, REAL)]
        assert row["outcome"] == OK
        assert row["median_wall_s"] > 0 and row["parse_s"] > 0 and row["peak_rss_mb"] > 5
        assert row["transitions_per_s"] == pytest.approx(200 / row["median_wall_s"])
        assert results[("retry-catch", config, FAST_FORWARD)]["outcome"] == OK
    in_process = results[("intrinsics-heavy", "express", REAL)]["samples"][0]
    assert in_process["transitions_seen"] == 200
    assert ("retry-catch", "express", REAL) not in results


def test_a_wrong_output_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    workloads = tmp_path / "workloads"
    workloads.mkdir()
    manifest = json.loads((WORKLOADS_DIR / "manifest.json").read_text())
    (workloads / "manifest.json").write_text(json.dumps({"intrinsics-heavy": manifest["intrinsics-heavy"]}))
    for suffix in (".asl.json", ".input.json"):
        shutil.copy(WORKLOADS_DIR / f"intrinsics-heavy{suffix}", workloads)
    expected = json.loads((WORKLOADS_DIR / "intrinsics-heavy.expected.json").read_text())
    expected["count"] = 201
    (workloads / "intrinsics-heavy.expected.json").write_text(json.dumps(expected))
    code, document = run_suite(tmp_path, "--workloads-dir", str(workloads), "--configs", "express,cli")
    assert code == 1
    for row in document["results"]:
        assert row["outcome"] == WRONG
        assert "$.count: 200 != expected 201" in row["notes"]


def test_first_difference_is_exact_json_equality_ignoring_key_order() -> None:
    assert first_difference({"a": 1, "b": [1, {"c": None}]}, {"b": [1, {"c": None}], "a": 1}) is None
    assert first_difference({"a": 1.0}, {"a": 1}) == "$.a: 1.0 != expected 1"
    assert first_difference([True], [1]) == "$[0]: true != expected 1"
    assert first_difference({"a": [1, 2]}, {"a": [1]}) == "$.a: 2 items != expected 1"
    assert first_difference({"a": 1}, {"b": 1}) == "$: keys differ (missing ['b'], unexpected ['a'])"


def test_only_workloads_over_aws_quotas_lift_limits_and_say_why() -> None:
    big = WORKLOADS["map-inline-10k-large"]
    loop = WORKLOADS["choice-loop-10k"]
    assert "> 256 KiB" in (big.quota_excess(express=True) or "")
    assert loop.quota_excess(express=True) is None
    assert "> 25,000" in (loop.quota_excess(express=False) or "")
    assert all(
        WORKLOADS[n].quota_excess(express=e) is None
        for n in ("pass-chain-1000", "task-lambda-1k", "map-inline-1k", "parallel-fanout")
        for e in (True, False)
    )
    rows = plan([loop], [CONFIGS["express"], CONFIGS["standard"]], [])
    assert [r.lift_reason is not None for r in rows] == [False, True]
    assert any("limits lifted" in note for note in rows[1].flags())


def test_a_real_clock_run_shorter_than_its_waits_is_flagged() -> None:
    waits = WORKLOADS["wait-1s-x10"]
    honest = Row(waits, CONFIGS["express"], REAL, None, [Sample(OK, wall_s=10.01)])
    cheating = Row(waits, CONFIGS["express"], REAL, None, [Sample(OK, wall_s=0.02)])
    assert not any(n.startswith("FLAG") for n in honest.flags())
    assert any(n.startswith("FLAG: real clock took 0.02 s < 10 s") for n in cheating.flags())
    assert [r.clock for r in plan([waits], [CONFIGS["express"]], [])] == [FAST_FORWARD, REAL]


def test_moto_lambda_calls_reach_the_same_local_handlers() -> None:
    from benchmarks.peer_moto import local_invoke

    ok = local_invoke({"FunctionName": "echo", "Payload": b'{"step": 1}'}, "us-east-1", None)
    assert ok["StatusCode"] == 200 and ok["Payload"] == {"step": 1} and "FunctionError" not in ok
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fail:$LATEST"
    failed = local_invoke({"FunctionName": arn, "Payload": b"{}"}, "us-east-1", None)
    assert failed["FunctionError"] == "Unhandled"
    assert failed["Payload"]["errorType"] == "AlwaysError"


def test_a_capped_peer_reports_the_rate_it_reached_and_ratios_use_it() -> None:
    loop = WORKLOADS["choice-loop-10k"]
    peer = Row(loop, MOTO, REAL, None, [Sample(CAPPED, wall_s=60.0, transitions_seen=600)])
    ours = Row(loop, CONFIGS["express"], REAL, None, [Sample(OK, wall_s=0.2), Sample(OK, wall_s=0.1)])
    ours.samples.append(Sample(OK, wall_s=0.4))
    assert peer.rate == pytest.approx(10.0)
    assert ours.rate == pytest.approx(20001 / 0.2)
    assert ratio_vs_moto([ours, peer], ours) == pytest.approx(20001 / 0.2 / 10.0)


def test_a_configuration_without_a_runner_is_listed_as_not_available_and_never_run() -> None:
    missing = Config("future", "future store", IN_PROCESS, express=False, unavailable="not available yet")
    row = Row(WORKLOADS["pass-chain-1000"], missing, REAL, None)
    measure_row(row, Options(runs=2))
    assert row.samples == [] and row.outcome == "not available yet"
    assert not Config("bare", "no runner", IN_PROCESS, express=False).available


def test_a_sample_past_the_timeout_is_killed_and_reported() -> None:
    for config in ("express", "cli"):
        row = Row(WORKLOADS["pass-chain-1000"], CONFIGS[config], REAL, None)
        measure_row(row, Options(runs=3, timeout_s=0.05))
        assert [s.outcome for s in row.samples] == [TIMED_OUT]
        assert row.outcome == TIMED_OUT and row.rate is None


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_the_fleet_benchmark_checks_every_execution_it_times(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import fleet

    if store == "postgres":
        require_server()
        monkeypatch.setenv(POSTGRES_ENV, server_url())
    row = fleet.measure(store, workers=2, executions=6, concurrency=2)
    assert row.problem is None
    assert row.wall_s is not None and row.executions_per_s == pytest.approx(6 / row.wall_s)
    assert row.events_per_s == pytest.approx(6 * fleet.EVENTS_PER_EXECUTION / row.wall_s)
    text = fleet.markdown([row], {"date": "d", "machine": "m", "executions": 6, "concurrency": 2, "runs": 1})
    assert f"| {store} | 2 |" in text


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_the_branches_benchmark_times_a_checked_parallel_spread_over_worker_processes(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import branches

    if store == "postgres":
        require_server()
        monkeypatch.setenv(POSTGRES_ENV, server_url())
    row = branches.measure(store, 2, spread=True, branches=3, spin_ms=5)
    assert row.problem is None
    assert row.parallel_s is not None and row.parallel_s > 0
    assert 1 <= row.processes <= 2
    text = branches.markdown(
        [row],
        {
            "date": "d",
            "machine": "m",
            "branches": 3,
            "spin_ms": 5,
            "cpu_s": 0.015,
            "runs": 1,
            "concurrency": 1,
        },
    )
    assert f"| {store} | spread | 2 |" in text


def test_the_branches_benchmark_reports_a_wrong_history_instead_of_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import branches

    monkeypatch.setattr(branches, "events_expected", lambda n: 1)
    row = branches.measure("sqlite", 1, spread=False, branches=2, spin_ms=1)
    assert row.parallel_s is None and row.problem is not None and "history events" in row.problem
