"""窗口收费 — the window POS (W1), for cashiers, in a smart POS's browser or a desktop window.

`/pos` leads here (`/console/pos`: the console's session, TOTP login and CSRF protect it). The
cashier opens a shift at a window that has a POS terminal, finds the business record by
business number, plate, licence or ID number (the unit's payables only: scope in the query),
sees the items and amounts the platform priced, and takes the payment through that window's
terminal: the payer's 付款码 scanned (a keyboard-wedge scanner types it and presses Enter; the
channel is told from the code) or cash with change. The payment records its site, window,
device and shift; the business system's `payable.paid` webhook is queued in the same
transaction and sent by the worker at once. The receipt is printed through the terminal's
issuing point (a print is counted; reprints are marked).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from publicpay.adapters.db.queries.pos import find_business
from publicpay.adapters.receipts.formats import ReceiptFormats, receipt_policy
from publicpay.api.routes.payables.registration import command_from_record
from publicpay.api.routes.payments.barcode import POLLING, STATUS_LABELS
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.attributes import label as attribute_label
from publicpay.domain.codes import mask_name
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.errors import DomainError
from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.payables import Payable, PayableStatus, due_now, status_label
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.shifts import Shift
from publicpay.domain.time import business_date
from publicpay.domain.units import Window
from publicpay.services.payables.asking import BusinessQuery, ask_business_system
from publicpay.services.payments.aggregate import issue_aggregate
from publicpay.services.payments.barcode import pay_by_barcode
from publicpay.services.payments.card import (
    CardPolling,
    card_facts,
    pay_by_card,
    settle_open_card_orders,
)
from publicpay.services.payments.cash import record_cash_payment
from publicpay.services.receipts.access import PrintRequest, print_receipt
from publicpay.services.shifts.opening import OpenShift, open_shift
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    Csrf,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    render,
    require,
    viewer,
)
from publicpay.web.console.users import qr_svg

router = APIRouter(include_in_schema=False)
HOME = f"{PATH}/pos"


@dataclass(frozen=True, slots=True)
class Station:
    """Where the cashier works now: the open shift, its window and the window's terminal."""

    shift: Shift
    window: Window
    site_name: str
    device: Device


@router.get("/pos")
def pos_entry() -> Response:
    """The POS page's public address: the cashier's screen is in the console (its session)."""
    return RedirectResponse(HOME, status_code=303)


def _terminals(c: Container, v: Viewer) -> list[tuple[Device, Window, str]]:
    """The POS terminals at windows of the cashier's unit: (terminal, window, site name)."""
    found = []
    with c.read_uow() as uow:
        for device in uow.devices.all():
            if device.kind is not DeviceKind.POS or device.window_id is None:
                continue
            if not device.active or device.unit_id != v.actor.unit_id:
                continue
            window = uow.units.window(device.window_id)
            site = uow.units.site(window.site_id) if window else None
            if window and site and site.unit_id == v.actor.unit_id:
                found.append((device, window, site.name))
    return sorted(found, key=lambda t: (t[2], t[1].number))


def _station(c: Container, v: Viewer) -> Station | None:
    with c.read_uow() as uow:
        shift = uow.shifts.open_of_cashier(v.actor.user_id)
    if shift is None:
        return None
    for device, window, site_name in _terminals(c, v):
        if window.id == shift.window_id:
            return Station(shift, window, site_name, device)
    return None


def _require_station(c: Container, v: Viewer) -> Station:
    require(v, Permission.USE_POS)
    station = _station(c, v)
    if station is None:
        raise PageRefused(409, "请先在有收款终端的窗口开班，再收款")
    return station


def _payable_view(c: Container, payable: Payable, attributes: dict[str, str]) -> dict[str, Any]:
    with c.read_uow() as uow:
        items = uow.catalogue.items()
    due = due_now(payable, items, business_date(c.clock.now()))
    return {
        "p": payable,
        "payer": mask_name(payable.payer_name),
        "due_fen": due,
        "status_label": status_label(payable.status),
        "unpaid": payable.status is PayableStatus.UNPAID,
        "attributes": [(attribute_label(k), value) for k, value in sorted(attributes.items())],
    }


