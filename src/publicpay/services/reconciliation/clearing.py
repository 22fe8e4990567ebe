"""Clearing a reconciled business day (S1): open its window (the split of every reconciled
payment and refund, and of the refunds the collection account paid by bank transfer that no
window netted yet), instruct the treasury with the 5408 voucher, apply the receipt.

Workflow: sends the voucher to the treasury between transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from publicpay.domain.catalogue import BudgetLevel, Destination, FeeItem, refund_slices
from publicpay.domain.clearing import (
    HELD_REASON,
    ClearingLine,
    DaySplit,
    Part,
    ReceiptRefused,
    Settlement,
    TreasuryReceipt,
    Window,
    WindowStatus,
    by_level,
    hold_below_zero,
    merged_levels,
    payment_parts,
    voucher_no,
)
from publicpay.domain.errors import ChannelUnavailable
from publicpay.domain.payables import PayableLine
from publicpay.domain.reconciliation import (
    CHANNEL_SOURCES,
    UNRESOLVED,
    DayNotReconciled,
    DayStatus,
    ExceptionStatus,
    MatchClass,
    ReconException,
    Source,
)
from publicpay.domain.time import SHANGHAI
from publicpay.services.ports import Clock
from publicpay.services.reconciliation.ports import ClearingSplitter
from publicpay.services.reconciliation.reconcile import refresh_day
from publicpay.services.reconciliation.refusals import logged_refusal
from publicpay.services.reconciliation.unit_of_work import ReconUnitOfWork

log = logging.getLogger("publicpay.services.clearing")


class Treasury(Protocol):
    def voucher(self, window: Window, lines: Sequence[ClearingLine]) -> str: ...

    def submit(self, voucher: str) -> bytes:
        """The receipt; ChannelUnavailable when the treasury does not answer."""
        ...

    def parse(self, content: bytes) -> TreasuryReceipt:
        """ReceiptRefused when it is not a receipt."""
        ...


def _check_reconciled(uow: ReconUnitOfWork, day: date) -> list[Settlement]:
    """The day's channel settlements; DayNotReconciled unless every channel with a statement is
    reconciled and at least one has one."""
    settlements, waiting = [], []
    for source in CHANNEL_SOURCES:
        record = uow.reconciliation.day(source, day)
        if record is None or record.status == DayStatus.MISSING.value:
            continue
        unresolved = [
            e for e in uow.reconciliation.exceptions_of_day(source, day) if e.status in UNRESOLVED
        ]
        if unresolved:
            waiting.append(f"{source.label}（{len(unresolved)} 笔差错未办结）")
        settlements.append(Settlement(source.value, record.gross_fen, record.fee_fen))
    if waiting:
        raise DayNotReconciled(f"{day} 尚未对平，不能清算：" + "、".join(waiting))
    if not settlements:
        raise DayNotReconciled(f"{day} 没有任何渠道的对账结果，不能清算")
    return settlements


def _split(
    uow: ReconUnitOfWork, day: date, items: dict[str, FeeItem], splitter: ClearingSplitter
) -> tuple[DaySplit, list[Any]]:
    """The day's split, with the transfer refunds this window nets taken back like the
    channels' refunds (and those refunds)."""
    repo = uow.clearing
    paid, refunded = repo.paid_on(day), repo.refunded_on(day)
    transfers = repo.transfer_refunds_to_net()
    netted = transfers_to_net(_day_fen(paid, refunded), transfers) if transfers else []
    lines_of = repo.payable_lines(sorted({int(r.id) for r in [*paid, *refunded, *netted]}))
    return splitter.split(paid, [*refunded, *netted], lines_of, items), netted


def _day_fen(paid: Sequence[Any], refunded: Sequence[Any]) -> int:
    """What the day's window sends before transfer refunds: payments − refunds (a payment's
    split sums to what was paid, a refund's to the refund)."""
    taken = sum(int(r.refund_fen) for r in refunded if r.refund_kind != "duplicate")
    return sum(int(r.paid_fen) for r in paid) - taken


