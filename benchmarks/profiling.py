"""Where statelane spends an execution's time: `python -m benchmarks.profiling WORKLOAD [...]`.

Compiles the definition first (not profiled), then profiles one run in process with
cProfile (top functions by own time and by cumulative time) or, with --pyinstrument,
prints pyinstrument's call tree (the `bench` extra installs it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from benchmarks.configs import CONFIGS, IN_PROCESS, RunRequest
from benchmarks.handlers import HANDLERS
from benchmarks.sample import OK
from benchmarks.worker import judge_execution
from benchmarks.workloads import WORKLOADS_DIR, load_workloads


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    p.add_argument("workload")
    p.add_argument(
        "--config", default="express", choices=[c.name for c in CONFIGS.values() if c.kind == IN_PROCESS]
    )
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--real-clock", action="store_true", help="do not fast-forward waits")
    p.add_argument("--pyinstrument", action="store_true")
    p.add_argument("--warmup", type=int, default=1, help="unprofiled runs first, as the suite does")
    p.add_argument("--workloads-dir", type=Path, default=WORKLOADS_DIR)
    args = p.parse_args(argv)
    workload = load_workloads(args.workloads_dir)[args.workload]
    config = CONFIGS[args.config]
    if config.execute is None:
        print(f"error: {config.name} is {config.unavailable}", file=sys.stderr)
        return 2
    from engine.api import compile_machine

    definition = workload.definition.read_text(encoding="utf-8")
    compile_machine(definition, express=config.express)
    request = RunRequest(
        definition=definition,
        input=workload.input.read_text(encoding="utf-8"),
        name=f"profile-{uuid.uuid4()}",
        fast_forward=not args.real_clock,
        lift_limits=workload.quota_excess(express=config.express) is not None,
        lambdas=HANDLERS,
    )
    for _ in range(args.warmup):
        config.execute(replace(request, name=f"warmup-{uuid.uuid4()}"))
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        execution = config.execute(request)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    else:
        cprofile = cProfile.Profile()
        execution = cprofile.runcall(config.execute, request)
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(cprofile, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
            print(out.getvalue())
    sample = judge_execution(execution, workload)
    print(f"{workload.name} / {config.name}: {sample.outcome} {sample.detail or ''}")
    return 0 if sample.outcome == OK else 1


if __name__ == "__main__":
    sys.exit(main())
