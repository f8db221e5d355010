"""Local SQS queues and SNS topics, durable in statelane's store.

`Queues` is the Python API for workers (send, receive with long polling, delete,
change visibility, purge); `Topics` publishes to topics that fan out to local
queues and local Lambda functions. Both raise `ServiceError` (SQS's/SNS's error
code and message) for requests AWS would refuse, and the store's
`QueueDoesNotExist` / `TopicDoesNotExist` (which name the ones that do exist)
for unknown names.
"""

from __future__ import annotations

from engine.queues.errors import ServiceError
from engine.queues.messages import md5_hex, md5_of_attributes
from engine.queues.sns import Topics
from engine.queues.sqs import Message, Queues
from engine.store.queues import QueueDoesNotExist, TopicDoesNotExist, resource_name

__all__ = [
    "Message",
    "QueueDoesNotExist",
    "Queues",
    "ServiceError",
    "TopicDoesNotExist",
    "Topics",
    "md5_hex",
    "md5_of_attributes",
    "resource_name",
]
