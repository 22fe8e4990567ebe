from __future__ import annotations

from datetime import date

import pytest

from publicpay.demo.catalogue_data import ALL_ITEMS, PASSPORT, TRAFFIC_FINE
from publicpay.domain import payables
from publicpay.domain.catalogue import BudgetLevel, Destination
from publicpay.domain.errors import InvalidTransition, ItemNotAuthorised, ValidationFailed
from publicpay.domain.ledger import (
    Journal,
    JournalKind,
    Posting,
    Share,
    UnbalancedJournal,
    duplicate_payment_journal,
    payment_journal,
)
from publicpay.domain.payables import LineRequest, PayableStatus, amount_due_fen, payment_shares
from publicpay.domain.payments import orders

ITEMS = {item.code: item for item in ALL_ITEMS}


def test_unbalanced_journal_is_refused() -> None:
    with pytest.raises(UnbalancedJournal):
        Journal(JournalKind.PAYMENT, "x", (Posting("a", 100), Posting("b", -99)))


def test_single_line_journal_is_refused() -> None:
    with pytest.raises(UnbalancedJournal):
        Journal(JournalKind.PAYMENT, "x", (Posting("a", 0),))


def test_payment_journal_credits_treasury_by_level_and_the_special_account() -> None:
    journal = payment_journal(
        "P1",
        "alipay",
        [
            Share(Destination.TREASURY, BudgetLevel.CENTRAL, 6000),
            Share(Destination.TREASURY, BudgetLevel.CITY, 6000),
            Share(Destination.SPECIAL_ACCOUNT, BudgetLevel.COUNTY, 110000),
        ],
    )
    assert {p.account: p.amount_fen for p in journal.postings} == {
        "channel_receivable:alipay": 122000,
        "special_account": -110000,
        "treasury_payable:central": -6000,
        "treasury_payable:city": -6000,
    }


def test_duplicate_payment_is_owed_back() -> None:
    journal = duplicate_payment_journal("P2", "wechat", 500)
    assert {p.account: p.amount_fen for p in journal.postings} == {
        "channel_receivable:wechat": 500,
        "refunds_payable": -500,
    }


def test_late_fee_follows_the_fine() -> None:
    lines = payables.price_lines(
        [LineRequest("FM0101", 1, 20000)], ITEMS, {"FM0101"}, date(2026, 1, 1)
    )
    assert amount_due_fen(lines, ITEMS, date(2026, 1, 10), date(2026, 1, 10)) == 20000
    assert amount_due_fen(lines, ITEMS, date(2026, 1, 10), date(2026, 1, 12)) == 20000 + 1200
    assert amount_due_fen(lines, ITEMS, date(2026, 1, 10), date(2027, 1, 1)) == 40000
    shares = payment_shares(lines, ITEMS, 21200)
    assert sum(s.amount_fen for s in shares) == 21200


def test_late_fee_never_applies_to_fees() -> None:
    lines = payables.price_lines([LineRequest("GA0301")], ITEMS, {"GA0301"}, date(2026, 1, 1))
    assert (
        amount_due_fen(lines, ITEMS, date(2026, 1, 1), date(2026, 6, 1))
        == PASSPORT.standards[-1].amount_fen
    )


def test_unauthorised_item_is_its_own_refusal() -> None:
    with pytest.raises(ItemNotAuthorised):
        payables.price_lines([LineRequest("GA0301")], ITEMS, {"GA0101"}, date(2026, 1, 1))


def test_errors_are_reported_per_line() -> None:
    with pytest.raises(ValidationFailed) as caught:
        payables.price_lines(
            [LineRequest("GA0101"), LineRequest("XX"), LineRequest(TRAFFIC_FINE.code)],
            ITEMS,
            {"GA0101", TRAFFIC_FINE.code},
            date(2026, 1, 1),
        )
    assert set(caught.value.errors) == {"items[1].item_code", "items[2].amount_fen"}


@pytest.mark.parametrize("current", list(PayableStatus))
@pytest.mark.parametrize("target", list(PayableStatus))
def test_payable_transitions_follow_the_table(
    current: PayableStatus, target: PayableStatus
) -> None:
    allowed = {
        (PayableStatus.UNPAID, PayableStatus.PAID),
        (PayableStatus.UNPAID, PayableStatus.CANCELLED),
        (PayableStatus.UNPAID, PayableStatus.EXPIRED),
        (PayableStatus.PAID, PayableStatus.REFUNDED),
        (PayableStatus.PAID, PayableStatus.PARTIALLY_REFUNDED),
        (PayableStatus.PARTIALLY_REFUNDED, PayableStatus.PARTIALLY_REFUNDED),
        (PayableStatus.PARTIALLY_REFUNDED, PayableStatus.REFUNDED),
    }
    if (current, target) in allowed:
        payables.check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            payables.check_transition(current, target)


def test_a_closed_order_can_still_record_a_late_success() -> None:
    orders.check_transition(orders.OrderStatus.CLOSED, orders.OrderStatus.SUCCEEDED)
    with pytest.raises(InvalidTransition):
        orders.check_transition(orders.OrderStatus.SUCCEEDED, orders.OrderStatus.CLOSED)
