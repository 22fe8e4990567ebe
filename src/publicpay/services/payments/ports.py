"""Ports of payments: the channels, payment orders, the notification inbox and discrepancies, as
Protocols (adapters implement them)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from publicpay.domain.events import DiscrepancyKind
from publicpay.domain.payables import Payable
from publicpay.domain.payments.cards import CardResult, CardSaleRequest
from publicpay.domain.payments.carts import Cart
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    TradeResult,
)
from publicpay.domain.payments.orders import Order


class ChannelGateway(Protocol):
    """One payment channel. Every method speaks the channel's real wire protocol.

    Transport failures (timeout, 5xx, unparsable answer) raise `ChannelUnavailable`; business
    refusals raise `ChannelRejected`; a notification that fails verification raises
    `InvalidNotification`.
    """

    channel: Channel

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder: ...

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult: ...

    def query(self, order_no: str) -> TradeResult: ...

    def close(self, order_no: str) -> None: ...

    def cancel(self, order_no: str) -> TradeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...

    def ack(self, ok: bool) -> NotificationAck: ...

    def fetch_statement(self, day: date) -> bytes: ...


class CardHost(Protocol):
    """The card acquirer's terminal host (adapters/channels/card_terminal.py): a card-present
    sale on a window's POS terminal, its query and same-day void. `ChannelUnavailable`: the
    outcome is unknown (query before anything else); `ChannelRejected`: the request refused."""

    def sale(self, request: CardSaleRequest) -> CardResult: ...

    def query(self, terminal_id: str, order_no: str) -> CardResult: ...

    def void(self, terminal_id: str, order_no: str, void_no: str) -> CardResult: ...


class Gateways(Protocol):
    def get(self, channel: Channel) -> ChannelGateway:
        """The platform default account's gateway, or ValidationFailed('渠道未开通')."""
        ...

    def for_unit(self, channel: Channel, unit_id: int) -> tuple[int | None, ChannelGateway]:
        """(account id, gateway) of the most specific account configured for the unit."""
        ...

    def for_account(self, channel: Channel, account_id: int | None) -> ChannelGateway:
        """The gateway of the account an order was opened with."""
        ...


class CartsRepo(Protocol):
    """Carts (issue 13): `add` runs at once and stores the items; `save` is queued."""

    def add(self, cart: Cart) -> int: ...

    def by_no(self, cart_no: str, *, lock: bool = False) -> Cart | None: ...

    def by_id(self, cart_id: int) -> Cart | None: ...

    def open_created_before(self, before: datetime, limit: int) -> list[str]: ...

    def save(self, cart: Cart) -> None: ...

    def open_at(self, cart: Cart) -> None: ...


class OrdersRepo(Protocol):
    def add(self, order: Order) -> int: ...

    def by_no(self, order_no: str, *, lock: bool = False) -> Order | None: ...

    def by_id(self, order_id: int) -> Order | None: ...

    def open_created_before(self, before: datetime, limit: int) -> list[str]: ...

    def for_payable(self, payable_id: int) -> list[Order]: ...

    def save(self, order: Order) -> None:
        """Queued: sent with the unit of work's commit."""
        ...

    def locked_with_payable(self, order_no: str) -> tuple[Payable, Order] | None:
        """The order and its payable, both locked (payable first)."""
        ...


class InboxRepo(Protocol):
    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool: ...

    def outcome(self, channel: str, notify_id: str) -> str | None: ...

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None: ...

    def record(
        self,
        channel: str,
        notify_id: str,
        order_no: str,
        body: str,
        outcome: str,
        at: datetime,
        *,
        final: Collection[str],
    ) -> None:
        """Store a processed notification with its outcome (a stored `final` outcome stays)."""
        ...


class DiscrepanciesRepo(Protocol):
    def add(
        self,
        kind: DiscrepancyKind,
        channel: str,
        order_no: str,
        payable_id: int | None,
        amount_fen: int | None,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        """Queued; recorded once per kind and order."""
        ...


@runtime_checkable
class JsapiGateway(Protocol):
    """WeChat Pay's in-WeChat payment (JSAPI), an extra of the WeChat gateway."""

    def jsapi_prepay(self, order: QrOrderRequest, openid: str) -> dict[str, str]: ...


@runtime_checkable
class WechatWalletGateway(JsapiGateway, Protocol):
    """WeChat on a phone: H5 outside WeChat, JSAPI inside it after the 公众号's silent OAuth2
    (snsapi_base) told the payer's openid."""

    def jsapi_prepay_id(self, order: QrOrderRequest, openid: str) -> str: ...

    def jsapi_bundle(self, prepay_id: str) -> dict[str, str]: ...

    def h5_prepay(self, order: QrOrderRequest, client_ip: str) -> str: ...

    def oauth_url(self, redirect_uri: str, state: str) -> str: ...

    def oauth_openid(self, code: str) -> str: ...


@runtime_checkable
class WapGateway(Protocol):
    """Alipay's 手机网站支付: the signed gateway URL the phone's browser is sent to."""

    def wap_pay_url(self, request: QrOrderRequest, return_url: str, quit_url: str) -> str: ...


class RequestInbox(InboxRepo, Protocol):
    def request(self, channel: str, notify_id: str) -> tuple[str, str, str | None] | None:
        """(order_no, body, outcome) of a stored message."""
        ...


class ChannelAccountStore(Protocol):
    def save(
        self, channel: str, config: dict[str, Any], at: Any, *, scope: str, actor: str
    ) -> None: ...
