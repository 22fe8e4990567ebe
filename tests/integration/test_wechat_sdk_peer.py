"""Wire compatibility with an independent peer: the `wechatpayv3` SDK (public-key mode).

- the SDK's `callback` accepts what the emulator sends;
- our adapter accepts a notification signed with the SDK's own signing utility;
- the emulator accepts requests whose Authorization the SDK built, and the SDK accepts its answers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Request, Response
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3 import utils as sdk_utils

from publicpay.adapters.channels.wechatpay import WechatPayConfig, WechatPayGateway
from publicpay.domain.payments.channels import NotificationKind, QrOrderRequest, TradeState
from publicpay.emulators.wechat import WechatPayEmulator
from publicpay.emulators.wechat.state import CHINA
from tests.support.polling import wait_until
from tests.support.servers import serve

MCHID, APPID, SERIAL = "1900009192", "wx8888888888888888", "3775B6A45ACD588826D15E583A95F5DD"
APIV3_KEY = "0123456789abcdefghijABCDEFGHIJ12"
_numbers = itertools.count(1)


def order_no() -> str:
    return f"SDK{int(time.time())}{next(_numbers):05d}"


def rsa_pair() -> tuple[rsa.RSAPrivateKey, bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, private, public


@dataclass
class Peer:
    base: str
    emulator: WechatPayEmulator
    private_pem: bytes
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def mount(self) -> str:
        return f"{self.base}/emulator/wechat"

    def sdk(self, public_pem: bytes | None = None) -> WeChatPay:
        """The SDK as a merchant, pointed at the emulator instead of api.mch.weixin.qq.com."""
        pay = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=MCHID,
            private_key=self.private_pem.decode(),
            cert_serial_no=SERIAL,
            appid=APPID,
            apiv3_key=APIV3_KEY,
            notify_url=f"{self.base}/notify",
            public_key=(public_pem or self.emulator.platform_public_key_pem).decode(),
            public_key_id=self.emulator.platform_public_key_id,
            timeout=(5, 5),
        )
        return pay  # its requests reach the emulator: see `sdk_transport_to_the_emulator`

    def gateway(self, **changes: Any) -> WechatPayGateway:
        settings: dict[str, Any] = {
            "mchid": MCHID,
            "appid": APPID,
            "merchant_serial_no": SERIAL,
            "merchant_private_key_pem": self.private_pem,
            "apiv3_key": APIV3_KEY,
            "platform_public_key_pem": self.emulator.platform_public_key_pem,
            "platform_public_key_id": self.emulator.platform_public_key_id,
            "base_url": self.mount,
        }
        return WechatPayGateway(WechatPayConfig(**(settings | changes)))

    def notes(self, count: int = 1) -> list[tuple[dict[str, str], bytes]]:
        def arrived() -> list[tuple[dict[str, str], bytes]]:
            with self.lock:
                return list(self.received) if len(self.received) >= count else []

        return wait_until(arrived, message="notification did not arrive")


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    _, private_pem, public_pem = rsa_pair()
    emulator = WechatPayEmulator(time_scale=0.001)
    emulator.register_merchant(MCHID, APPID, SERIAL, public_pem, APIV3_KEY)
    app = FastAPI()
    holder: list[Peer] = []

    @app.post("/notify")
    async def take(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with holder[0].lock:
            holder[0].received.append((headers, await request.body()))
        return Response(status_code=204)

    app.mount("/emulator/wechat", emulator.create_app())
    with serve(app) as base:
        holder.append(Peer(base, emulator, private_pem))
        yield holder[0]
    emulator.close()


WECHAT_PAY = "https://api.mch.weixin.qq.com"  # where the SDK sends its requests


@pytest.fixture(scope="module", autouse=True)
def sdk_transport_to_the_emulator(peer: Peer) -> Iterator[None]:
    """The SDK's transport (`requests`) sends what it addresses to WeChat Pay to the emulator."""
    send = requests.api.request

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        if url.startswith(WECHAT_PAY):
            url = peer.mount + url.removeprefix(WECHAT_PAY)
        return send(method, url, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.api, "request", request)
        yield


@pytest.fixture(autouse=True)
def fresh_inbox(peer: Peer) -> None:
    with peer.lock:
        peer.received.clear()


def test_sdk_callback_accepts_the_emulator_payment_notification(peer: Peer) -> None:
    request = QrOrderRequest(
        order_no(), 4321, "不动产登记费", f"{peer.base}/notify", datetime.now(UTC) + timedelta(1)
    )
    qr = peer.gateway().create_qr_order(request)
    httpx.post(f"{peer.mount}/scan", json={"qr_code": qr.qr_code})
    headers, body = peer.notes()[0]

    result = peer.sdk().callback(headers, body)

    assert result is not None
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"]["out_trade_no"] == request.order_no
    assert result["resource"]["amount"]["total"] == 4321
    assert result["resource"]["trade_state"] == "SUCCESS"


def test_sdk_callback_accepts_the_emulator_refund_notification(peer: Peer) -> None:
    sdk = peer.sdk()
    trade_no = order_no()
    code, answer = sdk.pay(description="罚款", out_trade_no=trade_no, amount={"total": 900})
    httpx.post(f"{peer.mount}/scan", json={"qr_code": json.loads(answer)["code_url"]})
    peer.notes(1)
    code, _ = sdk.refund(
        out_refund_no=trade_no + "R",
        amount={"refund": 400, "total": 900, "currency": "CNY"},
        out_trade_no=trade_no,
    )
    assert code == 200
    headers, body = peer.notes(2)[1]

    result = sdk.callback(headers, body)

    assert result is not None
    assert result["event_type"] == "REFUND.SUCCESS"
    assert result["resource"]["out_refund_no"] == trade_no + "R"
    assert result["resource"]["amount"]["refund"] == 400


