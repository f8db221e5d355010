"""rich renderers for executions: a live view while running, the result after."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.syntax import Syntax
from rich.text import Text

from engine.execution import Execution
from engine.history import HistoryEvent

_STATUS_STYLE = {
    "SUCCEEDED": "bold green",
    "FAILED": "bold red",
    "TIMED_OUT": "bold yellow",
    "ABORTED": "bold yellow",
}


class LiveRun:
    """Shows the state being run, the count of transitions and the last few states as they happen."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._live = Live(console=self.console, refresh_per_second=12, transient=True)
        self._recent: list[str] = []
        self._transitions = 0
        self._started = time.monotonic()
        self._last_render = 0.0

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def on_event(self, event: HistoryEvent) -> None:
        if event.type.endswith("StateEntered"):
            self._transitions += 1
            name = (event.details or {}).get("name", "?")
            self._recent.append(f"{event.type[: -len('StateEntered')]:<9} {name}")
            del self._recent[:-6]
        now = time.monotonic()
        if now - self._last_render > 0.05:
            self._last_render = now
            text = Text()
            for line in self._recent:
                text.append("  " + line + "\n", style="dim")
            text.append(f"running… {self._transitions} transitions, {now - self._started:.1f}s", style="cyan")
            self._live.update(text)


def print_result(execution: Execution, console: Console | None = None) -> None:
    console = console or Console()
    status = execution.status.value
    transitions = sum(1 for e in execution.events if e.type.endswith("StateEntered"))
    elapsed = (execution.stop_date or execution.start_date) - execution.start_date
    console.print(
        Text.assemble(
            (status, _STATUS_STYLE.get(status, "bold")),
            f"  {execution.name}  {transitions} transitions, {elapsed:.3f}s",
        )
    )
    if execution.has_output:
        _print_json(console, execution.output)
    if execution.error is not None or execution.cause is not None:
        console.print(Text.assemble(("error: ", "bold red"), str(execution.error)))
        if execution.cause:
            cause: Any = execution.cause
            try:
                parsed = json.loads(cause)
            except ValueError:
                console.print(Text.assemble(("cause: ", "bold red"), cause))
            else:
                console.print(Text("cause:", style="bold red"))
                _print_json(console, parsed)


def _print_json(console: Console, value: Any) -> None:
    console.print(
        Syntax(json.dumps(value, indent=2, ensure_ascii=False), "json", theme="ansi_dark", word_wrap=True)
    )
