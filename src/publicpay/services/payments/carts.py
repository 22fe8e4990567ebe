"""Carts (M4+): several payables paid in one channel payment.

Workflow: calls a channel between transactions (opening the cart's order, recovering open
carts). The cart is reserved in one transaction (its payables locked, checked unpaid, their
amounts due today fixed in it), the channel is asked for one QR order of the total with the
cart's number, and its QR code is stored in another.

Applying the channel's success is ONE transaction: the cart, then its payables (locked in id
order), an order per payable for exactly its amount (`cart_id` on the order), each payable
marked paid by its own order; the recorder writes each payable's journal, receipt job, webhook
event and audit row as for any payment, so receipts and refunds stay per payable. A payable
paid elsewhere meanwhile takes its share as a duplicate, refunded automatically.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from publicpay.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    Conflict,
    NotFound,
    ValidationFailed,
)
from publicpay.domain.events import DiscrepancyKind
from publicpay.domain.payables import (
    Payable,
    PayableStatus,
    amount_due_fen,
    payment_shares,
    status_label,
)
from publicpay.domain.payments.carts import (
    CART_PREFIX,
    Cart,
    CartItem,
    CartStatus,
    check_cart_codes,
    check_one_account,
)
from publicpay.domain.payments.channels import Channel, QrOrderRequest, TradeResult, TradeState
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus, Outcome
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.services.payments.aggregate import aggregate_url
from publicpay.services.payments.checkout import OpenedOrder
from publicpay.services.payments.orders import PaymentPolicy, new_order_no, taken_at
from publicpay.services.payments.ports import Gateways, JsapiGateway
from publicpay.services.ports import Box, Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.carts")


def new_cart_no(now: datetime) -> str:
    """'C' + yymmddHHMMSS (Shanghai) + 12 hex chars: 25 chars, within every channel's limit."""
    return CART_PREFIX + now.astimezone(SHANGHAI).strftime("%y%m%d%H%M%S") + secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class CartLine:
    payment_code: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class OpenedCart:
    order: OpenedOrder
    lines: tuple[CartLine, ...]


def open_cart_order(
    uow: UnitOfWork,
    gateways: Gateways,
    payment_codes: Sequence[str],
    channel: Channel | None,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None = None,
    aggregate: Aggregate | None = None,
) -> OpenedCart:
    """One channel QR order paying every payable of `payment_codes` (2 to 10, unpaid, all
    collected through one merchant account). `source`: the device's app id, if any.
    `channel` None: an aggregate code (聚合码, `aggregate` says how to make it); the cart waits
    for the first wallet that opens it (`open_cart_for_wallet`)."""
    codes = check_cart_codes(payment_codes)
    cart, lines, _ = _reserve(uow, gateways, codes, channel, clock, policy, source)
    assert cart.expires_at is not None
    if channel is None:
        assert aggregate is not None
        base = aggregate.base_url
        _, url = aggregate_url(aggregate.box, cart.cart_no, cart.expires_at, base_url=base)
        return OpenedCart(OpenedOrder(cart.cart_no, url, cart.amount_fen, cart.expires_at), lines)
    qr_code = _at_channel(uow, gateways, cart, channel, clock, policy)
    return OpenedCart(OpenedOrder(cart.cart_no, qr_code, cart.amount_fen, cart.expires_at), lines)


@dataclass(frozen=True, slots=True)
class Aggregate:
    box: Box
    base_url: str


def _at_channel(
    uow: UnitOfWork,
    gateways: Gateways,
    cart: Cart,
    channel: Channel,
    clock: Clock,
    policy: PaymentPolicy,
    openid: str | None = None,
) -> str:
    """The cart's order at the channel (a QR, or WeChat's JSAPI prepay for `openid`)."""
    gateway = gateways.for_account(channel, cart.channel_account_id)
    assert cart.expires_at is not None
    request = QrOrderRequest(
        cart.cart_no,
        cart.amount_fen,
        f"非税合并缴款-{len(cart.items)}笔",
        policy.notify_url_for(channel.value, cart.channel_account_id),
        cart.expires_at,
    )
    try:
        if openid is not None:
            if not isinstance(gateway, JsapiGateway):
                raise ValidationFailed("微信支付未开通公众号支付", errors={"channel": "wechat"})
            qr_code = json.dumps(gateway.jsapi_prepay(request, openid), ensure_ascii=False)
        else:
            qr_code = gateway.create_qr_order(request).qr_code
    except (ChannelUnavailable, ChannelRejected):
        _finish(uow, cart.cart_no, clock, failed=True)
        raise
    with uow:
        stored = uow.carts.by_no(cart.cart_no, lock=True)
        assert stored is not None
        stored.qr_code = qr_code[:500]
        uow.carts.save(stored)
        uow.commit()
    return qr_code


class CartOpenedElsewhere(Conflict):
    code = "cart_opened_elsewhere"
    title = "该二维码已在其他钱包中打开"


