"""A collection-account debit `REFUND:<refund no>` against the platform's refund of that number
(`adapters.reconciliation.bank_refunds`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from publicpay.adapters.reconciliation.bank_refunds import debit_class, refund_no_of
from publicpay.domain.reconciliation import MatchClass


def _refund(amount_fen: int = 5_000, status: str = "succeeded", elsewhere: bool = False) -> object:
    return SimpleNamespace(amount_fen=amount_fen, status=status, elsewhere=elsewhere)


@pytest.mark.parametrize(
    ("kind", "reference", "expected"),
    [
        ("debit", "REFUND:R2612061200001a2b3c", "R2612061200001a2b3c"),
        ("debit", "REFUND: R1 ", "R1"),
        ("debit", "REFUND:", None),
        ("debit", "CLEARING:7", None),
        ("credit", "REFUND:R1", None),  # money in is not a refund paid out
    ],
)
def test_the_refund_number_a_debit_names(kind, reference, expected):
    assert refund_no_of(kind, reference) == expected


def test_a_debit_of_a_recorded_transfer_with_its_amount_matches():
    assert debit_class(_refund(), 5_000, repeated=False) is MatchClass.MATCHED


def test_a_debit_with_no_refund_is_a_status_mismatch():
    assert debit_class(None, 5_000, repeated=False) is MatchClass.STATUS_MISMATCH


def test_a_debit_of_another_amount_is_an_amount_mismatch():
    assert debit_class(_refund(), 5_001, repeated=False) is MatchClass.AMOUNT_MISMATCH


def test_a_debit_before_the_transfer_is_recorded_is_a_status_mismatch():
    assert (
        debit_class(_refund(status="manual"), 5_000, repeated=False) is MatchClass.STATUS_MISMATCH
    )


def test_a_refund_debited_twice_is_a_duplicate():
    assert debit_class(_refund(), 5_000, repeated=True) is MatchClass.DUPLICATE
    assert debit_class(_refund(elsewhere=True), 5_000, repeated=False) is MatchClass.DUPLICATE
