"""UnionPay adapter against the UnionPay emulator, both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from publicpay.adapters.channels import unionpay_sign as acp
from publicpay.adapters.channels.unionpay import (
    UnionPayConfig,
    UnionPayGateway,
    parse_statement,
)
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, InvalidNotification
from publicpay.domain.payments.barcodes import detect_channel
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationKind,
    QrOrderRequest,
    RefundRequest,
    RefundState,
    TradeState,
)
from publicpay.emulators.unionpay import UnionPayEmulator
from publicpay.emulators.unionpay import pki as emulator_pki
from publicpay.emulators.unionpay.ledger import now_shanghai
from tests.support.servers import serve

MER_ID = "777290058110048"
PREFIX = "/emulator/unionpay"


@dataclass
class Receiver:
    """The merchant's backUrl: parses each notification with the adapter and answers."""

    gateway: UnionPayGateway | None = None
    fail_next: int = 0
    accepted: list[Notification] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/notify")
        async def notify(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                if self.fail_next:
                    self.fail_next -= 1
                    return PlainTextResponse("busy", status_code=503)
            assert self.gateway is not None
            try:
                notification = self.gateway.parse_notification(dict(request.headers), body)
            except InvalidNotification as exc:
                self.refused.append(exc.detail)
                ack = self.gateway.ack(False)
            else:
                self.accepted.append(notification)
                ack = self.gateway.ack(True)
            return Response(ack.body, status_code=ack.status_code, media_type=ack.media_type)

        return app


@dataclass
class World:
    emulator: UnionPayEmulator
    base: str  # the parent app's base URL; the emulator is under PREFIX
    receiver: Receiver
    config: UnionPayConfig
    gateway: UnionPayGateway
    client: httpx.Client

    def emulator_post(self, path: str, json: object = None) -> httpx.Response:
        return self.client.post(f"{self.base}{PREFIX}{path}", json=json)

    def barcode(self, *, needs_password: bool = False) -> str:
        response = self.emulator_post("/barcodes", {"needs_password": needs_password})
        return str(response.json()["auth_code"])

    def fault(self, fault: str, order_id: str = "*", seconds: float | None = None) -> None:
        body = {"fault": fault, "order_id": order_id, "seconds": seconds}
        self.emulator_post("/faults", body).raise_for_status()

    def trade(self, order_id: str) -> dict[str, object]:
        response = self.client.get(f"{self.base}{PREFIX}/trades/{order_id}")
        response.raise_for_status()
        return dict(response.json())

    def settle(self) -> None:
        assert self.emulator.wait_notifications_idle(10)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[UnionPayEmulator, str, Receiver, str]]:
    emulator = UnionPayEmulator(time_scale=0.001)
    parent = FastAPI()
    parent.mount(PREFIX, emulator.create_app())
    receiver = Receiver()
    with serve(parent) as base, serve(receiver.app()) as receiver_base:
        yield emulator, base, receiver, receiver_base
    emulator.close()


@pytest.fixture(scope="module")
def shared(servers: tuple[UnionPayEmulator, str, Receiver, str]) -> Iterator[World]:
    emulator, base, receiver, receiver_base = servers
    cert_pem, key_pem = emulator.issue_merchant_cert(MER_ID)
    config = UnionPayConfig(
        mer_id=MER_ID,
        sign_cert_pem=cert_pem,
        sign_key_pem=key_pem,
        unionpay_root_cert_pem=emulator.root_cert_pem,
        gateway_url=f"{base}{PREFIX}",
        back_url=f"{receiver_base}/notify",
    )
    with httpx.Client(timeout=5) as client:
        gateway = UnionPayGateway(config, client)
        receiver.gateway = gateway
        yield World(emulator, base, receiver, config, gateway, client)


@pytest.fixture
def world(shared: World) -> Iterator[World]:
    shared.receiver.accepted.clear()
    shared.receiver.refused.clear()
    shared.receiver.fail_next = 0
    yield shared
    shared.emulator.faults.clear()
    shared.emulator.wait_notifications_idle(10)


