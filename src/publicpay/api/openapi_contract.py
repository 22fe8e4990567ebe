"""What /openapi.json declares beyond FastAPI's defaults, so that clients and fuzzers (the test
command runs schemathesis over it) can rely on every answer being documented:

- the signature headers as security schemes (`apiKey` in a header each: `X-App-Id`,
  `X-Timestamp`, `X-Nonce`, `X-Signature`), required together by every signed operation and
  optional where a signature only widens what an anonymous caller may see;
- every refusal an operation can give as `application/problem+json` with one `Problem` schema
  (FastAPI's default 422 body is replaced: this API answers validation errors as problems).

Signed operations are found from their dependencies (`api.auth`'s signed-request checks);
routes that check the signature in their body say so with `openapi_extra=SIGNED` (or
`OPTIONALLY_SIGNED`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from publicpay.api import auth

SCHEMES = {
    "AppId": ("X-App-Id", "调用方 App ID（业务系统、代收银行、设备或财政部门的凭证）"),
    "Timestamp": ("X-Timestamp", "Unix 秒；与服务器时间相差超过 300 秒的请求被拒绝"),
    "Nonce": ("X-Nonce", "每个请求唯一的随机串（8–64 个字符）；重复使用被拒绝"),
    "Signature": (
        "X-Signature",
        "小写十六进制 HMAC-SHA256(app_secret, METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\n"
        "hex(sha256(body)))，PATH 含查询串",
    ),
}
REQUIREMENT: dict[str, list[str]] = {name: [] for name in SCHEMES}
SIGNED: dict[str, Any] = {"security": [REQUIREMENT]}
OPTIONALLY_SIGNED: dict[str, Any] = {"security": [{}, REQUIREMENT]}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 问题详情（application/problem+json）",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "问题类型（urn:publicpay:problem:<code>）"},
        "title": {"type": "string", "description": "问题标题（中文）"},
        "status": {"type": "integer", "description": "HTTP 状态码"},
        "detail": {"type": "string", "description": "问题说明（中文）"},
        "errors": {"type": "object", "description": "按字段的错误说明"},
    },
}
# Refusals any operation of the API may give (the body limit and the request parsing apply to
# every route; not found covers unknown codes in paths), then those of signed operations.
COMMON = {
    400: "请求格式错误（如请求体不是合法的 JSON）",
    404: "未找到",
    405: "不支持的请求方法",
    413: "请求体过大",
    422: "请求数据有误",
    429: "请求过于频繁（见 Retry-After）",
}
OF_SIGNED = {401: "签名无效、时间戳超差、随机串重复或凭证已吊销", 403: "无权操作"}
OF_ALL_WRITES = {
    409: "与当前状态冲突",
    415: "不支持的内容类型",
    502: "支付渠道拒绝",
    503: "支付渠道或票据服务暂不可用",
}


SIGNATURE_CHECKS = (auth.signed_call, auth.signed_client, auth.current_signed_client)


def complete(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    components["securitySchemes"] = {
        name: {"type": "apiKey", "in": "header", "name": header, "description": text}
        for name, (header, text) in SCHEMES.items()
    }
    signed = _signed_operations(app.routes)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method.upper()) in signed and "security" not in operation:
                operation["security"] = [REQUIREMENT]
            _document_problems(operation, method)
    return schema


def _document_problems(operation: dict[str, Any], method: str) -> None:
    statuses = dict(COMMON)
    if operation.get("security"):
        statuses |= OF_SIGNED
    if method.upper() != "GET":
        statuses |= OF_ALL_WRITES
    responses = operation.setdefault("responses", {})
    for status, text in statuses.items():
        answer = responses.setdefault(str(status), {"description": text})
        answer["content"] = {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }


def _signed_operations(routes: Iterable[Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if isinstance(route, APIRoute) and _depends_on_signature(route.dependant):
            found.update((route.path_format, method) for method in route.methods or ())
    return found


def allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """Every method some route takes at `path` (a 405's `Allow`: Starlette names only the
    first route that matched the path, e.g. the hot POST route before the GET beside it)."""
    methods: set[str] = set()
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _depends_on_signature(dependant: Dependant) -> bool:
    return any(
        sub.call in SIGNATURE_CHECKS or _depends_on_signature(sub) for sub in dependant.dependencies
    )
