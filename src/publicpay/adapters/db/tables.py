"""Database schema (SQLAlchemy Core). Money columns are BIGINT `*_fen`; timestamps are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER


class UtcTimestamp(TypeDecorator[datetime]):
    """A timestamp stored in UTC: aware values are converted before they are bound. SQLite
    keeps the wall-clock text of whatever offset it is given and compares text, so a bound in
    Asia/Shanghai (a business day's midnight) would otherwise be 8 hours off."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value


Ts = UtcTimestamp()

regions = Table(
    "regions",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("parent_code", String(6), ForeignKey("regions.code"), nullable=True),
)

units = Table(
    "units",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("region_code", String(6), ForeignKey("regions.code"), nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("webhook_url", String(500), nullable=True),
    Column("webhook_secret_enc", LargeBinary, nullable=True),
    Column("created_at", Ts, nullable=False),
    # the signing secret before the last rotation, still signed with until then
    Column("webhook_previous_secret_enc", LargeBinary, nullable=True),
    Column("webhook_previous_valid_until", Ts, nullable=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # unit | bank | device | finance
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("region_code", String(6), nullable=True),  # a finance bureau's region
    Column("secret_enc", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Ts, nullable=False),
    # the secret before the last rotation, accepted until `previous_valid_until`
    Column("previous_secret_enc", LargeBinary, nullable=True),
    Column("previous_valid_until", Ts, nullable=True),
    Column("rotated_at", Ts, nullable=True),
    Column("revoked_at", Ts, nullable=True),
)

request_nonces = Table(
    "request_nonces",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", Ts, nullable=False, index=True),
)

fee_items = Table(
    "fee_items",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("category", String(20), nullable=False),
    Column("budget_subject", String(20), nullable=False),
    Column("destination", String(20), nullable=False),
    Column("unit_of_measure", String(20), nullable=False),
    Column("legal_basis", String(300), nullable=False, default=""),
    Column("split", JSON, nullable=False),  # [{"level", "weight", "fixed_fen"}]
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),
)

fee_standards = Table(
    "fee_standards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_code", String(20), ForeignKey("fee_items.code"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=True),
    Column("min_fen", BigInteger, nullable=True),
    Column("max_fen", BigInteger, nullable=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("basis", String(300), nullable=False, default=""),
)

unit_items = Table(
    "unit_items",
    metadata,
    Column("unit_id", Id, ForeignKey("units.id"), primary_key=True),
    Column("item_code", String(20), ForeignKey("fee_items.code"), primary_key=True),
)

payables = Table(
    "payables",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("payment_code", String(20), nullable=False, unique=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("biz_no", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("payer_name", String(100), nullable=False),
    Column("payer_type", String(10), nullable=False),
    Column("payer_id_enc", LargeBinary, nullable=False),
    Column("payer_id_hash", String(64), nullable=False, index=True),
    Column("payer_id_masked", String(20), nullable=False),
    Column("payer_phone_enc", LargeBinary, nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("remark", String(500), nullable=False, default=""),
    Column("created_at", Ts, nullable=False),
    Column("paid_at", Ts, nullable=True),
    Column("paid_fen", BigInteger, nullable=True),
    Column("paid_order_id", Id, nullable=True),
    Column("channel", String(20), nullable=True),
    Column("refunded_fen", BigInteger, nullable=False, default=0),
    Column("version", Integer, nullable=False, default=1),
    UniqueConstraint("unit_id", "biz_no", name="uq_payables_unit_biz_no"),
)

payable_lines = Table(
    "payable_lines",
    metadata,
    Column("payable_id", Id, ForeignKey("payables.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("item_code", String(20), nullable=False),
    Column("item_name", String(200), nullable=False),
    Column("unit_of_measure", String(20), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("standard_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
)

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
    Index("ix_payment_orders_status_created", "status", "created_at"),
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

ledger_journals = Table(
    "ledger_journals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(30), nullable=False),
    Column("ref", String(64), nullable=False, index=True),
    Column("payable_id", Id, nullable=True, index=True),
    Column("business_date", Date, nullable=False),
    Column("created_at", Ts, nullable=False),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("journal_id", Id, ForeignKey("ledger_journals.id"), nullable=False, index=True),
    Column("account", String(60), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Ts, nullable=False),
    # outbox delivery state (webhooks)
    Column("delivery", String(20), nullable=False),  # pending | delivered | failed | none
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Ts, nullable=True),
    Column("delivered_at", Ts, nullable=True),
    Index("ix_events_unit_id_id", "unit_id", "id"),
    Index("ix_events_delivery_next", "delivery", "next_attempt_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("events.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("url", String(500), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("at", Ts, nullable=False),
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

refunds = Table(
    "refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("refund_no", String(32), nullable=False, unique=True),
    Column("payable_id", Id, ForeignKey("payables.id"), nullable=False, index=True),
    Column("order_id", Id, ForeignKey("payment_orders.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # duplicate | requested
    Column("status", String(20), nullable=False),  # pending | processing | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Ts, nullable=True),
    Column("channel_refund_no", String(64), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("completed_at", Ts, nullable=True),
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

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(100), nullable=False),
    Column("detail", JSON, nullable=False),
    # The hash chain is sealed by the worker (no hot row on the write path). Rows may commit out
    # of id order, so the chain follows `chain_seq`, the order in which rows were sealed.
    Column("chain_seq", BigInteger, nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(80), primary_key=True),  # who may reuse the key (client, payable)
    Column("key", String(255), primary_key=True),  # the caller's Idempotency-Key
    Column("request_hash", String(64), nullable=False),
    Column("status", String(10), nullable=False),  # running | done
    Column("status_code", Integer, nullable=True),
    Column("response", LargeBinary, nullable=True),
    Column("created_at", Ts, nullable=False, index=True),
)

serials = Table(
    "serials",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


from publicpay.adapters.db import batch_tables as _batch_tables  # noqa: E402,F401
from publicpay.adapters.db import receipt_tables as _receipt_tables  # noqa: E402,F401
from publicpay.adapters.db import user_tables as _user_tables  # noqa: E402,F401