def new_order_no() -> str:
    return "P" + uuid.uuid4().hex[:20]


def qr_request(order_no: str, amount_fen: int = 1000, minutes: int = 15) -> QrOrderRequest:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return QrOrderRequest(order_no, amount_fen, "交通违法罚款", "", expires)


def pay_by_barcode(
    world: World, amount_fen: int = 1000, *, gateway: UnionPayGateway | None = None
) -> str:
    order_no = new_order_no()
    request = BarcodePayRequest(order_no, amount_fen, "不动产登记费", world.barcode(), "")
    assert (gateway or world.gateway).pay_barcode(request).state is TradeState.SUCCEEDED
    return order_no


def delivered_body(world: World, order_no: str) -> bytes:
    world.settle()
    return world.emulator.deliveries(order_no)[0].request.body


def resigned(
    body: bytes, changes: dict[str, str], key: rsa.RSAPrivateKey, cert_pem: bytes
) -> bytes:
    fields = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    fields.update(changes, signPubKeyCert=cert_pem.decode())
    fields["signature"] = emulator_pki.sign(fields, key)
    return urllib.parse.urlencode(fields).encode()


# --- payments -----------------------------------------------------------------------------------


def test_qr_order_scanned_and_paid_is_notified_then_queried_as_succeeded(world: World) -> None:
    order_no = new_order_no()
    order = world.gateway.create_qr_order(qr_request(order_no, 2350))
    assert order.qr_code.startswith("https://qr.95516.com/00010000/")
    assert world.gateway.query(order_no).state is TradeState.NOT_FOUND

    scanned = world.emulator_post("/scan", {"qr_code": order.qr_code})
    assert scanned.status_code == 200
    world.settle()

    [notification] = world.receiver.accepted
    assert notification.kind is NotificationKind.PAYMENT
    assert notification.channel is Channel.UNIONPAY
    assert (notification.order_no, notification.amount_fen) == (order_no, 2350)
    assert notification.app_id == MER_ID
    assert notification.state is TradeState.SUCCEEDED
    assert notification.notify_id == scanned.json()["query_id"]
    assert notification.paid_at is not None
    assert notification.paid_at.tzinfo is not None

    result = world.gateway.query(order_no)
    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == 2350
    assert result.channel_trade_no == notification.channel_trade_no
    assert result.paid_at == notification.paid_at
    [delivery] = world.emulator.deliveries(order_no)
    assert [a.status_code for a in delivery.attempts] == [200]
    assert delivery.attempts[0].response_body == "ok"


def test_qr_code_cannot_be_paid_twice(world: World) -> None:
    order = world.gateway.create_qr_order(qr_request(new_order_no()))
    assert world.emulator_post("/scan", {"qr_code": order.qr_code}).status_code == 200
    again = world.emulator_post("/scan", {"qr_code": order.qr_code})
    assert again.status_code == 409
    assert again.json()["detail"]["code"] == "35"


def test_expired_qr_code_is_refused_by_the_payer_app(world: World) -> None:
    order = world.gateway.create_qr_order(qr_request(new_order_no(), minutes=-1))
    refused = world.emulator_post("/scan", {"qr_code": order.qr_code})
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "39"


def test_succeed_after_close_fault_lets_an_expired_code_be_paid(world: World) -> None:
    order_no = new_order_no()
    order = world.gateway.create_qr_order(qr_request(order_no, minutes=-1))
    world.gateway.close(order_no)
    world.fault("succeed_after_close", order_no)
    assert world.emulator_post("/scan", {"qr_code": order.qr_code}).status_code == 200
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED


def test_repeated_order_number_is_refused(world: World) -> None:
    order_no = new_order_no()
    world.gateway.create_qr_order(qr_request(order_no))
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.create_qr_order(qr_request(order_no))
    assert refused.value.channel_code == "12"


