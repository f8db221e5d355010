"""Local Lambda: Python functions `handler(event, context)` standing in for Lambda functions.

Serves both Lambda forms a Task can use: a plain function ARN in `Resource` (the
result is the function's payload) and `arn:aws:states:::lambda:invoke` (the result
is the SDK response envelope). Errors look exactly like the Python runtime's error
document, because workflows branch on `errorType` and logs show the cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import heapq
import importlib
import importlib.util
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from asl.errors import DATA_LIMIT_EXCEEDED, StatesError
from asl.json_text import dumps
from engine.handlers.base import TaskRequest
from engine.handlers.sdk import http_date, sdk_metadata

LambdaFunction = Callable[[Any, Any], Any]

INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke"
PAYLOAD_LIMIT = 256 * 1024
#: Lambda's own default function timeout, used for a function nobody configured.
DEFAULT_TIMEOUT_SECONDS = 3.0
#: Lambda's ceiling for a function timeout.
MAX_TIMEOUT_SECONDS = 900.0
#: Lambda names errors without a usable `errorType` (timeouts, a runtime that exited) this way.
UNKNOWN_ERROR = "Lambda.Unknown"


class LambdaSourceError(Exception):
    """The `--lambdas` file or module could not be loaded."""


@dataclass
class LambdaContext:
    """The subset of the Python runtime's context object handlers use."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: str = "128"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"statelane/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def load_functions(source: str) -> dict[str, LambdaFunction]:
    """Functions from a Python file or an importable module, by Lambda function name.

    A module-level `FUNCTIONS` mapping (name -> callable) wins; otherwise every public
    callable is a function, reachable by its name with `-` written as `_`.
    """
    return load_source(source)[0]


def load_source(source: str) -> tuple[dict[str, LambdaFunction], dict[str, float]]:
    """A source's functions and its module-level `TIMEOUTS` mapping (function name -> seconds).

    The file that holds the functions is where their Lambda configuration naturally lives,
    so a `--lambdas` file can say what its functions' timeouts are on AWS.
    """
    module = _load_module(source)
    explicit = getattr(module, "TIMEOUTS", None)
    timeouts: dict[str, float] = {}
    if isinstance(explicit, Mapping):
        for key, value in explicit.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                timeouts[str(key)] = min(float(value), MAX_TIMEOUT_SECONDS)
    return _functions_of(module), timeouts


def _functions_of(module: ModuleType) -> dict[str, LambdaFunction]:
    found: dict[str, LambdaFunction] = {}
    for name, value in vars(module).items():
        if callable(value) and not name.startswith("_") and not isinstance(value, type):
            found[name] = value
    explicit = getattr(module, "FUNCTIONS", None)
    if isinstance(explicit, Mapping):
        found.update({str(k): v for k, v in explicit.items() if callable(v)})
    return found


