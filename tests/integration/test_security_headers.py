"""Security headers on every response, /docs served from vendored assets (no CDN),
forwarded headers believed only from trusted proxies (HTTPS → Secure cookies and HSTS), and
FastAPI's own telemetry layer off."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace

from publicpay.api.app import create_app
from publicpay.web.vendor import PACKAGES
from tests.integration.channel_kit import register
from tests.integration.console_kit import csrf_of, make_user
from tests.support.client import SignedClient
from tests.support.servers import serve

PAGES = ["/", "/pay", "/verify", "/docs", "/console/login", "/openapi.json", "/healthz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_security_headers(base_url: str, path: str) -> None:
    answer = httpx.get(f"{base_url}{path}")

    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in answer.headers  # plain HTTP


def test_json_api_answers_and_refusals_send_the_security_headers(
    base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    answers = [
        api.get(f"/api/v1/payables/{code}"),
        httpx.get(f"{base_url}/api/v1/payables/{code}"),  # unsigned: 401 problem+json
        httpx.get(f"{base_url}/no/such/page"),
    ]

    assert [a.status_code for a in answers] == [200, 401, 404]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_pages_have_no_inline_script_or_style(base_url: str) -> None:
    for path in ["/", "/pay", "/verify", "/docs", "/console/login"]:
        html = httpx.get(f"{base_url}{path}").text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert "<style" not in html
        assert " style=" not in html
        assert " onclick=" not in html


def test_docs_page_loads_only_same_origin_assets_that_answer(base_url: str) -> None:
    html = httpx.get(f"{base_url}/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert any(a.startswith("/static/vendor/swagger-ui-dist/") for a in assets)
    for asset in assets:
        answer = httpx.get(f"{base_url}{asset}")
        assert answer.status_code == 200, asset
        assert answer.content


def test_only_listed_vendored_packages_are_served(base_url: str) -> None:
    declared = json.loads((Path(__file__).parents[2] / "package.json").read_text())["dependencies"]
    assert set(PACKAGES) == set(declared)  # what npm installs from the lock, nothing else
    assert httpx.get(f"{base_url}/static/vendor/@scarf/scarf/package.json").status_code == 404
    assert httpx.get(f"{base_url}/static/vendor/../../package.json").status_code == 404


@pytest.fixture(scope="module")
def behind_proxy(stack: Any) -> Iterator[str]:
    """The same platform served again, configured to trust 127.0.0.1 as its reverse proxy."""
    c = stack.container
    settings = c.settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    with serve(create_app(dataclasses.replace(c, settings=settings))) as url:
        yield url


def _login(base: str, user: Any, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=base, headers=headers, timeout=15) as client:
        form = client.get("/console/login")
        fields = {
            "username": user.username,
            "password": user.password,
            "code": user.code(),
            "csrf": csrf_of(form.text),
        }
        # the pre-login cookie is Secure over HTTPS: httpx over http would not send it back
        pre = form.cookies["pp_console_login"]
        return client.post(
            "/console/login", data=fields, headers={"Cookie": f"pp_console_login={pre}"}
        )


def test_https_through_a_trusted_proxy_makes_cookies_secure_and_sends_hsts(
    stack: Any, behind_proxy: str
) -> None:
    user = make_user(stack, "auditor")
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    answer = _login(behind_proxy, user, https)

    assert answer.status_code == 303, answer.text
    assert "secure" in answer.headers["set-cookie"].lower()
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_forwarded_https_from_an_untrusted_peer_is_ignored(stack: Any, base_url: str) -> None:
    """The session's server trusts no proxy: the same headers change nothing."""
    user = make_user(stack, "auditor")
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    answer = _login(base_url, user, https)

    assert answer.status_code == 303, answer.text
    assert "secure" not in answer.headers["set-cookie"].lower()
    assert "strict-transport-security" not in answer.headers


def test_fastapi_native_telemetry_is_not_consulted_even_with_a_tracer_provider_set_up(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PublicPay ships no OpenTelemetry SDK: FastAPI's own telemetry is switched off, so a
    provider some other package set up is never asked (which cost every request its check)."""
    asked: list[str] = []

    def provider() -> trace.TracerProvider:
        asked.append("tracer provider")
        return trace.NoOpTracerProvider()

    monkeypatch.setattr(trace, "get_tracer_provider", provider)

    answer = asyncio.run(_get_in_process(create_app(stack.container), "/healthz"))

    assert answer.status_code == 200
    assert asked == []


async def _get_in_process(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)
