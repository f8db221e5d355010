"""Engine configurations the suite measures, and how each one runs a workload.

A configuration is one way a user runs statelane. In-process ones are a function from a
`RunRequest` to an execution record (anything with `status`, `output` and `events`);
registering such a function is all it takes to add one. A configuration whose function
is still None is listed in the table as "not available yet", never approximated by
another one.

Standard on SQLite is what `statelane run` does for a STANDARD machine: a durable engine
on a fresh SQLite file (WAL, synchronous=NORMAL, the store's defaults) that commits every
step's events with a checkpoint; the timed call includes opening the new store.
Standard on PostgreSQL is the same on a fresh schema of the server `STATELANE_BENCH_POSTGRES`
names (default: this machine's, `postgresql://127.0.0.1:5432/test`), dropped afterwards.
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


#: The PostgreSQL server the `standard-postgres` configuration and `benchmarks.fleet` use.
POSTGRES_ENV = "STATELANE_BENCH_POSTGRES"
DEFAULT_POSTGRES = "postgresql://127.0.0.1:5432/test"


def postgres_url(schema: str) -> str:
    import os

    base = os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def drop_schema(schema: str) -> None:
    """Remove a benchmark's throwaway schema (and everything the store put in it)."""
    import os

    import psycopg

    with psycopg.connect(
        os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES).split("?")[0], autocommit=True
    ) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _durable(postgres: bool) -> Callable[[RunRequest], Any]:
    """A configuration running the durable engine the way `statelane run` does, on a fresh store:
    a new SQLite file, or a new PostgreSQL schema."""

    def execute(request: RunRequest) -> Any:
        import tempfile
        import uuid

        from engine.api import build_handlers
        from engine.clock import RealClock, VirtualClock
        from engine.durable import DurableEngine
        from engine.ids import IdSource
        from engine.store import open_store

        with tempfile.TemporaryDirectory(prefix="statelane-bench-") as directory:
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            store = open_store(postgres_url(schema) if postgres else f"{directory}/bench.db")
            try:
                ids = IdSource()
                engine = DurableEngine(
                    store=store,
                    handlers=build_handlers(request.lambdas, ids=ids),
                    clock=VirtualClock() if request.fast_forward else RealClock(),
                    ids=ids,
                    lift_limits=request.lift_limits,
                )
                record = engine.start(
                    "bench", request.definition, request.input, name=request.name, queued=False
                )
                return engine.run_in_foreground(record)
            finally:
                store.close()
                if postgres:
                    drop_schema(schema)

    return execute


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL rows cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    import os

    base = os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)
    try:
        with psycopg.connect(base.split("?")[0], connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {base} ({str(exc).strip().splitlines()[0]}); set {POSTGRES_ENV}"


CONFIGS: dict[str, Config] = {
    c.name: c
    for c in (
        Config("express", "express, in process", IN_PROCESS, express=True, execute=_in_memory(True)),
        Config("standard", "standard, in memory", IN_PROCESS, express=False, execute=_in_memory(False)),
        Config(
            "standard-sqlite",
            "standard, SQLite",
            IN_PROCESS,
            express=False,
            execute=_durable(postgres=False),
        ),
        Config(
            "standard-postgres",
            "standard, PostgreSQL",
            IN_PROCESS,
            express=False,
            execute=_durable(postgres=True),
        ),
        Config("cli", "`statelane run --express`", WHOLE_PROCESS, express=True),
    )
}
MOTO = Config("moto", "moto (peer)", PEER, express=False)
DEFAULT_CONFIGS = ("express", "standard", "standard-sqlite", "standard-postgres", "cli")


def select_configs(names: str | None) -> list[Config]:
    if not names:
        return [_checked(CONFIGS[n]) for n in DEFAULT_CONFIGS]
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown configuration(s): {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    return [_checked(CONFIGS[n]) for n in chosen]


def _checked(config: Config) -> Config:
    """The configuration, marked unavailable (with the reason) when its server is not reachable."""
    if config.name != "standard-postgres":
        return config
    reason = postgres_unavailable()
    return config if reason is None else Config(config.name, config.label, config.kind, False, None, reason)