def _load_module(source: str) -> ModuleType:
    path = Path(source)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise LambdaSourceError(f"no such Lambda source file: {source}")
        name = f"statelane_lambdas_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise LambdaSourceError(f"cannot load Lambda source file: {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file failed to import: report, do not crash
            raise LambdaSourceError(f"error importing {source}: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(source)
    except Exception as exc:
        raise LambdaSourceError(f"cannot import Lambda module {source!r}: {exc}") from exc


def parse_function_name(name: str) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, a full ARN or a partial ARN."""
    parts = name.split(":")
    if name.startswith("arn:"):
        # arn:aws:lambda:region:account:function:name[:qualifier]
        fn = parts[6] if len(parts) > 6 else parts[-1]
        return fn, parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":
        # account:function:name[:qualifier]
        return parts[2], parts[3] if len(parts) > 3 else None
    if len(parts) == 2:
        return parts[0], parts[1]
    return name, None


class LocalLambdaHandler:
    """Serves Lambda resources from local Python functions.

    Each function is given its configured timeout (Lambda's 3 s default when none is set):
    past it the invocation fails as Lambda's does, with `Lambda.Unknown` and "Task timed out
    after N seconds" (see `_Watchdog` for how a running call is ended). The interpreter
    already calls handlers off its loop when anything else is running, so a slow function
    stalls only its own task.
    """

    def __init__(
        self,
        functions: Mapping[str, LambdaFunction] | None = None,
        *,
        request_ids: Callable[[], str] | None = None,
        timeouts: Mapping[str, float] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._functions = dict(functions or {})
        self._timeouts = dict(timeouts or {})
        self._default_timeout = default_timeout
        import uuid

        self._request_ids = request_ids or (lambda: str(uuid.uuid4()))

    def add(self, name: str, function: LambdaFunction, *, timeout: float | None = None) -> None:
        self._functions[name] = function
        if timeout is not None:
            self._timeouts[name] = timeout

    def timeout_of(self, name: str) -> float:
        """The function's configured timeout in seconds (by name, or with `-` written as `_`)."""
        found = self._timeouts.get(name)
        if found is None:
            found = self._timeouts.get(name.replace("-", "_"), self._default_timeout)
        return found

    def handles(self, resource: str) -> bool:
        if resource.startswith(INVOKE_RESOURCE):
            return True
        return resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource

    def _find(self, name: str) -> LambdaFunction | None:
        return self._functions.get(name) or self._functions.get(name.replace("-", "_"))

    def invoke(self, request: TaskRequest) -> Any:
        if request.resource.startswith(INVOKE_RESOURCE):
            return self._invoke_service(request)
        name, _qualifier = parse_function_name(request.resource)
        status, payload_text, error_doc = self._call(name, request.parameters, request)
        if status == "missing":
            raise self._not_found(name, request)
        if error_doc is not None:
            # The plain-ARN integration passes Lambda's error document through as the runtime wrote it.
            raise _function_error(error_doc, json.dumps)
        _check_size(payload_text, request.resource)
        return _parse_payload(payload_text)

    def _invoke_service(self, request: TaskRequest) -> Any:
        params = request.parameters if isinstance(request.parameters, Mapping) else {}
        function_name = params.get("FunctionName")
        if not isinstance(function_name, str):
            raise StatesError(
                "States.Runtime",
                f"The Parameters '{dumps(request.parameters)}' could not be used to start the Task: "
                '[The field "FunctionName" is required]',
            )
        name, qualifier = parse_function_name(function_name)
        qualifier = params.get("Qualifier", qualifier)
        event = params.get("Payload")
        if isinstance(event, str):
            # A string Payload is sent as the raw request body (it must itself be JSON text).
            with contextlib.suppress(ValueError):
                event = json.loads(event)
        invocation_type = params.get("InvocationType", "RequestResponse")
        if invocation_type == "Event":
            if self._find(name) is None:
                raise self._not_found(name, request)
            threading.Thread(target=self._call, args=(name, event, request), daemon=True).start()
            return _envelope("", 202, self._request_ids(), include_version=False)
        if invocation_type == "DryRun":
            if self._find(name) is None:
                raise self._not_found(name, request)
            return _envelope("", 204, self._request_ids(), include_version=False)
        status, payload_text, error_doc = self._call(name, event, request)
        if status == "missing":
            raise self._not_found(name, request)
        if error_doc is not None:
            raise _function_error(error_doc)
        _check_size(payload_text, "lambda")
        version = qualifier if qualifier and qualifier != "$LATEST" and qualifier.isdigit() else "$LATEST"
        request_id = self._request_ids()
        log_result = _log_tail(request_id, version) if params.get("LogType") == "Tail" else None
        return _envelope(
            _parse_payload(payload_text),
            200,
            request_id,
            version=version,
            body=payload_text,
            log_result=log_result,
        )

    def _call(self, name: str, event: Any, request: TaskRequest) -> tuple[str, str, dict[str, Any] | None]:
        """Run the function as the Python runtime would: ('ok'|'missing', payload text, error doc).

        The error doc of a failure Lambda itself reports (timeout, runtime exit) has no usable
        `errorType` for Step Functions, which is what makes it `Lambda.Unknown`.
        """
        function = self._find(name)
        if function is None:
            return "missing", "", None
        request_id = self._request_ids()
        timeout = self.timeout_of(name)
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{request.region}:123456789012:function:{name}",
            aws_request_id=request_id,
            deadline=time.time() + timeout,
        )
        # The runtime hands the function a fresh decoding of the request body, never our own objects.
        event_copy = json.loads(dumps({} if event is None else event))
        outcome = _WATCHDOG.call(lambda: _run_function(function, event_copy, context), timeout)
        if outcome is None:
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            message = f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"
            return "ok", "", {"errorMessage": message}
        return outcome

    def _not_found(self, name: str, request: TaskRequest) -> StatesError:
        arn = f"arn:aws:lambda:{request.region}:123456789012:function:{name}:$LATEST"
        return StatesError(
            "Lambda.ResourceNotFoundException",
            f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: "
            f"ResourceNotFoundException; Request ID: {self._request_ids()}; Proxy: null)",
        )


Invocation = tuple[str, str, dict[str, Any] | None]


class _FunctionTimedOut(BaseException):
    """Raised inside a function's thread when its timeout passes (a BaseException, so the
    function's own `except Exception` cannot swallow it)."""


@dataclass
class _Running:
    thread_id: int
    lock: threading.Lock
    done: bool = False
    interrupted: bool = False


class _Watchdog:
    """Ends calls that outlive their timeout, without a thread hand-off per call.

    The function runs in the caller's thread (a hand-off to another thread would cost
    more than a local task's whole run). One daemon thread keeps the deadlines; at a
    deadline it raises `_FunctionTimedOut` in the caller's thread, which interrupts
    Python code at once and a blocking call (a sleep, a socket read) when it returns;
    a call that returns after its deadline is a timeout too, so the outcome is always
    Lambda's, only sometimes later than Lambda would report it.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Running]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._thread: threading.Thread | None = None

    def call(self, job: Callable[[], Invocation], timeout: float) -> Invocation | None:
        """The job's result, or None when it ran past `timeout` seconds."""
        running = _Running(threading.get_ident(), threading.Lock())
        deadline = time.monotonic() + timeout
        self._watch(deadline, running)
        try:
            try:
                result = job()
            finally:
                with running.lock:
                    running.done = True
                    if running.interrupted:  # raised but perhaps not delivered yet: withdraw it
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(running.thread_id), ctypes.c_void_p(0)
                        )
        except _FunctionTimedOut:
            return None
        if running.interrupted or time.monotonic() > deadline:
            return None
        return result

    def _watch(self, deadline: float, running: _Running) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (deadline, self._seq, running))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="statelane-lambda-timeouts", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is running:  # the new deadline is the first: wake the watchdog
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, running = heapq.heappop(self._heap)
            with running.lock:
                if not running.done and not running.interrupted:
                    running.interrupted = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(running.thread_id), ctypes.py_object(_FunctionTimedOut)
                    )


