"""Refunds: the unit API asks for one and reads it; the finance API approves or declines.

`POST /api/v1/payables/{payment_code}/refunds` (unit credential, `Idempotency-Key` required):
the refund waits for finance's approval. `POST /api/v1/admin/refunds/{refund_no}/approve` and
`/decline` (finance credential, its region and below): for bureaus that approve in their own
systems; the same service as the console, so maker-checker holds whatever the entry point.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from publicpay.api.auth import finance_client, unit_client
from publicpay.api.deps import container
from publicpay.api.idempotency import HEADER, idempotent
from publicpay.api.params import PaymentCode
from publicpay.api.schemas import NO_CONTROLS, RefundDecisionIn, RefundIn, RefundOut, RefundsOut
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.refunds import Refund
from publicpay.domain.units import ApiClient
from publicpay.services.refunds.approval import Approver, approve_refund, decline_refund
from publicpay.services.refunds.requests import PayeeAccount, RefundScope, refund_payable

router = APIRouter(prefix="/api/v1", tags=["refunds (unit API, finance API)"])

RefundNo = Annotated[
    str, Path(min_length=1, max_length=32, pattern=NO_CONTROLS, description="退款单号")
]


def refund_out(refund: Refund, payment_code: str) -> RefundOut:
    return RefundOut(
        refund_no=refund.refund_no,
        status=refund.public_status,
        amount_fen=refund.amount_fen,
        payment_code=payment_code,
        reason=refund.reason,
        channel=refund.channel,
        approvals_required=refund.approvals_required,
        approvals=len(refund.approved_by),
        decision_note=refund.decision_note,
        payee_account_masked=refund.payee.account_masked if refund.payee else None,
        created_at=refund.created_at.isoformat() if refund.created_at else "",
        completed_at=refund.completed_at.isoformat() if refund.completed_at else None,
    )


@router.post(
    "/payables/{payment_code}/refunds",
    response_model=RefundOut,
    status_code=201,
    summary="申请退款（须带 Idempotency-Key；待财政审批；超过可退金额 409）",
)
def request_refund(
    payment_code: PaymentCode,
    body: RefundIn,
    request: Request,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> Response:
    if not request.headers.get(HEADER):
        c.claim_pending_nonce()  # a replay of this refusal is refused as a replay (401)
        raise ValidationFailed("退款申请须带 Idempotency-Key 请求头", errors={HEADER: "必填"})
    payee = PayeeAccount(**body.payee.model_dump()) if body.payee else None

    def ask() -> RefundOut:
        refund = refund_payable(
            c.uow(),
            payment_code,
            body.amount_fen,
            body.reason,
            actor=f"unit:{client.app_id}",
            clock=c.clock,
            policy=c.refund_policy(),
            scope=RefundScope(unit_id=client.unit_id),
            payee=payee,
        )
        return refund_out(refund, payment_code)

    fingerprint = f"{payment_code}\n{body.model_dump_json()}"
    return idempotent(c, request, f"unit:{client.app_id}", fingerprint, ask, status_code=201)


@router.get(
    "/payables/{payment_code}/refunds", response_model=RefundsOut, summary="缴款单的退款列表"
)
def list_refunds(
    payment_code: PaymentCode,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> RefundsOut:
    with c.read_uow() as uow:
        payable = uow.payables.by_code(payment_code)
        if payable is None or payable.unit_id != client.unit_id:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        refunds = uow.refunds.for_payable(payable.id)
    return RefundsOut(refunds=[refund_out(r, payment_code) for r in refunds])


@router.get("/refunds/{refund_no}", response_model=RefundOut, summary="查询退款")
def get_refund(
    refund_no: RefundNo,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> RefundOut:
    with c.read_uow() as uow:
        refund = uow.refunds.by_no(refund_no)
        payable = uow.payables.by_id(refund.payable_id) if refund else None
    if refund is None or payable is None or payable.unit_id != client.unit_id:
        raise NotFound(f"退款 {refund_no} 不存在")
    return refund_out(refund, payable.payment_code)


@router.post(
    "/admin/refunds/{refund_no}/approve",
    response_model=RefundOut,
    summary="财政审批通过退款（申请人不能审批；超过限额须第二人复核）",
)
def approve(
    refund_no: RefundNo,
    body: RefundDecisionIn,
    request: Request,
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> Response:
    return _decide(c, request, client, refund_no, body, approve=True)


@router.post(
    "/admin/refunds/{refund_no}/decline",
    response_model=RefundOut,
    summary="财政驳回退款（须填写说明）",
)
def decline(
    refund_no: RefundNo,
    body: RefundDecisionIn,
    request: Request,
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> Response:
    return _decide(c, request, client, refund_no, body, approve=False)


def _decide(
    c: Container,
    request: Request,
    client: ApiClient,
    refund_no: str,
    body: RefundDecisionIn,
    *,
    approve: bool,
) -> Response:
    approver = Approver(f"finance:{client.app_id}", client.region_code or "")
    decide = approve_refund if approve else decline_refund

    def run() -> RefundOut:
        refund = decide(c.uow(), refund_no, approver, body.note, clock=c.clock)
        with c.read_uow() as uow:
            payable = uow.payables.by_id(refund.payable_id)
        assert payable is not None
        return refund_out(refund, payable.payment_code)

    fingerprint = f"{refund_no}\n{body.model_dump_json()}"
    return idempotent(c, request, f"finance:{client.app_id}", fingerprint, run)
