"""The SDK response metadata Step Functions adds to every AWS service integration's result.

Step Functions calls services with the AWS SDK for Java and serialises the SDK's
response object: the API's output members plus `SdkHttpMetadata` (the HTTP
headers of the response) and `SdkResponseMetadata`. The local backends answer
without HTTP, so they build the headers a real response would have carried here,
once, the same way for Lambda, SQS and SNS.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import formatdate
from typing import Any


def http_date() -> str:
    """An HTTP `Date` header value for now (`Thu, 26 Nov 2026 15:04:34 GMT`)."""
    return formatdate(usegmt=True)


def sdk_metadata(headers: Mapping[str, str], status: int, request_id: str) -> dict[str, Any]:
    """`SdkHttpMetadata` and `SdkResponseMetadata` for a response with these headers.

    `AllHttpHeaders` (header -> list of values) keeps the order of `headers`, as the SDK's
    hash map happened to; `HttpHeaders` is the SDK's case-insensitive sorted map.
    """
    ordered = sorted(headers.items(), key=lambda item: item[0].lower())
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": dict(ordered),
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def service_headers(body: str, content_type: str, request_id: str) -> dict[str, str]:
    """The headers SQS (JSON protocol) and SNS (query protocol, XML) answer a successful call with."""
    return {
        "x-amzn-RequestId": request_id,
        "connection": "keep-alive",
        "Content-Length": str(len(body.encode("utf-8"))),
        "Date": http_date(),
        "Content-Type": content_type,
    }
