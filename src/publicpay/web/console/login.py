"""Console login (password + 6-digit TOTP code), logout, and the home page."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.services.users.accounts import (
    MAX_FAILURES,
    Login,
    LoginPolicy,
    LoginRefused,
    LoginThrottled,
    log_in,
    log_out,
)
from publicpay.web.console.pages import (
    COOKIE,
    LOGIN_COOKIE,
    NO_CONTROLS,
    PATH,
    Viewer,
    check_csrf,
    container,
    login_csrf,
    render,
    secure_cookie,
    source,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
SCREENS = (
    (
        Permission.REGISTER_BATCHES,
        "/payable-batches",
        "批量登记",
        "上传 Excel / CSV 批量登记应缴款（如学期学费）：逐行预览校验结果，确认后登记",
    ),
    (
        Permission.VIEW_STOCK,
        "/stock",
        "票据号段",
        "各单位领用的票据号段及使用情况；财政管理员可分配新号段",
    ),
    (
        Permission.ROTATE_KEYS,
        "/keys",
        "签名密钥",
        "单位签名密钥与财政监制密钥的轮换（旧公钥保留用于查验）",
    ),
    (
        Permission.VIEW_WRITE_OFF,
        "/write-off",
        "票据核销",
        "按单位和期间生成核销报表，检查票款一致，导出 Excel",
    ),
    # administration (issue 10, area: admin)
    (
        Permission.VIEW_UNITS,
        "/units",
        "执收单位",
        "执收单位、网点与窗口、授权收费项目；行政区划",
    ),
    (
        Permission.VIEW_CATALOGUE,
        "/catalogue",
        "收费项目",
        "收费项目目录：类别、预算科目、分成、收费标准及其历史与依据",
    ),
    (
        Permission.MANAGE_USERS,
        "/users",
        "用户与角色",
        "创建账户并发放一次性密码与动态验证码，停用、重置账户",
    ),
    (
        Permission.MANAGE_CHANNELS,
        "/channel-accounts",
        "渠道商户账户",
        "支付宝、微信支付、银联的商户配置：测试调用通过才保存，密钥加密存储不回显",
    ),
    (
        Permission.MANAGE_WEBHOOKS,
        "/webhooks",
        "回调推送",
        "单位业务系统的通知地址与签名密钥，推送记录与手动重推",
    ),
    (
        Permission.VIEW_AUDIT,
        "/audit",
        "审计日志",
        "按用户、操作、对象、日期查询操作记录，校验哈希链",
    ),
    # refunds (issue 11, area: refunds)
    (
        Permission.VIEW_REFUNDS,
        "/refunds",
        "退款",
        "单位申请退款，财政审核审批（申请人不能审批，超限额须两人审批）；柜台与现金缴款经银行转账退回",
    ),
    # statistics (issue 10): statistics, the phone view, lists
    (
        Permission.VIEW_STATISTICS,
        "/stats",
        "收入统计",
        "今日及任意期间的收入、笔数、在线缴费率，按渠道、单位、网点、窗口、项目、级次、区划、终端统计，图表可逐级查看明细",
    ),
    (
        Permission.VIEW_STATISTICS,
        "/m",
        "掌上监管",
        "手机版：今日收入按单位、渠道一览，可添加到手机桌面",
    ),
    (
        Permission.VIEW_ALERTS,
        "/alerts",
        "监管预警",
        "订单长时间支付中、已缴款未开票、退款率异常、票据号段不足、终端离线、对账差异未处理",
    ),
    (
        Permission.VIEW_LISTS,
        "/payables",
        "缴款单查询",
        "按缴款码、业务单号、证件号码、手机号、单位、项目、状态、渠道、日期查询，查看完整记录并导出",
    ),
    (
        Permission.VIEW_LISTS,
        "/orders",
        "支付订单",
        "各渠道支付订单：网点、窗口、终端、渠道交易号，可导出 CSV / Excel",
    ),
    (
        Permission.VIEW_LISTS,
        "/receipts",
        "电子票据",
        "已开具的电子票据与红字票据，按号码、单位、日期查询",
    ),
    (
        Permission.VIEW_LISTS,
        "/events",
        "事件与推送",
        "业务事件及其向单位业务系统的推送状态；推送记录见“推送记录”",
    ),
    # the cash office
    (
        Permission.OPERATE_SHIFT,
        "/shifts",
        "我的班次",
        "开班、查看本班收款、结班点钞（按券别），打印解款单",
    ),
    (
        Permission.VIEW_SHIFT_REPORTS,
        "/shifts",
        "收费班次",
        "结班差异确认、班次报表（按收款方式、长短款、解款）与 Excel 导出",
    ),
)


def _safe_next(next_path: str) -> str:
    if next_path.startswith(PATH) and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return PATH


def _login_page(
    request: Request, c: Container, *, next_path: str, error: str = "", status: int = 200
) -> Response:
    pre = secrets.token_urlsafe(24)
    context = {
        "csrf": login_csrf(c, pre),
        "next": _safe_next(next_path),
        "error": error,
        "username": "",
        "max_failures": MAX_FAILURES,
        "bye": request.query_params.get("bye") == "1",
    }
    response = render(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_COOKIE, pre, max_age=1800, path=PATH, httponly=True, samesite="strict",
        secure=secure_cookie(request),
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, next: str = PATH, c: Container = Depends(container)) -> Response:
    return _login_page(request, c, next_path=next)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=10, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    next: Annotated[str, Form(max_length=300, pattern=NO_CONTROLS)] = PATH,
    c: Container = Depends(container),
) -> Response:
    pre = request.cookies.get(LOGIN_COOKIE, "")
    if not pre or not secrets.compare_digest(login_csrf(c, pre), csrf):
        error = "登录页面已过期，请重新输入后登录"
        return _login_page(request, c, next_path=next, error=error, status=403)
    attempt = Login(username, password, code, source(request))
    policy = LoginPolicy(
        c.settings.login_failures_per_address, timedelta(seconds=c.settings.login_failure_window_s)
    )
    try:
        session = log_in(c.uow(), attempt, clock=c.clock, policy=policy)
    except LoginThrottled as exc:
        page = _login_page(request, c, next_path=next, error=exc.detail, status=429)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except LoginRefused as exc:
        return _login_page(request, c, next_path=next, error=exc.detail, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, session.token, path=PATH, httponly=True, samesite="strict",
        secure=secure_cookie(request),
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
def logout(
    request: Request,
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    check_csrf(v.csrf, csrf)
    log_out(c.uow(), request.cookies.get(COOKIE, ""), source=source(request), clock=c.clock)
    response = RedirectResponse(f"{PATH}/login?bye=1", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@router.get("")
@router.get("/")
def home(request: Request, v: Viewer = Depends(viewer)) -> Response:
    screens = [
        {"href": PATH + path, "title": title, "hint": hint}
        for permission, path, title, hint in SCREENS
        if v.actor.can(permission)
    ]
    return render(request, "home.html", {"screens": screens}, viewer=v)
