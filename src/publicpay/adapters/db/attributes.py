"""Business attributes of payables (W1+): plate, licence, case number … that the business
system registers so the window finds the business record. Values are personal data: stored
encrypted, looked up by keyed hash, shown masked."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table

from publicpay.adapters.db.metadata import Id, metadata

payable_attributes = Table(
    "payable_attributes",
    metadata,
    Column("payable_id", Id, ForeignKey("payables.id"), primary_key=True),
    Column("name", String(20), primary_key=True),  # plate_no, licence_no, case_no, ...
    Column("value_hash", String(64), nullable=False, index=True),
    Column("value_enc", LargeBinary, nullable=False),
    Column("value_masked", String(40), nullable=False),
)
