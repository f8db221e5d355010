"""`statelane validate`: rich report with carets, --json in AWS's shape, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import _register, app

_register()  # the real command set (with a single command, typer would make it the root)
runner = CliRunner()

VALID = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
INVALID_TEXT = """{
  "StartAt": "Charge",
  "States": {
    "Charge": {"Type": "Pass", "Next": "Chrage"},
    "Done": {"Type": "Succeed"}
  }
}
"""


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_valid_file_exits_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.json", VALID)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: valid" in result.output


def test_invalid_file_shows_location_source_and_caret(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", INVALID_TEXT)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    first = next(
        i for i, line in enumerate(lines) if "MISSING_TRANSITION_TARGET Missing 'Next' target" in line
    )
    assert lines[first].startswith(f"{path}:4:40 MISSING_TRANSITION_TARGET Missing 'Next' target: Chrage")
    assert "did you mean 'Charge'?" in lines[first]
    source, caret = lines[first + 1], lines[first + 2]
    assert source.endswith('"Charge": {"Type": "Pass", "Next": "Chrage"},')
    assert caret.index("^") == source.index('"Chrage"')
    assert f"{path}: invalid (2 errors)" in result.output


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a": "$.x"}, "End": True}}}
    result = runner.invoke(app, ["validate", str(write(tmp_path, "w.json", definition))])
    assert result.exit_code == 0
    assert "NO_DOLLAR" in result.output and "valid (1 warning)" in result.output


def test_json_output_shape(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(write(tmp_path, "bad.json", INVALID_TEXT))])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["result"] == "FAIL" and body["truncated"] is False
    assert body["diagnostics"][0] == {
        "severity": "ERROR",
        "code": "MISSING_TRANSITION_TARGET",
        "message": "Missing 'Next' target: Chrage; did you mean 'Charge'?",
        "location": "/States/Charge/Next",
        "line": 4,
        "column": 40,
    }


def test_json_output_for_several_files(tmp_path: Path) -> None:
    ok, bad = write(tmp_path, "ok.json", VALID), write(tmp_path, "bad.json", INVALID_TEXT)
    result = runner.invoke(app, ["validate", "--json", str(ok), str(bad)])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert [(item["file"], item["result"]) for item in body] == [(str(ok), "OK"), (str(bad), "FAIL")]


def test_malformed_json_is_invalid_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"StartAt": "A",\n  "States": {,}}')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2:14 INVALID_JSON_DESCRIPTION" in result.output
    assert "Traceback" not in result.output
    body = json.loads(runner.invoke(app, ["validate", "--json", str(path)]).output)
    assert body["result"] == "FAIL"
    assert body["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_empty_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(write(tmp_path, "empty.json", ""))])
    assert result.exit_code == 1
    assert json.loads(result.output)["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "SCHEMA_VALIDATION_FAILED",
            "message": "Definition must be a valid JSON object",
        }
    ]


def test_yaml_file(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: B\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:11 MISSING_TRANSITION_TARGET" in result.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate", str(tmp_path / "nope.json"), str(write(tmp_path, "ok.json", VALID))]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert "Traceback" not in result.output


def test_no_arguments_is_a_usage_error() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2


@pytest.mark.parametrize("flag", [[], ["--express"]])
def test_express_flag(tmp_path: Path, flag: list[str]) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "End": True,
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
            }
        },
    }
    result = runner.invoke(app, ["validate", *flag, str(write(tmp_path, "t.json", definition))])
    assert result.exit_code == (1 if flag else 0)


def test_long_lines_are_windowed(tmp_path: Path) -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(30)}
    states["S30"] = {"Type": "Pass", "Next": "Nowhere"}
    path = write(tmp_path, "long.json", {"StartAt": "S0", "States": states})
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if "Missing 'Next' target: Nowhere" in line)
    source, caret = lines[header + 1 : header + 3]
    assert len(source) < 130 and "…" in source
    assert source[caret.index("^") :].startswith('"Nowhere"')


def test_report_definition_for_other_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.validate import report_definition

    assert report_definition(tmp_path / "x.json", INVALID_TEXT, as_json=True) is True
    assert json.loads(capsys.readouterr().out)["result"] == "FAIL"
