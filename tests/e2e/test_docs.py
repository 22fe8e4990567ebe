"""/docs in a real browser (headless Debian chromium): Swagger UI renders every operation from
the vendored assets, offline — no request leaves this origin — and under the page's CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)

pytestmark = pytest.mark.e2e


def test_api_docs_render_every_operation_from_same_origin_assets(
    browser_page: Any,  # noqa: F811
    base_url: str,
) -> None:
    page = browser_page
    requested: list[str] = []
    complaints: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: complaints.append(message.text) if message.type == "error" else None,
    )

    page.goto(f"{base_url}/docs")

    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock").count() >= 30
    expect(page.locator(".information-container .title")).to_contain_text("统一公共支付平台")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/payables" in [p.replace("\u200b", "") for p in paths]
    assert requested
    assert all(url.startswith(base_url) or url.startswith("data:") for url in requested), requested
    assert not [c for c in complaints if "Content Security Policy" in c], complaints
