"""Step Functions Local's mocked service integrations, so suites written for it run unchanged.

The mock configuration file (`MockConfigFile.json`, or the file `SFN_MOCK_CONFIG`
names) maps state machine name -> test case -> Task state name -> mocked response
name; a mocked response lists what each invocation of the state returns or throws:

    {"StateMachines": {"OrderFlow": {"TestCases": {"HappyPath": {"Charge": "ChargeOk"}}}},
     "MockedResponses": {"ChargeOk": {"0": {"Return": {"StatusCode": 200}},
                                      "1-2": {"Throw": {"Error": "Lambda.TooManyRequestsException",
                                                        "Cause": "throttled"}}}}}

Invocations of a state are numbered from 0 per execution, every call counted:
retries and Map iterations included. A mocked state never reaches a handler; the
`Return` value is the task's result as is, a `Throw` fails the task with that Error
and Cause (Retry and Catch see it). States the test case does not name are served
by the real handlers. An invocation the mocked response does not cover fails the
execution: Step Functions Local documents that it fails without giving the error,
so we raise the uncatchable `States.Runtime` with a cause that names the state, the
invocation number and the response (our choice).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from asl.errors import RUNTIME, StatesError
from engine.handlers.base import HandlerRegistry, TaskHandler, TaskRequest

MOCK_CONFIG_FILE = "MockConfigFile.json"
MOCK_CONFIG_ENV = "SFN_MOCK_CONFIG"
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class MockConfigError(Exception):
    """The mock configuration file is unreadable or invalid, or names an unknown test case."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MockThrow(_Strict):
    """A failure: the task fails with `Error` and `Cause`."""

    Error: str
    Cause: str | None = None


class MockResponseEntry(_Strict):
    """One invocation range's response: exactly one of `Return` (any JSON value) or `Throw`."""

    Return: Any = None
    Throw: MockThrow | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            present = [k for k in ("Return", "Throw") if k in data]
            if len(present) != 1:
                raise ValueError("must contain exactly one of 'Return' or 'Throw'")
        return data

    @property
    def is_return(self) -> bool:
        return "Return" in self.model_fields_set


class MockedResponse(RootModel[dict[str, MockResponseEntry]]):
    """Invocation key (`"0"`, `"1-2"`) -> response; ranges are inclusive and must not overlap."""

    @field_validator("root")
    @classmethod
    def _valid_ranges(cls, value: dict[str, MockResponseEntry]) -> dict[str, MockResponseEntry]:
        if not value:
            raise ValueError('needs at least one invocation key such as "0"')
        spans = sorted((parse_range(key), key) for key in value)
        for (a, key_a), (b, key_b) in pairwise(spans):
            if b[0] <= a[1]:
                raise ValueError(f"invocation keys '{key_a}' and '{key_b}' overlap")
        return value

    def response_for(self, invocation: int) -> MockResponseEntry | None:
        for key, entry in self.root.items():
            start, end = parse_range(key)
            if start <= invocation <= end:
                return entry
        return None


class MockStateMachine(_Strict):
    TestCases: dict[str, dict[str, str]]


class MockConfig(_Strict):
    """The whole file. Build it with `load_mock_config(path)` or `MockConfig.model_validate(data)`."""

    StateMachines: dict[str, MockStateMachine] = Field(default_factory=dict)
    MockedResponses: dict[str, MockedResponse] = Field(default_factory=dict)

    def test_case(self, state_machine_name: str, test_case: str) -> MockTestCase:
        """The test case's state -> response table; MockConfigError names what is missing."""
        machine = self.StateMachines.get(state_machine_name)
        if machine is None:
            known = ", ".join(sorted(self.StateMachines)) or "none"
            raise _unknown_test_case(
                test_case, state_machine_name, f"no such state machine (it has: {known})"
            )
        states = machine.TestCases.get(test_case)
        if states is None:
            known = ", ".join(sorted(machine.TestCases)) or "none"
            raise _unknown_test_case(test_case, state_machine_name, f"no such test case (it has: {known})")
        responses: dict[str, tuple[str, MockedResponse]] = {}
        for state, response_name in states.items():
            response = self.MockedResponses.get(response_name)
            if response is None:
                raise MockConfigError(
                    f"Test case '{test_case}' of state machine '{state_machine_name}' maps state "
                    f"'{state}' to the mocked response '{response_name}', which MockedResponses does not define"
                )
            responses[state] = (response_name, response)
        return MockTestCase(state_machine_name, test_case, responses)


def _unknown_test_case(test_case: str, state_machine_name: str, detail: str) -> MockConfigError:
    # The first sentence is what moto and LocalStack answer for an unknown test case.
    return MockConfigError(
        f"Invalid mock test case name '{test_case}' for state machine '{state_machine_name}': {detail}"
    )