def test_barcode_payment_succeeds_at_once(world: World) -> None:
    auth_code = world.barcode()
    assert detect_channel(auth_code) is Channel.UNIONPAY
    order_no = new_order_no()
    result = world.gateway.pay_barcode(BarcodePayRequest(order_no, 880, "工本费", auth_code, ""))
    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == 880
    assert result.channel_trade_no
    assert result.paid_at is not None
    world.settle()
    assert [n.order_no for n in world.receiver.accepted] == [order_no]


def test_used_payment_code_is_refused(world: World) -> None:
    auth_code = world.barcode()
    world.gateway.pay_barcode(BarcodePayRequest(new_order_no(), 100, "工本费", auth_code, ""))
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.pay_barcode(BarcodePayRequest(new_order_no(), 100, "工本费", auth_code, ""))
    assert refused.value.channel_code == "60"


def test_barcode_waiting_for_password_is_pending_until_it_succeeds(world: World) -> None:
    order_no = new_order_no()
    auth_code = world.barcode(needs_password=True)
    result = world.gateway.pay_barcode(BarcodePayRequest(order_no, 500, "工本费", auth_code, ""))
    assert result.state is TradeState.PENDING
    states = [world.gateway.query(order_no).state for _ in range(3)]
    assert states == [TradeState.PENDING, TradeState.PENDING, TradeState.SUCCEEDED]
    world.settle()
    assert [n.order_no for n in world.receiver.accepted] == [order_no]


def test_cancel_takes_back_a_paid_barcode_payment(world: World) -> None:
    order_no = pay_by_barcode(world, 1200)
    result = world.gateway.cancel(order_no)
    assert result.state is TradeState.CLOSED
    assert result.amount_fen == 1200
    assert world.trade(order_no)["cancelled"] is True
    assert world.trade(f"{order_no}CX")["txn_type"] == "31"
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.refund(RefundRequest(order_no, "R" + order_no, 100, 1200, "退费"))
    assert refused.value.channel_code == "35"


def test_cancel_stops_a_payment_waiting_for_password(world: World) -> None:
    order_no = new_order_no()
    auth_code = world.barcode(needs_password=True)
    world.gateway.pay_barcode(BarcodePayRequest(order_no, 500, "工本费", auth_code, ""))
    assert world.gateway.cancel(order_no).state is TradeState.CLOSED
    assert world.gateway.query(order_no).state is TradeState.FAILED
    world.settle()
    assert world.receiver.accepted == []


def test_query_of_an_order_never_sent_is_unavailable(world: World) -> None:
    with pytest.raises(ChannelUnavailable):
        world.gateway.query("NEVERSENT0001")


# --- refunds ------------------------------------------------------------------------------------


def test_partial_refunds_up_to_the_total_and_not_beyond(world: World) -> None:
    order_no = pay_by_barcode(world, 1000)
    first = world.gateway.refund(RefundRequest(order_no, "RA" + order_no, 300, 1000, "多收退费"))
    assert first.state is RefundState.PROCESSING
    assert first.refund_fen == 300
    queried = world.gateway.query_refund(order_no, "RA" + order_no)
    assert (queried.state, queried.refund_fen) == (RefundState.SUCCEEDED, 300)
    assert queried.channel_refund_no == first.channel_refund_no

    with pytest.raises(ChannelRejected) as refused:
        world.gateway.refund(RefundRequest(order_no, "RB" + order_no, 701, 1000, "超额"))
    assert refused.value.channel_code == "33"

    rest = world.gateway.refund(RefundRequest(order_no, "RC" + order_no, 700, 1000, "全额"))
    assert rest.state is RefundState.PROCESSING
    assert world.trade(order_no)["refunded_fen"] == 1000


