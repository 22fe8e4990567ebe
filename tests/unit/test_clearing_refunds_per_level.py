"""A payment refunded more than once stays right to the fen per budget level: what clearing takes
back for each refund (both splitters: the columnar one equal to the per-payment reference) is
exactly what the ledger's refund journal debited, level by level, whatever the sequence of
partial refunds and however they fall on clearing days."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    LevelShare,
    Split,
)
from publicpay.domain.clearing import SPECIAL, ClearingLine
from publicpay.domain.ledger import (
    SPECIAL_ACCOUNT,
    payment_journal,
    refund_shares,
    requested_refund_journal,
)
from publicpay.domain.payables import PayableLine, payment_shares
from publicpay.services.reconciliation.clearing import PaymentSplitter
from tests.unit.services_kit import fixed

SPLITTERS = (PaymentSplitter(), ColumnarSplitter())


def _account_key(account: str) -> str:
    """A ledger account as a clearing level key (`ClearingLine.level_key`)."""
    return SPECIAL if account == SPECIAL_ACCOUNT else account.removeprefix("treasury_payable:")


def _ledger_levels(journal: Any) -> dict[str, int]:
    """What a journal credits (> 0) or debits (< 0) the treasury levels and special account."""
    out: dict[str, int] = {}
    for p in journal.postings:
        if p.account == SPECIAL_ACCOUNT or p.account.startswith("treasury_payable:"):
            key = _account_key(p.account)
            out[key] = out.get(key, 0) - p.amount_fen
    return {k: v for k, v in out.items() if v}


def _levels(lines: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        assert isinstance(line, ClearingLine)
        out[line.level_key] = out.get(line.level_key, 0) + line.amount_fen
    return {k: v for k, v in out.items() if v}


@st.composite
def _splits(draw: st.DrawFn) -> Split:
    levels = draw(st.lists(st.sampled_from(list(BudgetLevel)), min_size=2, max_size=4, unique=True))
    ratio = draw(st.sampled_from(levels))  # at least one share takes what fixed amounts leave
    shares = []
    for level in levels:
        fixed_fen = None if level is ratio else draw(st.none() | st.integers(1, 999))
        if fixed_fen is None:
            shares.append(LevelShare(level, weight=draw(st.integers(1, 9))))
        else:
            shares.append(LevelShare(level, fixed_fen=fixed_fen))
    return Split(tuple(shares))


@st.composite
def _refunded_payments(draw: st.DrawFn) -> tuple[dict[str, FeeItem], list[PayableLine], list[int]]:
    """Items of 2–4 levels, a payable of 1–3 of them with odd amounts (a fine's late fee on
    top sometimes), and 2–5 partial refunds of it (sometimes up to the whole payment)."""
    items: dict[str, FeeItem] = {}
    lines = []
    for i in range(draw(st.integers(1, 3))):
        code = f"T{i:04d}"
        amount = 2 * draw(st.integers(1, 60_000)) + 1
        items[code] = fixed(
            code,
            amount,
            draw(_splits()),
            category=draw(st.sampled_from([Category.FINE, Category.ADMIN_FEE])),
            destination=draw(st.sampled_from(list(Destination))),
        )
        lines.append(PayableLine(code, "x", "件", 1, amount, amount))
    due = sum(line.amount_fen for line in lines)
    has_fine = any(items[line.item_code].is_fine for line in lines)
    paid = due + (draw(st.integers(0, 999)) if has_fine else 0)
    refunds: list[int] = []
    for _ in range(draw(st.integers(2, 5))):
        left = paid - sum(refunds)
        if left == 0:
            break
        refunds.append(draw(st.integers(1, max(1, left * 2 // 3))) if left > 1 else 1)
    if draw(st.booleans()) and sum(refunds) < paid:
        refunds.append(paid - sum(refunds))  # the last refund takes the rest: a full refund
    return items, lines, [paid, *refunds]


@settings(max_examples=300, deadline=None)
@given(_refunded_payments(), st.data())
def test_each_refund_clearing_takes_back_per_level_is_what_the_ledger_debited(
    case: tuple[dict[str, FeeItem], list[PayableLine], list[int]], data: st.DataObject
) -> None:
    items, lines, (paid_fen, *refunds) = case
    payment = SimpleNamespace(id=1, payment_code="P1", unit_name="单位", paid_fen=paid_fen)
    lines_of = {1: lines}
    # the ledger: the payment's journal, then each refund's, as the refund service books them
    shares = payment_shares(lines, items, paid_fen)
    ledger = _ledger_levels(payment_journal("P1", "alipay", shares))
    refund_rows, refunded = [], 0
    for n, amount in enumerate(refunds):
        returned = refund_shares(shares, refunded, amount)
        journal = _ledger_levels(requested_refund_journal(f"R{n}", "alipay", returned))
        refund_rows.append((journal, refunded, amount))
        refunded += amount
        for key, fen in journal.items():
            ledger[key] = ledger.get(key, 0) + fen
    # clearing: the payment on its day, then the refunds on later days, several on one day
    cuts = sorted(data.draw(st.sets(st.integers(1, len(refunds) - 1))))
    days = [refund_rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(refunds)], strict=True)]
    for splitter in SPLITTERS:
        cleared = _levels(splitter.split([payment], [], lines_of, items).lines)
        assert cleared == _ledger_levels(payment_journal("P1", "alipay", shares))
        for day in days:
            rows = [
                SimpleNamespace(
                    **vars(payment), refund_kind="requested", refund_fen=fen, refunded_before=b
                )
                for _, b, fen in day
            ]
            split = splitter.split([], rows, lines_of, items)
            assert _levels(split.lines) == _sum_levels(journal for journal, _, _ in day)
            assert split.refunds_fen == sum(fen for _, _, fen in day)
            for key, fen in _levels(split.lines).items():
                cleared[key] = cleared.get(key, 0) + fen
        assert {k: v for k, v in cleared.items() if v} == {k: v for k, v in ledger.items() if v}
        if refunded == paid_fen:
            assert not any(cleared.values())  # a full refund leaves nothing at any level


def _sum_levels(journals: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for journal in journals:
        for key, fen in journal.items():
            out[key] = out.get(key, 0) + fen
    return {k: v for k, v in out.items() if v}


def test_a_payment_refunded_twice_is_taken_back_per_level_as_the_ledger_did_not_in_proportion() -> (
    None
):
    """Three levels of one fen each, two refunds of one fen: in proportion each refund took its
    fen from the lowest level (two fen from a level paid one); the ledger took one fen from
    each of the two lowest levels, and so does clearing."""
    three = Split(tuple(LevelShare(level, weight=1) for level in list(BudgetLevel)[1:]))
    items = {"T0001": fixed("T0001", 3, three)}
    lines_of = {1: [PayableLine("T0001", "x", "件", 1, 3, 3)]}
    rows = [
        SimpleNamespace(
            id=1,
            payment_code="P1",
            unit_name="单位",
            paid_fen=3,
            refund_kind="requested",
            refund_fen=1,
            refunded_before=before,
        )
        for before in (0, 1)
    ]
    for splitter in SPLITTERS:
        split = splitter.split([], rows, lines_of, items)
        assert _levels(split.lines) == {BudgetLevel.CITY.value: -1, BudgetLevel.COUNTY.value: -1}
