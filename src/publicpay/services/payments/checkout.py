"""Opening a payment order at a channel: a payer's QR code, an aggregate code opened in a wallet,
WeChat's in-app payment (JSAPI).

Workflow: calls a channel between transactions. The order is reserved in one transaction, the
channel is asked with no transaction open, and what it answered is stored in another (a refusal
or an unreachable channel fails the order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, ValidationFailed
from publicpay.domain.payments.channels import Channel, QrOrderRequest
from publicpay.domain.payments.orders import OrderMethod, OrderStatus
from publicpay.services.payments.orders import PaymentPolicy, finish_order, reserve_order
from publicpay.services.payments.ports import Gateways, JsapiGateway
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class OpenedOrder:
    order_no: str
    qr_code: str
    amount_fen: int
    expires_at: datetime


def open_qr_order(
    uow: UnitOfWork,
    gateways: Gateways,
    payment_code: str,
    channel: Channel,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None = None,
) -> OpenedOrder:
    """`source`: the device's app id when opened at a kiosk (its site and device recorded)."""
    order, subject = reserve_order(
        uow, payment_code, channel, OrderMethod.QR, clock, policy, gateways=gateways, source=source
    )
    gateway = gateways.for_account(channel, order.channel_account_id)
    try:
        qr = gateway.create_qr_order(
            QrOrderRequest(
                order.order_no,
                order.amount_fen,
                subject,
                policy.notify_url_for(channel.value, order.channel_account_id),
                order.expires_at,
            )
        )
    except (ChannelUnavailable, ChannelRejected):
        finish_order(uow, order.order_no, OrderStatus.FAILED, clock)
        raise
    with uow:
        stored = uow.orders.by_no(order.order_no, lock=True)
        assert stored is not None
        stored.qr_code = qr.qr_code
        uow.orders.save(stored)
        uow.commit()
    return OpenedOrder(order.order_no, qr.qr_code, order.amount_fen, order.expires_at)


@dataclass(frozen=True, slots=True)
class JsapiOrder:
    order: OpenedOrder
    bundle: dict[str, str]  # appId, timeStamp, nonceStr, package, signType, paySign


def open_for_wallet(
    uow: UnitOfWork,
    gateways: Gateways,
    payment_code: str,
    channel: Channel,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None = None,
) -> OpenedOrder:
    """Alipay / UnionPay: a channel QR order; the wallet is sent to its qr_code URL. `source`:
    the device that showed the aggregate code."""
    return open_qr_order(
        uow, gateways, payment_code, channel, clock=clock, policy=policy, source=source
    )


def open_jsapi(
    uow: UnitOfWork,
    gateways: Gateways,
    payment_code: str,
    openid: str,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None = None,
) -> JsapiOrder:
    """WeChat: a JSAPI order for this payer; the page hands the bundle to WeixinJSBridge.
    `source`: the device that showed the aggregate code."""
    if not isinstance(gateways.get(Channel.WECHAT), JsapiGateway):
        raise ValidationFailed("微信支付未开通公众号支付", errors={"channel": "wechat"})
    if not openid or len(openid) > 128:
        raise ValidationFailed("缺少微信用户标识 openid", errors={"openid": "必填"})
    order, subject = reserve_order(
        uow, payment_code, Channel.WECHAT, OrderMethod.QR, clock, policy, gateways=gateways,
        source=source,
    )  # fmt: skip
    gateway = gateways.for_account(Channel.WECHAT, order.channel_account_id)
    if not isinstance(gateway, JsapiGateway):
        finish_order(uow, order.order_no, OrderStatus.FAILED, clock)
        raise ValidationFailed("该单位的微信支付商户未开通公众号支付", errors={"channel": "wechat"})
    request = QrOrderRequest(
        order.order_no,
        order.amount_fen,
        subject,
        policy.notify_url_for(Channel.WECHAT.value, order.channel_account_id),
        order.expires_at,
    )
    try:
        bundle = gateway.jsapi_prepay(request, openid)
    except (ChannelUnavailable, ChannelRejected):
        finish_order(uow, order.order_no, OrderStatus.FAILED, clock)
        raise
    with uow:
        stored = uow.orders.by_no(order.order_no, lock=True)
        assert stored is not None
        stored.qr_code = bundle["package"]  # prepay_id=…
        uow.orders.save(stored)
        uow.commit()
    opened = OpenedOrder(order.order_no, bundle["package"], order.amount_fen, order.expires_at)
    return JsapiOrder(opened, bundle)
