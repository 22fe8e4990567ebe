"""AlipayGateway against the Alipay emulator over real HTTP, mounted at /emulator/alipay."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request, Response

from publicpay.adapters.channels.alipay import SHANGHAI, AlipayConfig, AlipayGateway
from publicpay.adapters.channels.alipay_sign import (
    load_private_key,
    load_public_key,
    sign_rsa2,
    signing_string,
    verified_response,
)
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, InvalidNotification
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Notification,
    NotificationKind,
    QrOrderRequest,
    RefundRequest,
    RefundState,
    TradeState,
)
from publicpay.emulators.alipay import AlipayEmulator
from tests.support.servers import serve

APP_ID = "2021000000000001"
_numbers = itertools.count(1)


def new_key_pems() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class Receiver:
    """A merchant notify endpoint: parses with the gateway and answers its ack."""

    gateway: AlipayGateway | None = None
    script: list[bytes] = field(default_factory=list)  # forced answers, used first
    bodies: list[bytes] = field(default_factory=list)
    accepted: list[Notification] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/alipay/notify")
        async def notify(request: Request) -> Response:
            body = await request.body()
            self.bodies.append(body)
            if self.script:
                return Response(self.script.pop(0), media_type="text/plain")
            assert self.gateway is not None
            try:
                notification = self.gateway.parse_notification(dict(request.headers), body)
            except InvalidNotification:
                ack = self.gateway.ack(False)
            else:
                self.accepted.append(notification)
                ack = self.gateway.ack(True)
            return Response(ack.body, ack.status_code, media_type=ack.media_type)

        return app


@dataclass
class World:
    emulator: AlipayEmulator
    gateway: AlipayGateway
    config: AlipayConfig
    receiver: Receiver
    root: str  # http://127.0.0.1:port/emulator/alipay
    notify_url: str
    app_private_pem: bytes

    @property
    def alipay_key(self) -> rsa.RSAPublicKey:
        """The key answers are verified with: the emulator's, as configured."""
        return load_public_key(self.config.alipay_public_key_pem)

    def scan(self, qr_code: str) -> httpx.Response:
        return httpx.post(f"{self.root}/scan", json={"qr_code": qr_code})

    def auth_code(self, needs_password: bool = False) -> str:
        answer = httpx.post(f"{self.root}/barcodes", json={"needs_password": needs_password})
        return str(answer.json()["auth_code"])

    def fault(self, out_trade_no: str, fault: str, seconds: float | None = None) -> None:
        body = {"out_trade_no": out_trade_no, "fault": fault, "seconds": seconds}
        httpx.post(f"{self.root}/faults", json=body).raise_for_status()

    def settle(self) -> None:
        assert self.emulator.notifier.wait_idle(10)

    def qr_order(self, amount_fen: int = 12050, subject: str = "机动车驾驶证工本费") -> str:
        order_no = f"PP{next(_numbers):06d}{datetime.now(UTC):%H%M%S%f}"
        expires = datetime.now(UTC) + timedelta(minutes=30)
        request = QrOrderRequest(order_no, amount_fen, subject, self.notify_url, expires)
        qr = self.gateway.create_qr_order(request)
        assert qr.qr_code.startswith("https://qr.alipay.com/bax0")
        return order_no

    def paid_order(self, amount_fen: int = 10000) -> str:
        order_no = self.qr_order(amount_fen)
        qr_code = self.emulator.trade_view(order_no)["qr_code"]  # type: ignore[index]
        assert self.scan(qr_code).status_code == 200
        return order_no

    def barcode(self, order_no: str, auth_code: str, amount_fen: int = 5000) -> BarcodePayRequest:
        return BarcodePayRequest(order_no, amount_fen, "罚没收入", auth_code, self.notify_url)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    app_private, app_public = new_key_pems()
    emulator = AlipayEmulator(time_scale=0.0001)
    emulator.register_app(APP_ID, app_public)
    parent = FastAPI()
    parent.mount("/emulator/alipay", emulator.create_app())
    receiver = Receiver()
    with serve(parent) as base, serve(receiver.app()) as merchant:
        config = AlipayConfig(
            app_id=APP_ID,
            app_private_key_pem=app_private,
            alipay_public_key_pem=emulator.public_key_pem,
            gateway_url=f"{base}/emulator/alipay/gateway.do",
            seller_id=emulator.pid(APP_ID),
        )
        gateway = AlipayGateway(config)
        receiver.gateway = gateway
        yield World(
            emulator,
            gateway,
            config,
            receiver,
            f"{base}/emulator/alipay",
            f"{merchant}/alipay/notify",
            app_private,
        )
        emulator.close()
        gateway.close_client()


