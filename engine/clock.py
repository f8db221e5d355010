"""Time, injected.

The interpreter never calls `time.time` or `time.sleep` itself: it asks a clock.
The real clock follows the wall; the virtual clock jumps straight to the next
timer when nothing else can happen, so Waits and retry back-off take no real
time in tests and with `statelane run --fast-forward`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    #: True when time only moves when the interpreter advances it.
    virtual: bool

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def advance_to(self, t: float) -> None:
        """Move a virtual clock forward to `t`; a real clock ignores this."""
        ...


class RealClock:
    virtual = False

    def now(self) -> float:
        return time.time()

    def advance_to(self, t: float) -> None:
        return None


class VirtualClock:
    """Starts at the wall time of its creation (or `start`) and moves only when told."""

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        if t > self._now:
            self._now = t

    def advance(self, seconds: float) -> None:
        self._now += seconds
