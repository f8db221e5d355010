"""Plan the measurements (workload x configuration x clock), run each in a fresh process, summarise.

The runner itself never imports the engine or the peer: every sample comes from a child
process, so one workload's memory or warm caches cannot leak into another's numbers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import whole_process
from benchmarks.configs import IN_PROCESS, MOTO, PEER, WHOLE_PROCESS, Config
from benchmarks.sample import CAPPED, ERROR, OK, TIMED_OUT, WRONG, Sample, Spec, parse_last_line
from benchmarks.workloads import Workload

REPO = Path(__file__).resolve().parent.parent
REAL, FAST_FORWARD = "real", "fast-forward"


@dataclass
class Row:
    """One line of the table: a workload in one configuration with one clock."""

    workload: Workload
    config: Config
    clock: str
    lift_reason: str | None
    samples: list[Sample] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if not self.config.available:
            return self.config.unavailable or "not available"
        if not self.samples:
            return "not run"
        bad = [s.outcome for s in self.samples if s.outcome != OK]
        return bad[0] if bad else OK

    def median(self, attribute: str) -> float | None:
        values = [getattr(s, attribute) for s in self.samples if getattr(s, attribute) is not None]
        return statistics.median(values) if values else None

    @property
    def peak_rss_kb(self) -> int | None:
        values = [s.rss_kb for s in self.samples if s.rss_kb is not None]
        return max(values) if values else None

    @property
    def rate(self) -> float | None:
        """Transitions per second: manifest transitions / median wall, or what a capped run reached."""
        wall = self.median("wall_s")
        if not wall:
            return None
        if self.outcome == CAPPED:
            reached = self.samples[0].transitions_seen
            return reached / wall if reached is not None else None
        return self.workload.transitions / wall

    @property
    def task_rate(self) -> float | None:
        wall = self.median("wall_s")
        if not wall or not self.workload.lambda_invocations or self.outcome != OK:
            return None
        return self.workload.lambda_invocations / wall

    def flags(self) -> list[str]:
        """What a reader must know about this row's numbers."""
        notes = []
        if self.lift_reason:
            notes.append(f"limits lifted: {self.lift_reason}")
        if self.clock == REAL and self.workload.min_wall_s:
            short = [
                s.wall_s for s in self.samples if s.wall_s is not None and s.wall_s < self.workload.min_wall_s
            ]
            if short:
                notes.append(
                    f"FLAG: real clock took {min(short):.2f} s < {self.workload.min_wall_s:g} s of waits"
                )
        if self.clock == FAST_FORWARD:
            notes.append("waits skipped (--fast-forward)")
        seen = {s.transitions_seen for s in self.samples if s.transitions_seen is not None}
        if self.outcome == OK and seen and seen != {self.workload.transitions}:
            notes.append(f"FLAG: {sorted(seen)} states entered, manifest says {self.workload.transitions}")
        details = {s.detail for s in self.samples if s.detail}
        notes.extend(sorted(details))
        return notes


def plan(
    workloads: list[Workload],
    configs: list[Config],
    peers: list[str],
    timed_clocks: tuple[str, ...] = (FAST_FORWARD, REAL),
) -> list[Row]:
    """Rows in table order; workloads with waits get one row per clock in `timed_clocks`."""
    rows = []
    for workload in workloads:
        clocks = list(timed_clocks) if workload.timed else [REAL]
        for config in configs:
            for clock in clocks:
                rows.append(Row(workload, config, clock, workload.quota_excess(express=config.express)))
        if "moto" in peers:
            rows.append(Row(workload, MOTO, REAL, None))
    return rows


@dataclass(frozen=True)
class Options:
    runs: int = 3
    cap_s: float = 60.0
    timeout_s: float = 120.0
    warmup: int = 1
    workloads_dir: Path = REPO / "benchmarks" / "workloads"


def measure_row(row: Row, options: Options, progress: Callable[[str], None] | None = None) -> None:
    """Fill `row.samples`: `options.runs` fresh processes, fewer after an error or a capped run."""
    if not row.config.available:
        return
    spec = Spec(
        workloads_dir=str(options.workloads_dir),
        workload=row.workload.name,
        config=row.config.name,
        fast_forward=row.clock == FAST_FORWARD,
        lift_limits=row.lift_reason is not None,
        warmup=options.warmup,
        cap_s=options.cap_s,
    )
    for index in range(options.runs):
        sample = _one_sample(row.config, spec, row.workload, options)
        row.samples.append(sample)
        if progress:
            wall = f"{sample.wall_s:.3f} s" if sample.wall_s is not None else "-"
            progress(
                f"{row.workload.name} / {row.config.name} / {row.clock} #{index + 1}: {sample.outcome} {wall}"
            )
        if sample.outcome in (ERROR, CAPPED, TIMED_OUT):
            break


def _one_sample(config: Config, spec: Spec, workload: Workload, options: Options) -> Sample:
    if config.kind == WHOLE_PROCESS:
        return whole_process.measure(spec, workload, options.timeout_s)
    module = {IN_PROCESS: "benchmarks.worker", PEER: "benchmarks.peer_moto"}[config.kind]
    timeout = options.timeout_s + (options.cap_s if config.kind == PEER else 0)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, spec.to_json()],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return Sample(outcome=TIMED_OUT, detail=f"no result within {timeout:.0f} s")
    sample = parse_last_line(done.stdout)
    if sample is None:
        tail = (done.stderr or done.stdout).strip()[-300:]
        return Sample(outcome=ERROR, detail=f"worker exited {done.returncode}: {tail}")
    return sample


def run_all(rows: list[Row], options: Options, progress: Callable[[str], None] | None = None) -> None:
    for row in rows:
        measure_row(row, options, progress)


def moto_row_for(rows: list[Row], workload: Workload) -> Row | None:
    for row in rows:
        if row.workload is workload and row.config is MOTO:
            return row
    return None


def ratio_vs_moto(rows: list[Row], row: Row) -> float | None:
    """statelane's rate / moto's rate on the same workload (moto runs the real clock only)."""
    if row.config is MOTO or row.outcome != OK:
        return None
    peer = moto_row_for(rows, row.workload)
    if peer is None or row.rate is None or peer.rate is None or peer.outcome not in (OK, CAPPED, WRONG):
        return None
    return row.rate / peer.rate
