"""退款 (refunds) screens: the queue, the request form, and one refund's approval screen.

A unit admin (or a finance admin) asks for a refund of a paid payable in scope; a finance
reviewer of the payable's region approves or declines it on one screen showing the payable, its
payments, earlier refunds and receipts; bank-transfer refunds (counter and cash payments) get
their transfer instruction and the bank's confirmation there. Maker-checker and the limits are
the services' (`services.refunds`), the same as the unit and finance APIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from publicpay.adapters.db.queries.refunds import (
    payable_in_scope,
    payments_of_payable,
    refund_in_scope,
    refund_queue,
    refunds_of_payable,
)
from publicpay.adapters.exports import (
    Export,
    Format,
    money_number,
    money_text,
    plain,
    time_text,
)
from publicpay.bootstrap import Container
from publicpay.domain.access import UNIT_ROLES, Permission
from publicpay.domain.codes import mask_name
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.payables import Payable
from publicpay.domain.refunds import OPEN_OR_DONE, STATUS_LABELS, RefundKind, RefundStatus
from publicpay.services.refunds.approval import (
    Approver,
    approve_refund,
    decline_refund,
    retry_refund,
)
from publicpay.services.refunds.requests import (
    BANK_TRANSFER_CHANNELS,
    REFUNDABLE,
    PayeeAccount,
    RefundScope,
    refund_payable,
)
from publicpay.services.refunds.transfers import record_transfer, transfer_instruction
from publicpay.web.console.exports import BACKGROUND_ROWS, download, export_format
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    form_status,
    render,
    require,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
NOT_FOUND = "该退款不存在或不在您的管辖范围内"
TABS = {
    "pending": ("待审批", (RefundStatus.PENDING_APPROVAL,)),
    "underway": ("渠道退款中", (RefundStatus.PENDING, RefundStatus.PROCESSING)),
    "transfer": ("待银行转账", (RefundStatus.MANUAL,)),
    "failed": ("退款失败", (RefundStatus.FAILED,)),
    "all": ("全部", ()),
}
CHANNEL_LABELS = {
    "alipay": "支付宝",
    "wechat": "微信支付",
    "unionpay": "云闪付",
    "counter": "银行柜台",
    "cash": "现金",
    "card": "银行卡",
}
Text = Annotated[str, Form(max_length=200, pattern=NO_CONTROLS)]
Short = Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)]


def _approver(v: Viewer) -> Approver:
    return Approver(v.actor.audit_name, v.actor.region_code or "")


def _scope(v: Viewer) -> RefundScope:
    if v.actor.role in UNIT_ROLES:
        return RefundScope(unit_id=v.actor.unit_id or -1)
    return RefundScope(region_code=v.actor.region_code or "-")


@router.get("/refunds")
def queue_page(
    request: Request,
    tab: Annotated[str, Query(max_length=10)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_REFUNDS)
    default = "pending" if v.actor.can(Permission.APPROVE_REFUNDS) else "all"
    chosen = tab if tab in TABS else default
    fmt = export_format(request)
    if fmt is not None:
        return _export(c, v, request, chosen, fmt)
    with c.read_uow() as uow:
        rows = refund_queue(uow.connection, v.actor, TABS[chosen][1])
    context = {"rows": rows, "tabs": TABS, "tab": chosen, "channels": CHANNEL_LABELS}
    return render(request, "refunds.html", context, viewer=v)


EXPORT_HEADERS = [
    "退款单号", "缴款码", "执收单位", "缴款人", "原渠道", "退款金额（元）", "原因", "状态",
    "申请人", "审批人", "审批意见", "申请时间", "完成时间",
]  # fmt: skip


def _export(c: Container, v: Viewer, request: Request, tab: str, fmt: Format) -> Response:
    """Every refund of the tab (no row cap), as CSV or Excel; masked as on the screen, audited.
    Always streamed: the export jobs of the worker know only the lists' specs."""
    label, statuses = TABS[tab]

    def rows(conn: Connection) -> Iterator[tuple[object, ...]]:
        for r in refund_queue(conn, v.actor, statuses, limit=None):
            yield (
                r.refund_no, r.payment_code, r.unit_name, r.payer_masked,
                CHANNEL_LABELS.get(r.channel, r.channel), r.amount_fen, r.reason, r.label,
                r.requested_by, "、".join(r.approved_by), r.decision_note, r.created_at,
                r.completed_at,
            )  # fmt: skip

    money = money_number if fmt is Format.XLSX else money_text
    cells: list[Callable[[Any], object]] = [plain] * len(EXPORT_HEADERS)
    cells[5], cells[11], cells[12] = money, time_text, time_text
    export = Export(f"退款-{label}", EXPORT_HEADERS, cells, rows)
    with c.read_uow() as uow:
        total = len(refund_queue(uow.connection, v.actor, statuses, limit=None))
    return download(c, v, request, "list:refunds", export, fmt, min(total, BACKGROUND_ROWS))


