"""Deposit slips (现金解款单) and their match against the collection account's statement.

What the reconciliation area uses:
- `deposits_for_matching(uow, on=..., amount_fen=...)`: the deposits of a business day (and
  amount), each with its reference (`deposit_no`, what the bank's statement line carries), to
  pair with the statement's credit lines;
- `credit_deposit(uow, CreditDeposit(...), by=..., clock=...)`: the statement line that shows a
  deposit arrived — in transit → collection account, in one transaction with its journal,
  event-log entry and audit row. Idempotent for the same statement line; another line for a
  credited deposit, or another amount, is refused (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.shifts import Credit, Deposit
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

MAX_REF = 64


@dataclass(frozen=True, slots=True)
class CreditDeposit:
    deposit_no: str
    amount_fen: int  # as on the statement line
    statement_ref: str  # the bank's reference of the statement line
    credited_on: date  # the statement's value date


def deposits_for_matching(
    uow: UnitOfWork, *, on: date, amount_fen: int | None = None
) -> list[Deposit]:
    """Deposits prepared on business day `on` (optionally of exactly `amount_fen`)."""
    with uow:
        return uow.deposits.for_matching(on, amount_fen)


def credit_deposit(uow: UnitOfWork, cmd: CreditDeposit, *, by: str, clock: Clock) -> Deposit:
    ref = cmd.statement_ref.strip()
    if not ref or len(ref) > MAX_REF:
        raise ValidationFailed("请填写银行流水号（最多64位）", errors={"statement_ref": "必填"})
    with uow:
        deposit = uow.deposits.by_no(cmd.deposit_no, lock=True)
        if deposit is None:
            raise NotFound(f"解款单 {cmd.deposit_no} 不存在")
        credit = Credit(ref, cmd.credited_on, by, clock.now())
        events = deposit.mark_credited(credit, amount_fen=cmd.amount_fen)
        if events:
            uow.collect(events)
            uow.deposits.save(deposit)
            uow.commit()
        return deposit
