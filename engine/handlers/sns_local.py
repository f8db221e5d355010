"""Local `arn:aws:states:::sns:publish`: Publish to a local topic, which fans out to local
queues and local Lambda functions.

The result is Publish's members (`MessageId`, `SequenceNumber` for FIFO topics) plus
the SDK metadata of the XML response SNS would have sent. Errors are SNS's:
`SNS.NotFoundException` for a topic that does not exist, `SNS.InvalidParameterException`
for a FIFO publish without MessageGroupId, and so on. A topic's Lambda subscribers are
called through the registry's Lambda handler once `bind(registry)` has been called.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from engine.handlers.aws import SNS_RESOURCE, AwsSnsHandler, _check_fields, _text
from engine.handlers.base import HandlerRegistry, TaskHandler, TaskRequest
from engine.handlers.sdk import sdk_metadata, service_headers
from engine.handlers.sqs_local import LocalSqsHandler
from engine.ids import IdSource, Partition
from engine.queues import Queues, ServiceError, Topics
from engine.queues.errors import sns_invalid_parameter, topic_not_found
from engine.store import Store, TopicDoesNotExist

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[^:]*:[^:]*:[^:]+$")
_XML = (
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">\n'
    "  <PublishResult>\n"
    "    <MessageId>{message_id}</MessageId>{sequence}\n"
    "  </PublishResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>{request_id}</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</PublishResponse>\n"
)


class LocalSnsHandler:
    """Serves `sns:publish` (and its `.waitForTaskToken` form) from local topics."""

    def __init__(
        self, topics: Topics | Callable[[], Topics], *, request_ids: Callable[[], str] | None = None
    ) -> None:
        self._topics = topics
        self._request_ids = request_ids or (lambda: str(uuid.uuid4()))
        self._registry: HandlerRegistry | None = None

    @property
    def topics(self) -> Topics:
        if not isinstance(self._topics, Topics):
            self._topics = self._topics()
            if self._registry is not None:
                self._topics.invoke_function = self._invoke_function
        return self._topics

    def bind(self, registry: HandlerRegistry) -> None:
        """Deliver to Lambda subscribers through `registry` (its local or AWS Lambda handler)."""
        self._registry = registry
        if isinstance(self._topics, Topics):
            self._topics.invoke_function = self._invoke_function

    def _invoke_function(self, name: str, event: Any) -> Any:
        assert self._registry is not None
        arn = self.topics.partition.lambda_arn(name)
        handler = self._registry.resolve(arn)
        return handler.invoke(
            TaskRequest(
                resource=arn,
                parameters=event,
                state_name="SNS",
                execution_arn="",
                idempotency_key=self._request_ids(),
                region=self.topics.partition.region,
            )
        )

    def handles(self, resource: str) -> bool:
        return SNS_RESOURCE.match(resource) is not None

    def invoke(self, request: TaskRequest) -> Any:
        params = _check_fields(request, AwsSnsHandler.FIELDS)
        request_id = self._request_ids()
        try:
            result = self._publish(params)
        except TopicDoesNotExist:
            raise topic_not_found().to_states_error(request_id) from None
        except ServiceError as exc:
            raise exc.to_states_error(request_id) from None
        sequence = result.get("SequenceNumber")
        body = _XML.format(
            message_id=result["MessageId"],
            sequence=f"\n    <SequenceNumber>{sequence}</SequenceNumber>" if sequence else "",
            request_id=request_id,
        )
        headers = service_headers(body, "text/xml", request_id)
        return dict(sorted({**result, **sdk_metadata(headers, 200, request_id)}.items()))

    def _publish(self, params: dict[str, Any]) -> dict[str, str]:
        target = params.get("TopicArn", params.get("TargetArn"))
        if target is None:
            if "PhoneNumber" in params:
                raise sns_invalid_parameter(
                    "PhoneNumber Reason: SMS is not available from statelane's local SNS"
                )
            raise sns_invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter")
        if not isinstance(target, str) or not _TOPIC_ARN.match(target):
            raise sns_invalid_parameter("TopicArn")
        if "Message" not in params:
            raise ServiceError(
                "SNS",
                "AmazonSNSException",
                "ValidationError",
                "1 validation error detected: Value null at 'message' failed to satisfy constraint: "
                "Member must not be null",
            )
        subject = params.get("Subject")
        return self.topics.publish(
            target,
            _text(params["Message"]),
            subject=None if subject is None else _text(subject),
            attributes=params.get("MessageAttributes"),
            group_id=_optional(params.get("MessageGroupId")),
            dedup_id=_optional(params.get("MessageDeduplicationId")),
            message_structure=_optional(params.get("MessageStructure")),
        )


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


class LocalHandlers(dict[str, TaskHandler]):
    """`{"sqs": LocalSqsHandler, "sns": LocalSnsHandler}` as `build_registry(local=...)` takes them."""

    def bind(self, registry: HandlerRegistry) -> None:
        """Let topics deliver to Lambda subscribers through the finished registry."""
        sns = self["sns"]
        assert isinstance(sns, LocalSnsHandler)
        sns.bind(registry)


def local_handlers(
    store: Store | Callable[[], Store],
    *,
    ids: IdSource | None = None,
    partition: Partition | None = None,
) -> LocalHandlers:
    """The local SQS and SNS handlers over one store (opened on first use when given as a factory, so a
    run that never touches a queue creates no store). Pass them to `build_registry(local=...)`, then
    call `.bind(registry)` so topics can deliver to Lambda subscribers."""
    opened: list[Queues] = []
    lock = threading.Lock()  # Map iterations may send concurrently: open the store once

    def queues() -> Queues:
        with lock:
            if not opened:
                opened.append(Queues(store() if callable(store) else store, ids=ids, partition=partition))
            return opened[0]

    def topics() -> Topics:
        q = queues()
        return Topics(q.store, queues=q, ids=ids, partition=partition)

    request_ids = ids.uuid4 if ids is not None else None
    return LocalHandlers(
        sqs=LocalSqsHandler(queues, request_ids=request_ids),
        sns=LocalSnsHandler(topics, request_ids=request_ids),
    )