def transfers_to_net(day_fen: int, transfers: Sequence[Any]) -> list[Any]:
    """The refunds paid by bank transfer (debit matched, no window netted them yet) a window
    nets, as the bank does: taken off what it sends to the treasury, in refund order, as long as
    it still sends something (≥ 0); one that does not fit waits for a later window. A duplicate
    payment's refund is not netted (that payment was never cleared)."""
    out, left = [], day_fen
    for r in transfers:
        fen = int(r.refund_fen)
        if r.refund_kind == "duplicate" or fen > left:
            continue
        out.append(r)
        left -= fen
    return out


class PaymentSplitter:
    """The clearing split payment by payment (`payment_parts`): the rule's reference (the
    columnar splitter the application runs is proven equal to it)."""

    def split(
        self,
        paid: Sequence[Any],
        refunded: Sequence[Any],
        lines_of: Mapping[int, Sequence[PayableLine]],
        items: Mapping[str, FeeItem],
    ) -> DaySplit:
        split = _Splits(items)
        out: list[ClearingLine] = []
        for r in paid:
            out += split.lines(r.payment_code, r.unit_name, lines_of[int(r.id)], r.paid_fen)
        for r in refunded:
            if r.refund_kind == "duplicate":
                continue  # a second payment's refund: that payment was never cleared
            whole = split.lines(r.payment_code, r.unit_name, lines_of[int(r.id)], r.paid_fen)
            out += refund_lines(whole, int(r.refunded_before), int(r.refund_fen))
        return DaySplit.of(out)


class _Splits:
    """`payment_parts` of a day's payments, each distinct (lines, amount paid) split once: a
    day's million payments share a few hundred fee combinations."""

    def __init__(self, items: Mapping[str, FeeItem]) -> None:
        self._items = items
        self._known: dict[tuple[object, ...], list[Part]] = {}

    def lines(
        self, code: str, unit: str, lines: Sequence[PayableLine], paid_fen: int
    ) -> list[ClearingLine]:
        key = (paid_fen, *[(line.item_code, line.amount_fen) for line in lines])  # what splits
        parts = self._known.get(key)
        if parts is None:
            parts = self._known[key] = payment_parts(lines, self._items, paid_fen)
        return [ClearingLine(code, s, level, d, fen, unit) for s, level, d, fen in parts]


def refund_lines(
    whole: list[ClearingLine], refunded_before: int, refund_fen: int
) -> list[ClearingLine]:
    """A refund taken back from the payment's lines exactly as the ledger's refund journal
    takes it from the payment's shares (`catalogue.refund_slices`: cumulative, monotone):
    each line gives back its part of everything refunded so far (`refunded_before`, the
    payable's refunds the ledger booked before this one, plus this one) minus what the
    earlier refunds already took. So for every payment and level, what clearing takes back
    over any sequence of partial refunds is what the ledger's refund journals debited."""
    slices = refund_slices([line.amount_fen for line in whole], refunded_before, refund_fen)
    return [
        line._replace(amount_fen=-part) for line, part in zip(whole, slices, strict=True) if part
    ]


