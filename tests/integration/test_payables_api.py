"""Unit API: registering payables per the Public contract, and every refusal."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import new_biz_no, payable_body
from tests.support.client import SignedClient
from tests.support.db import counts


def test_register_payable_prices_from_the_catalogue(
    api: SignedClient, payer: dict[str, str]
) -> None:
    body = payable_body(payer, "GA0101")
    body["items"].append({"item_code": "GA0105", "quantity": 2})
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "unpaid"
    assert data["amount_fen"] == 10000 + 2 * 1000
    assert [line["amount_fen"] for line in data["lines"]] == [10000, 2000]
    assert len(data["payment_code"]) == 20
    assert data["pay_url"].endswith(f"/pay/{data['payment_code']}")
    assert data["notice_pdf_url"].endswith(f"/pay/{data['payment_code']}/notice.pdf")
    assert data["payer"]["id_no_masked"].count("*") == 8
    assert payer["id_no"] not in response.text


def test_same_biz_no_and_body_returns_the_same_payable(
    api: SignedClient, payer: dict[str, str]
) -> None:
    body = payable_body(payer)
    first = api.post("/api/v1/payables", body)
    again = api.post("/api/v1/payables", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["payment_code"] == first.json()["payment_code"]


def test_same_biz_no_with_another_body_is_a_conflict(
    api: SignedClient, payer: dict[str, str]
) -> None:
    body = payable_body(payer)
    api.post("/api/v1/payables", body)
    body["items"][0]["quantity"] = 2
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


def test_payable_can_be_read_by_code_and_by_biz_no(
    api: SignedClient, payer: dict[str, str]
) -> None:
    created = api.post("/api/v1/payables", payable_body(payer)).json()
    by_code = api.get(f"/api/v1/payables/{created['payment_code']}")
    by_biz = api.get(f"/api/v1/payables?biz_no={created['biz_no']}")
    assert by_code.json()["biz_no"] == created["biz_no"]
    assert by_biz.json()["payment_code"] == created["payment_code"]


def test_another_units_payable_is_not_visible(
    api: SignedClient, school_api: SignedClient, payer: dict[str, str]
) -> None:
    created = api.post("/api/v1/payables", payable_body(payer)).json()
    assert school_api.get(f"/api/v1/payables/{created['payment_code']}").status_code == 404


def test_cancel_only_while_unpaid(api: SignedClient, payer: dict[str, str]) -> None:
    created = api.post("/api/v1/payables", payable_body(payer)).json()
    cancelled = api.post(f"/api/v1/payables/{created['payment_code']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/payables/{created['payment_code']}/cancel")
    assert again.json()["status"] == "cancelled"


# How each kind of refusal reaches the caller (status, problem+json, the field). The pricing and
# payer rules themselves (fixed, range, decision standards, ID checks) are proven on the fakes:
# tests/unit/test_registration_service.py.
REFUSALS: list[tuple[str, Any, int, str]] = [
    ("unknown item", {"items": [{"item_code": "NOPE99"}]}, 422, "items[0].item_code"),
    ("unauthorised item", {"items": [{"item_code": "JY0101"}]}, 403, "items[0].item_code"),
    ("decision amount missing", {"items": [{"item_code": "FM0101"}]}, 422, "items[0].amount_fen"),
    (
        "invalid citizen id",
        {"payer": {"name": "张伟", "type": "person", "id_no": "110105194912310021"}},
        422,
        "payer.id_no",
    ),
    ("zero quantity", {"items": [{"item_code": "GA0101", "quantity": 0}]}, 422, "items.0.quantity"),
    ("no items", {"items": []}, 422, "items"),
    ("unknown field", {"colour": "red"}, 422, "colour"),
    ("bad payer type", {"payer": {"name": "x", "type": "alien", "id_no": "1"}}, 422, "payer.type"),
]


@pytest.mark.parametrize(
    ("case", "override", "status", "field"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_bad_payable_is_refused_and_changes_nothing(
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
    case: str,
    override: Any,
    status: int,
    field: str,
) -> None:
    body = {**payable_body(payer), **override}
    before = counts(stack)
    response = api.post("/api/v1/payables", body)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    assert field in problem["errors"]
    assert counts(stack) == before


def test_malformed_json_is_refused(stack: Any, api: SignedClient) -> None:
    before = counts(stack)
    raw = b'{"biz_no": "x",'
    headers = api.headers("POST", "/api/v1/payables", raw)
    response = api.http.post("/api/v1/payables", content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["title"] == "请求格式错误"
    assert counts(stack) == before


def test_oversized_body_is_refused(stack: Any, api: SignedClient) -> None:
    before = counts(stack)
    raw = b"{" + b" " * 1_100_000 + b"}"
    headers = api.headers("POST", "/api/v1/payables", raw)
    response = api.http.post("/api/v1/payables", content=raw, headers=headers)
    assert response.status_code == 413
    assert counts(stack) == before


def test_bad_signature_is_refused(stack: Any, api: SignedClient, payer: dict[str, str]) -> None:
    wrong = SignedClient(api.base_url, api.app_id, "not-the-secret")
    before = counts(stack)
    response = wrong.post("/api/v1/payables", payable_body(payer))
    assert response.status_code == 401
    assert response.json()["detail"] == "签名校验失败"
    assert counts(stack) == before


def test_unknown_app_id_is_refused(api: SignedClient, payer: dict[str, str]) -> None:
    stranger = SignedClient(api.base_url, "pp_nobody", "x")
    assert stranger.post("/api/v1/payables", payable_body(payer)).status_code == 401


def test_replayed_nonce_is_refused(stack: Any, api: SignedClient, payer: dict[str, str]) -> None:
    first = api.post("/api/v1/payables", payable_body(payer), nonce="fixed-nonce-" + new_biz_no())
    nonce = first.request.headers["X-Nonce"]
    before = counts(stack)
    replay = api.post("/api/v1/payables", payable_body(payer), nonce=nonce)
    assert replay.status_code == 401
    assert "重放" in replay.json()["detail"]
    assert counts(stack) == before


def test_stale_timestamp_is_refused(stack: Any, api: SignedClient, payer: dict[str, str]) -> None:
    before = counts(stack)
    response = api.post("/api/v1/payables", payable_body(payer), ts=int(time.time()) - 301)
    assert response.status_code == 401
    assert counts(stack) == before


def test_missing_signature_headers_are_refused(base_url: str, payer: dict[str, str]) -> None:
    response = httpx.post(f"{base_url}/api/v1/payables", json=payable_body(payer))
    assert response.status_code == 401


def test_signature_covers_the_query_string(api: SignedClient, payer: dict[str, str]) -> None:
    created = api.post("/api/v1/payables", payable_body(payer)).json()
    path = f"/api/v1/payables?biz_no={created['biz_no']}"
    headers = api.headers("GET", "/api/v1/payables", b"")
    assert api.http.get(path, headers=headers).status_code == 401


def test_unknown_payment_code_is_not_found(api: SignedClient) -> None:
    assert api.get("/api/v1/payables/33010526019999999990").status_code == 404


def test_cancel_after_payment_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    from tests.integration.test_payment_flow import pay_with_alipay

    created = api.post("/api/v1/payables", payable_body(payer)).json()
    pay_with_alipay(stack, created["payment_code"])
    before = counts(stack)
    response = api.post(f"/api/v1/payables/{created['payment_code']}/cancel")
    assert response.status_code == 409
    assert counts(stack) == before
    assert api.get(f"/api/v1/payables/{created['payment_code']}").json()["status"] == "paid"


def test_openapi_documents_the_contract(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/payables",
        "/api/v1/payables/{payment_code}",
        "/api/v1/webhook-endpoint",
        "/api/v1/pay/{payment_code}/orders",
        "/api/v1/events",
    ):
        assert path in spec["paths"]
    undocumented = {
        f"{schema}.{name}"
        for schema, body in spec["components"]["schemas"].items()
        for name, field in body.get("properties", {}).items()
        if not field.get("description")
    }
    assert not undocumented
