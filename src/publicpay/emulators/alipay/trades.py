"""The emulated Alipay's trade book: trades, refunds, payer codes, and their state machine.

Statuses follow Alipay: WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED (TRADE_FINISHED is never
reached here). A precreated order that nobody scanned yet is PRECREATED: like real Alipay, the
query API then answers ACQ.TRADE_NOT_EXIST. Amounts are int fen; wire formatting is elsewhere.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
PRECREATED = "PRECREATED"
WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_CLOSED = "TRADE_CLOSED"


class BizError(Exception):
    """An Alipay business refusal: code 40004 with a sub_code, unless told otherwise."""

    def __init__(
        self, sub_code: str, sub_msg: str, *, code: str = "40004", msg: str = "Business Failed"
    ) -> None:
        super().__init__(sub_code)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


def not_exist() -> BizError:
    return BizError("ACQ.TRADE_NOT_EXIST", "交易不存在")


@dataclass(slots=True)
class Refund:
    out_request_no: str
    refund_fen: int
    reason: str
    at: datetime  # UTC


@dataclass(slots=True)
class Trade:
    app_id: str
    out_trade_no: str
    total_fen: int
    subject: str
    notify_url: str
    created_at: datetime  # UTC
    status: str = PRECREATED
    qr_code: str = ""
    expires_at: datetime | None = None
    trade_no: str = ""
    buyer_id: str = ""
    buyer_logon_id: str = ""
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    polls_left: int = 0  # WAIT_BUYER_PAY barcode trades: queries until the payer confirms
    refunds: dict[str, Refund] = field(default_factory=dict)
    notifications: int = 0  # how many notifications were dispatched for this trade

    @property
    def refunded_fen(self) -> int:
        return sum(r.refund_fen for r in self.refunds.values())


@dataclass(frozen=True, slots=True)
class NewOrder:
    app_id: str
    out_trade_no: str
    total_fen: int
    subject: str
    notify_url: str
    expires_at: datetime | None = None


class TradeBook:
    """All trades, thread-safe. Methods raise BizError with Alipay's sub_codes."""

    def __init__(self, *, password_polls: int = 2) -> None:
        self.lock = threading.RLock()
        self.password_polls = password_polls
        self._trades: dict[tuple[str, str], Trade] = {}
        self._by_qr: dict[str, Trade] = {}
        self._auth_codes: dict[str, bool] = {}  # unused payer codes -> needs_password
        self._seq = itertools.count(1)

    # -- payer side -------------------------------------------------------------------------

    def mint_auth_code(self, needs_password: bool) -> str:
        with self.lock:
            code = "28" + "".join(random.choices(string.digits, k=16))
            self._auth_codes[code] = needs_password
            return code

    def scan(self, qr_code: str, *, pay_after_close: bool) -> Trade:
        """The payer scans and pays. KeyError for an unknown code, BizError if unpayable."""
        with self.lock:
            trade = self._by_qr[qr_code]
            if trade.status == TRADE_SUCCESS:
                raise BizError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade.status == TRADE_CLOSED and not pay_after_close:
                raise BizError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if trade.expires_at is not None and datetime.now(UTC) > trade.expires_at:
                raise BizError("ACQ.TRADE_HAS_CLOSE", "二维码已过期")
            self._pay(trade)
            return trade

    # -- merchant API -----------------------------------------------------------------------

    def precreate(self, order: NewOrder) -> Trade:
        with self.lock:
            trade = self._trades.get((order.app_id, order.out_trade_no))
            if trade is not None:
                self._check_repeat(trade, order)
                return trade
            trade = self._new_trade(order)
            trade.qr_code = "https://qr.alipay.com/bax0" + "".join(
                random.choices(string.ascii_lowercase + string.digits, k=20)
            )
            self._by_qr[trade.qr_code] = trade
            return trade

    def pay_barcode(self, order: NewOrder, auth_code: str) -> Trade:
        with self.lock:
            trade = self._trades.get((order.app_id, order.out_trade_no))
            if trade is not None:
                self._check_repeat(trade, order)
                if trade.status == WAIT_BUYER_PAY:
                    return trade  # a retried request while the payer types the password
                raise BizError("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            needs_password = self._auth_codes.pop(auth_code, None)
            if needs_password is None:
                raise BizError(
                    "ACQ.PAYMENT_AUTH_CODE_INVALID",
                    "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
                )
            trade = self._new_trade(order)
            self._assign_buyer(trade)
            if needs_password:
                trade.status = WAIT_BUYER_PAY
                trade.polls_left = self.password_polls
            else:
                self._pay(trade)
            return trade

    def query(self, app_id: str, out_trade_no: str) -> tuple[Trade, bool]:
        """The trade, and whether this query saw a password-pending payment go through."""
        with self.lock:
            trade = self._get(app_id, out_trade_no)
            if trade.status == PRECREATED:
                raise not_exist()
            if trade.status == WAIT_BUYER_PAY and trade.polls_left > 0:
                trade.polls_left -= 1
                if trade.polls_left == 0:
                    self._pay(trade)
                    return trade, True
            return trade, False

    def close(self, app_id: str, out_trade_no: str) -> Trade:
        with self.lock:
            trade = self._get(app_id, out_trade_no)
            if trade.status == TRADE_SUCCESS:
                raise BizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if trade.status != TRADE_CLOSED:
                trade.status = TRADE_CLOSED
                trade.closed_at = datetime.now(UTC)
            return trade

    def cancel(self, app_id: str, out_trade_no: str) -> tuple[Trade | None, str]:
        """Cancel (撤销): close if unpaid, full refund if paid. Returns (trade, action)."""
        with self.lock:
            trade = self._trades.get((app_id, out_trade_no))
            if trade is None:
                return None, "close"
            if trade.status == TRADE_SUCCESS:
                left = trade.total_fen - trade.refunded_fen
                no = f"cancel-{out_trade_no}"
                trade.refunds[no] = Refund(no, left, "撤销", datetime.now(UTC))
                trade.status = TRADE_CLOSED
                trade.closed_at = datetime.now(UTC)
                return trade, "refund"
            if trade.status == TRADE_CLOSED and trade.paid_at is not None:
                return trade, "refund"
            trade.status = TRADE_CLOSED
            trade.closed_at = trade.closed_at or datetime.now(UTC)
            return trade, "close"

    def refund(
        self, app_id: str, out_trade_no: str, out_request_no: str, refund_fen: int, reason: str
    ) -> tuple[Trade, Refund, bool]:
        """Refund once per out_request_no; a repeat returns the first result (fund_change N)."""
        with self.lock:
            trade = self._get(app_id, out_trade_no)
            done = trade.refunds.get(out_request_no)
            if done is not None:
                if done.refund_fen != refund_fen:
                    raise BizError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致")
                return trade, done, False
            if trade.status == PRECREATED:
                raise not_exist()
            if trade.status != TRADE_SUCCESS:
                raise BizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if refund_fen <= 0 or trade.refunded_fen + refund_fen > trade.total_fen:
                raise BizError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            refund = Refund(out_request_no, refund_fen, reason, datetime.now(UTC))
            trade.refunds[out_request_no] = refund
            if trade.refunded_fen == trade.total_fen:
                trade.status = TRADE_CLOSED
                trade.closed_at = refund.at
            return trade, refund, True

    def refund_query(self, app_id: str, out_trade_no: str, out_request_no: str) -> Trade:
        with self.lock:
            trade = self._get(app_id, out_trade_no)
            if trade.status == PRECREATED:
                raise not_exist()
            return trade

    # -- inspection -------------------------------------------------------------------------

    def find_by_qr(self, qr_code: str) -> Trade:
        with self.lock:
            return self._by_qr[qr_code]

    def find(self, out_trade_no: str) -> Trade | None:
        with self.lock:
            return next((t for t in self._trades.values() if t.out_trade_no == out_trade_no), None)

    def for_app(self, app_id: str) -> list[Trade]:
        with self.lock:
            return [t for (app, _), t in self._trades.items() if app == app_id]

    # -- internals --------------------------------------------------------------------------

    def _get(self, app_id: str, out_trade_no: str) -> Trade:
        trade = self._trades.get((app_id, out_trade_no))
        if trade is None:
            raise not_exist()
        return trade

    def _check_repeat(self, trade: Trade, order: NewOrder) -> None:
        if trade.status == TRADE_SUCCESS:
            raise BizError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if trade.status == TRADE_CLOSED:
            raise BizError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if trade.total_fen != order.total_fen or trade.subject != order.subject:
            raise BizError("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")

    def _new_trade(self, order: NewOrder) -> Trade:
        trade = Trade(
            app_id=order.app_id,
            out_trade_no=order.out_trade_no,
            total_fen=order.total_fen,
            subject=order.subject,
            notify_url=order.notify_url,
            created_at=datetime.now(UTC),
            expires_at=order.expires_at,
        )
        self._trades[(order.app_id, order.out_trade_no)] = trade
        return trade

    def _assign_buyer(self, trade: Trade) -> None:
        if not trade.trade_no:
            day = datetime.now(SHANGHAI).strftime("%Y%m%d")
            trade.trade_no = f"{day}22001{random.randint(1000, 9999)}{next(self._seq):011d}"
            trade.buyer_id = "2088" + "".join(random.choices(string.digits, k=12))
            trade.buyer_logon_id = f"1{random.randint(30, 89)}******{random.randint(10, 99)}"

    def _pay(self, trade: Trade) -> None:
        self._assign_buyer(trade)
        trade.status = TRADE_SUCCESS
        trade.paid_at = datetime.now(UTC)
        trade.closed_at = None
        trade.polls_left = 0
