"""Schema for console users (U1) and their sessions.

Defined on the shared `metadata` of `tables.py` (which imports this module at its end, so Alembic
and `metadata.create_all` see these tables too). A session row is keyed by the SHA-256 of the
random token in the browser's cookie, so a leaked table does not give working cookies.
"""

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
)

from publicpay.adapters.db.tables import Id, Ts, metadata

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # argon2id (PHC string)
    Column("totp_secret_enc", LargeBinary, nullable=False),  # base32 secret sealed by SecretBox
    Column("role", String(20), nullable=False),  # finance_admin | ... (domain.access.Role)
    Column("region_code", String(6), nullable=True),  # finance roles and auditors
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),  # unit roles
    Column("active", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", Ts, nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("totp_last_step", BigInteger, nullable=True),  # a used TOTP code is not taken again
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # hex SHA-256 of the cookie's token
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("last_seen_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),  # absolute limit; idle limit from last_seen_at
    Index("ix_console_sessions_user_id", "user_id"),
)

# Failed console logins per client address in a fixed window (one row per address), so that one
# address cannot try passwords (or lock accounts out) without limit, across every process.
login_failures = Table(
    "login_failures",
    metadata,
    Column("source", String(64), primary_key=True),  # the client address (api.proxies)
    Column("window_started_at", Ts, nullable=False),
    Column("failures", Integer, nullable=False),
)
