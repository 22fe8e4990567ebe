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
    # --- administration (issue 10, area: admin) ---
    MANAGE_USERS = "users.manage"  # 用户与角色：创建、停用、重置（单位管理员仅本单位收费员）
    VIEW_UNITS = "units.view"  # 执收单位、网点与窗口：查看
    MANAGE_UNITS = "units.manage"  # 执收单位、网点与窗口、行政区划：新增与修改
    VIEW_CATALOGUE = "catalogue.view"  # 收费项目目录：查看
    MANAGE_CATALOGUE = "catalogue.manage"  # 收费项目、收费标准、单位授权：新增与修改
    VIEW_AUDIT = "audit.view"  # 审计日志：查询与校验
    MANAGE_WEBHOOKS = "webhooks.manage"  # 回调地址与推送记录：查看、重推
    MANAGE_CHANNELS = "channel_accounts.manage"  # 渠道商户账户：查看与配置
    # --- refunds (issue 11, area: refunds) ---
    VIEW_REFUNDS = "refunds.view"  # 退款：查看
    REQUEST_REFUNDS = "refunds.request"  # 退款：申请
    APPROVE_REFUNDS = "refunds.approve"  # 退款：审批、驳回、重试、登记银行转账
    # statistics (issue 10): lists, statistics, exports, supervision alerts, the phone view
    VIEW_LISTS = "lists.view"  # 缴款单、订单、票据、事件、推送记录：查询与导出
    VIEW_STATISTICS = "statistics.view"  # 收入统计、掌上监管：查看与导出
    VIEW_ALERTS = "alerts.view"  # 监管预警：查看
    ACKNOWLEDGE_ALERTS = "alerts.acknowledge"  # 监管预警：确认处理
    # devices (issue 13)
    VIEW_DEVICES = "devices.view"  # 设备：状态、用量
    MANAGE_DEVICES = "devices.manage"  # 设备：登记（凭证只显示一次）
    # reconciliation and clearing (issue 12)
    VIEW_RECONCILIATION = "reconciliation.view"  # 对账：查看日结、明细、差错与日报
    RUN_RECONCILIATION = "reconciliation.run"  # 对账：上传对账单、重新对账
    RESOLVE_EXCEPTIONS = "reconciliation.resolve"  # 差错：分派、处理（补单、退款、核销、确认）
    REVIEW_EXCEPTIONS = "reconciliation.review"  # 差错：复核他人的处理
    RUN_CLEARING = "clearing.run"  # 清算：生成划款指令、下载缴库凭证
    # the cash office (shifts)
    OPERATE_SHIFT = "shifts.operate"  # 收费员：开班、结班（本人班次）
    CONFIRM_SHIFTS = "shifts.confirm"  # 值班主管：确认结班差异
    VIEW_SHIFT_REPORTS = "shifts.report"  # 班次报表、解款单与导出
    CREDIT_DEPOSITS = "deposits.credit"  # 登记解款到账（对银行流水）
    # portal (issue 13)
    VIEW_MESSAGES = "messages.view"  # 缴款人消息：推送的缴款链接短信/应用消息
    USE_POS = "pos.use"  # 窗口收费：开班、查找业务、扫码/现金收款、打印票据（收费员）


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
# --- administration (issue 10, area: admin): what the other roles may see and do ---
PERMISSIONS[Role.FINANCE_REVIEWER] |= {Permission.VIEW_UNITS, Permission.VIEW_CATALOGUE}
PERMISSIONS[Role.UNIT_ADMIN] |= {
    Permission.MANAGE_USERS,
    Permission.VIEW_UNITS,
    Permission.VIEW_CATALOGUE,
    Permission.MANAGE_WEBHOOKS,
}
PERMISSIONS[Role.AUDITOR] |= {
    Permission.VIEW_AUDIT,
    Permission.VIEW_UNITS,
    Permission.VIEW_CATALOGUE,
}
# --- refunds (issue 11, area: refunds) ---
PERMISSIONS[Role.FINANCE_REVIEWER] |= {Permission.VIEW_REFUNDS, Permission.APPROVE_REFUNDS}
PERMISSIONS[Role.UNIT_ADMIN] |= {Permission.VIEW_REFUNDS, Permission.REQUEST_REFUNDS}
PERMISSIONS[Role.AUDITOR] |= {Permission.VIEW_REFUNDS}
# --- devices (issue 13, area: devices) ---
PERMISSIONS[Role.FINANCE_REVIEWER] |= {Permission.VIEW_DEVICES}
PERMISSIONS[Role.UNIT_ADMIN] |= {Permission.VIEW_DEVICES, Permission.MANAGE_DEVICES}
PERMISSIONS[Role.AUDITOR] |= {Permission.VIEW_DEVICES}

