"""Inputs that once crashed a route (a text/plain 500 and a dropped connection): each is now a
4xx problem+json, logged, and changes nothing. The whole class is also fuzzed by schemathesis
(test_api_fuzz.py); these pin the cases found by hand."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import payable_body
from tests.integration.channel_kit import register
from tests.support.client import SignedClient
from tests.support.db import counts
from tests.support.raw_http import raw_request

PROBLEM = "application/problem+json"


def _refused(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def test_a_json_body_that_is_not_utf8_is_refused_before_authentication(
    stack: Any, base_url: str
) -> None:
    before = counts(stack)
    body = b'{"biz_no": "\xff\xfe\xfa"}'

    answer = httpx.post(
        f"{base_url}/api/v1/payables",
        content=body,
        headers={"Content-Type": "application/json"},
    )

    problem = _refused(answer, 400)
    assert problem["detail"] == "请求体不是合法的 JSON"
    assert counts(stack) == before


def test_a_deeply_nested_json_body_is_refused_before_authentication(
    stack: Any, base_url: str
) -> None:
    before = counts(stack)
    body = b"[" * 100_000 + b"]" * 100_000

    answer = httpx.post(
        f"{base_url}/api/v1/payables", content=body, headers={"Content-Type": "application/json"}
    )

    _refused(answer, 400)
    assert counts(stack) == before


def test_a_deeply_nested_json_body_on_another_route_is_refused(
    stack: Any, base_url: str, api: SignedClient
) -> None:
    body = b'{"url": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    headers = api.headers("PUT", "/api/v1/webhook-endpoint", body)

    answer = httpx.put(f"{base_url}/api/v1/webhook-endpoint", content=body, headers=headers)

    problem = _refused(answer, 400)
    assert "请求体无法解析" in problem["detail"]


@pytest.mark.parametrize("stamp", ["1700000000\u00b2", "\u0661\u0667\u0660\u0660", "9" * 40])
def test_a_timestamp_of_digits_int_refuses_is_an_authentication_failure(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str], stamp: str
) -> None:
    """`str.isdigit` takes "²" (a latin-1 byte in a header) and other scripts' digits."""
    before = counts(stack)
    body = json.dumps(payable_body(payer)).encode()
    headers = api.headers("POST", "/api/v1/payables", body)
    head = [
        "POST /api/v1/payables HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items() if k not in ("X-Timestamp", "Content-Type")),
    ]
    raw = "\r\n".join(head).encode() + b"\r\nX-Timestamp: " + stamp.encode("utf-8")

    answer = raw_request(base_url, raw, [body])

    assert answer.status == 401
    assert answer.headers["content-type"] == PROBLEM
    assert counts(stack) == before


@pytest.mark.parametrize("after", [str(2**63), str(2**64), "-1", "1e3"])
def test_an_event_cursor_out_of_range_is_refused(api: SignedClient, after: str) -> None:
    _refused(api.get(f"/api/v1/events?after={after}"), 422)


def test_a_batch_id_out_of_range_is_refused(api: SignedClient) -> None:
    _refused(api.get(f"/api/v1/payable-batches/{2**63}"), 422)


def test_a_notification_account_id_out_of_range_is_refused(stack: Any, base_url: str) -> None:
    before = counts(stack)

    answer = httpx.post(f"{base_url}/api/v1/notify/alipay/{2**64}", content=b"a=b")

    _refused(answer, 422)
    assert counts(stack) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("biz_no", "BIZ\x00NUL"),
        ("remark", "备注\x00"),
        ("remark", "第一行\n第二行"),
        ("biz_no", "B" * 65),
        ("remark", "长" * 501),
    ],
)
def test_control_characters_and_overlong_text_are_refused(
    stack: Any, api: SignedClient, payer: dict[str, str], field: str, value: str
) -> None:
    """NUL reaches PostgreSQL (which refuses it in text) no more: the schema refuses it."""
    before = counts(stack)

    answer = api.post("/api/v1/payables", payable_body(payer, **{field: value}))

    problem = _refused(answer, 422)
    assert field in problem["errors"]
    assert counts(stack) == before


def test_a_nul_in_the_payer_name_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    before = counts(stack)
    body = payable_body(payer)
    body["payer"]["name"] = "张\x00三"

    problem = _refused(api.post("/api/v1/payables", body), 422)

    assert "payer.name" in problem["errors"]
    assert counts(stack) == before


@pytest.mark.parametrize("quantity", ["1", True, 1.0])
def test_a_quantity_that_is_not_a_json_integer_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str], quantity: Any
) -> None:
    before = counts(stack)
    body = payable_body(payer)
    body["items"][0]["quantity"] = quantity

    problem = _refused(api.post("/api/v1/payables", body), 422)

    assert "items.0.quantity" in problem["errors"]
    assert counts(stack) == before


@pytest.mark.parametrize("due", ["1999-12-31", "0001-01-01", "9999-12-31"])
def test_a_due_date_far_in_the_past_or_future_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str], due: str
) -> None:
    before = counts(stack)

    answer = api.post("/api/v1/payables", payable_body(payer, due_date=due))

    problem = _refused(answer, 422)
    assert "日期超出允许范围" in problem["errors"]["due_date"]
    assert counts(stack) == before


def test_a_write_off_period_in_year_one_is_refused(api: SignedClient) -> None:
    _refused(api.get("/api/v1/receipts/write-off?from=0001-01-01&to=0006-01-01"), 422)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/pay/%00", "/api/v1/payables?biz_no=%00", "/pay?code=1%0a2", "/verify?code=%7f"],
)
def test_control_characters_in_the_path_or_query_are_refused(
    stack: Any, base_url: str, path: str
) -> None:
    before = counts(stack)

    answer = httpx.get(f"{base_url}{path}")

    problem = _refused(answer, 400)
    assert problem["detail"] == "请求地址或查询参数含有控制字符"
    assert counts(stack) == before


@pytest.mark.parametrize("code", ["%F0%9F%92%B3", "9" * 41, str(2**70)])
def test_odd_payment_codes_in_paths_are_answered(
    stack: Any, base_url: str, api: SignedClient, code: str
) -> None:
    answers = [
        httpx.get(f"{base_url}/api/v1/pay/{code}"),
        api.get(f"/api/v1/payables/{code}"),
        httpx.get(f"{base_url}/pay/{code}"),
    ]

    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]


def test_an_order_on_a_cancelled_or_unknown_code_changes_nothing(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    before = counts(stack)

    answer = httpx.post(f"{base_url}/api/v1/pay/{code}/orders", json={"channel": "alipay\x00"})

    _refused(answer, 422)
    assert counts(stack) == before


@pytest.mark.parametrize("given", ["x" * 65, "caf\u00e9", "a b\tc"])
def test_an_unfit_request_id_is_replaced_not_echoed(base_url: str, given: str) -> None:
    answer = httpx.get(f"{base_url}/healthz", headers={"X-Request-Id": given.encode("latin-1")})

    assert answer.status_code == 200
    assert answer.headers["x-request-id"] != given
    assert len(answer.headers["x-request-id"]) == 16


def test_a_fit_request_id_is_echoed(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/healthz", headers={"X-Request-Id": "req-123.abc_DEF"})

    assert answer.headers["x-request-id"] == "req-123.abc_DEF"
