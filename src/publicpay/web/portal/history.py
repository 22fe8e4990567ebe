"""我的缴费记录 (issue 13): a payer proves who they are, then sees their payables across units
(unpaid, paid, refunded) with receipts to download, and pays several in one payment.

- `GET /pay/history`: the proof forms, or the list while the history session lasts.
- `POST /pay/history/by-code` (payment_code, name): a payment code and the payer's name.
- `POST /pay/history/send-code` (id_no, phone): a one-time code by the message sender; the ID
  number and phone wait sealed (encrypted) in a short cookie for the next step.
- `POST /pay/history/verify` (code): the code → the history session.
- `POST /pay/history/logout`: wipes the session (and anything pending).
- `POST /pay/history/cart` (payment_codes): the ticked unpaid payables in one payment — an
  aggregate code any wallet pays (services.payments.carts), refused at once when they are
  collected through different merchant accounts.
- `POST /pay/cart` (codes): the same from several payment codes typed on /pay, no proof
  needed (the codes are what the payer holds).

The session is a cookie of ours (HttpOnly, SameSite=Strict, path /pay/history): the keyed hash
of the ID number, an expiry (15 minutes) and a MAC; no ID number is kept. Every page is
`Cache-Control: no-store`. Names and ID numbers are shown masked. Attempts are throttled per
client address (api.rate_limits) besides the per-ID limits of the codes.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.adapters.db.queries import kiosk as people
from publicpay.adapters.db.queries.portal import registered_payer
from publicpay.adapters.receipts.formats import receipt_policy
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.bootstrap import Container
from publicpay.domain.codes import is_valid_payment_code
from publicpay.domain.errors import DomainError, NotFound, RateLimited, ValidationFailed
from publicpay.domain.payables import PayableStatus
from publicpay.domain.time import local_text
from publicpay.services.messages.identity import (
    prove_by_payment_code,
    request_payer_code,
    verify_payer_code,
)
from publicpay.services.payments.carts import Aggregate, open_cart_order
from publicpay.services.payments.wallets import check_cart_wallets
from publicpay.web import portal

router = APIRouter(include_in_schema=False)
SESSION = "pp_history"
PENDING = "pp_history_pending"
PATH = "/pay/history"
SESSION_TTL = timedelta(minutes=15)
PENDING_TTL = timedelta(minutes=10)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


@router.get(PATH)
def history(request: Request, c: Container = Depends(_container)) -> Response:
    id_hash = _session(request, c)
    if id_hash is None:
        pending = _pending(request, c)
        return _proof(request, {"pending_phone": pending[2] if pending else ""})
    return _listing(request, c, id_hash)


@router.post(PATH + "/by-code")
def by_code(
    request: Request,
    payment_code: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
    c: Container = Depends(_container),
) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    code = "".join(payment_code.split())
    try:
        limits.lookup(address)
        if not is_valid_payment_code(code):
            raise ValidationFailed("缴款码有误：请核对20位数字（含校验位）后重新输入")
        with c.read_uow() as uow:
            registered = registered_payer(uow.connection, code)
        try:
            id_hash = prove_by_payment_code(registered, name)
        except DomainError:
            limits.missed(address)  # a wrong name spends the address's miss allowance
            raise
    except RateLimited as exc:
        return _proof(request, {"error_code": exc.detail}, 429)
    except DomainError as exc:
        return _proof(request, {"error_code": exc.detail, "payment_code": code}, 422)
    return _signed_in(c, id_hash)


@router.post(PATH + "/send-code")
def send_code(
    request: Request,
    id_no: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    c: Container = Depends(_container),
) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.lookup(address)
        limits.order(address)  # a code sent costs like a channel order: an hourly allowance
        masked = request_payer_code(c.uow(), c.message_sender, id_no, phone, clock=c.clock)
    except RateLimited as exc:
        return _proof(request, {"error_id": exc.detail}, 429)
    except DomainError as exc:
        return _proof(request, {"error_id": exc.detail}, 422)
    response = _proof(request, {"pending_phone": masked, "sent": True})
    sealed = c.box.seal_text(f"{id_no.strip()}|{phone.strip()}|{masked}", b"history-pending")
    response.set_cookie(
        PENDING, sealed.hex(), max_age=int(PENDING_TTL.total_seconds()), **_cookie(c)
    )
    return response


@router.post(PATH + "/verify")
def verify(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    c: Container = Depends(_container),
) -> Response:
    pending = _pending(request, c)
    if pending is None:
        detail = "验证码已失效，请重新输入身份证号和手机号获取验证码"
        return _proof(request, {"error_id": detail}, 422)
    id_no, phone, masked = pending
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.lookup(address)
        id_hash = verify_payer_code(c.uow(), id_no, phone, code, clock=c.clock)
    except RateLimited as exc:
        return _proof(request, {"pending_phone": masked, "error_verify": exc.detail}, 429)
    except DomainError as exc:
        return _proof(request, {"pending_phone": masked, "error_verify": exc.detail}, 422)
    response = _signed_in(c, id_hash)
    response.delete_cookie(PENDING, path=PATH)
    return response


@router.post(PATH + "/logout")
def logout() -> Response:
    response = RedirectResponse(PATH + "?out=1", status_code=303, headers=NO_STORE)
    response.delete_cookie(SESSION, path=PATH)
    response.delete_cookie(PENDING, path=PATH)
    return response


@router.post(PATH + "/cart")
def cart(
    request: Request,
    payment_codes: Annotated[list[str] | None, Form(max_length=20)] = None,
    c: Container = Depends(_container),
) -> Response:
    id_hash = _session(request, c)
    if id_hash is None:
        return _proof(request, {"error_code": "查询已超时，请重新验证身份"}, 401)
    codes = list(dict.fromkeys(code.strip() for code in payment_codes or []))
    with c.read_uow() as uow:
        mine = {p.payment_code for p in people.payer_payables(uow.connection, id_hash, None)}
    if not codes or any(code not in mine for code in codes):
        return _listing(request, c, id_hash, "请勾选您本人待缴的缴款单", 422)
    if len(codes) == 1:
        return RedirectResponse(f"/pay/{codes[0]}", status_code=303)
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.order(address)
        return _open_cart(request, c, codes)
    except DomainError as exc:
        return _listing(request, c, id_hash, exc.detail, 409)


CODE_SEPARATORS = re.compile(r"[\s,，;；、]+")


@router.post("/pay/cart")
def cart_by_codes(
    request: Request,
    codes: Annotated[str, Form(max_length=600)] = "",
    c: Container = Depends(_container),
) -> Response:
    """Several payment codes typed on /pay (no proof needed: the codes are what the payer
    holds), paid in one payment like the history's cart."""
    found = [code for code in CODE_SEPARATORS.split(codes) if code]
    limits, address = anonymous_limits(request), client_address(request)
    try:
        for _ in found:
            limits.lookup(address)
        wrong = [code for code in found if not is_valid_payment_code(code)]
        if wrong:
            raise ValidationFailed(f"缴款码 {wrong[0]} 有误：请核对20位数字（含校验位）")
        unique = list(dict.fromkeys(found))
        if len(unique) < 2:
            raise ValidationFailed("合并支付请输入至少两个不同的缴款码")
        limits.order(address)
        return _open_cart(request, c, unique)
    except RateLimited as exc:
        return _lookup(request, codes, exc.detail, 429)
    except NotFound as exc:
        limits.missed(address)
        return _lookup(request, codes, exc.detail, 404)
    except DomainError as exc:
        return _lookup(request, codes, exc.detail, 422)