def open_cart_for_wallet(
    uow: UnitOfWork,
    gateways: Gateways,
    cart_no: str,
    channel: Channel,
    *,
    clock: Clock,
    policy: PaymentPolicy,
    openid: str | None = None,
) -> tuple[Cart, str]:
    """A wallet opened a cart's aggregate code: the cart becomes that channel's order (the
    first wallet wins; another wallet is refused, so the cart is never paid twice). Returns the
    cart and the QR URL (Alipay, UnionPay) or the JSAPI bundle as JSON (WeChat, `openid`)."""
    with uow:
        cart = uow.carts.by_no(cart_no, lock=True)
        if cart is None:
            raise NotFound("合并支付不存在")
        if cart.status is not CartStatus.PAYING:
            raise ValidationFailed("该合并支付已结束，请重新发起")
        if cart.channel == channel.value and cart.qr_code and openid is None:
            return cart, cart.qr_code
        if cart.channel not in (AGGREGATE, channel.value):
            wallet = _wallet(cart.channel)
            raise CartOpenedElsewhere(f"该二维码已在{wallet}中打开，请用同一钱包支付")
        payables = [uow.payables.by_id(item.payable_id) for item in cart.items]
        accounts = {p.payment_code: gateways.for_unit(channel, p.unit_id)[0] for p in payables if p}
        check_one_account(accounts)
        cart.channel, cart.channel_account_id = channel.value, next(iter(accounts.values()))
        uow.carts.open_at(cart)
        uow.commit()
    return cart, _at_channel(uow, gateways, cart, channel, clock, policy, openid)


AGGREGATE = "aggregate"
_WALLETS = {"alipay": "支付宝", "wechat": "微信", "unionpay": "云闪付"}


def _wallet(channel: str) -> str:
    return _WALLETS.get(channel, channel)


def _reserve(
    uow: UnitOfWork,
    gateways: Gateways,
    codes: list[str],
    channel: Channel | None,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None,
) -> tuple[Cart, tuple[CartLine, ...], str]:
    with uow:
        now = clock.now()
        payables = [_unpaid(uow, code) for code in sorted(codes)]  # locked in one order
        accounts: dict[str, int | None] = {}
        if channel is not None:  # an aggregate code is checked when a wallet opens it
            accounts = {p.payment_code: gateways.for_unit(channel, p.unit_id)[0] for p in payables}
            check_one_account(accounts)
        items = uow.catalogue.items()
        today = business_date(now)
        due = {p.id: amount_due_fen(p.lines, items, p.due_date, today) for p in payables}
        place = taken_at(uow, source) if source else None
        cart = Cart(
            id=0,
            cart_no=new_cart_no(now),
            channel=channel.value if channel else AGGREGATE,
            amount_fen=sum(due.values()),
            status=CartStatus.PAYING,
            items=[CartItem(p.id, due[p.id]) for p in payables],
            channel_account_id=next(iter(accounts.values()), None),
            created_at=now,
            expires_at=now + timedelta(seconds=policy.order_timeout_s),
            device_id=place.device_id if place else None,
            site_id=place.site_id if place else None,
        )
        uow.carts.add(cart)
        uow.commit()
    lines = tuple(CartLine(p.payment_code, due[p.id]) for p in payables)
    subject = f"非税合并缴款-{len(payables)}笔"
    return cart, lines, subject


def _unpaid(uow: UnitOfWork, code: str) -> Payable:
    payable = uow.payables.by_code(code, lock=True)
    if payable is None:
        raise NotFound(f"缴款码 {code} 不存在", errors={"payment_codes": code})
    if payable.status is not PayableStatus.UNPAID:
        raise ValidationFailed(
            f"缴款单 {code} 状态为「{status_label(payable.status)}」，不能再支付",
            errors={"payment_codes": code},
        )
    return payable


def _finish(uow: UnitOfWork, cart_no: str, clock: Clock, *, failed: bool) -> None:
    with uow:
        cart = uow.carts.by_no(cart_no, lock=True)
        if cart is not None and cart.status is CartStatus.PAYING:
            cart.close(at=clock.now(), failed=failed)
            uow.carts.save(cart)
            uow.commit()


