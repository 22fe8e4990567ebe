"""The emulated UnionPay's transactions and business rules (no HTTP here).

Each ACP transaction (消费 01, 消费撤销 31, 退货 04) is one `Txn`, found by merId + orderId (the
original txnTime must match on query, as UnionPay requires) or by its queryId. Rules kept:

- 申码 (01/07) creates an unpaid consumption; the payer's app pays it (`scan`) until payTimeout.
  Until paid, a query answers 34 (查无此交易), like a QR order nobody has scanned.
- 被扫 (01/06) consumes a payment code this emulator issued; a code issued with
  `needs_password` answers 05 (受理中) and succeeds after `PASSWORD_QUERIES` queries.
- 撤销 (31/00) takes back a whole consumption (or stops one still waiting for the password).
- 退货 (04/00) may be partial, never over what is left; repeating a refund's orderId with the same
  original and amount answers the first result again (idempotent), otherwise 12 (重复交易).
- Settlement date (清算日期): UnionPay's day ends at 23:00 Beijing time [UNVERIFIED as ACP-official,
  common knowledge of 全渠道 merchants], so a transaction after 23:00 settles the next day.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD_QUERIES = 2
SUCCESS_MSG = "成功[0000000]"
_ORDER_ID = re.compile(r"[0-9A-Za-z]{8,40}")
_TXN_TIME = "%Y%m%d%H%M%S"


class Refusal(Exception):
    """An ACP business answer other than success: respCode + respMsg."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@dataclass
class Txn:
    mer_id: str
    order_id: str
    txn_time: str
    txn_type: str
    txn_sub_type: str
    amount_fen: int
    query_id: str
    back_url: str = ""
    req_reserved: str = ""
    orig_query_id: str = ""
    qr_code: str = ""
    pay_timeout: datetime | None = None
    state: str = "unpaid"  # unpaid | in_process | succeeded | failed
    completed_at: datetime | None = None  # Asia/Shanghai
    trace_no: str = ""
    polls_left: int = 0
    refunded_fen: int = 0
    cancelled: bool = False
    answer: dict[str, str] = field(default_factory=dict)  # first answer, for idempotent replays

    @property
    def settle_date(self) -> date | None:
        if self.completed_at is None:
            return None
        return (self.completed_at + timedelta(hours=1)).date()  # the day ends at 23:00

    def outcome_fields(self) -> dict[str, str]:
        """What query answers and notifications say about this transaction."""
        fields = {"queryId": self.query_id, "txnAmt": str(self.amount_fen)}
        if self.completed_at is not None and self.settle_date is not None:
            fields["traceNo"] = self.trace_no
            fields["traceTime"] = self.completed_at.strftime("%m%d%H%M%S")
            fields["settleDate"] = self.settle_date.strftime("%m%d")
        if self.orig_query_id:
            fields["origQryId"] = self.orig_query_id
        if self.req_reserved:
            fields["reqReserved"] = self.req_reserved
        return fields


def now_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


def _required(req: Mapping[str, str], *names: str) -> None:
    missing = [name for name in names if not req.get(name)]
    if missing:
        raise Refusal("13", f"报文交易要素缺失[{','.join(missing)}]")


def _amount(req: Mapping[str, str]) -> int:
    text = req.get("txnAmt", "")
    if not text.isascii() or not text.isdigit() or int(text) <= 0 or text.startswith("0"):
        raise Refusal("10", "报文格式错误[txnAmt]")
    return int(text)


