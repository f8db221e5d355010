"""Parallel branches on a fleet: one wide Parallel run by 1, 2, 4 worker processes.

    python -m benchmarks.branches [--stores sqlite,postgres] [--workers 1,2,4] [--branches 16]
                                  [--spin-ms 100] [--runs 1] [--markdown FILE]

One execution whose Parallel has `--branches` branches, each a Task calling the local
Lambda `spin` (benchmarks/spin.py), which keeps a CPU busy for `--spin-ms`. Measured with
the workers spreading branches (their Task invocations are jobs any worker runs, see
engine.fleet_tasks) and without (the execution's worker invokes them all in its own
process, where Python threads share one core's worth of interpreter). The time is the
Parallel's own, from its ParallelStateEntered event to its ParallelStateExited (worker
start-up left out: the workers are up before the execution starts); the output and the
number of history events are checked. The speed-up is over one worker invoking in process.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.configs import postgres_unavailable
from benchmarks.fleet import STATELANE, fresh_store

SPIN_FILE = Path(__file__).with_name("spin.py")
SPIN = "arn:aws:states:::lambda:invoke"


def definition(branches: int, spin_ms: int) -> str:
    task = {
        "Type": "Task",
        "Resource": SPIN,
        "Parameters": {"FunctionName": "spin", "Payload": {"ms": spin_ms, "branch.$": "$.branch"}},
        "OutputPath": "$.Payload",
        "End": True,
    }
    return json.dumps(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": f"Prepare{i}",
                            "States": {
                                f"Prepare{i}": {"Type": "Pass", "Result": {"branch": i}, "Next": f"Spin{i}"},
                                f"Spin{i}": task,
                            },
                        }
                        for i in range(branches)
                    ],
                    "End": True,
                }
            },
        }
    )


def events_expected(branches: int) -> int:
    # ExecutionStarted, ParallelState{Entered,Started,Succeeded,Exited}, ExecutionSucceeded, and per
    # branch: Pass entered/exited, Task entered/scheduled/started/succeeded/exited.
    return 6 + 7 * branches


@dataclass
class Row:
    store: str
    spread: bool
    workers: int
    parallel_s: float | None = None
    #: How many worker processes ran the branches' tasks.
    processes: int = 0
    problem: str | None = None


def measure(
    store_kind: str, workers: int, *, spread: bool, branches: int, spin_ms: int, concurrency: int = 1
) -> Row:
    from engine.durable import DurableEngine
    from engine.handlers.base import HandlerRegistry

    row = Row(store_kind, spread, workers)
    with fresh_store(store_kind) as (url, store):
        engine = DurableEngine(store=store, handlers=HandlerRegistry())
        flag = "--spread-branches" if spread else "--no-spread-branches"
        command = [str(STATELANE), "worker", "--db", url, "--lambdas", str(SPIN_FILE), flag]
        command += ["--concurrency", str(concurrency)]
        processes = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(workers)
        ]
        try:
            for p in processes:  # each says "worker ...: N at a time on ..." once it is ready to work
                assert p.stderr is not None
                p.stderr.readline()
            record = engine.start("wide", definition(branches, spin_ms), "{}", name="wide", queued=True)
            deadline = time.monotonic() + 300
            while (done := store.get_execution(record.arn)).status.value == "RUNNING":
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    row.problem = "the execution did not end (or a worker died)"
                    return row
                time.sleep(0.05)
        finally:
            for p in processes:
                p.send_signal(signal.SIGINT)
            for p in processes:
                p.communicate(timeout=30)
        history = store.get_history(record.arn)
        if done.status.value != "SUCCEEDED":
            row.problem = f"ended {done.status.value}: {done.error} {done.cause}"
        elif [b["branch"] for b in json.loads(done.output or "[]")] != list(range(branches)):
            row.problem = f"wrong output {done.output}"
        elif len(history) != events_expected(branches):
            row.problem = f"{len(history)} history events, expected {events_expected(branches)}"
        else:
            at = {e["type"]: _seconds(e["timestamp"]) for e in history}
            row.parallel_s = at["ParallelStateExited"] - at["ParallelStateEntered"]
            row.processes = len({b["pid"] for b in json.loads(done.output or "[]")})
    return row


def _seconds(timestamp: Any) -> float:
    from datetime import datetime

    if isinstance(timestamp, int | float):
        return float(timestamp)
    return datetime.fromisoformat(str(timestamp)).timestamp()


def median_of(samples: list[Row]) -> Row:
    bad = [s for s in samples if s.problem is not None]
    if bad:
        return bad[0]
    first = samples[0]
    times = [s.parallel_s for s in samples if s.parallel_s is not None]
    return Row(
        first.store, first.spread, first.workers, statistics.median(times), max(s.processes for s in samples)
    )


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        f"{meta['date']}; {meta['machine']}; one Parallel of {meta['branches']} branches, each a "
        f"{meta['spin_ms']} ms CPU-bound local Lambda ({meta['cpu_s']:.1f} s of work); `--concurrency {meta['concurrency']}` per worker; "
        f"median of {meta['runs']} run(s)",
        "",
        "| store | branch tasks | worker processes | ran in | Parallel took s | speed-up |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    base = {r.store: r.parallel_s for r in rows if not r.spread and r.workers == 1 and r.parallel_s}
    for r in rows:
        how = "spread" if r.spread else "in process"
        if r.problem is not None or r.parallel_s is None:
            lines.append(f"| {r.store} | {how} | {r.workers} | - | - | {r.problem} |")
            continue
        ratio = f"{base[r.store] / r.parallel_s:.2f}x" if r.store in base else "-"
        ran = f"{r.processes} process{'es' if r.processes != 1 else ''}"
        lines.append(f"| {r.store} | {how} | {r.workers} | {ran} | {r.parallel_s:.2f} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.branches", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker process counts")
    parser.add_argument("--branches", type=int, default=16)
    parser.add_argument("--spin-ms", type=int, default=100)
    parser.add_argument(
        "--concurrency", type=int, default=1, help="worker loops per process (CPU-bound tasks: 1)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    from benchmarks.report import machine_info

    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if "postgres" in stores and (reason := postgres_unavailable()) is not None:
        print(f"skipping postgres: {reason}", file=sys.stderr)
        stores.remove("postgres")
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    info = machine_info()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{info.get('cpu')}, {info.get('cores')} cores; load average {info.get('load_average')}",
        "branches": args.branches,
        "spin_ms": args.spin_ms,
        "cpu_s": args.branches * args.spin_ms / 1000,
        "runs": args.runs,
        "concurrency": args.concurrency,
    }
    rows = []
    for store in stores:
        for spread in (False, True):
            for workers in counts if spread else counts[:1]:
                samples = [
                    measure(
                        store,
                        workers,
                        spread=spread,
                        branches=args.branches,
                        spin_ms=args.spin_ms,
                        concurrency=args.concurrency,
                    )
                    for _ in range(args.runs)
                ]
                row = median_of(samples)
                rows.append(row)
                shown = row.problem or f"{row.parallel_s:.2f} s"
                how = "spread" if spread else "in process"
                print(f"{store:8} {how:10} {workers} worker(s): {shown}", file=sys.stderr)
    text = markdown(rows, meta)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 1 if any(r.problem for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
