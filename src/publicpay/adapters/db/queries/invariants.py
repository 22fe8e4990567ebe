"""`publicpay check`: the ledger and consistency invariants (spec L2), as SQL over the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, exists, func, select

from publicpay.adapters.db.audit import AuditRepository
from publicpay.adapters.db.events import events
from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.messages import payer_messages
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries import reconciliation_checks, summary_checks
from publicpay.adapters.db.receipts.tables import receipt_jobs, receipts
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.shifts import cash_deposits, shifts
from publicpay.adapters.db.sql import Sql
from publicpay.adapters.db.units import units
from publicpay.domain.refunds import OPEN_OR_DONE, RefundKind, RefundStatus
from publicpay.domain.time import utc


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self) -> list[str]:
        out = [f"检查 {name}" for name in self.checked]
        out += [f"违反：{v}" for v in self.violations]
        out.append("全部通过" if self.ok else f"共 {len(self.violations)} 处违反")
        return out


def run_checks(conn: Connection, now: datetime | None = None) -> Report:
    report = Report()
    checks = (
        _journals_balance,
        _paid_payables,
        _succeeded_orders,
        _stale_orders,
        _receipts,
        _audit,
        _refunds,  # refunds (issue 11)
        _cash_office,
        _payer_messages,
        _queue_references,  # events and receipt jobs have no foreign keys (0030)
        _statistics,  # the statistics' summaries (issue 10)
        *reconciliation_checks.CHECKS,  # reconciliation and clearing (issue 12)
    )
    for check in checks:
        report.checked.append(check.__doc__ or check.__name__)
        report.violations += check(conn, now or datetime.now(UTC))
    return report


def _journals_balance(conn: Connection, _now: datetime) -> list[str]:
    """每笔记账分录借贷平衡且至少两行"""
    stmt = (
        select(ledger_postings.c.journal_id, func.sum(ledger_postings.c.amount_fen), func.count())
        .group_by(ledger_postings.c.journal_id)
        .having((func.sum(ledger_postings.c.amount_fen) != 0) | (func.count() < 2))
    )
    bad = [f"分录 {jid} 借贷差额 {total} 分、{n} 行" for jid, total, n in conn.execute(stmt)]
    # NOT EXISTS, an anti-join: NOT IN over a subquery too big for work_mem is checked row by row
    orphans = conn.execute(
        select(ledger_journals.c.id).where(
            ~exists().where(ledger_postings.c.journal_id == ledger_journals.c.id)
        )
    )
    # no foreign key on PostgreSQL (0029: its trigger refuses such postings): proved here
    strays = conn.execute(
        select(ledger_postings.c.id, ledger_postings.c.journal_id)
        .where(~exists().where(ledger_journals.c.id == ledger_postings.c.journal_id))
        .limit(20)
    )
    return (
        bad
        + [f"分录 {row.id} 没有明细行" for row in orphans]
        + [f"明细行 {row.id} 的分录 {row.journal_id} 不存在" for row in strays]
    )


def _payer_messages(conn: Connection, _now: datetime) -> list[str]:
    """每条付款人消息属于其待缴款项与执收单位"""
    stmt = (
        select(payer_messages.c.id, payer_messages.c.payable_id)
        .select_from(
            payer_messages.outerjoin(payables, payables.c.id == payer_messages.c.payable_id)
        )
        .where(payables.c.id.is_(None) | (payables.c.unit_id != payer_messages.c.unit_id))
        .limit(20)
    )
    return [
        f"付款人消息 {row.id} 的待缴款项 {row.payable_id} 不存在或单位不符"
        for row in conn.execute(stmt)
    ]


def _queue_references(conn: Connection, _now: datetime) -> list[str]:
    """每条事件属于存在的执收单位，每个开票任务属于存在的待缴款项"""
    events_stmt = (
        select(events.c.event_id, events.c.unit_id)
        .select_from(events.outerjoin(units, units.c.id == events.c.unit_id))
        .where(units.c.id.is_(None))
        .limit(20)
    )
    jobs_stmt = (
        select(receipt_jobs.c.id, receipt_jobs.c.payable_id)
        .select_from(receipt_jobs.outerjoin(payables, payables.c.id == receipt_jobs.c.payable_id))
        .where(payables.c.id.is_(None))
        .limit(20)
    )
    return [
        f"事件 {row.event_id} 的执收单位 {row.unit_id} 不存在" for row in conn.execute(events_stmt)
    ] + [f"开票任务 {row.id} 的待缴款项 {row.payable_id} 不存在" for row in conn.execute(jobs_stmt)]


def _paid_payables(conn: Connection, _now: datetime) -> list[str]:
    """每笔已缴款单有且仅有一笔成功订单，并有金额相符的入账分录"""
    settled = ("paid", "partially_refunded", "refunded")
    stmt = select(payables).where(payables.c.status.in_(settled))
    problems: list[str] = []
    for p in conn.execute(stmt):
        order = conn.execute(
            select(payment_orders).where(payment_orders.c.id == p.paid_order_id)
        ).first()
        if order is None or order.status != "succeeded" or order.payable_id != p.id:
            problems.append(f"缴款单 {p.payment_code} 没有对应的成功订单")
            continue
        debit = conn.execute(
            select(func.coalesce(func.sum(ledger_postings.c.amount_fen), 0))
            .select_from(ledger_postings.join(ledger_journals))
            .where(
                ledger_journals.c.kind == "payment",
                ledger_journals.c.ref == order.order_no,
                ledger_postings.c.amount_fen > 0,
            )
        ).scalar_one()
        if int(debit) != p.paid_fen:
            problems.append(f"缴款单 {p.payment_code} 入账 {debit} 分，实缴 {p.paid_fen} 分")
    return problems


def _succeeded_orders(conn: Connection, _now: datetime) -> list[str]:
    """每笔成功订单要么是缴款单的缴款订单，要么已安排重复支付退款"""
    stmt = (
        select(payment_orders.c.order_no)
        .select_from(
            payment_orders.join(payables, payables.c.id == payment_orders.c.payable_id).outerjoin(
                refunds,
                and_(refunds.c.order_id == payment_orders.c.id, refunds.c.kind == "duplicate"),
            )
        )
        .where(
            payment_orders.c.status == "succeeded",
            payables.c.paid_order_id.is_distinct_from(payment_orders.c.id),
            refunds.c.id.is_(None),
        )
    )
    return [f"订单 {row.order_no} 已成功但既未入账也未退款" for row in conn.execute(stmt)]


def _stale_orders(conn: Connection, now: datetime) -> list[str]:
    """没有超过期限一小时仍处于支付中的订单"""
    stmt = select(payment_orders.c.order_no).where(
        payment_orders.c.status == "paying",
        payment_orders.c.expires_at < now - timedelta(hours=1),
    )
    return [f"订单 {row.order_no} 长时间处于支付中" for row in conn.execute(stmt)]


def _receipts(conn: Connection, now: datetime) -> list[str]:
    """每笔已缴款单恰有一张有效票据（开票作业有十分钟宽限）"""
    live = (
        select(receipts.c.payable_id, func.count().label("n"))
        .where(receipts.c.kind == "normal", receipts.c.status == "issued")
        .group_by(receipts.c.payable_id)
        .subquery()
    )
    stmt = (
        select(payables.c.payment_code, payables.c.paid_at, func.coalesce(live.c.n, 0))
        .select_from(payables.outerjoin(live, live.c.payable_id == payables.c.id))
        .where(payables.c.status.in_(("paid", "partially_refunded")))
    )
    problems = []
    for code, paid_at, count in conn.execute(stmt):
        if count > 1:
            problems.append(f"缴款单 {code} 有 {count} 张有效票据")
        elif count == 0 and paid_at is not None and utc(paid_at) < now - timedelta(minutes=10):
            problems.append(f"缴款单 {code} 已缴款超过十分钟仍未开具票据")
    return problems


def _audit(conn: Connection, _now: datetime) -> list[str]:
    """审计日志哈希链完整"""
    return [f"审计日志第 {i} 行哈希链断裂" for i in AuditRepository(Sql(conn)).verify_chain()]


REQUESTED = RefundKind.REQUESTED.value


def _refunds(conn: Connection, _now: datetime) -> list[str]:
    """每笔缴款单的退款累计不超过实缴，且等于成功的退款申请之和"""
    done = (
        select(refunds.c.payable_id, func.sum(refunds.c.amount_fen).label("fen"))
        .where(refunds.c.kind == REQUESTED, refunds.c.status == RefundStatus.SUCCEEDED.value)
        .group_by(refunds.c.payable_id)
        .subquery()
    )
    asked = (
        select(refunds.c.payable_id, func.sum(refunds.c.amount_fen).label("fen"))
        .where(
            refunds.c.kind == REQUESTED,
            refunds.c.status.in_([status.value for status in OPEN_OR_DONE]),
        )
        .group_by(refunds.c.payable_id)
        .subquery()
    )
    stmt = (
        select(
            payables.c.payment_code,
            payables.c.paid_fen,
            payables.c.refunded_fen,
            func.coalesce(done.c.fen, 0),
            func.coalesce(asked.c.fen, 0),
        )
        .outerjoin(done, done.c.payable_id == payables.c.id)
        .outerjoin(asked, asked.c.payable_id == payables.c.id)
        .where(
            (payables.c.refunded_fen != func.coalesce(done.c.fen, 0))
            | (func.coalesce(asked.c.fen, 0) > func.coalesce(payables.c.paid_fen, 0))
        )
    )
    return [
        f"缴款单 {code} 实缴 {paid} 分，已退 {refunded} 分，"
        f"成功退款合计 {ok} 分，申请中及已退合计 {ask} 分"
        for code, paid, refunded, ok, ask in conn.execute(stmt)
    ]


def _statistics(conn: Connection, _now: datetime) -> list[str]:
    """统计汇总（按时段、收费项目、预算级次）与缴款明细逐项相等"""
    return summary_checks.differences(conn)


def _journal_debits(conn: Connection, kind: str, refs: list[str]) -> dict[str, int]:
    """The debits of the journals of `kind` for each reference (absent: none posted)."""
    if not refs:
        return {}
    stmt = (
        select(ledger_journals.c.ref, func.sum(ledger_postings.c.amount_fen))
        .select_from(ledger_postings.join(ledger_journals))
        .where(
            ledger_journals.c.kind == kind,
            ledger_journals.c.ref.in_(refs),
            ledger_postings.c.amount_fen > 0,
        )
        .group_by(ledger_journals.c.ref)
    )
    return {ref: int(total) for ref, total in conn.execute(stmt)}


def _cash_office(conn: Connection, _now: datetime) -> list[str]:
    """每个已结班次的长短款与解款均已入账，解款金额为点钞减备用金"""
    problems: list[str] = []
    settled = list(
        conn.execute(
            select(shifts, cash_deposits.c.deposit_no, cash_deposits.c.amount_fen.label("dep"))
            .select_from(shifts.outerjoin(cash_deposits))
            .where(shifts.c.status == "closed", shifts.c.counted_fen.is_not(None))
        )
    )
    refs = [f"shift:{s.id}" for s in settled if s.difference_fen]
    differences = _journal_debits(conn, "cash_difference", refs)
    for s in settled:
        if s.difference_fen and differences.get(f"shift:{s.id}") != abs(s.difference_fen):
            problems.append(f"班次 {s.id} 的长短款 {s.difference_fen} 分未入账")
        owed = max(0, s.counted_fen - s.opening_float_fen)
        if owed != (s.dep or 0):
            problems.append(f"班次 {s.id} 应解款 {owed} 分，解款单为 {s.dep or 0} 分")
    deposits = list(conn.execute(select(cash_deposits)))
    numbers = [d.deposit_no for d in deposits]
    moved = _journal_debits(conn, "cash_deposit", numbers)
    credited = _journal_debits(conn, "deposit_credited", numbers)
    for d in deposits:
        if moved.get(d.deposit_no) != d.amount_fen:
            problems.append(f"解款单 {d.deposit_no} 未记入在途现金")
        if (d.status == "credited") != (credited.get(d.deposit_no) == d.amount_fen):
            problems.append(f"解款单 {d.deposit_no} 的到账状态与分录不符")
    return problems
