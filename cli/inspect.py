"""`statelane executions`, `describe` and `history`: read what ran from the store.

Each view has a `--json` twin in the AWS API's shapes (ListExecutions,
DescribeExecution, GetExecutionHistory), dates as ISO 8601 as the AWS CLI prints
them. Names a person types are forgiving (ARN, name, or an unambiguous prefix) and
every miss says what does exist. The history tree is rebuilt from the events
alone: `previousEventId` chains an event to the one before it in the same branch
or iteration, and the Map/Parallel events say where branches and iterations begin.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cli.app import app

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from engine.store import ExecutionRecord, Store

EXIT_USAGE = 2
#: How often `history --follow` asks the store for new events.
FOLLOW_POLL_SECONDS = 0.2
SUMMARY_WIDTH = 72

STATUS_STYLE = {
    "RUNNING": "bold cyan",
    "SUCCEEDED": "bold green",
    "FAILED": "bold red",
    "TIMED_OUT": "bold yellow",
    "ABORTED": "bold yellow",
    "PENDING_REDRIVE": "bold magenta",
}

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="STATELANE_DB",
        help="Store URL (sqlite:///file.db, sqlite:////abs/file.db, memory://); default .statelane/statelane.db.",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the AWS API's JSON shape instead.")]


# ---------------------------------------------------------------- commands


@app.command("executions")
def executions_command(
    status: Annotated[
        str | None, typer.Option("--status", help="Only executions with this status (e.g. FAILED).")
    ] = None,
    state_machine: Annotated[
        str | None,
        typer.Option("--state-machine", help="Only executions of this state machine (name or ARN)."),
    ] = None,
    map_run: Annotated[
        str | None,
        typer.Option("--map-run", help="Only the child executions of this Distributed Map run (its ARN)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the executions in the store, newest first."""
    from engine.map_runs import map_run_executions
    from engine.store import ExecutionStatus, StoreError, StoreNotFound

    if map_run is not None and state_machine is not None:
        _fail("give --state-machine or --map-run, not both")
    if map_run is not None and ":mapRun:" not in map_run:
        _fail(f"'{map_run}' is not a map run ARN (arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID)")
    wanted = None
    if status is not None:
        try:
            wanted = ExecutionStatus(status.upper())
        except ValueError:
            choices = ", ".join(s.value for s in ExecutionStatus)
            _fail(f"unknown status '{status}'; expected one of {choices}")
    try:
        store = _open(db)
    except StoreNotFound as exc:
        if as_json:
            _print_json({"executions": []})
        else:
            typer.echo(f"no executions: {exc}")
        return
    try:
        if map_run is not None:
            children = map_run_executions(store, map_run)
            found = [e for e in children if wanted is None or e.status is wanted][:limit]
        else:
            found = store.list_executions(status=wanted, state_machine=state_machine, limit=limit)
    except StoreError as exc:
        _fail(str(exc))
    finally:
        store.close()
    if as_json:
        _print_json({"executions": [e.list_item(iso_dates=True) for e in found]})
        return
    console = _console()
    if not found:
        console.print("no executions" + (" match" if status or state_machine or map_run else " yet"))
        return
    console.print(_executions_table(found, now=time.time()))


