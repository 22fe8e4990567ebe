"""Console users and sessions (U1): their tables and repository. Hashing, sealing and the rules
live in `services.users.accounts`.

A session row is keyed by the SHA-256 of the random token in the browser's cookie, so a leaked
table does not give working cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from publicpay.adapters.db.dialect import for_update, insert_ignore
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.domain.access import Role, User
from publicpay.domain.time import utc

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


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class UsersRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        username: str,
        password_hash: str,
        totp_secret_enc: bytes,
        role: Role,
        *,
        region_code: str | None,
        unit_id: int | None,
        at: datetime,
    ) -> int:
        result = self._conn.execute(
            insert(users).values(
                username=username,
                password_hash=password_hash,
                totp_secret_enc=totp_secret_enc,
                role=role.value,
                region_code=region_code,
                unit_id=unit_id,
                active=True,
                failed_attempts=0,
                created_at=at,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def by_username(self, username: str, *, lock: bool = False) -> User | None:
        stmt = select(users).where(users.c.username == username)
        row = self._conn.execute(for_update(stmt) if lock else stmt).first()
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> User | None:
        row = self._conn.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def record_failure(self, user_id: int, attempts: int, locked_until: datetime | None) -> None:
        self._conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(failed_attempts=attempts, locked_until=locked_until)
        )

    def record_success(
        self, user_id: int, password_hash: str | None = None, *, totp_step: int | None = None
    ) -> None:
        """Reset the failure count, remember the TOTP time step just used (and store a
        rehashed password when the policy changed)."""
        values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if totp_step is not None:
            values["totp_last_step"] = totp_step
        self._conn.execute(update(users).where(users.c.id == user_id).values(**values))

    # --- failed logins per client address --------------------------------------------------

    def source_failures(self, source: str, *, lock: bool = False) -> tuple[int, datetime] | None:
        """(failures, window start) of a client address, or None when it has none."""
        stmt = select(login_failures).where(login_failures.c.source == source[:64])
        row = self._conn.execute(for_update(stmt) if lock else stmt).first()
        return None if row is None else (int(row.failures), utc(row.window_started_at))

    def record_source_failure(self, source: str, at: datetime, window_start: datetime) -> None:
        """Count one failure of `source`, in a new window when its window began before
        `window_start`."""
        key = source[:64]
        fresh = {"source": key, "window_started_at": at, "failures": 1}
        if insert_ignore(self._conn, login_failures, fresh):
            return
        found = self.source_failures(key, lock=True)
        assert found is not None
        failures, started = found
        values = (
            {"failures": failures + 1}
            if started >= window_start
            else {"failures": 1, "window_started_at": at}
        )
        stmt = update(login_failures).where(login_failures.c.source == key).values(**values)
        self._conn.execute(stmt)

    # --- sessions -----------------------------------------------------------------------------

    def add_session(self, session_id: str, user_id: int, at: datetime, expires: datetime) -> None:
        self._conn.execute(
            insert(console_sessions).values(
                id=session_id, user_id=user_id, created_at=at, last_seen_at=at, expires_at=expires
            )
        )

    def session(self, session_id: str) -> SessionRow | None:
        stmt = select(console_sessions).where(console_sessions.c.id == session_id)
        row = self._conn.execute(stmt).first()
        if row is None:
            return None
        return SessionRow(
            row.id, row.user_id, utc(row.created_at), utc(row.last_seen_at), utc(row.expires_at)
        )

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._conn.execute(
            update(console_sessions)
            .where(console_sessions.c.id == session_id)
            .values(last_seen_at=at)
        )

    def delete_session(self, session_id: str) -> bool:
        stmt = delete(console_sessions).where(console_sessions.c.id == session_id)
        return int(self._conn.execute(stmt).rowcount) == 1

    def delete_sessions_of(self, user_id: int) -> int:
        stmt = delete(console_sessions).where(console_sessions.c.user_id == user_id)
        return int(self._conn.execute(stmt).rowcount)


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        totp_secret_enc=bytes(row.totp_secret_enc),
        role=Role(row.role),
        region_code=row.region_code,
        unit_id=row.unit_id,
        active=bool(row.active),
        failed_attempts=row.failed_attempts,
        locked_until=utc(row.locked_until) if row.locked_until else None,
        totp_last_step=row.totp_last_step,
    )
