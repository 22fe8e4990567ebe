"""Reconciliation and clearing benchmark: one Alipay day of 1,000,000 lines.

    .venv/bin/python -m bench.reconcile                 # 1,000,000 lines (the issue's target)
    .venv/bin/python -m bench.reconcile --lines 100000  # a smaller day
    .venv/bin/python -m bench.reconcile --db postgresql # also the orders read from PostgreSQL

Builds, outside the timing, an Alipay business-detail `csv.zip` (GBK, `#` lines, trailing tabs,
the emulator's exact layout and writer `emulators.alipay.bill`) with N payment lines (every
1,000th a refund) and the platform's N orders and refunds as the frames the engine reads
(`adapters.reconciliation.matching.ORDER_SCHEMA`). A few differences are planted: lines whose
order is unknown (长款), orders whose payment the channel lacks (短款), an amount changed.

Timed, in this process: (1) parse — unzip (streamed), strict checks of every line, GBK check,
totals; (2) match — the joins that classify every line and find platform-only orders. Peak
memory is this process's max RSS (test data is made in a child process). The orders come from
a Parquet file here, outside the timing; with `--db postgresql` the day's orders are also read
the way `reconcile_day` reads them on PostgreSQL — `COPY (the platform_orders query) TO STDOUT`
read by Polars — and the rows way (the query's driver rows, then `engine._orders`, what SQLite
still does) on a fresh PostgreSQL database seeded with the N orders (bench.database; seeding
not timed), in a process of its own, rows of their own.

Timed in child processes of their own (their memory is not the reconciliation's):
(3) the platform's orders as the database driver hands them over (a million rows of Python
values) turned into the frame matching reads (`engine._orders`, what `reconcile_day` does after
its query); (4) clearing that day at 1,000,000 payments: the clearing service's own
computation (`services.reconciliation.clearing._lines` with the columnar splitter the
application runs, `adapters.reconciliation.clearing_split`: every reconciled payment split by
budget subject, level and destination exactly to the fen, from payables of the demo's fee
items, handed over as the repository's rows), the totals by level and the 5408 voucher (one
detail per payment code, subject and level, written column by column) — the database's reads
and writes of the window are not in it.
Prints a Markdown table; nothing asserts on time. Run it several times on a shared machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl

from publicpay.adapters.reconciliation import alipay
from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.adapters.reconciliation.engine import _orders, _orders_copied
from publicpay.adapters.reconciliation.matching import (
    ORDER_SCHEMA,
    REFUND_SCHEMA,
    match,
)
from publicpay.adapters.reconciliation.treasury import VoucherParties, voucher_xml
from publicpay.demo import catalogue_data
from publicpay.domain.clearing import Window, WindowStatus, voucher_no
from publicpay.domain.payables import PayableLine
from publicpay.domain.time import SHANGHAI
from publicpay.emulators.alipay.bill import bill_zip
from publicpay.emulators.alipay.trades import Refund, Trade
from publicpay.services.reconciliation.clearing import _split

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


def _generate(n: int, folder: str) -> None:
    """In a child process (its memory is not the benchmark's): the bill and the orders."""
    trades = _trades(n)
    _, content = bill_zip(PID, DAY, trades[: n - 5], datetime(2026, 12, 6, 2, tzinfo=UTC))
    orders, refunds = _platform(trades[5:])  # 5 channel-only lines, 5 platform-only orders
    Path(folder, "bill.csv.zip").write_bytes(content)
    orders.write_parquet(Path(folder, "orders.parquet"))
    refunds.write_parquet(Path(folder, "refunds.parquet"))


def _timed_child(target: Any, arg: Any) -> Any:
    """What `target(arg, queue)` puts (timings), run in a process of its own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(arg, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Row = namedtuple(
    "Row",
    "id order_no channel_trade_no amount_fen status paid_at paid_order_id elsewhere cart_no",
)


def _driver_rows(n: int, queue: Any) -> None:
    """A million orders as the driver returns them (aware datetimes), then the frame."""
    start = datetime(2026, 12, 5, 0, 0, 1, tzinfo=UTC) - timedelta(hours=8)
    rows = [
        Row(
            i,
            f"P{i:011d}",
            f"2026120522{i:012d}",
            1000 + i % 50000,
            "succeeded",
            start + timedelta(seconds=i * 86000 / n),
            i,
            False,
            None,
        )
        for i in range(n)
    ]
    t, c = time.perf_counter(), time.process_time()
    frame = _orders(rows)
    queue.put((time.perf_counter() - t, time.process_time() - c, _peak_mib()))
    assert frame.height == n


SEED_ORDERS = [
    """
    INSERT INTO payables (id, payment_code, unit_id, biz_no, request_hash, payer_name, payer_type,
        payer_id_enc, payer_id_hash, payer_id_masked, amount_fen, status, created_at, paid_at,
        paid_fen, paid_order_id, channel, refunded_fen, version, remark)
    SELECT 50000000 + g, '9' || lpad((50000000 + g)::text, 19, '0'),
        (SELECT min(id) FROM units), 'BENCH' || g, 'h', '张伟', 'person', '\\x00'::bytea,
        'h' || (g % 100000), '330105********' || lpad((g % 10000)::text, 4, '0'),
        1000 + g % 50000, 'paid', :start + make_interval(secs => g * :step),
        :start + make_interval(secs => g * :step), 1000 + g % 50000, 50000000 + g, 'alipay', 0,
        1, ''
    FROM generate_series(0, :n - 1) AS g
    """,
    """
    INSERT INTO payment_orders (id, order_no, payable_id, channel, method, amount_fen, status,
        created_at, expires_at, paid_at, channel_trade_no, version)
    SELECT id, 'P' || lpad((id - 50000000)::text, 11, '0'), id, 'alipay', 'qr', amount_fen,
        'succeeded', paid_at - interval '1 second', paid_at + interval '1 hour', paid_at,
        '2026120522' || lpad((id - 50000000)::text, 12, '0'), 1
    FROM payables WHERE id >= 50000000
    """,
]


def _seed_orders(n: int) -> Any:
    """A PostgreSQL database (bench.database) holding the day's `n` Alipay orders (paid)."""
    from sqlalchemy import text

    from bench import database

    db = database.create("postgresql")
    database.prepare(db)
    container = db.container()
    start = datetime(2026, 12, 5, 0, 0, 1, tzinfo=UTC) - timedelta(hours=8)
    try:
        with container.engines.write.begin() as conn:
            for sql in SEED_ORDERS:
                conn.execute(text(sql), {"n": n, "start": start, "step": 86000 / n})
        with container.engines.write.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        container.close()
    return db


def _db_orders(db: Any, queue: Any) -> None:
    """The day's orders read as `reconcile_day` reads them on PostgreSQL — `platform_orders_csv`
    (COPY … TO STDOUT) read by Polars (`engine._orders_copied`) — and, before it, the rows way
    (`platform_orders`, then `engine._orders`, still SQLite's)."""
    container = db.container()
    start = datetime(2026, 12, 2, tzinfo=SHANGHAI)  # engine.WINDOW_DAYS before the day
    args = ("alipay", start, start + timedelta(5), 0)
    try:
        with container.uow() as uow:
            t, c = time.perf_counter(), time.process_time()
            frame = _orders_copied(uow.reconciliation.platform_orders_csv(*args) or b"")
            copied = time.perf_counter() - t, time.process_time() - c
        with container.uow() as uow:
            t, c = time.perf_counter(), time.process_time()
            rows = uow.reconciliation.platform_orders(*args)
            read = time.perf_counter() - t, time.process_time() - c
            same = _orders(rows)
            whole = time.perf_counter() - t, time.process_time() - c
    finally:
        container.close()
    assert same.sort("order_id").equals(frame.sort("order_id"))
    queue.put((copied, read, whole, _peak_mib(), frame.height))


def _clearing_day(n: int, queue: Any) -> None:
    """Clearing of a day of `n` reconciled payments of the demo's fee items (in memory)."""
    items = {i.code: i for i in [*catalogue_data.VEHICLE_OFFICE, catalogue_data.PASSPORT]}
    kinds = [
        [
            PayableLine(
                i.code,
                i.name,
                i.unit_of_measure,
                q,
                i.standards[0].amount_fen or 100,
                (i.standards[0].amount_fen or 100) * q,
            )
        ]
        for i in items.values()
        for q in (1, 2)
    ]
    paid = [
        SimpleNamespace(
            id=i,
            payment_code=f"33010526{i:012d}",
            unit_name="车辆管理所",
            paid_fen=sum(line.amount_fen for line in kinds[i % len(kinds)]),
        )
        for i in range(n)
    ]
    repo = SimpleNamespace(
        paid_on=lambda _day: paid,
        refunded_on=lambda _day: [],
        transfer_refunds_to_net=lambda: [],
        payable_lines=lambda ids: {i: kinds[i % len(kinds)] for i in ids},
    )
    parties = VoucherParties("330105000", "3301050000", "33050161000000000001", "汇缴户", "银行")
    t, c = time.perf_counter(), time.process_time()
    uow = SimpleNamespace(clearing=repo)
    split, _ = _split(uow, DAY, items, ColumnarSplitter())
    window = Window(
        id=1,
        business_day=DAY,
        account="a",
        status=WindowStatus.OPEN,
        gross_fen=split.payments_fen,
        refunds_fen=split.refunds_fen,
        fees_fen=0,
        total_fen=split.payments_fen - split.refunds_fen,
        by_level=split.by_level,
        created_at=datetime.now(UTC),
        voucher_no=voucher_no(DAY, 1),
    )
    lines = split.lines
    voucher = voucher_xml(window, lines, parties)
    queue.put((time.perf_counter() - t, time.process_time() - c, _peak_mib()))
    print(
        f"clearing: {len(lines):,} voucher details, {len(voucher) / 2**20:.0f} MiB of XML, "
        f"by level {window.by_level}"
    )


def run(n: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        child = multiprocessing.get_context("spawn").Process(target=_generate, args=(n, folder))
        child.start()
        child.join()
        content = Path(folder, "bill.csv.zip").read_bytes()
        t = time.perf_counter()
        orders = pl.read_parquet(Path(folder, "orders.parquet"))
        refunds = pl.read_parquet(Path(folder, "refunds.parquet"))
        load = time.perf_counter() - t
    timings: list[tuple[str, float, float]] = [
        ("load orders (Parquet, stands for the DB read)", load, 0.0)
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    parsed = alipay.parse(content, expected_account=PID + "0156")
    t1, c1 = time.perf_counter(), time.process_time()
    result = match(parsed.lines, orders, refunds, day=DAY.isoformat())
    counts = result.counts()
    t2, c2 = time.perf_counter(), time.process_time()
    timings += [
        ("parse (unzip, strict checks, GBK, totals)", t1 - t0, c1 - c0),
        ("match", t2 - t1, c2 - c1),
        ("**parse + match**", t2 - t0, c2 - c0),
    ]
    print(f"lines {parsed.line_count:,}; zip {len(content) / 2**20:.0f} MiB; classes {counts}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--db",
        choices=["none", "postgresql"],
        default="none",
        help="also read the day's orders from PostgreSQL as reconcile_day does",
    )
    args = parser.parse_args()
    db_row = None
    if args.db == "postgresql":
        t = time.perf_counter()
        db = _seed_orders(args.lines)
        print(f"seeded {args.lines:,} orders in PostgreSQL in {time.perf_counter() - t:.0f} s")
        try:
            db_row = _timed_child(_db_orders, db)
        finally:
            db.drop()
    timings = run(args.lines)
    peak_mib = _peak_mib()
    rows_wall, rows_cpu, _ = _timed_child(_driver_rows, args.lines)
    clear_wall, clear_cpu, clear_peak = _timed_child(_clearing_day, args.lines)
    load1, _, _ = os.getloadavg()
    print(f"\n| step ({args.lines:,} lines; load average {load1:.1f}) | wall s | CPU s |")
    print("|---|---:|---:|")
    for name, seconds, cpu in timings:
        print(f"| {name} | {seconds:.2f} | {cpu:.2f} |")
    print(f"| peak memory of parse + match (max RSS) | {peak_mib:,.0f} MiB | |")
    print(
        f"| orders frame from the driver's rows (own process) | {rows_wall:.2f} | {rows_cpu:.2f} |"
    )
    print(
        f"| **clearing the day**: split, totals by level, 5408 voucher (own process) "
        f"| {clear_wall:.2f} | {clear_cpu:.2f} |"
    )
    print(f"| peak memory of clearing (max RSS) | {clear_peak:,.0f} MiB | |")
    if db_row is not None:
        (copy_wall, copy_cpu), (read_wall, read_cpu), (whole_wall, whole_cpu), peak, n = db_row
        print(
            f"| **orders read from PostgreSQL as reconcile_day does**: `platform_orders_csv` "
            f"(COPY) into Polars, {n:,} orders (own process) | {copy_wall:.2f} | {copy_cpu:.2f} |"
        )
        print(f"| the rows way: `platform_orders` query | {read_wall:.2f} | {read_cpu:.2f} |")
        frame_row = "the rows way: query + the frame (`engine._orders`)"
        print(f"| {frame_row} | {whole_wall:.2f} | {whole_cpu:.2f} |")
        print(f"| peak memory of the orders-read process (max RSS) | {peak:,.0f} MiB | |")


if __name__ == "__main__":
    main()
