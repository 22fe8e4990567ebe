"""用户与角色 (users and roles) screen and 修改密码 (change own password), issue 10.

A finance admin creates accounts of any role in its region (and of its units), a unit admin
the cashiers of its own unit. A new or reset account gets a one-time password and a new TOTP
secret, shown once (with the otpauth QR code to scan); its user changes the password at the
first login. Disable ends the account's sessions at once. Nobody changes their own account or
role here: an account out of scope answers 404; one's own role cannot be changed (refused with
a message and audited). Changing an account's role and scope (unit within the editor's scope)
uses the API's rule (`services.users.admin.change_role`). Every action is audited.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries.units import region_names, visible_units
from publicpay.adapters.db.queries.users import UserRow, visible_user, visible_users
from publicpay.bootstrap import Container
from publicpay.domain.access import GRANTABLE, ROLE_LABELS, UNIT_ROLES, Permission, Role
from publicpay.domain.errors import DomainError, NotFound
from publicpay.services.users.accounts import (
    NewUser,
    create_user,
    one_time_password,
    otpauth_uri,
)
from publicpay.services.users.admin import (
    change_own_password,
    change_role,
    reset_credentials,
    set_user_active,
)
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PASSWORD_PATH,
    PATH,
    Csrf,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    digits,
    form_status,
    render,
    require,
    source,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
OUT_OF_SCOPE = "该用户不存在或不在您的管辖范围内"


def qr_svg(data: str, scale: int = 4, *, fluid: bool = False) -> str:
    """An inline SVG QR code (the otpauth URI for the authenticator app; the POS's aggregate
    code for the payer's wallet)."""
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(
        out, kind="svg", scale=scale, border=2, xmldecl=False, omitsize=fluid
    )  # fluid: no width/height, only the viewBox (the page's CSS sizes it)
    return out.getvalue().decode()


def _grantable(v: Viewer) -> list[Role]:
    return [role for role in Role if role in GRANTABLE.get(v.actor.role, frozenset())]


def _context(c: Container, v: Viewer) -> dict[str, Any]:
    with c.read_uow() as uow:
        rows = visible_users(uow.connection, v.actor)
        units = visible_units(uow.connection, v.actor)
        regions = region_names(uow.connection)
    scoped_regions = sorted(code for code in regions if v.actor.sees_region(code))
    return {
        "rows": rows,
        "units": units,
        "regions": [(code, regions[code]) for code in scoped_regions],
        "region_names": regions,
        "roles": ROLE_LABELS,
        "grantable": _grantable(v),
        "unit_roles": UNIT_ROLES,
        "me": v.actor.user_id,
    }


def _page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    page = render(request, "users.html", {**_context(c, v), **extra}, viewer=v, status=status)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/users")
def users_page(
    request: Request, done: str = "", v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_USERS)
    return _page(request, c, v, done=done[:60])


@router.post("/users")
def add_user(
    request: Request,
    username: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    role: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    region_code: Annotated[str, Form(max_length=6, pattern=NO_CONTROLS)] = "",
    unit_id: Annotated[str, Form(max_length=18, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_USERS)
    check_csrf(v.csrf, csrf)
    unit = int(unit_id) if digits(unit_id) else None
    is_unit_role = role in UNIT_ROLES
    password = one_time_password()
    new = NewUser(
        username.strip(),
        password,
        role,
        region_code=None if is_unit_role else (region_code or None),
        unit_id=unit if is_unit_role else None,
        must_change_password=True,
    )
    try:
        created = create_user(
            c.uow(), new, actor=v.actor.audit_name, clock=c.clock, granted_by=v.actor,
            source=source(request),
        )  # fmt: skip
    except NotFound:
        return _page(request, c, v, status=404, error="所选单位不存在或不在您的管辖范围内")
    except DomainError as exc:
        return _page(request, c, v, status=form_status(exc), error=exc.detail, form=new)
    issued = _issued("已创建用户", created.username, password, created.totp_secret)
    return _page(request, c, v, issued=issued)


def _issued(what: str, username: str, password: str, secret: str) -> dict[str, str]:
    """What a new or reset account's user needs, shown once: password, secret, QR code."""
    uri = otpauth_uri(username, secret)
    return {"what": what, "username": username, "password": password, "totp_secret": secret,
            "uri": uri, "qr": qr_svg(uri)}  # fmt: skip


def _target(c: Container, v: Viewer, user_id: str) -> UserRow:
    found = None
    if digits(user_id):
        with c.read_uow() as uow:
            found = visible_user(uow.connection, v.actor, int(user_id))
    if found is None or found.id == v.actor.user_id:
        raise PageRefused(404, OUT_OF_SCOPE)
    return found


def _administered(c: Container, v: Viewer, user_id: str, csrf: str) -> UserRow:
    """The account a user action addresses, after the permission, CSRF and scope checks."""
    require(v, Permission.MANAGE_USERS)
    check_csrf(v.csrf, csrf)
    return _target(c, v, user_id)


@router.post("/users/{user_id}/disable")
@router.post("/users/{user_id}/enable")
def toggle_user(
    request: Request,
    user_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    target = _administered(c, v, user_id, csrf)
    active = request.url.path.endswith("/enable")
    try:
        set_user_active(
            c.uow(), target.id, active, by=v.actor, source=source(request), clock=c.clock
        )
    except NotFound:
        raise PageRefused(404, OUT_OF_SCOPE) from None
    done = ("enabled:" if active else "disabled:") + target.username
    return RedirectResponse(f"{PATH}/users?done={done}", status_code=303)


@router.post("/users/{user_id}/reset")
def reset_user(
    request: Request,
    user_id: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    target = _administered(c, v, user_id, csrf)
    try:
        reset = reset_credentials(c.uow(), target.id, by=v.actor, source=source(request),
                                  clock=c.clock)  # fmt: skip
    except NotFound:
        raise PageRefused(404, OUT_OF_SCOPE) from None
    issued = _issued("已重置密码与动态验证码", reset.username, reset.password, reset.totp_secret)
    return _page(request, c, v, issued=issued)


# --- role and scope (issue 10) ------------------------------------------------------------------

OWN_ROLE = "不能修改自己的角色或管辖范围（请由上级管理员修改）"


def _edit_page(
    request: Request, c: Container, v: Viewer, target: UserRow, *, status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    context = {**_context(c, v), "target": target, **extra}
    page = render(request, "user_edit.html", context, viewer=v, status=status)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/users/{user_id}/edit")
def user_edit_page(
    request: Request, user_id: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_USERS)
    if digits(user_id) and int(user_id) == v.actor.user_id:
        raise PageRefused(403, OWN_ROLE)
    return _edit_page(request, c, v, _target(c, v, user_id))


@router.post("/users/{user_id}/edit")
def edit_user(
    request: Request,
    user_id: str,
    role: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    region_code: Annotated[str, Form(max_length=6, pattern=NO_CONTROLS)] = "",
    unit_id: Annotated[str, Form(max_length=18, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.MANAGE_USERS)
    check_csrf(v.csrf, csrf)
    unit = int(unit_id) if digits(unit_id) else None
    is_unit_role = role in UNIT_ROLES
    region = None if is_unit_role else (region_code or None)
    of_unit = unit if is_unit_role else None
    own = digits(user_id) and int(user_id) == v.actor.user_id
    target = None if own else _target(c, v, user_id)
    try:
        change_role(c.uow(), target.id if target else v.actor.user_id, role, region_code=region,
                    unit_id=of_unit, by=v.actor, source=source(request), clock=c.clock)  # fmt: skip
    except DomainError as exc:
        if target is None:
            return _page(request, c, v, status=form_status(exc), error=exc.detail)
        return _edit_page(request, c, v, target, status=form_status(exc), error=exc.detail)
    assert target is not None
    return RedirectResponse(f"{PATH}/users?done=role:{target.username}", status_code=303)


# --- change own password ------------------------------------------------------------------------


@router.get("/password")
def password_page(request: Request, v: Viewer = Depends(viewer)) -> Response:
    return render(request, "password.html", {"forced": v.actor.must_change_password}, viewer=v)


@router.post("/password")
def change_password(
    request: Request,
    current: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    repeat: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    context: dict[str, Any] = {"forced": v.actor.must_change_password}
    if password != repeat:
        context["error"] = "两次输入的新密码不一致，密码未修改"
        return render(request, "password.html", context, viewer=v, status=422)
    try:
        change_own_password(
            c.uow(), v.actor, current, password, source=source(request), clock=c.clock
        )
    except DomainError as exc:
        context["error"] = exc.detail
        return render(request, "password.html", context, viewer=v, status=422)
    return RedirectResponse(f"{PASSWORD_PATH}/done", status_code=303)


@router.get("/password/done")
def password_done(request: Request, v: Viewer = Depends(viewer)) -> Response:
    context = {"title": "密码已修改", "message": "新密码已生效，下次登录请使用新密码。"}
    return render(request, "done.html", context, viewer=v)
