"""Using an issued receipt: view the PDF, print on demand, book (入账), check it publicly (查验).

- The PDF of the e-receipt (the legal original is the signed XML) is rendered on first use and
  cached with the receipt; viewing it is not a print.
- A print (kiosk, window) is allowed within the print window after issue (default 6 months);
  each one is counted and recorded, and every print after the first carries 重复打印.
- Booking for reimbursement (入账) is allowed once, by a signed unit system that shows the
  receipt's check code; the audit row names the calling client (its app id), and the `booked_by`
  text the caller sends is kept only as its own description. Reversed and red receipts cannot be
  booked.
- The public check needs code + number + check code + issue date + amount, and says nothing
  more than "no such receipt" when any of them differs.
- The two signatures (their content is the signed XML: the payer's name and full identifier,
  the check code) are shown to whoever gives the right check code and to the receipt's own
  unit (signed), which may omit it; without either the lookup is refused as incomplete.
- Every place that takes a check code spends the caller's `Attempts` on a wrong one (per client
  address or app id, and per receipt) and refuses, before looking, a caller who has none left:
  guessing a 6-digit check code is throttled, and a right guess over the allowance is refused
  like a wrong one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from publicpay.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from publicpay.domain.receipts.receipts import can_print, is_reprint
from publicpay.domain.receipts.records import PrintResult, StoredReceipt
from publicpay.domain.time import SHANGHAI
from publicpay.services.ports import Clock
from publicpay.services.receipts.building import ReceiptPolicy
from publicpay.services.receipts.ports import ReceiptFormats
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.receipt_access")  # its name before the reorganisation


class ReceiptNotFound(NotFound):
    """No such receipt, or the check code does not match (the two are not told apart)."""

    code = "receipt_not_found"
    title = "未找到票据"


class PrintWindowClosed(Forbidden):
    title = "已超过票据打印期限"


class AlreadyBooked(Conflict):
    title = "票据已入账"


class NotBookable(Conflict):
    title = "该票据不能入账"


class Attempts(Protocol):
    """A caller's allowance of wrong check codes for one receipt (api.rate_limits)."""

    def check(self) -> None:
        """Raise (RateLimited) when the allowance is used up; spends nothing."""
        ...

    def failed(self) -> None:
        """Spend one attempt: the check code (or the receipt) was wrong."""
        ...


class Unlimited:
    """Attempts of internal callers (no throttle)."""

    def check(self) -> None:
        return None

    def failed(self) -> None:
        return None


UNLIMITED = Unlimited()


class CheckCodeRequired(ValidationFailed):
    title = "缺少校验码"


def find_receipt(
    uow: UnitOfWork, code: str, number: str, check_code: str, attempts: Attempts = UNLIMITED
) -> StoredReceipt:
    """A receipt by code + number; the check code must match (documents are not enumerable)."""
    attempts.check()
    with uow:
        receipt = uow.receipts.by_number(code, number)
    if receipt is None or receipt.check_code != check_code:
        attempts.failed()
        log.info("receipt %s-%s not found or wrong check code", code, number)
        raise _not_found(code, number)
    return receipt


def _not_found(code: str, number: str) -> ReceiptNotFound:
    return ReceiptNotFound(f"未找到票据 {code}-{number}（请核对票据代码、号码和校验码）")


@dataclass(frozen=True, slots=True)
class SignatureLookup:
    code: str
    number: str
    check_code: str | None  # shows the caller holds the receipt
    unit_id: int | None  # the signed caller's unit, if the call was signed by a unit system


def receipt_for_signatures(
    uow: UnitOfWork, query: SignatureLookup, *, attempts: Attempts
) -> StoredReceipt:
    """The receipt whose signatures (and so whose signed XML) may be shown to this caller.

    The receipt's own unit (a signed call) may omit the check code. Anyone else must give it
    (CheckCodeRequired before anything is looked up); a wrong one spends an attempt and answers
    ReceiptNotFound exactly like a number never issued.
    """
    if query.check_code is None and query.unit_id is None:
        raise _check_code_required()
    if query.unit_id is not None:
        with uow:
            receipt = uow.receipts.by_number(query.code, query.number)
        if receipt is not None and receipt.unit_id == query.unit_id:
            return receipt
        if query.check_code is None:
            raise _check_code_required()
    assert query.check_code is not None
    return find_receipt(uow, query.code, query.number, query.check_code, attempts)


def _check_code_required() -> CheckCodeRequired:
    message = "查询票据签名须提供校验码 check_code（6位数字）；开票单位签名调用可不提供"
    return CheckCodeRequired(message, errors={"check_code": "必填（6位数字）"})


