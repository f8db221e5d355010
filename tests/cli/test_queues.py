"""`statelane queues ...` / `statelane topics ...`: the commands, their --json twins and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.queues  # noqa: F401  (registers the command groups)
from cli.app import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def ok(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json"))


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return result.stderr


def test_create_send_receive_delete(db: str) -> None:
    assert as_json("queues", "create", "jobs", "--db", db) == {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    }
    sent = as_json("queues", "send", "jobs", '{"n":1}', "-a", "k=v", "-a", "n:Number=5", "--db", db)
    assert set(sent) == {"MD5OfMessageAttributes", "MD5OfMessageBody", "MessageId"}
    [message] = as_json("queues", "receive", "jobs", "--max", "10", "--db", db)["Messages"]
    assert message["Body"] == '{"n":1}' and message["MessageId"] == sent["MessageId"]
    assert list(message) == [
        "MessageId",
        "ReceiptHandle",
        "MD5OfBody",
        "Body",
        "Attributes",
        "MD5OfMessageAttributes",
        "MessageAttributes",
    ]
    assert message["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "5"}
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    ok("queues", "delete", "jobs", message["ReceiptHandle"], "--db", db)
    assert as_json("queues", "receive", "jobs", "--db", db) == {"Messages": []}
    assert "no messages" in ok("queues", "receive", "jobs", "--db", db)


def test_human_output(db: str) -> None:
    assert "queue jobs (standard)" in ok("queues", "create", "jobs", "--db", db)
    ok("queues", "send", "jobs", "hello there", "--db", db)
    listing = ok("queues", "list", "--db", db)
    assert "jobs" in listing and "standard" in listing
    shown = ok("queues", "receive", "jobs", "--db", db)
    assert "Body           hello there" in shown and "ReceiptHandle" in shown
    assert "purged 1 message\n" in ok("queues", "purge", "jobs", "--db", db)  # in flight counts too


def test_body_from_a_file_or_stdin(db: str, tmp_path: Path) -> None:
    ok("queues", "create", "jobs", "--db", db)
    (tmp_path / "body.json").write_text('{"from": "file"}')
    ok("queues", "send", "jobs", f"@{tmp_path / 'body.json'}", "--db", db)
    ok("queues", "send", "jobs", "-", "--db", db, input="from stdin")
    got = as_json("queues", "receive", "jobs", "--max", "10", "--db", db)["Messages"]
    assert [m["Body"] for m in got] == ['{"from": "file"}', "from stdin"]


def test_fifo_and_dead_letter_options(db: str) -> None:
    ok("queues", "create", "orders.fifo", "--attribute", "ContentBasedDeduplication=true", "--db", db)
    first = as_json("queues", "send", "orders.fifo", "a", "--group", "g", "--db", db)
    assert len(first["SequenceNumber"]) == 20
    assert (
        as_json("queues", "send", "orders.fifo", "a", "--group", "g", "--db", db)["MessageId"]
        == first["MessageId"]
    )
    ok("queues", "create", "dlq", "--db", db)
    ok(
        "queues",
        "create",
        "work",
        "--dead-letter",
        "dlq",
        "--max-receives",
        "1",
        "--visibility-timeout",
        "0",
        "--db",
        db,
    )
    ok("queues", "send", "work", "poison", "--db", db)
    assert len(as_json("queues", "receive", "work", "--db", db)["Messages"]) == 1
    assert as_json("queues", "receive", "work", "--db", db)["Messages"] == []
    assert [m["Body"] for m in as_json("queues", "receive", "dlq", "--db", db)["Messages"]] == ["poison"]
    assert "dlq after 1" in ok("queues", "list", "--db", db)


def test_receive_delete_option_and_purge_json(db: str) -> None:
    ok("queues", "create", "jobs", "--db", db)
    for i in range(3):
        ok("queues", "send", "jobs", str(i), "--db", db)
    assert (
        len(
            as_json("queues", "receive", "jobs", "--delete", "--visibility-timeout", "0", "--db", db)[
                "Messages"
            ]
        )
        == 1
    )
    assert as_json("queues", "purge", "jobs", "--db", db) == {"Purged": 2}


def test_errors_exit_2_with_a_reason(db: str) -> None:
    ok("queues", "create", "jobs", "--db", db)
    assert "no queue named 'jbos'; known queues: jobs" in refused("queues", "send", "jbos", "x", "--db", db)
    assert "not a valid receipt handle" in refused("queues", "delete", "jobs", "garbage", "--db", db)
    assert "InvalidParameterValue" in refused("queues", "create", "bad name", "--db", db)
    assert "go together" in refused("queues", "create", "x", "--dead-letter", "jobs", "--db", db)
    assert "not KEY=VALUE" in refused("queues", "create", "x", "--attribute", "oops", "--db", db)
    assert "MaxNumberOfMessages" in refused("queues", "receive", "jobs", "--max", "11", "--db", db)
    assert "no topic named 'news'" in refused("topics", "publish", "news", "x", "--db", db)
    assert "exactly one of" in refused("topics", "subscribe", "news", "--db", db)


def test_topics_subscribe_publish_list(db: str, tmp_path: Path) -> None:
    ok("queues", "create", "inbox", "--db", db)
    ok("queues", "create", "raw", "--db", db)
    assert as_json("topics", "create", "news", "--db", db) == {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:news"
    }
    ok("topics", "subscribe", "news", "--queue", "inbox", "--filter-policy", '{"k": ["v"]}', "--db", db)
    ok("topics", "subscribe", "news", "--queue", "raw", "--raw", "--db", db)
    published = as_json("topics", "publish", "news", "hello", "-a", "k=v", "--db", db)
    ok("topics", "publish", "news", "filtered out", "--db", db)
    inbox = as_json("queues", "receive", "inbox", "--max", "10", "--db", db)["Messages"]
    assert [json.loads(m["Body"])["MessageId"] for m in inbox] == [published["MessageId"]]
    raw = as_json("queues", "receive", "raw", "--max", "10", "--db", db)["Messages"]
    assert [m["Body"] for m in raw] == ["hello", "filtered out"]
    [topic] = as_json("topics", "list", "--db", db)["Topics"]
    assert [s["Protocol"] for s in topic["Subscriptions"]] == ["sqs", "sqs"]
    shown = ok("topics", "list", "--db", db)
    assert "-> sqs inbox (filter" in shown and "-> sqs raw (raw)" in shown
    ok("topics", "create", "fifo-news.fifo", "--db", db)
    assert "FifoTopic" in json.dumps(as_json("topics", "list", "--db", db))
    assert "MessageGroupId parameter is required" in refused(
        "topics", "publish", "fifo-news.fifo", "x", "--db", db
    )


def test_publish_calls_subscribed_functions(db: str, tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    functions = tmp_path / "fns.py"
    functions.write_text(
        f"import json\ndef listener(event, context):\n    open({str(out)!r}, 'w').write(json.dumps(event))\n"
    )
    ok("topics", "create", "news", "--db", db)
    ok("topics", "subscribe", "news", "--function", "listener", "--db", db)
    ok("topics", "publish", "news", "hi", "--lambdas", str(functions), "--db", db)
    assert json.loads(out.read_text())["Records"][0]["Sns"]["Message"] == "hi"


def test_the_conformance_runner_s_setup_commands(tmp_path: Path) -> None:
    """`statelane queues/topics create NAME --attribute K=V` in a working directory, default store."""
    env = {k: v for k, v in os.environ.items() if k != "STATELANE_DB"}
    script = "import sys; from cli.app import app; import cli.queues; sys.argv[0] = 'statelane'; app()"
    for args in (
        ["queues", "create", "queue-1"],
        ["topics", "create", "topic-1.fifo", "--attribute", "FifoTopic=true"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / ".statelane" / "statelane.db").exists()
