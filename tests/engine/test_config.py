"""statelane.toml / [tool.statelane]: discovery, validation, overrides, and what the registry builds from it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine.api import run
from engine.config import ConfigError, StatelaneConfig, find_config, load_config, parse_config
from engine.handlers.base import TaskRequest
from engine.handlers.lambda_local import LocalLambdaHandler
from engine.handlers.registry import (
    ENTRY_POINT_GROUP,
    PluginError,
    build_registry,
    load_plugins,
    plugin_entry_points,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# --- discovery ------------------------------------------------------------------------------------------


def test_no_file_means_everything_local(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config.source is None
    assert [config.service(s).backend for s in ("lambda", "sqs", "sns")] == ["local", "local", "local"]
    assert config.base_dir == tmp_path.resolve()


def test_found_upwards_from_the_working_directory(tmp_path: Path) -> None:
    file = write(tmp_path / "statelane.toml", 'region = "eu-west-1"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(cwd=deep)
    assert config.source == file
    assert config.region == "eu-west-1"
    assert config.base_dir == tmp_path.resolve()


def test_pyproject_table_and_precedence(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.statelane]\nregion = "from-pyproject"\n')
    assert load_config(cwd=tmp_path).region == "from-pyproject"
    write(tmp_path / "statelane.toml", 'region = "from-statelane"\n')
    assert load_config(cwd=tmp_path).region == "from-statelane"


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "statelane.toml", 'profile = "outer"\n')
    write(tmp_path / "inner" / "pyproject.toml", '[project]\nname = "x"\n')
    assert find_config(tmp_path / "inner") == tmp_path / "statelane.toml"
    assert load_config(cwd=tmp_path / "inner").profile == "outer"


def test_an_explicit_file(tmp_path: Path) -> None:
    file = write(tmp_path / "conf" / "custom.toml", '[sqs]\nbackend = "aws"\n')
    config = load_config(file)
    assert config.sqs.backend == "aws"
    assert config.base_dir == file.parent.resolve()
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


# --- validation -------------------------------------------------------------------------------------------


def test_misspelt_setting_is_named_with_a_suggestion(tmp_path: Path) -> None:
    file = write(tmp_path / "statelane.toml", '[sqs]\nendpoint_ur = "http://x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value) == (
        f"{file}: invalid configuration:\n  sqs.endpoint_ur: unknown setting (did you mean 'endpoint_url'?)"
    )


def test_backend_must_be_local_or_aws(tmp_path: Path) -> None:
    file = write(tmp_path / "pyproject.toml", '[tool.statelane.lambda]\nbackend = "cloud"\n')
    with pytest.raises(
        ConfigError, match=r"\[tool.statelane\] lambda.backend: must be 'local' or 'aws', not 'cloud'"
    ):
        load_config(file)


def test_not_toml(tmp_path: Path) -> None:
    file = write(tmp_path / "statelane.toml", "region = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(file)


def test_function_mapping_must_be_a_string_table() -> None:
    with pytest.raises(ConfigError, match=r"lambda.functions.f: Input should be a valid string"):
        parse_config({"lambda": {"functions": {"f": 3}}})


# --- settings and overrides -------------------------------------------------------------------------------


def test_service_settings_fall_back_to_the_global_ones() -> None:
    config = parse_config(
        {"region": "r", "endpoint_url": "http://all", "profile": "p", "sns": {"endpoint_url": "http://sns"}}
    )
    assert config.endpoint_for("sns") == "http://sns"
    assert config.endpoint_for("sqs") == "http://all"
    assert (config.region_for("lambda"), config.profile_for("lambda")) == ("r", "p")


def test_overrides_as_the_cli_gives_them() -> None:
    config = parse_config({"region": "file", "sqs": {"backend": "aws"}})
    changed = config.override(region="flag", backends={"sns": "aws"}, endpoints={"sqs": "http://q"})
    assert (changed.region, changed.sns.backend, changed.sqs.backend) == ("flag", "aws", "aws")
    assert changed.endpoint_for("sqs") == "http://q"
    assert config.region == "file"  # the original is untouched
    assert config.override() == config
    with pytest.raises(ConfigError, match=r"^sqs\.backend: must be 'local' or 'aws', not 'cloud'$"):
        config.override(backends={"sqs": "cloud"})  # type: ignore[dict-item]


# --- what the registry builds from it -------------------------------------------------------------------


def lambda_machine(function: str) -> str:
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        "End": True,
    }
    return json.dumps({"StartAt": "Call", "States": {"Call": task}})


def test_local_functions_from_module_and_file_mappings(tmp_path: Path) -> None:
    write(tmp_path / "shop_handlers_for_test.py", "def price(event, context):\n    return event['n'] * 3\n")
    write(tmp_path / "scripts" / "tools.py", "def shout(event, context):\n    return event['s'].upper()\n")
    write(tmp_path / "more.py", "def twice(event, context):\n    return event * 2\n")
    file = write(
        tmp_path / "statelane.toml",
        """
        [lambda]
        sources = ["more.py"]
        [lambda.functions]
        price-item = "shop_handlers_for_test:price"
        shout = "scripts/tools.py:shout"
        """,
    )
    registry = build_registry(load_config(file), plugins=False)
    assert run(lambda_machine("price-item"), '{"n": 2}', handlers=registry).output == 6
    assert run(lambda_machine("shout"), '{"s": "hi"}', handlers=registry).output == "HI"
    assert run(lambda_machine("twice"), "21", handlers=registry).output == 42


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", 'expected "module:function"'),
        ("no_such_module_xyz:f", "cannot import no_such_module_xyz: ModuleNotFoundError"),
        ("json:no_such_function", "json has no function no_such_function"),
        ("missing.py:f", "no such Lambda source file"),
    ],
)
def test_bad_function_mapping(tmp_path: Path, target: str, message: str) -> None:
    config = parse_config({"lambda": {"functions": {"f": target}}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=message):
        build_registry(config, plugins=False)


def test_lambdas_argument_makes_lambda_local_whatever_the_file_says() -> None:
    config = parse_config({"lambda": {"backend": "aws", "endpoint_url": "http://127.0.0.1:9"}})
    registry = build_registry(config, lambdas={"f": lambda e, c: "local"}, plugins=False)
    assert isinstance(registry.resolve("arn:aws:states:::lambda:invoke"), LocalLambdaHandler)


def test_local_sqs_and_sns_handlers_are_supplied_by_the_caller() -> None:
    class Queue:
        def handles(self, resource: str) -> bool:
            return resource.startswith("arn:aws:states:::sqs:")

        def invoke(self, request: TaskRequest) -> Any:
            return {"MessageId": "m"}

    registry = build_registry(StatelaneConfig(), local={"sqs": Queue()}, plugins=False)
    assert isinstance(registry.resolve("arn:aws:states:::sqs:sendMessage"), Queue)


# --- plugins -----------------------------------------------------------------------------------------------


PLUGIN = """
from typing import Any

class Table:
    def __init__(self, config: Any) -> None:
        self.greeting = config.plugins.get("fake-dynamo", {}).get("greeting", "hello")

    def handles(self, resource: str) -> bool:
        return resource == "arn:aws:states:::dynamodb:putItem"

    def invoke(self, request: Any) -> Any:
        return {"said": self.greeting, "table": request.parameters["TableName"]}

def broken(config: Any) -> Any:
    return 42
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real distribution on sys.path declaring two `statelane.handlers` entry points."""
    write(tmp_path / "fake_dynamo_plugin.py", PLUGIN)
    dist = tmp_path / "fake_dynamo_plugin-1.0.dist-info"
    write(dist / "METADATA", "Metadata-Version: 2.1\nName: fake-dynamo-plugin\nVersion: 1.0\n")
    write(
        dist / "entry_points.txt",
        f"[{ENTRY_POINT_GROUP}]\nfake-dynamo = fake_dynamo_plugin:Table\nbroken = fake_dynamo_plugin:broken\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_entry_points.cache_clear()
    yield
    plugin_entry_points.cache_clear()


def test_entry_point_handler_serves_its_resource(installed_plugin: Any) -> None:
    config = parse_config({"plugins": {"broken": {"enabled": False}, "fake-dynamo": {"greeting": "hej"}}})
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "orders", "Item": {}},
        "End": True,
    }
    definition = json.dumps({"StartAt": "Put", "States": {"Put": put}})
    execution = run(definition, handlers=build_registry(config))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"said": "hej", "table": "orders"}


def test_a_plugin_that_gives_no_handler_is_reported(installed_plugin: Any) -> None:
    with pytest.raises(
        PluginError, match="plugin 'broken' \\(fake_dynamo_plugin:broken\\) returned int, not a task"
    ):
        load_plugins(StatelaneConfig())


def test_a_plugin_that_cannot_load_is_reported() -> None:
    from importlib.metadata import EntryPoint

    point = EntryPoint(name="ghost", value="no_such_plugin_module:make", group=ENTRY_POINT_GROUP)
    with pytest.raises(PluginError, match="plugin 'ghost' \\(no_such_plugin_module:make\\) failed to load"):
        load_plugins(StatelaneConfig(), [point])
