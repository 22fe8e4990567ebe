"""Ports of console users and their sessions, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from publicpay.domain.access import Role, User


class SessionInfo(Protocol):
    @property
    def user_id(self) -> int: ...

    @property
    def last_seen_at(self) -> datetime: ...

    @property
    def expires_at(self) -> datetime: ...


class UsersRepo(Protocol):
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
    ) -> int: ...

    def by_username(self, username: str, *, lock: bool = False) -> User | None: ...

    def by_id(self, user_id: int) -> User | None: ...

    def record_failure(
        self, user_id: int, attempts: int, locked_until: datetime | None
    ) -> None: ...

    def record_success(
        self, user_id: int, password_hash: str | None = None, *, totp_step: int | None = None
    ) -> None: ...

    def source_failures(
        self, source: str, *, lock: bool = False
    ) -> tuple[int, datetime] | None: ...

    def record_source_failure(self, source: str, at: datetime, window_start: datetime) -> None: ...

    def add_session(
        self, session_id: str, user_id: int, at: datetime, expires: datetime
    ) -> None: ...

    def session(self, session_id: str) -> SessionInfo | None: ...

    def touch_session(self, session_id: str, at: datetime) -> None: ...

    def delete_session(self, session_id: str) -> bool: ...

    def delete_sessions_of(self, user_id: int) -> int: ...

    # --- administration (issue 10) ---

    def set_password(
        self, user_id: int, password_hash: str, *, must_change: bool, at: datetime
    ) -> None: ...

    def set_totp_secret(self, user_id: int, totp_secret_enc: bytes) -> None: ...

    def set_active(self, user_id: int, active: bool) -> None: ...

    def set_role(
        self, user_id: int, role: Role, region_code: str | None, unit_id: int | None
    ) -> None: ...
