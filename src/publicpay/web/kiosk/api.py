"""The kiosk page's own calls (cookie session of an enrolled kiosk + the kiosk header): find a
person's payables (ID card read by the local agent, a typed or scanned payment code, or the QR of
a payment record), pay one or several in one QR payment, watch them turn paid, print receipts
(counted; a reprint is marked), and relay the agent's printer state as the device heartbeat."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from publicpay.adapters.db.queries import kiosk as queries
from publicpay.adapters.receipts.formats import ReceiptFormats, receipt_policy
from publicpay.api.idempotency import idempotent
from publicpay.api.routes.devices import DeviceOut, HeartbeatIn, device_out
from publicpay.api.routes.payments.carts import CartLineOut, CartOut, open_cart
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.codes import is_valid_citizen_id, normalise_citizen_id, parse_payment_code
from publicpay.domain.devices import Heartbeat, PrinterUnavailable, can_print
from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payables import PayableStatus, status_label
from publicpay.domain.payments.carts import MAX_CART
from publicpay.domain.payments.channels import Channel
from publicpay.services.devices.heartbeats import record_heartbeat
from publicpay.services.payments.aggregate import issue_aggregate
from publicpay.services.payments.checkout import OpenedOrder, open_qr_order
from publicpay.services.receipts.access import PrintRequest, print_receipt
from publicpay.web.kiosk.session import Kiosk, container, kiosk_call

router = APIRouter(prefix="/kiosk/api", include_in_schema=False)
UNREADABLE_ID = "身份证号码无效（校验位不符），请重新放置身份证，或改用缴款码"
RECORD_UNKNOWN = "未找到该缴款记录，请核对二维码，或改用身份证、缴款码查询"
RECORD_CANCELLED = "该二维码对应的支付已撤销或未完成，没有可打印的票据；如需缴款请按缴款码缴费"


class LookupIn(Strict):
    by: Literal["id_card", "code", "record"] = Field(description="身份证 / 缴款码 / 缴款记录二维码")
    value: str = text(min_length=1, max_length=200, description="读到或输入的内容")


def lookup_listing(c: Container, kiosk: Kiosk, body: LookupIn) -> queries.Listing:
    value = body.value.strip()
    now = c.clock.now()
    with c.read_uow() as uow:
        conn, items = uow.connection, uow.catalogue.items()
        if body.by == "id_card":
            found = _by_id_card(c, conn, kiosk, value)
        elif body.by == "code":
            parse_payment_code(value)  # a mistyped code is caught by its check digit
            found = queries.by_code(conn, "".join(value.split()))
            if not found:
                raise NotFound(f"缴款码 {value} 不存在，请核对后重新输入")
        else:
            found = _by_record(conn, value)
        window = receipt_policy(c.settings).print_window_days
        return queries.listing(conn, found, items, now=now, window_days=window)


def _by_id_card(c: Container, conn: Any, kiosk: Kiosk, id_no: str) -> list[Any]:
    id_no = normalise_citizen_id(id_no)
    if not is_valid_citizen_id(id_no):
        raise ValidationFailed(UNREADABLE_ID, errors={"value": "身份证号码无效"})
    return queries.payer_payables(conn, c.box.lookup_hash(id_no), kiosk.device.unit_id)


def _by_record(conn: Any, text_: str) -> list[Any]:
    """The record QR of a wallet's payment: our order or cart number, or the trade number; a
    URL carrying one of them (…/r/<number>) is read for its last segment."""
    token = text_.rstrip("/").rsplit("/", 1)[-1].rsplit("=", 1)[-1]
    record = queries.by_record(conn, token)
    if record is None:
        raise NotFound(RECORD_UNKNOWN)
    if not record.paid:
        raise ValidationFailed(RECORD_CANCELLED, errors={"value": "未支付或已撤销"})
    return queries.by_ids(conn, record.payable_ids)


class ListingOut(BaseModel):
    payer: str
    payables: list[dict[str, Any]]
    receipts: list[dict[str, Any]]
    history: list[dict[str, Any]]


@router.post("/lookup", response_model=ListingOut)
def lookup(
    body: LookupIn, k: Kiosk = Depends(kiosk_call), c: Container = Depends(container)
) -> ListingOut:
    found = lookup_listing(c, k, body)
    return ListingOut(
        payer=found.payer, payables=found.payables, receipts=found.receipts, history=found.history
    )


class PayIn(Strict):
    payment_codes: list[str] = Field(min_length=1, max_length=MAX_CART)
    channel: Literal["aggregate", "alipay", "wechat", "unionpay"]


@router.post("/pay", response_model=CartOut, status_code=201)
def pay(
    body: PayIn, request: Request, k: Kiosk = Depends(kiosk_call), c: Container = Depends(container)
) -> Response:
    """One payable: its own QR order; several: a cart (one order for all). A second tap on
    "pay" carries the same Idempotency-Key and gets the same QR code back."""
    codes = [code.strip() for code in body.payment_codes]
    for code in codes:
        parse_payment_code(code)
    app_id = k.device.app_id
    return idempotent(
        c,
        request,
        f"kiosk:{app_id}",
        body.model_dump_json(),
        lambda: _open(c, codes, body.channel, app_id),
        status_code=201,
    )


def _open(c: Container, codes: list[str], channel: str, app_id: str) -> CartOut:
    """Several: a cart (at one channel, or an aggregate code); one: its own order, or its
    aggregate code (any wallet)."""
    if len(codes) > 1:
        return open_cart(c, codes, channel, app_id)
    policy = c.payment_policy()
    if channel == "aggregate":
        code = issue_aggregate(c.read_uow(), c.box, codes[0], base_url=c.settings.public_base_url,
                               clock=c.clock, policy=policy, source=app_id)  # fmt: skip
        one = OpenedOrder(code.session_no, code.url, code.amount_fen, code.expires_at)
    else:
        one = open_qr_order(c.uow(), c.gateways, codes[0], Channel(channel), clock=c.clock,
                            policy=policy, source=app_id)  # fmt: skip
    return CartOut(
        order_no=one.order_no,
        qr_code=one.qr_code,
        channel=channel,
        amount_fen=one.amount_fen,
        expires_at=one.expires_at.isoformat(),
        lines=[CartLineOut(payment_code=codes[0], amount_fen=one.amount_fen)],
    )


class StatusOut(BaseModel):
    payables: list[dict[str, Any]]


@router.get("/status", response_model=StatusOut)
def status(
    codes: str, k: Kiosk = Depends(kiosk_call), c: Container = Depends(container)
) -> StatusOut:
    """Paid yet? And each paid payable's receipt once issued (to print it)."""
    wanted = [code.strip() for code in codes.split(",") if code.strip()][:MAX_CART]
    for code in wanted:
        parse_payment_code(code)
    with c.read_uow() as uow:
        found = [p for code in wanted for p in queries.by_code(uow.connection, code)]
        receipts = queries.live_receipts(uow.connection, [p.id for p in found])
    rows = []
    for p in found:
        receipt = receipts.get(p.id)
        rows.append(
            {
                "payment_code": p.payment_code,
                "status": p.status.value,
                "status_label": status_label(p.status),
                "paid": p.status is not PayableStatus.UNPAID and p.paid_at is not None,
                "receipt": {"code": receipt.code, "number": receipt.number} if receipt else None,
            }
        )
    return StatusOut(payables=rows)


