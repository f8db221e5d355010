"""The media pipeline sample end to end: `samples/media-pipeline/run.sh` in a temporary store.

One run (about 3 s) is shared by the tests; each checks one promise of the sample: the
execution succeeds with the catalog's answer, the topic fans out as subscribed (envelope
to `catalog`, raw and filtered to `notifications`), the `.waitForTaskToken` step is
completed by the catalog worker, and the poisoned message ends in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "media-pipeline"
STATELANE = Path(sys.executable).parent / "statelane"


class Run:
    def __init__(self, stdout: str, db: str) -> None:
        self.stdout = stdout
        self.db = db
        self.sections = {
            part.split("\n", 1)[0]: part.split("\n", 1)[1] if "\n" in part else ""
            for part in stdout.split("\n== ")[1:]
        }

    def section(self, prefix: str) -> str:
        (found,) = [text for title, text in self.sections.items() if title.startswith(prefix)]
        return found

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [str(STATELANE), *args, "--db", self.db, "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    if shutil.which("bash") is None or not STATELANE.exists():
        pytest.fail("the sample needs bash and the installed statelane")
    tmp = tmp_path_factory.mktemp("media")
    env = {**os.environ, "TMPDIR": str(tmp), "KEEP_STORE": "1"}
    env.pop("STATELANE_DB", None)
    done = subprocess.run(
        ["bash", str(SAMPLE / "run.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (store,) = tmp.glob("media-pipeline.*/media.db")
    assert not (ROOT / "samples" / "media-pipeline" / ".statelane").exists()
    return Run(done.stdout, f"sqlite:///{store}")


def test_the_execution_succeeds_with_the_catalog_entry(run: Run) -> None:
    described = run.cli("describe", "upload-holiday")
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    catalog_id = output.pop("catalogId")
    assert catalog_id.startswith("cat-") and len(catalog_id) == 16
    assert output == {
        "source": "videos/holiday.mov",
        "levels": ["1080p", "720p", "480p"],
        "keys": ["videos/holiday/1080p.mp4", "videos/holiday/720p.mp4", "videos/holiday/480p.mp4"],
    }
    assert '"status"' not in run.section("the execution")  # the table, not JSON
    assert "SUCCEEDED" in run.section("the execution")


def test_the_map_invokes_the_transcode_function_once_per_level(run: Run) -> None:
    events = run.cli("history", "upload-holiday")["events"]
    lambdas = [
        e
        for e in events
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resourceType"] == "lambda"
    ]
    payloads = [json.loads(e["taskSucceededEventDetails"]["output"])["Payload"] for e in lambdas]
    assert sorted(p["level"] for p in payloads) == ["1080p", "480p", "720p"]
    assert {p["sizeKb"] for p in payloads} == {5000 * 95 // 8, 2800 * 95 // 8, 1200 * 95 // 8}


def test_the_callback_step_is_completed_by_the_catalog_worker(run: Run) -> None:
    events = run.cli("history", "upload-holiday")["events"]
    sns = [e for e in events if e["type"].startswith("Task") and "sns" in json.dumps(e)]
    kinds = [e["type"] for e in sns]
    assert "TaskSubmitted" in kinds and kinds[-1] == "TaskSucceeded"
    answer = json.loads(sns[-1]["taskSucceededEventDetails"]["output"])
    assert answer["renditions"] == 3
    log = [json.loads(line) for line in run.section("catalog worker").splitlines() if line.startswith("{")]
    assert [entry.get("receives") for entry in log if "failed" in entry] == [1, 2]
    (completed,) = [entry["completed"] for entry in log if "completed" in entry]
    assert completed == answer


def test_catalog_gets_the_envelope_and_the_poison_lands_in_the_dead_letter_queue(run: Run) -> None:
    (message,) = json.loads(run.section("catalog-dlq"))["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"  # two tries, then the move on the third
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:media-ready"
    assert envelope["Message"] == "corrupt upload notice: videos/holiday.mov.part"
    remaining = run.cli("queues", "receive", "catalog", "--max", "10")
    assert remaining.get("Messages", []) == []  # the announcement was deleted once handled


def test_notifications_get_the_raw_announcement_and_the_filter_drops_the_rest(run: Run) -> None:
    (message,) = json.loads(run.section("notifications"))["Messages"]
    body = json.loads(message["Body"])  # raw delivery: the workflow's message itself
    assert set(body) == {"source", "renditions", "taskToken"}
    assert body["source"] == "videos/holiday.mov"
    assert [r["level"] for r in body["renditions"]] == ["1080p", "720p", "480p"]
    assert message["MessageAttributes"] == {"eventType": {"DataType": "String", "StringValue": "transcoded"}}
