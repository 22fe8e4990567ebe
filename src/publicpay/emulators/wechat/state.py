"""The emulated merchant accounts, trades and refunds, and the rules WeChat Pay applies to them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_QUERIES_TO_PAY = 3  # USERPAYING turns SUCCESS on this query


class ApiError(Exception):
    """An answer in WeChat Pay's error shape: HTTP status + `{"code": …, "message": …}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message


def digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Merchant:
    mchid: str
    appid: str
    serial_no: str
    public_key_pem: bytes
    apiv3_key: str


@dataclass
class Trade:
    mchid: str
    appid: str
    out_trade_no: str
    trade_type: str  # NATIVE / JSAPI / MICROPAY
    description: str
    total: int
    notify_url: str
    created_at: datetime
    time_expire: datetime | None = None
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    code_url: str = ""
    prepay_id: str = ""
    openid: str = ""
    success_time: datetime | None = None
    queries_to_pay: int | None = None  # USERPAYING: queries left before it turns SUCCESS
    refunded: int = 0
    refund_nos: list[str] = field(default_factory=list)

    @property
    def paid(self) -> bool:
        return self.success_time is not None

    def pay(self, now: datetime) -> None:
        self.trade_state = "SUCCESS"
        self.success_time = now
        self.queries_to_pay = None
        self.transaction_id = self.transaction_id or "42000" + digits(23)
        self.openid = self.openid or "oUpF8u" + secrets.token_urlsafe(16)[:22]

    def transaction(self, skew: int = 0) -> dict[str, Any]:
        """The transaction object of queries, codepay answers and payment notifications
        (`skew` is added to the amount: the AMOUNT_MISMATCH fault)."""
        data: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": self.trade_type,
            "trade_state": self.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[self.trade_state],
            "attach": "",
        }
        if self.transaction_id:
            data["transaction_id"] = self.transaction_id
        if self.paid:
            data["bank_type"] = "OTHERS"
            data["success_time"] = rfc3339(self.success_time or self.created_at)
            data["payer"] = {"openid": self.openid}
        total = self.total + skew
        data["amount"] = {"total": total, "currency": "CNY"}
        if self.paid:
            data["amount"] |= {"payer_total": total, "payer_currency": "CNY"}
        return data


TRADE_STATE_DESC = {
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "NOTPAY": "未支付",
    "CLOSED": "已关闭",
    "REVOKED": "已撤销",
    "USERPAYING": "用户支付中，需要输入密码",
    "PAYERROR": "支付失败",
}


@dataclass
class Refund:
    mchid: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund: int
    total: int
    reason: str
    notify_url: str
    created_at: datetime
    refund_id: str = field(default_factory=lambda: "50" + digits(27))
    status: str = "PROCESSING"
    success_time: datetime | None = None

    def answer(self) -> dict[str, Any]:
        """The refund object of the refund and refund-query APIs."""
        data: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(self.created_at),
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": self._amount(),
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data

    def notice(self) -> dict[str, Any]:
        """The decrypted resource of a REFUND.* notification."""
        data: dict[str, Any] = {
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total,
                "refund": self.refund,
                "payer_total": self.total,
                "payer_refund": self.refund,
            },
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data

    def _amount(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "refund": self.refund,
            "payer_total": self.total,
            "payer_refund": self.refund,
            "settlement_total": self.total,
            "settlement_refund": self.refund,
            "discount_refund": 0,
            "currency": "CNY",
        }


def now_utc() -> datetime:
    return datetime.now(UTC)
