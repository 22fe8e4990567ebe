"""Console users and sessions (U1): their tables and repository. Hashing, sealing and the rules
live in `services.users.accounts`.

A session row is keyed by the SHA-256 of the random token in the browser's cookie, so a leaked
table does not give working cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

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
    bindparam,
    delete,
    false,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Sql
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
    # administration (migration 0013): a password set by an administrator or the CLI is
    # changed by its user at the first login
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("password_changed_at", Ts, nullable=True),
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


_BY_USERNAME = select(users).where(users.c.username == bindparam("username"))
_BY_USERNAME_LOCKED = _BY_USERNAME.with_for_update()
_BY_ID = select(users).where(users.c.id == bindparam("id"))
_FAILURE = (
    update(users)
    .where(users.c.id == bindparam("b_id"))
    .values(failed_attempts=bindparam("attempts"), locked_until=bindparam("locked_until"))
)
_SOURCE_FAILURES = select(login_failures).where(login_failures.c.source == bindparam("source"))
_SOURCE_FAILURES_LOCKED = _SOURCE_FAILURES.with_for_update()
_COUNT_FAILURE = (
    update(login_failures)
    .where(login_failures.c.source == bindparam("b_source"))
    .values(failures=bindparam("failures"))
)
_NEW_WINDOW = (
    update(login_failures)
    .where(login_failures.c.source == bindparam("b_source"))
    .values(failures=1, window_started_at=bindparam("at"))
)
_SESSION = select(console_sessions).where(console_sessions.c.id == bindparam("id"))
_TOUCH = (
    update(console_sessions)
    .where(console_sessions.c.id == bindparam("b_id"))
    .values(last_seen_at=bindparam("at"))
)
_DELETE_SESSION = delete(console_sessions).where(console_sessions.c.id == bindparam("id"))
_DELETE_SESSIONS_OF = delete(console_sessions).where(
    console_sessions.c.user_id == bindparam("user_id")
)


class UsersRepository:
    """Every statement runs at once (logins read what they wrote)."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

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
        must_change_password: bool = False,
    ) -> int:
        row = {
            "must_change_password": must_change_password,
            "username": username,
            "password_hash": password_hash,
            "totp_secret_enc": totp_secret_enc,
            "role": role.value,
            "region_code": region_code,
            "unit_id": unit_id,
            "active": True,
            "failed_attempts": 0,
            "created_at": at,
        }
        return int(self._sql.insert(users, row).id)

    def by_username(self, username: str, *, lock: bool = False) -> User | None:
        row = self._sql.one(_BY_USERNAME_LOCKED if lock else _BY_USERNAME, {"username": username})
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> User | None:
        row = self._sql.one(_BY_ID, {"id": user_id})
        return None if row is None else _user(row)

    def record_failure(self, user_id: int, attempts: int, locked_until: datetime | None) -> None:
        params = {"b_id": user_id, "attempts": attempts, "locked_until": locked_until}
        self._sql.run(_FAILURE, params)

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
        self._sql.run(_user_update(tuple(values)), {"b_id": user_id, **values})

    # --- failed logins per client address --------------------------------------------------

    def source_failures(self, source: str, *, lock: bool = False) -> tuple[int, datetime] | None:
        """(failures, window start) of a client address, or None when it has none."""
        stmt = _SOURCE_FAILURES_LOCKED if lock else _SOURCE_FAILURES
        row = self._sql.one(stmt, {"source": source[:64]})
        return None if row is None else (int(row.failures), utc(row.window_started_at))

    def record_source_failure(self, source: str, at: datetime, window_start: datetime) -> None:
        """Count one failure of `source`, in a new window when its window began before
        `window_start`."""
        key = source[:64]
        fresh = {"source": key, "window_started_at": at, "failures": 1}
        if self._sql.insert(login_failures, fresh, ignore_conflict=True) is not None:
            return
        found = self.source_failures(key, lock=True)
        assert found is not None
        failures, started = found
        if started >= window_start:
            self._sql.run(_COUNT_FAILURE, {"b_source": key, "failures": failures + 1})
        else:
            self._sql.run(_NEW_WINDOW, {"b_source": key, "at": at})

    # --- sessions -----------------------------------------------------------------------------

    def add_session(self, session_id: str, user_id: int, at: datetime, expires: datetime) -> None:
        row = {"id": session_id, "user_id": user_id, "created_at": at, "last_seen_at": at}
        self._sql.insert(console_sessions, {**row, "expires_at": expires})

    def session(self, session_id: str) -> SessionRow | None:
        row = self._sql.one(_SESSION, {"id": session_id})
        if row is None:
            return None
        return SessionRow(
            row.id, row.user_id, utc(row.created_at), utc(row.last_seen_at), utc(row.expires_at)
        )

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._sql.run(_TOUCH, {"b_id": session_id, "at": at})

    def delete_session(self, session_id: str) -> bool:
        return self._sql.run(_DELETE_SESSION, {"id": session_id}) == 1

    def delete_sessions_of(self, user_id: int) -> int:
        return self._sql.run(_DELETE_SESSIONS_OF, {"user_id": user_id})

    # --- administration (issue 10) --------------------------------------------------------------

    def set_password(
        self, user_id: int, password_hash: str, *, must_change: bool, at: datetime
    ) -> None:
        values = {
            "password_hash": password_hash,
            "must_change_password": must_change,
            "password_changed_at": at,
            "failed_attempts": 0,
            "locked_until": None,
        }
        self._sql.run(_user_update(tuple(values)), {"b_id": user_id, **values})

    def set_totp_secret(self, user_id: int, totp_secret_enc: bytes) -> None:
        values = {"totp_secret_enc": totp_secret_enc, "totp_last_step": None}
        self._sql.run(_user_update(tuple(values)), {"b_id": user_id, **values})

    def set_role(
        self, user_id: int, role: Role, region_code: str | None, unit_id: int | None
    ) -> None:
        values = {"role": role.value, "region_code": region_code, "unit_id": unit_id}
        self._sql.run(_user_update(tuple(values)), {"b_id": user_id, **values})

    def set_active(self, user_id: int, active: bool) -> None:
        values = {"active": active, "failed_attempts": 0, "locked_until": None}
        self._sql.run(_user_update(tuple(values)), {"b_id": user_id, **values})


@lru_cache(maxsize=8)
def _user_update(columns: tuple[str, ...]) -> Any:
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    return update(users).where(users.c.id == bindparam("b_id")).values(values)


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
        must_change_password=bool(row.must_change_password),
    )
