"""Console users (U1): create, log in with password AND a current TOTP code, sessions, log out.

- Passwords are argon2id hashes (argon2-cffi); TOTP secrets (RFC 6238, pyotp) are sealed with
  the platform's secret box. Both libraries are plain algorithms, not frameworks, so this service
  uses them directly rather than through a port.
- Five failed attempts in a row (wrong password or wrong code) lock the account for 15 minutes;
  while locked even the right credentials are refused. Success resets the count.
- A session is a random token in the browser; the database keeps only its SHA-256. It ends after
  30 idle minutes, 12 hours at most, or at logout (the row is deleted: revoked at once).
- Every login success and failure, lockout and logout writes an audit row (who, what, from where).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NoReturn, Protocol

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from publicpay.domain.access import (
    Actor,
    User,
    actor_of,
    validate_grant,
    validate_password,
)
from publicpay.domain.errors import Conflict, NotFound, Unauthorized
from publicpay.domain.time import local_text
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork
from publicpay.services.users.ports import UsersRepo

IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_CONTEXT = b"console-totp"
REFUSED = "用户名、密码或动态验证码错误"

_hasher = PasswordHasher()


class UsersUnitOfWork(UnitOfWork, Protocol):
    """The unit of work with the users repository (to be merged into the port)."""

    @property
    def users(self) -> UsersRepo: ...


class LoginRefused(Unauthorized):
    code = "login_refused"
    title = "登录失败"


class AccountLocked(LoginRefused):
    code = "account_locked"
    title = "账户已锁定"


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    password: str
    role: str
    region_code: str | None = None
    unit_id: int | None = None
    totp_secret: str | None = None  # a new random one when None


@dataclass(frozen=True, slots=True)
class CreatedUser:
    id: int
    username: str
    totp_secret: str  # shown once, to be enrolled in the user's authenticator app


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str
    code: str  # the 6-digit TOTP code
    source: str  # where the request came from (client address), for the audit


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # for the browser's cookie; never stored
    actor: Actor


def create_user(uow: UsersUnitOfWork, new: NewUser, *, actor: str, clock: Clock) -> CreatedUser:
    """Add a console user with its role and scope; its TOTP secret is returned once."""
    role = validate_grant(new.username, new.role, new.region_code, new.unit_id)
    secret = new.totp_secret or pyotp.random_base32()
    now = clock.now()
    with uow:
        if new.unit_id is not None and uow.units.get(new.unit_id) is None:
            raise NotFound(f"单位 {new.unit_id} 不存在")
        if uow.users.by_username(new.username) is not None:
            raise Conflict(f"用户名 {new.username} 已存在", errors={"username": new.username})
        sealed = uow.box.seal_text(secret, TOTP_CONTEXT)
        user_id = uow.users.add(
            new.username,
            hash_password(new.password),
            sealed,
            role,
            region_code=new.region_code,
            unit_id=new.unit_id,
            at=now,
        )
        detail = {"role": role.value, "region": new.region_code, "unit_id": new.unit_id}
        uow.audit.append(actor, "console.user_created", new.username, detail, now)
        uow.commit()
    return CreatedUser(user_id, new.username, secret)


def log_in(uow: UsersUnitOfWork, login: Login, *, clock: Clock) -> Session:
    """A new session when the password and the TOTP code are both right and the account is
    not locked; LoginRefused (or AccountLocked) otherwise, with the failure audited."""
    now = clock.now()
    with uow:
        user = uow.users.by_username(login.username.strip(), lock=True)
        if user is None or not user.active:
            _password_ok(_dummy_hash(), login.password)  # same work as for a real user
            _refuse(uow, login, now, "unknown_or_inactive")
        if user.locked_until is not None and user.locked_until > now:
            _refuse(uow, login, now, "locked", locked_until=user.locked_until)
        password_ok = _password_ok(user.password_hash, login.password)
        code_ok = totp_matches(totp_secret(uow, user), login.code, now)
        if not (password_ok and code_ok):
            _fail(uow, user, login, now, "password" if not password_ok else "totp")
        stale = _hasher.check_needs_rehash(user.password_hash)
        uow.users.record_success(user.id, _hasher.hash(login.password) if stale else None)
        token = secrets.token_urlsafe(32)
        uow.users.add_session(session_id(token), user.id, now, now + SESSION_MAX)
        uow.audit.append(
            f"user:{user.username}", "console.login_succeeded", user.username,
            {"from": login.source}, now,
        )  # fmt: skip
        uow.commit()
    return Session(token, actor_of(user))


def _fail(uow: UsersUnitOfWork, user: User, login: Login, now: datetime, reason: str) -> NoReturn:
    attempts = user.failed_attempts + 1
    locked_until = now + LOCKOUT if attempts >= MAX_FAILURES else None
    uow.users.record_failure(user.id, 0 if locked_until else attempts, locked_until)
    if locked_until is not None:
        detail = {"from": login.source, "until": locked_until.isoformat()}
        uow.audit.append("system", "console.account_locked", user.username, detail, now)
    _refuse(uow, login, now, reason, attempts=attempts, locked_until=locked_until)


def _refuse(
    uow: UsersUnitOfWork,
    login: Login,
    now: datetime,
    reason: str,
    *,
    attempts: int | None = None,
    locked_until: datetime | None = None,
) -> NoReturn:
    """Audit the failure, commit it (and the counter), then refuse."""
    detail: dict[str, object] = {"from": login.source, "reason": reason}
    if attempts is not None:
        detail["attempts"] = attempts
    uow.audit.append("anonymous", "console.login_failed", login.username[:40], detail, now)
    uow.commit()
    if locked_until is not None:
        raise AccountLocked(
            f"连续{MAX_FAILURES}次登录失败，账户已锁定至 {local_text(locked_until)}，请稍后再试"
        )
    raise LoginRefused(REFUSED)


def resume_session(uow: UsersUnitOfWork, token: str, *, clock: Clock) -> Actor | None:
    """The acting user of a live session, or None (unknown, idle too long, expired, or the
    user was deactivated); a dead session is deleted."""
    if not token:
        return None
    sid = session_id(token)
    now = clock.now()
    with uow:
        found = uow.users.session(sid)
        if found is None:
            return None
        user = uow.users.by_id(found.user_id)
        alive = now < found.expires_at and now - found.last_seen_at < IDLE
        if not alive or user is None or not user.active:
            uow.users.delete_session(sid)
            uow.commit()
            return None
        if now - found.last_seen_at >= TOUCH_EVERY:
            uow.users.touch_session(sid, now)
            uow.commit()
    return actor_of(user)


def log_out(uow: UsersUnitOfWork, token: str, *, source: str, clock: Clock) -> None:
    """Revoke the session at once (its row is deleted) and audit the logout."""
    sid = session_id(token)
    now = clock.now()
    with uow:
        found = uow.users.session(sid)
        user = uow.users.by_id(found.user_id) if found else None
        if found is None or user is None:
            return
        uow.users.delete_session(sid)
        actor = f"user:{user.username}"
        uow.audit.append(actor, "console.logout", user.username, {"from": source}, now)
        uow.commit()


def hash_password(password: str) -> str:
    """The argon2id hash stored for `password` (for seeding users outside `create_user`)."""
    validate_password(password)
    return _hasher.hash(password)


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def totp_secret(uow: UnitOfWork, user: User) -> str:
    return uow.box.open_text(user.totp_secret_enc, TOTP_CONTEXT)


def totp_matches(secret: str, code: str, now: datetime) -> bool:
    """The 6-digit code of `now`, or of the 30-second step just before or after (clock drift)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    return any(
        hmac.compare_digest(totp.at(now + timedelta(seconds=30 * drift)), code)
        for drift in (-1, 0, 1)
    )


def _password_ok(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))
