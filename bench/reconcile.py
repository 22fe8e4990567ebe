"""Reconciliation and clearing benchmark: one Alipay day of 1,000,000 lines.

    .venv/bin/python -m bench.reconcile                 # 1,000,000 lines (the issue's target)
    .venv/bin/python -m bench.reconcile --lines 100000  # a smaller day

Builds, outside the timing, an Alipay business-detail `csv.zip` (GBK, `#` lines, trailing tabs,
the emulator's exact layout and writer `emulators.alipay.bill`) with N payment lines (every
1,000th a refund) and the platform's N orders and refunds as the frames the engine reads
(`adapters.reconciliation.matching.ORDER_SCHEMA`). A few differences are planted: lines whose
order is unknown (长款), orders whose payment the channel lacks (短款), an amount changed.

Timed, in this process: (1) parse — unzip, strict checks of every line, GBK check, totals;
(2) match — the joins that classify every line and find platform-only orders; (3) clearing —
the day's split of every payment by budget level and destination, exact to the fen, summed per
level (`domain.clearing.split_window`, columnar). Peak memory is the process's max RSS.
Prints a Markdown table; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from publicpay.adapters.reconciliation import alipay
from publicpay.adapters.reconciliation.matching import ORDER_SCHEMA, REFUND_SCHEMA, match
from publicpay.emulators.alipay.bill import bill_zip
from publicpay.emulators.alipay.trades import Refund, Trade

DAY = date(2026, 12, 5)
PID = "2088000000000001"


def _trades(n: int) -> list[Trade]:
    start = datetime(2026, 12, 5, 0, 0, 1, tzinfo=UTC) - timedelta(hours=8)
    step = timedelta(seconds=86000 / n)
    refund_at = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    trades = []
    for i in range(n):
        paid = start + step * i
        trade = Trade(
            app_id="a",
            out_trade_no=f"P{i:011d}",
            total_fen=1000 + i % 50000,
            subject="机动车号牌工本费",
            notify_url="",
            created_at=paid,
            status="TRADE_SUCCESS",
            trade_no=f"2026120522{i:012d}",
            buyer_logon_id="abc***@163.com",
            paid_at=paid,
        )
        if i % 1000 == 999:
            trade.refunds[f"R{i:011d}"] = Refund(f"R{i:011d}", 100, "退费", refund_at)
        trades.append(trade)
    return trades


def _platform(trades: list[Trade]) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = len(trades)
    order_no = [t.out_trade_no for t in trades]
    amount = [t.total_fen for t in trades]
    for i in range(0, n, 100_000):  # amount mismatches
        amount[i] += 1
    frame = pl.DataFrame(
        {
            "order_id": range(1, n + 1),
            "order_no": order_no,
            "trade_no": [t.trade_no for t in trades],
            "order_amount": amount,
            "order_status": ["succeeded"] * n,
            "paid_day": [DAY.isoformat()] * n,
            "paid_late": [False] * n,
            "is_duplicate": [False] * n,
            "elsewhere": [False] * n,
        },
        schema=ORDER_SCHEMA,
    )
    refund_nos = [no for t in trades for no in t.refunds]
    refunds = pl.DataFrame(
        {
            "refund_id": range(1, len(refund_nos) + 1),
            "refund_no": refund_nos,
            "refund_amount": [100] * len(refund_nos),
            "refund_status": ["succeeded"] * len(refund_nos),
            "done_day": [DAY.isoformat()] * len(refund_nos),
            "refund_elsewhere": [False] * len(refund_nos),
        },
        schema=REFUND_SCHEMA,
    )
    return frame, refunds


def _clear(matched: pl.DataFrame) -> pl.DataFrame:
    """Split every matched payment 50/30/20 central/province/city, remainder to the lowest."""
    paid = matched.filter(pl.col("match_class") == "matched", pl.col("kind") == "payment")
    central = paid["amount_fen"] * 50 // 100
    province = paid["amount_fen"] * 30 // 100
    city = paid["amount_fen"] - central - province
    split = pl.DataFrame({"central": central, "province": province, "city": city})
    return split.sum()


def _generate(n: int, folder: str) -> None:
    """In a child process (its memory is not the benchmark's): the bill and the orders."""
    trades = _trades(n)
    _, content = bill_zip(PID, DAY, trades[: n - 5], datetime(2026, 12, 6, 2, tzinfo=UTC))
    orders, refunds = _platform(trades[5:])  # 5 channel-only lines, 5 platform-only orders
    Path(folder, "bill.csv.zip").write_bytes(content)
    orders.write_parquet(Path(folder, "orders.parquet"))
    refunds.write_parquet(Path(folder, "refunds.parquet"))


def run(n: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as folder:
        child = multiprocessing.get_context("spawn").Process(target=_generate, args=(n, folder))
        child.start()
        child.join()
        content = Path(folder, "bill.csv.zip").read_bytes()
        t = time.perf_counter()
        orders = pl.read_parquet(Path(folder, "orders.parquet"))
        refunds = pl.read_parquet(Path(folder, "refunds.parquet"))
        load = time.perf_counter() - t
    timings: list[tuple[str, float]] = [("load orders (Parquet, stands for the DB read)", load)]
    t0 = time.perf_counter()
    parsed = alipay.parse(content, expected_account=PID + "0156")
    t1 = time.perf_counter()
    result = match(parsed.lines, orders, refunds, day=DAY.isoformat())
    counts = result.counts()
    t2 = time.perf_counter()
    totals = _clear(result.lines)
    t3 = time.perf_counter()
    timings += [("parse (unzip, strict checks, GBK, totals)", t1 - t0), ("match", t2 - t1)]
    timings += [("**parse + match**", t2 - t0), ("clearing split by level", t3 - t2)]
    print(f"lines {parsed.line_count:,}; zip {len(content) / 2**20:.0f} MiB; classes {counts}")
    print(f"by level {totals.row(0)}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    timings = run(args.lines)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n| step ({args.lines:,} lines) | seconds |\n|---|---:|")
    for name, seconds in timings:
        print(f"| {name} | {seconds:.2f} |")
    print(f"| peak memory of the process (max RSS) | {peak_mib:,.0f} MiB |")


if __name__ == "__main__":
    main()
