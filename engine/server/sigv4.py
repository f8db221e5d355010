"""AWS Signature Version 4 verification, for `statelane serve --auth ACCESS_KEY:SECRET`.

Without `--auth` the server takes any signature (SDKs insist on signing with some
credentials; there is nothing to check them against). With it, the request must be
signed with the configured key: the canonical request is rebuilt from what arrived
(method, path, query, the signed headers, the body's SHA-256), signed with the key
derived from the secret, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, quote

from engine.server.errors import ApiError

ALGORITHM: Final = "AWS4-HMAC-SHA256"
#: How far a request's X-Amz-Date may be from the server's clock (AWS allows 15 minutes).
MAX_SKEW_SECONDS: Final = 15 * 60

_BAD_SIGNATURE: Final = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    @classmethod
    def parse(cls, text: str) -> Credentials:
        """`ACCESS_KEY:SECRET` (the secret may itself contain colons)."""
        access, sep, secret = text.partition(":")
        if not sep or not access or not secret:
            raise ValueError("--auth must be ACCESS_KEY:SECRET")
        return cls(access, secret)


@dataclass(frozen=True)
class SignedRequest:
    """What arrived: headers with lower-case names (repeated headers joined by commas)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def verify(request: SignedRequest, credentials: Credentials, now: float) -> None:
    """Raise AWS's error unless `request` carries a valid SigV4 signature by `credentials`."""
    header = request.headers.get("authorization")
    if not header:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    algorithm, _, rest = header.strip().partition(" ")
    fields = _auth_fields(rest)
    if algorithm != ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise ApiError(
            "IncompleteSignatureException", f"Authorization header is not a valid {ALGORITHM} header"
        )
    scope_parts = fields["Credential"].split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise ApiError(
            "IncompleteSignatureException",
            "Credential is not of the form KEY/DATE/REGION/SERVICE/aws4_request",
        )
    access_key, day, region, service, _ = scope_parts
    if not hmac.compare_digest(access_key.encode(), credentials.access_key.encode()):
        raise ApiError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    amz_date = request.headers.get("x-amz-date", "")
    _check_date(amz_date, day, now)
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed:
        raise ApiError("InvalidSignatureException", "'Host' must be a signed header")
    canonical = canonical_request(request, signed)
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = signing_key(credentials.secret_key, day, region, service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"].strip()):
        raise ApiError("InvalidSignatureException", _BAD_SIGNATURE)


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    path = quote(request.path or "/", safe="/~")
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(request.query, keep_blank_values=True))
    )
    headers = "".join(
        f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed_headers
    )
    payload = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(request.body).hexdigest():
        raise ApiError("InvalidSignatureException", "The provided x-amz-content-sha256 header does not match")
    return "\n".join((request.method, path, query, headers, ";".join(signed_headers), payload))


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _auth_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            out[key] = value
    return out


def _check_date(amz_date: str, day: str, now: float) -> None:
    try:
        sent = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError("IncompleteSignatureException", "X-Amz-Date is missing or malformed") from None
    if not amz_date.startswith(day):
        raise ApiError("InvalidSignatureException", "Credential should be scoped to a valid date")
    skew = abs(sent.timestamp() - now)
    if skew > MAX_SKEW_SECONDS:
        raise ApiError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is more than {MAX_SKEW_SECONDS // 60} minutes from the server's time",
        )
