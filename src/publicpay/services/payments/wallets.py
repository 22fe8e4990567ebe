"""Wallet buttons on a phone (issue 13): the pay page opens the payer's wallet directly.

Workflow: calls a channel between transactions. The order is reserved (or an open one of the
same payable, channel and method reused) in one transaction, the channel is asked with no
transaction open, and what it answered is stored in another.

- Alipay 手机网站支付 (`alipay.trade.wap.pay`, method WAP): a page method. The browser is sent
  to Alipay's gateway with the signed parameters; Alipay's cashier takes the payment, sends
  the browser back to `return_url` (the pay page) and the result to our notify URL, which
  completes the payment like any Alipay notification.
- WeChat Pay H5 (`/v3/pay/transactions/h5`, method H5), for a phone browser outside WeChat:
  the browser goes to the `h5_url` WeChat answered, with `&redirect_url=` (the pay page).
- WeChat JSAPI (`/v3/pay/transactions/jsapi`, method JSAPI), inside WeChat's browser: the
  payer's openid comes from the 公众号's silent OAuth2 (snsapi_base) first; the page hands the
  signed bundle to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`.

A second tap while an order of the same channel and method is open reuses that order (the same
out_trade_no at the channel), so two taps never open two orders that both charge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, NotFound, ValidationFailed
from publicpay.domain.payments.carts import check_one_account
from publicpay.domain.payments.channels import Channel, QrOrderRequest
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.services.payments.orders import PaymentPolicy, finish_order, reserve_order
from publicpay.services.payments.ports import (
    ChannelGateway,
    Gateways,
    WapGateway,
    WechatWalletGateway,
)
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


class Wallet(StrEnum):
    ALIPAY_WAP = "alipay-wap"
    WECHAT_H5 = "wechat-h5"
    WECHAT_JSAPI = "wechat-jsapi"


WALLET_ORDERS: dict[Wallet, tuple[Channel, OrderMethod]] = {
    Wallet.ALIPAY_WAP: (Channel.ALIPAY, OrderMethod.WAP),
    Wallet.WECHAT_H5: (Channel.WECHAT, OrderMethod.H5),
    Wallet.WECHAT_JSAPI: (Channel.WECHAT, OrderMethod.JSAPI),
}
WAP_MARK = "alipay.trade.wap.pay"  # stored as the order's qr_code: the page was signed
NOT_OPEN = "该支付方式暂未开通，请改用扫码支付"


@dataclass(frozen=True, slots=True)
class PayerBrowser:
    """Where the payer's browser comes back to, and who it is (as the channel needs it)."""

    return_url: str  # the pay page
    client_ip: str = ""  # WeChat H5: scene_info.payer_client_ip
    openid: str = ""  # WeChat JSAPI: the payer in the 公众号 (from OAuth2 snsapi_base)


@dataclass(frozen=True, slots=True)
class WalletStart:
    order_no: str
    amount_fen: int
    reused: bool  # a second tap: the order already open
    redirect_url: str = ""  # Alipay WAP, WeChat H5: where the browser goes next
    bundle: dict[str, str] = field(default_factory=dict)  # WeChat JSAPI: getBrandWCPayRequest


def open_wallet_order(
    uow: UnitOfWork,
    gateways: Gateways,
    payment_code: str,
    wallet: Wallet,
    browser: PayerBrowser,
    *,
    clock: Clock,
    policy: PaymentPolicy,
) -> WalletStart:
    channel, method = WALLET_ORDERS[wallet]
    if wallet is Wallet.WECHAT_JSAPI and not browser.openid:
        raise ValidationFailed("未获取到微信用户标识，请在微信中重新打开缴款页面")
    order, subject = reserve_order(
        uow, payment_code, channel, method, clock, policy, gateways=gateways,
        reuse_open=_same_payer(browser.openid) if method is OrderMethod.JSAPI else True,
    )  # fmt: skip
    reused = order.qr_code is not None
    request = QrOrderRequest(
        order.order_no,
        order.amount_fen,
        subject,
        policy.notify_url_for(channel.value, order.channel_account_id),
        order.expires_at,
    )
    gateway = gateways.for_account(channel, order.channel_account_id)
    try:
        stored, start = _at_channel(gateway, wallet, request, browser, order.qr_code)
    except (ChannelUnavailable, ChannelRejected, ValidationFailed):
        if not reused:
            finish_order(uow, order.order_no, OrderStatus.FAILED, clock)
        raise
    if not reused:
        with uow:
            kept = uow.orders.by_no(order.order_no, lock=True)
            assert kept is not None
            kept.qr_code = stored
            uow.orders.save(kept)
            uow.commit()
    return WalletStart(order.order_no, order.amount_fen, reused, *start)


