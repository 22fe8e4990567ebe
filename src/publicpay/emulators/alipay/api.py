"""The open-API methods of the emulated Alipay gateway: biz_content in, response payload out.

Payload field names and codes are Alipay's: 10000 success, 10003 waiting for the payer,
40004 business failure with a sub_code. Signing and faults on the wire are the caller's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from publicpay.domain.money import InvalidAmount, Money
from publicpay.emulators.alipay.trades import (
    SHANGHAI,
    WAIT_BUYER_PAY,
    BizError,
    NewOrder,
    Refund,
    Trade,
    TradeBook,
)

MAX_FEN = 100_000_000 * 100
_TIMEOUT_EXPRESS = re.compile(r"^(\d{1,5})([mhd])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
SUCCESS = {"code": "10000", "msg": "Success"}


class Hooks(Protocol):
    """What the API needs from the emulator around it."""

    def notify_paid(self, trade: Trade) -> None: ...

    def notify_refund(self, trade: Trade, refund: Refund) -> None: ...

    def reported_fen(self, trade: Trade) -> int: ...

    def bill_url(self, app_id: str, day: date, mount_root: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Call:
    app_id: str
    method: str
    biz: Mapping[str, Any]
    notify_url: str
    mount_root: str  # absolute URL of the emulator's mount point, no trailing slash


def text(fen: int) -> str:
    return Money(fen).to_yuan()


def shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _required(call: Call, name: str) -> str:
    value = call.biz.get(name)
    if not isinstance(value, str) or not value:
        raise BizError("ACQ.INVALID_PARAMETER", f"参数无效：缺少 {name}")
    return value


def _amount(call: Call, name: str) -> int:
    try:
        fen = Money.from_yuan(_required(call, name)).fen
    except InvalidAmount:
        raise BizError("ACQ.INVALID_PARAMETER", f"参数无效：{name}") from None
    if not 0 < fen <= MAX_FEN:
        raise BizError("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
    return fen


def _expires_at(call: Call) -> datetime | None:
    time_expire = call.biz.get("time_expire")
    if isinstance(time_expire, str) and time_expire:
        try:
            local = datetime.strptime(time_expire, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise BizError("ACQ.INVALID_PARAMETER", "参数无效：time_expire") from None
        return local.replace(tzinfo=SHANGHAI).astimezone(UTC)
    express = call.biz.get("timeout_express")
    if isinstance(express, str) and express:
        match = _TIMEOUT_EXPRESS.match(express)
        if match is None:
            raise BizError("ACQ.INVALID_PARAMETER", "参数无效：timeout_express")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
        return datetime.now(UTC) + timedelta(seconds=seconds)
    return None


def _order(call: Call) -> NewOrder:
    return NewOrder(
        app_id=call.app_id,
        out_trade_no=_required(call, "out_trade_no"),
        total_fen=_amount(call, "total_amount"),
        subject=_required(call, "subject"),
        notify_url=call.notify_url,
        expires_at=_expires_at(call),
    )


class AlipayApi:
    def __init__(self, book: TradeBook, hooks: Hooks) -> None:
        self.book = book
        self.hooks = hooks
        self.methods: dict[str, Callable[[Call], dict[str, Any]]] = {
            "alipay.trade.precreate": self.precreate,
            "alipay.trade.pay": self.pay,
            "alipay.trade.query": self.query,
            "alipay.trade.close": self.close,
            "alipay.trade.cancel": self.cancel,
            "alipay.trade.refund": self.refund,
            "alipay.trade.fastpay.refund.query": self.refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self.bill_url,
        }

    def out_trade_no(self, call: Call) -> str:
        """out_trade_no, or the one behind trade_no (Alipay: trade_no wins when both given)."""
        trade_no = call.biz.get("trade_no")
        if isinstance(trade_no, str) and trade_no:
            found = next(
                (t for t in self.book.for_app(call.app_id) if t.trade_no == trade_no), None
            )
            if found is None:
                raise BizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
            return found.out_trade_no
        return _required(call, "out_trade_no")

    def precreate(self, call: Call) -> dict[str, Any]:
        trade = self.book.precreate(_order(call))
        return {**SUCCESS, "out_trade_no": trade.out_trade_no, "qr_code": trade.qr_code}

    def pay(self, call: Call) -> dict[str, Any]:
        if call.biz.get("scene") not in ("bar_code", "wave_code"):
            raise BizError("ACQ.INVALID_PARAMETER", "参数无效：scene")
        trade = self.book.pay_barcode(_order(call), _required(call, "auth_code"))
        body = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": trade.buyer_logon_id,
            "total_amount": text(trade.total_fen),
            "buyer_user_id": trade.buyer_id,
        }
        if trade.status == WAIT_BUYER_PAY:
            return {"code": "10003", "msg": "order success pay inprocess", **body}
        self.hooks.notify_paid(trade)
        return {**SUCCESS, **body, **self._paid_fields(trade)}

    def query(self, call: Call) -> dict[str, Any]:
        trade, just_paid = self.book.query(call.app_id, self.out_trade_no(call))
        if just_paid:
            self.hooks.notify_paid(trade)
        payload = {
            **SUCCESS,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": trade.buyer_logon_id,
            "trade_status": trade.status,
            "total_amount": text(self.hooks.reported_fen(trade)),
            "buyer_user_id": trade.buyer_id,
        }
        if trade.paid_at is not None:
            payload |= self._paid_fields(trade)
            payload["send_pay_date"] = shanghai(trade.paid_at)
        return payload

    def close(self, call: Call) -> dict[str, Any]:
        trade = self.book.close(call.app_id, self.out_trade_no(call))
        payload = {**SUCCESS, "out_trade_no": trade.out_trade_no}
        return payload | ({"trade_no": trade.trade_no} if trade.trade_no else {})

    def cancel(self, call: Call) -> dict[str, Any]:
        out_trade_no = self.out_trade_no(call)
        trade, action = self.book.cancel(call.app_id, out_trade_no)
        payload = {**SUCCESS, "out_trade_no": out_trade_no, "retry_flag": "N", "action": action}
        if trade is not None and trade.trade_no:
            payload["trade_no"] = trade.trade_no
        return payload

    def refund(self, call: Call) -> dict[str, Any]:
        out_trade_no = self.out_trade_no(call)
        request_no = str(call.biz.get("out_request_no") or out_trade_no)
        reason = str(call.biz.get("refund_reason") or "")
        trade, refund, moved = self.book.refund(
            call.app_id, out_trade_no, request_no, _amount(call, "refund_amount"), reason
        )
        if moved:
            self.hooks.notify_refund(trade, refund)
        return {
            **SUCCESS,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": trade.buyer_logon_id,
            "buyer_user_id": trade.buyer_id,
            "fund_change": "Y" if moved else "N",
            "refund_fee": text(trade.refunded_fen),
            "send_back_fee": text(refund.refund_fen),
            "gmt_refund_pay": shanghai(refund.at),
        }

    def refund_query(self, call: Call) -> dict[str, Any]:
        out_trade_no = self.out_trade_no(call)
        request_no = str(call.biz.get("out_request_no") or out_trade_no)
        trade = self.book.refund_query(call.app_id, out_trade_no, request_no)
        payload = {**SUCCESS, "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}
        refund = trade.refunds.get(request_no)
        if refund is None:  # Alipay: no refund data means "not refunded", retry is safe
            return payload
        return payload | {
            "out_request_no": request_no,
            "total_amount": text(trade.total_fen),
            "refund_amount": text(refund.refund_fen),
            "refund_status": "REFUND_SUCCESS",
            "gmt_refund_pay": shanghai(refund.at),
        }

    def bill_url(self, call: Call) -> dict[str, Any]:
        if call.biz.get("bill_type") != "trade":
            raise BizError("isp.bill_not_exist", "账单不存在（本模拟器仅提供 trade 账单）")
        try:
            day = date.fromisoformat(_required(call, "bill_date"))
        except ValueError:
            raise BizError("isp.bill_not_exist", "账单不存在（日期格式 yyyy-MM-dd）") from None
        if day > datetime.now(SHANGHAI).date():
            raise BizError("isp.bill_not_exist", "账单不存在")
        return {
            **SUCCESS,
            "bill_download_url": self.hooks.bill_url(call.app_id, day, call.mount_root),
        }

    def _paid_fields(self, trade: Trade) -> dict[str, Any]:
        paid = text(trade.total_fen)
        assert trade.paid_at is not None
        return {
            "receipt_amount": paid,
            "buyer_pay_amount": paid,
            "invoice_amount": paid,
            "point_amount": "0.00",
            "gmt_payment": shanghai(trade.paid_at),
            "fund_bill_list": [{"fund_channel": "ALIPAYACCOUNT", "amount": paid}],
        }