def parse_range(key: str) -> tuple[int, int]:
    """(first, last) invocation of a key: `"3"` -> (3, 3), `"0-2"` -> (0, 2)."""
    match = _RANGE.match(key)
    if match is None:
        raise ValueError(f'invocation key \'{key}\' is not a number such as "0" or a range such as "1-2"')
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) is not None else start
    if end < start:
        raise ValueError(f"invocation range '{key}' ends before it starts")
    return start, end


@dataclass(frozen=True)
class MockTestCase:
    """One selected test case: which states are mocked and by what."""

    state_machine_name: str
    name: str
    responses: Mapping[str, tuple[str, MockedResponse]]

    def mocks(self, state_name: str) -> bool:
        return state_name in self.responses

    def result(self, state_name: str, invocation: int) -> Any:
        """The mocked result of invocation `invocation` of `state_name`, or raise its StatesError."""
        response_name, response = self.responses[state_name]
        entry = response.response_for(invocation)
        if entry is None:
            raise StatesError(
                RUNTIME,
                f"The mocked response '{response_name}' of test case '{self.name}' defines no response for "
                f"invocation {invocation} of state '{state_name}' (invocations are counted from 0, "
                "retries and Map iterations included).",
            )
        if entry.is_return:
            return entry.Return
        assert entry.Throw is not None
        raise StatesError(entry.Throw.Error, entry.Throw.Cause)


def find_mock_config(cwd: Path | None = None) -> Path | None:
    """Where Step Functions Local would look: `$SFN_MOCK_CONFIG`, else `MockConfigFile.json` here."""
    env = os.environ.get(MOCK_CONFIG_ENV)
    if env:
        return Path(env)
    candidate = (cwd or Path.cwd()) / MOCK_CONFIG_FILE
    return candidate if candidate.is_file() else None


def load_mock_config(path: str | Path) -> MockConfig:
    """Read and validate a mock configuration file; MockConfigError says where it is wrong."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MockConfigError(f"{file}: cannot read the mock configuration: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MockConfigError(f"{file}: the mock configuration is not valid JSON: {exc}") from None
    return parse_mock_config(data, source=str(file))


def parse_mock_config(data: Any, *, source: str = "mock configuration") -> MockConfig:
    """Validate an already parsed mock configuration (a dict, as from `json.load`)."""
    try:
        return MockConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"] if p != "root") or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown field" + (
                    " (did you mean 'MockedResponses'?)" if where.endswith("MockedResponse") else ""
                )
            lines.append(f"{where}: {message}")
        raise MockConfigError(f"{source}: invalid mock configuration:\n  " + "\n  ".join(lines)) from None


def split_test_case(state_machine_arn: str) -> tuple[str, str | None]:
    """Step Functions Local's `<stateMachineArn>#<TestCase>` form: (ARN, test case or None)."""
    arn, sep, case = state_machine_arn.partition("#")
    return arn, (case if sep else None)


class _MockDispatch:
    """What the mocking registry resolves to: mocked states answered here, others passed through."""

    __slots__ = ("_owner", "_resource")

    def __init__(self, owner: MockingRegistry, resource: str) -> None:
        self._owner = owner
        self._resource = resource

    def handles(self, resource: str) -> bool:
        return resource == self._resource

    def invoke(self, request: TaskRequest) -> Any:
        return self._owner.invoke(request)


class MockingRegistry(HandlerRegistry):
    """The outermost registry: a test case's mocked states first, the wrapped registry for the rest.

    Invocation counts are kept per execution ARN and state name, under a lock (Map
    iterations may invoke concurrently; as with Step Functions Local, set
    MaxConcurrency to 1 for a predictable order).
    """

    def __init__(self, inner: HandlerRegistry, test_case: MockTestCase) -> None:
        super().__init__()
        self.inner = inner
        self.test_case = test_case
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def register(self, handler: TaskHandler, *, first: bool = False) -> None:
        self.inner.register(handler, first=first)

    def resolve(self, resource: str) -> TaskHandler:
        # A mocked state never needs the real handler, so a resource nothing serves is fine here.
        return _MockDispatch(self, resource)

    def is_mocked(self, state_name: str) -> bool:
        """Whether the state's result comes from the mock (a `.waitForTaskToken` task then does not wait)."""
        return self.test_case.mocks(state_name)

    def invocations(self, execution_arn: str, state_name: str) -> int:
        """How many times the state has been invoked (mocked) in that execution so far."""
        with self._lock:
            return self._counts.get((execution_arn, state_name), 0)

    def invoke(self, request: TaskRequest) -> Any:
        if not self.test_case.mocks(request.state_name):
            return self.inner.resolve(request.resource).invoke(request)
        key = (request.execution_arn, request.state_name)
        with self._lock:
            invocation = self._counts.get(key, 0)
            self._counts[key] = invocation + 1
        return self.test_case.result(request.state_name, invocation)
