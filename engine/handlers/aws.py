"""AWS backends: Lambda, SQS and SNS called through boto3, answered in Step Functions' shapes.

Step Functions calls these services with the AWS SDK for Java and hands the state
the SDK's response object serialised to JSON: the API's output members plus
`SdkHttpMetadata` (the HTTP headers as the service sent them) and
`SdkResponseMetadata`, keys in alphabetical order. Failures carry the SDK's
exception class as the error name (`SNS.NotFoundException`, or the service's catch-all
`SQS.AmazonSQSException` / `Lambda.AWSLambdaException` / `SNS.AmazonSNSException` for
codes the SDK does not model) and the exception's message as the cause, with its
`(Service: ...; Status Code: ...; Error Code: ...; Request ID: ...; Proxy: null)` tail.

boto3 is imported lazily: the core install does not need it (`pip install statelane[aws]`).
Requests go to the configured endpoint (or boto3's default for the region); client-side
parameter validation is off so that the service, as on AWS, is the one that rejects a
request (e.g. `MissingParameter` for an SQS message without a body).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from asl.errors import RUNTIME, StatesError
from asl.json_text import dumps
from engine.handlers.base import TaskRequest
from engine.handlers.lambda_local import _check_size, _parse_payload  # one definition of the payload rules

INVOKE_RESOURCE = re.compile(r"^arn:aws[a-z-]*:states:::lambda:invoke(\.waitForTaskToken)?$")
FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[^:]+:[^:]+:function:[^:]+(:[^:]+)?$")
SQS_RESOURCE = re.compile(r"^arn:aws[a-z-]*:states:::sqs:sendMessage(\.waitForTaskToken)?$")
SNS_RESOURCE = re.compile(r"^arn:aws[a-z-]*:states:::sns:publish(\.waitForTaskToken)?$")

DUMMY_CREDENTIALS = ("test", "test")
_HEADERS_KEY = "_statelane_http_headers"


class BackendUnavailable(Exception):
    """An aws backend was asked for but boto3 is not installed."""


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """Where and as whom to call one service; `None` lets boto3 use its own defaults and environment."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class _Service:
    """How the Java SDK names a service in error names and causes."""

    botocore_name: str
    prefix: str
    sdk_service: str
    catch_all: str


LAMBDA = _Service("lambda", "Lambda", "AWSLambda", "AWSLambdaException")
SQS = _Service("sqs", "SQS", "AmazonSQS", "AmazonSQSException")
SNS = _Service("sns", "SNS", "AmazonSNS", "AmazonSNSException")


def require_boto3() -> None:
    """Fail early, with the install command, when an aws backend cannot work."""
    if importlib.util.find_spec("boto3") is None:
        raise BackendUnavailable(
            "the aws backend needs boto3, which is not installed: pip install 'statelane[aws]'"
        )


class _AwsClient:
    """One lazily created boto3 client that also reports the raw response headers of each call."""

    def __init__(self, service: _Service, settings: AwsSettings, *, read_timeout: float = 60) -> None:
        require_boto3()
        self.service = service
        self.settings = settings
        self._read_timeout = read_timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._create()
        return self._client

    def _create(self) -> Any:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        session = boto3.session.Session(profile_name=self.settings.profile)
        region = self.settings.region or session.region_name or "us-east-1"
        config = Config(
            parameter_validation=False,
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=self._read_timeout,
        )
        kwargs: dict[str, Any] = {"region_name": region, "config": config}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
            if session.get_credentials() is None:
                # Local emulators accept anything; Step Functions Local does the same.
                kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = DUMMY_CREDENTIALS
        client = session.client(self.service.botocore_name, **kwargs)
        client.meta.events.register("before-parse", _keep_headers)
        return client

    def call(self, operation: str, params: Mapping[str, Any], request: TaskRequest) -> dict[str, Any]:
        """Call `operation`; raise StatesError as Step Functions reports the failure."""
        errors = _botocore_errors()
        method: Callable[..., dict[str, Any]] = getattr(self.client(), operation)
        try:
            return method(**params)
        except errors.ClientError as exc:
            raise service_error(self.service, exc) from None
        except errors.BotoCoreError as exc:
            raise client_side_error(self.service, exc, self.settings.endpoint_url) from None
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            # The request could not even be serialised: a parameter of the wrong type.
            raise StatesError(
                RUNTIME,
                f"The Parameters '{dumps(request.parameters)}' could not be used to start the Task: [{exc}]",
            ) from None


def _botocore_errors() -> Any:
    import botocore.exceptions  # type: ignore[import-untyped]

    return botocore.exceptions