# --- request --------------------------------------------------------------------------------


def _request_context(c: Container, v: Viewer, code: str) -> dict[str, Any]:
    """The payable (in scope) with what can still be refunded; a message when it cannot be."""
    context: dict[str, Any] = {"code": code, "payable": None, "error": "", "form": {}}
    context["channels"] = CHANNEL_LABELS
    if not code:
        return context
    with c.read_uow() as uow:
        payable_id = payable_in_scope(uow.connection, v.actor, code)
        payable = uow.payables.by_id(payable_id) if payable_id is not None else None
        earlier = refunds_of_payable(uow.connection, v.actor, payable_id or 0)
    if payable is None:
        context["error"] = f"缴款码 {code} 不存在或不在您的管辖范围内"
        return context
    committed = sum(
        r.amount_fen for r in earlier if r.status in OPEN_OR_DONE and r.kind is RefundKind.REQUESTED
    )
    context.update(
        payable=payable,
        payer_masked=payable.payer_name
        if payable.payer_type.value == "org"
        else mask_name(payable.payer_name),
        left=(payable.paid_fen or 0) - committed,
        earlier=earlier,
        refundable=payable.status in REFUNDABLE,
        by_transfer=payable.channel in BANK_TRANSFER_CHANNELS,
    )
    return context


