"""The whole-process configuration: `statelane run ... --express --json` as a user types it.

Wall time covers interpreter start, imports, parsing, validation, the run and printing;
parse/validate time is a separate whole `statelane validate FILE` process, which is
what the "validate on every save" target is about.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.sample import ERROR, TIMED_OUT, Sample, Spec, judge
from benchmarks.workloads import Workload

REPO = Path(__file__).resolve().parent.parent
HANDLERS_FILE = Path(__file__).resolve().parent / "handlers.py"
SPAWN = Path(__file__).resolve().parent / "spawn.py"


def statelane_command() -> list[str]:
    """The installed `statelane` script beside this interpreter, else `python -m cli`."""
    script = Path(sys.executable).parent / "statelane"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def run_command(spec: Spec, workload: Workload) -> list[str]:
    command = [
        *statelane_command(),
        "run",
        str(workload.definition),
        "--input-file",
        str(workload.input),
        "--lambdas",
        str(HANDLERS_FILE),
        "--express",
        "--json",
        "--name",
        f"bench-{uuid.uuid4()}",
    ]
    if spec.fast_forward:
        command.append("--fast-forward")
    if spec.lift_limits:
        command.append("--lift-limits")
    return command


def timed_process(command: list[str], timeout_s: float) -> tuple[dict[str, Any], str]:
    """(launcher's measurements, the command's stdout) for one whole process."""
    with tempfile.NamedTemporaryFile(suffix=".out") as out:
        launcher = [sys.executable, "-I", "-S", str(SPAWN), out.name, "--", *command]
        # Its own process group, so a timeout ends the launcher and the command it started.
        process = subprocess.Popen(
            launcher,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        if process.returncode != 0:
            raise RuntimeError(f"launcher failed: {stderr.strip()[-300:]}")
        stats = json.loads(stdout.strip().splitlines()[-1])
        return stats, Path(out.name).read_text(encoding="utf-8", errors="replace")


def measure(spec: Spec, workload: Workload, timeout_s: float = 120.0) -> Sample:
    try:
        validate_stats, _ = timed_process(
            [*statelane_command(), "validate", "--express", str(workload.definition)], timeout_s
        )
        stats, stdout = timed_process(run_command(spec, workload), timeout_s)
    except subprocess.TimeoutExpired:
        return Sample(outcome=TIMED_OUT, detail=f"no result within {timeout_s:.0f} s")
    except (RuntimeError, ValueError, OSError) as exc:
        return Sample(outcome=ERROR, detail=f"{type(exc).__name__}: {exc}")
    sample = judge_output(stdout, workload)
    if validate_stats["returncode"] != 0:
        sample.detail = f"statelane validate exited {validate_stats['returncode']}; {sample.detail or ''}"
    sample.wall_s, sample.cpu_s, sample.rss_kb = stats["wall_s"], stats["cpu_s"], stats["rss_kb"]
    sample.parse_s = validate_stats["wall_s"]
    return sample


def judge_output(stdout: str, workload: Workload) -> Sample:
    """OK only for a DescribeExecution document with SUCCEEDED and the expected output."""
    try:
        described = json.loads(stdout)
    except ValueError:
        return Sample(outcome=ERROR, detail=f"not JSON on stdout: {stdout[:200]!r}")
    status = str(described.get("status"))
    failure = f"{described.get('error')}: {described.get('cause')}"
    return judge(status, lambda: json.loads(described.get("output", "null")), failure, workload)
