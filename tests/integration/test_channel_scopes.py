"""Merchant accounts per unit or region: a finance bureau configures them (validated by a test
call), payments of that unit go through them, notifications are verified with their keys."""

from __future__ import annotations

from typing import Any

import httpx

from publicpay.adapters.crypto.rsa_keys import generate_private_key_pem, public_key_pem
from tests.integration.test_payment_flow import open_order, register, scan, wait_status
from tests.support.client import SignedClient


def finance(stack: Any) -> SignedClient:
    fin = stack.info["finance"]
    return SignedClient(stack.info["base_url"], fin["app_id"], fin["app_secret"])


def school_alipay_account(stack: Any, app_id: str) -> dict[str, Any]:
    private = generate_private_key_pem()
    stack.alipay.register_app(app_id, public_key_pem(private))  # the school's own Alipay app
    return {
        "app_id": app_id,
        "app_private_key_pem": private.decode(),
        "alipay_public_key_pem": stack.alipay.public_key_pem.decode(),
        "gateway_url": f"{stack.info['base_url']}/emulator/alipay/gateway.do",
    }


def test_a_units_own_merchant_account_takes_its_payments(
    stack: Any, api: SignedClient, school_api: SignedClient, payer: dict[str, str]
) -> None:
    school = stack.info["units"][2]
    config = school_alipay_account(stack, "2021000000009901")
    saved = finance(stack).put(
        "/api/v1/admin/channel-accounts",
        {"channel": "alipay", "scope": f"unit:{school['code']}", "config": config},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["config"]["app_private_key_pem"] == "******"

    created = register(school_api, payer, "JY0102")
    order = open_order(stack, created["payment_code"])
    base = stack.info["base_url"]
    trade = httpx.get(f"{base}/emulator/alipay/trades/{order['order_no']}").json()
    assert trade["app_id"] == "2021000000009901"
    assert "/api/v1/notify/alipay/" in trade["notify_url"]
    assert scan(stack, order["qr_code"]).status_code == 200
    assert wait_status(stack, created["payment_code"], "paid")

    other = open_order(stack, register(api, payer)["payment_code"])
    trade = httpx.get(f"{base}/emulator/alipay/trades/{other['order_no']}").json()
    assert trade["app_id"] == "2021000000000001"  # the vehicle office: platform default


def test_an_account_the_channel_rejects_is_not_saved(stack: Any) -> None:
    config = school_alipay_account(stack, "2021000000009902")
    config["app_private_key_pem"] = generate_private_key_pem().decode()  # not the registered key
    response = finance(stack).put(
        "/api/v1/admin/channel-accounts",
        {"channel": "alipay", "scope": "region:330105", "config": config},
    )
    assert response.status_code == 422
    listed = finance(stack).get("/api/v1/admin/channel-accounts").json()
    assert all(a["scope"] != "region:330105" for a in listed)


def test_a_bureau_cannot_configure_outside_its_region(stack: Any) -> None:
    config = school_alipay_account(stack, "2021000000009903")
    above = finance(stack).put(
        "/api/v1/admin/channel-accounts",
        {"channel": "alipay", "scope": "region:330100", "config": config},
    )
    assert above.status_code == 403
    malformed = finance(stack).put(
        "/api/v1/admin/channel-accounts", {"channel": "alipay", "scope": "city", "config": config}
    )
    assert malformed.status_code == 422


def test_unit_credentials_cannot_administer_channels(api: SignedClient) -> None:
    assert api.get("/api/v1/admin/channel-accounts").status_code == 401
