"""Every definition AWS ran in the conformance corpus validates without an ERROR; big ones fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from asl.diagnostics import Severity
from asl.loader import load
from asl.validation import validate

SHARED = Path(__file__).resolve().parents[3] / "shared"
CASES = sorted((SHARED / "conformance" / "cases").glob("*/definition.json"))
PASS_CHAIN = SHARED / "bench" / "workloads" / "pass-chain-1000.asl.json"


@pytest.mark.skipif(not CASES, reason="the shared conformance corpus is not present")
def test_every_corpus_definition_is_valid() -> None:
    failures: list[str] = []
    for path in CASES:
        case = json.loads((path.parent / "case.json").read_text())
        express = case.get("state_machine_type") == "EXPRESS"
        for d in validate(load(path.read_text(), str(path)), express=express):
            if d.severity is Severity.ERROR:
                failures.append(f"{path.parent.name}: {d.code} {d.message} at {d.pointer}")
    assert failures == []
    assert len(CASES) > 900


@pytest.mark.skipif(not PASS_CHAIN.exists(), reason="the shared benchmark workloads are not present")
def test_a_thousand_state_definition_validates_fast() -> None:
    text = PASS_CHAIN.read_text()
    validate(load(text))  # warm the lazily imported compilers
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found = validate(load(text))
        best = min(best, time.perf_counter() - start)
    assert found == []
    assert best < 0.1