class PrintIn(Strict):
    code: str = text(min_length=8, max_length=8, description="票据代码")
    number: str = text(min_length=1, max_length=10, description="票据号码")


@router.post("/print")
def print_(
    body: PrintIn, k: Kiosk = Depends(kiosk_call), c: Container = Depends(container)
) -> Response:
    """The receipt's PDF for the kiosk's printer, counted (a reprint is marked 重打). Refused
    while the printer reports a fault or no paper: nothing is counted then."""
    with c.read_uow() as uow:
        device = uow.devices.by_app_id(k.device.app_id)
    if device is None or not can_print(device):
        raise PrinterUnavailable(
            "本机打印机缺纸或故障，暂不能打印。票据已开具，可稍后再来打印（开具后6个月内），"
            "或在手机缴款页面下载电子票据"
        )
    request = PrintRequest(body.code, body.number, place=device.app_id, unit_id=None)
    policy = receipt_policy(c.settings)
    done = print_receipt(c.uow(), ReceiptFormats(), request, policy=policy, clock=c.clock)
    headers = {
        "X-Print-Count": str(done.print_count),
        "X-Reprint": "1" if done.reprint else "0",
        "Cache-Control": "no-store",
    }
    return Response(done.pdf, media_type="application/pdf", headers=headers)


@router.post("/heartbeat", response_model=DeviceOut)
def heartbeat(
    body: HeartbeatIn, k: Kiosk = Depends(kiosk_call), c: Container = Depends(container)
) -> DeviceOut:
    beat = Heartbeat.parse(body.printer, body.paper, body.version)
    return device_out(record_heartbeat(c.uow(), k.device.app_id, beat, clock=c.clock), c)
