"""A fleet of worker processes on one PostgreSQL database, killed with SIGKILL at random.

Several `statelane worker --db postgresql://...` processes share a few hundred standard
executions (a Task, Waits, a Parallel holding a Map and a `.waitForTaskToken` callback
that this test answers through the store). The Parallel's Task invocations run as jobs on
any worker (a PostgreSQL fleet spreads branches). Workers are killed at random moments and
restarted. Afterwards every execution finished with the right output and a complete,
duplicate-free history, and no execution was ever held by two live workers at once,
checked twice: against the store's lease log (every grant, renewal, release and commit,
written in the transaction that made it) and, independently of the store, against the
times at which each worker process ran each execution's task code.

Also measured: how long a started execution waits for an idle fleet (LISTEN/NOTIFY).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_store_postgres_fixtures import fresh_schema, require_server

require_server(module=True)  # before anything imports psycopg

import psycopg  # noqa: E402

from engine.store import ExecutionStatus, InvalidToken, StoreError, TaskOutcome, open_store  # noqa: E402
from engine.store.postgres import LEASE_LOG_ENV, PostgresStore, parse_url  # noqa: E402

EXECUTIONS = 300
WORKERS = 3
CONCURRENCY = 4
LEASE_SECONDS = 3
KILLS = 8
EXECUTIONS = int(os.environ.get("STATELANE_FLEET_EXECUTIONS", EXECUTIONS))  # more, for a soak run

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"

MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"n.$": "$.n", "exe.$": "$$.Execution.Name", "step": "prepare"},
            "ResultPath": "$.prepared",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Item",
                                "States": {
                                    "Item": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:states:::lambda:invoke",
                                        "Parameters": {
                                            "FunctionName": "work",
                                            "Payload": {
                                                "n.$": "$",
                                                "exe.$": "$$.Execution.Name",
                                                "step": "item",
                                            },
                                        },
                                        "OutputPath": "$.Payload.value",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Approve",
                    "States": {
                        "Approve": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "Parameters": {
                                "FunctionName": "ask",
                                "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"},
                            },
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": True}}},
            ],
            "ResultSelector": {"items.$": "$[0]", "approved.$": "$[1].approved"},
            "ResultPath": "$.fanned",
            "Next": "Finish",
        },
        "Finish": {
            "Type": "Pass",
            "Parameters": {
                "n.$": "$.n",
                "prepared.$": "$.prepared.value",
                "items.$": "$.fanned.items",
                "approved.$": "$.fanned.approved",
            },
            "End": True,
        },
    },
}

LAMBDAS = """
import os, time

