"""`--auth`: SigV4 checked against one configured key; without it any signature is accepted."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials as BotoCredentials  # type: ignore[import-untyped]
from test_server_errors import post
from test_server_fixtures import PASS, create, make_client

from engine.server import ApiError, Credentials, ServerOptions, StatelaneServer
from engine.server.sigv4 import SignedRequest, verify

KEY, SECRET = "AKIDSTATELANE", "s3cr3t:with:colons"


@pytest.fixture
def guarded(tmp_path: Path) -> Any:
    options = ServerOptions(port=0, db="memory://", credentials=Credentials.parse(f"{KEY}:{SECRET}"))
    with StatelaneServer(options) as running:
        yield running


def test_the_configured_key_is_let_in(guarded: StatelaneServer) -> None:
    sfn = make_client(guarded.url, key=KEY, secret=SECRET)
    arn = create(sfn, "Guarded", PASS)
    assert sfn.describe_state_machine(stateMachineArn=arn)["name"] == "Guarded"


def test_a_wrong_secret_is_an_invalid_signature(guarded: StatelaneServer) -> None:
    sfn = make_client(guarded.url, key=KEY, secret="guess")
    with pytest.raises(sfn.exceptions.ClientError) as info:
        sfn.list_state_machines()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_an_unknown_key_is_unrecognized(guarded: StatelaneServer) -> None:
    sfn = make_client(guarded.url, key="SOMEONEELSE", secret=SECRET)
    with pytest.raises(sfn.exceptions.ClientError) as info:
        sfn.list_state_machines()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_an_unsigned_request_is_refused_and_changes_nothing(guarded: StatelaneServer) -> None:
    body = b'{"name": "Sneaky", "definition": "{}", "roleArn": "arn:aws:iam::1:role/r"}'
    status, document = post(guarded, body, "AWSStepFunctions.CreateStateMachine")
    assert (status, document["__type"]) == (400, "MissingAuthenticationTokenException")
    sfn = make_client(guarded.url, key=KEY, secret=SECRET)
    assert sfn.list_state_machines()["stateMachines"] == []


def test_without_auth_any_signature_is_accepted(tmp_path: Path) -> None:
    with StatelaneServer(ServerOptions(port=0, db="memory://")) as open_server:
        sfn = make_client(open_server.url, key="whatever", secret="anything")
        assert sfn.list_state_machines()["stateMachines"] == []


# ------------------------------------------------------------------ verify() against botocore's signer


def signed(body: bytes, *, secret: str = SECRET, key: str = KEY) -> SignedRequest:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8083/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
        },
    )
    signer = SigV4Auth(BotoCredentials(key, secret), "states", "us-east-1")
    signer.add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:8083"
    return SignedRequest("POST", "/", "", headers, body)


def test_verify_accepts_botocores_signature() -> None:
    verify(signed(b"{}"), Credentials(KEY, SECRET), time.time())


def test_verify_refuses_a_tampered_body() -> None:
    request = signed(b'{"maxResults": 1}')
    tampered = SignedRequest(
        request.method, request.path, request.query, request.headers, b'{"maxResults": 2}'
    )
    with pytest.raises(ApiError) as info:
        verify(tampered, Credentials(KEY, SECRET), time.time())
    assert info.value.code == "InvalidSignatureException"


def test_verify_refuses_a_stale_signature() -> None:
    request = signed(b"{}")
    with pytest.raises(ApiError, match="Signature expired") as info:
        verify(request, Credentials(KEY, SECRET), time.time() + 3600)  # received an hour later
    assert info.value.code == "InvalidSignatureException"


def test_verify_checks_a_declared_payload_hash() -> None:
    request = signed(b"{}")
    headers = dict(request.headers, **{"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(ApiError):
        verify(SignedRequest("POST", "/", "", headers, b"{}"), Credentials(KEY, SECRET), time.time())


def test_credentials_parse() -> None:
    assert Credentials.parse("AK:se:cret") == Credentials("AK", "se:cret")
    with pytest.raises(ValueError):
        Credentials.parse("no-secret")
