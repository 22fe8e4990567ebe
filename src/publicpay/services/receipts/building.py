"""Building one e-receipt: its face, XML, two signatures, the row to store, event and audit.

`Issuer.build` turns a payable (or a refund of it) plus a drawn number into the `NewReceipt` to
store; it does no I/O besides signing. Callers draw the numbers and store the rows inside their
own transaction (`services.receipts.issuing`: one job at a time, or a batch of jobs of one stock).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.events import EventType
from publicpay.domain.fees import LATE_SURCHARGE_NAME
from publicpay.domain.payables import PAYER_ID_CONTEXT, Payable, PayableStatus
from publicpay.domain.receipts.receipts import (
    DEFAULT_PRINT_WINDOW_DAYS,
    DEFAULT_TITLE,
    SUPERVISOR_SEAL_NAME,
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    Seal,
    is_whole,
    new_check_code,
    specimen_code,
    whole_line,
)
from publicpay.domain.receipts.records import DrawnNumber, NewReceipt, StoredReceipt
from publicpay.domain.time import SHANGHAI
from publicpay.domain.units import Unit
from publicpay.services.receipts.ports import ReceiptFormats, ReceiptSigner
from publicpay.services.unit_of_work import UnitOfWork

SETTLED = (PayableStatus.PAID, PayableStatus.PARTIALLY_REFUNDED, PayableStatus.REFUNDED)
CHANNEL_NAMES = {
    "alipay": "支付宝",
    "wechat": "微信支付",
    "unionpay": "银联",
    "counter": "银行柜台",
    "cash": "现金",
    "card": "银行卡",
}
Key = tuple[int, ReceiptSigner]


class PayableNotPaid(ValidationFailed):
    title = "缴款单未缴款，不能开具票据"


class NotReady(DomainError):
    """A red receipt's original is not issued yet: wait for it (no alert)."""

    code = "receipt_not_ready"
    title = "原票据尚未开具"


class SigningKeyMissing(DomainError):
    code = "receipt_key_missing"
    title = "缺少票据签名密钥"


@dataclass(frozen=True, slots=True)
class CollectionAccount:
    """The account receipts name as 收款人 (RecName/RecAcct/RecOpBk): the finance bureau's
    collection account (汇缴户) every channel pays into."""

    name: str = ""
    number: str = ""
    bank: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptPolicy:
    base_url: str
    print_window_days: int = DEFAULT_PRINT_WINDOW_DAYS
    title: str = DEFAULT_TITLE
    payee: str = "统一公共支付平台"  # HandlingPerson (收款人/开票人 on the face)
    checker: str = "系统复核"
    account: CollectionAccount = CollectionAccount()
    supervisor_remark: str = ""  # SupervisorRemark (财政备注)

    def _root(self) -> str:
        return self.base_url.rstrip("/")

    def verify_url(self, code: str, number: str, check: str, at: datetime, fen: int) -> str:
        query = {
            "code": code,
            "number": number,
            "check_code": check,
            "date": at.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
            "amount": f"{fen / 100:.2f}",
        }
        return f"{self._root()}/verify?{urlencode(query)}"

    def xml_url(self, r: StoredReceipt | NewReceipt) -> str:
        return f"{self._root()}/api/v1/receipts/{r.code}/{r.number}/xml?check_code={r.check_code}"

    def pdf_url(self, r: StoredReceipt | NewReceipt) -> str:
        return f"{self._root()}/api/v1/receipts/{r.code}/{r.number}/pdf?check_code={r.check_code}"


@dataclass(frozen=True, slots=True)
class Draft:
    """A receipt to issue for a payable: its face with placeholder numbers, and what it reverses."""

    payable: Payable
    ref: str  # the job's order no / refund no
    face: ReceiptFace
    original_id: int | None = None


