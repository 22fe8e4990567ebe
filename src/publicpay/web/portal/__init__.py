"""Payer portal (缴款人, phone first): look up a payment code, pay by QR, watch it turn paid.

Anyone holding a payment code sees what the pay page shows and no more: the payer's name and
ID masked, the unit, the lines and amounts, the due date. The payment notice PDF opened without
credentials prints the same (name masked as on the page, no business number, no remark); the
owning unit's signed request gets the full notice. Lookups are throttled per client address
(api.rate_limits.AnonymousLimits): 429 with Retry-After and a Chinese page.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import segno
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from publicpay.adapters.payables.notice import FINE_LATE_FEE_NOTE, NoticeData, render_notice
from publicpay.adapters.receipts.formats import receipt_policy
from publicpay.api.auth import verify_request
from publicpay.api.deps import body_bytes
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.bootstrap import Container
from publicpay.domain.codes import is_valid_payment_code, mask_name
from publicpay.domain.errors import NotFound, RateLimited
from publicpay.domain.money import format_yuan
from publicpay.domain.payables import Payable, due_now, status_label
from publicpay.domain.receipts.receipts import ReceiptLine
from publicpay.domain.time import business_date, local_text
from publicpay.domain.units import Unit
from publicpay.settings import Mode
from publicpay.web.portal.receipts import after_payment, live_receipt_pdf, notice_stamp
from publicpay.web.portal.wallet_buttons import wallet_buttons

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["yuan"] = format_yuan
router = APIRouter(include_in_schema=False)


def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def _load(c: Container, code: str) -> tuple[Payable, Unit] | None:
    with c.read_uow() as uow:
        payable = uow.payables.by_code(code)
        unit = uow.units.get(payable.unit_id) if payable else None
    return (payable, unit) if payable and unit else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, c: Container = Depends(_container)) -> Response:
    """Landing page: every UI, and in the demo a few payables waiting to be paid."""
    demo = c.settings.mode is not Mode.PRODUCTION
    unpaid = []
    if demo:
        with c.read_uow() as uow:
            for payable in uow.payables.recent_unpaid(8):
                unpaid.append(
                    {
                        "payment_code": payable.payment_code,
                        "item": payable.lines[0].item_name,
                        "amount_fen": payable.amount_fen,
                    }
                )
    return templates.TemplateResponse(request, "home.html", {"unpaid": unpaid, "demo": demo})


@router.get("/pay", response_class=HTMLResponse)
def lookup(request: Request, code: str = "") -> Response:
    code = code.replace(" ", "")
    error = ""
    if code:
        if is_valid_payment_code(code):
            return RedirectResponse(f"/pay/{code}", status_code=303)
        error = "缴款码有误：请核对20位数字（含校验位）后重新输入"
    return templates.TemplateResponse(
        request, "lookup.html", {"code": code, "error": error}, status_code=422 if error else 200
    )


@router.get("/pay/qr.svg")
def qr_svg(data: str) -> Response:
    """QR of a channel's code (the page shows what the channel returned). Declared before
    `/pay/{code}`, which would otherwise take "qr.svg" for a payment code."""
    if len(data) > 1000:
        return Response("too long", status_code=413)
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(out, kind="svg", scale=6, border=2, dark="#1f2937")
    return Response(out.getvalue(), media_type="image/svg+xml")


def throttled_page(request: Request, exc: RateLimited) -> Response:
    """The 429 answer of a payer page: the lookup page saying when to try again."""
    return templates.TemplateResponse(
        request,
        "lookup.html",
        {"code": "", "error": exc.detail},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def _find(request: Request, c: Container, code: str) -> tuple[Payable, Unit] | Response:
    """The payable and unit of `code` for an anonymous caller, or the page refusing it."""
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.lookup(address)
    except RateLimited as exc:
        return throttled_page(request, exc)
    valid = is_valid_payment_code(code)
    found = _load(c, code) if valid else None
    if found is None:
        if valid:
            limits.missed(address)
        return templates.TemplateResponse(
            request,
            "lookup.html",
            {"code": code, "error": "未找到该缴款码对应的缴款单"},
            status_code=404,
        )
    return found


find_payable = _find  # for the portal's other modules (wallets)


@router.get("/pay/{code}", response_class=HTMLResponse)
def payable_page(request: Request, code: str, c: Container = Depends(_container)) -> Response:
    found = _find(request, c, code)
    if isinstance(found, Response):
        return found
    payable, unit = found
    with c.read_uow() as uow:
        items = uow.catalogue.items()
    due = due_now(payable, items, business_date(c.clock.now()))
    phone_first, wallets = wallet_buttons(
        request.headers.get("user-agent", ""), c.gateways.channels()
    )
    context = {
        "p": payable,
        "unit": unit,
        "due_fen": due,
        "status_label": status_label(payable.status),
        "payer_name": mask_name(payable.payer_name),
        "paid_at": local_text(payable.paid_at) if payable.paid_at else "",
        "channels": [ch.value for ch in c.gateways.channels()],
        "phone_first": phone_first,
        "wallets": wallets,
        "back_from_wallet": bool(
            request.query_params.get("back") or request.query_params.get("out_trade_no")
        ),
        **after_payment(c, payable),
    }
    return templates.TemplateResponse(request, "payable.html", context)


@router.get("/pay/{code}/notice.pdf")
def notice_pdf(
    request: Request,
    code: str,
    body: bytes = Depends(body_bytes),
    c: Container = Depends(_container),
) -> Response:
    """The payment notice: in full for the owning unit's signed request (X-App-Id …), else
    what the pay page shows (see the module docstring)."""
    caller = verify_request(request, body, c) if "x-app-id" in request.headers else None
    owner = caller.unit_id if caller is not None and caller.kind == "unit" else None
    found = _load(c, code) if owner is not None else _find(request, c, code)
    if isinstance(found, Response):
        return found
    if found is None or (owner is not None and found[0].unit_id != owner):
        raise NotFound(f"缴款码 {code} 不存在")
    full = owner is not None
    payable, unit = found
    pdf = render_notice(_notice(c, payable, unit, full=full))
    headers = {"Content-Disposition": f'inline; filename="notice-{payable.payment_code}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/pay/{code}/receipt.pdf")
def receipt_pdf(request: Request, code: str, c: Container = Depends(_container)) -> Response:
    """The payable's live e-receipt (404 before it is issued); viewing is not a print."""
    found = _find(request, c, code)
    if isinstance(found, Response):
        return found
    try:
        return live_receipt_pdf(c, found[0])
    except NotFound as exc:
        context = {"title": "电子票据尚未开具", "detail": exc.detail, "payment_code": code}
        return templates.TemplateResponse(
            request, "aggregate_message.html", context, status_code=404
        )


