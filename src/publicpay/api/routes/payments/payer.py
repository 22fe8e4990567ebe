"""Payer API: no credentials; the payment code is what the payer holds.

Throttled per client address (api.rate_limits.AnonymousLimits): every lookup spends a token,
an unknown code spends the address's miss allowance, and each channel order opened its hourly
order allowance; a payable keeps at most PUBLICPAY_MAX_OPEN_ORDERS_PER_PAYABLE unpaid QR orders.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from publicpay.api.deps import container
from publicpay.api.idempotency import idempotent
from publicpay.api.params import PaymentCode
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.api.schemas import OrderIn, OrderOut
from publicpay.bootstrap import Container
from publicpay.domain.codes import parse_payment_code
from publicpay.domain.errors import NotFound
from publicpay.domain.payables import PayableStatus, due_now, status_label
from publicpay.domain.payments.channels import Channel
from publicpay.domain.time import business_date
from publicpay.services.payments.aggregate import issue_aggregate
from publicpay.services.payments.checkout import open_qr_order

router = APIRouter(prefix="/api/v1/pay", tags=["payer"])


class PayableStatusOut(BaseModel):
    payment_code: str
    status: str
    status_label: str
    amount_due_fen: int
    paid_at: str | None
    channel: str | None
    receipt_ready: bool = False  # the live e-receipt is issued (/pay/{code}/receipt.pdf)


@router.get("/{payment_code}", response_model=PayableStatusOut, summary="缴款单状态（缴款人）")
def status(
    payment_code: PaymentCode, request: Request, c: Container = Depends(container)
) -> PayableStatusOut:
    limits, address = anonymous_limits(request), client_address(request)
    limits.lookup(address)
    code = parse_payment_code(payment_code)  # a mistyped code is caught by its check digit
    del code
    with c.read_uow() as uow:
        payable = uow.payables.by_code(payment_code.strip())
        items = uow.catalogue.items()
        settled = payable is not None and payable.status is not PayableStatus.UNPAID
        receipt = uow.receipts.live_for_payable(payable.id) if payable and settled else None
    if payable is None:
        limits.missed(address)
        raise NotFound(f"缴款码 {payment_code} 不存在")
    due = due_now(payable, items, business_date(c.clock.now()))
    return PayableStatusOut(
        payment_code=payable.payment_code,
        status=payable.status.value,
        status_label=status_label(payable.status),
        amount_due_fen=due,
        paid_at=payable.paid_at.isoformat() if payable.paid_at else None,
        channel=payable.channel,
        receipt_ready=receipt is not None,
    )


@router.post(
    "/{payment_code}/orders",
    response_model=OrderOut,
    status_code=201,
    summary="创建支付订单，返回渠道二维码（可带 Idempotency-Key 请求头）",
)
def create_order(
    payment_code: PaymentCode, body: OrderIn, request: Request, c: Container = Depends(container)
) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    limits.lookup(address)
    parse_payment_code(payment_code)
    code = payment_code.strip()
    if body.channel != "aggregate":  # a channel order (the aggregate code opens none yet)
        limits.order(address)
    try:
        return idempotent(
            c,
            request,
            f"pay:{code}",
            body.model_dump_json(),
            lambda: _open_order(c, code, body),
            status_code=201,
        )
    except NotFound:
        limits.missed(address)
        raise


def _open_order(c: Container, code: str, body: OrderIn) -> OrderOut:
    # 聚合码: one code any wallet can pay (see services.payments.aggregate)
    if body.channel == "aggregate":
        aggregate = issue_aggregate(
            c.read_uow(),
            c.box,
            code,
            base_url=c.settings.public_base_url,
            clock=c.clock,
            policy=c.payment_policy(),
        )
        return OrderOut(
            order_no=aggregate.session_no,
            qr_code=aggregate.url,
            channel="aggregate",
            amount_fen=aggregate.amount_fen,
            expires_at=aggregate.expires_at.isoformat(),
        )
    opened = open_qr_order(
        c.uow(),
        c.gateways,
        code,
        Channel(body.channel),
        clock=c.clock,
        policy=c.payment_policy(),
    )
    return OrderOut(
        order_no=opened.order_no,
        qr_code=opened.qr_code,
        channel=body.channel,
        amount_fen=opened.amount_fen,
        expires_at=opened.expires_at.isoformat(),
    )