@router.get("/refunds/new")
def request_page(
    request: Request,
    code: Annotated[str, Query(max_length=40, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.REQUEST_REFUNDS)
    context = _request_context(c, v, code.strip())
    status = 404 if context["error"] else 200
    return render(request, "refund_request.html", context, viewer=v, status=status)


@router.post("/refunds/new")
def request_refund(
    request: Request,
    code: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    amount: Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)] = "",
    reason: Text = "",
    payee_name: Short = "",
    payee_bank: Short = "",
    payee_account: Annotated[str, Form(max_length=40, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.REQUEST_REFUNDS)
    check_csrf(v.csrf, csrf)
    form = {"amount": amount, "reason": reason, "payee_name": payee_name}
    form |= {"payee_bank": payee_bank, "payee_account": payee_account}
    payee = PayeeAccount(payee_name, payee_bank, payee_account) if payee_account else None
    try:
        fen = _fen(amount)
        refund = refund_payable(
            c.uow(), code.strip(), fen, reason, actor=v.actor.audit_name, clock=c.clock,
            policy=c.refund_policy(), scope=_scope(v), payee=payee,
        )  # fmt: skip
    except DomainError as exc:
        context = _request_context(c, v, code.strip())
        context["form"], context["error"] = form, exc.detail
        status = form_status(exc)
        return render(request, "refund_request.html", context, viewer=v, status=status)
    return RedirectResponse(f"{PATH}/refunds/{refund.refund_no}?done=requested", status_code=303)


def _fen(amount: str) -> int:
    try:
        return Money.from_yuan(amount.replace(",", "").replace("¥", "")).fen
    except InvalidAmount:
        raise ValidationFailed(
            "退款金额应为元，最多两位小数（如 400 或 400.50）", errors={"amount": amount}
        ) from None


# --- one refund: approval, transfer ---------------------------------------------------------


def _detail(c: Container, v: Viewer, refund_no: str) -> dict[str, Any]:
    with c.read_uow() as uow:
        row = refund_in_scope(uow.connection, v.actor, refund_no)
        if row is None:
            raise PageRefused(404, NOT_FOUND)
        payable: Payable | None = uow.payables.by_id(row.payable_id)
        payments = payments_of_payable(uow.connection, row.payable_id)
        earlier = refunds_of_payable(uow.connection, v.actor, row.payable_id)
        receipts = uow.receipts.for_payable(row.payable_id)
    me = v.actor.audit_name
    return {
        "r": row,
        "payable": payable,
        "payments": payments,
        "earlier": [e for e in earlier if e.refund_no != refund_no],
        "receipts": receipts,
        "channels": CHANNEL_LABELS,
        "labels": STATUS_LABELS,
        "may_decide": v.actor.can(Permission.APPROVE_REFUNDS)
        and row.status is RefundStatus.PENDING_APPROVAL,
        "is_requester": row.requested_by == me,
        "approved_already": me in row.approved_by,
        "error": "",
    }


@router.get("/refunds/{refund_no}")
def refund_page(
    request: Request,
    refund_no: str,
    done: Annotated[str, Query(max_length=20)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_REFUNDS)
    context = _detail(c, v, refund_no[:40])
    context["done"] = done
    return render(request, "refund.html", context, viewer=v)


@router.post("/refunds/{refund_no}/{action}")
def decide(
    request: Request,
    refund_no: str,
    action: str,
    note: Text = "",
    bank_serial: Annotated[str, Form(max_length=64, pattern=NO_CONTROLS)] = "",
    csrf: Annotated[str, Form(max_length=100, pattern=NO_CONTROLS)] = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.APPROVE_REFUNDS)
    check_csrf(v.csrf, csrf)
    refund_no = refund_no[:40]
    approver = _approver(v)
    try:
        if action == "approve":
            approve_refund(c.uow(), refund_no, approver, note, clock=c.clock)
        elif action == "decline":
            decline_refund(c.uow(), refund_no, approver, note, clock=c.clock)
        elif action == "retry":
            retry_refund(c.uow(), refund_no, approver, clock=c.clock)
        elif action == "transfer":
            record_transfer(c.uow(), refund_no, bank_serial, approver, clock=c.clock)
        else:
            raise PageRefused(404, "请求的地址不存在")
    except DomainError as exc:
        context = _detail(c, v, refund_no)
        context["error"] = exc.detail
        return render(request, "refund.html", context, viewer=v, status=form_status(exc))
    return RedirectResponse(f"{PATH}/refunds/{refund_no}?done={action}", status_code=303)


@router.get("/refunds/{refund_no}/instruction")
def instruction_page(
    request: Request,
    refund_no: str,
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    """The transfer instruction for the bank (付款指令): the one place the full account is
    shown, to finance only, and each showing is audited."""
    require(v, Permission.APPROVE_REFUNDS)
    refund_no = refund_no[:40]
    with c.read_uow() as uow:
        if refund_in_scope(uow.connection, v.actor, refund_no) is None:
            raise PageRefused(404, NOT_FOUND)
    try:
        instruction = transfer_instruction(c.uow(), refund_no, _approver(v), clock=c.clock)
    except DomainError as exc:
        raise PageRefused(form_status(exc), exc.detail) from exc
    context = {"i": instruction, "settings": c.settings, "now": c.clock.now()}
    return render(request, "refund_instruction.html", context, viewer=v)