@router.get(f"{PATH}/pos")
def pos_home(
    request: Request,
    q: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.USE_POS)
    station = _station(c, v)
    if station is None:
        return render(
            request, "pos_open.html", {"terminals": _terminals(c, v), "error": ""}, viewer=v
        )
    q = q.strip()[:64]
    results = []
    if q and v.actor.unit_id is not None:
        with c.read_uow() as uow:
            found = find_business(uow.connection, uow.box, v.actor.unit_id, q)
        results = [_payable_view(c, f.payable, f.attributes) for f in found]
    context = {"station": station, "q": q, "results": results, "searched": bool(q)}
    return render(request, "pos.html", context, viewer=v)


@router.post(f"{PATH}/pos/shift")
def pos_open_shift(
    request: Request,
    window_id: Annotated[int, Form(ge=1)],
    opening_float: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "0",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.USE_POS)
    check_csrf(v.csrf, csrf)
    if window_id not in {w.id for _, w, _ in _terminals(c, v)}:
        raise PageRefused(404, "该窗口不存在或没有收款终端")
    try:
        float_fen = Money.from_yuan(opening_float.strip() or "0").fen
        open_shift(c.uow(), OpenShift(window_id, float_fen), actor=v.actor, clock=c.clock)
    except (DomainError, InvalidAmount) as exc:
        error = exc.detail if isinstance(exc, DomainError) else "备用金应为金额（元，最多两位小数）"
        context = {"terminals": _terminals(c, v), "error": error}
        return render(request, "pos_open.html", context, viewer=v, status=409)
    return RedirectResponse(HOME, status_code=303)


def _payable_of(c: Container, v: Viewer, code: str) -> Payable:
    with c.read_uow() as uow:
        payable = uow.payables.by_code(code)
    if payable is None or payable.unit_id != v.actor.unit_id:
        raise PageRefused(404, f"缴款码 {code} 不存在")
    return payable