def open_window(
    uow: ReconUnitOfWork,
    day: date,
    account: str,
    *,
    clock: Clock,
    splitter: ClearingSplitter | None = None,
) -> tuple[Window, list[Settlement]]:
    """The day's window (made once: running clearing again finds it); `splitter` splits its
    payments (by default payment by payment). It nets the transfer refunds no window netted
    yet (`transfers_to_net`): a refund whose debit matched after an earlier window was opened
    is netted by the next one, each refund once (`clearing_refunds` is unique per refund).
    It takes back first what earlier windows held, and holds what it cannot take back from a
    level without sending that level less than nothing (`hold_below_zero`), for the next."""
    with uow:
        try:
            settlements = _check_reconciled(uow, day)
        except DayNotReconciled as exc:
            log.warning("clearing %s refused: %s", day, exc.detail)
            raise
        window = uow.clearing.window(day, account)
        if window is not None:
            return window, settlements
        split, netted = _split(uow, day, uow.catalogue.items(), splitter or PaymentSplitter())
        transfers_fen = sum(int(r.refund_fen) for r in netted)
        holds = uow.clearing.holds_to_take()
        carried = [_held_line(h) for h in holds]
        lines = [*carried, *split.lines] if carried else split.lines
        sent, held = hold_below_zero(lines, merged_levels(split.by_level, by_level(carried)))
        carried_fen, held_fen = (
            -sum(c.amount_fen for c in carried),
            -sum(h.amount_fen for h in held),
        )
        window = Window(
            id=0,
            business_day=day,
            account=account,
            status=WindowStatus.OPEN,
            gross_fen=split.payments_fen,
            refunds_fen=split.refunds_fen - transfers_fen,
            fees_fen=sum(s.fee_fen for s in settlements),
            total_fen=split.payments_fen - split.refunds_fen - carried_fen + held_fen,
            by_level=merged_levels(split.by_level, by_level(carried), _negated(held)),
            transfer_refunds_fen=transfers_fen,
            held_fen=held_fen,
            carried_fen=carried_fen,
            created_at=clock.now(),
        )
        uow.clearing.add_window(
            window, sent, netted, taken=[int(h.id) for h in holds], held=held, reason=HELD_REASON
        )
        uow.commit()
    return window, settlements


def _held_line(row: Any) -> ClearingLine:
    return ClearingLine(
        row.payment_code,
        row.subject_code,
        BudgetLevel(row.level),
        Destination(row.destination),
        int(row.amount_fen),
        row.unit_name,
    )


def _negated(lines: Sequence[ClearingLine]) -> dict[str, int]:
    return {key: -fen for key, fen in by_level(lines).items()}


def run_clearing(
    new_uow: Callable[[], ReconUnitOfWork],
    treasury: Treasury,
    day: date,
    account: str,
    *,
    clock: Clock,
    actor: str,
    splitter: ClearingSplitter | None = None,
) -> Window:
    """Open (or find) the window, instruct it, send the voucher, apply the receipt."""
    window, settlements = open_window(new_uow(), day, account, clock=clock, splitter=splitter)
    if window.status in (WindowStatus.CONFIRMED, WindowStatus.INSTRUCTED):
        if window.status is WindowStatus.CONFIRMED:
            return window
        with new_uow() as uow:
            voucher = uow.clearing.voucher(window.id) or ""
    else:
        with new_uow() as uow:
            window = uow.clearing.window_by_id(window.id, lock=True) or window
            lines = uow.clearing.lines(window.id)
            events = window.instruct(
                voucher_no(day, window.id), settlements, actor=actor, at=clock.now()
            )
            voucher = treasury.voucher(window, lines)
            uow.collect(events)
            uow.clearing.save_window(window, voucher=voucher, receipt=None)
            uow.commit()
    try:
        receipt = treasury.submit(voucher)
    except ChannelUnavailable as exc:
        log.warning("clearing %s sent, no receipt yet: %s", window.voucher_no, exc.detail)
        return window
    return apply_receipt(new_uow, treasury, receipt, clock=clock, actor="treasury")


