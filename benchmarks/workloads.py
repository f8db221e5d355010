"""The benchmark workloads: their manifest, the AWS quotas they exceed, and the output check.

The manifest (`workloads/manifest.json`) is the single source of what a workload is; the
runner never hard-codes a workload name, so adding a workload is adding files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"
PAYLOAD_QUOTA_BYTES = 256 * 1024
STANDARD_HISTORY_QUOTA = 25_000


@dataclass(frozen=True)
class Workload:
    name: str
    definition: Path
    input: Path
    expected: Path
    transitions: int
    min_wall_s: float
    handlers: tuple[str, ...]
    lambda_invocations: int
    aws_note: str

    @property
    def timed(self) -> bool:
        """Waits or retry back-off make up its wall time: run it with both clocks."""
        return self.min_wall_s > 0

    def input_bytes(self) -> int:
        return self.input.stat().st_size

    def quota_excess(self, *, express: bool) -> str | None:
        """Why this workload needs `lift_limits`, or None when it fits AWS's quotas.

        A STANDARD execution records at least a StateEntered and a StateExited event per
        transition, so 2 * transitions is a lower bound of its history length; an EXPRESS
        execution has no history quota.
        """
        reasons = []
        if self.input_bytes() > PAYLOAD_QUOTA_BYTES:
            reasons.append(f"input {self.input_bytes() / 1024:.0f} KiB > 256 KiB")
        if not express and 2 * self.transitions > STANDARD_HISTORY_QUOTA:
            reasons.append(f">= {2 * self.transitions:,} events > 25,000")
        return "; ".join(reasons) or None

    def expected_output(self) -> Any:
        return json.loads(self.expected.read_text(encoding="utf-8"))


def load_workloads(directory: Path = WORKLOADS_DIR) -> dict[str, Workload]:
    """All workloads of a directory's manifest, in manifest order."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, Workload] = {}
    for name, entry in manifest.items():
        out[name] = Workload(
            name=name,
            definition=directory / entry["definition"],
            input=directory / entry["input"],
            expected=directory / entry["expected"],
            transitions=int(entry["transitions"]),
            min_wall_s=float(entry.get("min_wall_s", 0)),
            handlers=tuple(entry.get("handlers", ())),
            lambda_invocations=int(entry.get("lambda_invocations", 0)),
            aws_note=str(entry.get("aws_note", "")),
        )
    return out


def select(workloads: dict[str, Workload], names: str | None) -> list[Workload]:
    """The workloads named in a comma-separated list (all when None), or ValueError."""
    if not names:
        return list(workloads.values())
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in workloads]
    if unknown:
        raise ValueError(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(workloads)}")
    return [workloads[n] for n in chosen]


def first_difference(actual: Any, expected: Any, path: str = "$") -> str | None:
    """Where two JSON values differ, or None when they are the same JSON value.

    Exact JSON equality with key order ignored. Python's `==` is not enough: it says
    `True == 1` and `1 == 1.0`, while JSON `true`, `1` and `1.0` are different outputs
    (AWS prints integers without a fraction), so the types must match too.
    """
    if type(actual) is not type(expected):
        return f"{path}: {_short(actual)} != expected {_short(expected)}"
    if isinstance(expected, dict):
        if actual.keys() != expected.keys():
            missing = sorted(expected.keys() - actual.keys())
            extra = sorted(actual.keys() - expected.keys())
            return f"{path}: keys differ (missing {missing}, unexpected {extra})"
        for key, value in expected.items():
            found = first_difference(actual[key], value, f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(actual) != len(expected):
            return f"{path}: {len(actual)} items != expected {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = first_difference(a, e, f"{path}[{index}]")
            if found:
                return found
        return None
    if actual != expected:
        return f"{path}: {_short(actual)} != expected {_short(expected)}"
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