def test_refund_is_notified_with_the_original_order(world: World) -> None:
    order_no = pay_by_barcode(world, 1000)
    world.settle()
    payment = world.receiver.accepted[0]
    world.gateway.refund(RefundRequest(order_no, "RN" + order_no, 250, 1000, "退费"))
    world.settle()
    refund = world.receiver.accepted[1]
    assert refund.kind is NotificationKind.REFUND
    assert (refund.order_no, refund.refund_no) == (order_no, "RN" + order_no)
    assert refund.amount_fen == 250
    assert refund.state is RefundState.SUCCEEDED
    assert refund.channel_trade_no == payment.channel_trade_no
    assert refund.notify_id != payment.notify_id


def test_repeated_refund_request_is_answered_once(world: World) -> None:
    order_no = pay_by_barcode(world, 1000)
    request = RefundRequest(order_no, "RR" + order_no, 400, 1000, "退费")
    first = world.gateway.refund(request)
    again = world.gateway.refund(request)
    assert again.channel_refund_no == first.channel_refund_no
    assert world.trade(order_no)["refunded_fen"] == 400
    with pytest.raises(ChannelRejected) as refused:
        world.gateway.refund(replace(request, refund_fen=500))
    assert refused.value.channel_code == "12"


def test_refund_of_unpaid_order_is_refused(world: World) -> None:
    order_no = new_order_no()
    world.gateway.create_qr_order(qr_request(order_no))
    with pytest.raises(ChannelRejected):
        world.gateway.refund(RefundRequest(order_no, "RX" + order_no, 100, 1000, "退费"))


# --- statement ----------------------------------------------------------------------------------


def test_statement_lists_the_settlement_days_transactions(world: World) -> None:
    paid = pay_by_barcode(world, 1000)
    world.gateway.refund(RefundRequest(paid, "RS" + paid, 300, 1000, "退费"))
    cancelled = pay_by_barcode(world, 450)
    world.gateway.cancel(cancelled)
    stopped = new_order_no()
    auth_code = world.barcode(needs_password=True)
    world.gateway.pay_barcode(BarcodePayRequest(stopped, 99, "工本费", auth_code, ""))
    world.gateway.cancel(stopped)
    day: date = (now_shanghai() + timedelta(hours=1)).date()

    text = world.gateway.fetch_statement(day)
    rows = parse_statement(text)

    mine = {(r.txn_type, r.order_id): r.amount_fen for r in rows}
    assert mine[("01", paid)] == 1000
    assert mine[("04", "RS" + paid)] == 300
    assert mine[("01", cancelled)] == 450
    assert mine[("31", cancelled + "CX")] == 450
    assert not {key for key in mine if key[1].startswith(stopped)}
    assert all(r.settle_date == f"{day:%m%d}" and r.resp_code == "00" for r in rows)
    assert text.decode().startswith(
        f"#UNIONPAY-ACP-STATEMENT|merId={MER_ID}|settleDate={day:%Y%m%d}"
    )


def test_statement_of_a_quiet_day_is_empty(world: World) -> None:
    day = (now_shanghai() - timedelta(days=40)).date()
    assert parse_statement(world.gateway.fetch_statement(day)) == []


# --- notifications that must be refused ---------------------------------------------------------


def test_notification_with_a_field_changed_after_signing_is_refused(world: World) -> None:
    body = delivered_body(world, pay_by_barcode(world, 1000))
    tampered = body.replace(b"txnAmt=1000", b"txnAmt=1")
    assert tampered != body
    with pytest.raises(InvalidNotification):
        world.gateway.parse_notification({}, tampered)
    assert world.gateway.parse_notification({}, body).amount_fen == 1000


def test_notification_signed_by_another_key_than_its_cert_is_refused(world: World) -> None:
    body = delivered_body(world, pay_by_barcode(world))
    stranger = emulator_pki.issue(emulator_pki.new_root(), "00040000:SIGN", acp.UNIONPAY_NAME)
    forged = resigned(body, {}, stranger.key, world.emulator.signing_cert_pem)
    with pytest.raises(InvalidNotification):
        world.gateway.parse_notification({}, forged)


