"""Repository of clearing: windows, their lines, and what a reconciled day holds (the matched
payments and refunds of the day's active statements, with their payables), and the refunds paid
by bank transfer no window has netted yet.

`add_window` and `add_lines` run at once; `save_window` is queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update

from publicpay.adapters.db.ledger import ledger_journals
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.reconciliation.tables import (
    clearing_holds,
    clearing_lines,
    clearing_refunds,
    clearing_runs,
    clearing_windows,
    statement_lines,
    statements,
)
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.adapters.db.units import units
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.clearing import ClearingLine, Window, WindowStatus
from publicpay.domain.errors import Conflict
from publicpay.domain.ledger import JournalKind
from publicpay.domain.payables import PayableLine
from publicpay.domain.reconciliation import CHANNEL_SOURCES, LineResolution, MatchClass, Source
from publicpay.domain.refunds import RefundKind
from publicpay.domain.time import utc

_WINDOW = select(clearing_windows).where(
    clearing_windows.c.business_day == bindparam("day"),
    clearing_windows.c.account == bindparam("account"),
)
_WINDOW_BY_ID = select(clearing_windows).where(clearing_windows.c.id == bindparam("id"))
_WINDOW_LOCKED = _WINDOW_BY_ID.with_for_update()
_WINDOW_BY_VOUCHER = select(clearing_windows).where(
    clearing_windows.c.voucher_no == bindparam("voucher_no")
)
_LINES = (
    select(clearing_lines)
    .where(clearing_lines.c.window_id == bindparam("window_id"))
    .order_by(clearing_lines.c.id)
)
_SAVE = (
    update(clearing_windows)
    .where(clearing_windows.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        voucher_no=bindparam("voucher_no"),
        voucher=bindparam("voucher"),
        receipt=bindparam("receipt"),
        failure=bindparam("failure"),
        instructed_at=bindparam("instructed_at"),
        confirmed_at=bindparam("confirmed_at"),
    )
)
# a payment line is cleared when it matched, or when its amount difference with the channel
# was written off (the payable's own amount is cleared; the difference went to income or loss)
CLEARED_PAYMENT_LINE = (statement_lines.c.match_class == MatchClass.MATCHED.value) | (
    (statement_lines.c.match_class == MatchClass.AMOUNT_MISMATCH.value)
    & (statement_lines.c.resolution == LineResolution.WRITTEN_OFF.value)
)
# the order a line records; a cart's line records its first order and clears all of them
_LINE_ORDER = payment_orders.alias("line_order")
_SAME_PAYMENT = (payment_orders.c.id == _LINE_ORDER.c.id) | (
    _LINE_ORDER.c.cart_id.is_not(None) & (payment_orders.c.cart_id == _LINE_ORDER.c.cart_id)
)
_MATCHED = statement_lines.join(statements, statements.c.id == statement_lines.c.statement_id)

# a payment as the clearing split reads it
_PAYMENT = (
    payables.c.id,
    payables.c.payment_code,
    payables.c.paid_fen,
    units.c.name.label("unit_name"),
)


def cleared_payments(on_days: Any) -> Any:
    """The payables whose payment a cleared line of the active statements of the days
    `on_days` (a condition on `statements.c.business_day`) lists, as the clearing split reads
    them."""
    return (
        select(*_PAYMENT)
        .select_from(
            _MATCHED.join(_LINE_ORDER, _LINE_ORDER.c.id == statement_lines.c.order_id)
            .join(payment_orders, _SAME_PAYMENT)
            .join(payables, payables.c.id == payment_orders.c.payable_id)
            .join(units, units.c.id == payables.c.unit_id)
        )
        .where(
            on_days,
            statements.c.status == "active",
            statement_lines.c.kind == "payment",
            CLEARED_PAYMENT_LINE,
            payment_orders.c.status != "reversed",  # a counter payment reversed (冲正) that day
        )
    )


_PAID = cleared_payments(statements.c.business_day == bindparam("day")).order_by(payables.c.id)


# what the payable's requested refunds the ledger booked before this one add up to: the ledger
# took each refund back cumulatively over them (`catalogue.refund_slices`, the payable's
# `refunded_fen` when the refund settled), in the order of their refund journals (one per
# refund, written under the payable's lock); a refund not booked yet comes after all booked
_EARLIER = refunds.alias("earlier_refund")
_EARLIER_JOURNAL = ledger_journals.alias("earlier_journal")
_THIS_JOURNAL = ledger_journals.alias("this_journal")
_REFUND_JOURNAL = JournalKind.REFUND.value
REFUNDED_BEFORE = (
    select(func.coalesce(func.sum(_EARLIER.c.amount_fen), 0))
    .select_from(
        _EARLIER.join(
            _EARLIER_JOURNAL,
            and_(
                _EARLIER_JOURNAL.c.ref == _EARLIER.c.refund_no,
                _EARLIER_JOURNAL.c.kind == _REFUND_JOURNAL,
            ),
        ).outerjoin(
            _THIS_JOURNAL,
            and_(
                _THIS_JOURNAL.c.ref == refunds.c.refund_no, _THIS_JOURNAL.c.kind == _REFUND_JOURNAL
            ),
        )
    )
    .where(
        _EARLIER.c.payable_id == refunds.c.payable_id,
        _EARLIER.c.kind == RefundKind.REQUESTED.value,
        _EARLIER.c.id != refunds.c.id,
        _THIS_JOURNAL.c.id.is_(None) | (_EARLIER_JOURNAL.c.id < _THIS_JOURNAL.c.id),
    )
    .correlate(refunds)
    .scalar_subquery()
)


def matched_refunds(*extra: Any) -> Any:
    """The refunds a matched line of an active statement names, with their payables, shaped as
    the clearing split reads them."""
    return (
        select(
            *_PAYMENT,
            refunds.c.amount_fen.label("refund_fen"),
            refunds.c.kind.label("refund_kind"),
            REFUNDED_BEFORE.label("refunded_before"),
            *extra,
        )
        .select_from(
            _MATCHED.join(refunds, refunds.c.id == statement_lines.c.refund_id)
            .join(payables, payables.c.id == refunds.c.payable_id)
            .join(units, units.c.id == payables.c.unit_id)
        )
        .where(
            statements.c.status == "active",
            statement_lines.c.match_class == MatchClass.MATCHED.value,
        )
        .order_by(refunds.c.id)
    )


_REFUNDED = matched_refunds().where(
    statements.c.business_day == bindparam("day"), statement_lines.c.kind == "refund"
)
# refunds paid by bank transfer whose debit a collection-account statement matched, that no
# window netted yet: those of a payment a channel's statement clears (a counter payment's; a cash
# payment is not cleared, so neither is its refund), a duplicate payment's refund left out
_NETTED = select(clearing_refunds.c.id).where(clearing_refunds.c.refund_id == refunds.c.id)
_TRANSFER_REFUNDS = matched_refunds(refunds.c.id.label("refund_id")).where(
    statements.c.source == Source.BANK.value,
    statement_lines.c.kind == "debit",
    refunds.c.channel.in_([s.value for s in CHANNEL_SOURCES]),
    refunds.c.kind != "duplicate",
    ~_NETTED.exists(),
)
_NETTED_OF = (
    select(
        clearing_refunds.c.amount_fen,
        refunds.c.refund_no,
        payables.c.payment_code,
    )
    .select_from(
        clearing_refunds.join(refunds, refunds.c.id == clearing_refunds.c.refund_id).join(
            payables, payables.c.id == refunds.c.payable_id
        )
    )
    .where(clearing_refunds.c.window_id == bindparam("window_id"))
    .order_by(clearing_refunds.c.id)
)
# refund parts held by earlier windows (a level would have gone below zero), not taken back yet
_HOLDS_TO_TAKE = (
    select(clearing_holds).where(clearing_holds.c.taken_by.is_(None)).order_by(clearing_holds.c.id)
)
# taken back once only: a window opened meanwhile that took one makes this one's count short
_TAKE = (
    update(clearing_holds)
    .where(
        clearing_holds.c.id.in_(bindparam("ids", expanding=True)),
        clearing_holds.c.taken_by.is_(None),
    )
    .values(taken_by=bindparam("window_id"))
)
_HOLDS_OF = (
    select(clearing_holds)
    .where(
        (clearing_holds.c.window_id == bindparam("held_by"))
        | (clearing_holds.c.taken_by == bindparam("taken_by"))
    )
    .order_by(clearing_holds.c.id)
)
_RUN_RETAKE = (
    update(clearing_runs)
    .where(
        clearing_runs.c.business_day == bindparam("day"),
        clearing_runs.c.account == bindparam("account"),
        clearing_runs.c.done.is_(False),
        clearing_runs.c.claimed_at < bindparam("before"),
    )
    .values(claimed_at=bindparam("now"), attempts=clearing_runs.c.attempts + 1)
)
_RUN_DONE = (
    update(clearing_runs)
    .where(
        clearing_runs.c.business_day == bindparam("day"),
        clearing_runs.c.account == bindparam("account"),
    )
    .values(done=True)
)
_CHANNELS_PAID = (
    select(payment_orders.c.channel)
    .where(
        payment_orders.c.status.in_(("succeeded", "reversed")),
        payment_orders.c.paid_at >= bindparam("since"),
        payment_orders.c.paid_at < bindparam("until"),
    )
    .distinct()
)
_PAYABLE_LINES = (
    select(payable_lines)
    .where(payable_lines.c.payable_id.in_(bindparam("ids", expanding=True)))
    .order_by(payable_lines.c.payable_id, payable_lines.c.line_no)
)


class ClearingRepository:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def window(self, day: date, account: str) -> Window | None:
        row = self._sql.one(_WINDOW, {"day": day, "account": account})
        return None if row is None else _window(row)

    def window_by_id(self, window_id: int, *, lock: bool = False) -> Window | None:
        row = self._sql.one(_WINDOW_LOCKED if lock else _WINDOW_BY_ID, {"id": window_id})
        return None if row is None else _window(row)

    def window_by_voucher(self, voucher_no: str) -> Window | None:
        row = self._sql.one(_WINDOW_BY_VOUCHER, {"voucher_no": voucher_no})
        return None if row is None else _window(row)

    def add_window(
        self,
        window: Window,
        lines: Sequence[ClearingLine],
        netted: Sequence[Any] = (),
        *,
        taken: Sequence[int] = (),
        held: Sequence[ClearingLine] = (),
        reason: str = "",
    ) -> int:
        """The window, its lines and the transfer refunds it nets (rows of
        `transfer_refunds_to_net`; each refund once only: unique), the earlier holds it takes
        back (`taken`: each once only — Conflict when another window took one meanwhile) and
        the refund parts it holds (`held`)."""
        row = {
            "business_day": window.business_day,
            "account": window.account,
            "status": window.status.value,
            "gross_fen": window.gross_fen,
            "refunds_fen": window.refunds_fen,
            "fees_fen": window.fees_fen,
            "total_fen": window.total_fen,
            "transfer_refunds_fen": window.transfer_refunds_fen,
            "held_fen": window.held_fen,
            "carried_fen": window.carried_fen,
            "by_level": window.by_level,
            "created_at": window.created_at,
        }
        window.id = int(self._sql.insert(clearing_windows, row).id)
        rows = tuple(_line_row(window.id, line) for line in lines)
        if rows:
            self._sql.queue(Insert(clearing_lines, rows))
        refund_rows = tuple(
            {"window_id": window.id, "refund_id": int(r.refund_id), "amount_fen": int(r.refund_fen)}
            for r in netted
        )
        if refund_rows:
            self._sql.queue(Insert(clearing_refunds, refund_rows))
        if taken and self._sql.run(_TAKE, {"window_id": window.id, "ids": list(taken)}) != len(
            taken
        ):
            raise Conflict("结转的退款冲减已由另一清算窗口同时冲减，请重新清算")
        hold_rows = tuple({**_line_row(window.id, line), "reason": reason} for line in held)
        if hold_rows:
            self._sql.queue(Insert(clearing_holds, hold_rows))
        return window.id

    def holds_to_take(self) -> list[Any]:
        return self._sql.all(_HOLDS_TO_TAKE, {})

    def holds(self, window_id: int) -> list[Any]:
        return self._sql.all(_HOLDS_OF, {"held_by": window_id, "taken_by": window_id})

    def netted(self, window_id: int) -> list[Any]:
        """The transfer refunds a window netted (amount, refund no, payment code)."""
        return self._sql.all(_NETTED_OF, {"window_id": window_id})

    def lines(self, window_id: int) -> list[ClearingLine]:
        return [
            ClearingLine(
                r.payment_code,
                r.subject_code,
                BudgetLevel(r.level),
                Destination(r.destination),
                int(r.amount_fen),
                r.unit_name,
            )
            for r in self._sql.all(_LINES, {"window_id": window_id})
        ]

    def save_window(self, window: Window, *, voucher: str | None, receipt: str | None) -> None:
        params = {
            "b_id": window.id,
            "status": window.status.value,
            "voucher_no": window.voucher_no,
            "voucher": voucher,
            "receipt": receipt,
            "failure": window.failure,
            "instructed_at": window.instructed_at,
            "confirmed_at": window.confirmed_at,
        }
        self._sql.queue(Change(_SAVE, params, key=("cw", window.id)))

    def voucher(self, window_id: int) -> str | None:
        row = self._sql.one(_WINDOW_BY_ID, {"id": window_id})
        return None if row is None else row.voucher

    # -- what a reconciled day holds ------------------------------------------------------------

    def paid_on(self, day: date) -> list[Any]:
        """Payables whose payment a matched line of the day's active statements lists."""
        return self._sql.all(_PAID, {"day": day})

    def refunded_on(self, day: date) -> list[Any]:
        """The refunds a matched line of the day's active statements lists, with their payables
        and what the payable's refunds booked before each add up to (`refunded_before`)."""
        return self._sql.all(_REFUNDED, {"day": day})

    def transfer_refunds_to_net(self) -> list[Any]:
        """The refunds paid by bank transfer (debit matched) that no window has netted yet, in
        refund order, shaped like `refunded_on`'s rows plus `refund_id`."""
        return self._sql.all(_TRANSFER_REFUNDS, {})

    def claim_run(self, day: date, account: str, now: datetime, retry_after: timedelta) -> bool:
        """Once per cluster: True for the one worker that may clear this day now (the first
        claim, or a retake of an unfinished run once `retry_after` passed)."""
        row = {"business_day": day, "account": account, "claimed_at": now}
        if (
            self._sql.insert(
                clearing_runs, {**row, "attempts": 1, "done": False}, ignore_conflict=True
            )
            is not None
        ):
            return True
        params = {"day": day, "account": account, "now": now, "before": now - retry_after}
        return self._sql.run(_RUN_RETAKE, params) == 1

    def finish_run(self, day: date, account: str) -> None:
        self._sql.run(_RUN_DONE, {"day": day, "account": account})

    def channels_paid(self, since: datetime, until: datetime) -> set[str]:
        """The channels the platform took a payment through between `since` and `until`."""
        rows = self._sql.all(_CHANNELS_PAID, {"since": since, "until": until})
        return {str(r.channel) for r in rows}

    def payable_lines(self, ids: list[int]) -> dict[int, list[PayableLine]]:
        found: dict[int, list[PayableLine]] = {}
        if not ids:
            return found
        for r in self._sql.all(_PAYABLE_LINES, {"ids": ids}):
            found.setdefault(int(r.payable_id), []).append(
                PayableLine(
                    r.item_code,
                    r.item_name,
                    r.unit_of_measure,
                    r.quantity,
                    r.standard_fen,
                    r.amount_fen,
                )
            )
        return found


def _line_row(window_id: int, line: ClearingLine) -> dict[str, Any]:
    return {
        "window_id": window_id,
        "payment_code": line.payment_code,
        "subject_code": line.subject_code,
        "level": line.level.value,
        "destination": line.destination.value,
        "amount_fen": line.amount_fen,
        "unit_name": line.unit_name[:100],
    }


def _window(row: Any) -> Window:
    return Window(
        id=int(row.id),
        business_day=row.business_day,
        account=row.account,
        status=WindowStatus(row.status),
        gross_fen=int(row.gross_fen),
        refunds_fen=int(row.refunds_fen),
        fees_fen=int(row.fees_fen),
        total_fen=int(row.total_fen),
        by_level=dict(row.by_level),
        transfer_refunds_fen=int(row.transfer_refunds_fen),
        held_fen=int(row.held_fen),
        carried_fen=int(row.carried_fen),
        voucher_no=row.voucher_no,
        failure=row.failure,
        created_at=utc(row.created_at),
        instructed_at=utc(row.instructed_at) if row.instructed_at else None,
        confirmed_at=utc(row.confirmed_at) if row.confirmed_at else None,
    )
