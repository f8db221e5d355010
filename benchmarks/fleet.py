"""Fleet scaling: standard executions run by 1, 2, 4 `statelane worker` processes sharing one store.

    python -m benchmarks.fleet [--stores sqlite,postgres] [--workers 1,2,4] [--executions 1000]
                               [--concurrency 4] [--runs 1] [--json FILE] [--markdown FILE]

Each measurement gets a fresh store (a new SQLite file, or a new schema of the PostgreSQL
server `STATELANE_BENCH_POSTGRES` names), registers a five-state machine (Pass, a Lambda
Task, Choice, a three-item Map, Succeed: 29 history events per execution) and queues all
the executions before the clock starts; then the worker processes start together with
`--until-idle`, and the time is from their launch until the last one exits (process start-up
included). Every execution must then be SUCCEEDED with the expected output and a complete
history, or the row says what was wrong instead of a rate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.configs import (
    DEFAULT_POSTGRES,
    POSTGRES_ENV,
    drop_schema,
    postgres_unavailable,
    postgres_url,
)

HANDLERS_FILE = Path(__file__).with_name("handlers.py")
STATELANE = Path(sys.executable).with_name("statelane")

DEFINITION = json.dumps(
    {
        "Comment": "benchmarks.fleet: one of each common state, 29 history events",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "items": [1, 2, 3]}, "Next": "Echo"},
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "Each"}],
                "Default": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "End": True}},
                },
                "ResultPath": "$.doubled",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
)
EVENTS_PER_EXECUTION = 29


@dataclass
class Measurement:
    store: str
    workers: int
    executions: int
    concurrency: int
    wall_s: float | None = None
    executions_per_s: float | None = None
    events_per_s: float | None = None
    problem: str | None = None


def expected_output(n: int) -> dict[str, Any]:
    return {"n": n, "items": [1, 2, 3], "doubled": [1, 2, 3]}


def measure(store_kind: str, workers: int, executions: int, concurrency: int) -> Measurement:
    from engine.durable import DurableEngine
    from engine.handlers.base import HandlerRegistry

    result = Measurement(store_kind, workers, executions, concurrency)
    with fresh_store(store_kind) as (url, store):
        engine = DurableEngine(store=store, handlers=HandlerRegistry())
        for i in range(executions):
            engine.start("fleet", DEFINITION, json.dumps({"n": i}), name=f"e{i:05d}", queued=True)
        wall, result.problem = run_fleet(url, workers, concurrency)
        if result.problem is not None:
            return result
        result.problem = _check(store, executions)
        if result.problem is None:
            result.wall_s = wall
            result.executions_per_s = executions / wall
            result.events_per_s = executions * EVENTS_PER_EXECUTION / wall
    return result


@contextlib.contextmanager
def fresh_store(store_kind: str) -> Iterator[tuple[str, Any]]:
    """(URL, open store) of a new SQLite file or a new PostgreSQL schema, removed afterwards."""
    from engine.store import open_store

    with tempfile.TemporaryDirectory(prefix="statelane-fleet-") as directory:
        schema = f"fleet_{uuid.uuid4().hex[:12]}"
        url = postgres_url(schema) if store_kind == "postgres" else f"sqlite:///{directory}/fleet.db"
        store = open_store(url)
        try:
            yield url, store
        finally:
            store.close()
            if store_kind == "postgres":
                drop_schema(schema)


def run_fleet(
    url: str, workers: int, concurrency: int, *, lambdas: Path = HANDLERS_FILE, extra: list[str] | None = None
) -> tuple[float, str | None]:
    """Start `workers` worker processes with `--until-idle` together; (seconds until the last exits,
    what went wrong or None)."""
    command = [str(STATELANE), "worker", "--db", url, "--lambdas", str(lambdas), "--until-idle"]
    command += ["--concurrency", str(concurrency), *(extra or [])]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)
    ]
    errors = [p.communicate()[1].decode(errors="replace") for p in processes]
    wall = time.perf_counter() - start
    failed = [e for p, e in zip(processes, errors, strict=True) if p.returncode != 0]
    if failed:
        return wall, f"a worker failed: {failed[0].strip().splitlines()[-1] if failed[0] else '?'}"
    return wall, None


def _check(store: Any, executions: int) -> str | None:
    """Every execution succeeded with its output and a complete history; else what was wrong."""
    records = store.list_executions()
    if len(records) != executions:
        return f"{len(records)} executions in the store, expected {executions}"
    for record in records:
        if record.status.value != "SUCCEEDED":
            return f"{record.name} ended {record.status.value}"
        n = int(record.name[1:])
        if json.loads(record.output or "null") != expected_output(n):
            return f"{record.name}: wrong output {record.output}"
        if record.last_event_id != EVENTS_PER_EXECUTION:
            return f"{record.name}: {record.last_event_id} history events, expected {EVENTS_PER_EXECUTION}"
    return None


def median_of(samples: list[Measurement]) -> Measurement:
    good = [s for s in samples if s.problem is None and s.wall_s is not None]
    if len(good) != len(samples):
        return next(s for s in samples if s.problem is not None)
    wall = statistics.median(s.wall_s for s in good if s.wall_s is not None)
    first = samples[0]
    return Measurement(
        first.store,
        first.workers,
        first.executions,
        first.concurrency,
        wall,
        first.executions / wall,
        first.executions * EVENTS_PER_EXECUTION / wall,
    )


def markdown(rows: list[Measurement], meta: dict[str, Any]) -> str:
    lines = [
        f"{meta['date']}; {meta['machine']}; {meta['executions']} executions, "
        f"`--concurrency {meta['concurrency']}` per worker; median of {meta['runs']} run(s)",
        "",
        "| store | worker processes | wall s | executions/s | history events/s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if r.problem is not None:
            lines.append(f"| {r.store} | {r.workers} | - | {r.problem} | - |")
        else:
            lines.append(
                f"| {r.store} | {r.workers} | {r.wall_s:.2f} | {r.executions_per_s:,.0f} | {r.events_per_s:,.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker process counts")
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="worker loops per process")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", dest="json_file", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    from benchmarks.report import machine_info

    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = [s for s in stores if s not in ("sqlite", "postgres")]
    if unknown:
        parser.error(f"unknown store(s): {', '.join(unknown)}")
    if "postgres" in stores and (reason := postgres_unavailable()) is not None:
        print(
            f"skipping postgres: {reason} (default {DEFAULT_POSTGRES}, or set {POSTGRES_ENV})",
            file=sys.stderr,
        )
        stores.remove("postgres")
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    info = machine_info()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{info.get('cpu')}, {info.get('cores')} cores; {info.get('python')}; "
        f"load average {info.get('load_average')}",
        "executions": args.executions,
        "concurrency": args.concurrency,
        "runs": args.runs,
    }
    rows: list[Measurement] = []
    for store in stores:
        for workers in counts:
            samples = [measure(store, workers, args.executions, args.concurrency) for _ in range(args.runs)]
            row = median_of(samples)
            rows.append(row)
            shown = row.problem or f"{row.executions_per_s:,.0f} executions/s ({row.wall_s:.2f} s)"
            print(f"{store:8} {workers} worker(s): {shown}", file=sys.stderr)
    text = markdown(rows, meta)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json_file:
        args.json_file.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
    return 1 if any(r.problem for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