def apply_cart_trade_in(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> Outcome:
    """The channel's word on a cart, inside the caller's transaction (the caller commits)."""
    cart = uow.carts.by_no(result.order_no, lock=True)
    if cart is None:
        return Outcome.UNKNOWN_ORDER
    now = clock.now()
    if result.state in (TradeState.CLOSED, TradeState.FAILED, TradeState.NOT_FOUND):
        if cart.status is not CartStatus.PAYING:
            return Outcome.UNCHANGED
        cart.close(at=now, failed=result.state is TradeState.FAILED)
        uow.carts.save(cart)
        return Outcome.CLOSED
    if result.state is not TradeState.SUCCEEDED:
        return Outcome.PENDING
    if cart.status is CartStatus.SUCCEEDED:
        return Outcome.ALREADY_APPLIED
    if result.amount_fen != cart.amount_fen:
        _mismatch(uow, cart, result, now)
        return Outcome.AMOUNT_MISMATCH
    cart.mark_succeeded(result.channel_trade_no, result.paid_at, at=now)
    uow.carts.save(cart)
    return _settle_each(uow, cart, now)


def _settle_each(uow: UnitOfWork, cart: Cart, now: datetime) -> Outcome:
    """Every payable settled by an order of its own, for exactly its share of the payment."""
    ordered = sorted(cart.items, key=lambda item: item.payable_id)
    payables = [uow.payables.by_id(item.payable_id, lock=True) for item in ordered]
    orders = [_member_order(cart, item, now) for item in ordered]
    for order in orders:
        uow.orders.add(order)  # inserted at once, before any queued write of the orders
    items = uow.catalogue.items()
    duplicates = 0
    for payable, order in zip(payables, orders, strict=True):
        assert payable is not None
        uow.collect(order.mark_succeeded(cart.channel_trade_no, cart.paid_at, at=now))
        uow.orders.save(order)
        if payable.status is PayableStatus.UNPAID:
            shares = payment_shares(payable.lines, items, order.amount_fen)
            uow.collect(payable.mark_paid(order, shares, at=now))
            uow.payables.save(payable)
        else:  # paid elsewhere meanwhile: this share is owed back
            duplicates += 1
            refund_no = "R" + order.order_no[1:]
            uow.collect(payable.take_duplicate(order, refund_no=refund_no, at=now))
    return Outcome.PAID if not duplicates else Outcome.DUPLICATE_REFUNDING


def _member_order(cart: Cart, item: CartItem, now: datetime) -> Order:
    assert cart.created_at is not None
    assert cart.expires_at is not None
    return Order(
        id=0,
        order_no=new_order_no(now),
        payable_id=item.payable_id,
        channel=cart.channel,
        method=OrderMethod.QR,
        amount_fen=item.amount_fen,
        status=OrderStatus.PAYING,
        qr_code=None,
        channel_trade_no=None,
        created_at=cart.created_at,
        expires_at=cart.expires_at,
        channel_account_id=cart.channel_account_id,
        site_id=cart.site_id,
        device_id=cart.device_id,
        cart_id=cart.id,
    )


def _mismatch(uow: UnitOfWork, cart: Cart, result: TradeResult, now: datetime) -> None:
    """Another amount than the cart's: never booked; the cart fails, a discrepancy is kept."""
    if cart.status is CartStatus.PAYING:
        cart.close(at=now, failed=True)
        uow.carts.save(cart)
    uow.discrepancies.add(
        DiscrepancyKind.AMOUNT_MISMATCH,
        cart.channel,
        cart.cart_no,
        None,
        result.amount_fen,
        {"expected_fen": cart.amount_fen, "cart": True},
        now,
    )


def apply_cart_trade(uow: UnitOfWork, result: TradeResult, *, clock: Clock) -> Outcome:
    with uow:
        outcome = apply_cart_trade_in(uow, result, clock=clock)
        if outcome is not Outcome.UNKNOWN_ORDER:
            uow.commit()
        return outcome


def recover_open_carts(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    *,
    clock: Clock,
    older_than_s: int,
    limit: int = 100,
) -> int:
    """No cart stays "paying": ask the channel (a missed notification), close expired ones."""
    with new_uow() as uow:
        cart_nos = uow.carts.open_created_before(
            clock.now() - timedelta(seconds=older_than_s), limit
        )
    settled = 0
    for cart_no in cart_nos:
        try:
            settled += _recover(new_uow, gateways, cart_no, clock)
        except (ChannelUnavailable, ChannelRejected) as exc:
            log.warning("recovery of cart %s postponed: %s", cart_no, exc.detail)
    return settled


def _recover(
    new_uow: Callable[[], UnitOfWork], gateways: Gateways, cart_no: str, clock: Clock
) -> int:
    with new_uow() as uow:
        cart = uow.carts.by_no(cart_no)
    if cart is None or cart.status is not CartStatus.PAYING:
        return 0
    if cart.channel == AGGREGATE:  # no wallet opened it: no order at any channel
        assert cart.expires_at is not None
        if cart.expires_at > clock.now():
            return 0
        _finish(new_uow(), cart_no, clock, failed=False)
        return 1
    gateway = gateways.for_account(Channel(cart.channel), cart.channel_account_id)
    result = gateway.query(cart_no)
    if result.state in (TradeState.SUCCEEDED, TradeState.CLOSED, TradeState.FAILED):
        apply_cart_trade(new_uow(), result, clock=clock)
        return 1
    assert cart.expires_at is not None
    if cart.expires_at > clock.now():
        return 0
    try:
        gateway.close(cart_no)
    except ChannelRejected as exc:  # the channel never saw it (never scanned)
        log.info("close cart %s: %s", cart_no, exc.detail)
    closed = TradeResult(cart_no, TradeState.CLOSED, amount_fen=result.amount_fen)
    apply_cart_trade(new_uow(), closed, clock=clock)
    return 1
