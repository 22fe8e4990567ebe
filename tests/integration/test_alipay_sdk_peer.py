"""python-alipay-sdk as an independent peer of our Alipay emulator and adapter (wire compatibility).

The SDK signs and verifies with pycryptodomex, we use `cryptography`: agreement means both sides
build the same signed strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import alipay as alipay_sdk
import httpx
import pytest
from alipay import AliPay
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from publicpay.adapters.channels.alipay import AlipayConfig, AlipayGateway
from publicpay.adapters.channels.alipay_sign import load_public_key, verified_response
from publicpay.domain.payments.channels import NotificationKind, TradeState
from publicpay.emulators.alipay import AlipayEmulator
from tests.support.servers import serve

APP_ID = "2021000000000002"


def key_pems() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class Peers:
    emulator: AlipayEmulator
    gateway: AlipayGateway  # ours, as the merchant
    sdk: Any  # the SDK as the merchant (app key, trusts the emulator's key)
    sdk_as_alipay: Any  # the SDK holding the "Alipay" private key
    gateway_url: str
    root: str


class _Answer:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


@pytest.fixture(scope="module")
def peers() -> Iterator[Peers]:
    app_private, app_public = key_pems()
    alipay_private, alipay_public = key_pems()
    emulator = AlipayEmulator(private_key_pem=alipay_private, time_scale=0.0001)
    emulator.register_app(APP_ID, app_public)
    assert emulator.public_key_pem == alipay_public
    parent = FastAPI()
    parent.mount("/emulator/alipay", emulator.create_app())
    with serve(parent) as base:
        gateway_url = f"{base}/emulator/alipay/gateway.do"
        config = AlipayConfig(APP_ID, app_private, alipay_public, gateway_url)
        sdk = AliPay(
            appid=APP_ID,
            app_private_key_string=app_private.decode(),
            alipay_public_key_string=alipay_public.decode(),
            sign_type="RSA2",
        )
        sdk_as_alipay = AliPay(
            appid=APP_ID,
            app_private_key_string=alipay_private.decode(),
            alipay_public_key_string=app_public.decode(),
            sign_type="RSA2",
        )
        gateway = AlipayGateway(config)
        yield Peers(emulator, gateway, sdk, sdk_as_alipay, gateway_url, f"{base}/emulator/alipay")
        emulator.close()
        gateway.close_client()


ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"  # where the SDK sends its requests


@pytest.fixture
def sdk_over_http(peers: Peers, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's transport (its `urlopen(url)` GETs to Alipay's gateway) goes through httpx to
    the emulator's gateway instead."""

    def urlopen(url: str, timeout: float = 15) -> _Answer:
        assert url.startswith(ALIPAY_GATEWAY + "?"), url
        local = peers.gateway_url + url.removeprefix(ALIPAY_GATEWAY)
        return _Answer(httpx.get(local, timeout=timeout).content)

    monkeypatch.setattr(alipay_sdk, "urlopen", urlopen)


def order_no() -> str:
    return f"SDK{datetime.now(UTC):%H%M%S%f}"


def test_sdk_signs_requests_the_emulator_accepts_and_verifies_its_answers(
    peers: Peers, sdk_over_http: None
) -> None:
    no = order_no()
    created = peers.sdk.api_alipay_trade_precreate(
        subject="不动产登记费", out_trade_no=no, total_amount="80.00"
    )
    assert created["code"] == "10000"
    assert created["qr_code"].startswith("https://qr.alipay.com/bax0")
    assert peers.emulator.trade_view(no)["subject"] == "不动产登记费"  # type: ignore[index]
    httpx.post(f"{peers.root}/scan", json={"qr_code": created["qr_code"]}).raise_for_status()
    queried = peers.sdk.api_alipay_trade_query(out_trade_no=no)
    assert (queried["trade_status"], queried["total_amount"]) == ("TRADE_SUCCESS", "80.00")
    refunded = peers.sdk.api_alipay_trade_refund("20.00", out_trade_no=no, out_request_no="R1")
    assert (refunded["fund_change"], refunded["refund_fee"]) == ("Y", "20.00")
    bill = peers.sdk.server_api(
        "alipay.data.dataservice.bill.downloadurl.query",
        {"bill_type": "trade", "bill_date": "2026-01-05"},
    )
    assert bill["bill_download_url"].startswith(peers.root)


