"""Statistics benchmark (issue 10): with N payments (default 1,000,000) seeded on PostgreSQL,
the response time of the statistics page's queries and of the phone view's, and the speed and
memory of a CSV export of every payment.

    .venv/bin/python -m bench.statistics                  # 1,000,000 payments, ~5 min
    .venv/bin/python -m bench.statistics --payments 100000 --repeat 10

A fresh `publicpay_bench_<random>` database is migrated and seeded like the demo; the payments
(a payable, its line and its succeeded order each, paid over the last 90 days at every hour,
spread over the demo's units and the five channels) are written by one INSERT … SELECT per
table. The queries are the console's own (`adapters/db/queries/statistics.py`, the orders list
export of `adapters/exports.py`) run in this process for a finance user of the whole region.
The statistics' summary rows (`adapters/db/statistics.py`) are
filled from those rows by the same sums as migration 0020's back-fill. Prints a Markdown table;
nothing asserts on time. Not measured: the budget-level breakdown (the seed writes no ledger
journals; it reads a summary of the same shape as the fee items').
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench import database
from publicpay.adapters.db.queries import lists
from publicpay.adapters.db.queries import statistics as stats
from publicpay.adapters.exports import Format, file_chunks, list_export
from publicpay.domain.access import Actor, Role
from publicpay.domain.statistics import Dimension, Period
from publicpay.domain.time import business_date

TARGETS = {"page": 300.0, "phone": 200.0}
PAGE_DIMENSIONS = tuple(d for d in Dimension if d is not Dimension.LEVEL)
PHONE_DIMENSIONS = (Dimension.UNIT, Dimension.CHANNEL)

SEED = [
    """
    INSERT INTO payables (id, payment_code, unit_id, biz_no, request_hash, payer_name, payer_type,
        payer_id_enc, payer_id_hash, payer_id_masked, amount_fen, status, created_at, paid_at,
        paid_fen, paid_order_id, channel, refunded_fen, version, remark)
    SELECT 50000000 + g, '9' || lpad((50000000 + g)::text, 19, '0'),
        (SELECT array_agg(id ORDER BY id) FROM units)[1 + g % (SELECT count(*) FROM units)],
        'BENCH' || g, 'h', '张伟', 'person', '\\x00'::bytea, 'h' || (g % 100000),
        '330105********' || lpad((g % 10000)::text, 4, '0'), (1 + g % 50) * 1000, 'paid',
        now() - make_interval(secs => (g::bigint * 7919) % (90 * 86400)) - interval '5 minutes',
        now() - make_interval(secs => (g::bigint * 7919) % (90 * 86400)),
        (1 + g % 50) * 1000, 50000000 + g,
        (ARRAY['alipay', 'wechat', 'unionpay', 'counter', 'cash'])[1 + g % 5], 0, 1, ''
    FROM generate_series(1, :n) AS g
    """,
    """
    INSERT INTO payable_lines (payable_id, line_no, item_code, item_name, unit_of_measure,
        quantity, standard_fen, amount_fen)
    SELECT id, 1, 'GA0101', '汽车号牌', '副', 1, amount_fen, amount_fen
    FROM payables WHERE id > 50000000
    """,
    """
    INSERT INTO payment_orders (id, order_no, payable_id, channel, method, amount_fen, status,
        created_at, expires_at, paid_at, version)
    SELECT id, 'B' || id, id, channel, CASE channel WHEN 'cash' THEN 'cash' ELSE 'qr' END,
        amount_fen, 'succeeded', paid_at - interval '1 minute', paid_at + interval '1 hour',
        paid_at, 1
    FROM payables WHERE id > 50000000
    """,
    # the statistics' summaries, as the recorder keeps them (migration 0020's back-fill)
    """
    INSERT INTO stats_payments_hourly (day, hour, unit_id, channel, site_id, window_id,
        device_id, slot, payments, amount_fen)
    SELECT (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date,
        extract(hour FROM o.paid_at AT TIME ZONE 'Asia/Shanghai')::int, p.unit_id, o.channel,
        coalesce(o.site_id, 0), coalesce(o.window_id, 0), coalesce(o.device_id, 0), o.id % 8,
        count(*), sum(o.amount_fen)
    FROM payment_orders o JOIN payables p ON p.id = o.payable_id
    WHERE o.id > 50000000 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """,
    """
    INSERT INTO stats_items_daily (day, unit_id, channel, item_code, slot, item_name,
        payments, amount_fen)
    SELECT (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date, p.unit_id, o.channel, l.item_code,
        o.id % 8, max(l.item_name), count(DISTINCT o.id), sum(l.amount_fen)
    FROM payment_orders o JOIN payables p ON p.id = o.payable_id
    JOIN payable_lines l ON l.payable_id = p.id
    WHERE o.id > 50000000 GROUP BY 1, 2, 3, 4, 5
    """,
    "ANALYZE",
]


def _seed(db: database.BenchDb, n: int) -> float:
    started = time.perf_counter()
    container = db.container()
    try:
        with container.engines.write.begin() as conn:
            for sql in SEED[:-1]:
                conn.execute(text(sql), {"n": n})
        with container.engines.write.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        container.close()
    return time.perf_counter() - started


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(repeat: int, run: Callable[[], Any]) -> list[float]:
    run()  # warm
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _queries(conn: Any, actor: Actor, period: Period, repeat: int) -> list[tuple[str, list[float]]]:
    rows = [
        ("totals", _timed(repeat, lambda: stats.totals(conn, actor, period))),
        ("trend", _timed(repeat, lambda: stats.trend(conn, actor, period))),
    ]
    for d in PAGE_DIMENSIONS:
        rows.append(
            (f"by {d.value}", _timed(repeat, lambda d=d: stats.grouped(conn, actor, period, d)))
        )
    return rows


def _page(conn: Any, actor: Actor, period: Period, dims: tuple[Dimension, ...]) -> None:
    stats.totals(conn, actor, period)
    if len(dims) > 2:
        stats.trend(conn, actor, period)
    else:  # the phone view: today, and the last seven days' trend
        stats.trend(conn, actor, Period(period.last - timedelta(days=6), period.last))
    for d in dims:
        stats.grouped(conn, actor, period, d)


def _export(db: database.BenchDb, actor: Actor) -> tuple[int, int, float, float]:
    container = db.container()
    try:
        spec = lists.ORDERS
        query = lists.parse_query(spec, {"status": "succeeded"})
        export = list_export(spec, actor, query, container.box.lookup_hash, Format.CSV)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        size = 0
        with container.engines.read.connect() as conn:
            for chunk in file_chunks(export, Format.CSV, conn):
                size += len(chunk)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with container.engines.read.connect() as conn:
            rows = lists.count(conn, spec, actor, query, container.box.lookup_hash)
    finally:
        container.close()
    return rows, size, elapsed, max(peak, before) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statistics", description=__doc__)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    if not database.pg_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/pg.sh)")
        return 1
    db = database.create("postgresql")
    lines: list[str] = []
    try:
        database.prepare(db)
        seeded = _seed(db, args.payments)
        container = db.container()
        actor = Actor(0, "bench", Role.FINANCE_ADMIN, container.settings.region_code, None)
        today = business_date(container.clock.now())
        periods = {
            "today": Period(today, today),
            "7 days": Period(today - timedelta(days=6), today),
            "30 days": Period(today - timedelta(days=29), today),
        }
        lines += [
            f"## Statistics benchmark — {args.payments:,} payments on PostgreSQL "
            f"(seeded in {seeded:.0f} s), {args.repeat} runs each",
            "",
            "| period | query | p50 ms | p95 ms |",
            "|---|---|---:|---:|",
        ]
        with container.engines.read.connect() as conn:
            pages = {}
            for name, period in periods.items():
                for query, samples in _queries(conn, actor, period, args.repeat):
                    lines.append(
                        f"| {name} | {query} | {_p(samples, 0.5):.1f} | {_p(samples, 0.95):.1f} |"
                    )
                pages[name] = _timed(
                    args.repeat, lambda p=period: _page(conn, actor, p, PAGE_DIMENSIONS)
                )
            phone = _timed(
                args.repeat, lambda: _page(conn, actor, periods["today"], PHONE_DIMENSIONS)
            )
        container.close()
        lines += [
            "",
            "| page (all its queries, one after another) | p50 ms | p95 ms | target |",
            "|---|---:|---:|---:|",
        ]
        for name, samples in pages.items():
            lines.append(
                f"| 收入统计 {name} ({2 + len(PAGE_DIMENSIONS)} queries) | "
                f"{_p(samples, 0.5):.0f} | {_p(samples, 0.95):.0f} | "
                f"≤ {TARGETS['page']:.0f} per query |"
            )
        lines.append(
            "| 掌上监管 today (4 queries: totals, 7-day trend, by unit, by channel) | "
            f"{_p(phone, 0.5):.0f} | {_p(phone, 0.95):.0f} | "
            f"≤ {TARGETS['phone']:.0f} |"
        )
        rows, size, elapsed, peak_mb = _export(db, actor)
        lines += [
            "",
            "| CSV export of every payment (orders list) | rows | MB | seconds | rows/s "
            "| peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
            f"| streamed, in process | {rows:,} | {size / 1e6:.0f} | {elapsed:.1f} | "
            f"{rows / elapsed:,.0f} | {peak_mb:.0f} |",
        ]
        print("\n".join(lines))
    finally:
        if not args.keep:
            db.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
