"""The CLI on a PostgreSQL store: `db migrate`, and start/worker/describe with nothing but the URL changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store_postgres_fixtures import fresh_schema
from typer.testing import CliRunner

import cli.db  # noqa: F401  (adds `db` to the app until cli.app registers it)
from cli.app import _register, app

_register()
runner = CliRunner()


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as u:
        yield u


def test_db_migrate_creates_then_reports_up_to_date(url: str) -> None:
    from engine.store.postgres_schema import LATEST_VERSION

    first = runner.invoke(app, ["db", "migrate", "--db", url])
    assert first.exit_code == 0, first.stderr
    assert first.stdout.strip().endswith(f": created at schema {LATEST_VERSION}")
    again = runner.invoke(app, ["db", "migrate", "--db", url])
    assert again.stdout.strip().endswith(f": schema {LATEST_VERSION}, up to date")


def test_db_migrate_on_sqlite_and_an_unreachable_server(tmp_path: Path) -> None:
    done = runner.invoke(app, ["db", "migrate", "--db", f"sqlite:///{tmp_path}/s.db"])
    assert done.exit_code == 0 and "SQLite stores migrate whenever opened" in done.stdout
    assert (tmp_path / "s.db").exists()
    failed = runner.invoke(
        app, ["db", "migrate", "--db", "postgresql://x:pw@127.0.0.1:1/x?connect_timeout=2"]
    )
    assert failed.exit_code == 2
    assert "cannot reach the PostgreSQL store at postgresql://x@127.0.0.1:1/x" in failed.stderr
    assert "pw" not in failed.stderr


def test_start_worker_describe_on_postgres(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATELANE_DB", url)
    flow = tmp_path / "flow.json"
    flow.write_text(
        json.dumps(
            {
                "StartAt": "Nap",
                "States": {
                    "Nap": {"Type": "Wait", "Seconds": 1, "Next": "A"},
                    "A": {"Type": "Pass", "Result": {"done": True}, "End": True},
                },
            }
        )
    )
    for name in ("one", "two"):
        assert runner.invoke(app, ["start", str(flow), "--name", name]).exit_code == 0
    worked = runner.invoke(app, ["worker", "--until-idle", "--concurrency", "2", "--park-after", "0"])
    assert worked.exit_code == 0, worked.stderr
    for name in ("one", "two"):
        described = json.loads(runner.invoke(app, ["describe", name, "--json"]).stdout)
        assert (described["status"], described["output"]) == ("SUCCEEDED", '{"done":true}')
