"""Run the AWS-recorded conformance corpus in process, through the Python API.

The corpus and its comparison rules live in `../shared/conformance` (the runner
`run` is the reference); this harness reuses the runner's own matching functions
so the in-process verdict is the CLI verdict, minus the process start-up.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("STATELANE_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"
KNOWN_FAILURES = Path(__file__).with_name("known_failures.tsv")


def available() -> bool:
    return (CONFORMANCE / "run").is_file() and (CONFORMANCE / "cases").is_dir()


_runner: ModuleType | None = None


def runner() -> ModuleType:
    global _runner
    if _runner is None:
        loader = importlib.machinery.SourceFileLoader("statelane_conformance_run", str(CONFORMANCE / "run"))
        spec = importlib.util.spec_from_loader(loader.name, loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _runner = module
    return _runner


def load_cases() -> list[Any]:
    return list(runner().load_cases(str(CONFORMANCE / "cases")))


def known_failures() -> dict[str, str]:
    out: dict[str, str] = {}
    if KNOWN_FAILURES.exists():
        for line in KNOWN_FAILURES.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition("\t")
                out[name.strip()] = reason.strip()
    return out


def skip_reason(case: Any) -> str | None:
    if case.meta.get("external_actions"):
        return "external action: " + "; ".join(case.meta["external_actions"])
    if case.slow_reason():
        return f"slow: {case.slow_reason()}"
    return None


def _handlers(case: Any, r: ModuleType) -> Any:
    """Local Lambda functions, plus the case's queues and topics in a memory store, created as the
    runner creates them through `statelane queues/topics create`."""
    from engine.handlers.registry import build_registry
    from engine.handlers.sns_local import local_handlers
    from engine.queues import Queues, Topics
    from engine.store import open_store

    store = open_store("memory://")
    queues = Queues(store)
    topics = Topics(store, queues=queues)
    renames = r.fifo_renames(case)
    skipped = r.SETUP_OVERRIDES.get(case.name, {}).get("skip_topics", ())
    for url, entry in case.meta.get("queues", {}).items():
        queues.create(renames.get(url, url).rstrip("/").rsplit("/", 1)[-1], r.resource_attrs(entry))
    for arn, entry in case.meta.get("topics", {}).items():
        if arn not in skipped:
            topics.create(renames.get(arn, arn).rsplit(":", 1)[-1], r.resource_attrs(entry))
    local = local_handlers(store)
    registry = build_registry(lambdas=str(CONFORMANCE / "lambdas.py"), local=local, plugins=False)
    local.bind(registry)
    return registry


def run_case(case: Any) -> list[str]:
    """Reasons the case fails (result first, then history), [] when it passes."""
    from engine.api import InvalidDefinition, run

    r = runner()
    input_text = Path(case.input_path).read_text()
    if case.meta.get("input_time_relative"):
        input_text = r.build_time_relative_input(case, input_text)
    definition_text = Path(case.definition_path).read_text()
    renames = r.fifo_renames(case)
    if renames:
        definition_text = r.apply_renames(definition_text, renames)
        input_text = r.apply_renames(input_text, renames)
    try:
        execution = run(
            definition_text,
            input_text,
            state_machine_name="conformance",
            express=case.express,
            handlers=_handlers(case, r),
            fast_forward=True,
        )
    except InvalidDefinition as exc:
        return [f"rejected as invalid: {exc}"]
    actual = execution.describe(iso_dates=True)
    actual["events"] = execution.history(iso_timestamps=True)
    actual = json.loads(json.dumps(actual))
    reasons = list(r.compare_result(case, actual))
    if not reasons and isinstance(case.expected.get("history"), list):
        matcher = r.Matcher(case)
        hist = r.compare_history(case, matcher, case.expected["history"], actual.get("events"))
        reasons.extend("history: " + h for h in hist)
    return reasons