def receipt_pdf(
    read_uow: UnitOfWork, uow: UnitOfWork, formats: ReceiptFormats, receipt: StoredReceipt
) -> bytes:
    """The face as PDF, rendered once and cached.

    The cache is read without the write lock and the PDF is rendered outside any transaction
    (the same XML always gives the same face), so views never queue behind writers.
    """
    with read_uow:
        cached = read_uow.receipts.cached_pdf(receipt.id)
    if cached is not None:
        return cached
    pdf = formats.pdf(formats.face(receipt.xml), reprint=False)
    with uow:
        uow.receipts.cache_pdf(receipt.id, pdf)
        uow.commit()
    return pdf


@dataclass(frozen=True, slots=True)
class PrintRequest:
    code: str
    number: str
    place: str  # the kiosk or window (开票点) that prints
    unit_id: int | None  # a unit may print only its own receipts; None for a device


def print_receipt(
    uow: UnitOfWork,
    formats: ReceiptFormats,
    request: PrintRequest,
    *,
    policy: ReceiptPolicy,
    clock: Clock,
) -> PrintResult:
    now = clock.now()
    with uow:
        receipt = uow.receipts.by_number(request.code, request.number, lock=True)
        if receipt is None or request.unit_id not in (None, receipt.unit_id):
            raise NotFound(f"未找到票据 {request.code}-{request.number}")
        if not can_print(receipt.issued_at, now, policy.print_window_days):
            log.warning("print of %s-%s refused: window closed", receipt.code, receipt.number)
            raise PrintWindowClosed(
                f"票据 {receipt.code}-{receipt.number} 开具已超过 {policy.print_window_days} 天，"
                "不能再打印"
            )
        reprint = is_reprint(receipt.print_count)
        pdf = uow.receipts.cached_pdf(receipt.id) if not reprint else None
        if pdf is None:
            pdf = formats.pdf(formats.face(receipt.xml), reprint=reprint)
        if not reprint:
            uow.receipts.cache_pdf(receipt.id, pdf)
        uow.receipts.record_print(receipt.id, now, request.place, reprint)
        detail = {"place": request.place, "reprint": reprint, "count": receipt.print_count + 1}
        uow.audit.append(request.place, "receipt.printed", f"{receipt.code}-{receipt.number}",
                         detail, now)  # fmt: skip
        uow.commit()
    return PrintResult(pdf, receipt.print_count + 1, reprint)


@dataclass(frozen=True, slots=True)
class Booking:
    code: str
    number: str
    check_code: str  # the booking system must hold the receipt
    actor: str  # the authenticated client (app id): the audit actor
    booked_by: str  # the caller's own description of who books (kept, not trusted)
    address: str = ""  # where the call came from (client address), for the audit


def book_receipt(
    uow: UnitOfWork, booking: Booking, *, clock: Clock, attempts: Attempts = UNLIMITED
) -> StoredReceipt:
    """入账: mark the receipt booked for reimbursement; a second booking is refused."""
    now = clock.now()
    code, number = booking.code, booking.number
    attempts.check()
    with uow:
        receipt = uow.receipts.by_number(code, number, lock=True)
        if receipt is None or receipt.check_code != booking.check_code:
            attempts.failed()
            log.warning("booking of %s-%s by %s refused: no such receipt or wrong check code",
                        code, number, booking.actor)  # fmt: skip
            raise _not_found(code, number)
        if receipt.kind == "red" or receipt.status != "issued":
            raise NotBookable(f"票据 {code}-{number} 已红冲或为红字票据，不能入账")
        if not uow.receipts.book(receipt.id, now, booking.booked_by[:100]):
            log.warning("second booking of %s-%s by %s refused", code, number, booking.actor)
            raise AlreadyBooked(
                f"票据 {code}-{number} 已于 {receipt.booked_at:%Y-%m-%d %H:%M} 入账，不能重复入账"
                if receipt.booked_at
                else f"票据 {code}-{number} 已入账"
            )
        detail = {"booked_by": booking.booked_by[:100], "address": booking.address}
        uow.audit.append(booking.actor, "receipt.booked", f"{code}-{number}", detail, now)
        uow.commit()
        booked = uow.receipts.by_id(receipt.id)
    assert booked is not None
    return booked


@dataclass(frozen=True, slots=True)
class CheckQuery:
    code: str
    number: str
    check_code: str
    issued_on: date
    amount_fen: int


def check_receipt(
    uow: UnitOfWork, query: CheckQuery, attempts: Attempts = UNLIMITED
) -> StoredReceipt:
    """查验: the receipt when every element matches; NotFound (and a log line) otherwise."""
    attempts.check()
    with uow:
        receipt = uow.receipts.by_number(query.code, query.number)
    matches = receipt is not None and (
        receipt.check_code == query.check_code
        and receipt.issued_at.astimezone(SHANGHAI).date() == query.issued_on
        and receipt.total_fen == query.amount_fen
    )
    if receipt is None or not matches:
        attempts.failed()
        log.warning("receipt check refused for %s-%s", query.code, query.number)
        raise NotFound("查无此票：票据代码、号码、校验码、开票日期或金额不一致")
    return receipt