class Ledger:
    def __init__(self, on_completed: Callable[[Txn], None]) -> None:
        self._lock = threading.RLock()
        self._by_order: dict[tuple[str, str], Txn] = {}
        self._by_query_id: dict[str, Txn] = {}
        self._by_qr: dict[str, Txn] = {}
        self._codes: dict[str, bool] = {}  # issued payment codes -> needs password
        self._on_completed = on_completed

    def issue_code(self, *, needs_password: bool) -> str:
        code = "62" + "".join(secrets.choice("0123456789") for _ in range(17))
        with self._lock:
            self._codes[code] = needs_password
        return code

    def find(self, mer_id: str, order_id: str) -> Txn | None:
        with self._lock:
            return self._by_order.get((mer_id, order_id))

    def all(self) -> list[Txn]:
        with self._lock:
            return list(self._by_order.values())

    def _new(self, req: Mapping[str, str], txn_type: str, sub_type: str, amount: int) -> Txn:
        _required(req, "orderId", "txnTime")
        if not _ORDER_ID.fullmatch(req["orderId"]):
            raise Refusal("10", "报文格式错误[orderId]")
        try:
            datetime.strptime(req["txnTime"], _TXN_TIME)
        except ValueError as exc:
            raise Refusal("10", "报文格式错误[txnTime]") from exc
        if (req["merId"], req["orderId"]) in self._by_order:
            raise Refusal("12", "重复交易")
        query_id = req["txnTime"] + "".join(secrets.choice("0123456789") for _ in range(7))
        txn = Txn(
            mer_id=req["merId"],
            order_id=req["orderId"],
            txn_time=req["txnTime"],
            txn_type=txn_type,
            txn_sub_type=sub_type,
            amount_fen=amount,
            query_id=query_id,
            back_url=req.get("backUrl", ""),
            req_reserved=req.get("reqReserved", ""),
            orig_query_id=req.get("origQryId", ""),
        )
        self._by_order[(txn.mer_id, txn.order_id)] = txn
        self._by_query_id[query_id] = txn
        return txn

    def _complete(self, txn: Txn, state: str = "succeeded") -> None:
        txn.state = state
        txn.completed_at = now_shanghai()
        txn.trace_no = f"{secrets.randbelow(1_000_000):06d}"
        if state == "succeeded":
            self._on_completed(txn)

    def create_qr(self, req: Mapping[str, str], qr_code: str) -> dict[str, str]:
        with self._lock:
            txn = self._new(req, "01", "07", _amount(req))
            timeout = req.get("payTimeout", "")
            if timeout:
                try:
                    parsed = datetime.strptime(timeout, _TXN_TIME).replace(tzinfo=SHANGHAI)
                except ValueError as exc:
                    raise Refusal("10", "报文格式错误[payTimeout]") from exc
                txn.pay_timeout = parsed
            txn.qr_code = qr_code
            self._by_qr[qr_code] = txn
            return {"qrCode": qr_code}

    def scan(self, qr_code: str, *, ignore_timeout: bool) -> Txn:
        """The payer's app pays the QR order; `Refusal` when it cannot be paid."""
        with self._lock:
            txn = self._by_qr.get(qr_code)
            if txn is None:
                raise Refusal("34", "二维码不存在")
            if txn.state != "unpaid":
                raise Refusal("35", "订单已支付或已关闭")
            expired = txn.pay_timeout is not None and now_shanghai() > txn.pay_timeout
            if expired and not ignore_timeout:
                raise Refusal("39", "二维码已过期")
            self._complete(txn)
            return txn

    def pay_barcode(self, req: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """(respCode, fields): 00 paid, or 05 while the payer types the password."""
        with self._lock:
            _required(req, "qrNo")
            amount = _amount(req)
            needs_password = self._codes.pop(req["qrNo"], None)
            if needs_password is None:
                raise Refusal("60", "付款码无效或已使用")
            txn = self._new(req, "01", "06", amount)
            if needs_password:
                txn.state = "in_process"
                txn.polls_left = PASSWORD_QUERIES
                return "05", txn.outcome_fields()
            self._complete(txn)
            return "00", txn.outcome_fields()

    def query(self, req: Mapping[str, str]) -> Txn:
        with self._lock:
            _required(req, "orderId", "txnTime")
            txn = self._by_order.get((req["merId"], req["orderId"]))
            if txn is None or txn.txn_time != req["txnTime"] or txn.state == "unpaid":
                raise Refusal("34", "查无此交易")
            if txn.state == "in_process":
                txn.polls_left -= 1
                if txn.polls_left < 0:
                    self._complete(txn)
            return txn

    def _original(self, req: Mapping[str, str]) -> Txn:
        _required(req, "origQryId")
        orig = self._by_query_id.get(req["origQryId"])
        if orig is None or orig.mer_id != req["merId"] or orig.txn_type != "01":
            raise Refusal("35", "原交易不存在或状态不正确")
        return orig

    def _replay(self, req: Mapping[str, str], txn_type: str) -> dict[str, str] | None:
        earlier = self._by_order.get((req.get("merId", ""), req.get("orderId", "")))
        if earlier is None:
            return None
        same = (
            earlier.txn_type == txn_type
            and earlier.orig_query_id == req.get("origQryId")
            and str(earlier.amount_fen) == req.get("txnAmt")
        )
        if not same:
            raise Refusal("12", "重复交易")
        return dict(earlier.answer)

    def cancel(self, req: Mapping[str, str]) -> dict[str, str]:
        with self._lock:
            replay = self._replay(req, "31")
            if replay is not None:
                return replay
            orig = self._original(req)
            if orig.cancelled or orig.refunded_fen or orig.state not in ("succeeded", "in_process"):
                raise Refusal("35", "原交易不存在或状态不正确")
            if _amount(req) != orig.amount_fen:
                raise Refusal("36", "与原交易信息不符")
            txn = self._new(req, "31", "00", orig.amount_fen)
            orig.cancelled = True
            if orig.state == "in_process":
                orig.state = "failed"
            self._complete(txn)
            txn.answer = txn.outcome_fields()
            return dict(txn.answer)

    def refund(self, req: Mapping[str, str]) -> dict[str, str]:
        with self._lock:
            replay = self._replay(req, "04")
            if replay is not None:
                return replay
            orig = self._original(req)
            amount = _amount(req)
            if orig.state != "succeeded" or orig.cancelled:
                raise Refusal("35", "原交易不存在或状态不正确")
            if amount > orig.amount_fen - orig.refunded_fen:
                raise Refusal("33", "交易金额超限")
            txn = self._new(req, "04", "00", amount)
            orig.refunded_fen += amount
            self._complete(txn)
            txn.answer = txn.outcome_fields()
            return dict(txn.answer)

    def _moved_money(self, txn: Txn) -> bool:
        """Succeeded, and for a 撤销 the consumption it took back had succeeded too."""
        if txn.state != "succeeded":
            return False
        orig = self._by_query_id.get(txn.orig_query_id)
        return txn.txn_type != "31" or (orig is not None and orig.state == "succeeded")

    def settled_on(self, mer_id: str, day: date) -> list[Txn]:
        """The transactions that moved money on settlement day `day`, in time order."""
        with self._lock:
            return sorted(
                (
                    t
                    for t in self._by_order.values()
                    if t.mer_id == mer_id and t.settle_date == day and self._moved_money(t)
                ),
                key=lambda t: (t.completed_at or now_shanghai(), t.order_id),
            )