def _notice(c: Container, payable: Payable, unit: Unit, *, full: bool) -> NoticeData:
    base = c.settings.public_base_url.rstrip("/")
    with c.read_uow() as uow:
        items = uow.catalogue.items()
    fines = any(items[line.item_code].is_fine for line in payable.lines if line.item_code in items)
    account = receipt_policy(c.settings).account
    return NoticeData(
        payment_code=payable.payment_code,
        pay_url=f"{base}/pay/{payable.payment_code}",
        unit_name=unit.name,
        payer_name=payable.payer_name if full else mask_name(payable.payer_name),
        payer_id_masked=payable.payer_id_masked,
        lines=tuple(
            ReceiptLine(
                line.item_code,
                line.item_name,
                line.unit_of_measure,
                line.quantity,
                line.standard_fen,
                line.amount_fen,
            )
            for line in payable.lines
        ),
        total_fen=payable.amount_fen,
        issued_on=business_date(payable.created_at) if payable.created_at else date.today(),
        due_date=payable.due_date,
        biz_no=payable.biz_no if full else "",
        late_fee_note=FINE_LATE_FEE_NOTE if fines and payable.due_date else "",
        receiving_account_name=account.name,
        receiving_account=account.number,
        receiving_bank=account.bank,
        remark=payable.remark if full else "",
        stamp=notice_stamp(payable.status),
    )


def install(app: FastAPI) -> None:
    from publicpay.web.portal import history, wallets

    app.include_router(history.router)  # before /pay/{code}, which would take "history"
    app.include_router(wallets.router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE.parent / "static"), name="static")