_WATCHDOG = _Watchdog()


def _run_function(function: LambdaFunction, event: Any, context: LambdaContext) -> Invocation:
    """One invocation inside the "runtime": the function's result or its error document."""
    request_id = context.aws_request_id
    try:
        result = function(event, context)
    except SystemExit as exc:  # the function ended the runtime process
        code = exc.code if isinstance(exc.code, int) else 1
        return (
            "ok",
            "",
            {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
                "errorType": "Runtime.ExitError",
                "unhandled": True,
            },
        )
    except Exception as exc:
        tb = exc.__traceback__
        frames = traceback.format_tb(tb.tb_next if tb is not None else None)
        doc = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": request_id,
            "stackTrace": frames,
        }
        return "ok", "", doc
    if isinstance(result, bytes | bytearray):
        return "ok", bytes(result).decode("utf-8", errors="replace"), None
    try:
        return "ok", json.dumps(result), None
    except (TypeError, ValueError) as exc:
        doc = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        return "ok", "", doc


def _function_error(doc: dict[str, Any], render: Callable[[Any], str] = dumps) -> StatesError:
    """Step Functions' error for a function error document: its errorType, or Lambda.Unknown for
    the failures Lambda reports itself (timeouts, a runtime that exited)."""
    if doc.pop("unhandled", False):
        return StatesError(UNKNOWN_ERROR, render(doc))
    return StatesError(str(doc.get("errorType") or UNKNOWN_ERROR), render(doc))


def _log_tail(request_id: str, version: str) -> str:
    """The base64 tail of the invocation's log that `LogType: Tail` asks for."""
    import base64

    text = (
        f"START RequestId: {request_id} Version: {version}\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 32 MB\t\n"
    )
    return base64.b64encode(text.encode()).decode()


def _check_size(payload_text: str, resource: str) -> None:
    if len(payload_text.encode("utf-8")) > PAYLOAD_LIMIT:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{resource}' returned a result with a size exceeding the maximum number "
            "of bytes service limit.",
        )


def _parse_payload(text: str) -> Any:
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _envelope(
    payload: Any,
    status: int,
    request_id: str,
    *,
    version: str = "$LATEST",
    include_version: bool = True,
    body: str = "",
    log_result: str | None = None,
) -> dict[str, Any]:
    """The SDK response AWS's lambda:invoke integration returns; `body` is the raw response payload."""
    date = http_date()
    trace = f"Root=1-{int(time.time()):08x}-{request_id.replace('-', '')[:24]}"
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body.encode("utf-8"))),
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    }
    if not include_version:
        headers.pop("X-Amz-Executed-Version")
    if log_result is not None:
        headers["X-Amz-Log-Result"] = log_result
    out: dict[str, Any] = {}
    if include_version:
        out["ExecutedVersion"] = version
    if log_result is not None:
        out["LogResult"] = log_result
    out["Payload"] = payload
    out.update(sdk_metadata(headers, status, request_id))
    out["StatusCode"] = status
    return out
