"""Administering console users (U1, issue 10): disable and enable an account, reset its
password and TOTP (a new one-time password and a new secret, shown once), and a user changing
their own password.

A finance admin administers the accounts in its region (and of its units), a unit admin the
cashiers of its own unit; nobody administers their own account (`domain.access.may_administer`):
an out-of-scope account answers NotFound, as if it did not exist. Every change is audited with
the state before and after, and ends the account's sessions where it must.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp

from publicpay.domain.access import (
    Actor,
    User,
    may_administer,
    may_grant,
    validate_grant,
    validate_password,
)
from publicpay.domain.errors import Forbidden, NotFound, ValidationFailed
from publicpay.services.ports import Clock
from publicpay.services.users.accounts import (
    TOTP_CONTEXT,
    UsersUnitOfWork,
    hash_password,
    one_time_password,
    otpauth_uri,
    password_matches,
)


@dataclass(frozen=True, slots=True)
class ResetCredentials:
    username: str
    password: str  # one-time: changed at the next login
    totp_secret: str

    @property
    def otpauth_uri(self) -> str:
        return otpauth_uri(self.username, self.totp_secret)


class OwnRole(Forbidden):
    code = "own_role"
    title = "不能修改自己的角色"


class WrongPassword(ValidationFailed):
    code = "wrong_password"
    title = "当前密码不正确"


def _target(uow: UsersUnitOfWork, by: Actor, user_id: int) -> User:
    """The account `by` may administer, or NotFound (also when out of scope)."""
    user = uow.users.by_id(user_id)
    unit = uow.units.get(user.unit_id) if user is not None and user.unit_id is not None else None
    if user is None or not may_administer(by, user, unit.region_code if unit else None):
        raise NotFound("该用户不存在或不在您的管辖范围内")
    return user


def set_user_active(
    uow: UsersUnitOfWork, user_id: int, active: bool, *, by: Actor, source: str, clock: Clock
) -> User:
    """Disable (sessions end at once) or enable an account."""
    now = clock.now()
    with uow:
        user = _target(uow, by, user_id)
        uow.users.set_active(user.id, active)
        if not active:
            uow.users.delete_sessions_of(user.id)
        detail = {"from": source, "before": {"active": user.active}, "after": {"active": active}}
        action = "console.user_enabled" if active else "console.user_disabled"
        uow.audit.append(by.audit_name, action, user.username, detail, now)
        uow.commit()
    return user


def reset_credentials(
    uow: UsersUnitOfWork, user_id: int, *, by: Actor, source: str, clock: Clock
) -> ResetCredentials:
    """A new one-time password and a new TOTP secret (the old ones stop working; sessions end)."""
    password, secret = one_time_password(), pyotp.random_base32()
    now = clock.now()
    with uow:
        user = _target(uow, by, user_id)
        uow.users.set_password(user.id, hash_password(password), must_change=True, at=now)
        uow.users.set_totp_secret(user.id, uow.box.seal_text(secret, TOTP_CONTEXT))
        uow.users.delete_sessions_of(user.id)
        detail = {"from": source, "after": {"must_change_password": True, "totp": "new"}}
        uow.audit.append(by.audit_name, "console.user_reset", user.username, detail, now)
        uow.commit()
    return ResetCredentials(user.username, password, secret)


def change_own_password(
    uow: UsersUnitOfWork, actor: Actor, current: str, new: str, *, source: str, clock: Clock
) -> None:
    """The acting user's new password, once the current one is right; ValidationFailed
    otherwise (nothing changes). The new one must differ from the current one."""
    validate_password(new)
    now = clock.now()
    with uow:
        user = uow.users.by_id(actor.user_id)
        if user is None or not user.active:
            raise NotFound("用户不存在")
        if not password_matches(user.password_hash, current):
            uow.audit.append(
                actor.audit_name, "console.password_change_refused", user.username,
                {"from": source, "reason": "wrong_current"}, now,
            )  # fmt: skip
            uow.commit()
            raise WrongPassword("当前密码不正确，密码未修改", errors={"current": "当前密码不正确"})
        if current == new:
            raise ValidationFailed("新密码不能与当前密码相同", errors={"password": "与当前相同"})
        uow.users.set_password(user.id, hash_password(new), must_change=False, at=now)
        detail = {"from": source, "before": {"must_change_password": user.must_change_password}}
        uow.audit.append(actor.audit_name, "console.password_changed", user.username, detail, now)
        uow.commit()


def change_role(
    uow: UsersUnitOfWork,
    user_id: int,
    role: str,
    *,
    region_code: str | None,
    unit_id: int | None,
    by: Actor,
    source: str,
    clock: Clock,
) -> User:
    """Give an account another role and scope (unit or region), within what `by` may grant.

    Nobody changes their own role (refused with OwnRole and audited, so an attempt to raise
    one's own role leaves a trace); an account out of scope answers NotFound; a role or scope
    `by` may not grant is Forbidden. The account's sessions end (it logs in with its new role).
    Giving the account the role and scope it has changes nothing."""
    now = clock.now()
    with uow:
        if user_id == by.user_id and by.principal == "user":
            uow.audit.append(by.audit_name, "console.role_change_refused", by.username,
                             {"from": source, "reason": "own_account", "role": role[:20]},
                             now)  # fmt: skip
            uow.commit()
            raise OwnRole("不能修改自己的角色或管辖范围（请由上级管理员修改）")
        user = _target(uow, by, user_id)
        granted = validate_grant(user.username, role, region_code, unit_id)
        unit = uow.units.get(unit_id) if unit_id is not None else None
        if unit_id is not None and (unit is None or not by.sees_unit(unit.id, unit.region_code)):
            raise NotFound("所选单位不存在或不在您的管辖范围内")
        scope = (unit.id, unit.region_code) if unit is not None else None
        if not may_grant(by, granted, region_code, scope):
            raise Forbidden(f"您的角色（{by.label}）不能授予该角色或该范围", errors={"role": role})
        before = {"role": user.role.value, "region": user.region_code, "unit_id": user.unit_id}
        after = {"role": granted.value, "region": region_code, "unit_id": unit_id}
        if before != after:
            uow.users.set_role(user.id, granted, region_code, unit_id)
            uow.users.delete_sessions_of(user.id)
            detail = {"from": source, "before": before, "after": after}
            uow.audit.append(by.audit_name, "console.user_role_changed", user.username, detail,
                             now)  # fmt: skip
        uow.commit()
    return user
