"""A bounded pool of daemon threads, for work that may outlive the server (express executions).

`concurrent.futures.ThreadPoolExecutor` joins its threads at interpreter exit, so one
five-minute express execution would hold Ctrl-C for five minutes. Express executions
are at-most-once/at-least-once and never stored: when the server stops they simply
end with the process. These threads are daemons, so they do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("statelane.server")


class DaemonPool:
    """`size` daemon threads taking jobs from one queue; started on first use."""

    def __init__(self, size: int, name: str) -> None:
        self._size, self._name = size, name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on a pool thread; it must handle its own exceptions (they are only logged)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            if len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._jobs.put(job)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Await `fn(*args)` run on a pool thread (asyncio's run_in_executor, with daemon threads)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(value: Any, failed: bool) -> None:
            if not future.done():
                if failed:
                    future.set_exception(value)
                else:
                    future.set_result(value)

        def job() -> None:
            outcome: Any
            try:
                outcome, failed = fn(*args), False
            except BaseException as exc:
                outcome, failed = exc, True
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
                loop.call_soon_threadsafe(settle, outcome, failed)

        self.submit(job)
        return await future

    def close(self) -> None:
        """Stop taking jobs; idle threads end, busy ones end with the process."""
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("background job failed")