def test_sdk_verifies_signed_business_errors(peers: Peers, sdk_over_http: None) -> None:
    answer = peers.sdk.api_alipay_trade_close(out_trade_no="NO-SUCH-ORDER")
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    with pytest.raises(alipay_sdk.AliPayException):  # unknown method: signed error_response
        peers.sdk.server_api("alipay.no.such.method", {"a": "b"})


def test_sdk_sign_data_form_is_accepted_when_posted(peers: Peers) -> None:
    signed = peers.sdk.client_api("alipay.trade.query", {"out_trade_no": "NOPE"})
    raw = httpx.post(
        peers.gateway_url,
        content=signed,
        headers={"content-type": "application/x-www-form-urlencoded"},
    ).text
    alipay_key = load_public_key(peers.emulator.public_key_pem)
    answer = verified_response(raw, "alipay.trade.query", alipay_key)
    assert answer["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # signature accepted, order unknown


def test_sdk_with_a_foreign_key_is_refused_by_the_emulator(
    peers: Peers, sdk_over_http: None
) -> None:
    stranger = AliPay(
        appid=APP_ID,
        app_private_key_string=key_pems()[0].decode(),
        alipay_public_key_string=peers.emulator.public_key_pem.decode(),
    )
    answer = stranger.api_alipay_trade_query(out_trade_no="A")  # the refusal is signed
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-signature")


def test_sdk_verifies_a_notification_the_emulator_signed(peers: Peers) -> None:
    captured: list[bytes] = []

    def merchant(request: httpx.Request) -> httpx.Response:
        captured.append(request.content)
        return httpx.Response(200, content=b"success")

    emulator = AlipayEmulator(time_scale=0.0001, notify_transport=httpx.MockTransport(merchant))
    app_private, app_public = key_pems()
    emulator.register_app(APP_ID, app_public)
    try:
        trade = emulator.book.precreate(  # straight into the book: no HTTP needed here
            _new_order(order_no(), "http://merchant.test/notify")
        )
        emulator.scan(trade.qr_code)
        assert emulator.notifier.wait_idle(5)
    finally:
        emulator.close()
    fields = dict(parse_qsl(captured[0].decode()))
    sdk = AliPay(
        appid=APP_ID,
        app_private_key_string=app_private.decode(),
        alipay_public_key_string=emulator.public_key_pem.decode(),
    )
    signature = fields.pop("sign")
    assert sdk.verify(dict(fields), signature) is True
    fields["total_amount"] = "0.02"
    assert sdk.verify(dict(fields), signature) is False


def _new_order(no: str, notify_url: str) -> Any:
    from publicpay.emulators.alipay.trades import NewOrder

    return NewOrder(APP_ID, no, 1, "测试", notify_url)


def test_adapter_accepts_a_notification_the_sdk_signed_as_alipay(peers: Peers) -> None:
    fields = {
        "notify_time": "2026-11-22 10:00:05",
        "notify_type": "trade_status_sync",
        "notify_id": "2026112200222100005012345678",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026112222001412345678901234",
        "out_trade_no": "PP-SDK-1",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "66.60",
        "gmt_payment": "2026-11-22 10:00:04",
        "subject": "行政事业性收费",
        "fund_bill_list": '[{"amount":"66.60","fundChannel":"ALIPAYACCOUNT"}]',
    }
    body = (peers.sdk_as_alipay.sign_data(dict(fields)) + "&sign_type=RSA2").encode()
    notification = peers.gateway.parse_notification({}, body)
    assert notification.kind is NotificationKind.PAYMENT
    assert notification.state is TradeState.SUCCEEDED
    assert (notification.order_no, notification.amount_fen) == ("PP-SDK-1", 6660)
    assert notification.paid_at == datetime(2026, 11, 22, 2, 0, 4, tzinfo=UTC)


def test_adapter_and_sdk_compute_the_same_request_signature(peers: Peers) -> None:
    biz = {"out_trade_no": "PP1", "total_amount": "1.00", "subject": "工本费"}
    ours = peers.gateway.request_params("alipay.trade.precreate", biz, "https://pp.example/n")
    signature = ours.pop("sign")
    sdk_signed = dict(parse_qsl(peers.sdk.sign_data(dict(ours))))
    assert sdk_signed["sign"] == signature
    assert {k: v for k, v in sdk_signed.items() if k != "sign"} == ours
