"""What a suite run prints and saves: the machine it ran on, the table, the targets, the JSON."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.runner import REAL, REPO, Row, moto_row_for, ratio_vs_moto
from benchmarks.sample import OK, to_dict
from benchmarks.targets import MET, Verdict


def machine_info() -> dict[str, Any]:
    """Enough to compare two tables: CPU, cores, memory, OS, Python, versions, load."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "statelane_commit": _git_commit(),
        "moto": _version("moto"),
        "boto3": _version("boto3"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "asl", "engine", "cli"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + (" (engine/asl/cli modified)" if dirty.stdout.strip() else "")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _ratio_text(rows: list[Row], row: Row) -> str:
    """The ratio with what qualifies it: fast-forward vs moto's real clock, moto capped or wrong."""
    ratio = ratio_vs_moto(rows, row)
    if ratio is None:
        return "-"
    text = f"{ratio:,.0f}x" + ("*" if row.clock != REAL else "")
    peer = moto_row_for(rows, row.workload)
    if peer is not None and peer.outcome != OK:
        text += f" (moto {peer.outcome})"
    return text


def table(rows: list[Row], meta: dict[str, Any], runs: int) -> Table:
    title = (
        f"statelane benchmarks: {meta['date']}, {meta['cpu']} ({meta['cores']} cores, {meta['memory_gib']} GiB), "
        f"{meta['python']}, median of {runs} run(s), load {meta['load_average']}"
    )
    out = Table(title=title, title_justify="left")
    for header in (
        "workload",
        "configuration",
        "clock",
        "result",
        "parse s",
        "wall s",
        "CPU s",
        "transitions/s",
        "peak RSS MB",
        "vs moto",
        "notes",
    ):
        justify = "right" if header.endswith(("s", "MB", "moto")) and header != "notes" else "left"
        out.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        ratio_text = _ratio_text(rows, row)
        result = row.outcome if row.outcome == OK else f"[bold red]{row.outcome}[/]"
        out.add_row(
            row.workload.name,
            row.config.label,
            row.clock,
            result,
            _num(row.median("parse_s"), "{:.3f}"),
            _num(row.median("wall_s"), "{:.3f}"),
            _num(row.median("cpu_s"), "{:.3f}"),
            _num(row.rate, "{:,.0f}"),
            _num(row.peak_rss_kb / 1024 if row.peak_rss_kb else None, "{:.0f}"),
            ratio_text,
            "; ".join(row.flags()),
        )
    return out


def targets_table(verdicts: list[Verdict]) -> Table:
    out = Table(title="issue 7 targets", title_justify="left")
    out.add_column("target")
    out.add_column("measured", justify="right")
    out.add_column("verdict")
    for v in verdicts:
        out.add_row(v.target, v.measured, v.verdict if v.verdict == MET else f"[bold]{v.verdict}[/]")
    return out


def footnotes(warmup: int) -> str:
    return (
        "parse s: compile_machine (load + validate + compile) in process; a whole `statelane validate` "
        "process for the `statelane run` rows; CreateStateMachine for moto. "
        f"wall/CPU s: in process, the execution alone, after {warmup} untimed warm-up execution(s) in the "
        "same fresh process; the whole cold process for `statelane run`; moto from StartExecution to a "
        "DescribeExecution that is no longer RUNNING (polled every 10 ms). "
        "peak RSS: the measuring process's own high-water mark (each sample is a fresh process). "
        "vs moto: statelane transitions/s / moto's (a capped moto run counts the rate it reached); "
        "* = statelane skipped the waits, moto cannot; for `statelane run` rows the ratio sets the whole "
        "process against moto's execution alone."
    )


def print_report(rows: list[Row], verdicts: list[Verdict], meta: dict[str, Any], runs: int) -> None:
    console = Console(width=max(Console().width, 200))
    console.print(table(rows, meta, runs))
    console.print(footnotes(meta.get("warmup", 0)), style="dim")
    console.print(targets_table(verdicts))


def to_json(rows: list[Row], verdicts: list[Verdict], meta: dict[str, Any], runs: int) -> dict[str, Any]:
    return {
        "meta": {**meta, "runs": runs, "argv": sys.argv[1:]},
        "results": [
            {
                "workload": row.workload.name,
                "config": row.config.name,
                "clock": row.clock,
                "lift_limits": row.lift_reason,
                "outcome": row.outcome,
                "parse_s": row.median("parse_s"),
                "median_wall_s": row.median("wall_s"),
                "median_cpu_s": row.median("cpu_s"),
                "transitions": row.workload.transitions,
                "transitions_per_s": row.rate,
                "lambda_tasks_per_s": row.task_rate,
                "peak_rss_mb": row.peak_rss_kb / 1024 if row.peak_rss_kb else None,
                "ratio_vs_moto": ratio_vs_moto(rows, row),
                "notes": row.flags(),
                "samples": [to_dict(s) for s in row.samples],
            }
            for row in rows
        ],
        "targets": [{"target": v.target, "measured": v.measured, "verdict": v.verdict} for v in verdicts],
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def markdown(rows: list[Row], verdicts: list[Verdict], meta: dict[str, Any], runs: int) -> str:
    """The same table as Markdown, for the README."""
    lines = [
        f"{meta['date']}; {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; {meta['python']}; "
        f"statelane {meta['statelane_commit']}; moto {meta['moto']}; median of {runs} run(s); "
        f"load average {meta['load_average']}",
        "",
        "| workload | configuration | clock | result | parse s | wall s | CPU s | transitions/s | peak RSS MB "
        "| vs moto | notes |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        cells = [
            row.workload.name,
            row.config.label,
            row.clock,
            row.outcome,
            _num(row.median("parse_s"), "{:.3f}"),
            _num(row.median("wall_s"), "{:.3f}"),
            _num(row.median("cpu_s"), "{:.3f}"),
            _num(row.rate, "{:,.0f}"),
            _num(row.peak_rss_kb / 1024 if row.peak_rss_kb else None, "{:.0f}"),
            _ratio_text(rows, row),
            "; ".join(row.flags()).replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        footnotes(meta.get("warmup", 0)),
        "",
        "| target | measured | verdict |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {v.target} | {v.measured} | {v.verdict} |" for v in verdicts]
    return "\n".join(lines) + "\n"