@logged_refusal("treasury receipt")
def apply_receipt(
    new_uow: Callable[[], ReconUnitOfWork],
    treasury: Treasury,
    content: bytes,
    *,
    clock: Clock,
    actor: str,
) -> Window:
    """The treasury's receipt closes the window (confirmed) or fails it (an exception to work).
    A receipt for no instruction, or for another amount, is refused (logged) and changes
    nothing."""
    receipt = treasury.parse(content)
    with new_uow() as uow:
        found = uow.clearing.window_by_voucher(receipt.voucher_no)
        if found is None:
            raise ReceiptRefused(f"回执凭证号 {receipt.voucher_no} 没有对应的划款指令")
        window = uow.clearing.window_by_id(found.id, lock=True) or found
        if window.status is WindowStatus.CONFIRMED:
            if receipt.confirmed and receipt.x_sum_fen == window.total_fen:
                return window  # the same receipt again
            raise ReceiptRefused(
                f"窗口已确认入库 {window.total_fen} 分，回执（{receipt.x_sum_fen} 分）与之不符"
            )
        now = clock.now()
        if receipt.confirmed:
            events = window.confirm(receipt.x_sum_fen, actor=actor, at=now)
        else:
            events = window.fail(receipt.reason or "国库退回", actor=actor, at=now)
            uow.reconciliation.add_exception(_failure(window, now))
            uow.flush()
            refresh_day(uow.reconciliation, Source.BANK, window.business_day)
        uow.collect(events)
        voucher = uow.clearing.voucher(window.id)
        received = content.decode("utf-8", "replace")
        uow.clearing.save_window(window, voucher=voucher, receipt=received)
        uow.commit()
    return window


def _failure(window: Window, now: datetime) -> ReconException:
    return ReconException(
        id=0,
        source=Source.BANK,
        business_day=window.business_day,
        match_class=MatchClass.STATUS_MISMATCH,
        key=f"CLEARING:{window.id}:{window.voucher_no}",
        amount_fen=window.total_fen,
        status=ExceptionStatus.OPEN,
        created_at=now,
        detail={"clearing_window": window.id, "failure": window.failure},
    )


CLEAR_AFTER = time(11, 0)  # Beijing: after the T+1 reconciliation run (10:00) had its chance
CLEAR_RETRY = timedelta(minutes=30)  # an unfinished run (no receipt yet) is retaken after this


def not_ready(uow: ReconUnitOfWork, day: date) -> str | None:
    """Why the schedule must not clear `day` yet (None: every channel's day has been run, and
    a channel without statement took no payment that day). Unresolved exceptions are checked
    by `open_window` itself."""
    since = datetime.combine(day, time(), SHANGHAI)
    paid = uow.clearing.channels_paid(since, since + timedelta(days=1))
    for source in CHANNEL_SOURCES:
        record = uow.reconciliation.day(source, day)
        if record is None:
            return f"{source.label} 尚未对账"
        if record.status == DayStatus.MISSING.value and source.value in paid:
            return f"{source.label} 的对账单尚未取得"
    return None


def clear_due(
    new_uow: Callable[[], ReconUnitOfWork],
    treasury: Treasury,
    account: str,
    *,
    clock: Clock,
    splitter: ClearingSplitter | None = None,
) -> int:
    """The worker's clearing of yesterday, once per cluster (the day's `clearing_runs` row is
    the lease), only once the day is fully reconciled; a voucher without receipt is sent again
    after CLEAR_RETRY. A returned voucher waits for finance (its exception, then a manual run).
    How many days it cleared (0 or 1)."""
    local = clock.now().astimezone(SHANGHAI)
    if local.time() < CLEAR_AFTER:
        return 0
    day = local.date() - timedelta(days=1)
    with new_uow() as uow:
        window = uow.clearing.window(day, account)
        if window is not None and window.status in (WindowStatus.CONFIRMED, WindowStatus.FAILED):
            return 0
        why = not_ready(uow, day)
        if why is None:
            try:
                _check_reconciled(uow, day)
            except DayNotReconciled as exc:
                why = exc.detail
        if why is not None:
            log.info("clearing %s waits: %s", day, why)
            return 0
        claimed = uow.clearing.claim_run(day, account, clock.now(), CLEAR_RETRY)
        uow.commit()
    if not claimed:
        return 0
    window = run_clearing(
        new_uow, treasury, day, account, clock=clock, actor="worker", splitter=splitter
    )
    if window.status is WindowStatus.CONFIRMED:
        with new_uow() as uow:
            uow.clearing.finish_run(day, account)
            uow.commit()
    return 1
