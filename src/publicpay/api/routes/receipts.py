"""Fiscal e-receipt API.

Public (no credentials): the published signing keys and — with the receipt's check code — its
two signatures (Public contract addition: `?check_code=` is required without credentials; the
receipt's own unit may omit it in a signed call), its signed XML document and PDF. Wrong check
codes are throttled per client address (or app id) and per receipt (api.rate_limits).
Signed (unit API credentials): print (units and kiosk/POS devices), booking (入账: any unit's
business system that holds the receipt's check code acts as the "authorised system" of the
employer that books it; the audit names the calling app id), and the write-off (核销) report of
the caller's own unit as JSON or Excel.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from publicpay.adapters.receipts.formats import ReceiptFormats, receipt_policy
from publicpay.adapters.receipts.writeoff_xlsx import write_off_workbook
from publicpay.adapters.receipts.xml import SignedReceipt, signed_receipt_document
from publicpay.api.auth import signed_client, unit_client, verify_request
from publicpay.api.deps import body_bytes, container
from publicpay.api.openapi_contract import OPTIONALLY_SIGNED
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.api.schemas import PlausibleDate, text
from publicpay.bootstrap import Container
from publicpay.domain.errors import Forbidden
from publicpay.domain.receipts.records import StoredReceipt, WriteOffReport
from publicpay.domain.units import ApiClient
from publicpay.services.receipts.access import (
    Booking,
    PrintRequest,
    SignatureLookup,
    book_receipt,
    find_receipt,
    print_receipt,
    receipt_for_signatures,
    receipt_pdf,
)
from publicpay.services.receipts.stock import write_off

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/api/v1/receipts", tags=["receipts (财政电子票据)"])
Code = Annotated[str, Path(pattern=r"^\d{8}$", description="票据代码（8位）")]
Number = Annotated[str, Path(pattern=r"^\d{10}$", description="票据号码（10位）")]
CHECK = Query(pattern=r"^\d{6}$", description="校验码（6位）")
OPTIONAL_CHECK = Query(
    default=None,
    pattern=r"^\d{6}$",
    description="校验码（6位）：无凭证调用必填；开票单位以接口凭证签名调用时可不提供。"
    "校验码错误按客户端地址和票据限次",
)


class KeyOut(BaseModel):
    key_id: int
    signer: Literal["unit", "finance"]
    owner: str = Field(description="单位编码，或财政部门的行政区划代码")
    algorithm: str = "SM2-SM3"
    signer_id: str = "1234567812345678"
    public_key_pem: str
    active: bool
    created_at: str


class KeysOut(BaseModel):
    keys: list[KeyOut]


class SignatureOut(BaseModel):
    signer: Literal["unit", "finance"]
    algorithm: str
    signer_id: str
    content_b64: str
    signature_b64: str
    public_key_pem: str


class SignaturesOut(BaseModel):
    signatures: list[SignatureOut]


class PrintIn(BaseModel):
    place: str | None = text(None, max_length=40, description="打印地点（自助机/窗口）")


class BookingIn(BaseModel):
    check_code: str = Field(pattern=r"^\d{6}$", description="票据校验码（6位），证明持有该票据")
    booked_by: str | None = text(
        None, max_length=100, description="入账单位或系统（说明；审计以调用方 App ID 为准）"
    )


class BookingOut(BaseModel):
    code: str
    number: str
    booked_at: str
    booked_by: str
    booked_client: str = Field(description="办理入账的调用方 App ID（记入审计）")


def _signed(c: Container, receipt: StoredReceipt) -> SignedReceipt:
    with c.read_uow() as uow:
        unit_pem = uow.receipts.public_key(receipt.unit_key_id)
        finance_pem = uow.receipts.public_key(receipt.finance_key_id)
    return SignedReceipt(
        xml=receipt.xml,
        unit_signature=receipt.unit_signature,
        unit_public_key_pem=unit_pem,
        finance_signature=receipt.finance_signature,
        finance_public_key_pem=finance_pem,
    )


@router.get("/keys", response_model=KeysOut, summary="票据签名公钥（单位与财政，含已轮换的）")
def keys(c: Container = Depends(container)) -> KeysOut:
    with c.read_uow() as uow:
        stored = uow.receipts.keys()
    return KeysOut(
        keys=[
            KeyOut(
                key_id=k.id,
                signer="unit" if k.signer == "unit" else "finance",
                owner=k.owner,
                public_key_pem=k.public_key_pem.decode("ascii"),
                active=k.active,
                created_at=k.created_at.isoformat(),
            )
            for k in stored
        ]
    )


@router.get(
    "/write-off",
    summary="核销报表（本单位，按开票日期）；format=xlsx 下载 Excel",
    response_model=None,
    responses={
        200: {
            "description": "核销报表（JSON），或 format=xlsx 时的 Excel 工作簿",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def write_off_report(
    date_from: Annotated[PlausibleDate, Query(alias="from")],
    date_to: Annotated[PlausibleDate, Query(alias="to")],
    format: Literal["json", "xlsx"] = "json",
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> Response | dict[str, object]:
    assert client.unit_id is not None
    report = write_off(c.read_uow(), client.unit_id, date_from, date_to)
    if format == "xlsx":
        name = f"write-off-{report.unit_code}-{date_from}-{date_to}.xlsx"
        return Response(
            write_off_workbook(report),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return _report_json(report)


def _report_json(report: WriteOffReport) -> dict[str, object]:
    return {
        "unit": {"code": report.unit_code, "name": report.unit_name},
        "from": report.date_from,
        "to": report.date_to,
        "issued": {"count": report.issued_count, "total_fen": report.issued_fen},
        "red": {"count": report.red_count, "total_fen": report.red_fen},
        "net_fen": report.issued_fen + report.red_fen,
        "printed": {"count": report.printed_count, "reprints": report.reprinted_count},
        "booked": report.booked_count,
        "payments": {
            "count": report.paid_count,
            "paid_fen": report.paid_fen,
            "refunded_fen": report.refunded_fen,
            "net_fen": report.paid_fen - report.refunded_fen,
        },
        "stocks": [
            {
                "code": s.code,
                "start": f"{s.start:010d}",
                "end": f"{s.end:010d}",
                "next": f"{s.next:010d}",
                "used": s.used,
                "unused": s.unused,
                "issuing_point": s.issuing_point,
                "status": s.status,
            }
            for s in report.stocks
        ],
        "unused": report.unused,
        "balanced": report.balanced,
        "problems": report.problems,
    }


@router.get(
    "/{code}/{number}/signatures",
    response_model=SignaturesOut,
    summary="票据的两个签名（开票单位、财政监制），可用 OpenSSL 独立验证",
    openapi_extra=OPTIONALLY_SIGNED,
)
def signatures(
    request: Request,
    code: Code,
    number: Number,
    check_code: str | None = OPTIONAL_CHECK,
    body: bytes = Depends(body_bytes),
    c: Container = Depends(container),
) -> SignaturesOut:
    caller = verify_request(request, body, c) if "x-app-id" in request.headers else None
    who = caller.app_id if caller else client_address(request)
    query = SignatureLookup(code, number, check_code, caller.unit_id if caller else None)
    attempts = anonymous_limits(request).attempts(who, f"{code}-{number}")
    receipt = receipt_for_signatures(c.read_uow(), query, attempts=attempts)
    signed = _signed(c, receipt)
    return SignaturesOut(
        signatures=[
            SignatureOut(
                signer="unit" if e.signer == "unit" else "finance",
                algorithm=e.algorithm,
                signer_id=e.signer_id.decode("latin-1"),
                content_b64=base64.b64encode(e.content).decode("ascii"),
                signature_b64=base64.b64encode(e.signature).decode("ascii"),
                public_key_pem=e.public_key_pem.decode("ascii"),
            )
            for e in signed.signatures()
        ]
    )


@router.get("/{code}/{number}/xml", summary="签名票据文件（publicpay receipt verify 可验证）")
def xml_document(
    request: Request,
    code: Code,
    number: Number,
    check_code: str = CHECK,
    c: Container = Depends(container),
) -> Response:
    attempts = anonymous_limits(request).attempts(client_address(request), f"{code}-{number}")
    receipt = find_receipt(c.read_uow(), code, number, check_code, attempts)
    document = signed_receipt_document(_signed(c, receipt))
    headers = {"Content-Disposition": f'attachment; filename="{code}-{number}.xml"'}
    return Response(document, media_type="application/xml", headers=headers)


@router.get("/{code}/{number}/pdf", summary="票据 PDF（查看/下载，不计打印次数）")
def pdf(
    request: Request,
    code: Code,
    number: Number,
    check_code: str = CHECK,
    c: Container = Depends(container),
) -> Response:
    attempts = anonymous_limits(request).attempts(client_address(request), f"{code}-{number}")
    receipt = find_receipt(c.read_uow(), code, number, check_code, attempts)
    body = receipt_pdf(c.read_uow(), c.uow(), ReceiptFormats(), receipt)
    return _pdf_response(body, receipt)


@router.post("/{code}/{number}/print", summary="打印票据（计次；重复打印加注）")
def print_(
    body: PrintIn,
    code: Code,
    number: Number,
    client: ApiClient = Depends(signed_client),
    c: Container = Depends(container),
) -> Response:
    if client.kind not in ("unit", "device"):
        raise Forbidden("只有执收单位或自助机/窗口设备可以打印票据")
    request = PrintRequest(code, number, body.place or client.app_id, client.unit_id)
    result = print_receipt(
        c.uow(), ReceiptFormats(), request, policy=receipt_policy(c.settings), clock=c.clock
    )
    headers = {"X-Print-Count": str(result.print_count), "X-Reprint": str(result.reprint).lower()}
    return Response(result.pdf, media_type="application/pdf", headers=headers)


@router.post("/{code}/{number}/booking", response_model=BookingOut, summary="入账反馈（仅一次）")
def booking(
    request: Request,
    body: BookingIn,
    code: Code,
    number: Number,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> BookingOut:
    by = (body.booked_by or client.app_id)[:100]
    address = client_address(request)
    booking = Booking(
        code, number, body.check_code, actor=client.app_id, booked_by=by, address=address
    )
    attempts = anonymous_limits(request).attempts(client.app_id, f"{code}-{number}")
    booked = book_receipt(c.uow(), booking, clock=c.clock, attempts=attempts)
    assert booked.booked_at is not None
    return BookingOut(
        code=code,
        number=number,
        booked_at=booked.booked_at.isoformat(),
        booked_by=by,
        booked_client=client.app_id,
    )


def _pdf_response(body: bytes, receipt: StoredReceipt) -> Response:
    name = f"{receipt.code}-{receipt.number}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(body, media_type="application/pdf", headers=headers)