# statistics (issue 10): who reads the lists, statistics and alerts (always within their scope)
_STATISTICS_GRANTS = {
    Role.FINANCE_REVIEWER: {
        Permission.VIEW_LISTS,
        Permission.VIEW_STATISTICS,
        Permission.VIEW_ALERTS,
        Permission.ACKNOWLEDGE_ALERTS,
    },
    Role.UNIT_ADMIN: {
        Permission.VIEW_LISTS,
        Permission.VIEW_STATISTICS,
        Permission.VIEW_ALERTS,
        Permission.ACKNOWLEDGE_ALERTS,
    },
    Role.AUDITOR: {Permission.VIEW_LISTS, Permission.VIEW_STATISTICS, Permission.VIEW_ALERTS},
}
for _role, _granted in _STATISTICS_GRANTS.items():
    PERMISSIONS[_role] |= _granted
# the cash office (shifts): cashiers run their shifts; a unit admin (值班主管) or a finance user
# confirms a difference and reads the reports; finance records deposits as arrived.
_CASH_OFFICE: dict[Role, frozenset[Permission]] = {
    Role.FINANCE_REVIEWER: frozenset(
        {Permission.CONFIRM_SHIFTS, Permission.VIEW_SHIFT_REPORTS, Permission.CREDIT_DEPOSITS}
    ),
    Role.UNIT_ADMIN: frozenset({Permission.CONFIRM_SHIFTS, Permission.VIEW_SHIFT_REPORTS}),
    Role.CASHIER: frozenset({Permission.OPERATE_SHIFT}),
    Role.AUDITOR: frozenset({Permission.VIEW_SHIFT_REPORTS}),
}
PERMISSIONS.update({role: PERMISSIONS[role] | extra for role, extra in _CASH_OFFICE.items()})
PERMISSIONS[Role.FINANCE_ADMIN] -= {Permission.OPERATE_SHIFT}  # only cashiers work a window
# portal (issue 13): the messages pushed to payers, for those who answer payers' questions
for _role in (Role.FINANCE_REVIEWER, Role.UNIT_ADMIN, Role.AUDITOR):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {Permission.VIEW_MESSAGES}
PERMISSIONS[Role.CASHIER] = PERMISSIONS[Role.CASHIER] | {Permission.USE_POS}
PERMISSIONS[Role.FINANCE_ADMIN] = PERMISSIONS[Role.FINANCE_ADMIN] - {Permission.USE_POS}

# reconciliation and clearing (issue 12): finance reviewers see, resolve and review (never their
# own resolution); auditors see
PERMISSIONS[Role.FINANCE_REVIEWER] |= {
    Permission.VIEW_RECONCILIATION,
    Permission.RESOLVE_EXCEPTIONS,
    Permission.REVIEW_EXCEPTIONS,
}
PERMISSIONS[Role.AUDITOR] |= {Permission.VIEW_RECONCILIATION}

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
    must_change_password: bool = False  # set by an administrator or the CLI: changed at login


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting in the console, with the scope they were granted."""

    user_id: int
    username: str
    role: Role
    region_code: str | None
    unit_id: int | None
    must_change_password: bool = False
    principal: str = "user"  # "finance": a finance bureau's signed administration system

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def audit_name(self) -> str:
        return f"{self.principal}:{self.username}"

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
    return Actor(
        user.id,
        user.username,
        user.role,
        user.region_code,
        user.unit_id,
        user.must_change_password,
    )


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


# --- administration (issue 10, area: admin) ---------------------------------------------------

# Who may grant which roles: a finance admin any role in its scope, a unit admin only cashiers of
# its own unit; nobody changes their own role or account.
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.FINANCE_ADMIN: frozenset(Role),
    Role.UNIT_ADMIN: frozenset({Role.CASHIER}),
}


def region_prefix(region_code: str) -> str:
    """The code prefix every region at or below `region_code` shares (GB/T 2260): 330000 → 33,
    330100 → 3301, 330105 → 330105. Scope filters use it in the query (`LIKE prefix%`)."""
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def region_parent(region_code: str) -> str | None:
    """The region directly above (a district's city, a city's province); None for a province."""
    ancestors = region_ancestors(region_code)
    return ancestors[1] if len(ancestors) > 1 else None


def validate_region_code(region_code: str) -> None:
    if not _REGION.match(region_code) or region_code.startswith("00"):
        raise ValidationFailed(
            "行政区划代码应为6位数字（GB/T 2260）", errors={"region_code": region_code}
        )


def may_grant(
    actor: Actor, role: Role, region_code: str | None, unit: tuple[int, str] | None
) -> bool:
    """Whether `actor` may give an account this role and scope (`unit`: id and region of the
    account's unit). A region role is granted inside the actor's region, a unit role for a
    unit the actor sees."""
    if role not in GRANTABLE.get(actor.role, frozenset()):
        return False
    if role in REGION_ROLES:
        return region_code is not None and actor.sees_region(region_code)
    return unit is not None and actor.sees_unit(*unit)


def may_administer(actor: Actor, user: User, unit_region: str | None) -> bool:
    """Whether `actor` may disable, enable or reset `user` (never itself)."""
    if user.id == actor.user_id:
        return False
    unit = (user.unit_id, unit_region) if user.unit_id is not None and unit_region else None
    return may_grant(actor, user.role, user.region_code, unit)
