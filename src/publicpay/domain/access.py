"""Console users: roles, what each role may do, and whose data it may see (RBAC + data scope).

Finance roles (and the auditor) are granted a region (GB/T 2260) and see that region and every
region below it: a city's finance user sees its districts' units. Unit roles see their own unit.
Checks here are pure; every console page calls them on the server for each request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.accounts import region_ancestors


class Role(StrEnum):
    FINANCE_ADMIN = "finance_admin"  # 财政管理员
    FINANCE_REVIEWER = "finance_reviewer"  # 财政审核/监管
    UNIT_ADMIN = "unit_admin"  # 执收单位管理员
    CASHIER = "cashier"  # 收费员
    AUDITOR = "auditor"  # 审计（只读）


class Permission(StrEnum):
    VIEW_STOCK = "stock.view"  # 票据号段：查看
    ALLOCATE_STOCK = "stock.allocate"  # 票据号段：分配
    ROTATE_KEYS = "keys.rotate"  # 签名密钥：查看与轮换
    VIEW_WRITE_OFF = "write_off.view"  # 票据核销：报表与导出
    REGISTER_BATCHES = "payable_batches.register"  # 批量登记应缴款（上传、预览、确认）
    MANAGE_CREDENTIALS = "credentials.manage"  # 接口凭证：查看、轮换、吊销
    # portal (issue 13)
    VIEW_MESSAGES = "messages.view"  # 缴款人消息：推送的缴款链接短信/应用消息


ROLE_LABELS = {
    Role.FINANCE_ADMIN: "财政管理员",
    Role.FINANCE_REVIEWER: "财政审核",
    Role.UNIT_ADMIN: "执收单位管理员",
    Role.CASHIER: "收费员",
    Role.AUDITOR: "审计",
}

FINANCE_ROLES = frozenset({Role.FINANCE_ADMIN, Role.FINANCE_REVIEWER})
REGION_ROLES = FINANCE_ROLES | {Role.AUDITOR}  # scoped by a region
UNIT_ROLES = frozenset({Role.UNIT_ADMIN, Role.CASHIER})  # scoped by one unit

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.FINANCE_ADMIN: frozenset(Permission),
    Role.FINANCE_REVIEWER: frozenset({Permission.VIEW_STOCK, Permission.VIEW_WRITE_OFF}),
    Role.UNIT_ADMIN: frozenset(
        {
            Permission.VIEW_STOCK,
            Permission.VIEW_WRITE_OFF,
            Permission.REGISTER_BATCHES,
            Permission.MANAGE_CREDENTIALS,
        }
    ),
    Role.CASHIER: frozenset(),
    Role.AUDITOR: frozenset({Permission.VIEW_STOCK, Permission.VIEW_WRITE_OFF}),
}
# portal (issue 13): the messages pushed to payers, for those who answer payers' questions
for _role in (Role.FINANCE_REVIEWER, Role.UNIT_ADMIN, Role.AUDITOR):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {Permission.VIEW_MESSAGES}

_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
_REGION = re.compile(r"^\d{6}$")
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class User:
    """A stored console user (the password hash and the sealed TOTP secret stay opaque here)."""

    id: int
    username: str
    password_hash: str
    totp_secret_enc: bytes
    role: Role
    region_code: str | None
    unit_id: int | None
    active: bool
    failed_attempts: int
    locked_until: datetime | None
    totp_last_step: int | None = None  # the last TOTP time step accepted (RFC 6238 §5.2)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting in the console, with the scope they were granted."""

    user_id: int
    username: str
    role: Role
    region_code: str | None
    unit_id: int | None

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def audit_name(self) -> str:
        return f"user:{self.username}"

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def sees_region(self, region_code: str) -> bool:
        """Region roles: their region and below. Unit roles see no region as a whole."""
        if self.role not in REGION_ROLES or self.region_code is None:
            return False
        return self.region_code in region_ancestors(region_code)

    def sees_unit(self, unit_id: int, unit_region: str) -> bool:
        if self.role in UNIT_ROLES:
            return self.unit_id == unit_id
        return self.sees_region(unit_region)

    def may(self, permission: Permission, unit_id: int, unit_region: str) -> bool:
        """The role allows it and the unit is in scope."""
        return self.can(permission) and self.sees_unit(unit_id, unit_region)


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.role, user.region_code, user.unit_id)


def validate_grant(username: str, role: str, region_code: str | None, unit_id: int | None) -> Role:
    """The role of a new user, once its name and scope fit it; ValidationFailed otherwise."""
    if not _USERNAME.match(username):
        raise ValidationFailed(
            "用户名应为3-40位小写字母、数字或 _ . -，以字母开头", errors={"username": username}
        )
    try:
        granted = Role(role)
    except ValueError:
        raise ValidationFailed(f"未知角色 {role}", errors={"role": role}) from None
    if granted in REGION_ROLES and not (region_code and _REGION.match(region_code)):
        raise ValidationFailed("财政与审计角色须指定6位行政区划代码", errors={"region_code": ""})
    if granted in REGION_ROLES and unit_id is not None:
        raise ValidationFailed("财政与审计角色不属于执收单位", errors={"unit_id": str(unit_id)})
    if granted in UNIT_ROLES and (unit_id is None or region_code):
        raise ValidationFailed("单位角色须指定所属执收单位（不指定区划）", errors={"unit_id": ""})
    return granted


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"密码至少{MIN_PASSWORD}位", errors={"password": f"至少{MIN_PASSWORD}位"}
        )
