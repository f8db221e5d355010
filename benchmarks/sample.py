"""One measurement and the request for it: the JSON both sides of a worker process agree on.

Every measurement runs in a fresh child process (so its peak RSS is its own); the child
prints one `Sample` as the last line of its stdout.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from benchmarks.workloads import Workload, first_difference

OK = "ok"  # SUCCEEDED with exactly the expected output
WRONG = "wrong output"
FAILED = "failed"  # ended in another status (FAILED, TIMED_OUT, ...)
ERROR = "error"  # raised, crashed or could not start
CAPPED = "capped"  # the peer did not finish within the cap
TIMED_OUT = "timed out"  # a statelane sample gave no result within --timeout (the process was killed)


@dataclass(frozen=True)
class Spec:
    """What a worker measures: one workload, one configuration, one clock."""

    workloads_dir: str
    workload: str
    config: str
    fast_forward: bool
    lift_limits: bool
    warmup: int = 0
    cap_s: float = 60.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Spec:
        return cls(**json.loads(text))


@dataclass
class Sample:
    outcome: str
    wall_s: float | None = None
    cpu_s: float | None = None
    parse_s: float | None = None
    rss_kb: int | None = None
    status: str | None = None
    detail: str | None = None
    transitions_seen: int | None = None
    import_s: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Sample:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB.

    Linux's VmHWM is the high-water mark of this process's own address space. The
    child's `ru_maxrss` (wait4, RUSAGE_CHILDREN) is not used for in-process samples:
    when a parent forks or vforks and the child execs, the kernel carries the parent's
    RSS over as the child's starting maximum, so a small child of a big parent reports
    the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def reset_peak_rss() -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0), so a warm-up's peak is not counted."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads), at nanosecond resolution."""
    return time.process_time()


def emit(sample: Sample) -> None:
    print(sample.to_json(), flush=True)


def parse_last_line(stdout: str) -> Sample | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return Sample.from_json(line)
            except (ValueError, TypeError):
                return None
    return None


def to_dict(sample: Sample) -> dict[str, Any]:
    return asdict(sample)


def judge(status: str, output: Callable[[], Any], failure: str, workload: Workload) -> Sample:
    """OK only for SUCCEEDED with exactly the expected output; `output` is read only then."""
    if status != "SUCCEEDED":
        return Sample(outcome=FAILED, status=status, detail=failure)
    difference = first_difference(output(), workload.expected_output())
    if difference:
        return Sample(outcome=WRONG, status=status, detail=difference)
    return Sample(outcome=OK, status=status)
