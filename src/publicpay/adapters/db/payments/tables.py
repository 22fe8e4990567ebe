"""Schema of payments: payment orders, the channel notification inbox, discrepancies, channel
accounts."""

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
    Text,
    UniqueConstraint,
    text,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_no", String(32), nullable=False, unique=True),
    Column("payable_id", Id, ForeignKey("payables.id"), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("method", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("qr_code", String(500), nullable=True),
    Column("channel_account_id", Id, nullable=True),  # NULL: the platform default account
    Column("channel_trade_no", String(64), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),
    Column("paid_at", Ts, nullable=True),
    Column("closed_at", Ts, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    # where the payment was taken, when in person or at a device (statistics, shifts)
    Column("site_id", Id, nullable=True),
    Column("window_id", Id, nullable=True),
    Column("device_id", Id, nullable=True),
    Column("shift_id", Id, nullable=True),
    Column("cart_id", Id, nullable=True),  # paid as part of a cart (issue 13)
    Index("ix_payment_orders_status_created", "status", "created_at"),
    # a shift's takings (0019); only orders taken at a window have one (0027)
    Index(
        "ix_payment_orders_shift_id",
        "shift_id",
        postgresql_where=text("shift_id IS NOT NULL"),
        sqlite_where=text("shift_id IS NOT NULL"),
    ),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("notify_id", String(128), nullable=False),
    Column("order_no", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", Ts, nullable=False),
    Column("processed_at", Ts, nullable=True),
    Column("outcome", String(40), nullable=True),
    UniqueConstraint("channel", "notify_id", name="uq_inbox_channel_notify_id"),
)

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("order_no", String(32), nullable=False),
    Column("payable_id", Id, nullable=True),
    Column("amount_fen", BigInteger, nullable=True),
    Column("detail", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved
    Column("created_at", Ts, nullable=False),
    UniqueConstraint("kind", "order_no", name="uq_discrepancies_kind_order_no"),
)

channel_accounts = Table(
    "channel_accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("scope", String(40), nullable=False),  # "*", "region:330105", "unit:330105101"
    Column("config_enc", LargeBinary, nullable=False),  # JSON, encrypted at rest
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", Ts, nullable=False),
    Column("updated_by", String(100), nullable=False, default="system"),
    UniqueConstraint("channel", "scope", name="uq_channel_accounts_channel_scope"),
)