def _lookup(request: Request, codes: str, error: str, status: int) -> Response:
    context = {"code": "", "error": "", "cart_codes": codes, "cart_error": error}
    return portal.templates.TemplateResponse(
        request, "lookup.html", context, status_code=status, headers=NO_STORE
    )


def _open_cart(request: Request, c: Container, codes: list[str]) -> Response:
    """One aggregate code paying every payable of `codes` (DomainError when refused)."""
    check_cart_wallets(c.read_uow(), c.gateways, codes, c.gateways.channels())
    opened = open_cart_order(
        c.uow(),
        c.gateways,
        codes,
        None,
        clock=c.clock,
        policy=c.payment_policy(),
        aggregate=Aggregate(c.box, c.settings.public_base_url),
    )
    context = {
        "cart_no": opened.order.order_no,
        "qr_code": opened.order.qr_code,
        "amount_fen": opened.order.amount_fen,
        "expires": local_text(opened.order.expires_at),
        "lines": opened.lines,
    }
    return portal.templates.TemplateResponse(
        request, "history_cart.html", context, headers=NO_STORE
    )


def _proof(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    context = {"signed_out": bool(request.query_params.get("out")), **context}
    return portal.templates.TemplateResponse(
        request, "history_proof.html", context, status_code=status, headers=NO_STORE
    )


def _listing(
    request: Request, c: Container, id_hash: str, error: str = "", status: int = 200
) -> Response:
    now = c.clock.now()
    with c.read_uow() as uow:
        found = people.payer_payables(uow.connection, id_hash, None)
        window = receipt_policy(c.settings).print_window_days
        shown = people.listing(uow.connection, found, uow.catalogue.items(), now=now,
                               window_days=window)  # fmt: skip
        receipts = people.live_receipts(uow.connection, [p.id for p in found])
    with_receipt = {p.payment_code for p in found if p.id in receipts}
    refunded = {p.payment_code for p in found if p.refunded_fen}
    context = {
        "payer": shown.payer,
        "unpaid": shown.payables,
        "history": shown.history,
        "with_receipt": with_receipt,
        "refunded": refunded,
        "error": error,
        "until": local_text(_session_end(request) or now + SESSION_TTL)[-8:-3],
        "paid_status": PayableStatus.PAID.value,
    }
    return portal.templates.TemplateResponse(
        request, "history.html", context, status_code=status, headers=NO_STORE
    )


def _mac(c: Container, purpose: str, body: str) -> str:
    return c.box.lookup_hash(f"{purpose}:{body}")[:32]


def _cookie(c: Container) -> dict[str, Any]:
    secure = c.settings.public_base_url.startswith("https://")
    return {"path": PATH, "httponly": True, "samesite": "strict", "secure": secure}


def _signed_in(c: Container, id_hash: str) -> Response:
    expires = int((c.clock.now() + SESSION_TTL).timestamp())
    body = f"{id_hash}.{expires:x}"
    response = RedirectResponse(PATH, status_code=303, headers=NO_STORE)
    value = f"{body}.{_mac(c, 'history-session', body)}"
    response.set_cookie(SESSION, value, max_age=int(SESSION_TTL.total_seconds()), **_cookie(c))
    return response


def _session(request: Request, c: Container) -> str | None:
    """The ID hash of a history session still valid, else None."""
    body, _, mac = request.cookies.get(SESSION, "").rpartition(".")
    id_hash, _, expiry = body.partition(".")
    if not body or not hmac.compare_digest(_mac(c, "history-session", body), mac):
        return None
    try:
        if int(expiry, 16) <= c.clock.now().timestamp():
            return None
    except ValueError:
        return None
    return id_hash


def _session_end(request: Request) -> datetime | None:
    """When the session (already checked) ends: its expiry, not now + 15 minutes."""
    _, _, expiry = request.cookies.get(SESSION, "").rpartition(".")[0].partition(".")
    try:
        return datetime.fromtimestamp(int(expiry, 16), UTC)
    except ValueError:
        return None


def _pending(request: Request, c: Container) -> tuple[str, str, str] | None:
    """(ID number, phone, masked phone) waiting for their code, from the sealed cookie."""
    raw = request.cookies.get(PENDING, "")
    try:
        text = c.box.open_text(bytes.fromhex(raw), b"history-pending") if raw else ""
    except Exception:
        return None
    parts = text.split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None
