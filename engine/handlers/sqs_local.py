"""Local `arn:aws:states:::sqs:sendMessage`: SendMessage into a durable local queue.

The result is what Step Functions hands a state on AWS: SendMessage's members
(`MD5OfMessageAttributes`, `MD5OfMessageBody`, `MessageId`, `SequenceNumber` for
FIFO queues) plus the SDK metadata of the JSON-protocol response SQS would have
sent. `.waitForTaskToken` goes through the same call; the interpreter does the
waiting. The queue named by `QueueUrl` (a URL, an ARN or a name) is the local
queue of that name, whatever account and region the URL names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from engine.handlers.aws import SQS_RESOURCE, AwsSqsHandler, _check_fields, _text
from engine.handlers.base import TaskRequest
from engine.handlers.sdk import sdk_metadata, service_headers
from engine.queues import Queues, ServiceError
from engine.queues.errors import invalid_value, missing_parameter, queue_does_not_exist
from engine.store import QueueDoesNotExist

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


class LocalSqsHandler:
    """Serves `sqs:sendMessage` (and its `.waitForTaskToken` form) from local queues."""

    def __init__(
        self, queues: Queues | Callable[[], Queues], *, request_ids: Callable[[], str] | None = None
    ) -> None:
        self._queues = queues
        self._request_ids = request_ids or (lambda: str(uuid.uuid4()))

    @property
    def queues(self) -> Queues:
        """The queues, opened on first use (a run that never sends need not create a store)."""
        if not isinstance(self._queues, Queues):
            self._queues = self._queues()
        return self._queues

    def handles(self, resource: str) -> bool:
        return SQS_RESOURCE.match(resource) is not None

    def invoke(self, request: TaskRequest) -> Any:
        params = _check_fields(request, AwsSqsHandler.FIELDS)
        request_id = self._request_ids()
        try:
            result = self._send(params)
        except QueueDoesNotExist:
            raise queue_does_not_exist().to_states_error(request_id) from None
        except ServiceError as exc:
            raise exc.to_states_error(request_id) from None
        body = json.dumps(result, separators=(",", ":"))
        headers = service_headers(body, JSON_CONTENT_TYPE, request_id)
        return dict(sorted({**result, **sdk_metadata(headers, 200, request_id)}.items()))

    def _send(self, params: dict[str, Any]) -> dict[str, str]:
        url = params.get("QueueUrl")
        if not isinstance(url, str) or not url:
            raise missing_parameter("QueueUrl")
        body = _text(params["MessageBody"]) if "MessageBody" in params else ""
        delay = params.get("DelaySeconds")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int)):
            raise invalid_value(
                f"Value {_text(delay)} for parameter DelaySeconds is invalid. Reason: Must be an integer."
            )
        return self.queues.send(
            url,
            body,
            attributes=params.get("MessageAttributes"),
            delay_seconds=delay,
            group_id=_optional_text(params.get("MessageGroupId")),
            dedup_id=_optional_text(params.get("MessageDeduplicationId")),
        )


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)
