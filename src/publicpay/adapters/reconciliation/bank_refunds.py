"""Refunds paid by bank transfer on the collection account's statement: the third way of the
refunds no channel can return (counter and cash payments). Each debit `REFUND:<refund no>`
is matched against the platform's refund of that number:

- the refund is recorded as transferred (succeeded), same amount → matched;
- another amount → amount_mismatch;
- the platform does not know a bank-transfer refund of that number → status_mismatch (a debit
  with no refund); it knows it but finance has not recorded the transfer yet → status_mismatch
  (record it under 退款, then run the day again);
- the refund's debit is already on another statement, or twice on this one → duplicate.

A transfer refund recorded as paid on the statement's day that no debit names waits in the
holding pool (the bank may book it the next day) and becomes 短款 (platform-only) after the
holding period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from publicpay.domain.reconciliation import MatchClass, PlatformOnly
from publicpay.domain.time import SHANGHAI
from publicpay.services.reconciliation.ports import ReconciliationRepo

PREFIX = "REFUND:"


def refund_no_of(kind: str, reference: str) -> str | None:
    """The refund number a debit names, or None."""
    if kind != "debit" or not reference.startswith(PREFIX):
        return None
    number = reference[len(PREFIX) :].strip()
    return number or None


def debit_class(refund: Any | None, amount_fen: int, *, repeated: bool) -> MatchClass:
    if refund is None:
        return MatchClass.STATUS_MISMATCH
    if repeated or refund.elsewhere:
        return MatchClass.DUPLICATE
    if int(refund.amount_fen) != amount_fen:
        return MatchClass.AMOUNT_MISMATCH
    if refund.status != "succeeded":
        return MatchClass.STATUS_MISMATCH
    return MatchClass.MATCHED


def missing_debits(
    repo: ReconciliationRepo, day: date, statement_id: int, named: Iterable[str]
) -> tuple[PlatformOnly, ...]:
    """The day's transfer refunds no debit names: held (the bank may book them tomorrow)."""
    since = datetime.combine(day, time(), SHANGHAI)
    rows = repo.transfer_refunds_done(since, since + timedelta(days=1), statement_id)
    seen = set(named)
    return tuple(
        PlatformOnly(
            f"{PREFIX}{r.refund_no}", None, None, int(r.id), int(r.amount_fen), MatchClass.HOLDING
        )
        for r in rows
        if r.refund_no not in seen and not r.elsewhere
    )