def test_notification_with_a_cert_not_chained_to_the_root_is_refused(world: World) -> None:
    body = delivered_body(world, pay_by_barcode(world))
    stranger = emulator_pki.issue(emulator_pki.new_root(), "00040000:SIGN", acp.UNIONPAY_NAME)
    forged = resigned(body, {"txnAmt": "1"}, stranger.key, stranger.cert_pem)
    with pytest.raises(InvalidNotification, match="root"):
        world.gateway.parse_notification({}, forged)


def test_notification_signed_by_a_merchant_cert_of_the_same_ca_is_refused(world: World) -> None:
    body = delivered_body(world, pay_by_barcode(world))
    cert_pem, key_pem = world.emulator.issue_merchant_cert("898111111111111")
    forged = resigned(body, {}, acp.load_private_key(key_pem), cert_pem)
    with pytest.raises(InvalidNotification, match="UnionPay"):
        world.gateway.parse_notification({}, forged)


def test_notification_for_another_merchant_is_refused(world: World) -> None:
    body = delivered_body(world, pay_by_barcode(world))
    other = UnionPayGateway(replace(world.config, mer_id="898222222222222"), world.client)
    with pytest.raises(InvalidNotification, match="商户号"):
        other.parse_notification({}, body)


def test_signing_cert_issued_through_a_configured_intermediate_is_trusted() -> None:
    root = emulator_pki.new_root()
    middle = emulator_pki.issue(root, "middle", "CFCA middle")
    signer = emulator_pki.issue(middle, "00040000:SIGN", acp.UNIONPAY_NAME)
    fields = {"respCode": "00", "signPubKeyCert": signer.cert_pem.decode()}
    fields["signature"] = emulator_pki.sign(fields, signer.key)

    acp.verify_message(fields, acp.load_trust_anchors(root.cert_pem + middle.cert_pem))
    with pytest.raises(acp.UntrustedMessage, match="root"):
        acp.verify_message(fields, acp.load_trust_anchors(root.cert_pem))
    with pytest.raises(ValueError, match="self-signed"):
        acp.load_trust_anchors(middle.cert_pem)


@pytest.mark.parametrize("body", [b"", b"%%%", b"not a form", b"\xff\xfe", b"signature=abc"])
def test_malformed_notification_is_refused(world: World, body: bytes) -> None:
    with pytest.raises(InvalidNotification):
        world.gateway.parse_notification({}, body)


def test_ack_answers_ok_or_fail_as_plain_text(world: World) -> None:
    ok, fail = world.gateway.ack(True), world.gateway.ack(False)
    assert (ok.status_code, ok.body, ok.media_type) == (200, b"ok", "text/plain")
    assert (fail.status_code, fail.body, fail.media_type) == (400, b"fail", "text/plain")


# --- answers and requests that must be refused --------------------------------------------------


def test_answer_signed_by_a_wrong_key_makes_the_channel_unavailable(world: World) -> None:
    stranger = emulator_pki.issue(emulator_pki.new_root(), "x", "x")
    fake = FastAPI()

    @fake.post("/gateway/api/queryTrans.do")
    def forged_answer() -> PlainTextResponse:
        fields = {"respCode": "00", "respMsg": "ok", "merId": MER_ID, "origRespCode": "00"}
        fields["signPubKeyCert"] = world.emulator.signing_cert_pem.decode()
        fields["signature"] = emulator_pki.sign(fields, stranger.key)
        return PlainTextResponse(emulator_pki.encode_answer(fields))

    txn_times: dict[str, str] = {}  # the txnTime of each order, shared as the workers share it
    paying = UnionPayGateway(world.config, world.client, txn_times=txn_times)
    order_no = pay_by_barcode(world, gateway=paying)
    with serve(fake) as fake_base:
        config = replace(world.config, gateway_url=fake_base)
        gateway = UnionPayGateway(config, world.client, txn_times=txn_times)
        with pytest.raises(ChannelUnavailable, match="验签"):
            gateway.query(order_no)