class Issuer:
    """Faces, signed rows and announcements of the receipts issued at one instant."""

    def __init__(self, formats: ReceiptFormats, policy: ReceiptPolicy, now: datetime) -> None:
        self.formats = formats
        self.policy = policy
        self.now = now

    def payment(self, uow: UnitOfWork, payable: Payable, unit: Unit, ref: str) -> Draft:
        lines = payment_lines(payable, uow)
        code = payer_code(uow, payable)
        return Draft(payable, ref, self.face(payable, unit, lines, payable.remark, payer=code))

    def face(
        self,
        payable: Payable,
        unit: Unit,
        lines: tuple[ReceiptLine, ...],
        remark: str,
        *,
        payer: str,
        original: StoredReceipt | None = None,
    ) -> ReceiptFace:
        """A face with placeholder numbers (`build` fills them); red when it names an original."""
        if not all(is_whole(line) for line in lines):  # a bug: callers pass whole lines
            raise ValueError(f"every receipt line needs quantity × standard = amount: {lines}")
        total = sum(line.amount_fen for line in lines)
        words = amount_in_words(abs(total))
        return ReceiptFace(
            code="00000000",
            number="0000000000",
            check_code="000000",
            issued_at=self.now,
            payer_name=payable.payer_name,
            payer_code=payer,
            unit_name=unit.name,
            unit_code=unit.credit_code,
            lines=lines,
            total_fen=total,
            total_in_words=words if total >= 0 else f"（负数）{words}",
            payee=self.policy.payee,
            checker=self.policy.checker,
            payment_code=payable.payment_code,
            channel_name=CHANNEL_NAMES.get(payable.channel or "", payable.channel or ""),
            verify_url="",
            title=self.policy.title,
            remark=remark,
            payer_type=payable.payer_type.value,
            kind=ReceiptKind.RED if original else ReceiptKind.NORMAL,
            original_code=original.code if original else "",
            original_number=original.number if original else "",
            supervisor_area_code=unit.region_code,
            supervisor_remark=self.policy.supervisor_remark,
            rec_name=self.policy.account.name,
            rec_account=self.policy.account.number,
            rec_bank=self.policy.account.bank,
        )

    def build(
        self, draft: Draft, unit: Unit, drawn: DrawnNumber, keys: tuple[Key, Key]
    ) -> tuple[NewReceipt, ReceiptFace]:
        """The signed row for `draft` under the drawn number (XML + unit and finance SM2)."""
        (unit_key_id, unit_key), (finance_key_id, finance_key) = keys
        check = new_check_code()
        face = replace(
            draft.face,
            code=drawn.code,
            number=drawn.number,
            check_code=check,
            verify_url=self.policy.verify_url(
                drawn.code, drawn.number, check, self.now, draft.face.total_fen
            ),
            specimen_code=specimen_code(drawn.code),
            unit_seal=self._seal(f"{unit.code}-{unit_key_id}", f"{unit.name}票据专用章", unit_key),
            supervisor_seal=self._seal(
                f"{unit.region_code}-{finance_key_id}", SUPERVISOR_SEAL_NAME, finance_key
            ),
        )
        xml = self.formats.xml(face)
        unit_signature, finance_signature = self.formats.sign(xml, unit_key, finance_key)
        row = NewReceipt(
            code=drawn.code,
            number=drawn.number,
            check_code=check,
            kind=face.kind.value,
            payable_id=draft.payable.id,
            unit_id=unit.id,
            stock_id=drawn.stock_id,
            ref=draft.ref,
            original_id=draft.original_id,
            total_fen=face.total_fen,
            xml=xml,
            unit_signature=unit_signature,
            finance_signature=finance_signature,
            unit_key_id=unit_key_id,
            finance_key_id=finance_key_id,
            issued_at=self.now,
        )
        return row, face

    def _seal(self, seal_id: str, name: str, key: ReceiptSigner) -> Seal:
        """The seal block of a signing key (see domain.receipts.receipts.Seal)."""
        return Seal(seal_id, name, self.formats.key_hash(key.public_key_pem))

    def announce(self, uow: UnitOfWork, payable: Payable, r: NewReceipt, face: ReceiptFace) -> None:
        """The `receipt.issued` event (webhook) and the audit row of one receipt."""
        self.event(uow, payable, r, face)
        detail = {"payment_code": payable.payment_code, "kind": r.kind, "total_fen": r.total_fen}
        uow.audit.append("system", "receipt.issued", f"{r.code}-{r.number}", detail, self.now)

    def event(self, uow: UnitOfWork, payable: Payable, r: NewReceipt, face: ReceiptFace) -> None:
        data: dict[str, object] = {
            "payment_code": payable.payment_code,
            "biz_no": payable.biz_no,
            "kind": r.kind,
            "code": r.code,
            "number": r.number,
            "check_code": r.check_code,
            "total_fen": r.total_fen,
            "issued_at": r.issued_at.isoformat(),
            "xml_url": self.policy.xml_url(r),
            "pdf_url": self.policy.pdf_url(r),
        }
        if face.is_red:
            data["original"] = {"code": face.original_code, "number": face.original_number}
        uow.events.add(
            payable.unit_id, EventType.RECEIPT_ISSUED.value, data, self.now, deliver=True
        )

    def audit_batch(self, uow: UnitOfWork, issued: list[tuple[Payable, NewReceipt]]) -> None:
        """One audit row for the receipts one batch issued (numbers in order, payment codes)."""
        first, last = issued[0][1], issued[-1][1]
        receipts = [[r.number, p.payment_code, r.kind, r.total_fen] for p, r in issued]
        detail = {"count": len(issued), "receipts": receipts}
        target = f"{first.code}-{first.number}..{last.number}"
        uow.audit.append("system", "receipt.issued", target, detail, self.now)


def payer_code(uow: UnitOfWork, payable: Payable) -> str:
    """The payer's full ID number or credit code for the signed XML (stored encrypted)."""
    return uow.box.open_text(uow.payables.payer_id_enc(payable.id), PAYER_ID_CONTEXT)


def signers(uow: UnitOfWork, unit: Unit) -> tuple[Key, Key]:
    """The unit's and its finance bureau's active keys; SigningKeyMissing when one is absent."""
    unit_key = uow.receipts.signer("unit", unit.code)
    finance_key = uow.receipts.signer("finance", unit.region_code)
    if unit_key is None:
        raise SigningKeyMissing(f"单位 {unit.code} 没有有效的票据签名密钥")
    if finance_key is None:
        raise SigningKeyMissing(f"财政部门 {unit.region_code} 没有有效的监制签名密钥")
    return unit_key, finance_key


def payment_lines(payable: Payable, uow: UnitOfWork) -> tuple[ReceiptLine, ...]:
    """The payable's lines; a fine's 加处罚款 (paid above the lines) gets a line of its own."""
    lines = [
        whole_line(
            ReceiptLine(
                line.item_code,
                line.item_name,
                line.unit_of_measure,
                line.quantity,
                line.standard_fen,
                line.amount_fen,
            )
        )
        for line in payable.lines
    ]
    extra = (payable.paid_fen or 0) - sum(line.amount_fen for line in lines)
    if extra > 0:
        items = uow.catalogue.items()
        fines = [x.item_code for x in lines if x.item_code in items and items[x.item_code].is_fine]
        code = fines[0] if fines else lines[0].item_code
        lines.append(ReceiptLine(code, LATE_SURCHARGE_NAME, "元", 1, extra, extra))
    return tuple(lines)