@pytest.fixture(autouse=True)
def fresh(world: World) -> Iterator[None]:
    world.emulator.notifier.wait_idle(5)
    world.receiver.accepted.clear()
    world.receiver.bodies.clear()
    world.receiver.script.clear()
    yield
    httpx.delete(f"{world.root}/faults").raise_for_status()


def notified(world: World, order_no: str) -> list[Notification]:
    world.settle()
    return [n for n in world.receiver.accepted if n.order_no == order_no]


# -- payments ---------------------------------------------------------------------------------


def test_qr_order_is_not_found_until_scanned_then_succeeded(world: World) -> None:
    order_no = world.qr_order(12050)
    assert world.gateway.query(order_no).state is TradeState.NOT_FOUND
    scanned = world.scan(world.emulator.trade_view(order_no)["qr_code"])  # type: ignore[index]
    assert scanned.status_code == 200
    assert scanned.json()["total_amount"] == "120.50"
    assert scanned.json()["trade_status"] == "TRADE_SUCCESS"
    result = world.gateway.query(order_no)
    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == 12050
    assert result.channel_trade_no == scanned.json()["trade_no"]
    assert len(scanned.json()["trade_no"]) == 28
    assert result.paid_at is not None
    assert result.paid_at.tzinfo is not None


def test_payment_notification_is_delivered_and_accepted(world: World) -> None:
    order_no = world.paid_order(3300)
    (notification,) = notified(world, order_no)
    assert notification.kind is NotificationKind.PAYMENT
    assert notification.state is TradeState.SUCCEEDED
    assert notification.amount_fen == 3300
    assert notification.app_id == APP_ID
    assert notification.channel_trade_no == world.emulator.trade_view(order_no)["trade_no"]  # type: ignore[index]
    assert notification.paid_at is not None
    assert notification.paid_at.tzinfo == UTC
    assert notification.raw["notify_type"] == "trade_status_sync"
    (delivery,) = world.emulator.notifier.deliveries(order_no)
    assert [a.response_body for a in delivery.attempts] == ["success"]


def test_notification_is_retried_with_the_same_notify_id_until_success(world: World) -> None:
    world.receiver.script = [b"failure", b"fail"]
    order_no = world.paid_order()
    (notification,) = notified(world, order_no)
    listing = httpx.get(f"{world.root}/notifications", params={"out_trade_no": order_no}).json()
    (delivery,) = listing
    assert [a["response_body"] for a in delivery["attempts"]] == ["failure", "fail", "success"]
    ids = {dict(parse_qsl(body.decode()))["notify_id"] for body in world.receiver.bodies}
    assert ids == {notification.notify_id}


def test_same_qr_order_twice_returns_the_same_code_but_changed_amount_is_refused(
    world: World,
) -> None:
    order_no = world.qr_order(500, "占道费")
    first = world.emulator.trade_view(order_no)["qr_code"]  # type: ignore[index]
    again = QrOrderRequest(
        order_no, 500, "占道费", world.notify_url, datetime.now(UTC) + timedelta(hours=1)
    )
    assert world.gateway.create_qr_order(again).qr_code == first
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.create_qr_order(replace(again, amount_fen=600))
    assert refused.value.channel_code == "ACQ.CONTEXT_INCONSISTENT"


def test_barcode_payment_succeeds_immediately_and_code_is_single_use(world: World) -> None:
    code = world.auth_code()
    assert code.startswith("28")
    assert len(code) == 18
    assert code.isdigit()
    order_no = f"BC{next(_numbers):06d}"
    result = world.gateway.pay_barcode(world.barcode(order_no, code, 5000))
    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == 5000
    assert result.paid_at is not None
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.pay_barcode(world.barcode(f"BC{next(_numbers):06d}", code))
    assert refused.value.channel_code == "ACQ.PAYMENT_AUTH_CODE_INVALID"
    assert notified(world, order_no)[0].amount_fen == 5000


def test_barcode_needing_password_is_pending_until_queries_see_it_paid(world: World) -> None:
    order_no = f"BC{next(_numbers):06d}"
    result = world.gateway.pay_barcode(world.barcode(order_no, world.auth_code(True)))
    assert result.state is TradeState.PENDING
    assert result.raw["code"] == "10003"
    assert world.gateway.query(order_no).state is TradeState.PENDING
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED
    assert [n.state for n in notified(world, order_no)] == [TradeState.SUCCEEDED]


