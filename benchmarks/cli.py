"""`python -m benchmarks`: parse the options, run the suite, print the table, write the JSON.

Exit status 0 when every statelane sample gave exactly the expected output, 1 when one
did not (the peer's results never change it), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.configs import MOTO, select_configs
from benchmarks.report import machine_info, markdown, print_report, to_json, write_json
from benchmarks.runner import FAST_FORWARD, REAL, Options, plan, run_all
from benchmarks.sample import OK
from benchmarks.targets import evaluate
from benchmarks.workloads import WORKLOADS_DIR, load_workloads, select

PEERS = ("moto",)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--workloads", help="comma-separated workload names (default: all)")
    p.add_argument(
        "--configs", help="comma-separated: express, standard, standard-sqlite, cli (default: all)"
    )
    p.add_argument("--peers", default="", help="comma-separated peers to run too: moto")
    p.add_argument(
        "--clocks",
        default=f"{FAST_FORWARD},{REAL}",
        help="clocks for workloads with waits: fast-forward, real (default: both)",
    )
    p.add_argument("--runs", type=int, default=3, help="fresh-process samples per row (median reported)")
    p.add_argument("--json", type=Path, dest="json_file", help="write every sample and the summary here")
    p.add_argument("--markdown", type=Path, help="write the tables as Markdown here (for the README)")
    p.add_argument("--cap", type=float, default=60.0, help="seconds a peer may run one workload")
    p.add_argument(
        "--timeout", type=float, default=120.0, help="seconds before a statelane sample is an error"
    )
    p.add_argument(
        "--warmup", type=int, default=1, help="untimed runs before the timed one (in process; default 1)"
    )
    p.add_argument("--workloads-dir", type=Path, default=WORKLOADS_DIR, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    try:
        if args.runs < 1:
            raise ValueError("--runs must be at least 1")
        unknown = [p for p in peers if p not in PEERS]
        if unknown:
            raise ValueError(f"unknown peer(s): {', '.join(unknown)}; known: {', '.join(PEERS)}")
        clocks = tuple(c.strip() for c in args.clocks.split(",") if c.strip())
        if not clocks or set(clocks) - {FAST_FORWARD, REAL}:
            raise ValueError(f"--clocks takes {FAST_FORWARD} and/or {REAL}")
        workloads = select(load_workloads(args.workloads_dir), args.workloads)
        configs = select_configs(args.configs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = Options(
        runs=args.runs,
        cap_s=args.cap,
        timeout_s=args.timeout,
        warmup=args.warmup,
        workloads_dir=args.workloads_dir,
    )
    meta = machine_info()
    meta["warmup"] = args.warmup
    meta["cap_s"] = args.cap
    rows = plan(workloads, configs, peers, clocks)
    run_all(rows, options, None if args.quiet else lambda line: print(line, file=sys.stderr, flush=True))
    meta["load_average_end"] = machine_info()["load_average"]
    verdicts = evaluate(rows)
    print_report(rows, verdicts, meta, args.runs)
    if args.json_file:
        write_json(args.json_file, to_json(rows, verdicts, meta, args.runs))
    if args.markdown:
        args.markdown.write_text(markdown(rows, verdicts, meta, args.runs), encoding="utf-8")
    measured = [r for r in rows if r.config is not MOTO and r.config.available]
    return 0 if all(r.outcome == OK for r in measured) else 1
