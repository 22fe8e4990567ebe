"""Request bodies are limited for every route before they are read (api.body_limit): a declared
Content-Length over the limit is refused at once, a chunked body as soon as it passes the limit;
batch uploads get their larger limit. Each refusal is problem+json and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.channel_kit import register
from tests.support.client import SignedClient
from tests.support.db import counts
from tests.support.raw_http import chunked, raw_request

LIMIT = 1_000_000  # PUBLICPAY_MAX_BODY_BYTES default


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    return "\r\n".join([*lines, *headers]).encode()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    before = counts(stack)

    # 200 MB announced, not a byte of it sent: the answer must come without reading it
    answer = raw_request(base_url, _head(f"/api/v1/pay/{code}/orders", "Content-Length: 200000000"))

    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert "请求体超过" in answer.json()["detail"]
    assert counts(stack) == before


def test_a_chunked_body_past_the_limit_is_refused_while_it_streams(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    before = counts(stack)

    head = _head(f"/api/v1/pay/{code}/orders", "Transfer-Encoding: chunked")
    answer = raw_request(base_url, head, chunked(LIMIT + 200_000))

    assert answer.status == 413
    assert answer.json()["status"] == 413
    assert counts(stack) == before


def test_a_chunked_body_past_the_limit_is_refused_on_the_hot_registration_route(
    stack: Any, base_url: str
) -> None:
    before = counts(stack)

    head = _head("/api/v1/payables", "Transfer-Encoding: chunked")
    answer = raw_request(base_url, head, chunked(LIMIT + 200_000))

    assert answer.status == 413
    assert counts(stack) == before


def test_a_content_length_that_is_not_a_number_is_refused(stack: Any, base_url: str) -> None:
    """(The HTTP server refuses it already; api.body_limit would too, behind another server.)"""
    before = counts(stack)

    answer = raw_request(base_url, _head("/api/v1/payables", "Content-Length: 1e9"))

    assert answer.status == 400
    assert counts(stack) == before


def test_a_lying_content_length_under_the_limit_gets_no_more_than_it_declared(
    stack: Any, base_url: str
) -> None:
    """A body longer than its Content-Length: the server reads what was declared (a malformed
    JSON prefix, refused 400) and never takes the rest for part of the body."""
    before = counts(stack)

    answer = raw_request(
        base_url,
        _head("/api/v1/payables", "Content-Length: 10", "Connection: close"),
        [b"[" * (LIMIT + 100_000)],
    )

    assert answer.status in (400, 401)
    assert counts(stack) == before


def test_console_login_form_body_over_the_limit_is_refused(stack: Any, base_url: str) -> None:
    filler = "x" * (LIMIT + 10)
    answer = httpx.post(f"{base_url}/console/login", data={"username": filler}, timeout=15)

    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_batch_upload_may_be_larger_than_the_general_limit(
    stack: Any, base_url: str, school_api: SignedClient
) -> None:
    """1.5 MB of CSV passes the body limit (the batch route's own limit is 4 MB); it is then
    refused for its content, not its size."""
    body = ("业务编号,缴款人\n" + "x,y\n" * 400_000).encode()
    path = "/api/v1/payable-batches?dry_run=true"
    headers = school_api.headers("POST", path, body) | {"Content-Type": "text/csv"}

    answer = httpx.post(f"{base_url}{path}", content=body, headers=headers, timeout=30)

    assert len(body) > LIMIT
    assert answer.status_code == 422
    assert answer.status_code != 413


def test_a_batch_upload_over_its_own_limit_is_refused_before_it_is_read(
    stack: Any, base_url: str
) -> None:
    before = counts(stack)

    answer = raw_request(base_url, _head("/api/v1/payable-batches", "Content-Length: 50000000"))

    assert answer.status == 413
    assert counts(stack) == before
