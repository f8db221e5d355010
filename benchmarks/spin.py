"""The local Lambda of benchmarks.branches: keeps a CPU busy for event["ms"] milliseconds."""

import os
import time
from typing import Any


def spin(event: Any, context: Any = None) -> Any:
    """Busy-wait (CPU-bound, so Python threads of one process cannot overlap it); say where it ran."""
    end = time.thread_time() + event["ms"] / 1000
    while time.thread_time() < end:
        pass
    return {"branch": event["branch"], "pid": os.getpid()}
