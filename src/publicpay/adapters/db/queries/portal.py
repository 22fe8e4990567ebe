"""Read side of the payer portal's history (我的缴费记录): who registered a payment code."""

from __future__ import annotations

from sqlalchemy import Connection, select

from publicpay.adapters.db.payables import payables


def registered_payer(conn: Connection, payment_code: str) -> tuple[str, str] | None:
    """(payer name, keyed hash of the ID number) of a payment code, None when unknown."""
    row = conn.execute(
        select(payables.c.payer_name, payables.c.payer_id_hash).where(
            payables.c.payment_code == payment_code
        )
    ).first()
    return (row.payer_name, row.payer_id_hash) if row is not None else None
