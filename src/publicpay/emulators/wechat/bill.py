"""Trade bill files (交易账单) in WeChat Pay's CSV layout, bill_type ALL.

Rows: the day's successful payments and the refunds applied for that day (Asia/Shanghai dates);
every data field is prefixed with a backtick; amounts are yuan with two decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from publicpay.emulators.wechat.state import CHINA, Refund, Trade

DETAIL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
RATE_PER_MILLE = 6  # 0.60 %


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def fee(fen: int) -> int:
    """0.6 % rounded half up to the fen."""
    return (fen * RATE_PER_MILLE + 500) // 1000


def local_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Line:
    fields: list[str]
    settled: int = 0
    refunded: int = 0
    fee: int = 0
    ordered: int = 0


def payment_line(trade: Trade) -> Line:
    paid_at = trade.success_time or trade.created_at
    fields = [
        local_time(paid_at),
        trade.appid,
        trade.mchid,
        "0",
        "",
        trade.transaction_id,
        trade.out_trade_no,
        trade.openid,
        trade.trade_type,
        "SUCCESS",
        "OTHERS",
        "CNY",
        yuan(trade.total),
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        trade.description,
        "",
        yuan(fee(trade.total)),
        "0.60%",
        yuan(trade.total),
        "0.00",
        "",
    ]
    return Line(fields, settled=trade.total, fee=fee(trade.total), ordered=trade.total)


def refund_line(trade: Trade, refund: Refund) -> Line:
    fields = [
        local_time(refund.created_at),
        trade.appid,
        trade.mchid,
        "0",
        "",
        trade.transaction_id,
        trade.out_trade_no,
        trade.openid,
        trade.trade_type,
        "REFUND",
        "OTHERS",
        "CNY",
        "0.00",
        "0.00",
        refund.refund_id,
        refund.out_refund_no,
        yuan(refund.refund),
        "0.00",
        "ORIGINAL",
        refund.status,
        trade.description,
        "",
        yuan(-fee(refund.refund)),
        "0.60%",
        "0.00",
        yuan(refund.refund),
        "",
    ]
    return Line(fields, refunded=refund.refund, fee=-fee(refund.refund))


def bill_lines(trades: Iterable[Trade], refunds: Iterable[Refund], day: date) -> list[Line]:
    trades = list(trades)
    by_no = {(t.mchid, t.out_trade_no): t for t in trades}
    lines = [
        payment_line(t)
        for t in trades
        if t.success_time is not None and t.success_time.astimezone(CHINA).date() == day
    ]
    for refund in refunds:
        trade = by_no.get((refund.mchid, refund.out_trade_no))
        if trade is not None and refund.created_at.astimezone(CHINA).date() == day:
            lines.append(refund_line(trade, refund))
    return sorted(lines, key=lambda line: line.fields[0])


def clean(field: str) -> str:
    """The format has no quoting: keep commas and line breaks out of free text."""
    return field.replace(",", "，").replace("\r", " ").replace("\n", " ")


def render(lines: list[Line]) -> bytes:
    """The CSV file: detail header, detail rows, summary header, summary row (UTF-8)."""
    rows = [DETAIL_HEADER]
    rows += [",".join("`" + clean(field) for field in line.fields) for line in lines]
    summary = [
        str(len(lines)),
        yuan(sum(line.settled for line in lines)),
        yuan(sum(line.refunded for line in lines)),
        "0.00",
        yuan(sum(line.fee for line in lines)),
        yuan(sum(line.ordered for line in lines)),
        yuan(sum(line.refunded for line in lines)),
    ]
    rows += [SUMMARY_HEADER, ",".join("`" + field for field in summary)]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")