@app.command("describe")
def describe_command(
    execution: Annotated[
        str, typer.Argument(help="Execution ARN, name, or an unambiguous prefix of the name.")
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one execution: status, dates, input, output, error and cause."""
    store, record = _find(db, execution)
    try:
        events = store.count_events(record.arn)
    finally:
        store.close()
    if as_json:
        _print_json(record.describe(iso_dates=True))
        return
    _print_description(_console(), record, events, now=time.time())


@app.command("history")
def history_command(
    execution: Annotated[
        str, typer.Argument(help="Execution ARN, name, or an unambiguous prefix of the name.")
    ],
    tree: Annotated[
        bool, typer.Option("--tree", help="Group events by state, Parallel branch and Map iteration.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events while it runs.")
    ] = False,
    errors: Annotated[
        bool, typer.Option("--errors", help="Only the failures, with their error and cause.")
    ] = False,
    reverse: Annotated[bool, typer.Option("--reverse", help="Newest event first.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the event history of an execution (GetExecutionHistory with --json)."""
    if tree and (as_json or follow or reverse):
        _fail(
            "--tree shows the whole history grouped; it does not combine with --json, --follow or --reverse"
        )
    if follow and reverse:
        _fail("--follow prints events as they come; it does not combine with --reverse")
    store, record = _find(db, execution)
    try:
        if follow:
            _follow(store, record, errors_only=errors, as_json=as_json)
            return
        events = store.get_history(record.arn)
    finally:
        store.close()
    structure = HistoryStructure(events)
    if errors:
        events = [e for e in events if _is_failure(e)]
    if reverse:
        events = events[::-1]
    if as_json:
        _print_json({"events": [_iso_event(e) for e in events]})
        return
    console = _console()
    if tree:
        console.print(_history_tree(record, structure))
    elif errors:
        if events:
            console.print(_errors_table(record, events, structure))
        else:
            console.print(f"no failures in the history of {record.name} ({record.status.value})")
    else:
        console.print(_history_table(record, events, structure))


# ---------------------------------------------------------------- store access


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _open(db: str | None) -> Store:
    """The store, never created by looking; a directory we may not write still reads."""
    from engine.store import StoreError, StoreNotFound, StoreReadOnly, open_store

    try:
        try:
            return open_store(db, create=False)
        except StoreReadOnly:
            return open_store(db, create=False, read_only=True)
    except StoreNotFound:
        raise
    except StoreError as exc:
        _fail(str(exc))


def _find(db: str | None, ref: str) -> tuple[Store, ExecutionRecord]:
    from engine.store import StoreError, StoreNotFound

    try:
        store = _open(db)
    except StoreNotFound as exc:
        _fail(f"no execution named '{ref}': {exc}")
    try:
        return store, store.get_execution(ref)
    except StoreError as exc:
        store.close()
        _fail(str(exc))


# ---------------------------------------------------------------- formatting


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


def _status(status: str) -> Text:
    from rich.text import Text

    return Text(status, style=STATUS_STYLE.get(status, "bold"))


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """A short human duration: 0.250s, 42.0s, 3m07s, 2h05m, 3d04h."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.3f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _since(record: ExecutionRecord, event: dict[str, Any]) -> str:
    return "+" + duration(float(event["timestamp"]) - record.start_date)


def _iso_event(event: dict[str, Any]) -> dict[str, Any]:
    from engine.history import iso_format

    return {**event, "timestamp": iso_format(float(event["timestamp"]))}


def _clip(text: str, width: int = SUMMARY_WIDTH) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def event_details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def summarize(event: dict[str, Any]) -> str:
    """One line saying what the event's details hold (error and cause first)."""
    d = event_details(event)
    kind = event["type"]
    if "error" in d or "cause" in d:
        parts = [str(d.get("error") or "")] + ([str(d["cause"])] if d.get("cause") else [])
        return _clip(": ".join(p for p in parts if p))
    if kind == "MapStateStarted":
        return f"{d.get('length', '?')} items"
    if "index" in d:
        return f"iteration {d['index']}"
    if kind == "ExecutionRedriven":
        return f"redrive {d.get('redriveCount', '?')}"
    if "resource" in d:
        extra = f" {d['input']}" if "input" in d else (f" {d['parameters']}" if "parameters" in d else "")
        return _clip(f"{d['resource']}{extra}")
    for key in ("output", "input"):
        if key in d:
            return _clip(f"{key} {d[key]}")
    rest = {k: v for k, v in d.items() if not k.endswith("Details") and k != "name"}
    return _clip(json.dumps(rest, ensure_ascii=False, separators=(",", ":"))) if rest else ""


def _is_failure(event: dict[str, Any]) -> bool:
    kind = event["type"]
    failing = kind.endswith(("Failed", "TimedOut", "Aborted")) or kind == "ExecutionAborted"
    d = event_details(event)
    return failing and ("error" in d or "cause" in d)


def _is_closing_failure(event: dict[str, Any]) -> bool:
    return str(event["type"]).endswith(("Failed", "TimedOut", "Aborted"))


def _event_style(kind: str) -> str:
    if kind.endswith(("Failed", "TimedOut", "Aborted")):
        return "red"
    if kind.endswith("Succeeded"):
        return "green"
    if kind.endswith("Entered"):
        return "bold"
    return ""


# ---------------------------------------------------------------- views


def _executions_table(found: Sequence[ExecutionRecord], now: float) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "state machine", "status", "start (UTC)", "duration"):
        table.add_column(
            column, justify="right" if column == "duration" else "left", no_wrap=column != "name"
        )
    for e in found:
        running = e.stop_date is None
        took = duration((now if running else e.stop_date or now) - e.start_date) + ("…" if running else "")
        table.add_row(e.name, e.state_machine_name, _status(e.status.value), _date(e.start_date), took)
    return table


def _print_description(console: Console, e: ExecutionRecord, events: int, now: float) -> None:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("name", e.name)
    grid.add_row("status", _status(e.status.value))
    grid.add_row("execution ARN", e.arn)
    grid.add_row("state machine", f"{e.state_machine_name}  (revision {e.revision_id})")
    grid.add_row("started", _date(e.start_date) + " UTC")
    if e.stop_date is not None:
        grid.add_row("stopped", f"{_date(e.stop_date)} UTC  after {duration(e.stop_date - e.start_date)}")
    else:
        grid.add_row("running for", duration(now - e.start_date))
        grid.add_row("worker", _worker_state(e))
    grid.add_row("events", str(events))
    if e.redrive_count:
        grid.add_row(
            "redriven", f"{e.redrive_count} time(s), last at {_date(e.redrive_date or e.start_date)} UTC"
        )
    if e.error is not None:
        grid.add_row("error", f"[red]{_escape(e.error)}[/red]")
    if e.cause is not None:
        grid.add_row("cause", _escape(e.cause))
    console.print(grid)
    console.print("[bold]input[/bold]")
    _print_document(console, e.input)
    if e.output is not None:
        console.print("[bold]output[/bold]")
        _print_document(console, e.output)


def _worker_state(e: ExecutionRecord) -> str:
    if e.lease_owner is not None:
        return f"held by {e.lease_owner} (lease until {_date(e.lease_expires_at or 0)} UTC)"
    if e.queued:
        return "queued for a worker"
    if e.wake_at is not None:
        return f"parked until {_date(e.wake_at)} UTC"
    return "waiting (for a task token or a callback)"


def _print_document(console: Console, text: str) -> None:
    from rich.syntax import Syntax

    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = text
    console.print(Syntax(pretty, "json", theme="ansi_dark", word_wrap=True))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _history_table(
    record: ExecutionRecord, events: Sequence[dict[str, Any]], structure: HistoryStructure
) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=None, pad_edge=False, title=f"{record.name}  {record.status.value}", title_justify="left"
    )
    table.add_column("id", justify="right")
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("details", overflow="fold")
    for event in events:
        kind = event["type"]
        table.add_row(
            str(event["id"]),
            _since(record, event),
            Text(kind, style=_event_style(kind)),
            structure.state_of(event["id"]),
            summarize(event),
        )
    return table