def test_barcode_still_waiting_is_cancelled_to_closed(world: World) -> None:
    order_no = f"BC{next(_numbers):06d}"
    world.gateway.pay_barcode(world.barcode(order_no, world.auth_code(True)))
    assert world.gateway.cancel(order_no).state is TradeState.CLOSED
    assert world.gateway.query(order_no).state is TradeState.CLOSED


def test_cancel_after_payment_refunds_the_payer(world: World) -> None:
    order_no = f"BC{next(_numbers):06d}"
    world.gateway.pay_barcode(world.barcode(order_no, world.auth_code()))
    cancelled = world.gateway.cancel(order_no)
    assert cancelled.state is TradeState.REFUNDED
    assert cancelled.raw["action"] == "refund"
    assert world.gateway.query(order_no).state is TradeState.REFUNDED


def test_closed_qr_order_can_no_longer_be_paid(world: World) -> None:
    order_no = world.qr_order()
    world.gateway.close(order_no)
    assert world.gateway.query(order_no).state is TradeState.CLOSED
    scanned = world.scan(world.emulator.trade_view(order_no)["qr_code"])  # type: ignore[index]
    assert scanned.status_code == 409
    assert scanned.json()["code"] == "ACQ.TRADE_HAS_CLOSE"


def test_closing_a_paid_order_is_refused(world: World) -> None:
    order_no = world.paid_order()
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.close(order_no)
    assert refused.value.channel_code == "ACQ.TRADE_STATUS_ERROR"


def test_scan_of_unknown_qr_is_404(world: World) -> None:
    answer = world.scan("https://qr.alipay.com/bax0nothing")
    assert answer.status_code == 404
    assert answer.json()["title"] == "二维码无效"


# -- refunds ----------------------------------------------------------------------------------


def refund(world: World, order_no: str, refund_no: str, fen: int) -> RefundRequest:
    return RefundRequest(order_no, refund_no, fen, 10000, "多缴退费")


def test_partial_refunds_retry_idempotently_then_full_refund_closes(world: World) -> None:
    order_no = world.paid_order(10000)
    first = world.gateway.refund(refund(world, order_no, "R1", 3000))
    assert (first.state, first.refund_fen, first.raw["fund_change"]) == (
        RefundState.SUCCEEDED,
        3000,
        "Y",
    )
    again = world.gateway.refund(refund(world, order_no, "R1", 3000))
    assert (again.state, again.raw["fund_change"], again.raw["refund_fee"]) == (
        RefundState.SUCCEEDED,
        "N",
        "30.00",
    )
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED
    world.gateway.refund(refund(world, order_no, "R2", 7000))
    assert world.gateway.query(order_no).state is TradeState.REFUNDED
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.refund(refund(world, order_no, "R3", 1))
    assert refused.value.channel_code == "ACQ.TRADE_STATUS_ERROR"


def test_refund_over_the_paid_amount_is_refused(world: World) -> None:
    order_no = world.paid_order(10000)
    world.gateway.refund(refund(world, order_no, "R1", 6000))
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.refund(refund(world, order_no, "R2", 5000))
    assert refused.value.channel_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert "退款金额超限" in refused.value.detail


def test_refund_query_finds_made_refunds_and_reports_unknown_as_failed(world: World) -> None:
    order_no = world.paid_order(10000)
    world.gateway.refund(refund(world, order_no, "R1", 2500))
    found = world.gateway.query_refund(order_no, "R1")
    assert (found.state, found.refund_fen, found.refund_no) == (RefundState.SUCCEEDED, 2500, "R1")
    missing = world.gateway.query_refund(order_no, "R9")
    assert (missing.state, missing.refund_fen) == (RefundState.FAILED, 0)


def test_refund_sends_a_refund_notification(world: World) -> None:
    order_no = world.paid_order(10000)
    world.gateway.refund(refund(world, order_no, "R1", 2500))
    payment, refunded = notified(world, order_no)
    assert payment.kind is NotificationKind.PAYMENT
    assert refunded.kind is NotificationKind.REFUND
    assert (refunded.state, refunded.amount_fen, refunded.refund_no) == (
        RefundState.SUCCEEDED,
        2500,
        "R1",
    )
    assert refunded.notify_id != payment.notify_id


# -- statements -------------------------------------------------------------------------------


def read_bill(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename.encode("cp437").decode("gbk"): archive.read(info).decode("gbk")
            for info in archive.infolist()
        }


