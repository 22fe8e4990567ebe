"""Aggregate QR (聚合码) paid from every emulated wallet; barcodes routed by prefix at a window."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from publicpay.api.routes.payments import barcode as barcode_route
from publicpay.emulators.wallet import WECHAT_USER_AGENT
from publicpay.services.payments.barcode import BarcodePolling
from tests.integration.channel_kit import (
    CHANNELS,
    barcode,
    base,
    device_client,
    journals,
    open_order,
    orders_of,
    payable_status,
    register,
    scan,
    wait_status,
)
from tests.support.client import SignedClient

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize("channel", CHANNELS)
def test_aggregate_qr_is_paid_by_each_wallet_through_its_own_channel(
    stack: Any, api: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = register(api, payer)["payment_code"]
    aggregate = open_order(stack, code, "aggregate")
    assert aggregate["qr_code"].startswith(f"{base(stack)}/pay/a/{code}.")
    assert aggregate["channel"] == "aggregate"
    assert orders_of(stack, code) == []  # nothing opened until a wallet opens the code

    paid = scan(stack, aggregate["qr_code"], channel)

    assert paid.status_code == 200, paid.text
    status = wait_status(stack, code, "paid")
    assert status["channel"] == channel
    [order] = orders_of(stack, code)
    assert (order["channel"], order["status"]) == (channel, "succeeded")
    assert journals(stack, code) == ["payment"]


def test_aggregate_code_of_a_paid_payable_is_refused_to_a_second_wallet(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    qr = open_order(stack, code, "aggregate")["qr_code"]
    assert scan(stack, qr, "alipay").status_code == 200
    wait_status(stack, code, "paid")

    second = scan(stack, qr, "unionpay")

    assert second.status_code == 409  # the page refuses: the payable is paid
    assert [o["channel"] for o in orders_of(stack, code)] == ["alipay"]


def test_aggregate_code_opened_in_a_desktop_browser_lists_the_wallets(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    qr = open_order(stack, code, "aggregate")["qr_code"]

    page = httpx.get(qr, headers={"User-Agent": DESKTOP_UA})

    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    for name in ("支付宝", "微信", "云闪付"):
        assert name in page.text
    assert f'href="/pay/{code}"' in page.text
    assert orders_of(stack, code) == []


def test_forged_aggregate_token_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    qr = open_order(stack, code, "aggregate")["qr_code"]
    forged = qr[:-4] + ("0000" if not qr.endswith("0000") else "1111")

    page = httpx.get(forged, headers={"User-Agent": DESKTOP_UA})

    assert page.status_code == 410
    assert "二维码无效" in page.text


def test_wechat_without_openid_is_asked_to_open_in_wechat(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    qr = open_order(stack, code, "aggregate")["qr_code"]

    page = httpx.get(qr, headers={"User-Agent": WECHAT_USER_AGENT})

    assert page.status_code == 400
    assert "openid" in page.text
    assert orders_of(stack, code) == []


# --- barcodes at the window -----------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_scanned_barcode_routes_to_its_wallets_channel_and_pays(
    stack: Any, api: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = register(api, payer)["payment_code"]
    auth_code = barcode(stack, channel)

    response = device_client(stack).post(
        "/api/v1/pos/barcode-payments", {"payment_code": code, "auth_code": auth_code}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["channel"], body["status"], body["status_label"]) == (
        channel,
        "succeeded",
        "支付成功",
    )
    assert payable_status(stack, code)["status"] == "paid"
    [order] = orders_of(stack, code)
    assert (order["method"], order["order_no"]) == ("barcode", body["order_no"])
    assert journals(stack, code) == ["payment"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_barcode_waiting_for_the_password_is_polled_until_paid(
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
    channel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(barcode_route, "POLLING", BarcodePolling(polls=10, interval_s=0.01))
    code = register(api, payer)["payment_code"]
    auth_code = barcode(stack, channel, needs_password=True)

    response = device_client(stack).post(
        "/api/v1/pos/barcode-payments", {"payment_code": code, "auth_code": auth_code}
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    assert payable_status(stack, code)["status"] == "paid"


def test_barcode_never_confirmed_is_cancelled_and_the_order_closed(
    stack: Any, api: SignedClient, payer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(barcode_route, "POLLING", BarcodePolling(polls=1, interval_s=0.01))
    code = register(api, payer)["payment_code"]
    auth_code = barcode(stack, "alipay", needs_password=True)  # needs 2 queries; we give 1

    response = device_client(stack).post(
        "/api/v1/pos/barcode-payments", {"payment_code": code, "auth_code": auth_code}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["status_label"]) == (
        "closed",
        "支付未完成，已撤销",
    )
    order_no = response.json()["order_no"]
    trade = httpx.get(f"{base(stack)}/emulator/alipay/trades/{order_no}").json()
    assert trade["trade_status"] == "TRADE_CLOSED"
    assert payable_status(stack, code)["status"] == "unpaid"
    assert journals(stack, code) == []


@pytest.mark.parametrize(
    "auth_code", ["991234567890123456", "2812345", "62abc", "1012345678901234567"]
)
def test_unknown_barcode_is_refused_before_anything_is_stored(
    stack: Any, api: SignedClient, payer: dict[str, str], auth_code: str
) -> None:
    code = register(api, payer)["payment_code"]

    response = device_client(stack).post(
        "/api/v1/pos/barcode-payments", {"payment_code": code, "auth_code": auth_code}
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"]["auth_code"] == "无法识别的付款码"
    assert orders_of(stack, code) == []


def test_barcode_payment_needs_a_device_credential(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]

    response = api.post(
        "/api/v1/pos/barcode-payments",
        {"payment_code": code, "auth_code": barcode(stack, "alipay")},
    )

    assert response.status_code == 401
    assert orders_of(stack, code) == []
