"""Look at the database directly to prove that a refusal changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.schema import metadata

WATCHED = ("payables", "payable_lines", "payment_orders", "events", "ledger_postings", "refunds")


def counts(stack: Any) -> dict[str, int]:
    with stack.container.engines.read.connect() as conn:
        return {
            name: int(
                conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            )
            for name in WATCHED
        }


def ledger_for(stack: Any, payable_id: int) -> dict[str, int]:
    stmt = (
        select(ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen))
        .select_from(ledger_postings.join(ledger_journals))
        .where(ledger_journals.c.payable_id == payable_id)
        .group_by(ledger_postings.c.account)
    )
    with stack.container.engines.read.connect() as conn:
        return {account: int(total) for account, total in conn.execute(stmt)}


def payable_id(stack: Any, payment_code: str) -> int:
    stmt = select(payables.c.id).where(payables.c.payment_code == payment_code)
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
