"""Schema for fiscal e-receipts (财政电子票据): signing keys, number stock, receipts, prints,
jobs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata

receipt_keys = Table(
    "receipt_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("signer", String(10), nullable=False),  # unit | finance
    Column("owner", String(20), nullable=False),  # unit code, or the finance bureau's region code
    Column("private_key_enc", LargeBinary, nullable=False),  # PKCS#8 PEM sealed by the SecretBox
    Column("public_key_pem", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("retired_at", Ts, nullable=True),
    Index("ix_receipt_keys_signer_owner", "signer", "owner"),
)

receipt_stocks = Table(
    "receipt_stocks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(8), nullable=False),  # 票据代码
    Column("start_no", BigInteger, nullable=False),
    Column("end_no", BigInteger, nullable=False),
    Column("next_no", BigInteger, nullable=False),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("issuing_point", String(40), nullable=True),  # 开票点, e.g. a kiosk device id
    Column("status", String(20), nullable=False),  # active | exhausted
    Column("allocated_by", String(100), nullable=False),
    Column("created_at", Ts, nullable=False),
    Index("ix_receipt_stocks_unit_status", "unit_id", "status"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(8), nullable=False),
    Column("number", String(10), nullable=False),
    Column("check_code", String(6), nullable=False),
    Column("kind", String(10), nullable=False),  # normal | red
    Column("status", String(20), nullable=False),  # issued | reversed
    Column("payable_id", Id, ForeignKey("payables.id"), nullable=False, index=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("stock_id", Id, ForeignKey("receipt_stocks.id"), nullable=False),
    Column("ref", String(32), nullable=False),  # order no (payment) or refund no (red, remainder)
    Column("original_id", Id, ForeignKey("receipts.id"), nullable=True),
    Column("total_fen", BigInteger, nullable=False),
    Column("xml", LargeBinary, nullable=False),  # the exact bytes the unit signed
    Column("unit_signature", LargeBinary, nullable=False),
    Column("finance_signature", LargeBinary, nullable=False),
    Column("unit_key_id", Id, ForeignKey("receipt_keys.id"), nullable=False),
    Column("finance_key_id", Id, ForeignKey("receipt_keys.id"), nullable=False),
    Column("issued_at", Ts, nullable=False),
    Column("print_count", Integer, nullable=False),
    Column("booked_at", Ts, nullable=True),
    Column("booked_by", String(100), nullable=True),
    Column("pdf", LargeBinary, nullable=True),  # cache of the rendered face (first print form)
    UniqueConstraint("code", "number", name="uq_receipts_code_number"),
    UniqueConstraint("kind", "ref", name="uq_receipts_kind_ref"),
    Index("ix_receipts_unit_issued", "unit_id", "issued_at"),
)

receipt_prints = Table(
    "receipt_prints",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("receipt_id", Id, ForeignKey("receipts.id"), nullable=False, index=True),
    Column("at", Ts, nullable=False),
    Column("place", String(40), nullable=False),  # kiosk / window / unit client id
    Column("reprint", Boolean, nullable=False),
)

receipt_jobs = Table(
    "receipt_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # issue | refund
    Column("ref", String(32), nullable=False),  # order no | refund no
    Column("payable_id", Id, nullable=False),  # no foreign key (0030): `publicpay check`
    Column("place", String(40), nullable=True),  # 开票点 the payment came through, if any
    Column("status", String(20), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Ts, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("done_at", Ts, nullable=True),
    UniqueConstraint("kind", "ref", name="uq_receipt_jobs_kind_ref"),
    Index("ix_receipt_jobs_status_next", "status", "next_attempt_at"),
)