def test_trade_bill_is_a_gbk_csv_zip_listing_payments_and_refunds(world: World) -> None:
    order_no = world.paid_order(8800)
    world.gateway.refund(refund(world, order_no, "RB1", 800))
    today = datetime.now(SHANGHAI).date()
    files = read_bill(world.gateway.fetch_statement(today))
    account = world.emulator.pid(APP_ID) + "0156"
    stem = f"{account}_{today:%Y%m%d}"
    assert sorted(files) == [f"{stem}_业务明细(汇总).csv", f"{stem}_业务明细.csv"]
    lines = files[f"{stem}_业务明细.csv"].splitlines()
    assert lines[0] == "#支付宝业务明细查询"
    assert lines[1] == f"#账号：[{account}]"
    assert lines[-3].startswith("#交易合计：")
    assert lines[-2].startswith("#退款合计：")
    assert lines[-1].startswith("#导出时间：[")
    start = next(i for i, line in enumerate(lines) if "业务明细列表" in line)
    end = next(i for i, line in enumerate(lines) if "业务明细列表结束" in line)
    header, *rows = list(csv.reader(lines[start + 1 : end]))
    assert len(header) == 25
    assert header[0] == "支付宝交易号"
    mine = [r for r in rows if r[1].strip() == order_no]
    assert [(r[2], r[11], r[12], r[21].strip(), r[22]) for r in mine] == [
        ("交易", "88.00", "88.00", "", "-0.53"),
        ("退款", "88.00", "-8.00", "RB1", "0.05"),
    ]
    assert all(len(r) == 25 for r in rows)


def test_bill_url_points_under_the_mount_and_expires_unknown_tokens(world: World) -> None:
    method = "alipay.data.dataservice.bill.downloadurl.query"
    form = world.gateway.request_params(method, {"bill_type": "trade", "bill_date": "2026-01-05"})
    raw = httpx.post(world.config.gateway_url, data=form).text
    url = verified_response(raw, method, world.alipay_key)["bill_download_url"]
    assert url.startswith(f"{world.root}/downloadBillFile.resource?bizType=trade")
    assert httpx.get(url).content.startswith(b"PK")
    assert httpx.get(f"{world.root}/downloadBillFile.resource?token=nope").status_code == 404


def test_bill_for_a_future_day_does_not_exist(world: World) -> None:
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.fetch_statement(datetime.now(SHANGHAI).date() + timedelta(days=2))
    assert refused.value.channel_code == "isp.bill_not_exist"


# -- refused input ----------------------------------------------------------------------------


def captured_notification(world: World) -> bytes:
    order_no = world.paid_order(4200)
    world.settle()
    return next(b for b in world.receiver.bodies if order_no.encode() in b)


def resigned(fields: dict[str, str], private_pem: bytes) -> bytes:
    unsigned = {k: v for k, v in fields.items() if k not in ("sign", "sign_type")}
    signature = sign_rsa2(signing_string(unsigned), load_private_key(private_pem))
    return urlencode({**unsigned, "sign": signature, "sign_type": "RSA2"}).encode()


def test_notification_with_amount_changed_after_signing_is_refused(world: World) -> None:
    fields = dict(parse_qsl(captured_notification(world).decode()))
    assert world.gateway.parse_notification({}, urlencode(fields).encode()).amount_fen == 4200
    fields["total_amount"] = "0.01"
    with pytest.raises(InvalidNotification, match="验签失败"):
        world.gateway.parse_notification({}, urlencode(fields).encode())


def test_notification_for_another_app_is_refused(world: World) -> None:
    body = captured_notification(world)
    other = AlipayGateway(replace(world.config, app_id="2021000000009999"))
    with pytest.raises(InvalidNotification, match="app_id"):
        other.parse_notification({}, body)


def test_notification_signed_by_another_key_is_refused(world: World) -> None:
    fields = dict(parse_qsl(captured_notification(world).decode()))
    forged = resigned(fields, new_key_pems()[0])
    with pytest.raises(InvalidNotification, match="signature"):
        world.gateway.parse_notification({}, forged)


def test_notification_without_sign_or_with_garbage_is_refused(world: World) -> None:
    fields = dict(parse_qsl(captured_notification(world).decode()))
    del fields["sign"]
    with pytest.raises(InvalidNotification):
        world.gateway.parse_notification({}, urlencode(fields).encode())
    with pytest.raises(InvalidNotification):
        world.gateway.parse_notification({}, b"\xff\xfe not a form")