def _errors_table(
    record: ExecutionRecord, events: Sequence[dict[str, Any]], structure: HistoryStructure
) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, title=f"failures of {record.name}", title_justify="left")
    for column in ("id", "time", "type", "state", "error", "cause"):
        table.add_column(column, justify="right" if column in ("id", "time") else "left", overflow="fold")
    for event in events:
        d = event_details(event)
        table.add_row(
            str(event["id"]),
            _since(record, event),
            Text(event["type"], style="red"),
            structure.state_of(event["id"]),
            Text(str(d.get("error", "")), style="bold red"),
            str(d.get("cause", "")),
        )
    return table


def _follow(store: Store, record: ExecutionRecord, *, errors_only: bool, as_json: bool) -> None:
    """Print events as they are committed until the execution is no longer RUNNING."""
    from engine.store import ExecutionStatus, StoreError

    console = None if as_json else _console()
    structure = HistoryStructure([])
    last = 0
    try:
        while True:
            current = store.get_execution(record.arn)
            for event in store.get_history(record.arn, after_id=last):
                last = event["id"]
                structure.add(event)
                if errors_only and not _is_failure(event):
                    continue
                if as_json:
                    sys.stdout.write(json.dumps(_iso_event(event), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    assert console is not None
                    console.print(_follow_line(record, event, structure))
            if current.status is not ExecutionStatus.RUNNING and current.last_event_id <= last:
                break
            time.sleep(FOLLOW_POLL_SECONDS)
    except StoreError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if console is not None:
        from rich.text import Text

        console.print(Text.assemble(f"{record.name} finished: ", _status(current.status.value)))


def _follow_line(record: ExecutionRecord, event: dict[str, Any], structure: HistoryStructure) -> Text:
    from rich.text import Text

    kind = event["type"]
    line = Text()
    line.append(f"{event['id']:>5} {_since(record, event):>10}  ")
    line.append(f"{kind:<30}", style=_event_style(kind))
    line.append(f" {structure.state_of(event['id']):<20} ")
    line.append(summarize(event))
    return line


# ---------------------------------------------------------------- the tree


@dataclass(eq=False)
class Node:
    """A state (entered ... exited), a Parallel branch or a Map iteration, or the execution itself."""

    label: str
    kind: str = ""  # the state type ("Task", "Map", ...), "" for groups
    entered: dict[str, Any] | None = None
    exited: dict[str, Any] | None = None
    children: list[Node | dict[str, Any]] = field(default_factory=list)
    index: int | None = None


@dataclass(eq=False)
class Thread:
    """The events of one scope in order: the top level, one branch, one iteration."""

    container: Node
    parent: Thread | None
    open: Node | None = None


@dataclass(eq=False)
class Fork:
    """A ParallelStateStarted: the states entered right after it each begin a branch."""

    parallel: Node
    thread: Thread
    branches: int = 0


class HistoryStructure:
    """Which state, branch and iteration each event belongs to, rebuilt from the events alone."""

    def __init__(self, events: Sequence[dict[str, Any]]) -> None:
        self.root = Node("execution")
        self._root_thread = Thread(self.root, None)
        self._thread_of: dict[int, Thread] = {0: self._root_thread}
        self._state_of: dict[int, str] = {}
        self._forks: dict[int, Fork] = {}  # by the id of its ParallelStateStarted
        self._iterations: dict[int, Thread] = {}  # MapIterationStarted id -> the iteration's thread
        for event in events:
            self.add(event)

    def state_of(self, event_id: int) -> str:
        return self._state_of.get(event_id, "")

    def add(self, event: dict[str, Any]) -> None:
        event_id, kind = int(event["id"]), str(event["type"])
        prev = event.get("previousEventId")
        base = self._thread_of.get(prev if isinstance(prev, int) else -1, self._root_thread)
        d = event_details(event)
        if kind.startswith("Execution"):
            thread = self._root_thread
            self.root.children.append(event)
        elif kind.endswith("StateEntered"):
            thread = self._entered(event, prev, base)
        elif kind.endswith("StateExited"):
            thread = self._up(base, lambda n: n.label == d.get("name"))
            node = thread.open
            if node is not None:
                node.exited = event
                thread.open = None
                self._state_of[event_id] = node.label
            else:
                thread.container.children.append(event)
        elif kind.startswith(("Map", "Parallel")):
            thread = self._container_event(event, base)
        else:
            thread = base
            (thread.open or thread.container).children.append(event)
            if thread.open is not None:
                self._state_of[event_id] = thread.open.label
        self._thread_of[event_id] = thread

    def _entered(self, event: dict[str, Any], prev: Any, base: Thread) -> Thread:
        if prev in self._forks:  # the first state of a new Parallel branch
            fork = self._forks[prev]
            fork.branches += 1
            group = Node(f"branch {fork.branches}")
            fork.parallel.children.append(group)
            thread = Thread(group, fork.thread)
        elif prev in self._iterations:  # the first state of a Map iteration
            thread = self._iterations.pop(prev)
        else:
            thread = base
        name = str(event_details(event).get("name", "?"))
        node = Node(name, kind=str(event["type"])[: -len("StateEntered")], entered=event)
        thread.container.children.append(node)
        thread.open = node
        self._state_of[int(event["id"])] = name
        return thread

    def _container_event(self, event: dict[str, Any], base: Thread) -> Thread:
        """A Map*/Parallel* event belongs to the nearest open state of that type (the named one for Map)."""
        kind = str(event["type"])
        d = event_details(event)
        state_type = "Map" if kind.startswith("Map") else "Parallel"
        name = d.get("name")
        thread = self._up(base, lambda n: n.kind == state_type and (name is None or n.label == name))
        node = thread.open
        if node is None:
            thread.container.children.append(event)
            return thread
        self._state_of[int(event["id"])] = node.label
        if kind == "ParallelStateStarted":
            self._forks[int(event["id"])] = Fork(node, thread)
        if kind == "MapIterationStarted":
            group = Node(f"iteration {d.get('index', '?')}", index=d.get("index"))
            group.children.append(event)
            node.children.append(group)
            self._iterations[int(event["id"])] = Thread(group, thread)
        elif (
            kind.startswith("MapIteration")
            and (iteration := self._iteration(node, d.get("index"))) is not None
        ):
            iteration.children.append(event)
        else:
            node.children.append(event)
        return thread

    @staticmethod
    def _iteration(node: Node, index: Any) -> Node | None:
        for child in reversed(node.children):
            if isinstance(child, Node) and child.kind == "" and child.index == index:
                return child
        return None

    def _up(self, start: Thread, matches: Callable[[Node], bool]) -> Thread:
        thread: Thread | None = start
        while thread is not None:
            if thread.open is not None and matches(thread.open):
                return thread
            thread = thread.parent
        return start


def _history_tree(record: ExecutionRecord, structure: HistoryStructure) -> Any:
    from rich.text import Text
    from rich.tree import Tree

    def leaf(event: dict[str, Any]) -> Text:
        kind = event["type"]
        text = Text(f"{event['id']:>4} {_since(record, event):>9}  ", style="dim")
        text.append(kind, style=_event_style(kind))
        summary = summarize(event)
        if summary:
            text.append("  " + summary)
        return text

    def state_label(node: Node) -> Text:
        text = Text()
        if node.entered is not None:
            text.append(f"{node.entered['id']:>4} {_since(record, node.entered):>9}  ", style="dim")
        if node.kind:
            text.append(f"{node.kind} ", style="cyan")
            text.append(node.label, style="bold")
        else:
            text.append(node.label, style="magenta")
        failure = next(
            (c for c in reversed(node.children) if isinstance(c, dict) and _is_closing_failure(c)), None
        )
        if node.exited is not None:
            text.append("  " + summarize(node.exited), style="green")
        elif failure is not None:
            text.append(f"  {failure['type']} {summarize(failure)}".rstrip(), style="red")
        elif node.kind not in ("", "Fail") and record.status.value != "RUNNING":
            text.append("  (not exited)", style="yellow")
        return text

    def fill(branch: Tree, node: Node) -> None:
        for child in node.children:
            if isinstance(child, Node):
                fill(branch.add(state_label(child)), child)
            else:
                branch.add(leaf(child))

    top = Tree(Text.assemble((record.name, "bold"), "  ", _status(record.status.value)))
    fill(top, structure.root)
    return top
