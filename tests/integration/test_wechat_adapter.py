"""WeChat Pay v3 adapter against the emulator, both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request, Response

from publicpay.adapters.channels.wechatpay import WechatPayConfig, WechatPayGateway
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, InvalidNotification
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    NotificationKind,
    QrOrderRequest,
    RefundRequest,
    RefundState,
    TradeState,
)
from publicpay.emulators.wechat import WechatPayEmulator
from publicpay.emulators.wechat import notify as wechat_notify
from publicpay.emulators.wechat.state import CHINA
from tests.support.polling import wait_until
from tests.support.servers import serve

MCHID, APPID, SERIAL = "1900009191", "wxd678efh567hg6787", "5157F09EFDC096DE15EBE81A47057A72"
APIV3_KEY = "a12d3924fd499edac8a5efc9ab12cd34"
_numbers = itertools.count(1)


def order_no(prefix: str = "T") -> str:
    return f"{prefix}{int(time.time())}{next(_numbers):05d}"


def rsa_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class Receiver:
    """The merchant's notify endpoint: records what arrives, answers 204 (or fails on demand)."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)  # path → 500s still to give
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class World:
    base: str
    emulator: WechatPayEmulator
    receiver: Receiver
    config: WechatPayConfig
    gateway: WechatPayGateway

    @property
    def mount(self) -> str:
        return f"{self.base}/emulator/wechat"

    def notify_url(self, name: str) -> str:
        return f"{self.base}/notify/{name}"

    def control(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        return httpx.request(method, self.mount + path, json=payload, timeout=5)

    def fault(self, out_trade_no: str, fault: str, seconds: float | None = None) -> None:
        body = {"out_trade_no": out_trade_no, "fault": fault, "seconds": seconds}
        assert self.control("POST", "/faults", body).status_code == 200

    def wait(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
        wait_until(condition, timeout_s=timeout_s)

    def arrived(self, name: str, count: int = 1) -> list[tuple[dict[str, str], bytes]]:
        def matching() -> list[tuple[dict[str, str], bytes]]:
            with self.receiver.lock:
                return [r for r in self.receiver.received if r[0]["x-path"].endswith(name)]

        self.wait(lambda: len(matching()) >= count)
        return matching()

    def qr_order(self, name: str, amount_fen: int = 12050) -> QrOrderRequest:
        return QrOrderRequest(
            order_no=order_no(),
            amount_fen=amount_fen,
            subject="机动车驾驶证工本费",
            notify_url=self.notify_url(name),
            expires_at=datetime.now(UTC) + timedelta(minutes=15),
        )

    def paid_order(self, name: str, amount_fen: int = 12050) -> QrOrderRequest:
        request = self.qr_order(name, amount_fen)
        qr = self.gateway.create_qr_order(request)
        assert self.control("POST", "/scan", {"qr_code": qr.qr_code}).status_code == 200
        return request


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/notify/{name}")
    async def take(name: str, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()} | {"x-path": name}
        with receiver.lock:
            receiver.received.append((headers, body))
            left = receiver.failures_left.get(name, 0)
            if left:
                receiver.failures_left[name] = left - 1
                return Response(status_code=500)
        return Response(status_code=204)

    return app


@pytest.fixture(scope="module")
def merchant_keys() -> tuple[bytes, bytes]:
    return rsa_pair()


@pytest.fixture(scope="module")
def world(merchant_keys: tuple[bytes, bytes]) -> Iterator[World]:
    private_pem, public_pem = merchant_keys
    emulator = WechatPayEmulator(time_scale=0.001)
    emulator.register_merchant(MCHID, APPID, SERIAL, public_pem, APIV3_KEY)
    receiver = Receiver()
    app = receiver_app(receiver)
    app.mount("/emulator/wechat", emulator.create_app())
    with serve(app) as base:
        config = WechatPayConfig(
            mchid=MCHID,
            appid=APPID,
            merchant_serial_no=SERIAL,
            merchant_private_key_pem=private_pem,
            apiv3_key=APIV3_KEY,
            platform_public_key_pem=emulator.platform_public_key_pem,
            platform_public_key_id=emulator.platform_public_key_id,
            base_url=f"{base}/emulator/wechat",
            codepay_poll_count=5,
            codepay_poll_interval_s=0.01,
        )
        yield World(base, emulator, receiver, config, WechatPayGateway(config))
    emulator.close()


def resign(world: World, body: bytes, *, at: float | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", **world.emulator.platform.headers(body, at=at)}


# -- payments ----------------------------------------------------------------------------------


def test_native_order_scan_sends_notification_that_parses_and_query_succeeds(world: World) -> None:
    request = world.qr_order("native")
    qr = world.gateway.create_qr_order(request)
    assert qr.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")

    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    headers, body = world.arrived("native")[0]
    note = world.gateway.parse_notification(headers, body)

    assert note.channel is Channel.WECHAT
    assert note.kind is NotificationKind.PAYMENT
    assert (note.order_no, note.amount_fen, note.state) == (
        request.order_no,
        12050,
        TradeState.SUCCEEDED,
    )
    assert note.notify_id == json.loads(body)["id"]
    assert note.app_id == MCHID
    assert note.paid_at is not None
    assert note.paid_at.tzinfo is not None
    result = world.gateway.query(request.order_no)
    assert result.state is TradeState.SUCCEEDED
    assert result.channel_trade_no == note.channel_trade_no
    assert result.amount_fen == 12050


def test_notification_is_encrypted_with_the_transaction_associated_data(world: World) -> None:
    world.paid_order("envelope")
    headers, body = world.arrived("envelope")[0]
    envelope = json.loads(body)
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["resource"]["associated_data"] == "transaction"
    assert len(envelope["resource"]["nonce"]) == 12
    assert "out_trade_no" not in body.decode()
    assert headers["wechatpay-serial"] == world.emulator.platform_public_key_id


def test_query_of_unknown_order_is_not_found(world: World) -> None:
    assert world.gateway.query("NOSUCHORDER123").state is TradeState.NOT_FOUND


def test_same_order_twice_returns_the_same_code_url(world: World) -> None:
    request = world.qr_order("twice")
    assert world.gateway.create_qr_order(request) == world.gateway.create_qr_order(request)


def test_reused_order_no_with_another_amount_is_rejected(world: World) -> None:
    request = world.qr_order("reuse")
    world.gateway.create_qr_order(request)
    with pytest.raises(ChannelRejected) as caught:
        world.gateway.create_qr_order(replace(request, amount_fen=1))
    assert caught.value.channel_code == "OUT_TRADE_NO_USED"


def barcode(world: World, **options: Any) -> str:
    code = world.control("POST", "/barcodes", options).json()["auth_code"]
    assert len(code) == 18
    assert 10 <= int(code[:2]) <= 15
    return str(code)


def barcode_request(world: World, code: str, amount_fen: int = 5000) -> BarcodePayRequest:
    return BarcodePayRequest(order_no(), amount_fen, "罚没收入", code, world.notify_url("bar"))


def test_codepay_without_password_succeeds_at_once(world: World) -> None:
    request = barcode_request(world, barcode(world))
    result = world.gateway.pay_barcode(request)
    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == 5000
    assert result.channel_trade_no
    assert result.channel_trade_no.startswith("42000")


def test_codepay_userpaying_is_polled_until_paid(world: World) -> None:
    request = barcode_request(world, barcode(world, needs_password=True, queries_to_pay=3))
    result = world.gateway.pay_barcode(request)
    assert result.state is TradeState.SUCCEEDED
    assert world.control("GET", f"/trades/{request.order_no}").json()["trade_state"] == "SUCCESS"


def test_codepay_userpaying_that_never_completes_is_reversed(world: World) -> None:
    request = barcode_request(world, barcode(world, needs_password=True, queries_to_pay=99))
    result = world.gateway.pay_barcode(request)
    assert result.state is TradeState.CLOSED
    assert world.control("GET", f"/trades/{request.order_no}").json()["trade_state"] == "REVOKED"
    assert world.gateway.query(request.order_no).state is TradeState.CLOSED


def test_codepay_answers_202_userpaying_on_the_wire(world: World) -> None:
    request = barcode_request(world, barcode(world, needs_password=True))
    with httpx.Client() as client:
        seen: list[int] = []
        client.event_hooks["response"] = [lambda response: seen.append(response.status_code)]
        gateway = WechatPayGateway(replace(world.config, codepay_poll_count=0), client)
        assert gateway.pay_barcode(request).state is TradeState.CLOSED
    assert seen == [202, 204]


def test_close_unpaid_order_makes_it_closed(world: World) -> None:
    request = world.qr_order("close")
    qr = world.gateway.create_qr_order(request)
    world.gateway.close(request.order_no)
    assert world.gateway.query(request.order_no).state is TradeState.CLOSED
    scan = world.control("POST", "/scan", {"qr_code": qr.qr_code})
    assert scan.json()["code"] == "ORDER_CLOSED"


def test_close_of_paid_order_is_rejected(world: World) -> None:
    request = world.paid_order("closepaid")
    with pytest.raises(ChannelRejected) as caught:
        world.gateway.close(request.order_no)
    assert caught.value.channel_code == "ORDERPAID"


def test_jsapi_pay_sign_verifies_with_the_merchant_public_key(
    world: World, merchant_keys: tuple[bytes, bytes]
) -> None:
    request = world.qr_order("jsapi")
    bundle = world.gateway.jsapi_prepay(request, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert bundle["appId"] == APPID
    assert bundle["signType"] == "RSA"
    assert bundle["package"].startswith("prepay_id=wx")
    assert len(bundle["timeStamp"]) == 10
    message = "\n".join([bundle[k] for k in ("appId", "timeStamp", "nonceStr", "package")]) + "\n"
    public = serialization.load_pem_public_key(merchant_keys[1])
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.b64decode(bundle["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    prepay_id = bundle["package"].removeprefix("prepay_id=")
    world.control("POST", "/jsapi/pay", {"prepay_id": prepay_id})
    note = world.gateway.parse_notification(*world.arrived("jsapi")[0])
    assert note.raw["resource"]["trade_type"] == "JSAPI"
    assert note.raw["resource"]["payer"]["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


# -- refunds -----------------------------------------------------------------------------------


def refund(
    world: World, order: str, refund_no: str, fen: int, name: str = "", total: int = 12050
) -> RefundRequest:
    notify_url = world.notify_url(name) if name else ""
    return RefundRequest(order, refund_no, fen, total, "多缴退费", notify_url)


def test_partial_then_full_refund_with_idempotent_retry(world: World) -> None:
    order = world.paid_order("refunds").order_no
    first = world.gateway.refund(refund(world, order, order + "R1", 2050))
    assert (first.state, first.refund_fen) == (RefundState.PROCESSING, 2050)
    assert first.channel_refund_no
    assert first.channel_refund_no.startswith("50")
    again = world.gateway.refund(refund(world, order, order + "R1", 2050))
    assert again.channel_refund_no == first.channel_refund_no
    assert again.state is RefundState.SUCCEEDED
    rest = world.gateway.refund(refund(world, order, order + "R2", 10000))
    assert rest.refund_fen == 10000
    queried = world.gateway.query_refund(order, order + "R2")
    assert (queried.state, queried.refund_fen) == (RefundState.SUCCEEDED, 10000)
    assert world.gateway.query(order).state is TradeState.REFUNDED
    assert world.control("GET", f"/trades/{order}").json()["refunded"] == 12050


def test_refund_over_the_paid_total_is_rejected(world: World) -> None:
    order = world.paid_order("overrefund").order_no
    world.gateway.refund(refund(world, order, order + "R1", 12000))
    with pytest.raises(ChannelRejected) as caught:
        world.gateway.refund(refund(world, order, order + "R2", 51))
    assert caught.value.channel_code == "INVALID_REQUEST"


def test_refund_query_of_unknown_refund_is_rejected(world: World) -> None:
    with pytest.raises(ChannelRejected) as caught:
        world.gateway.query_refund("X", "NOSUCHREFUND1")
    assert caught.value.channel_code == "RESOURCE_NOT_EXISTS"


def test_refund_notification_is_parsed(world: World) -> None:
    order = world.paid_order("refundpay").order_no
    world.gateway.refund(refund(world, order, order + "R1", 3000, name="refundnote"))
    headers, body = world.arrived("refundnote")[0]
    assert json.loads(body)["resource"]["associated_data"] == "refund"
    note = world.gateway.parse_notification(headers, body)
    assert note.kind is NotificationKind.REFUND
    assert (note.order_no, note.refund_no, note.amount_fen) == (order, order + "R1", 3000)
    assert note.state is RefundState.SUCCEEDED


# -- trade bill --------------------------------------------------------------------------------


def test_trade_bill_is_downloaded_hash_checked_and_parsed(world: World) -> None:
    order = world.paid_order("bill", amount_fen=8800).order_no
    world.gateway.refund(refund(world, order, order + "R1", 800, total=8800))
    today = datetime.now(UTC).astimezone(CHINA).date()

    content = world.gateway.fetch_statement(today)

    lines = content.decode("utf-8").splitlines()
    assert lines[0].startswith("交易时间,公众账号ID,商户号,特约商户号")
    summary_at = lines.index(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    rows = [
        [cell.removeprefix("`") for cell in row]
        for row in csv.reader(io.StringIO("\n".join(lines[1:summary_at])))
    ]
    header = lines[0].split(",")
    mine = [dict(zip(header, row, strict=True)) for row in rows if row[6] == order]
    assert [(r["交易状态"], r["应结订单金额"], r["退款金额"]) for r in mine] == [
        ("SUCCESS", "88.00", "0.00"),
        ("REFUND", "0.00", "8.00"),
    ]
    assert mine[1]["商户退款单号"] == order + "R1"
    assert all(cell.startswith("`") for cell in lines[summary_at + 1].split(","))
    assert int(lines[summary_at + 1].split(",")[0].strip("`")) == len(rows)


def test_trade_bill_of_a_day_without_trades_is_empty(world: World) -> None:
    assert world.gateway.fetch_statement(datetime(2020, 1, 1).date()) == b""


def test_trade_bill_with_wrong_hash_is_refused(world: World) -> None:
    world.paid_order("billhash")
    today = datetime.now(UTC).astimezone(CHINA).date()

    class Corrupting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if "billdownload" not in str(request.url):
                return response
            content = response.read() + b"x"
            return httpx.Response(response.status_code, content=content)

    with httpx.Client(transport=Corrupting()) as client:
        with pytest.raises(ChannelUnavailable, match="SHA1"):
            WechatPayGateway(world.config, client).fetch_statement(today)


# -- notifications: refusals -------------------------------------------------------------------


def payment_note(world: World, name: str) -> tuple[dict[str, str], bytes]:
    world.paid_order(name)
    return world.arrived(name)[0]


def test_notification_with_bad_signature_is_refused(world: World) -> None:
    headers, body = payment_note(world, "badsig")
    forged = dict(headers, **{"wechatpay-signature": base64.b64encode(b"x" * 256).decode()})
    with pytest.raises(InvalidNotification, match="签名"):
        world.gateway.parse_notification(forged, body)


def test_notification_with_changed_body_is_refused(world: World) -> None:
    headers, body = payment_note(world, "changed")
    changed = body.replace(b'"summary":"', b'"summary":"x')
    with pytest.raises(InvalidNotification, match="签名"):
        world.gateway.parse_notification(headers, changed)


def test_notification_with_wrong_serial_is_refused(world: World) -> None:
    headers, body = payment_note(world, "serial")
    with pytest.raises(InvalidNotification, match="Wechatpay-Serial"):
        world.gateway.parse_notification(
            dict(headers, **{"wechatpay-serial": "PUB_KEY_ID_X"}), body
        )


def test_notification_for_another_merchant_is_refused(world: World) -> None:
    request = wechat_notify.notification(
        world.emulator.platform,
        url="http://unused",
        apiv3_key=APIV3_KEY,
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        resource={"mchid": "1900000001", "appid": APPID, "out_trade_no": "T1"},
    )
    with pytest.raises(InvalidNotification, match="商户号"):
        world.gateway.parse_notification(dict(request.headers), request.body)


def test_notification_with_tampered_ciphertext_is_refused(world: World) -> None:
    _, body = payment_note(world, "tamper")
    envelope = json.loads(body)
    data = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    data[3] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(data)).decode()
    tampered = json.dumps(envelope).encode()
    with pytest.raises(InvalidNotification, match="解密"):
        world.gateway.parse_notification(resign(world, tampered), tampered)


def test_stale_notification_is_refused_as_replay(world: World) -> None:
    _, body = payment_note(world, "stale")
    old = resign(world, body, at=time.time() - 301)
    with pytest.raises(InvalidNotification, match="重放"):
        world.gateway.parse_notification(old, body)


def test_malformed_notification_json_is_refused(world: World) -> None:
    body = b'{"id": "EV-1", "resource": '
    with pytest.raises(InvalidNotification, match="JSON"):
        world.gateway.parse_notification(resign(world, body), body)


def test_notification_without_signature_headers_is_refused(world: World) -> None:
    _, body = payment_note(world, "noheaders")
    with pytest.raises(InvalidNotification, match="缺少"):
        world.gateway.parse_notification({"content-type": "application/json"}, body)


def test_ack_follows_the_v3_protocol(world: World) -> None:
    ok, refused = world.gateway.ack(True), world.gateway.ack(False)
    assert (ok.status_code, ok.body) == (204, b"")
    assert refused.status_code == 400
    assert json.loads(refused.body)["code"] == "FAIL"


def test_unacknowledged_notification_is_retried_with_the_same_id(world: World) -> None:
    world.receiver.failures_left["retry"] = 2
    world.paid_order("retry")
    received = world.arrived("retry", count=3)
    ids = {json.loads(body)["id"] for _, body in received}
    assert len(received) == 3
    assert len(ids) == 1
    assert len({headers["wechatpay-nonce"] for headers, _ in received}) == 3


# -- channel answers that must not be trusted --------------------------------------------------


def test_answer_signed_by_another_key_is_channel_unavailable(world: World) -> None:
    other = rsa_pair()[1]
    gateway = WechatPayGateway(replace(world.config, platform_public_key_pem=other))
    with pytest.raises(ChannelUnavailable, match="签名"):
        gateway.create_qr_order(world.qr_order("otherkey"))


def test_answer_with_another_serial_is_channel_unavailable(world: World) -> None:
    gateway = WechatPayGateway(replace(world.config, platform_public_key_id="PUB_KEY_ID_0000"))
    with pytest.raises(ChannelUnavailable, match="Wechatpay-Serial"):
        gateway.query("ANYORDER001")


def test_emulator_refuses_a_bad_authorization(world: World) -> None:
    header = (
        'WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="N",'
        f'signature="{base64.b64encode(b"y" * 256).decode()}",'
        f'timestamp="{int(time.time())}",serial_no="{SERIAL}"'
    )
    response = httpx.get(
        f"{world.mount}/v3/pay/transactions/out-trade-no/X1?mchid={MCHID}",
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "SIGN_ERROR"
    assert response.headers["Wechatpay-Serial"] == world.emulator.platform_public_key_id


def test_request_signed_with_another_merchant_key_is_rejected(world: World) -> None:
    gateway = WechatPayGateway(replace(world.config, merchant_private_key_pem=rsa_pair()[0]))
    with pytest.raises(ChannelRejected) as caught:
        gateway.query("ANYORDER002")
    assert caught.value.channel_code == "SIGN_ERROR"


def test_constructor_does_no_network_io(world: World) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no I/O expected")

    WechatPayGateway(world.config, httpx.Client(transport=httpx.MockTransport(refuse)))


# -- faults ------------------------------------------------------------------------------------


def test_timeout_fault_makes_the_channel_unavailable(world: World) -> None:
    request = world.qr_order("timeout")
    world.fault(request.order_no, "timeout", 1.5)
    gateway = WechatPayGateway(replace(world.config, timeout_s=0.5))
    with pytest.raises(ChannelUnavailable, match="超时"):
        gateway.create_qr_order(request)


def test_5xx_fault_makes_the_channel_unavailable(world: World) -> None:
    request = world.qr_order("5xx")
    world.fault(request.order_no, "error_5xx")
    with pytest.raises(ChannelUnavailable, match="500"):
        world.gateway.query(request.order_no)
    world.control("DELETE", f"/faults?out_trade_no={request.order_no}")
    assert world.gateway.query(request.order_no).state is TradeState.NOT_FOUND


def test_lost_notification_is_never_sent(world: World) -> None:
    request = world.qr_order("lost")
    world.fault(request.order_no, "lose_notify")
    qr = world.gateway.create_qr_order(request)
    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    notes = world.control("GET", f"/notifications?out_trade_no={request.order_no}").json()
    assert [(n["status"], n["attempts"]) for n in notes["notifications"]] == [("lost", [])]
    assert world.gateway.query(request.order_no).state is TradeState.SUCCEEDED


def test_delayed_notification_still_arrives(world: World) -> None:
    request = world.qr_order("delayed")
    world.fault(request.order_no, "delay_notify", 0.2)
    qr = world.gateway.create_qr_order(request)
    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    note = world.gateway.parse_notification(*world.arrived("delayed")[0])
    assert note.order_no == request.order_no


def test_duplicate_notifications_share_the_same_id(world: World) -> None:
    request = world.qr_order("dup")
    world.fault(request.order_no, "duplicate_notify")
    qr = world.gateway.create_qr_order(request)
    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    notes = [world.gateway.parse_notification(*r) for r in world.arrived("dup", count=2)]
    assert notes[0].notify_id == notes[1].notify_id
    assert notes[0].channel_trade_no == notes[1].channel_trade_no


def test_reordered_notification_is_overtaken_by_the_refund_notification(world: World) -> None:
    request = world.qr_order("reorder")
    world.fault(request.order_no, "reorder_notify", 1.0)
    qr = world.gateway.create_qr_order(request)
    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    world.gateway.refund(refund(world, request.order_no, request.order_no + "R", 50, "reorder"))
    kinds = [world.gateway.parse_notification(*r).kind for r in world.arrived("reorder", 2)]
    assert kinds == [NotificationKind.REFUND, NotificationKind.PAYMENT]


def test_amount_mismatch_shows_in_notification_and_query(world: World) -> None:
    request = world.qr_order("mismatch", amount_fen=1000)
    world.fault(request.order_no, "amount_mismatch")
    qr = world.gateway.create_qr_order(request)
    world.control("POST", "/scan", {"qr_code": qr.qr_code})
    note = world.gateway.parse_notification(*world.arrived("mismatch")[0])
    assert note.amount_fen == 1001
    assert world.gateway.query(request.order_no).amount_fen == 1001


def test_succeed_after_close_pays_the_closed_order(world: World) -> None:
    request = world.qr_order("afterclose")
    world.fault(request.order_no, "succeed_after_close")
    world.gateway.create_qr_order(request)
    world.gateway.close(request.order_no)
    assert world.gateway.query(request.order_no).state is TradeState.SUCCEEDED
    note = world.gateway.parse_notification(*world.arrived("afterclose")[0])
    assert note.state is TradeState.SUCCEEDED


def test_unknown_fault_is_refused(world: World) -> None:
    response = world.control("POST", "/faults", {"out_trade_no": "X", "fault": "meteor"})
    assert response.status_code == 400
