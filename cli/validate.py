"""`statelane validate FILE...`: every problem of each definition, with a caret under it.

Exit status: 0 when every file is valid (warnings allowed), 1 when any definition is
invalid (including text that is not JSON/YAML), 2 for a usage error such as a file
that cannot be read. Heavy imports happen inside the command so `statelane --help`
and `statelane validate` start fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.app import app

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from asl.diagnostics import Diagnostic
    from asl.loader import Document

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_MAX_SHOWN_LINE = 100  # wider source lines are shown as a window around the column


@dataclass
class FileReport:
    """The outcome for one file: its diagnostics, or why it could not be read."""

    name: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    document: Document | None = None
    usage_error: str | None = None

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity.value == "ERROR")

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    def to_aws(self) -> dict[str, Any]:
        """ValidateStateMachineDefinition's response shape."""
        return {
            "result": "FAIL" if self.errors else "OK",
            "diagnostics": [d.to_aws() for d in self.diagnostics],
            "truncated": False,
        }


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="State machine definitions (JSON, or YAML by .yaml/.yml), '-' for stdin.", metavar="FILE..."
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print ValidateStateMachineDefinition-shaped JSON.")
    ] = False,
    express: Annotated[
        bool, typer.Option("--express", help="Also apply the Express workflow restrictions.")
    ] = False,
) -> None:
    """Check definitions and report every problem as file:line:column CODE message."""
    reports = [check_file(path, express=express) for path in files]
    if json_output:
        _print_json(reports)
    else:
        _print_rich(reports)
    if any(r.usage_error is not None for r in reports):
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_INVALID if any(r.errors for r in reports) else EXIT_VALID)


def report_definition(path: Path, text: str, *, as_json: bool = False, express: bool = False) -> bool:
    """Print the diagnostics of a definition another command was given (e.g. `statelane run`).

    JSON goes to stdout (ValidateStateMachineDefinition's shape), the rich view to
    stderr. Returns True when the definition has errors.
    """
    report = check_text(str(path), text, express=express)
    if as_json:
        typer.echo(json.dumps(report.to_aws(), indent=2, ensure_ascii=False))
    else:
        _print_rich([report], stderr=True)
    return report.errors > 0


def check_file(path: Path, *, express: bool = False) -> FileReport:
    name = str(path)
    try:
        text = sys.stdin.read() if name == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FileReport(name, usage_error=f"{name}: no such file")
    except IsADirectoryError:
        return FileReport(name, usage_error=f"{name}: is a directory, not a file")
    except UnicodeDecodeError:
        return FileReport(name, usage_error=f"{name}: not UTF-8 text")
    except OSError as exc:
        return FileReport(name, usage_error=f"{name}: {exc.strerror or exc}")
    return check_text(name, text, express=express)


def check_text(name: str, text: str, *, express: bool = False) -> FileReport:
    """Load and validate `text` (named `name` for messages; '-' means no file name)."""
    from asl.loader import LoadError, load
    from asl.validation import validate

    try:
        document = load(text, None if name == "-" else name)
    except LoadError as exc:
        report = FileReport(name, [exc.diagnostic])
        report.document = _text_only(text)
        return report
    return FileReport(name, validate(document, express=express), document)


def _text_only(text: str) -> Document:
    from asl.loader import Document

    return Document(None, text)


def _print_json(reports: list[FileReport]) -> None:
    for report in reports:
        if report.usage_error is not None:
            typer.echo(f"error: {report.usage_error}", err=True)
    readable = [r for r in reports if r.usage_error is None]
    if len(reports) == 1:
        if readable:
            typer.echo(json.dumps(readable[0].to_aws(), indent=2, ensure_ascii=False))
        return
    typer.echo(json.dumps([{"file": r.name, **r.to_aws()} for r in readable], indent=2, ensure_ascii=False))


def _print_rich(reports: list[FileReport], *, stderr: bool = False) -> None:
    from rich.console import Console
    from rich.text import Text

    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for report in reports:
        if report.usage_error is not None:
            err.print(Text.assemble(("error: ", "bold red"), report.usage_error))
            continue
        if len(reports) > 1:
            out.print(Text(report.name, style="bold underline"))
        ordered = sorted(report.diagnostics, key=lambda d: (d.line or 0, d.column or 0))
        for diagnostic in ordered:
            _print_diagnostic(out, report, diagnostic)
        out.print(_file_summary(report))
    if len(reports) > 1:
        out.print(_overall_summary(reports))


def _print_diagnostic(out: Console, report: FileReport, diagnostic: Diagnostic) -> None:
    from rich.text import Text

    where = report.name
    if diagnostic.line is not None:
        where += f":{diagnostic.line}:{diagnostic.column}"
    style = "bold red" if diagnostic.severity.value == "ERROR" else "bold yellow"
    header = Text.assemble((where, "bold"), " ", (diagnostic.code, style), " ", diagnostic.message)
    if diagnostic.pointer and diagnostic.line is None:
        header.append(f" at {diagnostic.pointer}", style="dim")
    out.print(header)
    if diagnostic.line is None or report.document is None:
        return
    source = report.document.line_text(diagnostic.line)
    if source is None:
        return
    out.print(_source_with_caret(source, diagnostic.line, diagnostic.column or 1, style))


def _source_with_caret(source: str, line: int, column: int, style: str) -> Text:
    """The source line (a window of it, if long) and a caret under `column` (1-based)."""
    from rich.text import Text

    index = min(max(column - 1, 0), len(source))
    prefix = ""
    if len(source) > _MAX_SHOWN_LINE:
        start = max(0, index - _MAX_SHOWN_LINE // 2)
        end = min(len(source), start + _MAX_SHOWN_LINE)
        prefix = "…" if start > 0 else ""
        source = prefix + source[start:end] + ("…" if end < len(source) else "")
        index = index - start + len(prefix)
    gutter = f"{line:>5} | "
    pad = "".join(c if c == "\t" else " " for c in source[:index])
    text = Text(gutter, style="dim")
    text.append(source)
    text.append("\n" + " " * (len(gutter) - 2) + "| ", style="dim")
    text.append(pad + "^", style=style)
    return text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _file_summary(report: FileReport) -> Text:
    from rich.text import Text

    if report.errors:
        counts = _plural(report.errors, "error")
        if report.warnings:
            counts += f", {_plural(report.warnings, 'warning')}"
        return Text.assemble(("✗ ", "bold red"), f"{report.name}: invalid ({counts})")
    suffix = f" ({_plural(report.warnings, 'warning')})" if report.warnings else ""
    return Text.assemble(("✓ ", "bold green"), f"{report.name}: valid{suffix}")


def _overall_summary(reports: list[FileReport]) -> Text:
    from rich.text import Text

    invalid = sum(1 for r in reports if r.errors)
    unreadable = sum(1 for r in reports if r.usage_error is not None)
    valid = len(reports) - invalid - unreadable
    parts = [f"{_plural(len(reports), 'file')} checked: {valid} valid", f"{invalid} invalid"]
    if unreadable:
        parts.append(f"{unreadable} unreadable")
    return Text(", ".join(parts), style="bold")
