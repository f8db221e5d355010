"""Project configuration: which backend serves each service, and how to reach AWS.

Read from `statelane.toml`, or from `[tool.statelane]` in `pyproject.toml`, found by
walking up from the working directory (the first directory holding either wins;
`statelane.toml` beats `pyproject.toml` in the same directory). Everything has a
default, so no file at all means "everything local". CLI flags override the file
through `StatelaneConfig.override`.

    region = "eu-west-1"                 # AWS region for the aws backends
    endpoint_url = "http://localhost:4566"   # every aws backend, unless a service says otherwise
    profile = "dev"                      # AWS credentials profile

    [lambda]
    backend = "local"                    # "local" (Python functions) or "aws" (boto3)
    sources = ["lambdas.py"]             # files/modules whose public functions are Lambda functions
    timeout = 30                         # local functions' timeout in seconds (Lambda's default: 3)
    [lambda.functions]
    resize-image = "images.handlers:resize"   # function name = "module:function" or "path.py:function"
    [lambda.timeouts]
    resize-image = 120                   # per function, wins over `timeout` (1 to 900 s, as on Lambda)

    [sqs]
    backend = "aws"
    endpoint_url = "http://localhost:9324"    # per service, wins over the global one

    [plugins.my-plugin]                  # settings handed to a `statelane.handlers` plugin
    enabled = true
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CONFIG_FILE = "statelane.toml"
PYPROJECT_FILE = "pyproject.toml"
SERVICES = ("lambda", "sqs", "sns")

Backend = Literal["local", "aws"]


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ServiceConfig(_Strict):
    """One service's backend and, for `aws`, how to reach it (unset fields fall back to the global ones)."""

    backend: Backend = "local"
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None


#: A Lambda function timeout: Lambda accepts 1 to 900 seconds.
FunctionTimeout = Annotated[float, Field(ge=1, le=900)]


class LambdaConfig(ServiceConfig):
    """Lambda adds the local function table (explicit `name = "module:function"` entries and whole
    sources) and the functions' timeouts, which on AWS belong to each function's configuration."""

    functions: dict[str, str] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    timeout: FunctionTimeout | None = None
    timeouts: dict[str, FunctionTimeout] = Field(default_factory=dict)


class StatelaneConfig(_Strict):
    """The whole configuration; `base_dir` is where relative paths in it are resolved."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    lambda_: LambdaConfig = Field(default_factory=LambdaConfig, alias="lambda")
    sqs: ServiceConfig = Field(default_factory=ServiceConfig)
    sns: ServiceConfig = Field(default_factory=ServiceConfig)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    source: Path | None = Field(default=None, exclude=True)

    def service(self, name: str) -> ServiceConfig:
        """The settings of `lambda`, `sqs` or `sns`."""
        if name == "lambda":
            return self.lambda_
        if name in ("sqs", "sns"):
            return self.sqs if name == "sqs" else self.sns
        raise KeyError(name)

    def region_for(self, name: str) -> str | None:
        return self.service(name).region or self.region

    def endpoint_for(self, name: str) -> str | None:
        return self.service(name).endpoint_url or self.endpoint_url

    def profile_for(self, name: str) -> str | None:
        return self.service(name).profile or self.profile

    def override(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        backends: dict[str, Backend] | None = None,
        endpoints: dict[str, str] | None = None,
    ) -> StatelaneConfig:
        """A copy with CLI-style overrides applied; `None` leaves a setting as the file has it."""
        top: dict[str, Any] = {
            k: v
            for k, v in (("region", region), ("endpoint_url", endpoint_url), ("profile", profile))
            if v is not None
        }
        for name in SERVICES:
            changes: dict[str, Any] = {}
            if backends and name in backends:
                changes["backend"] = backends[name]
            if endpoints and name in endpoints:
                changes["endpoint_url"] = endpoints[name]
            if changes:
                updated = self.service(name).model_copy(update=changes)
                # Re-validate so an override cannot smuggle in a backend name the file could not.
                try:
                    valid = type(updated).model_validate(updated.model_dump())
                except ValidationError as exc:
                    lines = [_describe(err, "") for err in exc.errors()]
                    raise ConfigError(f"{name}." + f"\n{name}.".join(lines)) from None
                top["lambda_" if name == "lambda" else name] = valid
        return self.model_copy(update=top)


def find_config(start: Path | None = None) -> Path | None:
    """The nearest `statelane.toml`, or `pyproject.toml` with a `[tool.statelane]` table, upwards from `start`."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT_FILE
        if pyproject.is_file() and _pyproject_table(pyproject) is not None:
            return pyproject
    return None


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> StatelaneConfig:
    """The configuration from `path`, or the one found from `cwd`, or the defaults when there is none.

    Raises ConfigError for a file that is missing (when named), not TOML, or not a valid configuration.
    """
    if path is None:
        found = find_config(cwd)
        if found is None:
            return StatelaneConfig(base_dir=(cwd or Path.cwd()).resolve())
        file = found
    else:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: no such configuration file")
    if file.name == PYPROJECT_FILE:
        table = _pyproject_table(file)
        if table is None:
            raise ConfigError(f"{file}: no [tool.statelane] table")
        where = "[tool.statelane]"
    else:
        table = _read_toml(file)
        where = ""
    return parse_config(table, base_dir=file.resolve().parent, source=file, where=where)


def parse_config(
    table: dict[str, Any],
    *,
    base_dir: Path | None = None,
    source: Path | None = None,
    where: str = "",
) -> StatelaneConfig:
    """Validate a parsed TOML table; errors name the file, the key path and what was wrong."""
    try:
        return StatelaneConfig.model_validate(
            {**table, "base_dir": (base_dir or Path.cwd()).resolve(), "source": source}
        )
    except ValidationError as exc:
        label = f"{source}" if source is not None else "configuration"
        lines = [_describe(err, where) for err in exc.errors()]
        raise ConfigError(f"{label}: invalid configuration:\n  " + "\n  ".join(lines)) from None


def _describe(err: Any, where: str) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(("lambda" if part == "lambda_" else part) for part in loc)
    prefix = f"{where} " if where else ""
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"{prefix}{key}: unknown setting{suggestion}"
    if err["type"] == "literal_error":
        return f"{prefix}{key}: must be 'local' or 'aws', not {err['input']!r}"
    return f"{prefix}{key}: {err['msg']}"


def _known_keys(parent: list[str]) -> list[str]:
    model: type[BaseModel] = StatelaneConfig
    if parent:
        model = LambdaConfig if parent[0] in ("lambda", "lambda_") else ServiceConfig
    names = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        names.append(info.alias or name)
    return names


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def _pyproject_table(file: Path) -> dict[str, Any] | None:
    tool = _read_toml(file).get("tool")
    table = tool.get("statelane") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None
