"""The targets of issue 7, checked against the rows of one suite run.

A target whose row was not measured says so ("not measured", "not available yet");
it is never counted as met.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from benchmarks.runner import FAST_FORWARD, REAL, Row, moto_row_for, ratio_vs_moto
from benchmarks.sample import OK

MET, MISSED, NOT_MEASURED = "met", "MISSED", "not measured"


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    verdict: str


def _find(rows: list[Row], workload: str, config: str, clock: str = REAL) -> Row | None:
    for row in rows:
        if row.workload.name == workload and row.config.name == config and row.clock == clock:
            return row
    return None


def _check(
    rows: list[Row],
    target: str,
    workload: str,
    config: str,
    value: Callable[[Row], float | None],
    passes: Callable[[float], bool],
    unit: str,
) -> Verdict:
    row = _find(rows, workload, config)
    if row is None:
        return Verdict(target, "-", NOT_MEASURED)
    if not row.config.available:
        return Verdict(target, "-", row.config.unavailable or NOT_MEASURED)
    measured = value(row)
    if measured is None or row.outcome != OK:
        return Verdict(target, row.outcome, MISSED if row.samples else NOT_MEASURED)
    return Verdict(target, unit.format(measured), MET if passes(measured) else MISSED)


def _rss_mb(row: Row) -> float | None:
    return row.peak_rss_kb / 1024 if row.peak_rss_kb is not None else None


def evaluate(rows: list[Row]) -> list[Verdict]:
    verdicts = []
    for workload, floor in (
        ("pass-chain-1000", 50_000),
        ("choice-loop-10k", 50_000),
        ("map-inline-1k", 50_000),
        ("intrinsics-heavy", 20_000),
    ):
        verdicts.append(
            _check(
                rows,
                f"{workload}: express >= {floor:,}/s",
                workload,
                "express",
                lambda r: r.rate,
                partial(operator.le, floor),
                "{:,.0f}/s",
            )
        )
    verdicts.append(
        _check(
            rows,
            "task-lambda-1k: express >= 10,000 tasks/s",
            "task-lambda-1k",
            "express",
            lambda r: r.task_rate,
            lambda v: v >= 10_000,
            "{:,.0f} tasks/s",
        )
    )
    for workload in ("pass-chain-1000", "choice-loop-10k"):
        verdicts.append(
            _check(
                rows,
                f"{workload}: standard on SQLite >= 5,000/s",
                workload,
                "standard-sqlite",
                lambda r: r.rate,
                lambda v: v >= 5_000,
                "{:,.0f}/s",
            )
        )
    rss_config = "cli" if _find(rows, "map-inline-10k-large", "cli") else "express"
    verdicts.append(
        _check(
            rows,
            f"map-inline-10k-large: peak RSS <= 200 MB ({rss_config})",
            "map-inline-10k-large",
            rss_config,
            _rss_mb,
            lambda v: v <= 200,
            "{:.0f} MB",
        )
    )
    verdicts.append(
        _check(
            rows,
            "`statelane run pass-chain-1000 --express` <= 1 s",
            "pass-chain-1000",
            "cli",
            lambda r: r.median("wall_s"),
            lambda v: v <= 1.0,
            "{:.3f} s",
        )
    )
    verdicts.append(
        _check(
            rows,
            "`statelane validate` 1,000 states <= 0.3 s",
            "pass-chain-1000",
            "cli",
            lambda r: r.median("parse_s"),
            lambda v: v <= 0.3,
            "{:.3f} s",
        )
    )
    verdicts.extend(_versus_moto(rows))
    return verdicts


def _versus_moto(rows: list[Row]) -> list[Verdict]:
    """>= 100x moto per workload, express in process (timed workloads: their fast-forward row)."""
    out = []
    names = list(dict.fromkeys(r.workload.name for r in rows if r.config.name == "moto"))
    for name in names:
        express = [r for r in rows if r.workload.name == name and r.config.name == "express"]
        row = next((r for r in express if r.clock == FAST_FORWARD), express[0] if express else None)
        target = (
            f"{name}: >= 100x moto (express{', fast-forward' if row and row.clock == FAST_FORWARD else ''})"
        )
        ratio = ratio_vs_moto(rows, row) if row else None
        if row is None:
            out.append(Verdict(target, "-", NOT_MEASURED))
        elif row.outcome != OK:
            out.append(Verdict(target, row.outcome, MISSED))
        elif ratio is None:
            out.append(Verdict(target, "moto gave no rate", NOT_MEASURED))
        else:
            peer = moto_row_for(rows, row.workload)
            qualifier = f" (moto {peer.outcome})" if peer is not None and peer.outcome != OK else ""
            out.append(Verdict(target, f"{ratio:,.0f}x{qualifier}", MET if ratio >= 100 else MISSED))
    return out
