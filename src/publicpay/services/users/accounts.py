"""Console users (U1): create, log in with password AND a current TOTP code, sessions, log out.

- Passwords are argon2id hashes (argon2-cffi); TOTP secrets (RFC 6238, pyotp) are sealed with
  the platform's secret box. Both libraries are plain algorithms, not frameworks, so this service
  uses them directly rather than through a port.
- Five failed attempts in a row (wrong password or wrong code) lock the account for 15 minutes;
  while locked even the right credentials are refused. Success resets the count.
- Unknown, inactive, locked and wrongly answered accounts are refused alike: the same answer and
  about the same work (a password hash is checked every time, against a dummy hash for unknown
  users), so the login form tells no one whether an account exists or is locked.
- Failures are also counted per client address (`LoginPolicy`: 20 in 15 minutes by default);
  over that the address is refused (LoginThrottled, 429 with Retry-After) before any password is
  checked, so one address can neither guess on nor lock out every account.
- A TOTP code is accepted once (RFC 6238 §5.2): the time step of the last accepted code is kept
  per user in the database, so a code seen over a shoulder or replayed is refused, in every
  process.
- A session is a random token in the browser; the database keeps only its SHA-256. It ends after
  30 idle minutes, 12 hours at most, or at logout (the row is deleted: revoked at once).
- Every login success and failure, lockout and logout writes an audit row (who, what, from where).
"""

from __future__ import annotations

import hashlib
import hmac
import math
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
    may_grant,
    validate_grant,
    validate_password,
)
from publicpay.domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork
from publicpay.services.users.ports import UsersRepo

IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_CONTEXT = b"console-totp"
TOTP_STEP_S = 30
REFUSED = "用户名、密码或动态验证码错误（连续多次失败后账户将暂时锁定，请稍后再试或联系管理员）"
CODE_REUSED = "该动态验证码已使用过，请等待身份验证器显示新的验证码后再登录"

_hasher = PasswordHasher()


class UsersUnitOfWork(UnitOfWork, Protocol):
    """The unit of work with the users repository (to be merged into the port)."""

    @property
    def users(self) -> UsersRepo: ...


class LoginRefused(Unauthorized):
    code = "login_refused"
    title = "登录失败"


class LoginThrottled(LoginRefused):
    """Too many failed logins from one client address."""

    code = "login_throttled"
    title = "登录尝试过于频繁"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """Failed logins allowed per client address in a window (PUBLICPAY_LOGIN_*)."""

    failures_per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    password: str
    role: str
    region_code: str | None = None
    unit_id: int | None = None
    totp_secret: str | None = None  # a new random one when None
    must_change_password: bool = False  # a one-time password given by an administrator


@dataclass(frozen=True, slots=True)
class CreatedUser:
    id: int
    username: str
    totp_secret: str  # shown once, to be enrolled in the user's authenticator app

    @property
    def otpauth_uri(self) -> str:
        return otpauth_uri(self.username, self.totp_secret)


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


def create_user(
    uow: UsersUnitOfWork,
    new: NewUser,
    *,
    actor: str,
    clock: Clock,
    granted_by: Actor | None = None,
    source: str = "",
) -> CreatedUser:
    """Add a console user with its role and scope; its TOTP secret is returned once. With
    `granted_by` (a console user), the role and scope must be ones that user may grant."""
    role = validate_grant(new.username, new.role, new.region_code, new.unit_id)
    secret = new.totp_secret or pyotp.random_base32()
    now = clock.now()
    with uow:
        unit = uow.units.get(new.unit_id) if new.unit_id is not None else None
        if new.unit_id is not None and unit is None:
            raise NotFound(f"单位 {new.unit_id} 不存在")
        if granted_by is not None:
            scope = (unit.id, unit.region_code) if unit is not None else None
            if not may_grant(granted_by, role, new.region_code, scope):
                raise Forbidden(
                    f"您的角色（{granted_by.label}）不能授予该角色或该范围",
                    errors={"role": role.value},
                )
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
            must_change_password=new.must_change_password,
        )
        granted: dict[str, object] = {
            "role": role.value, "region": new.region_code, "unit_id": new.unit_id,
        }  # fmt: skip
        detail: dict[str, object] = {**granted, "after": {**granted, "active": True}}
        if source:
            detail["from"] = source
        uow.audit.append(actor, "console.user_created", new.username, detail, now)
        uow.commit()
    return CreatedUser(user_id, new.username, secret)


