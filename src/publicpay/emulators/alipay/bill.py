"""The trade bill (收单业务账单) as Alipay ships it: `<PID>0156_<yyyyMMdd>.csv.zip`, GBK CSVs.

`<PID>0156_<yyyyMMdd>_业务明细.csv` lists one 交易 row per payment completed that day and one 退款
row per refund made that day (25 columns, long ids with a trailing tab, refunds negative), between
`#---业务明细列表---` markers, with a 3-line footer (交易合计, 退款合计, 导出时间).
`…_业务明细(汇总).csv` holds the day's totals. The service fee is 0.6% (rounded half up), negative
on payments and given back on refunds.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from publicpay.domain.money import Money
from publicpay.emulators.alipay.trades import SHANGHAI, Trade

FEE_PER_MILLE = 6
_COLUMN_TEXT = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
    "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
_SUMMARY_TEXT = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝红包（元）,"
    "集分宝（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)
COLUMNS = _COLUMN_TEXT.split(",")
SUMMARY_COLUMNS = _SUMMARY_TEXT.split(",")
DASHES = "-" * 41
ZERO = "0.00"


def yuan(fen: int) -> str:
    return Money(fen).to_yuan()


def fee_fen(amount_fen: int) -> int:
    return (amount_fen * FEE_PER_MILLE + 500) // 1000


def shanghai_text(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _on_day(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(SHANGHAI).date() == day


def _row(trade: Trade, kind: str, done_at: datetime, received: int, request_no: str) -> list[str]:
    fee = -fee_fen(received)
    return [
        trade.trade_no + "\t",
        trade.out_trade_no + "\t",
        kind,
        trade.subject,
        shanghai_text(trade.created_at),
        shanghai_text(done_at),
        "",
        "",
        "",
        "",
        trade.buyer_logon_id,
        yuan(trade.total_fen),
        yuan(received),
        ZERO,
        ZERO,
        ZERO,
        ZERO,
        ZERO,
        "",
        ZERO,
        ZERO,
        request_no + "\t" if request_no else "",
        yuan(fee),
        ZERO,
        "",
    ]


def detail_rows(trades: Iterable[Trade], day: date) -> tuple[list[list[str]], list[list[str]]]:
    """(payment rows, refund rows) for `day` (Asia/Shanghai)."""
    payments: list[list[str]] = []
    refunds: list[list[str]] = []
    for trade in sorted(trades, key=lambda t: t.paid_at or t.created_at):
        if trade.paid_at is not None and _on_day(trade.paid_at, day):
            payments.append(_row(trade, "交易", trade.paid_at, trade.total_fen, ""))
        for refund in trade.refunds.values():
            if _on_day(refund.at, day):
                refunds.append(
                    _row(trade, "退款", refund.at, -refund.refund_fen, refund.out_request_no)
                )
    return payments, refunds


def _csv_lines(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _period(account: str, day: date, title: str) -> str:
    start = f"{day.year}年{day.month:02d}月{day.day:02d}日 00:00:00"
    end_day = day + timedelta(days=1)
    end = f"{end_day.year}年{end_day.month:02d}月{end_day.day:02d}日 00:00:00"
    return f"#{title}\r\n#账号：[{account}]\r\n#起始日期：[{start}]   终止日期：[{end}]\r\n"


def _exported(now: datetime) -> str:
    local = now.astimezone(SHANGHAI)
    return local.strftime("#导出时间：[%Y年%m月%d日 %H:%M:%S]\r\n")


def _sum(rows: list[list[str]], column: int) -> int:
    return sum(Money.from_yuan(row[column]).fen for row in rows)


class _GbkName(zipfile.ZipInfo):
    """A member name stored in GBK without the UTF-8 flag, as Alipay's bills have them.

    Readers get it back with `info.filename.encode("cp437").decode("gbk")`.
    """

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _total_line(label: str, rows: list[list[str]], received: int) -> str:
    amount = yuan(_sum(rows, received))
    return f"#{label}：{len(rows)}笔，商家实收共{amount}元，商家优惠共0.00元\r\n"


def detail_csv(account: str, day: date, trades: Iterable[Trade], now: datetime) -> str:
    payments, refunds = detail_rows(trades, day)
    received = COLUMNS.index("商家实收（元）")
    return (
        _period(account, day, "支付宝业务明细查询")
        + f"#{DASHES}业务明细列表{DASHES[:-1]}\r\n"
        + _csv_lines([COLUMNS, *payments, *refunds])
        + f"#{DASHES}业务明细列表结束{DASHES[:-5]}\r\n"
        + _total_line("交易合计", payments, received)
        + _total_line("退款合计", refunds, received)
        + _exported(now)
    )


def summary_csv(account: str, day: date, trades: Iterable[Trade], now: datetime) -> str:
    payments, refunds = detail_rows(trades, day)
    rows = payments + refunds
    ordered = _sum(payments, COLUMNS.index("订单金额（元）"))
    received = _sum(rows, COLUMNS.index("商家实收（元）"))
    fee = _sum(rows, COLUMNS.index("服务费（元）"))
    total = ["", "合计", str(len(payments)), str(len(refunds)), yuan(ordered), yuan(received)]
    total += [ZERO] * 5 + [yuan(fee), ZERO, yuan(received + fee)]
    return (
        _period(account, day, "支付宝业务汇总查询")
        + f"#{DASHES}业务汇总列表{DASHES[:-1]}\r\n"
        + _csv_lines([SUMMARY_COLUMNS, total])
        + f"#{DASHES}业务汇总列表结束{DASHES[:-5]}\r\n"
        + _exported(now)
    )


def bill_zip(pid: str, day: date, trades: list[Trade], now: datetime) -> tuple[str, bytes]:
    """(file name, zip bytes) of the day's trade bill for the merchant `pid`."""
    account = pid + "0156"
    stem = f"{account}_{day.strftime('%Y%m%d')}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (
            (f"{stem}_业务明细.csv", detail_csv(account, day, trades, now)),
            (f"{stem}_业务明细(汇总).csv", summary_csv(account, day, trades, now)),
        ):
            info = _GbkName(name, date_time=now.astimezone(SHANGHAI).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("gbk"))
    return f"{stem}.csv.zip", buffer.getvalue()
