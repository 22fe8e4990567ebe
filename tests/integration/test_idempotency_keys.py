"""Idempotency-Key on mutating calls without a business key of their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from publicpay.adapters.db.payments.tables import payment_orders
from tests.integration.test_payment_flow import register
from tests.support.client import SignedClient


def order_count(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payment_orders)).scalar_one())


def open_with_key(stack: Any, code: str, key: str, channel: str = "alipay") -> httpx.Response:
    return httpx.post(
        f"{stack.info['base_url']}/api/v1/pay/{code}/orders",
        json={"channel": channel},
        headers={"Idempotency-Key": key},
    )


def test_retrying_an_order_with_the_same_key_returns_the_same_order(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    key = uuid.uuid4().hex
    first = open_with_key(stack, code, key)
    before = order_count(stack)
    again = open_with_key(stack, code, key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert order_count(stack) == before


def test_the_same_key_for_another_request_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    key = uuid.uuid4().hex
    assert open_with_key(stack, code, key).status_code == 201
    before = order_count(stack)
    other = open_with_key(stack, code, key, channel="wechat")
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert order_count(stack) == before


def test_a_call_the_channel_could_not_take_can_be_retried_with_its_key(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    base = stack.info["base_url"]
    key = uuid.uuid4().hex
    httpx.post(f"{base}/emulator/alipay/faults", json={"out_trade_no": "*", "fault": "error_5xx"})
    try:
        assert open_with_key(stack, code, key).status_code == 503
    finally:
        httpx.delete(f"{base}/emulator/alipay/faults")
    retried = open_with_key(stack, code, key)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_setting_the_webhook_endpoint_twice_with_one_key_keeps_one_secret(
    api: SignedClient, webhooks: Any
) -> None:
    _, url = webhooks
    key = uuid.uuid4().hex
    body = {"url": url}
    path = "/api/v1/webhook-endpoint"
    first = api.http.put(
        path, json=body, headers={**api.headers("PUT", path, _json(body)), "Idempotency-Key": key}
    )
    again = api.http.put(
        path, json=body, headers={**api.headers("PUT", path, _json(body)), "Idempotency-Key": key}
    )
    assert first.status_code == again.status_code == 200
    assert again.json()["secret"] == first.json()["secret"]


def _json(body: dict[str, Any]) -> bytes:
    return httpx.Request("PUT", "http://x", json=body).content


def test_a_pos_retrying_a_barcode_payment_charges_the_payer_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    from tests.integration.channel_kit import barcode, device_client

    code = register(api, payer)["payment_code"]
    pos = device_client(stack)
    path = "/api/v1/pos/barcode-payments"
    body = {"payment_code": code, "auth_code": barcode(stack, "wechat")}
    raw = _json_post(body)
    key = uuid.uuid4().hex
    first = pos.http.post(
        path, content=raw, headers={**pos.headers("POST", path, raw), "Idempotency-Key": key}
    )
    before = order_count(stack)
    again = pos.http.post(
        path, content=raw, headers={**pos.headers("POST", path, raw), "Idempotency-Key": key}
    )
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json()
    assert first.json()["status"] == "succeeded"
    assert order_count(stack) == before


def _json_post(body: dict[str, Any]) -> bytes:
    return httpx.Request("POST", "http://x", json=body).content
