"""Public receipt check (票据查验): anyone confirms a receipt by code + number + check code +
issue date + amount. All five must match; a mismatch says only that no such receipt exists.
Throttled per client address: each check spends a lookup, each mismatch a wrong-check-code
attempt of the address and of the receipt (api.rate_limits); over them, 429 and Retry-After."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from publicpay.adapters.receipts.formats import face_from_xml
from publicpay.adapters.receipts.xml import (
    SignedReceipt,
    signed_receipt_document,
    verify_receipt_document,
)
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound, RateLimited
from publicpay.domain.money import InvalidAmount, Money, format_yuan
from publicpay.domain.receipts.records import StoredReceipt
from publicpay.domain.time import local_text
from publicpay.services.receipts.access import CheckQuery, check_receipt

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["yuan"] = format_yuan
router = APIRouter(include_in_schema=False)
FIELDS = ("code", "number", "check_code", "date", "amount")


def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def parse_query(values: dict[str, str]) -> CheckQuery:
    """The five inputs, or ValueError with a Chinese message."""
    code, number, check = values["code"], values["number"], values["check_code"]
    if not (re.fullmatch(r"\d{8}", code) and re.fullmatch(r"\d{10}", number)):
        raise ValueError("票据代码应为8位数字，票据号码应为10位数字")
    if not re.fullmatch(r"\d{6}", check):
        raise ValueError("校验码应为6位数字")
    try:
        day = _date(values["date"])
        amount = Money.from_yuan(values["amount"].replace(",", "").replace("¥", "")).fen
    except (ValueError, InvalidAmount) as exc:
        raise ValueError("开票日期格式应为 YYYY-MM-DD，金额应为元（最多两位小数）") from exc
    return CheckQuery(code, number, check, day, amount)


def _date(text: str) -> date:
    text = text.strip()
    fmt = "%Y%m%d" if re.fullmatch(r"\d{8}", text) else "%Y-%m-%d"
    return datetime.strptime(text, fmt).date()


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, c: Container = Depends(_container)) -> Response:
    q = {name: request.query_params.get(name, "").strip() for name in FIELDS}
    context: dict[str, object] = {"q": q, "receipt": None, "error": ""}
    if not any(q.values()):
        return templates.TemplateResponse(request, "verify.html", context)
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.request(address)
        query = parse_query(q)
        attempts = limits.attempts(address, f"{query.code}-{query.number}")
        receipt = check_receipt(c.read_uow(), query, attempts)
    except ValueError as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "verify.html", context, status_code=422)
    except NotFound as exc:
        context["error"] = exc.detail
        return templates.TemplateResponse(request, "verify.html", context, status_code=404)
    except RateLimited as exc:
        context["error"] = exc.detail
        headers = {"Retry-After": str(exc.retry_after_s)}
        return templates.TemplateResponse(
            request, "verify.html", context, status_code=429, headers=headers
        )
    context.update(_result(c, receipt))
    return templates.TemplateResponse(request, "verify.html", context)


def _result(c: Container, receipt: StoredReceipt) -> dict[str, object]:
    with c.read_uow() as uow:
        unit_pem = uow.receipts.public_key(receipt.unit_key_id)
        finance_pem = uow.receipts.public_key(receipt.finance_key_id)
    signed = SignedReceipt(
        receipt.xml, receipt.unit_signature, unit_pem, receipt.finance_signature, finance_pem
    )
    result = verify_receipt_document(signed_receipt_document(signed), [unit_pem, finance_pem])
    state = "已红冲（已开具红字票据）" if receipt.status == "reversed" else "正常"
    return {
        "receipt": receipt,
        "face": face_from_xml(receipt.xml),
        "issued": local_text(receipt.issued_at),
        "state": state,
        "result": result,
    }


def install(app: FastAPI) -> None:
    app.include_router(router)
