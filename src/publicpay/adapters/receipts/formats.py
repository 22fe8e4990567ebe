"""The receipt formats the services use (port `ReceiptFormats`): XML, signatures, PDF, and the
face read back from stored XML (the signed XML is the one source of truth; PDFs are drawn from it).
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from xml.etree.ElementTree import Element

from publicpay.adapters.crypto import sm2
from publicpay.adapters.receipts.pdf import DEFAULT_FONT_PATH, ReceiptPdfRenderer
from publicpay.adapters.receipts.xml import (
    ReceiptSigner,
    parse_xml_safely,
    receipt_xml,
    sign_receipt,
)
from publicpay.domain.money import Money
from publicpay.domain.receipts.receipts import (
    SUPERVISOR_SEAL_NAME,
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    Seal,
)
from publicpay.domain.time import SHANGHAI
from publicpay.services.receipts.building import CollectionAccount, ReceiptPolicy
from publicpay.settings import Mode, Settings


@functools.cache
def _renderer(font_path: str) -> ReceiptPdfRenderer:
    return ReceiptPdfRenderer(font_path)


class ReceiptFormats:
    def __init__(self, font_path: str = DEFAULT_FONT_PATH) -> None:
        self._font_path = font_path

    def xml(self, face: ReceiptFace) -> bytes:
        return receipt_xml(face)

    def sign(self, xml: bytes, unit: ReceiptSigner, finance: ReceiptSigner) -> tuple[bytes, bytes]:
        signed = sign_receipt(xml, unit, finance)
        return signed.unit_signature, signed.finance_signature

    def face(self, xml: bytes) -> ReceiptFace:
        return face_from_xml(xml)

    def pdf(self, face: ReceiptFace, *, reprint: bool) -> bytes:
        return _renderer(self._font_path).render(face, reprint=reprint)

    def key_hash(self, public_key_pem: bytes) -> str:
        return _key_hash(public_key_pem)


@functools.lru_cache(maxsize=256)
def _key_hash(public_key_pem: bytes) -> str:
    return sm2.sm3(public_key_pem).hex()


def face_from_xml(xml: bytes) -> ReceiptFace:
    """The ReceiptFace that `receipt_xml` serialised (receipt_xml(face_from_xml(x)) == x)."""
    root = parse_xml_safely(xml)
    main = _child(root, "EInvoiceData/Main")
    ext = _child(main, "MainExt")
    issued = datetime.strptime(
        _text(main, "IssueDate") + _text(main, "IssueTime"), "%Y%m%d%H:%M:%S"
    ).replace(tzinfo=SHANGHAI)
    return ReceiptFace(
        code=_text(main, "EInvoiceCode"),
        number=_text(main, "EInvoiceNumber"),
        check_code=_text(main, "RandomNumber"),
        issued_at=issued,
        payer_name=_text(main, "PayerParty/PayerPartyName"),
        payer_code=_text(main, "PayerParty/PayerPartyCode"),
        unit_name=_text(main, "InvoicingParty/InvoicingPartyName"),
        unit_code=_text(main, "InvoicingParty/InvoicingPartyCode"),
        lines=tuple(_line(item) for item in root.findall("EInvoiceData/Details/Item")),
        total_fen=_fen(_text(main, "TotalAmount")),
        total_in_words=_text(ext, "TotalAmountCapital"),
        payee=_text(main, "HandlingPerson"),
        checker=_text(main, "Checker"),
        payment_code=_text(ext, "PayCode"),
        channel_name=_text(ext, "PayChannel"),
        verify_url=_text(ext, "VerifyUrl"),
        title=_text(main, "EInvoiceName"),
        remark=_text(main, "Remark"),
        payer_type="org" if _text(main, "PayerParty/PayerPartyType") == "2" else "person",
        kind=ReceiptKind(_text(ext, "InvoiceKind")),
        original_code=_text(ext, "RelatedInvoiceCode"),
        original_number=_text(ext, "RelatedInvoiceNumber"),
        specimen_code=_text(main, "EInvoiceSpecimenCode"),
        supervisor_area_code=_text(main, "SupervisorAreaCode"),
        supervisor_remark=_text(main, "SupervisorRemark"),
        rec_name=_text(main, "InvoicingParty/RecName"),
        rec_account=_text(main, "InvoicingParty/RecAcct"),
        rec_bank=_text(main, "InvoicingParty/RecOpBk"),
        unit_seal=_seal(main, "InvoicingPartySeal"),
        supervisor_seal=_seal(main, "SupervisorPartySeal", SUPERVISOR_SEAL_NAME),
    )


def _seal(main: Element, path: str, default_name: str = "") -> Seal:
    """A seal block; a receipt issued before seals were written gets `default_name` only."""
    return Seal(
        _text(main, f"{path}/SealId"),
        _text(main, f"{path}/SealName") or default_name,
        _text(main, f"{path}/SealHash"),
    )


def _line(item: Element) -> ReceiptLine:
    quantity_text = _text(item, "ItemQuantity")
    quantity: int | Decimal = (
        int(quantity_text) if quantity_text.lstrip("-").isdigit() else Decimal(quantity_text)
    )
    return ReceiptLine(
        item_code=_text(item, "ItemCode"),
        item_name=_text(item, "ItemName"),
        unit=_text(item, "ItemUnit"),
        quantity=quantity,
        standard_fen=_fen(_text(item, "ItemStd")),
        amount_fen=_fen(_text(item, "ItemAmount")),
    )


def _child(parent: Element, path: str) -> Element:
    found = parent.find(path)
    if found is None:
        raise ValueError(f"receipt XML lacks {path}")
    return found


def _text(parent: Element, path: str) -> str:
    return parent.findtext(path) or ""


def _fen(yuan: str) -> int:
    return Money.from_yuan(yuan).fen


# DEMO ONLY: the collection account receipts name when none is configured outside production.
DEMO_COLLECTION_ACCOUNT = CollectionAccount(
    "演示区财政局非税收入汇缴户（演示）", "33050161000000000001", "演示银行西湖支行（演示）"
)


def receipt_policy(settings: Settings) -> ReceiptPolicy:
    """Links, the print window, the collection account and the 财政备注 from the settings."""
    account = CollectionAccount(
        settings.collection_account_name,
        settings.collection_account_number,
        settings.collection_account_bank,
    )
    if settings.mode is not Mode.PRODUCTION and not account.name:
        account = DEMO_COLLECTION_ACCOUNT
    return ReceiptPolicy(
        settings.public_base_url,
        print_window_days=settings.receipt_print_window_days,
        account=account,
        supervisor_remark=settings.receipt_supervisor_remark,
    )
