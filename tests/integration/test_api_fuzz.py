"""Every JSON API in /openapi.json, fuzzed by schemathesis through the Public contract's
signature headers: no 5xx, every answer as documented (status, content type, schema),
problem+json for errors.

Each generated request is signed like a business system signs it (`SignedAuth`: HMAC over the
final method, path with query and body bytes, a fresh nonce each time) with the demo credential
the operation's family calls for: the bank's for /counter, the kiosk device's for /pos, the
finance bureau's for /admin, a unit's for the rest. Signed requests go past authentication into
validation and the services; schemathesis's negative cases and its own checks also send unsigned
ones.

The platform under test is its own (a fresh database and server for this module), so what the
fuzzer registers, cancels or rotates never meets the other tests. Two operations are sent
unsigned only: rotating the calling credential itself (a zero grace period would lock the
fuzzer out of everything after it) and saving a channel account (a test call to whatever gateway
URL was generated: traffic off this machine).

Left out: schemathesis's `positive_data_acceptance` (a schema-valid request must be accepted):
the domain rightly refuses some (422) that no JSON schema can describe — a payment code's
check digit, a GB 11643 ID number's checksum, an item the unit may not collect. And
`missing_required_header`: `SignedAuth` signs every request, so a signature header the fuzzer
left out is back when it is sent (unsigned requests are checked by `ignored_auth`).

The run is bounded for the test command: PUBLICPAY_FUZZ_EXAMPLES (default 8) examples per
operation and phase. `make fuzz` runs it long (500).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import missing_required_header, positive_data_acceptance

from publicpay.api.app import create_app
from publicpay.bootstrap import build
from publicpay.demo.stack import Stack, build_stack
from publicpay.settings import Mode, Settings
from tests.support.servers import free_port, serve

EXAMPLES = int(os.environ.get("PUBLICPAY_FUZZ_EXAMPLES", "8"))
SIGNATURE_HEADERS = {"X-App-Id", "X-Timestamp", "X-Nonce", "X-Signature"}
UNSIGNED = {
    ("POST", "/api/v1/credentials/rotate"),
    ("PUT", "/api/v1/admin/channel-accounts"),
}


class SignedAuth(requests.auth.AuthBase):
    """The Public contract's signature over the request exactly as it goes out."""

    def __init__(self, app_id: str, secret: str) -> None:
        self.app_id = app_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.path_url)
        path = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex
        message = "\n".join(
            [str(request.method), path, stamp, nonce, hashlib.sha256(body).hexdigest()]
        )
        request.headers.update(
            {
                "X-App-Id": self.app_id,
                "X-Timestamp": stamp,
                "X-Nonce": nonce,
                "X-Signature": hmac.new(
                    self.secret.encode(), message.encode(), hashlib.sha256
                ).hexdigest(),
            }
        )
        return request


@pytest.fixture(scope="module")
def fuzz_stack(new_database_url: Any) -> Iterator[tuple[Stack, str]]:
    port = free_port()
    built = build_stack(
        Settings(
            mode=Mode.TEST,
            database_url=new_database_url(),
            public_base_url=f"http://127.0.0.1:{port}",
            recovery_after_s=0,
        ),
        emulator_time_scale=0.001,
    )
    with serve(built.app, port=port) as url:
        yield built, url
    built.close()


def _auth_for(info: dict[str, Any], method: str, path: str) -> SignedAuth | None:
    if (method, path) in UNSIGNED:
        return None
    if path.startswith("/api/v1/counter/"):
        return SignedAuth(info["bank"]["app_id"], info["bank"]["app_secret"])
    if path.startswith("/api/v1/pos/"):
        return SignedAuth(info["kiosk"]["device_id"], info["kiosk"]["device_secret"])
    if path.startswith("/api/v1/admin/"):
        return SignedAuth(info["finance"]["app_id"], info["finance"]["app_secret"])
    unit = info["units"][0]
    return SignedAuth(unit["app_id"], unit["app_secret"])


def _openapi() -> dict[str, Any]:
    """The app's /openapi.json, built at collection without a database (the engine connects
    lazily; nothing is served). Loaded eagerly: schemathesis's fixture-based lazy loader does
    not work with this pytest."""
    container = build(Settings(mode=Mode.TEST, database_url="sqlite://"))
    try:
        return create_app(container).openapi()
    finally:
        container.close()


# an .xlsx upload goes as raw bytes, like any binary body
schemathesis.serializer.alias(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"
)
schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_json_api_answers_as_documented_and_never_fails(
    case: Any, fuzz_stack: tuple[Stack, str]
) -> None:
    stack, url = fuzz_stack
    auth = _auth_for(stack.info, case.method.upper(), case.path)
    if not set(case.headers or {}) >= SIGNATURE_HEADERS:
        auth = None  # not a signed operation, or its headers left out on purpose: unsigned
    case.call_and_validate(
        base_url=url,
        auth=auth,
        timeout=30,
        excluded_checks=[positive_data_acceptance, missing_required_header],
    )
