"""Child process for one in-process measurement: `python -m benchmarks.worker SPEC_JSON`.

A fresh process per measurement keeps peak RSS per workload and leaves no warm caches
from another workload. Times, in order: importing the engine, `compile_machine`
(parse + validate + compile, reported apart), then `warmup` untimed executions (with
waits fast-forwarded; their garbage is collected and the RSS peak restarted after
them), then the timed execution alone (the compiled machine is cached by text, so
`run` does not compile again). The whole-process configuration shows the cold cost.
"""

from __future__ import annotations

import gc
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from benchmarks.configs import CONFIGS, RunRequest
from benchmarks.handlers import HANDLERS
from benchmarks.sample import ERROR, Sample, Spec, cpu_seconds, emit, judge, peak_rss_kb, reset_peak_rss
from benchmarks.workloads import Workload, load_workloads


def measure(spec: Spec) -> Sample:
    config = CONFIGS[spec.config]
    workload = load_workloads(Path(spec.workloads_dir))[spec.workload]
    if config.execute is None:
        return Sample(outcome=ERROR, detail=config.unavailable or "not an in-process configuration")
    start = time.perf_counter()
    from engine.api import compile_machine

    import_s = time.perf_counter() - start
    definition = workload.definition.read_text(encoding="utf-8")
    input_text = workload.input.read_text(encoding="utf-8")
    start = time.perf_counter()
    compile_machine(definition, express=config.express)
    parse_s = time.perf_counter() - start
    if spec.warmup:
        for _ in range(spec.warmup):
            config.execute(_request(spec, definition, input_text, fast_forward=True))
        gc.collect()  # the warm-up's leftovers are not the measured run's
        reset_peak_rss()
    request = _request(spec, definition, input_text, fast_forward=spec.fast_forward)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    execution = config.execute(request)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    sample = judge_execution(execution, workload)
    sample.wall_s, sample.cpu_s, sample.parse_s, sample.import_s = wall, cpu, parse_s, import_s
    sample.transitions_seen = sum(1 for e in execution.events if e.type.endswith("StateEntered"))
    sample.rss_kb = peak_rss_kb()
    return sample


def judge_execution(execution: Any, workload: Workload) -> Sample:
    status = str(getattr(execution.status, "value", execution.status))
    return judge(status, lambda: execution.output, f"{execution.error}: {execution.cause}", workload)


def _request(spec: Spec, definition: str, input_text: str, *, fast_forward: bool) -> RunRequest:
    return RunRequest(
        definition=definition,
        input=input_text,
        name=f"bench-{uuid.uuid4()}",
        fast_forward=fast_forward,
        lift_limits=spec.lift_limits,
        lambdas=HANDLERS,
    )


def main(argv: list[str]) -> int:
    spec = Spec.from_json(argv[0])
    try:
        sample = measure(spec)
    except BaseException as exc:  # report every failure as a sample: the suite goes on
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        sample = Sample(outcome=ERROR, detail=f"{type(exc).__name__}: {str(exc)[:300]}{where}")
        sample.rss_kb = peak_rss_kb()
    emit(sample)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
