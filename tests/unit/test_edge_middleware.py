"""The plain ASGI middleware at the edge, driven with hand-made ASGI scopes: trusted proxies,
and the edge's request id, security headers and body limits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from publicpay.api.edge import Edge
from publicpay.api.proxies import TrustedProxies
from publicpay.settings import Settings

Seen = dict[str, Any]


def _scope(client: str = "10.0.0.5", *headers: tuple[str, str], scheme: str = "http") -> Any:
    return {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "scheme": scheme,
        "client": (client, 5555),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
    }


def _seen_by(middleware: Any, scope: Any, body: bytes = b"") -> tuple[Seen, list[Any]]:
    """Run `scope` through the middleware around an app that records what it saw, reads the
    body and answers 200; returns (what the app saw, the messages sent)."""
    seen: Seen = {}
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])
        chunk = await receive()
        seen["body"] = chunk.get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(app)(scope, receive, send))
    return seen, sent


def _proxied(networks: list[str]) -> Any:
    return lambda app: TrustedProxies(app, networks)


def test_forwarded_headers_from_a_trusted_proxy_set_client_and_scheme() -> None:
    scope = _scope("10.0.0.5", ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"))

    seen, _ = _seen_by(_proxied(["10.0.0.0/24"]), scope)

    assert seen["client"] == ("203.0.113.9", 0)
    assert seen["scheme"] == "https"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    scope = _scope(
        "198.51.100.7", ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")
    )

    seen, _ = _seen_by(_proxied(["10.0.0.0/24"]), scope)

    assert seen["client"] == ("198.51.100.7", 5555)
    assert seen["scheme"] == "http"


def test_the_client_is_the_rightmost_address_not_a_trusted_proxy() -> None:
    """A client may write anything at the left of X-Forwarded-For; only what the trusted
    proxies appended counts."""
    chain = "6.6.6.6, 203.0.113.9, 10.0.0.7"
    scope = _scope("10.0.0.5", ("X-Forwarded-For", chain))

    seen, _ = _seen_by(_proxied(["10.0.0.0/24"]), scope)

    assert seen["client"] == ("203.0.113.9", 0)


def test_a_simple_rfc7239_forwarded_header_is_understood() -> None:
    scope = _scope("10.0.0.5", ("Forwarded", 'for="[2001:db8::7]:4711";proto=https'))

    seen, _ = _seen_by(_proxied(["10.0.0.5"]), scope)

    assert seen["client"] == ("2001:db8::7", 0)
    assert seen["scheme"] == "https"


@pytest.mark.parametrize("junk", ["unknown", "_hidden", "1.2.3.4.5", "\u00b2", ""])
def test_garbage_in_forwarded_for_leaves_the_peer_as_the_client(junk: str) -> None:
    scope = _scope("10.0.0.5", ("X-Forwarded-For", junk), ("X-Forwarded-Proto", "gopher"))

    seen, _ = _seen_by(_proxied(["10.0.0.5"]), scope)

    assert seen["client"] == ("10.0.0.5", 5555)
    assert seen["scheme"] == "http"


def test_trusted_proxies_setting_takes_a_comma_separated_list_and_refuses_junk() -> None:
    settings = Settings(trusted_proxies="10.0.0.1, 192.168.0.0/16")  # type: ignore[arg-type]
    assert settings.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        Settings(trusted_proxies="10.0.0.1,nonsense")  # type: ignore[arg-type]


def _headers(sent: list[Any]) -> dict[bytes, bytes]:
    return dict(sent[0]["headers"])


def test_security_headers_are_added_and_hsts_only_over_https() -> None:
    _, plain = _seen_by(_edge(), _scope())
    _, tls = _seen_by(_edge(), _scope(scheme="https"))

    headers = _headers(plain)
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
    assert b"unsafe-inline" not in headers[b"content-security-policy"]
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"strict-transport-security" not in headers
    assert _headers(tls)[b"strict-transport-security"].startswith(b"max-age=")


def _edge(limit: int = 100) -> Any:
    return lambda app: Edge(
        app, limit=limit, upload_limit=1000, upload_paths=frozenset({"/upload"})
    )


@pytest.mark.parametrize("declared", ["1\u00b2", "-1", "1e3", "99999999999999999999999"])
def test_a_content_length_that_is_not_plain_ascii_digits_is_refused(declared: str) -> None:
    seen, sent = _seen_by(_edge(), _scope("1.2.3.4", ("Content-Length", declared)))

    assert seen == {}  # the app never ran
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["status"] == 400


def test_a_body_longer_than_the_limit_is_refused_without_a_declared_length() -> None:
    seen, sent = _seen_by(_edge(), _scope(), body=b"x" * 101)

    assert "body" not in seen
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["title"] == "请求体过大"


def test_upload_paths_get_the_upload_limit() -> None:
    scope = {**_scope(), "path": "/upload"}

    seen, sent = _seen_by(_edge(), scope, body=b"x" * 500)

    assert seen["body"] == b"x" * 500
    assert sent[0]["status"] == 200


def test_a_refusal_before_the_body_carries_the_request_id_and_security_headers() -> None:
    scope = _scope("1.2.3.4", ("Content-Length", "101"), ("X-Request-Id", "req-7"))

    seen, sent = _seen_by(_edge(), scope)

    assert seen == {}  # the app never ran
    headers = _headers(sent)
    assert sent[0]["status"] == 413
    assert headers[b"x-request-id"] == b"req-7"
    assert headers[b"x-content-type-options"] == b"nosniff"


def test_the_answer_carries_one_request_id_and_keeps_a_security_header_the_app_set() -> None:
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        own = [(b"x-request-id", b"from-the-app"), (b"x-frame-options", b"SAMEORIGIN")]
        await send({"type": "http.response.start", "status": 200, "headers": own})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(_edge()(app)(_scope(), _nothing, send))

    names = [k for k, _ in sent[0]["headers"]]
    assert names.count(b"x-request-id") == 1
    assert len(_headers(sent)[b"x-request-id"]) == 16  # a new one, not the app's
    assert names.count(b"x-frame-options") == 1
    assert _headers(sent)[b"x-frame-options"] == b"SAMEORIGIN"


async def _nothing() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}
