"""Service errors of the local SQS and SNS, shaped as the AWS SDK for Java reports them.

A Task state sees `<Service>.<SDK exception>` as the error and the SDK's message
with its `(Service: ...; Status Code: ...; Error Code: ...; Request ID: ...; Proxy: null)`
tail as the cause; the CLI shows the plain message.
"""

from __future__ import annotations

from typing import Final

from asl.errors import StatesError

_SERVICE_NAMES: Final = {"SQS": "AmazonSQS", "SNS": "AmazonSNS"}


class ServiceError(Exception):
    """An SQS or SNS API error: the SDK exception's class name, the error code and the message."""

    def __init__(self, service: str, exception: str, code: str, message: str, status: int = 400) -> None:
        self.service = service
        self.exception = exception
        self.code = code
        self.message = message
        self.status = status
        super().__init__(message)

    def to_states_error(self, request_id: str) -> StatesError:
        cause = (
            f"{self.message} (Service: {_SERVICE_NAMES[self.service]}; Status Code: {self.status}; "
            f"Error Code: {self.code}; Request ID: {request_id}; Proxy: null)"
        )
        return StatesError(f"{self.service}.{self.exception}", cause)


def sqs_error(code: str, message: str, exception: str = "AmazonSQSException") -> ServiceError:
    """SQS errors the SDK does not model surface as its catch-all AmazonSQSException."""
    return ServiceError("SQS", exception, code, message)


def missing_parameter(name: str) -> ServiceError:
    return sqs_error("MissingParameter", f"The request must contain the parameter {name}.")


def invalid_value(message: str) -> ServiceError:
    return sqs_error("InvalidParameterValue", message)


def queue_does_not_exist() -> ServiceError:
    return sqs_error(
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
        "QueueDoesNotExistException",
    )


def sns_invalid_parameter(message: str) -> ServiceError:
    return ServiceError(
        "SNS", "InvalidParameterException", "InvalidParameter", f"Invalid parameter: {message}"
    )


def topic_not_found() -> ServiceError:
    return ServiceError("SNS", "NotFoundException", "NotFound", "Topic does not exist", 404)