def qr_fields() -> dict[str, str]:
    """A QR order request (01/07) of 1.00 yuan as the wire carries it, not signed."""
    return {
        "version": "5.1.0",
        "encoding": "UTF-8",
        "signMethod": "01",
        "txnType": "01",
        "txnSubType": "07",
        "bizType": "000000",
        "accessType": "0",
        "channelType": "08",
        "merId": MER_ID,
        "orderId": new_order_no(),
        "txnTime": now_shanghai().strftime("%Y%m%d%H%M%S"),
        "txnAmt": "100",
        "currencyCode": "156",
    }


def test_unsigned_request_is_refused_with_a_signed_answer(world: World) -> None:
    url = f"{world.base}{PREFIX}/gateway/api/backTransReq.do"
    answer = acp.parse_answer(world.client.post(url, data=qr_fields()).text)
    acp.verify_message(answer, acp.load_trust_anchors(world.emulator.root_cert_pem))
    assert answer["respCode"] == "11"
    assert "qrCode" not in answer


def test_request_with_a_field_changed_after_signing_is_refused(world: World) -> None:
    certificate = x509.load_pem_x509_certificate(world.config.sign_cert_pem)
    fields = {**qr_fields(), "certId": acp.cert_id(certificate)}
    fields["signature"] = acp.sign(fields, acp.load_private_key(world.config.sign_key_pem))
    fields["txnAmt"] = "1"
    url = f"{world.base}{PREFIX}/gateway/api/backTransReq.do"
    answer = acp.parse_answer(world.client.post(url, data=fields).text)
    assert answer["respCode"] == "11"


def test_garbage_request_gets_a_format_error(world: World) -> None:
    url = f"{world.base}{PREFIX}/gateway/api/queryTrans.do"
    answer = acp.parse_answer(world.client.post(url, content=b"%%%").text)
    assert answer["respCode"] == "10"


# --- faults -------------------------------------------------------------------------------------


def test_timeout_fault_makes_the_channel_unavailable(world: World) -> None:
    gateway = UnionPayGateway(replace(world.config, timeout_s=0.5), world.client)
    world.fault("timeout", seconds=1.5)
    with pytest.raises(ChannelUnavailable):
        gateway.create_qr_order(qr_request(new_order_no()))


def test_5xx_fault_makes_the_channel_unavailable(world: World) -> None:
    world.fault("error_5xx")
    with pytest.raises(ChannelUnavailable, match="502"):
        world.gateway.create_qr_order(qr_request(new_order_no()))


def test_duplicate_notification_arrives_twice_with_the_same_notify_id(world: World) -> None:
    world.fault("duplicate_notify")
    order_no = pay_by_barcode(world)
    world.settle()
    assert [n.order_no for n in world.receiver.accepted] == [order_no, order_no]
    assert world.receiver.accepted[0].notify_id == world.receiver.accepted[1].notify_id


def test_lost_notification_is_never_sent_but_query_finds_the_payment(world: World) -> None:
    world.fault("lose_notify")
    order_no = pay_by_barcode(world)
    world.settle()
    assert world.receiver.accepted == []
    assert world.gateway.query(order_no).state is TradeState.SUCCEEDED


def test_unacknowledged_notification_is_retried_until_acknowledged(world: World) -> None:
    world.receiver.fail_next = 2
    order_no = pay_by_barcode(world)
    world.settle()
    [delivery] = world.emulator.deliveries(order_no)
    assert [a.status_code for a in delivery.attempts] == [503, 503, 200]
    assert [n.order_no for n in world.receiver.accepted] == [order_no]


def test_amount_mismatch_fault_reports_another_amount(world: World) -> None:
    order_no = new_order_no()
    world.fault("amount_mismatch", order_no)
    auth_code = world.barcode()
    world.gateway.pay_barcode(BarcodePayRequest(order_no, 1000, "工本费", auth_code, ""))
    world.settle()
    assert world.receiver.accepted[0].amount_fen == 1001
    assert world.gateway.query(order_no).amount_fen == 1001
