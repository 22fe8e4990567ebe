"""`publicpay check`: the statistics' summary rows (`adapters/db/statistics.py`) equal the
payments they sum. Each summary is summed again from the rows — succeeded orders by the hour
(Asia/Shanghai) they were paid, their payables' lines, their payment journals' credits — and
compared key by key (slots added up) with the summary plus the tallies not folded into it yet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, or_, select

from publicpay.adapters.db.dialects import local_hour
from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.statistics import pending, stats_hourly, stats_items, stats_levels
from publicpay.domain.ledger import SPECIAL_ACCOUNT
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.statistics import SummaryChanges, summary_changes

SHOWN = 10  # differences listed; the rest are counted
o = payment_orders
_PAID = o.join(payables, payables.c.id == o.c.payable_id)
_SUCCEEDED = o.c.status == OrderStatus.SUCCEEDED.value
_HOUR = local_hour(o.c.paid_at)

Key = tuple[Any, ...]
Sums = dict[Key, tuple[int, int]]


def differences(conn: Connection) -> list[str]:
    found: list[str] = []
    waiting = summary_changes(pending(conn))
    for name, from_rows, from_summary, pending_sums in (
        ("时段", _hourly_rows, _hourly_summary, _hourly_pending(waiting)),
        ("收费项目", _item_rows, _item_summary, _item_pending(waiting)),
        ("预算级次", _level_rows, _level_summary, _level_pending(waiting)),
    ):
        rows, summary = from_rows(conn), _added(from_summary(conn), pending_sums)
        for key in sorted(rows.keys() | summary.keys(), key=str):
            want, have = rows.get(key, (0, 0)), summary.get(key, (0, 0))
            if want != have:
                found.append(
                    f"统计汇总（{name}）{'/'.join(map(str, key))}：明细 {want[0]} 笔 {want[1]} 分，"
                    f"汇总 {have[0]} 笔 {have[1]} 分"
                )
    if len(found) > SHOWN:
        return [*found[:SHOWN], f"另有 {len(found) - SHOWN} 处统计汇总与明细不符"]
    return found


def _added(summary: Sums, waiting: Sums) -> Sums:
    both: dict[Key, tuple[int, int]] = dict(summary)
    for key, (n, fen) in waiting.items():
        had = both.get(key, (0, 0))
        both[key] = (had[0] + n, had[1] + fen)
    return {k: v for k, v in both.items() if v != (0, 0)}


def _hourly_pending(w: SummaryChanges) -> Sums:
    rows = ((f"{k[0]} {k[1]:02d}", *k[2:], n, fen) for k, (n, fen) in w.hourly.items())
    return _summed(rows, 6)


def _item_pending(w: SummaryChanges) -> Sums:
    return _summed(((*k, n, fen) for k, (_name, n, fen) in w.items.items()), 4)


def _level_pending(w: SummaryChanges) -> Sums:
    return _summed(((*k, n, fen) for k, (n, fen) in w.levels.items()), 4)


def _summed(rows: Iterable[Any], width: int) -> Sums:
    """(key columns…, count, amount) rows summed by key, zero rows left out."""
    sums: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        key = tuple(str(v) for v in row[:width])
        sums[key][0] += int(row[width])
        sums[key][1] += int(row[width + 1])
    return {k: (n, fen) for k, (n, fen) in sums.items() if n or fen}


def _hourly_rows(conn: Connection) -> Sums:
    places = [func.coalesce(c, 0) for c in (o.c.site_id, o.c.window_id, o.c.device_id)]
    stmt = (
        select(
            _HOUR, payables.c.unit_id, o.c.channel, *places, func.count(), func.sum(o.c.amount_fen)
        )
        .select_from(_PAID)
        .where(_SUCCEEDED)
        .group_by(_HOUR, payables.c.unit_id, o.c.channel, *places)
    )
    return _summed(conn.execute(stmt), 6)


def _hourly_summary(conn: Connection) -> Sums:
    h = stats_hourly
    keys = [h.c.day, h.c.hour, h.c.unit_id, h.c.channel, h.c.site_id, h.c.window_id, h.c.device_id]
    stmt = select(*keys, func.sum(h.c.payments), func.sum(h.c.amount_fen)).group_by(*keys)
    return _summed(((f"{r[0]} {int(r[1]):02d}", *r[2:]) for r in conn.execute(stmt)), 6)


def _day(rows: Iterable[Any]) -> Iterable[Any]:
    """Rows keyed by 'YYYY-MM-DD HH' (the hour the payments were paid), keyed by the day."""
    return ((str(r[0])[:10], *r[1:]) for r in rows)


def _item_rows(conn: Connection) -> Sums:
    keys = [_HOUR, payables.c.unit_id, o.c.channel, payable_lines.c.item_code]
    stmt = (
        select(*keys, func.count(func.distinct(o.c.id)), func.sum(payable_lines.c.amount_fen))
        .select_from(_PAID.join(payable_lines, payable_lines.c.payable_id == payables.c.id))
        .where(_SUCCEEDED)
        .group_by(*keys)
    )
    return _summed(_day(conn.execute(stmt)), 4)


def _item_summary(conn: Connection) -> Sums:
    i = stats_items
    keys = [i.c.day, i.c.unit_id, i.c.channel, i.c.item_code]
    stmt = select(*keys, func.sum(i.c.payments), func.sum(i.c.amount_fen)).group_by(*keys)
    return _summed(conn.execute(stmt), 4)


def _level_rows(conn: Connection) -> Sums:
    account = ledger_postings.c.account
    keys = [_HOUR, payables.c.unit_id, o.c.channel, account]
    source = _PAID.join(
        ledger_journals,
        (ledger_journals.c.ref == o.c.order_no) & (ledger_journals.c.kind == "payment"),
    ).join(ledger_postings, ledger_postings.c.journal_id == ledger_journals.c.id)
    stmt = (
        select(*keys, func.count(func.distinct(o.c.id)), -func.sum(ledger_postings.c.amount_fen))
        .select_from(source)
        .where(_SUCCEEDED, or_(account.like("treasury_payable:%"), account == SPECIAL_ACCOUNT))
        .group_by(*keys)
    )
    return _summed(_day(conn.execute(stmt)), 4)


def _level_summary(conn: Connection) -> Sums:
    lv = stats_levels
    keys = [lv.c.day, lv.c.unit_id, lv.c.channel, lv.c.account]
    stmt = select(*keys, func.sum(lv.c.payments), func.sum(lv.c.amount_fen)).group_by(*keys)
    return _summed(conn.execute(stmt), 4)