def _keep_headers(
    response_dict: Mapping[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore lower-cases headers in ResponseMetadata; keep them as the service spelt them."""
    customized_response_dict[_HEADERS_KEY] = list(response_dict["headers"].items())


def sdk_metadata(response: Mapping[str, Any]) -> dict[str, Any]:
    """`SdkHttpMetadata` and `SdkResponseMetadata` from a boto3 response, as the Java SDK renders them."""
    meta = response.get("ResponseMetadata") or {}
    raw = response.get(_HEADERS_KEY)
    pairs: Iterable[tuple[str, str]] = raw if raw is not None else (meta.get("HTTPHeaders") or {}).items()
    headers: dict[str, tuple[str, str]] = {}
    for name, value in pairs:
        # Java keeps headers in a case-insensitive sorted map; the last value of a name wins.
        first = headers.get(name.lower(), (name, ""))[0]
        headers[name.lower()] = (first, str(value))
    ordered = [headers[k] for k in sorted(headers)]
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in ordered},
            "HttpHeaders": dict(ordered),
            "HttpStatusCode": meta.get("HTTPStatusCode", 200),
        },
        "SdkResponseMetadata": {"RequestId": meta.get("RequestId", "")},
    }


def _result(
    response: Mapping[str, Any], members: Iterable[str], extra: Mapping[str, Any] = {}
) -> dict[str, Any]:
    out = {name: response[name] for name in members if name in response}
    out.update(extra)
    out.update(sdk_metadata(response))
    return dict(sorted(out.items()))


def service_error(service: _Service, exc: Any) -> StatesError:
    """`<Prefix>.<SDK exception>` with the Java SDK's message tail, from a botocore ClientError."""
    response = exc.response
    err = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = str(err.get("Code") or "")
    message = err.get("Message") or err.get("message") or "null"
    if type(exc) is not _botocore_errors().ClientError:
        # botocore raised the modelled exception (QueueDoesNotExist, NotFoundException, ...).
        name = type(exc).__name__
        exception = name if name.endswith("Exception") else f"{name}Exception"
    else:
        exception = service.catch_all
    cause = (
        f"{message} (Service: {service.sdk_service}; Status Code: {meta.get('HTTPStatusCode', 0)}; "
        f"Error Code: {code}; Request ID: {meta.get('RequestId') or 'null'}; Proxy: null)"
    )
    return StatesError(f"{service.prefix}.{exception}", cause)


def client_side_error(service: _Service, exc: BaseException, endpoint_url: str | None) -> StatesError:
    """`<Prefix>.SdkClientException`: the request never got an answer (DNS, refused, timeout, credentials)."""
    errors = _botocore_errors()
    name = f"{service.prefix}.SdkClientException"
    if isinstance(exc, errors.NoCredentialsError):
        return StatesError(name, "Unable to load AWS credentials from any provider in the chain")
    if isinstance(exc, errors.ReadTimeoutError):
        return StatesError(name, "Unable to execute HTTP request: Read timed out")
    if isinstance(exc, errors.EndpointConnectionError | errors.ConnectTimeoutError):
        url = urlparse(str(exc.kwargs.get("endpoint_url") or endpoint_url or ""))
        host = url.hostname or ""
        if _is_dns_failure(exc):
            return StatesError(name, f"Unable to execute HTTP request: {host}: Name or service not known")
        reason = "Connect timed out" if isinstance(exc, errors.ConnectTimeoutError) else _os_reason(exc)
        port = url.port or (443 if url.scheme == "https" else 80)
        return StatesError(name, f"Unable to execute HTTP request: Connect to {host}:{port} failed: {reason}")
    return StatesError(name, f"Unable to execute HTTP request: {exc}")


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        kwargs = getattr(item, "kwargs", None)
        inner = kwargs.get("error") if isinstance(kwargs, dict) else None
        todo.extend([item.__cause__, item.__context__, inner if isinstance(inner, BaseException) else None])
        todo.extend(arg for arg in getattr(item, "args", ()) if isinstance(arg, BaseException))


def _is_dns_failure(exc: BaseException) -> bool:
    return any(
        isinstance(e, socket.gaierror) or "Name or service not known" in str(e) or "getaddrinfo" in str(e)
        for e in _chain(exc)
    )


def _os_reason(exc: BaseException) -> str:
    for e in _chain(exc):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
    return "Connection refused"


def _check_fields(request: TaskRequest, allowed: frozenset[str]) -> dict[str, Any]:
    params = request.parameters
    if not isinstance(params, Mapping):
        raise StatesError(
            RUNTIME,
            f"The Parameters '{dumps(params)}' could not be used to start the Task: "
            "[The value of the field 'Parameters' must be an object]",
        )
    for key in params:
        if key not in allowed:
            raise StatesError(
                RUNTIME,
                f"The Parameters '{dumps(params)}' could not be used to start the Task: "
                f'[The field "{key}" is not supported by Step Functions]',
            )
    # A JSON null is an absent member for the SDK: the service then reports what is missing.
    return {k: v for k, v in params.items() if v is not None}


def _message_attributes(value: Any) -> Any:
    """Binary attribute values arrive base64-encoded in JSON; botocore wants the bytes."""
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for name, attribute in value.items():
        if isinstance(attribute, Mapping):
            attribute = dict(attribute)
            binary = attribute.get("BinaryValue")
            if isinstance(binary, str):
                attribute["BinaryValue"] = _b64(binary)
            listed = attribute.get("BinaryListValues")
            if isinstance(listed, list):
                attribute["BinaryListValues"] = [_b64(v) if isinstance(v, str) else v for v in listed]
        out[name] = attribute
    return out


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return text.encode("utf-8")


def _text(value: Any) -> Any:
    """Step Functions serialises a non-string message to JSON text before sending it."""
    return value if isinstance(value, str) else dumps(value)


class AwsSqsHandler:
    """`arn:aws:states:::sqs:sendMessage` through SQS's SendMessage."""

    FIELDS = frozenset(
        {
            "QueueUrl",
            "MessageBody",
            "DelaySeconds",
            "MessageAttributes",
            "MessageSystemAttributes",
            "MessageDeduplicationId",
            "MessageGroupId",
        }
    )
    OUTPUT = (
        "MD5OfMessageAttributes",
        "MD5OfMessageBody",
        "MD5OfMessageSystemAttributes",
        "MessageId",
        "SequenceNumber",
    )

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.aws = _AwsClient(SQS, settings or AwsSettings())

    def handles(self, resource: str) -> bool:
        return SQS_RESOURCE.match(resource) is not None

    def invoke(self, request: TaskRequest) -> Any:
        params = _check_fields(request, self.FIELDS)
        if "MessageBody" in params:
            params["MessageBody"] = _text(params["MessageBody"])
        for key in ("MessageAttributes", "MessageSystemAttributes"):
            if key in params:
                params[key] = _message_attributes(params[key])
        return _result(self.aws.call("send_message", params, request), self.OUTPUT)


class AwsSnsHandler:
    """`arn:aws:states:::sns:publish` through SNS's Publish."""

    FIELDS = frozenset(
        {
            "Message",
            "MessageAttributes",
            "MessageDeduplicationId",
            "MessageGroupId",
            "MessageStructure",
            "PhoneNumber",
            "Subject",
            "TargetArn",
            "TopicArn",
        }
    )
    OUTPUT = ("MessageId", "SequenceNumber")

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.aws = _AwsClient(SNS, settings or AwsSettings())

    def handles(self, resource: str) -> bool:
        return SNS_RESOURCE.match(resource) is not None

    def invoke(self, request: TaskRequest) -> Any:
        params = _check_fields(request, self.FIELDS)
        if "Message" in params:
            params["Message"] = _text(params["Message"])
        if "MessageAttributes" in params:
            params["MessageAttributes"] = _message_attributes(params["MessageAttributes"])
        return _result(self.aws.call("publish", params, request), self.OUTPUT)


class AwsLambdaHandler:
    """Lambda's Invoke for both forms: `lambda:invoke` (the SDK envelope) and a function ARN (the payload)."""

    FIELDS = frozenset({"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"})
    OUTPUT = ("ExecutedVersion", "LogResult", "StatusCode")

    def __init__(self, settings: AwsSettings | None = None) -> None:
        # Invocations may run for Lambda's full 15 minutes.
        self.aws = _AwsClient(LAMBDA, settings or AwsSettings(), read_timeout=16 * 60)

    def handles(self, resource: str) -> bool:
        return INVOKE_RESOURCE.match(resource) is not None or FUNCTION_ARN.match(resource) is not None

    def invoke(self, request: TaskRequest) -> Any:
        if FUNCTION_ARN.match(request.resource):
            return self._invoke_function_arn(request)
        params = _check_fields(request, self.FIELDS)
        if not isinstance(params.get("FunctionName"), str):
            raise StatesError(
                RUNTIME,
                f"The Parameters '{dumps(request.parameters)}' could not be used to start the Task: "
                '[The field "FunctionName" is required]',
            )
        if "Payload" in params:
            params["Payload"] = _payload_bytes(params["Payload"])
        response = self.aws.call("invoke", params, request)
        body = response["Payload"].read().decode("utf-8", errors="replace") if "Payload" in response else ""
        if response.get("FunctionError"):
            raise function_error(body, compact=True)
        _check_size(body, "lambda")
        asynchronous = params.get("InvocationType") in ("Event", "DryRun")
        payload = body if asynchronous else _parse_payload(body)
        return _result(response, self.OUTPUT, {"Payload": payload})

    def _invoke_function_arn(self, request: TaskRequest) -> Any:
        params = {"FunctionName": request.resource, "Payload": dumps(request.parameters).encode("utf-8")}
        response = self.aws.call("invoke", params, request)
        body = response["Payload"].read().decode("utf-8", errors="replace") if "Payload" in response else ""
        if response.get("FunctionError"):
            raise function_error(body, compact=False)
        _check_size(body, request.resource)
        return _parse_payload(body)


def function_error(payload: str, *, compact: bool) -> StatesError:
    """A function's failure as Step Functions reports it: `errorType` as the error, the document as cause.

    `lambda:invoke` re-serialises the error document compactly; a function ARN in
    `Resource` passes Lambda's text through. Without an `errorType` (a runtime timeout,
    out of memory) the error is `Lambda.Unknown`.
    """
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("errorType"), str):
        return StatesError(document["errorType"], dumps(document) if compact else payload)
    return StatesError(
        "Lambda.Unknown",
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {payload}",
    )


def _payload_bytes(value: Any) -> bytes:
    # A string Payload is the request body itself (AWS sends `"0.0"` as the three bytes 0.0).
    return (value if isinstance(value, str) else dumps(value)).encode("utf-8")