@router.get(f"{PATH}/pos/pay/{{code}}")
def pos_pay_page(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    station = _require_station(c, v)
    payable = _payable_of(c, v, code)
    context = {"station": station, **_payable_view(c, payable, {}), "attempt": _attempt()}
    return render(request, "pos_pay.html", context, viewer=v)


def _attempt() -> str:
    """One tap on 收款: the serial a repeated submit of the same form reuses."""
    return secrets.token_hex(8)


def _result(
    request: Request, c: Container, v: Viewer, station: Station, code: str, **extra: Any
) -> Response:
    payable = _payable_of(c, v, code)
    context = {"station": station, **_payable_view(c, payable, {}), **extra}
    status = 422 if extra.get("error") else 200  # refused: the page says why, nothing changed
    return render(request, "pos_result.html", context, viewer=v, status=status)


@router.post(f"{PATH}/pos/pay/{{code}}/barcode")
def pos_barcode(
    request: Request,
    code: str,
    auth_code: Annotated[str, Form(max_length=64, pattern=NO_CONTROLS)] = "",
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    payable = _payable_of(c, v, code)
    try:
        done = pay_by_barcode(
            c.uow, c.gateways, payable.payment_code, auth_code.strip(),
            clock=c.clock, policy=c.payment_policy(), polling=POLLING,
            unit_id=v.actor.unit_id, source=station.device.app_id,
        )  # fmt: skip
    except DomainError as exc:
        return _result(request, c, v, station, code, error=exc.detail, method="barcode")
    label = STATUS_LABELS.get(done.status.value, done.status.value)
    return _result(
        request, c, v, station, code, method="barcode", outcome=label, channel=done.channel
    )


@router.post(f"{PATH}/pos/pay/{{code}}/cash")
def pos_cash(
    request: Request,
    code: str,
    received: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    attempt: Annotated[str, Form(pattern=r"^[0-9a-f]{16}$")] = "0" * 16,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    payable = _payable_of(c, v, code)
    try:
        received_fen = Money.from_yuan(received.strip()).fen
    except InvalidAmount:
        return _result(request, c, v, station, code, error="实收金额应为元（最多两位小数）")
    try:
        paid = record_cash_payment(
            c.uow(), payable.payment_code, cashier=v.actor.username, received_fen=received_fen,
            clock=c.clock, device=station.device.app_id, client_serial=f"pos-{attempt}",
            unit_id=v.actor.unit_id,
        )  # fmt: skip
    except DomainError as exc:
        return _result(request, c, v, station, code, error=exc.detail, method="cash")
    return _result(
        request, c, v, station, code, method="cash", outcome="现金收款成功",
        received_fen=paid.received_fen, change_fen=paid.change_fen,
    )  # fmt: skip


@router.post(f"{PATH}/pos/receipt/{{code}}")
def pos_print_receipt(
    request: Request,
    code: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    payable = _payable_of(c, v, code)
    with c.read_uow() as uow:
        live = uow.receipts.live_for_payable(payable.id)
    if live is None:
        return _result(request, c, v, station, code, error="电子票据正在开具，请稍候几秒再打印")
    place = station.device.issuing_point or station.device.app_id
    result = print_receipt(
        c.uow(), ReceiptFormats(), PrintRequest(live.code, live.number, place, v.actor.unit_id),
        policy=receipt_policy(c.settings), clock=c.clock,
    )  # fmt: skip
    headers = {
        "Content-Disposition": f'inline; filename="{live.code}-{live.number}.pdf"',
        "X-Print-Count": str(result.print_count),
        "X-Reprint": str(result.reprint).lower(),
    }
    return Response(result.pdf, media_type="application/pdf", headers=headers)


@router.get(f"{PATH}/pos/pay/{{code}}/qr")
def pos_qr(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    """The payer scans an aggregate code (聚合码) on the POS or customer display with any wallet;
    the wallet's order records this terminal, window and shift. Nothing is stored until a wallet
    opens the code, so showing it again (a reload, a second tap) charges nothing twice: the
    payable is paid at most once, by whichever order succeeds first."""
    station = _require_station(c, v)
    payable = _payable_of(c, v, code)
    try:
        qr = issue_aggregate(
            c.read_uow(), c.box, payable.payment_code, base_url=c.settings.public_base_url,
            clock=c.clock, policy=c.payment_policy(), source=station.device.app_id,
        )  # fmt: skip
    except DomainError as exc:
        return _result(request, c, v, station, code, error=exc.detail, method="qr")
    context = {
        "station": station,
        **_payable_view(c, payable, {}),
        "qr_svg": qr_svg(qr.url, scale=8, fluid=True),
        "qr_url": qr.url,
        "expires_at": qr.expires_at,
        "seconds": int((qr.expires_at - c.clock.now()).total_seconds()),
    }
    return render(request, "pos_qr.html", context, viewer=v)


@router.get(f"{PATH}/pos/status/{{code}}")
def pos_status(
    code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    """Paid yet? (the QR page polls it and turns paid by itself)."""
    require(v, Permission.USE_POS)
    payable = _payable_of(c, v, code)
    paid = payable.status is not PayableStatus.UNPAID
    body = {"status": payable.status.value, "label": status_label(payable.status), "paid": paid}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get(f"{PATH}/pos/done/{{code}}")
def pos_done(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    """The result page of a payment that finished away from this page (a scanned QR)."""
    station = _require_station(c, v)
    payable = _payable_of(c, v, code)
    if payable.status is PayableStatus.PAID:
        return _result(request, c, v, station, code, method="qr", outcome="支付成功")
    return _result(request, c, v, station, code, method="qr", outcome=status_label(payable.status))


CARD_POLLING = CardPolling(queries=3, interval_s=2.0)


@router.post(f"{PATH}/pos/pay/{{code}}/card")
def pos_card(
    request: Request,
    code: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    """Bank card on the window's terminal: the sale waits while the payer taps, inserts or
    swipes the card and enters the PIN (services.payments.card: a lost answer is queried, never
    sent again; a card order still unknown is queried before another sale starts)."""
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    payable = _payable_of(c, v, code)
    try:
        done = pay_by_card(
            c.uow, c.card_host, payable.payment_code,
            terminal_id=station.device.card_terminal_id, source=station.device.app_id,
            unit_id=v.actor.unit_id, clock=c.clock, policy=c.payment_policy(),
            polling=CARD_POLLING,
        )  # fmt: skip
    except DomainError as exc:
        return _result(request, c, v, station, code, error=exc.detail, method="card")
    if done.status is not OrderStatus.SUCCEEDED:
        return _result(
            request, c, v, station, code, method="card", card_pending=True,
            error="收单机构暂未返回结果，交易可能仍在处理。请点“查询结果”，不要重复刷卡",
        )  # fmt: skip
    return _result(request, c, v, station, code, method="card", outcome="银行卡支付成功",
                   card=done.facts)  # fmt: skip


@router.post(f"{PATH}/pos/pay/{{code}}/card/query")
def pos_card_query(
    request: Request,
    code: str,
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    """查询结果: ask the acquirer about this payable's card sales still unknown."""
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    payable = _payable_of(c, v, code)
    if c.card_host is None:
        return _result(request, c, v, station, code, error="该终端未开通银行卡收款")
    unknown = settle_open_card_orders(c.uow, c.card_host, payable.id, clock=c.clock)
    payable = _payable_of(c, v, code)
    if payable.status is not PayableStatus.UNPAID:
        facts = _last_card_facts(c, payable)
        return _result(request, c, v, station, code, method="card", outcome="银行卡支付成功",
                       card=facts)  # fmt: skip
    if unknown:
        return _result(request, c, v, station, code, method="card", card_pending=True,
                       error="收单机构仍未返回结果，请稍后再查询，不要重复刷卡")  # fmt: skip
    return _result(request, c, v, station, code, method="card",
                   outcome="该笔银行卡交易未成功（未扣款），可以重新收款")  # fmt: skip


def _last_card_facts(c: Container, payable: Payable) -> dict[str, str]:
    with c.read_uow() as uow:
        orders = [o for o in uow.orders.for_payable(payable.id) if o.id == payable.paid_order_id]
    if not orders or orders[0].channel != "card":
        return {}
    return card_facts(c.read_uow(), orders[0].order_no)


@router.post(f"{PATH}/pos/ask")
def pos_ask(
    request: Request,
    q: Annotated[str, Form(min_length=1, max_length=64, pattern=NO_CONTROLS)],
    csrf: Csrf = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    """或向业务系统查询: nothing found here, so the platform asks the unit's business system,
    which answers with the record; the platform registers it (the business system's answer is
    the only way a payable comes to be) and shows it priced, ready to take payment."""
    station = _require_station(c, v)
    check_csrf(v.csrf, csrf)
    q = q.strip()
    assert v.actor.unit_id is not None
    assert c.business_system is not None
    query = BusinessQuery(
        v.actor.unit_id, q,
        place=f"{station.site_name} {station.window.name or station.window.number}",
        operator=v.actor.username,
    )  # fmt: skip
    context: dict[str, Any] = {"station": station, "q": q, "searched": True, "asked": True}
    try:
        payable = ask_business_system(
            c.uow, c.business_system, query, parse=command_from_record, clock=c.clock,
            region_code=c.settings.region_code, serial_floor=c.serial_floor(),
        )  # fmt: skip
    except DomainError as exc:
        context |= {"results": [], "ask_error": exc.detail}
        return render(request, "pos.html", context, viewer=v, status=_ASK_STATUS.get(exc.code, 422))
    if payable is None:
        context |= {"results": []}
        return render(request, "pos.html", context, viewer=v)
    with c.read_uow() as uow:
        found = find_business(uow.connection, uow.box, v.actor.unit_id, payable.payment_code)
    context["results"] = [_payable_view(c, f.payable, f.attributes) for f in found]
    return render(request, "pos.html", context, viewer=v)


_ASK_STATUS = {"business_system_unavailable": 504, "business_answer_invalid": 502}
