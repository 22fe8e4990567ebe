"""Finance administration API (issue 10): console users and their roles — for a bureau that
provisions its staff's accounts from its own directory.

Signed with a finance bureau's credential, which acts as a finance admin of its region: it
creates accounts of any role in its region (and of its units), disables and enables them,
resets their password and TOTP, and changes their role within what it may grant. An account
out of its region answers 404. The rules are the console's (`services.users`): one service for
each, every change audited as `finance:<app id>` with before and after.

A new or reset account gets a one-time password (changed at the first login) and a new TOTP
secret with its otpauth URI, returned once. Creating an account that exists with the same role
and scope answers 200 without credentials (reset them if they were lost); with another role or
scope, 409. A reset sent with an `Idempotency-Key` gives a retry the same answer (stored
encrypted for 24 hours); without one, every reset issues new credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from publicpay.adapters.db.queries.users import UserRow, visible_user_by_name, visible_users
from publicpay.api.auth import claimed_finance_client, finance_actor
from publicpay.api.deps import container
from publicpay.api.idempotency import idempotent
from publicpay.api.routes.units import SOURCE, exists, unit_in_scope
from publicpay.api.schemas import NO_CONTROLS
from publicpay.bootstrap import Container
from publicpay.domain.access import UNIT_ROLES
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.units import ApiClient
from publicpay.services.users.accounts import NewUser, create_user, one_time_password, otpauth_uri
from publicpay.services.users.admin import change_role, reset_credentials, set_user_active

router = APIRouter(prefix="/api/v1/admin", tags=["finance administration"])

Username = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{2,39}$", description="登录用户名")]
RoleName = Literal["finance_admin", "finance_reviewer", "unit_admin", "cashier", "auditor"]
ROLE_TEXT = (
    "角色：finance_admin 财政管理员 / finance_reviewer 财政审核 / unit_admin 执收单位管理员 / "
    "cashier 收费员 / auditor 审计"
)
OUT_OF_SCOPE = "该用户不存在或不在本区划"


class UserIn(BaseModel):
    username: Annotated[str, StringConstraints(max_length=40, pattern=NO_CONTROLS)] = Field(
        description="登录用户名（3-40位小写字母、数字或 _ . -，以字母开头）"
    )
    role: RoleName = Field(description=ROLE_TEXT)
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = Field(
        default=None, description="财政与审计角色的管辖区划（须在本区划之内）；单位角色不填"
    )
    unit_code: Annotated[str, StringConstraints(max_length=20, pattern=NO_CONTROLS)] | None = Field(
        default=None, description="单位角色所属执收单位编码；财政与审计角色不填"
    )


class RoleIn(BaseModel):
    role: RoleName = Field(description=ROLE_TEXT)
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = Field(
        default=None, description="财政与审计角色的管辖区划；单位角色不填"
    )
    unit_code: Annotated[str, StringConstraints(max_length=20, pattern=NO_CONTROLS)] | None = Field(
        default=None, description="单位角色所属执收单位编码；财政与审计角色不填"
    )


class UserOut(BaseModel):
    username: str = Field(description="登录用户名")
    role: str = Field(description=ROLE_TEXT)
    region_code: str | None = Field(description="管辖区划（财政与审计角色）")
    unit_code: str | None = Field(description="所属执收单位编码（单位角色）")
    active: bool = Field(description="是否启用")
    must_change_password: bool = Field(description="下次登录须修改密码（一次性密码未改）")
    created_at: datetime = Field(description="创建时间（UTC，ISO 8601）")


class CredentialsOut(BaseModel):
    password: str = Field(description="一次性密码（首次登录后须修改；只返回一次）")
    totp_secret: str = Field(description="动态验证码（TOTP）密钥，Base32；只返回一次")
    otpauth_uri: str = Field(description="otpauth:// 地址，供身份验证器扫码绑定")


class UserWithCredentialsOut(UserOut):
    credentials: CredentialsOut | None = Field(
        description="新账户或重置后的登录凭据（只返回一次）；重复创建时为 null"
    )


def _out(row: UserRow) -> UserOut:
    return UserOut(
        username=row.username,
        role=row.role.value,
        region_code=row.region_code,
        unit_code=row.unit_code,
        active=row.active,
        must_change_password=row.must_change_password,
        created_at=row.created_at,
    )


def _user(c: Container, client: ApiClient, username: str) -> UserRow:
    with c.read_uow() as uow:
        found = visible_user_by_name(uow.connection, finance_actor(client), username)
    if found is None:
        raise NotFound(OUT_OF_SCOPE)
    return found


def _scope(
    c: Container, client: ApiClient, role: str, region_code: str | None, unit_code: str | None
) -> tuple[str | None, int | None]:
    """(region, unit id) of a grant: unit roles name a unit in scope, the others a region."""
    if role in UNIT_ROLES:
        if not unit_code:
            raise ValidationFailed("单位角色须指定所属执收单位 unit_code", errors={"unit_code": ""})
        return None, unit_in_scope(c, client, unit_code).id
    if unit_code:
        raise ValidationFailed("财政与审计角色不属于执收单位", errors={"unit_code": unit_code})
    return region_code, None


@router.get("/users", response_model=list[UserOut], summary="控制台用户列表（本区划及其单位）")
def list_users(
    client: ApiClient = Depends(claimed_finance_client), c: Container = Depends(container)
) -> list[UserOut]:
    with c.read_uow() as uow:
        rows = visible_users(uow.connection, finance_actor(client))
    return [_out(r) for r in rows]


@router.post(
    "/users",
    response_model=UserWithCredentialsOut,
    status_code=201,
    responses=exists(UserWithCredentialsOut, "已存在且角色与范围相同（幂等重复，不再返回凭据）"),
    summary="创建控制台用户（返回一次性密码与动态验证码绑定信息）",
)
def create(
    body: UserIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UserWithCredentialsOut:
    region, unit_id = _scope(c, client, body.role, body.region_code, body.unit_code)
    password = one_time_password()
    new = NewUser(body.username, password, body.role, region_code=region, unit_id=unit_id,
                  must_change_password=True)  # fmt: skip
    actor = finance_actor(client)
    credentials = None
    try:
        created = create_user(c.uow(), new, actor=actor.audit_name, clock=c.clock,
                              granted_by=actor, source=SOURCE)  # fmt: skip
        uri = otpauth_uri(created.username, created.totp_secret)
        credentials = CredentialsOut(password=password, totp_secret=created.totp_secret,
                                     otpauth_uri=uri)  # fmt: skip
    except Conflict:
        existing = _user(c, client, body.username)  # 404 when it is another region's
        if (existing.role.value, existing.region_code, existing.unit_id) != (
            body.role,
            region,
            unit_id,
        ):
            raise Conflict(
                f"用户名 {body.username} 已存在（角色或范围不同）",
                errors={"username": body.username},
            ) from None
        response.status_code = 200
    row = _user(c, client, body.username)
    return UserWithCredentialsOut(**_out(row).model_dump(), credentials=credentials)


def _set_active(c: Container, client: ApiClient, username: str, active: bool) -> UserOut:
    user = _user(c, client, username)
    set_user_active(c.uow(), user.id, active, by=finance_actor(client), source=SOURCE,
                    clock=c.clock)  # fmt: skip
    return _out(_user(c, client, username))


@router.post(
    "/users/{username}/disable",
    response_model=UserOut,
    summary="停用用户（其会话随即失效；幂等）",
)
def disable(
    username: Username,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UserOut:
    return _set_active(c, client, username, False)


@router.post("/users/{username}/enable", response_model=UserOut, summary="重新启用用户（幂等）")
def enable(
    username: Username,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UserOut:
    return _set_active(c, client, username, True)


@router.post(
    "/users/{username}/reset",
    response_model=UserWithCredentialsOut,
    summary="重置密码与动态验证码（新的一次性密码与密钥；可带 Idempotency-Key 请求头）",
)
def reset(
    username: Username,
    request: Request,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> Response:
    user = _user(c, client, username)

    def run() -> UserWithCredentialsOut:
        done = reset_credentials(c.uow(), user.id, by=finance_actor(client), source=SOURCE,
                                 clock=c.clock)  # fmt: skip
        credentials = CredentialsOut(password=done.password, totp_secret=done.totp_secret,
                                     otpauth_uri=done.otpauth_uri)  # fmt: skip
        row = _user(c, client, username)
        return UserWithCredentialsOut(**_out(row).model_dump(), credentials=credentials)

    return idempotent(c, request, f"finance:{client.app_id}", username, run, sealed=True)


@router.put(
    "/users/{username}/role",
    response_model=UserOut,
    summary="修改用户角色与范围（只能授予本凭证可授予的角色；幂等）",
)
def put_role(
    username: Username,
    body: RoleIn,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UserOut:
    user = _user(c, client, username)
    region, unit_id = _scope(c, client, body.role, body.region_code, body.unit_code)
    change_role(c.uow(), user.id, body.role, region_code=region, unit_id=unit_id,
                by=finance_actor(client), source=SOURCE, clock=c.clock)  # fmt: skip
    return _out(_user(c, client, username))
