"""Schema for batch registrations of payables (P5).

Defined on the shared `metadata` of `tables.py` (which imports this module at its end). A batch
keeps who sent which file (its SHA-256), the counts and the per-row report; a console preview
also keeps its rows, sealed (they hold ID numbers), until it is confirmed or pruned.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from publicpay.adapters.db.tables import Id, Ts, metadata

payable_batches = Table(
    "payable_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("status", String(10), nullable=False),  # dry_run | registered | refused
    Column("source", String(10), nullable=False),  # csv | xlsx | json
    Column("file_name", String(200), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("accept_partial", Boolean, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("accepted_count", Integer, nullable=False),
    Column("existing_count", Integer, nullable=False),
    Column("refused_count", Integer, nullable=False),
    Column("created_count", Integer, nullable=False),  # payables registered by this batch
    Column("amount_fen", BigInteger, nullable=False),  # of the accepted rows
    Column("report", JSON, nullable=False),
    Column("rows_enc", LargeBinary, nullable=True),  # a preview's rows, sealed, until confirmed
    Column("preview_id", Id, ForeignKey("payable_batches.id"), nullable=True),
    Column("actor", String(100), nullable=False),
    Column("created_at", Ts, nullable=False),
    Index("ix_payable_batches_unit_id_created_at", "unit_id", "created_at"),
)
