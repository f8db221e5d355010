"""`statelane serve` as an object: the HTTP API and the workers that run what it starts.

One store, opened once, serves both: the API's threads record executions and
answers, the worker loops (`run_workers`, in a background thread) claim and run
them. Stopping the server stops the loops between transitions; whatever was running
is in the store and resumes on the next start (or on any worker of the same store).

    with StatelaneServer(ServerOptions(port=0, db="memory://")) as server:
        boto3.client("stepfunctions", endpoint_url=server.url, ...)
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from engine.config import StatelaneConfig
from engine.durable import DurableEngine, default_worker_id, run_workers, spreads_branches
from engine.handlers.base import HandlerRegistry
from engine.handlers.mocks import MockConfig, load_mock_config
from engine.handlers.registry import build_registry
from engine.handlers.sns_local import local_handlers
from engine.ids import IdSource, Partition
from engine.server.app import DEFAULT_MAX_BODY, StepFunctionsApp
from engine.server.context import ServiceContext
from engine.server.meta import ServerMeta, meta_path_for
from engine.server.sigv4 import Credentials
from engine.store import Store, open_store


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    #: 0 picks a free port (tests); the bound one is `StatelaneServer.port`.
    port: int = 8083
    db: str | None = None
    lambdas: Sequence[str] | None = None
    config: StatelaneConfig | None = None
    #: Worker loops running standard executions (0: none; another process runs them).
    concurrency: int = 4
    credentials: Credentials | None = None
    lift_limits: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    lease_seconds: float = 30.0
    park_after: float = 2.0
    #: Post the Task invocations of Parallel branches for any worker of the fleet (None: on PostgreSQL).
    spread_branches: bool | None = None
    partition: Partition = field(default_factory=Partition)
    #: Handlers to use instead of building them from `config` and `lambdas` (embedders, tests).
    handlers: HandlerRegistry | None = None
    #: Step Functions Local's mock configuration (a path or a parsed one): StartExecution on
    #: `<stateMachineArn>#<TestCase>` runs that test case's mocked responses.
    mock_config: MockConfig | str | Path | None = None


class StatelaneServer:
    """The API on a bound socket plus worker loops over the same store."""

    def __init__(self, options: ServerOptions | None = None, *, store: Store | None = None) -> None:
        self.options = options = options or ServerOptions()
        self._owns_store = store is None
        self.store = store if store is not None else open_store(options.db)
        try:
            self.ids = IdSource()
            if options.handlers is not None:
                self.handlers = options.handlers
            else:
                local = local_handlers(self.store, ids=self.ids)
                self.handlers = build_registry(
                    options.config,
                    lambdas=list(options.lambdas) if options.lambdas else None,
                    ids=self.ids,
                    local=local,
                )
                local.bind(self.handlers)
            self.meta = ServerMeta(meta_path_for(self.store.url))
            mocks = options.mock_config
            if mocks is not None and not isinstance(mocks, MockConfig):
                mocks = load_mock_config(mocks)
        except BaseException:
            if self._owns_store:
                self.store.close()
            raise
        self.ctx = ServiceContext(
            store=self.store,
            meta=self.meta,
            handlers=self.handlers,
            partition=options.partition,
            ids=self.ids,
            lift_limits=options.lift_limits,
            mocks=mocks,
        )
        self.app = StepFunctionsApp(
            self.ctx, credentials=options.credentials, max_body_bytes=options.max_body_bytes
        )
        try:
            self._socket = _bind(options.host, options.port)
        except OSError:
            self.ctx.close()
            self.app.close()
            self.meta.close()
            if self._owns_store:
                self.store.close()
            raise
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._stop_workers = threading.Event()
        self._workers: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ------------------------------------------------------------------ running

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT or SIGTERM, then close everything.

        uvicorn shuts down gracefully on either signal and then re-raises it; SIGTERM is
        turned into KeyboardInterrupt here so that it, too, ends in `close()` rather than
        killing the process before the store is closed.
        """
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _interrupt)
        self.start_workers()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def start(self) -> StatelaneServer:
        """Serve from a background thread; returns once the server accepts connections."""
        self.start_workers()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="statelane-serve", daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the HTTP server stopped while starting")
            self._thread.join(0.01)
        return self

    def start_workers(self) -> None:
        if self.options.concurrency < 1 or self._workers is not None:
            return
        base = default_worker_id()
        options = self.options
        spread = spreads_branches(self.store, options.spread_branches)

        def make(index: int) -> DurableEngine:
            return DurableEngine(
                store=self.store,
                handlers=self.handlers,
                ids=self.ids,
                partition=options.partition,
                lift_limits=options.lift_limits,
                worker_id=f"{base}#serve{index}",
                lease_seconds=options.lease_seconds,
                park_after=options.park_after,
                spread_branches=spread,
                handlers_for=self.ctx.handlers_for if self.ctx.mocks is not None else None,
            )

        self._workers = threading.Thread(
            target=run_workers,
            args=(make,),
            kwargs={"concurrency": options.concurrency, "stop": self._stop_workers, "poll_seconds": 0.05},
            name="statelane-workers",
            daemon=True,
        )
        self._workers.start()

    def close(self) -> None:
        """Stop serving, stop the worker loops (waiting a little for the current transitions), close."""
        if self._closed:
            return
        self._closed = True
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._stop_workers.set()
        if self._workers is not None:
            self._workers.join(10)
        self.app.close()
        self.ctx.close()
        with contextlib.suppress(OSError):
            self._socket.close()
        self.meta.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> StatelaneServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _bind(host: str, port: int) -> socket.socket:
    """Bind before serving, so the port is known (and a port in use is reported) up front."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock
