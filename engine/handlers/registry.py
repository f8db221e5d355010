"""Building the handler registry from configuration: built-in backends, plugins, mocks.

Priority, first match wins:

1. mocks (outermost): with a test case, its mocked states never reach a handler;
2. handlers passed in `extra` (embedders and tests);
3. the built-in backend configured for each service: Lambda `local` (Python functions)
   or `aws` (boto3); SQS/SNS `aws`, or the store-backed local handlers passed in `local`;
4. third-party handlers from the `statelane.handlers` entry-point group, for resources
   the built-ins do not serve (e.g. `arn:aws:states:::dynamodb:putItem`).

A plugin's entry point names a callable taking the `StatelaneConfig` and returning
one TaskHandler or a list of them (a class whose `__init__(self, config)` qualifies);
an object that already has `handles` and `invoke` is used as it is. Its settings live
in `[plugins.<entry point name>]`; `enabled = false` there skips it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from engine.config import ConfigError, StatelaneConfig
from engine.handlers.base import HandlerRegistry, TaskHandler
from engine.handlers.lambda_local import (
    DEFAULT_TIMEOUT_SECONDS,
    LambdaFunction,
    LambdaSourceError,
    LocalLambdaHandler,
    load_source,
)
from engine.handlers.mocks import (
    MockConfig,
    MockConfigError,
    MockingRegistry,
    find_mock_config,
    load_mock_config,
)
from engine.ids import IdSource

ENTRY_POINT_GROUP = "statelane.handlers"

LambdaSources = str | Sequence[str] | Mapping[str, LambdaFunction]


class PluginError(Exception):
    """A `statelane.handlers` entry point failed to load or did not give a handler."""


def build_registry(
    config: StatelaneConfig | None = None,
    *,
    lambdas: LambdaSources | None = None,
    mock_config: MockConfig | str | Path | None = None,
    test_case: str | None = None,
    state_machine_name: str = "StateMachine",
    ids: IdSource | None = None,
    extra: Sequence[TaskHandler] = (),
    local: Mapping[str, TaskHandler] | None = None,
    plugins: bool = True,
) -> HandlerRegistry:
    """The registry a run uses.

    `lambdas` (the CLI's `--lambdas`: a file, a module, several, or a name -> function
    mapping) adds local functions and makes Lambda local whatever the configuration says.
    `local` supplies the local SQS/SNS handlers (`{"sqs": ..., "sns": ...}`), which need a
    store; a service configured `local` without one is left to plugins, and otherwise
    fails at run time as an unknown resource. With `test_case`, mocks from `mock_config`
    (a MockConfig, or a path; default `$SFN_MOCK_CONFIG` or `./MockConfigFile.json`) for
    state machine `state_machine_name` wrap everything.

    Raises ConfigError (bad function mapping, aws backend without boto3), MockConfigError,
    PluginError or LambdaSourceError (an unloadable `lambdas` source).
    """
    config = config or StatelaneConfig()
    registry = HandlerRegistry(list(extra))
    for handler in _builtin_handlers(config, lambdas, ids, local or {}):
        registry.register(handler)
    if plugins:
        for handler in load_plugins(config):
            registry.register(handler)
    if test_case is None:
        return registry
    mocks = _mock_config(mock_config)
    return MockingRegistry(registry, mocks.test_case(state_machine_name, test_case))


def _builtin_handlers(
    config: StatelaneConfig,
    lambdas: LambdaSources | None,
    ids: IdSource | None,
    local: Mapping[str, TaskHandler],
) -> list[TaskHandler]:
    handlers: list[TaskHandler] = []
    if lambdas is not None or config.lambda_.backend == "local":
        functions, timeouts = local_functions(config)
        extra_functions, extra_timeouts = _functions_from(lambdas)
        functions.update(extra_functions)
        timeouts.update(extra_timeouts)
        timeouts.update(config.lambda_.timeouts)  # the configuration file has the last word
        handlers.append(
            LocalLambdaHandler(
                functions,
                request_ids=(ids.uuid4 if ids else None),
                timeouts=timeouts,
                default_timeout=config.lambda_.timeout or DEFAULT_TIMEOUT_SECONDS,
            )
        )
    else:
        handlers.append(_aws_handler(config, "lambda"))
    for service in ("sqs", "sns"):
        if config.service(service).backend == "aws":
            handlers.append(_aws_handler(config, service))
        elif service in local:
            handlers.append(local[service])
    return handlers


def _aws_handler(config: StatelaneConfig, service: str) -> TaskHandler:
    from engine.handlers import aws

    settings = aws.AwsSettings(
        region=config.region_for(service),
        endpoint_url=config.endpoint_for(service),
        profile=config.profile_for(service),
    )
    factories: dict[str, Callable[[aws.AwsSettings], TaskHandler]] = {
        "lambda": aws.AwsLambdaHandler,
        "sqs": aws.AwsSqsHandler,
        "sns": aws.AwsSnsHandler,
    }
    try:
        return factories[service](settings)
    except aws.BackendUnavailable as exc:
        raise ConfigError(f'[{service}] backend = "aws": {exc}') from None


Timeouts = dict[str, float]


def _functions_from(lambdas: LambdaSources | None) -> tuple[dict[str, LambdaFunction], Timeouts]:
    if lambdas is None:
        return {}, {}
    if isinstance(lambdas, Mapping):
        return dict(lambdas), {}
    functions: dict[str, LambdaFunction] = {}
    timeouts: Timeouts = {}
    for source in [lambdas] if isinstance(lambdas, str) else lambdas:
        found, limits = load_source(source)
        functions.update(found)
        timeouts.update(limits)
    return functions, timeouts


def local_functions(config: StatelaneConfig) -> tuple[dict[str, LambdaFunction], Timeouts]:
    """The configuration's local Lambda functions (every `sources` entry, then the `functions`
    table) and the timeouts their sources declare in `TIMEOUTS`."""
    base = config.base_dir
    functions: dict[str, LambdaFunction] = {}
    timeouts: Timeouts = {}
    for source in config.lambda_.sources:
        try:
            found, limits = load_source(_as_path_or_module(source, base))
        except LambdaSourceError as exc:
            raise ConfigError(f"[lambda] sources: {exc}") from None
        functions.update(found)
        timeouts.update(limits)
    modules: dict[str, Any] = {}
    for name, target in config.lambda_.functions.items():
        functions[name] = _load_target(name, target, base, modules)
    return functions, timeouts


def _as_path_or_module(source: str, base: Path) -> str:
    candidate = base / source
    if source.endswith(".py") or "/" in source or candidate.exists():
        return str(candidate)
    return source


def _load_target(name: str, target: str, base: Path, modules: dict[str, Any]) -> LambdaFunction:
    """`module:function` or `path/to/file.py:function`, relative to the configuration's directory."""
    module_name, sep, attribute = target.rpartition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f'[lambda.functions] {name} = "{target}": expected "module:function"')
    if module_name not in modules:
        modules[module_name] = _import(name, module_name, base)
    function = getattr(modules[module_name], attribute, None)
    if not callable(function):
        raise ConfigError(
            f'[lambda.functions] {name} = "{target}": {module_name} has no function {attribute}'
        )
    return function


def _import(name: str, module_name: str, base: Path) -> Any:
    if module_name.endswith(".py") or "/" in module_name:
        path = base / module_name
        try:
            from engine.handlers.lambda_local import _load_module

            return _load_module(str(path))
        except LambdaSourceError as exc:
            raise ConfigError(f"[lambda.functions] {name}: {exc}") from None
    # The project's own modules are importable from the configuration's directory, as from a script there.
    added = str(base) not in sys.path
    if added:
        sys.path.insert(0, str(base))
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"[lambda.functions] {name}: cannot import {module_name}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if added:
            sys.path.remove(str(base))


def _mock_config(mock_config: MockConfig | str | Path | None) -> MockConfig:
    if isinstance(mock_config, MockConfig):
        return mock_config
    path = Path(mock_config) if mock_config is not None else find_mock_config(Path.cwd())
    if path is None:
        raise MockConfigError(
            "a test case was given but no mock configuration: pass one (--mock-config FILE), "
            "set SFN_MOCK_CONFIG, or put MockConfigFile.json in the working directory"
        )
    return load_mock_config(path)


@lru_cache(maxsize=1)
def plugin_entry_points() -> tuple[EntryPoint, ...]:
    """The installed `statelane.handlers` entry points (cached: scanning metadata is slow)."""
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def load_plugins(config: StatelaneConfig, points: Iterable[EntryPoint] | None = None) -> list[TaskHandler]:
    """Handlers from the entry points (all installed ones by default), skipping disabled plugins."""
    handlers: list[TaskHandler] = []
    for point in plugin_entry_points() if points is None else points:
        if config.plugins.get(point.name, {}).get("enabled", True) is False:
            continue
        try:
            target = point.load()
        except Exception as exc:
            raise PluginError(
                f"{ENTRY_POINT_GROUP} plugin '{point.name}' ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        handlers.extend(_plugin_handlers(point, target, config))
    return handlers


def _is_handler(value: Any) -> bool:
    return (
        not isinstance(value, type)
        and callable(getattr(value, "handles", None))
        and callable(getattr(value, "invoke", None))
    )


def _plugin_handlers(point: EntryPoint, target: Any, config: StatelaneConfig) -> list[TaskHandler]:
    if _is_handler(target):
        return [target]
    if not callable(target):
        raise PluginError(f"{ENTRY_POINT_GROUP} plugin '{point.name}' ({point.value}) is not callable")
    try:
        made = target(config)
    except Exception as exc:
        raise PluginError(
            f"{ENTRY_POINT_GROUP} plugin '{point.name}' ({point.value}) failed to start: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    found = [made] if _is_handler(made) else list(made) if isinstance(made, list | tuple) else []
    if not found or not all(_is_handler(h) for h in found):
        raise PluginError(
            f"{ENTRY_POINT_GROUP} plugin '{point.name}' ({point.value}) returned {type(made).__name__}, "
            "not a task handler (an object with handles() and invoke()) or a list of them"
        )
    return found
