"""Schema of reconciliation and clearing: statements and their lines, each source's business
day, exceptions (with the holding pool), clearing windows and their instructions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
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

statements = Table(
    "statements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(20), nullable=False),  # domain.reconciliation.Source
    Column("business_day", Date, nullable=False),
    Column("merchant", String(64), nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the file as received
    Column("status", String(20), nullable=False),  # active | superseded
    Column("superseded_by", Id, nullable=True),
    Column("line_count", Integer, nullable=False),
    Column("totals", JSON, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("imported_at", Ts, nullable=False),
    Column("imported_by", String(100), nullable=False),
    UniqueConstraint("source", "business_day", "digest", name="uq_statements_source_day_digest"),
)

statement_lines = Table(
    "statement_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("statement_id", Id, ForeignKey("statements.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("kind", String(10), nullable=False),  # domain.reconciliation.LineKind
    Column("order_no", String(64), nullable=True),
    Column("refund_no", String(64), nullable=True),
    Column("trade_no", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("fee_fen", BigInteger, nullable=False),
    Column("at", String(19), nullable=False),  # local time as the statement gives it
    Column("match_class", String(20), nullable=True),  # domain.reconciliation.MatchClass
    Column("order_id", Id, nullable=True, index=True),
    Column("refund_id", Id, nullable=True),
    # how a line that did not match was closed (domain.reconciliation.LineResolution, 0022)
    Column("resolution", String(20), nullable=True),
)

recon_days = Table(
    "recon_days",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(20), nullable=False),
    Column("business_day", Date, nullable=False),
    Column("statement_id", Id, nullable=True),
    Column("status", String(20), nullable=False),  # domain.reconciliation.DayStatus
    Column("lines", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    Column("counts", JSON, nullable=False),  # {class: n}
    Column("gross_fen", BigInteger, nullable=False),  # payments - refunds per the statement
    Column("fee_fen", BigInteger, nullable=False),
    Column("run_at", Ts, nullable=False),
    Column("run_by", String(100), nullable=False),
    UniqueConstraint("source", "business_day", name="uq_recon_days_source_day"),
)

recon_exceptions = Table(
    "recon_exceptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(20), nullable=False),
    Column("business_day", Date, nullable=False),
    Column("match_class", String(20), nullable=False),
    Column("key", String(64), nullable=False),  # order, refund or bank reference
    Column("order_no", String(64), nullable=True),
    Column("line_id", Id, nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # domain.reconciliation.ExceptionStatus
    Column("detail", JSON, nullable=False),
    Column("assignee", String(100), nullable=True),
    Column("action", String(20), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("resolved_by", String(100), nullable=True),
    Column("resolved_at", Ts, nullable=True),
    Column("reviewed_by", String(100), nullable=True),
    Column("reviewed_at", Ts, nullable=True),
    Column("created_at", Ts, nullable=False),
    UniqueConstraint(
        "source", "business_day", "match_class", "key", name="uq_recon_exceptions_natural"
    ),
    Index("ix_recon_exceptions_status_day", "status", "business_day"),
)

clearing_windows = Table(
    "clearing_windows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("business_day", Date, nullable=False),
    Column("account", String(40), nullable=False),  # the collection account (汇缴户)
    Column("status", String(20), nullable=False),  # domain.clearing.WindowStatus
    Column("gross_fen", BigInteger, nullable=False),  # reconciled payments
    Column("refunds_fen", BigInteger, nullable=False),
    Column("fees_fen", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),  # what is transferred out
    # refunds the collection account paid by bank transfer, netted here (0028)
    Column("transfer_refunds_fen", BigInteger, nullable=False, server_default="0"),
    # refund parts held because a level would go below zero, and earlier ones taken back (0031)
    Column("held_fen", BigInteger, nullable=False, server_default="0"),
    Column("carried_fen", BigInteger, nullable=False, server_default="0"),
    Column("by_level", JSON, nullable=False),
    Column("voucher_no", String(20), nullable=True),
    Column("voucher", Text, nullable=True),  # the 5408 voucher XML
    Column("receipt", Text, nullable=True),  # the treasury's 入库回执 as received
    Column("failure", String(200), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("instructed_at", Ts, nullable=True),
    Column("confirmed_at", Ts, nullable=True),
    UniqueConstraint("business_day", "account", name="uq_clearing_windows_day_account"),
)


def _line_columns() -> list[Column[Any]]:
    """A clearing line's columns (`domain.clearing.ClearingLine`) with its window."""
    return [
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("window_id", Id, ForeignKey("clearing_windows.id"), nullable=False, index=True),
        Column("payment_code", String(32), nullable=False),
        Column("subject_code", String(20), nullable=False),
        Column("level", String(10), nullable=False),
        Column("destination", String(20), nullable=False),
        Column("amount_fen", BigInteger, nullable=False),  # a hold's: negative, still to take back
        Column("unit_name", String(100), nullable=False),
    ]


clearing_lines = Table("clearing_lines", metadata, *_line_columns())

# each refund paid by bank transfer (its matched `REFUND:` debit) a window netted: once only
clearing_refunds = Table(
    "clearing_refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("window_id", Id, ForeignKey("clearing_windows.id"), nullable=False, index=True),
    Column("refund_id", Id, ForeignKey("refunds.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    UniqueConstraint("refund_id", name="uq_clearing_refunds_refund_id"),
)

# a refund line's part a window could not take back from its level (the level would have gone
# below zero), held until a later window takes it back (`taken_by`, once only) (0031)
clearing_holds = Table(
    "clearing_holds",
    metadata,
    *_line_columns(),
    Column("reason", String(200), nullable=False),
    Column("taken_by", Id, ForeignKey("clearing_windows.id"), nullable=True, index=True),
)

# the clearing schedule's lease (issue 12): one worker of the cluster clears a day
clearing_runs = Table(
    "clearing_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("business_day", Date, nullable=False),
    Column("account", String(40), nullable=False),
    Column("claimed_at", Ts, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("done", Boolean, nullable=False),
    UniqueConstraint("business_day", "account", name="uq_clearing_runs_day_account"),
)