def _same_payer(openid: str) -> Callable[[Order], bool]:
    """A JSAPI order is reused only for the payer it was opened for."""
    mark = payer_mark(openid)
    return lambda order: (order.qr_code or "").endswith("#" + mark)


def _at_channel(
    gateway: ChannelGateway,
    wallet: Wallet,
    request: QrOrderRequest,
    browser: PayerBrowser,
    stored: str | None,
) -> tuple[str, tuple[str, dict[str, str]]]:
    """(what the order keeps, (redirect URL, JSAPI bundle)) for one wallet."""
    if wallet is Wallet.ALIPAY_WAP:
        if not isinstance(gateway, WapGateway):
            raise ValidationFailed(NOT_OPEN, errors={"wallet": wallet.value})
        url = gateway.wap_pay_url(request, browser.return_url, browser.return_url)
        return WAP_MARK, (url, {})
    if not isinstance(gateway, WechatWalletGateway):
        raise ValidationFailed(NOT_OPEN, errors={"wallet": wallet.value})
    if wallet is Wallet.WECHAT_H5:
        h5_url = stored or gateway.h5_prepay(request, browser.client_ip or "127.0.0.1")
        joiner = "&" if "?" in h5_url else "?"
        return h5_url, (f"{h5_url}{joiner}redirect_url={quote(browser.return_url, safe='')}", {})
    prepay_id = (stored or "").removeprefix("prepay_id=").partition("#")[0]
    if not prepay_id:
        prepay_id = gateway.jsapi_prepay_id(request, browser.openid)
    kept = f"prepay_id={prepay_id}#{payer_mark(browser.openid)}"
    return kept, ("", gateway.jsapi_bundle(prepay_id))


def payer_mark(openid: str) -> str:
    """What a JSAPI order keeps of its payer (a prepay_id is bound to one openid): enough to
    tell another payer, not the openid itself."""
    return hashlib.sha256(openid.encode()).hexdigest()[:12]


def wechat_wallet_for(
    uow: UnitOfWork, gateways: Gateways, payment_code: str
) -> tuple[int, WechatWalletGateway]:
    """(unit id, WeChat gateway) a payable's JSAPI payment goes through: its 公众号 gives the
    openid (an openid belongs to one appid)."""
    with uow:
        payable = uow.payables.by_code(payment_code)
    if payable is None:
        raise NotFound(f"缴款码 {payment_code} 不存在")
    _, gateway = gateways.for_unit(Channel.WECHAT, payable.unit_id)
    if not isinstance(gateway, WechatWalletGateway):
        raise ValidationFailed("微信支付未开通公众号支付", errors={"channel": "wechat"})
    return payable.unit_id, gateway


def check_cart_wallets(
    uow: UnitOfWork, gateways: Gateways, payment_codes: list[str], channels: list[Channel]
) -> None:
    """A cart paid by an aggregate code (any wallet): refused at once when, at some wallet's
    channel, its payables are collected through different merchant accounts (the wallet would
    be refused on opening it). The portal's cart (history) checks this before opening one."""
    with uow:
        found = [uow.payables.by_code(code) for code in payment_codes]
    units = {p.payment_code: p.unit_id for p in found if p is not None}
    for channel in channels:
        if channel in WALLET_CHANNELS:
            check_one_account({code: gateways.for_unit(channel, u)[0] for code, u in units.items()})


WALLET_CHANNELS = frozenset({Channel.ALIPAY, Channel.WECHAT, Channel.UNIONPAY})