def log_in(
    uow: UsersUnitOfWork, login: Login, *, clock: Clock, policy: LoginPolicy | None = None
) -> Session:
    """A new session when the password and an unused TOTP code are both right and neither the
    account nor the client address is locked out; LoginRefused (or LoginThrottled) otherwise,
    with the failure audited and counted."""
    policy = policy or LoginPolicy()
    now = clock.now()
    with uow:
        _check_source(uow, login, now, policy)
        user = uow.users.by_username(login.username.strip(), lock=True)
        hashed = user.password_hash if user is not None and user.active else _dummy_hash()
        password_ok = password_matches(hashed, login.password)  # the same work, known or not
        if user is None or not user.active:
            _refuse(uow, login, now, "unknown_or_inactive", policy)
        if user.locked_until is not None and user.locked_until > now:
            _refuse(uow, login, now, "locked", policy)
        step = totp_step(totp_secret(uow, user), login.code, now)
        if not password_ok or step is None:
            _fail(uow, user, login, now, "password" if not password_ok else "totp", policy)
        if user.totp_last_step is not None and step <= user.totp_last_step:
            _fail(uow, user, login, now, "totp_reused", policy, detail=CODE_REUSED)
        stale = _hasher.check_needs_rehash(user.password_hash)
        rehashed = _hasher.hash(login.password) if stale else None
        uow.users.record_success(user.id, rehashed, totp_step=step)
        token = secrets.token_urlsafe(32)
        uow.users.add_session(session_id(token), user.id, now, now + SESSION_MAX)
        uow.audit.append(
            f"user:{user.username}", "console.login_succeeded", user.username,
            {"from": login.source}, now,
        )  # fmt: skip
        uow.commit()
    return Session(token, actor_of(user))


def _check_source(uow: UsersUnitOfWork, login: Login, now: datetime, policy: LoginPolicy) -> None:
    """LoginThrottled (audited) when the client address used up its failures this window."""
    found = uow.users.source_failures(login.source)
    if found is None:
        return
    failures, started = found
    ends = started + policy.window
    if failures < policy.failures_per_address or ends <= now:
        return
    wait_s = max(1, math.ceil((ends - now).total_seconds()))
    detail = {"from": login.source, "failures": failures, "retry_after_s": wait_s}
    uow.audit.append("anonymous", "console.login_throttled", login.username[:40], detail, now)
    uow.commit()
    minutes = math.ceil(wait_s / 60)
    raise LoginThrottled(
        f"来自您所在网络地址的登录失败次数过多，请 {minutes} 分钟后再试", retry_after_s=wait_s
    )


def _fail(
    uow: UsersUnitOfWork,
    user: User,
    login: Login,
    now: datetime,
    reason: str,
    policy: LoginPolicy,
    *,
    detail: str = REFUSED,
) -> NoReturn:
    attempts = user.failed_attempts + 1
    locked_until = now + LOCKOUT if attempts >= MAX_FAILURES else None
    uow.users.record_failure(user.id, 0 if locked_until else attempts, locked_until)
    if locked_until is not None:
        audited = {"from": login.source, "until": locked_until.isoformat()}
        uow.audit.append("system", "console.account_locked", user.username, audited, now)
        detail = REFUSED  # the lockout itself is not told: a locked account looks like any other
    _refuse(uow, login, now, reason, policy, attempts=attempts, detail=detail)


def _refuse(
    uow: UsersUnitOfWork,
    login: Login,
    now: datetime,
    reason: str,
    policy: LoginPolicy,
    *,
    attempts: int | None = None,
    detail: str = REFUSED,
) -> NoReturn:
    """Audit the failure, count it for the account (done by the caller) and for the client
    address, commit, then refuse."""
    audited: dict[str, object] = {"from": login.source, "reason": reason}
    if attempts is not None:
        audited["attempts"] = attempts
    uow.audit.append("anonymous", "console.login_failed", login.username[:40], audited, now)
    uow.users.record_source_failure(login.source, now, now - policy.window)
    uow.commit()
    raise LoginRefused(detail)


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


ISSUER = "统一公共支付平台"


def otpauth_uri(username: str, secret: str) -> str:
    """The enrolment URI an authenticator app scans (as a QR code) or takes pasted."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def one_time_password() -> str:
    """A random password an administrator hands over; its user changes it at first login."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    """The argon2id hash stored for `password` (for seeding users outside `create_user`)."""
    validate_password(password)
    return _hasher.hash(password)


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def totp_secret(uow: UnitOfWork, user: User) -> str:
    return uow.box.open_text(user.totp_secret_enc, TOTP_CONTEXT)


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The RFC 6238 time step whose 6-digit code `code` is: `now`'s, or the one just before or
    after (clock drift); None when it is none of them."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_S
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_S), code):
            return step
    return None


def totp_matches(secret: str, code: str, now: datetime) -> bool:
    """Whether `code` is a current code of `secret` (whether it was used before is not asked)."""
    return totp_step(secret, code, now) is not None


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))
