"""RFC 9457 problem+json: one table from domain error codes to HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from publicpay.api.openapi_contract import allowed_methods
from publicpay.domain.errors import DomainError, RateLimited

log = logging.getLogger("publicpay.api")

STATUS_BY_CODE: dict[str, int] = {
    "validation_failed": 422,
    "not_found": 404,
    "conflict": 409,
    "invalid_transition": 409,
    "unauthorized": 401,
    "forbidden": 403,
    "item_not_authorised": 403,
    "channel_unavailable": 503,
    "channel_rejected": 502,
    "invalid_notification": 400,
    "receipt_stock_exhausted": 503,
    "receipt_not_ready": 409,
    "receipt_key_missing": 503,
    "receipt_not_found": 404,  # no such receipt, or a wrong check code (not told apart)
    "receipt_lookups_limited": 429,  # wrong check codes over the caller's or receipt's allowance
    "anonymous_limited": 429,  # lookups by payment code over the per-address allowance
    "orders_limited": 429,  # channel orders opened over the per-address hourly allowance
    "too_many_open_orders": 409,  # a payable has as many unpaid channel orders as allowed
    "shift_required": 409,  # a payment at a window whose cashier has not opened a shift
    "rate_limited": 429,  # a signed API credential over its allowance (PUBLICPAY_API_RATE_*)
    "refund_exceeds_refundable": 409,  # more than is left of what was paid (refunds)
    "self_approval": 403,  # the requester (or an earlier approver) approving a refund
    "printer_unavailable": 409,  # a kiosk whose printer is faulty or out of paper (issue 13)
    "device_not_found": 404,
    "kiosk_disabled": 403,  # a kiosk whose credential was revoked
    "cart_mixes_accounts": 409,  # a cart of payables collected through different accounts
    "card_outcome_unknown": 409,  # a card sale whose outcome the acquirer has not told yet
    "business_system_unavailable": 504,  # the unit's business system did not answer in time
    "business_answer_invalid": 502,  # … answered unsigned, badly signed or malformed
    "unbalanced_journal": 500,
    "own_role": 403,  # a console user changing their own role or scope (admin)
    "wrong_password": 422,  # changing one's password with a wrong current one (admin)
    "standard_overlap": 409,  # a fee standard whose dates overlap another (catalogue)
}

_HTTP_TITLES = {
    400: "请求格式错误",
    401: "身份验证失败",
    404: "未找到",
    405: "不支持的请求方法",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求数据有误",
}


def problem(
    status: int, title: str, detail: str, *, type_: str = "about:blank", errors: Any = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body["errors"] = errors or {}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def problem_for(exc: DomainError) -> JSONResponse:
    """The problem+json answer for a domain refusal."""
    status = STATUS_BY_CODE.get(exc.code, 400)
    answer = problem(
        status, exc.title, exc.detail, type_=f"urn:publicpay:problem:{exc.code}", errors=exc.errors
    )
    if isinstance(exc, RateLimited):
        answer.headers["Retry-After"] = str(exc.retry_after_s)
    return answer


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    log.info("refused %s %s: %s %s", request.method, request.url.path, exc.code, exc.detail)
    return problem_for(exc)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, str] = {}
    malformed = False
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            malformed = True
            loc = []  # the position inside the text is no field name
        errors[".".join(loc) or "body"] = _chinese(err)
    log.info("refused %s %s: invalid body %s", request.method, request.url.path, errors)
    if malformed:
        return problem(
            400,
            "请求格式错误",
            "请求体不是合法的 JSON",
            errors=errors,
            type_="urn:publicpay:problem:malformed_json",
        )
    return problem(
        422,
        "请求数据有误",
        "请求字段校验未通过",
        errors=errors,
        type_="urn:publicpay:problem:validation_failed",
    )


def _chinese(err: Any) -> str:
    kind = str(err.get("type", ""))
    messages = {
        "missing": "必填字段缺失",
        "string_type": "应为字符串",
        "int_type": "应为整数",
        "int_parsing": "应为整数",
        "literal_error": "取值不在允许范围内",
        "enum": "取值不在允许范围内",
        "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
        "date_parsing": "日期格式应为 YYYY-MM-DD",
        "greater_than_equal": "数值过小",
        "less_than_equal": "数值过大",
        "string_too_long": "长度超出限制",
        "string_too_short": "不能为空",
        "string_pattern_mismatch": "格式不正确（或含有控制字符）",
        "int_from_float": "应为整数",
        "bool_type": "应为 true 或 false",
        "bool_parsing": "应为 true 或 false",
        "date_type": "日期格式应为 YYYY-MM-DD",
        "date_too_early": "日期过早",
        "date_too_late": "日期过晚",
        "url_parsing": "地址格式错误",
        "value_error": "取值无效",
        "greater_than": "数值过小",
        "less_than": "数值过大",
        "too_short": "不能为空",
        "too_long": "条目过多",
        "extra_forbidden": "不允许的字段",
        "json_invalid": "JSON 格式错误",
        "model_attributes_type": "应为对象",
        "dict_type": "应为对象",
        "list_type": "应为数组",
    }
    return messages.get(kind, str(err.get("msg", "无效")))


# Starlette's and FastAPI's own English details, said in Chinese.
_DETAILS = {
    "There was an error parsing the body": (
        "请求体无法解析（不是 UTF-8 编码的合法 JSON、表单格式错误或嵌套过深）"
    ),
    "Not Found": "请求的地址不存在",
    "Method Not Allowed": "该地址不支持此请求方法",
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "请求无法处理")
    detail = exc.detail if isinstance(exc.detail, str) else title
    detail = _DETAILS.get(detail, detail)
    if exc.status_code >= 400:
        log.info("refused %s %s: %s %s", request.method, request.url.path, exc.status_code, detail)
    answer = problem(exc.status_code, title, detail)
    answer.headers.update(exc.headers or {})
    if exc.status_code == 405:
        answer.headers["Allow"] = ", ".join(allowed_methods(request.app.routes, request.url.path))
    return answer


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """The last resort (a bug): problem+json rather than text; the traceback is logged."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "服务器内部错误", "服务器处理请求时出错，请稍后重试或联系平台运维")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
