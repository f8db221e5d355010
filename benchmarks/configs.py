"""Engine configurations the suite measures, and how each one runs a workload.

A configuration is one way a user runs statelane. In-process ones are a function from a
`RunRequest` to an execution record (anything with `status`, `output` and `events`);
registering such a function is all it takes to add one. A configuration whose function
is still None is listed in the table as "not available yet", never approximated by
another one.

Standard on SQLite is what `statelane run` does for a STANDARD machine: a durable engine
on a fresh SQLite file (WAL, synchronous=NORMAL, the store's defaults) that commits every
step's events with a checkpoint; the timed call includes opening the new store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

IN_PROCESS = "in-process"
WHOLE_PROCESS = "whole-process"
PEER = "peer"


@dataclass(frozen=True)
class RunRequest:
    definition: str
    input: str
    name: str
    fast_forward: bool
    lift_limits: bool
    lambdas: Mapping[str, Callable[[Any, Any], Any]]


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    kind: str
    express: bool
    execute: Callable[[RunRequest], Any] | None = None
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None and (self.kind != IN_PROCESS or self.execute is not None)


def _in_memory(express: bool) -> Callable[[RunRequest], Any]:
    def execute(request: RunRequest) -> Any:
        from engine.api import run

        return run(
            request.definition,
            request.input,
            name=request.name,
            express=express,
            lambdas=request.lambdas,
            fast_forward=request.fast_forward,
            lift_limits=request.lift_limits,
        )

    return execute


def _standard_sqlite(request: RunRequest) -> Any:
    import tempfile

    from engine.api import build_handlers
    from engine.clock import RealClock, VirtualClock
    from engine.durable import DurableEngine
    from engine.ids import IdSource
    from engine.store import open_store

    with tempfile.TemporaryDirectory(prefix="statelane-bench-") as directory:
        store = open_store(f"{directory}/bench.db")
        try:
            ids = IdSource()
            engine = DurableEngine(
                store=store,
                handlers=build_handlers(request.lambdas, ids=ids),
                clock=VirtualClock() if request.fast_forward else RealClock(),
                ids=ids,
                lift_limits=request.lift_limits,
            )
            record = engine.start("bench", request.definition, request.input, name=request.name, queued=False)
            return engine.run_in_foreground(record)
        finally:
            store.close()


CONFIGS: dict[str, Config] = {
    c.name: c
    for c in (
        Config("express", "express, in process", IN_PROCESS, express=True, execute=_in_memory(True)),
        Config("standard", "standard, in memory", IN_PROCESS, express=False, execute=_in_memory(False)),
        Config("standard-sqlite", "standard, SQLite", IN_PROCESS, express=False, execute=_standard_sqlite),
        Config("cli", "`statelane run --express`", WHOLE_PROCESS, express=True),
    )
}
MOTO = Config("moto", "moto (peer)", PEER, express=False)
DEFAULT_CONFIGS = ("express", "standard", "standard-sqlite", "cli")


def select_configs(names: str | None) -> list[Config]:
    if not names:
        return [CONFIGS[n] for n in DEFAULT_CONFIGS]
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown configuration(s): {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    return [CONFIGS[n] for n in chosen]
