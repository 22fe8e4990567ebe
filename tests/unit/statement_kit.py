"""Statement files for parser and matching tests, made by the channel emulators' own writers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from publicpay.emulators.alipay.bill import bill_zip, detail_csv
from publicpay.emulators.alipay.trades import Refund, Trade

DAY = date(2026, 12, 5)
PID = "2088000000000001"
ACCOUNT = PID + "0156"
NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def alipay_trades(n: int = 3, *, refund: bool = True) -> list[Trade]:
    trades = []
    for i in range(n):
        paid = datetime(2026, 12, 5, 2, 0, tzinfo=UTC) + timedelta(minutes=i)
        trade = Trade(
            app_id="app",
            out_trade_no=f"P{i:08d}",
            total_fen=10000 + i,
            subject="机动车号牌工本费",
            notify_url="",
            created_at=paid - timedelta(seconds=30),
            status="TRADE_SUCCESS",
            trade_no=f"2026120522{i:010d}",
            buyer_logon_id="abc***@163.com",
            paid_at=paid,
        )
        trades.append(trade)
    if refund and trades:
        at = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
        trades[0].refunds["R00000001"] = Refund("R00000001", 3000, "退费", at)
    return trades


def alipay_zip(trades: list[Trade] | None = None, *, day: date = DAY, pid: str = PID) -> bytes:
    return bill_zip(pid, day, alipay_trades() if trades is None else trades, NOW)[1]


def alipay_csv(trades: list[Trade] | None = None) -> str:
    return detail_csv(ACCOUNT, DAY, alipay_trades() if trades is None else trades, NOW)


def wechat_bill(n: int = 2, *, mchid: str = "1900000001", refund: bool = True) -> bytes:
    from publicpay.emulators.wechat import bill as wx_bill
    from publicpay.emulators.wechat.state import Refund as WxRefund
    from publicpay.emulators.wechat.state import Trade as WxTrade

    trades = []
    for i in range(n):
        paid = datetime(2026, 12, 5, 3, 0, tzinfo=UTC) + timedelta(minutes=i)
        trades.append(
            WxTrade(
                mchid,
                "wxapp",
                f"W{i:08d}",
                "NATIVE",
                "罚没收入",
                5000 + i,
                "",
                paid,
                trade_state="SUCCESS",
                transaction_id=f"42000{i:023d}",
                openid="o1",
                success_time=paid,
            )
        )
    refunds = []
    if refund and trades:
        at = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
        refunds.append(
            WxRefund(
                mchid,
                "W00000000",
                trades[0].transaction_id,
                "WR00000001",
                1000,
                5000,
                "退费",
                "",
                at,
                status="SUCCESS",
            )
        )
    return wx_bill.render(wx_bill.bill_lines(trades, refunds, DAY))


MER_ID = "777290058110048"


def unionpay_text(*, mer_id: str = MER_ID) -> str:
    from publicpay.emulators.unionpay.ledger import Txn
    from publicpay.emulators.unionpay.statement import statement_text

    local = datetime(2026, 12, 5, 10, 0)
    pay = Txn(
        mer_id,
        "U00000001",
        "20261205100000",
        "01",
        "07",
        2000,
        "Q1",
        state="succeeded",
        completed_at=local,
        trace_no="123456",
    )
    refund = Txn(
        mer_id,
        "UR0000001",
        "20261205110000",
        "04",
        "00",
        500,
        "Q2",
        orig_query_id="Q1",
        state="succeeded",
        completed_at=local + timedelta(hours=1),
        trace_no="123457",
    )
    return statement_text(mer_id, DAY, [pay, refund])


def counter_csv() -> bytes:
    rows = [
        "bank_serial,payment_code,amount,paid_at,status",
        "20261205000000000001,33010526010000000123,100.00,2026-12-05 10:15:00,paid",
        "20261205000000000002,33010526010000000131,50.00,2026-12-05 10:20:03,paid",
        "20261205000000000002,33010526010000000131,-50.00,2026-12-05 10:31:40,reversed",
        "count,3",
        "total,100.00",
    ]
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


COLLECTION = "33050161000000000001"


def bank_statement(*, account: str = COLLECTION) -> bytes:
    from publicpay.emulators.bank.statement import Movement, render

    return render(
        account,
        DAY,
        [
            Movement("B1", "2026-12-05 09:30:00", "C", 29823, "支付宝", "SETTLE:alipay:2026-12-04"),
            Movement("B2", "2026-12-05 11:00:00", "C", 888, "张三", "汇款"),
            Movement("B3", "2026-12-05 16:00:00", "D", 20000, "国库", "CLEARING:1"),
        ],
    )