def test_sdk_callback_refuses_a_changed_emulator_notification(peer: Peer) -> None:
    sdk = peer.sdk()
    trade_no = order_no()
    _, answer = sdk.pay(description="罚款", out_trade_no=trade_no, amount={"total": 77})
    httpx.post(f"{peer.mount}/scan", json={"qr_code": json.loads(answer)["code_url"]})
    headers, body = peer.notes()[0]
    assert sdk.callback(headers, body.replace(b'"summary"', b'"Summary"')) is None


def sdk_signed_notification(
    platform_key: rsa.RSAPrivateKey, key_id: str, resource: dict[str, Any]
) -> tuple[dict[str, str], bytes]:
    """A notification as the platform would send it, signed with the SDK's rsa_sign."""
    nonce = "A1b2C3d4E5f6"
    plain = json.dumps(resource, ensure_ascii=False).encode()
    ciphertext = AESGCM(APIV3_KEY.encode()).encrypt(nonce.encode(), plain, b"transaction")
    envelope = {
        "id": "EV-2026112212345678",
        "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": "transaction",
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False)
    timestamp, sign_nonce = str(int(time.time())), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    signature = sdk_utils.rsa_sign(platform_key, f"{timestamp}\n{sign_nonce}\n{body}\n")
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": sign_nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return headers, body.encode()


def test_adapter_accepts_a_notification_signed_by_the_sdk(peer: Peer) -> None:
    platform_key, _, platform_public = rsa_pair()
    key_id = "PUB_KEY_ID_0114232134912410000000000000"
    resource = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": "SDKNOTE000001",
        "transaction_id": "4200000000202611220000000001",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMB_DEBIT",
        "success_time": "2026-11-22T10:20:30+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 2500, "payer_total": 2500, "currency": "CNY", "payer_currency": "CNY"},
    }
    headers, body = sdk_signed_notification(platform_key, key_id, resource)
    gateway = peer.gateway(platform_public_key_pem=platform_public, platform_public_key_id=key_id)

    note = gateway.parse_notification(headers, body)

    assert (note.order_no, note.amount_fen, note.state) == (
        "SDKNOTE000001",
        2500,
        TradeState.SUCCEEDED,
    )
    assert note.kind is NotificationKind.PAYMENT
    assert note.paid_at == datetime(2026, 11, 22, 2, 20, 30, tzinfo=UTC)
    sdk_view = sdk_utils.aes_decrypt(
        nonce="A1b2C3d4E5f6",
        ciphertext=json.loads(body)["resource"]["ciphertext"],
        associated_data="transaction",
        apiv3_key=APIV3_KEY,
    )
    assert json.loads(sdk_view)["out_trade_no"] == "SDKNOTE000001"


def test_emulator_serves_requests_signed_by_the_sdk(peer: Peer) -> None:
    sdk = peer.sdk()
    trade_no = order_no()

    code, answer = sdk.pay(description="考试报名费", out_trade_no=trade_no, amount={"total": 5000})
    assert code == 200
    assert json.loads(answer)["code_url"].startswith("weixin://wxpay/")
    code, answer = sdk.query(out_trade_no=trade_no)
    assert code == 200
    assert json.loads(answer)["trade_state"] == "NOTPAY"
    code, answer = sdk.close(out_trade_no=trade_no)
    assert (code, answer) == (204, b"")
    assert peer.gateway().query(trade_no).state is TradeState.CLOSED


def test_sdk_refuses_answers_when_it_trusts_another_platform_key(peer: Peer) -> None:
    sdk = peer.sdk(public_pem=rsa_pair()[2])
    with pytest.raises(Exception, match="failed to verify the signature"):
        sdk.pay(description="罚款", out_trade_no=order_no(), amount={"total": 1})


def test_sdk_downloads_the_gzip_trade_bill_and_its_hash_matches(peer: Peer) -> None:
    sdk = peer.sdk()
    trade_no = order_no()
    _, answer = sdk.pay(description="证照工本费", out_trade_no=trade_no, amount={"total": 1500})
    httpx.post(f"{peer.mount}/scan", json={"qr_code": json.loads(answer)["code_url"]})
    today = datetime.now(CHINA).date().isoformat()

    code, answer = sdk.trade_bill(bill_date=today)
    assert code == 200
    applied = json.loads(answer)
    assert applied["download_url"].startswith(peer.mount + "/v3/billdownload/")
    as_wechat_pay_gives_it = WECHAT_PAY + applied["download_url"].removeprefix(peer.mount)
    code, content = sdk.download_bill(as_wechat_pay_gives_it)

    assert code == 200
    assert hashlib.sha1(content).hexdigest() == applied["hash_value"]
    assert f"`{trade_no}," in gzip.decompress(content).decode()


def test_jsapi_pay_sign_equals_the_sdk_sign(peer: Peer) -> None:
    request = QrOrderRequest(
        order_no(), 100, "测试", f"{peer.base}/notify", datetime.now(UTC) + timedelta(1)
    )
    bundle = peer.gateway().jsapi_prepay(request, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    fields = [bundle["appId"], bundle["timeStamp"], bundle["nonceStr"], bundle["package"]]
    assert peer.sdk().sign(fields) == bundle["paySign"]
