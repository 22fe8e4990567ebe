"""Cart (M4+): several payables paid in one payment (no credentials: the payment codes are what
the payer holds). One channel QR order for the total; when it is paid, every payable in it is
paid, split back exactly in the ledger, each with its own receipt and its own refund path.

Throttled like the payer API: each payment code is a lookup, the channel order an order."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from publicpay.api.deps import container
from publicpay.api.idempotency import idempotent
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.codes import parse_payment_code
from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payments.carts import MAX_CART
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.carts import Aggregate, OpenedCart, open_cart_order

router = APIRouter(prefix="/api/v1/pay/cart", tags=["payer"])


class CartIn(Strict):
    payment_codes: list[str] = Field(
        min_length=2, max_length=MAX_CART, description=f"缴款码（2–{MAX_CART} 张，各不相同）"
    )
    channel: str = text(
        max_length=20, description="支付渠道：alipay / wechat / unionpay / aggregate（聚合码）"
    )
    method: str = text(default="qr", max_length=10, description="qr=缴款人扫码（主扫）")


class CartLineOut(BaseModel):
    payment_code: str
    amount_fen: int


class CartOut(BaseModel):
    order_no: str = Field(description="合并支付的订单号（渠道侧的商户订单号）")
    qr_code: str
    channel: str
    amount_fen: int = Field(description="合计金额（分）")
    expires_at: str
    lines: list[CartLineOut] = Field(description="每张缴款单的金额，合计即 amount_fen")


CART_CHANNELS = ("alipay", "wechat", "unionpay", "aggregate")


def cart_out(opened: OpenedCart, channel: str) -> CartOut:
    order = opened.order
    return CartOut(
        order_no=order.order_no,
        qr_code=order.qr_code,
        channel=channel,
        amount_fen=order.amount_fen,
        expires_at=order.expires_at.isoformat(),
        lines=[
            CartLineOut(payment_code=x.payment_code, amount_fen=x.amount_fen) for x in opened.lines
        ],
    )


def check_cart_request(body: CartIn) -> list[str]:
    """Codes checked by their check digit before anything is looked up; channel and method."""
    if body.channel not in CART_CHANNELS:
        raise ValidationFailed(
            "合并支付的渠道应为 alipay / wechat / unionpay", errors={"channel": body.channel}
        )
    if body.method != "qr":
        raise ValidationFailed("合并支付只支持扫码（qr）", errors={"method": body.method})
    codes = [code.strip() for code in body.payment_codes]
    for code in codes:
        parse_payment_code(code)
    return codes


@router.post(
    "/orders",
    response_model=CartOut,
    status_code=201,
    summary="合并支付：多张缴款单一次付款（可带 Idempotency-Key 请求头）",
)
def create_cart_order(
    body: CartIn, request: Request, c: Container = Depends(container)
) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    codes = check_cart_request(body)
    for _ in codes:
        limits.lookup(address)
    limits.order(address)
    try:
        return idempotent(
            c,
            request,
            "cart:" + ",".join(sorted(codes)),
            body.model_dump_json(),
            lambda: open_cart(c, codes, body.channel),
            status_code=201,
        )
    except NotFound:
        limits.missed(address)
        raise


def open_cart(c: Container, codes: list[str], channel: str, source: str | None = None) -> CartOut:
    """A cart at one channel, or an aggregate code (聚合码) the first wallet to open it takes."""
    opened = open_cart_order(
        c.uow(),
        c.gateways,
        codes,
        None if channel == "aggregate" else Channel(channel),
        clock=c.clock,
        policy=c.payment_policy(),
        source=source,
        aggregate=Aggregate(c.box, c.settings.public_base_url),
    )
    return cart_out(opened, channel)