def _append(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def work(event, context):
    log = os.environ["FLEET_RUNS"]
    where = f"{event['exe']} {context.aws_request_id} {event['step']}"
    _append(log, f"S {os.getpid()} {time.time():.6f} {where}\\n")
    time.sleep(0.02)
    _append(log, f"E {os.getpid()} {time.time():.6f} {where}\\n")
    return {"value": event["n"] * 10}


def ask(event, context):
    _append(os.environ["FLEET_TOKENS"], f"{event['token']} {event['n']}\\n")
    return {}
"""


def items(n: int) -> list[int]:
    return list(range(n % 3 + 1))


def expected(n: int) -> dict[str, Any]:
    return {"n": n, "prepared": n * 10, "items": [i * 10 for i in items(n)], "approved": n}


@dataclass
class Fleet:
    """Worker processes on one store URL, and when each was killed."""

    url: str
    folder: Path
    concurrency: int = CONCURRENCY
    lease_seconds: float = LEASE_SECONDS
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    killed_at: dict[int, float] = field(default_factory=dict)

    def spawn(self) -> subprocess.Popen[bytes]:
        args = [
            sys.executable,
            "-m",
            "cli",
            "worker",
            "--db",
            self.url,
            "--lambdas",
            str(self.folder / "fns.py"),
        ]
        args += ["--concurrency", str(self.concurrency), "--lease-seconds", str(self.lease_seconds)]
        args += ["--park-after", "0"]
        env = dict(
            os.environ,
            FLEET_RUNS=str(self.folder / "runs.log"),
            FLEET_TOKENS=str(self.folder / "tokens.log"),
            **{LEASE_LOG_ENV: "1"},
        )
        errors = (self.folder / f"worker-{len(self.procs) + len(self.killed_at)}.err").open("wb")
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        errors.close()
        self.procs.append(proc)
        return proc

    def kill_one(self, rng: random.Random) -> None:
        victim = rng.choice(self.procs)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.killed_at[victim.pid] = time.time()
        self.procs.remove(victim)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    (tmp_path / "fns.py").write_text(LAMBDAS)
    with fresh_schema() as url:
        f = Fleet(url, tmp_path)
        try:
            yield f
        finally:
            f.stop()


class Answerer(threading.Thread):
    """Answers each callback token the `ask` function writes down, as an approver would: through the store.

    The interpreter records a token after the function that carries it returns, so an answer
    can arrive first and get InvalidToken; such answers are retried for a while (a token
    from a worker killed before it recorded the token stays invalid for ever).
    """

    def __init__(self, url: str, tokens: Path) -> None:
        super().__init__(daemon=True)
        self.store = open_store(url)
        self.tokens = tokens
        self.done = threading.Event()
        self.answered = 0
        self.errors: list[str] = []
        self.gave_up: dict[str, str] = {}

    def run(self) -> None:
        offset = 0
        waiting: dict[str, tuple[int, float]] = {}  # token -> (n, give up at)
        while not self.done.is_set():
            text = self.tokens.read_text() if self.tokens.exists() else ""
            complete = text[: text.rfind("\n") + 1]
            for line in complete[offset:].splitlines():
                token, n = line.split()
                waiting[token] = (int(n), time.monotonic() + 20)
            offset = len(complete)
            for token, (n, give_up) in list(waiting.items()):
                try:
                    outcome = TaskOutcome.success(json.dumps({"approved": n}))
                    self.store.complete_task_token(token, outcome, now=time.time())
                    self.answered += 1
                except InvalidToken:
                    if time.monotonic() < give_up:
                        continue  # not recorded yet: try again
                    self.gave_up[token] = f"InvalidToken until {time.time():.3f}"
                except StoreError as exc:  # spent: superseded by a token of the worker that took over
                    self.gave_up[token] = f"{type(exc).__name__} at {time.time():.3f}: {exc}"
                except Exception as exc:  # reported by the test: a dead answerer would look like a hang
                    self.errors.append(f"{token}: {type(exc).__name__}: {exc}")
                del waiting[token]
            self.done.wait(0.05)
        self.store.close()


def start_all(store: Any, names: range) -> None:
    from engine.api import build_handlers
    from engine.durable import DurableEngine

    starter = DurableEngine(store=store, handlers=build_handlers())
    for n in names:
        starter.start("fleet", json.dumps(MACHINE), json.dumps({"n": n, "items": items(n)}), name=f"e{n:03d}")


def wait_until_finished(store: Any, fleet: Fleet, timeout: float, answerer: Answerer) -> None:
    deadline = time.monotonic() + timeout
    while store.list_executions(status=ExecutionStatus.RUNNING, limit=1):
        if time.monotonic() > deadline:
            stuck = store.list_executions(status=ExecutionStatus.RUNNING)
            log = fleet.folder / "tokens.log"
            tokens = log.read_text() if log.exists() else ""
            errors = "".join(p.read_text()[-800:] for p in sorted(fleet.folder.glob("worker-*.err")))
            pytest.fail(
                f"{len(stuck)} executions still running after {timeout:.0f}s, e.g.:\n"
                + "\n".join(describe_stuck(store, e, tokens, answerer.gave_up) for e in stuck[:5])
                + f"\nanswerer errors: {answerer.errors[:5]}\nworkers said:\n{errors}"
            )
        time.sleep(0.25)


def describe_stuck(store: Any, e: Any, written: str, gave_up: dict[str, str]) -> str:
    last = [ev["type"] for ev in store.get_history(e.arn, reverse=True, limit=4)]
    tokens = [
        (t.token[:8], t.status.value, t.created_at, written.count(t.token), gave_up.get(t.token))
        for t in store.list_task_tokens(e.arn)
    ]
    return (
        f"{e.name}: lease {e.lease_owner} until {e.lease_expires_at}, queued {e.queued}, wake_at {e.wake_at}, "
        f"last events {last[::-1]}, tokens {tokens}"
    )


# ------------------------------------------------------------------ what "correct" means


def check_history(record: Any, events: list[dict[str, Any]], n: int) -> None:
    assert record.status is ExecutionStatus.SUCCEEDED, (record.name, record.error, record.cause)
    assert json.loads(record.output or "null") == expected(n), record.name
    assert [e["id"] for e in events] == list(range(1, len(events) + 1)), f"{record.name}: ids not consecutive"
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert types.count("ExecutionStarted") == types.count("ExecutionSucceeded") == 1
    assert sum(t.endswith("StateEntered") for t in types) == sum(t.endswith("StateExited") for t in types)
    assert types.count("WaitStateEntered") == 2, f"{record.name}: a timer fired twice or never"
    assert types.count("MapIterationStarted") == types.count("MapIterationSucceeded") == len(items(n))
    # Prepare is a Lambda ARN; the Map's items and the callback are lambda:invoke tasks.
    assert types.count("LambdaFunctionSucceeded") == 1, record.name
    assert types.count("TaskSucceeded") == len(items(n)) + 1, f"{record.name}: a task completed twice"


def lease_violations(rows: list[tuple[Any, ...]]) -> tuple[list[str], int]:
    """Replay the lease log (per execution, in row-lock order); what broke exclusivity, and how many takeovers.

    A grant while another worker's lease is unexpired, a renewal or commit by a worker not
    holding the lease, a release of another worker's lease: each is a violation.
    """
    holders: dict[str, tuple[str | None, float]] = {}
    bad: list[str] = []
    takeovers = 0
    for seq, arn, worker, action, at, expires in rows:
        holder, until = holders.get(arn, (None, 0.0))
        name = arn.rsplit(":", 1)[-1]
        if action in ("claim", "acquire"):
            if holder is not None and holder != worker:
                if until > at:
                    bad.append(
                        f"#{seq} {name}: {worker} took it at {at} while {holder} held it until {until}"
                    )
                takeovers += 1
            holders[arn] = (worker, expires)
        elif action == "renew":
            if holder != worker:
                bad.append(f"#{seq} {name}: {worker} renewed a lease {holder} held")
            holders[arn] = (worker, expires)
        elif action == "release":
            if holder not in (None, worker):
                bad.append(f"#{seq} {name}: {worker} released a lease {holder} held")
            holders[arn] = (None, 0.0)
        elif worker is not None and holder != worker:  # commit / close by a worker
            bad.append(f"#{seq} {name}: {worker} wrote ({action}) while {holder} held it")
        if action == "close":
            holders[arn] = (None, 0.0)
    return bad, takeovers


def task_runs(runs_log: Path, killed_at: dict[int, float]) -> list[tuple[str, str, float, float, int]]:
    """(execution, step, began, ended, pid) of every task invocation; one cut off by a kill ends then."""
    started: dict[str, tuple[int, float, str, str]] = {}
    runs = []
    for line in runs_log.read_text().splitlines():
        kind, pid, at, exe, request, step = line.split()
        if kind == "S":
            started[request] = (int(pid), float(at), exe, step)
        else:
            p, begin, exe, step = started.pop(request)
            runs.append((exe, step, begin, float(at), p))
    runs += [(exe, step, begin, killed_at.get(p, begin), p) for p, begin, exe, step in started.values()]
    return runs


def run_overlaps(runs_log: Path, killed_at: dict[int, float]) -> list[str]:
    """Task code that only an execution's own worker runs (its top-level Task) running in two worker
    processes at overlapping times (store-independent). Tasks in Parallel branches run on any worker."""
    intervals: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for exe, step, begin, end, pid in task_runs(runs_log, killed_at):
        if step == "prepare":
            intervals[exe].append((begin, end, pid))
    bad = []
    for exe, spans in intervals.items():
        spans.sort()
        for (b1, e1, p1), (b2, _, p2) in itertools.pairwise(spans):
            if p1 != p2 and b2 < e1:
                bad.append(f"{exe}: pid {p1} ran {b1:.3f}-{e1:.3f}, pid {p2} from {b2:.3f}")
    return bad


def spread_executions(runs_log: Path) -> int:
    """Executions whose branch tasks (the Map's items in the Parallel) ran in more than one process."""
    pids: dict[str, set[int]] = defaultdict(set)
    for exe, step, _, _, pid in task_runs(runs_log, {}):
        if step == "item":
            pids[exe].add(pid)
    return sum(len(p) > 1 for p in pids.values())


# ------------------------------------------------------------------ the tests


def test_a_fleet_killed_at_random_loses_nothing_and_never_shares_an_execution(fleet: Fleet) -> None:
    store = PostgresStore(fleet.url)
    answerer = Answerer(fleet.url, fleet.folder / "tokens.log")
    answerer.start()
    rng = random.Random(20261126)
    try:
        start_all(store, range(EXECUTIONS // 2))
        for _ in range(WORKERS):
            fleet.spawn()
        start_all(store, range(EXECUTIONS // 2, EXECUTIONS))  # while the fleet runs: NOTIFY wakes it
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.4, 1.2))
            fleet.kill_one(rng)
            fleet.spawn()
        wait_until_finished(store, fleet, 240, answerer)
        fleet.stop()
        answerer.done.set()
        answerer.join(5)
        assert answerer.errors == []

        for n in range(EXECUTIONS):
            record = store.get_execution(f"e{n:03d}")
            check_history(record, store.get_history(record.arn), n)
        with psycopg.connect(parse_url(fleet.url).conninfo) as conn:
            conn.execute(f'SET search_path TO "{parse_url(fleet.url).schema}"')
            rows = conn.execute(
                "SELECT seq, execution_arn, worker, action, at, expires_at FROM lease_log ORDER BY seq"
            ).fetchall()
        bad, takeovers = lease_violations(rows)
        assert bad == [], "\n".join(bad[:20])
        assert takeovers > 0, "no kill ever left an execution for another worker to take over"
        workers = {row[2].split(":")[1] for row in rows if row[2]}
        assert len(workers) > WORKERS, "the restarted workers never got any work"
        overlaps = run_overlaps(fleet.folder / "runs.log", fleet.killed_at)
        assert overlaps == [], "\n".join(overlaps[:20])
        # Parallel branches spread over the fleet (a PostgreSQL fleet posts their tasks as jobs).
        assert spread_executions(fleet.folder / "runs.log") > 0
    finally:
        answerer.done.set()
        store.close()


def test_an_idle_fleet_begins_a_started_execution_within_tens_of_milliseconds(fleet: Fleet) -> None:
    """Start executions one at a time on an idle fleet: the first event's time minus the start time."""
    flow = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    store = PostgresStore(fleet.url)
    try:
        for _ in range(2):
            fleet.spawn()
        start_quiet = time.time()
        from engine.api import build_handlers
        from engine.durable import DurableEngine

        starter = DurableEngine(store=store, handlers=build_handlers())
        starter.register("quick", json.dumps(flow))
        while time.time() - start_quiet < 1.5:  # the workers come up and go idle
            time.sleep(0.1)
        latencies = []
        for i in range(20):
            record = starter.start("quick", json.dumps(flow), "{}", name=f"q{i}")
            deadline = time.monotonic() + 10
            while store.get_execution(record.arn).status is ExecutionStatus.RUNNING:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            first = store.get_history(record.arn, limit=1)[0]
            latencies.append(first["timestamp"] - record.start_date)
            time.sleep(rng_pause(i))
        median = statistics.median(latencies)
        print(
            f"\nidle-fleet start latency: median {median * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )
        # Polling alone (every 0.2 s) would make the median about 100 ms.
        assert median < 0.05, latencies
    finally:
        store.close()


def rng_pause(i: int) -> float:
    """Spread the starts over the idle workers' poll cycle (0.2 s) so polling cannot look like NOTIFY."""
    return 0.25 + (i * 0.037) % 0.2
