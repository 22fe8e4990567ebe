"""A scripted payment channel (`ChannelGateway`) and its registry (`Gateways`), for workflows
that call a channel between transactions (refund execution, recovery).

The channel answers what the test tells it: `refund_answers` (a `RefundState`, or an exception
such as `ChannelUnavailable` to raise) are used in order, then every refund succeeds; `trades`
are what `query` reports. Every request is kept (`refund_requests`, `queried`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from publicpay.domain.errors import InvalidNotification, ValidationFailed
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    TradeResult,
    TradeState,
)


class FakeChannel:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.refund_answers: list[RefundState | Exception] = []
        self.refund_requests: list[RefundRequest] = []
        self.trades: dict[str, TradeResult] = {}
        self.queried: list[str] = []

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder:
        return QrOrder(request.order_no, f"https://fake.{self.channel}/qr/{request.order_no}")

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult:
        return self.trades.get(request.order_no, TradeResult(request.order_no, TradeState.PENDING))

    def query(self, order_no: str) -> TradeResult:
        self.queried.append(order_no)
        return self.trades.get(order_no, TradeResult(order_no, TradeState.NOT_FOUND))

    def close(self, order_no: str) -> None:
        self.trades[order_no] = TradeResult(order_no, TradeState.CLOSED)

    def cancel(self, order_no: str) -> TradeResult:
        self.close(order_no)
        return self.trades[order_no]

    def refund(self, request: RefundRequest) -> RefundResult:
        self.refund_requests.append(request)
        return self._refund_answer(request.refund_no, request.refund_fen)

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult:
        asked = [r for r in self.refund_requests if r.refund_no == refund_no]
        return self._refund_answer(refund_no, asked[-1].refund_fen if asked else 0)

    def _refund_answer(self, refund_no: str, amount_fen: int) -> RefundResult:
        answer = self.refund_answers.pop(0) if self.refund_answers else RefundState.SUCCEEDED
        if isinstance(answer, Exception):
            raise answer
        return RefundResult(refund_no, answer, amount_fen, channel_refund_no=f"C{refund_no}")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        raise InvalidNotification("the fake channel sends no notifications")

    def ack(self, ok: bool) -> NotificationAck:
        return NotificationAck(200 if ok else 400, b"ok" if ok else b"fail", "text/plain")

    def fetch_statement(self, day: date) -> bytes:
        return b""


class FakeGateways:
    """One `FakeChannel` per channel, whatever the account (`Gateways`)."""

    def __init__(self, *channels: Channel) -> None:
        self.channels = {channel: FakeChannel(channel) for channel in channels}
        self.unit_accounts: dict[int, int] = {}  # a unit's own merchant account id, if any

    def get(self, channel: Channel) -> FakeChannel:
        if channel not in self.channels:
            raise ValidationFailed("渠道未开通")
        return self.channels[channel]

    def for_unit(self, channel: Channel, unit_id: int) -> tuple[int | None, FakeChannel]:
        return self.unit_accounts.get(unit_id), self.get(channel)

    def for_account(self, channel: Channel, account_id: int | None) -> FakeChannel:
        return self.get(channel)
