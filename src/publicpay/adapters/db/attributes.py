"""Business attributes of payables (W1+): plate, licence, case number … that the business
system registers so the window finds the business record. Values are personal data: stored
encrypted, looked up by keyed hash, shown masked."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table

from publicpay.adapters.db.metadata import Id, metadata
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.services.payables.ports import SealedAttribute

payable_attributes = Table(
    "payable_attributes",
    metadata,
    Column("payable_id", Id, ForeignKey("payables.id"), primary_key=True),
    Column("name", String(20), primary_key=True),  # plate_no, licence_no, case_no, ...
    Column("value_hash", String(64), nullable=False, index=True),
    Column("value_enc", LargeBinary, nullable=False),
    Column("value_masked", String(40), nullable=False),
)


def add_attributes(sql: Sql, payable_id: int, attributes: Sequence[SealedAttribute]) -> None:
    """Queued with the payable's registration."""
    rows = tuple(
        {
            "payable_id": payable_id,
            "name": a.name,
            "value_hash": a.value_hash,
            "value_enc": a.value_enc,
            "value_masked": a.value_masked,
        }
        for a in attributes
    )
    if rows:
        sql.queue(Insert(payable_attributes, rows))
