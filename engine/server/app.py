"""The ASGI application: AWS JSON 1.0 over HTTP, one endpoint, the action in `X-Amz-Target`.

Plain ASGI, no framework: the protocol has one route (`POST /`), and everything a
framework would add (routing, form parsing, middleware) is either unused or must be
done AWS's way (errors as `{"__type", "message"}`). Actions are blocking (the store
is synchronous), so each runs on a bounded thread pool; StartSyncExecution and
TestState, which may run for minutes, get a pool of their own. Whatever goes wrong
with one request becomes its error response: the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from engine.server import actions
from engine.server.context import ServiceContext
from engine.server.errors import ApiError
from engine.server.sigv4 import Credentials, SignedRequest, verify
from engine.server.threads import DaemonPool

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TARGET_PREFIX: Final = "AWSStepFunctions."
CONTENT_TYPE: Final = "application/x-amz-json-1.0"
#: AWS caps a request at 1 MB; a 1 MB definition escaped in JSON needs a little more room.
DEFAULT_MAX_BODY: Final = 2 * 1024 * 1024
#: Beyond this, an oversize body is no longer drained (the connection is closed after the answer).
_DRAIN_LIMIT: Final = 64 * 1024 * 1024

log = logging.getLogger("statelane.server")


class StepFunctionsApp:
    """ASGI 3 application serving the Step Functions API for `ctx`."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        credentials: Credentials | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        threads: int = 32,
        long_threads: int = 32,
    ) -> None:
        self.ctx = ctx
        self.credentials = credentials
        self.max_body_bytes = max_body_bytes
        self._pool = DaemonPool(threads, "statelane-api")
        self._long_pool = DaemonPool(long_threads, "statelane-sync")

    def close(self) -> None:
        self._pool.close()
        self._long_pool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        try:
            status, document = 200, await self._handle(scope, receive)
        except ApiError as exc:
            status, document = exc.status, exc.body()
        except asyncio.CancelledError:  # the server is shutting down and gave up waiting for this call
            with contextlib.suppress(Exception):
                await _respond(
                    send,
                    503,
                    {"__type": "ServiceUnavailable", "message": "statelane is stopping"},
                    request_id,
                )
            return
        except Exception as exc:  # a bug of ours: answer it, log it, keep serving
            log.exception("request %s failed", request_id)
            status, document = 500, {"__type": "InternalFailure", "message": f"{type(exc).__name__}: {exc}"}
        await _respond(send, status, document, request_id)

    async def _handle(self, scope: Scope, receive: Receive) -> dict[str, Any]:
        headers = _headers(scope)
        body = await self._read_body(headers, receive)
        if self.credentials is not None:
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
            request = SignedRequest(
                method=scope["method"],
                path=raw_path.decode("latin-1").split("?")[0],
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
            )
            verify(request, self.credentials, time.time())
        if scope["method"] != "POST":
            raise ApiError("UnknownOperationException", f"{scope['method']} is not supported; POST to /", 405)
        target = headers.get("x-amz-target", "")
        if not target.startswith(TARGET_PREFIX):
            raise ApiError("UnknownOperationException", f"Unknown operation: '{target}'")
        action = target[len(TARGET_PREFIX) :]
        if action not in actions.ACTIONS:
            raise actions.unknown_operation(action)
        payload = _parse_body(body)
        pool = self._long_pool if action in actions.LONG_RUNNING else self._pool
        return await pool.run(actions.call, self.ctx, action, payload)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > self.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError("SerializationException", "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                too_large = True
            if not too_large:
                chunks.append(chunk)
            more = bool(message.get("more_body")) and size <= _DRAIN_LIMIT
        if too_large:
            raise ApiError(
                "ValidationException",
                f"Request size exceeds the maximum of {self.max_body_bytes} bytes",
                413,
            )
        return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object")
    return value


async def _respond(send: Send, status: int, document: dict[str, Any], request_id: str) -> None:
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", CONTENT_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