def test_unsigned_request_gets_a_signed_error_answer(world: World) -> None:
    form = world.gateway.request_params("alipay.trade.query", {"out_trade_no": "X"})
    del form["sign"]
    raw = httpx.post(world.config.gateway_url, data=form).text
    content = verified_response(raw, "alipay.trade.query", world.alipay_key)
    assert (content["code"], content["sub_code"]) == ("40001", "isv.missing-signature")


def test_request_signed_with_the_wrong_app_key_is_refused(world: World) -> None:
    stranger = AlipayGateway(replace(world.config, app_private_key_pem=new_key_pems()[0]))
    with pytest.raises(ChannelRejected) as refused:
        stranger.query("X1")
    assert refused.value.channel_code == "isv.invalid-signature"


def test_answer_signed_with_a_key_we_do_not_trust_is_refused(world: World) -> None:
    wary = AlipayGateway(replace(world.config, alipay_public_key_pem=new_key_pems()[1]))
    with pytest.raises(ChannelUnavailable, match="验签失败"):
        wary.query("X2")


# -- faults -----------------------------------------------------------------------------------


def test_hanging_gateway_is_unavailable_to_a_short_client_timeout(world: World) -> None:
    impatient = AlipayGateway(replace(world.config, timeout_s=0.5))
    world.fault("SLOW1", "timeout", 1.5)
    with pytest.raises(ChannelUnavailable, match="timed out"):
        impatient.query("SLOW1")


def test_gateway_5xx_is_unavailable(world: World) -> None:
    world.fault("*", "error_5xx")
    with pytest.raises(ChannelUnavailable, match="HTTP 502"):
        world.gateway.query("ANY")


def test_duplicate_notify_fault_delivers_twice_with_the_same_notify_id(world: World) -> None:
    world.fault("*", "duplicate_notify")
    order_no = world.paid_order()
    first, second = notified(world, order_no)
    assert first.notify_id == second.notify_id
    assert first.amount_fen == second.amount_fen == 10000


def test_lose_notify_fault_sends_nothing(world: World) -> None:
    world.fault("*", "lose_notify")
    order_no = world.paid_order()
    assert notified(world, order_no) == []
    (delivery,) = world.emulator.notifier.deliveries(order_no)
    assert (delivery.status, delivery.attempts) == ("lost", ())
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED


def test_delay_notify_fault_still_delivers(world: World) -> None:
    world.fault("*", "delay_notify", 0.2)
    order_no = world.paid_order()
    assert [n.state for n in notified(world, order_no)] == [TradeState.SUCCEEDED]


def test_reorder_fault_lets_the_refund_notice_overtake_the_payment(world: World) -> None:
    world.fault("*", "reorder_notify", 1.0)
    order_no = world.paid_order(10000)
    world.gateway.refund(refund(world, order_no, "R1", 100))
    kinds = [n.kind for n in notified(world, order_no)]
    assert kinds == [NotificationKind.REFUND, NotificationKind.PAYMENT]


def test_amount_mismatch_fault_reports_one_fen_more(world: World) -> None:
    world.fault("*", "amount_mismatch")
    order_no = world.paid_order(10000)
    assert world.gateway.query(order_no).amount_fen == 10001
    assert [n.amount_fen for n in notified(world, order_no)] == [10001]


def test_succeed_after_close_fault_pays_a_closed_order(world: World) -> None:
    order_no = world.qr_order(700)
    world.fault(order_no, "succeed_after_close")
    world.gateway.close(order_no)
    assert world.gateway.query(order_no).state is TradeState.CLOSED
    scanned = world.scan(world.emulator.trade_view(order_no)["qr_code"])  # type: ignore[index]
    assert scanned.json()["trade_status"] == "TRADE_SUCCESS"
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED
    assert [n.amount_fen for n in notified(world, order_no)] == [700]


def test_unknown_fault_name_is_refused(world: World) -> None:
    answer = httpx.post(f"{world.root}/faults", json={"out_trade_no": "*", "fault": "meteor"})
    assert answer.status_code == 422


def test_trade_view_shows_the_emulator_state(world: World) -> None:
    order_no = world.paid_order(1234)
    world.gateway.refund(refund(world, order_no, "R1", 234))
    view = httpx.get(f"{world.root}/trades/{order_no}").json()
    assert (view["trade_status"], view["total_amount"], view["refunded_amount"]) == (
        "TRADE_SUCCESS",
        "12.34",
        "2.34",
    )
    assert [r["out_request_no"] for r in view["refunds"]] == ["R1"]
    assert httpx.get(f"{world.root}/trades/NOPE").status_code == 404
