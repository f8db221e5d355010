"""What every API action works with: the store, the API's own metadata, handlers, ids, the clock.

Actions are plain functions `(ServiceContext, request model) -> response dict`, run on
a worker thread of the ASGI application; they never touch HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from asl.loader import Document, load
from engine.api import compile_machine
from engine.clock import Clock, RealClock
from engine.durable import DurableEngine
from engine.handlers.base import HandlerRegistry
from engine.handlers.mocks import MockConfig, MockConfigError, MockingRegistry
from engine.ids import IdSource, Partition
from engine.server.errors import ApiError
from engine.server.meta import ServerMeta
from engine.server.threads import DaemonPool
from engine.store import Store
from engine.store.records import ExecutionRecord

#: A definition is JSON on AWS (never YAML); this name makes the loader insist on it.
_JSON_NAME = "definition.json"


@dataclass
class ServiceContext:
    store: Store
    meta: ServerMeta
    handlers: HandlerRegistry
    partition: Partition = field(default_factory=Partition)
    clock: Clock = field(default_factory=RealClock)
    ids: IdSource = field(default_factory=IdSource)
    lift_limits: bool = False
    #: Express executions started with StartExecution run here, in the background.
    express_pool: DaemonPool = field(default_factory=lambda: DaemonPool(16, "statelane-express"))
    #: CreateStateMachine's check-then-write and UpdateStateMachine are one step each.
    machines_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Step Functions Local's mock configuration: `<stateMachineArn>#<TestCase>` starts use it.
    mocks: MockConfig | None = None
    engine: DurableEngine = field(init=False)
    _mocked: dict[tuple[str, str], MockingRegistry] = field(default_factory=dict, init=False)
    _mocked_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.engine = DurableEngine(
            store=self.store,
            handlers=self.handlers,
            clock=self.clock,
            ids=self.ids,
            partition=self.partition,
            lift_limits=self.lift_limits,
        )

    def close(self) -> None:
        self.express_pool.close()

    def mocked_handlers(self, state_machine_name: str, test_case: str) -> MockingRegistry:
        """The handlers of a test case: one registry per (machine, test case), so the invocation
        counts of an execution survive its parking and resumption in this process.

        Raises ApiError (ValidationException) for a test case the configuration does not have.
        """
        key = (state_machine_name, test_case)
        with self._mocked_lock:
            found = self._mocked.get(key)
            if found is None:
                if self.mocks is None:
                    raise ApiError(
                        "ValidationException",
                        f"Test case '{test_case}' was requested but this server has no mock configuration "
                        "(start it with --mock-config FILE or SFN_MOCK_CONFIG)",
                    )
                try:
                    case = self.mocks.test_case(state_machine_name, test_case)
                except MockConfigError as exc:
                    raise ApiError("ValidationException", str(exc)) from None
                found = self._mocked[key] = MockingRegistry(self.handlers, case)
        return found

    def handlers_for(self, record: ExecutionRecord) -> HandlerRegistry:
        """The execution's handlers: its test case's when it was started with one."""
        test_case = self.meta.test_case(record.arn)
        if test_case is None:
            return self.handlers
        return self.mocked_handlers(record.state_machine_name, test_case)


def load_definition(text: str, *, express: bool = False) -> Document:
    """Parse and compile a definition as Create/UpdateStateMachine do (InvalidDefinition otherwise)."""
    document = load(text, _JSON_NAME)  # LoadError -> InvalidDefinition at the error boundary
    compile_machine(text, express=express)
    return document


def parse_json_document(text: str) -> Document:
    return load(text, _JSON_NAME)


# ------------------------------------------------------------------ pagination tokens


def page_token(position: dict[str, Any]) -> str:
    """An opaque nextToken carrying where the next page starts."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def read_page_token(token: str | None) -> dict[str, Any] | None:
    """The position a nextToken carries; InvalidToken for anything this server did not hand out."""
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        value = None
    if not isinstance(value, dict):
        raise ApiError("InvalidToken", f"Invalid Token: '{token}'")
    return value


def page_size(max_results: int, default: int = 100) -> int:
    """maxResults 0 means the default page size, as on AWS."""
    return max_results or default
