"""`publicpay check`, reconciliation and clearing (issue 12): what the statements, the clearing
windows and the ledger say must agree, for every day.

- a reconciled channel day: the statement's payments minus refunds equal its lines, and every
  line went through matching;
- a confirmed clearing window: its lines sum to its total, and its total equals the day's
  matched payments minus matched refunds (duplicates, refunded by the platform, excluded) minus
  the transfer refunds it netted — cleared equals reconciled; each netted transfer refund is a
  matched `REFUND:` debit of its amount (once only: `clearing_refunds` is unique per refund);
- a window's refund parts held (a level would have gone below zero) and earlier holds taken back
  are its `held_fen` / `carried_fen`, in its total; no window sends a level less than zero;
- per payment and budget level (or special account): what the confirmed windows cleared (its
  payment's lines less what its refunds took back, what they held counted as taken back)
  equals the ledger's payment journal less the
  refund journals of the refunds those windows took back — to the fen, however many partial
  refunds;
- the collection account (汇缴户) holds exactly what is still pending: what the channels settled
  into it for instructed days, plus the cash credited and minus the transfer refunds it paid,
  minus what confirmed windows cleared out (net of the transfer refunds they netted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, func, literal, select, union_all

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.reconciliation.clearing import (
    CLEARED_PAYMENT_LINE,
    cleared_payments,
    matched_refunds,
)
from publicpay.adapters.db.reconciliation.tables import (
    clearing_holds,
    clearing_lines,
    clearing_refunds,
    clearing_windows,
    recon_days,
    recon_exceptions,
    statement_lines,
    statements,
)
from publicpay.adapters.db.refunds import refunds
from publicpay.domain.catalogue import Destination
from publicpay.domain.clearing import COLLECTION
from publicpay.domain.ledger import SPECIAL_ACCOUNT, JournalKind
from publicpay.domain.reconciliation import (
    CHANNEL_SOURCES,
    EXCEPTION_CLASSES,
    DayStatus,
    ExceptionStatus,
    LineResolution,
    Source,
)
from publicpay.domain.refunds import RefundKind

_CHANNELS = [s.value for s in CHANNEL_SOURCES]
# a written-off amount difference: the platform's amount is what was cleared
_CLEARED = case(
    (statement_lines.c.resolution == LineResolution.WRITTEN_OFF.value, payment_orders.c.amount_fen),
    (statement_lines.c.kind == "refund", -statement_lines.c.amount_fen),
    else_=statement_lines.c.amount_fen,
)
_SIGNED = case(
    (statement_lines.c.kind == "refund", -statement_lines.c.amount_fen),
    else_=statement_lines.c.amount_fen,
)


def channel_days(conn: Connection, _now: datetime) -> list[str]:
    """渠道对账日：对账单收款减退款等于其明细之和，且每行都经过匹配"""
    out = []
    days = conn.execute(
        select(recon_days).where(
            recon_days.c.statement_id.is_not(None), recon_days.c.source.in_(_CHANNELS)
        )
    )
    for d in days:
        total = conn.execute(
            select(func.coalesce(func.sum(_SIGNED), 0)).where(
                statement_lines.c.statement_id == d.statement_id
            )
        ).scalar()
        if int(total or 0) != d.gross_fen:
            out.append(
                f"{d.source} {d.business_day}：明细净额 {total} 分 ≠ 对账单 {d.gross_fen} 分"
            )
        unclassified = conn.execute(
            select(func.count()).where(
                statement_lines.c.statement_id == d.statement_id,
                statement_lines.c.match_class.is_(None),
            )
        ).scalar()
        if unclassified:
            out.append(f"{d.source} {d.business_day}：{unclassified} 行未经匹配")
    return out


_KEY = func.coalesce(
    statement_lines.c.refund_no, statement_lines.c.order_no, statement_lines.c.trade_no
)
_CLOSED = recon_exceptions.c.status.in_(
    [ExceptionStatus.CLOSED.value, ExceptionStatus.RELEASED.value]
)


def reconciled_days_closed(conn: Connection, _now: datetime) -> list[str]:
    """已对平的渠道对账日：每个未平账的对账单行都有已办结的差错（补单、退款、核销或确认无误）"""
    worked = (
        select(recon_exceptions.c.id)
        .where(
            recon_exceptions.c.source == recon_days.c.source,
            recon_exceptions.c.business_day == recon_days.c.business_day,
            recon_exceptions.c.match_class == statement_lines.c.match_class,
            recon_exceptions.c.key == _KEY,
            _CLOSED,
        )
        .exists()
    )
    stmt = (
        select(recon_days.c.source, recon_days.c.business_day, func.count())
        .select_from(
            recon_days.join(
                statement_lines, statement_lines.c.statement_id == recon_days.c.statement_id
            )
        )
        .where(
            recon_days.c.status == DayStatus.RECONCILED.value,
            recon_days.c.source.in_(_CHANNELS),
            statement_lines.c.match_class.in_([c.value for c in EXCEPTION_CLASSES]),
            ~worked,
        )
        .group_by(recon_days.c.source, recon_days.c.business_day)
    )
    return [f"{source} {day}：已对平，但 {n} 行差错未办结" for source, day, n in conn.execute(stmt)]


def cleared_equals_reconciled(conn: Connection, _now: datetime) -> list[str]:
    """已确认的清算窗口：明细合计等于划出合计，且等于当日平账收款减平账退款、减本窗口轧差的转账退款、加本窗口结转、减冲减的上期结转；各预算级次缴库金额均不为负"""
    out = _netted_refunds(conn)
    windows = conn.execute(select(clearing_windows).where(clearing_windows.c.status == "confirmed"))
    for w in windows:
        lines = conn.execute(
            select(func.coalesce(func.sum(clearing_lines.c.amount_fen), 0)).where(
                clearing_lines.c.window_id == w.id
            )
        ).scalar()
        matched = conn.execute(
            select(func.coalesce(func.sum(_CLEARED), 0))
            .select_from(
                statement_lines.join(statements, statements.c.id == statement_lines.c.statement_id)
                .outerjoin(refunds, refunds.c.id == statement_lines.c.refund_id)
                .outerjoin(payment_orders, payment_orders.c.id == statement_lines.c.order_id)
            )
            .where(
                statements.c.business_day == w.business_day,
                statements.c.status == "active",
                statements.c.source.in_(_CHANNELS),
                (statement_lines.c.match_class == "matched")
                | ((statement_lines.c.kind == "payment") & CLEARED_PAYMENT_LINE),
                (refunds.c.kind.is_(None)) | (refunds.c.kind != "duplicate"),
            )
        ).scalar()
        netted = conn.execute(
            select(func.coalesce(func.sum(clearing_refunds.c.amount_fen), 0)).where(
                clearing_refunds.c.window_id == w.id
            )
        ).scalar()
        if int(lines or 0) != w.total_fen:
            out.append(f"清算窗口 {w.id}：明细 {lines} 分 ≠ 划出 {w.total_fen} 分")
        if int(netted or 0) != w.transfer_refunds_fen:
            out.append(
                f"清算窗口 {w.id}：轧差转账退款 {w.transfer_refunds_fen} 分 ≠ 明细 {netted} 分"
            )
        held, carried = _holds_of(conn, w.id)
        if (held, carried) != (w.held_fen, w.carried_fen):
            out.append(
                f"清算窗口 {w.id}：结转 {w.held_fen} 分、冲减上期结转 {w.carried_fen} 分"
                f" ≠ 明细 {held} 分、{carried} 分"
            )
        net = int(matched or 0) - int(netted or 0) + held - carried
        if net != w.total_fen:
            out.append(
                f"清算窗口 {w.id}：划出 {w.total_fen} 分 ≠ 当日平账净额 {matched} 分"
                f"减轧差转账退款 {netted} 分、加结转 {held} 分、减冲减上期结转 {carried} 分"
            )
        below = {key: fen for key, fen in (w.by_level or {}).items() if fen < 0}
        if below:
            out.append(f"清算窗口 {w.id}：预算级次缴库金额为负 {below}")
    return out


def _holds_of(conn: Connection, window_id: int) -> tuple[int, int]:
    """(what a window held, what it took back of earlier holds), both as positive fen."""
    held = conn.execute(
        select(func.coalesce(func.sum(clearing_holds.c.amount_fen), 0)).where(
            clearing_holds.c.window_id == window_id
        )
    ).scalar()
    carried = conn.execute(
        select(func.coalesce(func.sum(clearing_holds.c.amount_fen), 0)).where(
            clearing_holds.c.taken_by == window_id
        )
    ).scalar()
    return -int(held or 0), -int(carried or 0)


# the ledger accounts a payment's shares are credited to: the treasury by level, the special account
_LEVEL_ACCOUNT = (ledger_postings.c.account == SPECIAL_ACCOUNT) | ledger_postings.c.account.like(
    "treasury_payable:%"
)
_LINE_ACCOUNT = case(
    (clearing_lines.c.destination == Destination.SPECIAL_ACCOUNT.value, literal(SPECIAL_ACCOUNT)),
    else_=literal("treasury_payable:") + clearing_lines.c.level,
)


def cleared_per_level(conn: Connection, _now: datetime) -> list[str]:
    """每笔缴款、每个预算级次（及财政专户）：已确认清算窗口划出的净额（收款减各次退款冲减）等于总账该缴款的收款分录减这些窗口已冲减退款的退款分录"""
    confirmed = select(clearing_windows.c.id).where(clearing_windows.c.status == "confirmed")
    days = select(clearing_windows.c.business_day).where(clearing_windows.c.status == "confirmed")
    on_days = statements.c.business_day.in_(days)
    paid = cleared_payments(on_days).with_only_columns(payables.c.id)
    refunded = (
        matched_refunds(refunds.c.id.label("refund_id"))
        .where(on_days, statements.c.source.in_(_CHANNELS), statement_lines.c.kind == "refund")
        .with_only_columns(refunds.c.id)
        .order_by(None)
    )
    netted = select(clearing_refunds.c.refund_id).where(clearing_refunds.c.window_id.in_(confirmed))
    credited = (
        select(
            payables.c.payment_code.label("code"),
            ledger_postings.c.account.label("account"),
            (-ledger_postings.c.amount_fen).label("fen"),
        )
        .select_from(
            ledger_postings.join(ledger_journals).join(
                payables, payables.c.id == ledger_journals.c.payable_id
            )
        )
        .where(
            ledger_journals.c.kind.in_([JournalKind.PAYMENT.value, JournalKind.REVERSAL.value]),
            payables.c.id.in_(paid),
            _LEVEL_ACCOUNT,
        )
    )
    debited = (
        select(payables.c.payment_code, ledger_postings.c.account, -ledger_postings.c.amount_fen)
        .select_from(
            ledger_postings.join(ledger_journals)
            .join(refunds, refunds.c.refund_no == ledger_journals.c.ref)
            .join(payables, payables.c.id == refunds.c.payable_id)
        )
        .where(
            ledger_journals.c.kind == JournalKind.REFUND.value,
            refunds.c.kind == RefundKind.REQUESTED.value,
            refunds.c.id.in_(refunded) | refunds.c.id.in_(netted),
            _LEVEL_ACCOUNT,
        )
    )
    booked = union_all(credited, debited).subquery()
    ledger = {
        (code, account): int(fen)
        for code, account, fen in conn.execute(
            select(booked.c.code, booked.c.account, func.sum(booked.c.fen))
            .group_by(booked.c.code, booked.c.account)
            .having(func.sum(booked.c.fen) != 0)
        )
    }
    out = []
    # the confirmed windows' lines, what they held (not sent yet) and, taken back from earlier
    # holds, no twice: a hold a confirmed window took back is in that window's lines
    held_account = case(
        (
            clearing_holds.c.destination == Destination.SPECIAL_ACCOUNT.value,
            literal(SPECIAL_ACCOUNT),
        ),
        else_=literal("treasury_payable:") + clearing_holds.c.level,
    )
    sent = union_all(
        select(
            clearing_lines.c.payment_code.label("code"),
            _LINE_ACCOUNT.label("account"),
            clearing_lines.c.amount_fen.label("fen"),
        ).where(clearing_lines.c.window_id.in_(confirmed)),
        select(clearing_holds.c.payment_code, held_account, clearing_holds.c.amount_fen).where(
            clearing_holds.c.window_id.in_(confirmed)
        ),
        select(clearing_holds.c.payment_code, held_account, -clearing_holds.c.amount_fen).where(
            clearing_holds.c.taken_by.in_(confirmed)
        ),
    ).subquery()
    cleared = conn.execute(
        select(sent.c.code, sent.c.account, func.sum(sent.c.fen))
        .group_by(sent.c.code, sent.c.account)
        .having(func.sum(sent.c.fen) != 0)
    )
    for code, account, fen in cleared:
        expected = ledger.pop((code, account), 0)
        if int(fen) != expected:
            out.append(f"缴款 {code} {account}：清算净额 {fen} 分 ≠ 总账 {expected} 分")
    out += [
        f"缴款 {code} {account}：清算净额 0 分 ≠ 总账 {fen} 分"
        for (code, account), fen in sorted(ledger.items())
    ]
    return out


def _netted_refunds(conn: Connection) -> list[str]:
    """Each transfer refund a window netted: a matched `REFUND:` debit of an active
    collection-account statement, of the amount netted."""
    debit = (
        select(statement_lines.c.id)
        .select_from(statement_lines.join(statements))
        .where(
            statements.c.source == Source.BANK.value,
            statements.c.status == "active",
            statement_lines.c.kind == "debit",
            statement_lines.c.match_class == "matched",
            statement_lines.c.refund_id == clearing_refunds.c.refund_id,
            statement_lines.c.amount_fen == clearing_refunds.c.amount_fen,
        )
        .exists()
    )
    rows = conn.execute(
        select(clearing_refunds.c.window_id, refunds.c.refund_no, clearing_refunds.c.amount_fen)
        .select_from(clearing_refunds.join(refunds, refunds.c.id == clearing_refunds.c.refund_id))
        .where(~debit)
    )
    return [
        f"清算窗口 {window_id}：轧差的转账退款 {refund_no}（{amount} 分）没有对应的平账借方"
        for window_id, refund_no, amount in rows
    ]


def collection_pending(conn: Connection, _now: datetime) -> list[str]:
    """汇缴户余额等于尚待清算的金额（已入账的渠道结算与到账的现金解款，减已确认入库的清算）"""
    balance = conn.execute(
        select(func.coalesce(func.sum(ledger_postings.c.amount_fen), 0)).where(
            ledger_postings.c.account == COLLECTION
        )
    ).scalar()
    settled = 0
    cleared = 0
    windows = conn.execute(select(clearing_windows).where(clearing_windows.c.status != "open"))
    for w in windows:
        settled += int(
            conn.execute(
                select(func.coalesce(func.sum(recon_days.c.gross_fen), 0)).where(
                    recon_days.c.business_day == w.business_day,
                    recon_days.c.source.in_(_CHANNELS),
                    recon_days.c.statement_id.is_not(None),
                )
            ).scalar()
            or 0
        )
        if w.status == "confirmed":
            cleared += w.total_fen
    # cash the window deposited and the bank statement showed in the collection account: it waits
    # there too (the clearing windows clear channel settlements only, so far); a refund it paid by
    # transfer lowered it, until a window nets it (that window's total is lower by as much)
    deposited = conn.execute(
        select(func.coalesce(func.sum(ledger_postings.c.amount_fen), 0))
        .select_from(ledger_postings.join(ledger_journals))
        .where(
            ledger_postings.c.account == COLLECTION,
            ledger_journals.c.kind.in_(_ALSO_PENDING),
        )
    ).scalar()
    pending = settled + int(deposited or 0) - cleared
    if int(balance or 0) != pending:
        return [f"汇缴户余额 {balance} 分 ≠ 待清算 {pending} 分"]
    return []


# what else the collection account holds until it is cleared: cash deposits the bank credited,
# and reviewed write-offs of its own movements (an unidentified credit parked in suspense)
# and what it paid out: refunds by bank transfer its statement showed
_ALSO_PENDING = [
    JournalKind.DEPOSIT_CREDITED.value,
    JournalKind.WRITE_OFF.value,
    JournalKind.REFUND_TRANSFER.value,
]


def bank_days(conn: Connection, _now: datetime) -> list[str]:
    """汇缴户流水：每笔匹配的转账退款借方都已记账（汇缴户减少同额），已对平的日子每行差错都已办结"""
    out = []
    booked = (
        select(ledger_postings.c.amount_fen)
        .select_from(ledger_postings.join(ledger_journals))
        .where(
            ledger_journals.c.kind == JournalKind.REFUND_TRANSFER.value,
            ledger_journals.c.ref == statement_lines.c.refund_no,
            ledger_postings.c.account == COLLECTION,
        )
        .scalar_subquery()
    )
    debits = conn.execute(
        select(statements.c.business_day, statement_lines.c.refund_no, statement_lines.c.amount_fen)
        .select_from(statement_lines.join(statements))
        .where(
            statements.c.source == Source.BANK.value,
            statements.c.status == "active",
            statement_lines.c.kind == "debit",
            statement_lines.c.refund_id.is_not(None),
            statement_lines.c.match_class == "matched",
            func.coalesce(booked, 0) != -statement_lines.c.amount_fen,
        )
    )
    for day, refund_no, amount in debits:
        out.append(f"bank {day}：转账退款 {refund_no} 借方 {amount} 分未记入汇缴户")
    worked = (
        select(recon_exceptions.c.id)
        .where(
            recon_exceptions.c.source == Source.BANK.value,
            recon_exceptions.c.business_day == recon_days.c.business_day,
            recon_exceptions.c.key == statement_lines.c.trade_no,
            _CLOSED,
        )
        .exists()
    )
    open_lines = conn.execute(
        select(recon_days.c.business_day, func.count())
        .select_from(
            recon_days.join(
                statement_lines, statement_lines.c.statement_id == recon_days.c.statement_id
            )
        )
        .where(
            recon_days.c.source == Source.BANK.value,
            recon_days.c.status == DayStatus.RECONCILED.value,
            statement_lines.c.match_class.in_([c.value for c in EXCEPTION_CLASSES]),
            ~worked,
        )
        .group_by(recon_days.c.business_day)
    )
    out += [f"bank {day}：已对平，但 {n} 行差错未办结" for day, n in open_lines]
    return out


CHECKS = (
    channel_days,
    reconciled_days_closed,
    cleared_equals_reconciled,
    cleared_per_level,
    collection_pending,
    bank_days,
)
