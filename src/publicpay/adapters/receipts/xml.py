"""E-receipt XML (national EInvoice layout), its two SM2 signatures and the signed document.

What each signature covers (the one definition; see `unit_content` / `finance_content`):
- unit (开票单位) signs the exact receipt XML bytes returned by `receipt_xml`;
- finance (财政监制) signs those XML bytes immediately followed by the unit's DER signature bytes.
Both are SM2 with SM3 digest and a signer id (default "1234567812345678").
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from publicpay.adapters.crypto import sm2
from publicpay.domain.receipts.receipts import ReceiptFace, ReceiptLine, Seal
from publicpay.domain.time import SHANGHAI

VERSION = "1.1.0"
DOCUMENT_VERSION = "1.0"
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN_MARKUP = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']"
)


class ReceiptSigner(Protocol):
    algorithm: str
    signer_id: bytes
    public_key_pem: bytes

    def sign(self, data: bytes) -> bytes: ...


class UnsafeXml(ValueError):
    """The document has a DTD, entity declarations, or is not plain UTF-8."""


# --- receipt XML ---------------------------------------------------------------------------


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def einvoice_id(code: str, number: str) -> str:
    """Header EInvoiceID: reverse(number) + '-' + reverse(code), as the Jiangsu platform does."""
    return f"{number[::-1]}-{code[::-1]}"


def receipt_xml(face: ReceiptFace) -> bytes:
    """The receipt as UTF-8 XML; the same face always gives the same bytes."""
    root = ET.Element("EInvoice")
    header = ET.SubElement(root, "Header")
    _children(
        header,
        [
            ("EInvoiceID", einvoice_id(face.code, face.number)),
            ("EInvoiceTag", f"CZ-EI-{face.code[:2]}"),
            ("Version", VERSION),
        ],
    )
    data = ET.SubElement(root, "EInvoiceData")
    _main(ET.SubElement(data, "Main"), face)
    details = ET.SubElement(data, "Details")
    for line in face.lines:
        _item(ET.SubElement(details, "Item"), line)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8")


def _main(main: ET.Element, face: ReceiptFace) -> None:
    """`Main` in the national element order (domain notes §1.3)."""
    issued = face.issued_at.astimezone(SHANGHAI)
    _children(
        main,
        [
            ("EInvoiceName", face.title),
            ("EInvoiceCode", face.code),
            ("EInvoiceNumber", face.number),
            ("RandomNumber", face.check_code),
            ("EInvoiceSpecimenCode", face.specimen_code),
            ("SupervisorAreaCode", face.supervisor_area_code),
            ("TotalAmount", yuan(face.total_fen)),
            ("IssueDate", issued.strftime("%Y%m%d")),
            ("IssueTime", issued.strftime("%H:%M:%S")),
        ],
    )
    _children(
        ET.SubElement(main, "InvoicingParty"),
        [
            ("InvoicingPartyCode", face.unit_code),
            ("InvoicingPartyName", face.unit_name),
            ("RecName", face.rec_name),
            ("RecAcct", face.rec_account),
            ("RecOpBk", face.rec_bank),
        ],
    )
    _children(
        ET.SubElement(main, "PayerParty"),
        [
            ("PayerPartyType", "2" if face.payer_type == "org" else "1"),
            ("PayerPartyCode", face.payer_code),  # in full: the signed XML is the legal record
            ("PayerPartyName", face.payer_name),
            ("PayerAcct", ""),
            ("PayerOpBk", ""),
        ],
    )
    _children(
        main,
        [
            ("PayMode", face.channel_name),
            ("BizCode", face.payment_code),
            ("CurrencyType", "CNY"),
            ("ExchangeRate", "1.00"),
            ("Remark", face.remark),
            ("HandlingPerson", face.payee),
            ("Checker", face.checker),
            ("SupervisorRemark", face.supervisor_remark),
        ],
    )
    _children(ET.SubElement(main, "MainExt"), _main_ext(face))
    _seal(ET.SubElement(main, "InvoicingPartySeal"), face.unit_seal)
    _seal(ET.SubElement(main, "SupervisorPartySeal"), face.supervisor_seal)


def _seal(element: ET.Element, seal: Seal) -> None:
    _children(element, [("SealId", seal.seal_id), ("SealName", seal.name), ("SealHash", seal.hash)])


def _main_ext(face: ReceiptFace) -> list[tuple[str, str]]:
    ext = [
        ("InvoiceKind", face.kind.value),
        ("TotalAmountCapital", face.total_in_words),
        ("PayCode", face.payment_code),
        ("PayChannel", face.channel_name),
        ("VerifyUrl", face.verify_url),
    ]
    if face.is_red:
        ext += [
            ("RelatedInvoiceCode", face.original_code),
            ("RelatedInvoiceNumber", face.original_number),
        ]
    return ext


def _item(item: ET.Element, line: ReceiptLine) -> None:
    _children(
        item,
        [
            ("ItemCode", line.item_code),
            ("ItemName", line.item_name),
            ("ItemQuantity", line.quantity_text),
            ("ItemUnit", line.unit),
            ("ItemStd", yuan(line.standard_fen)),
            ("ItemAmount", yuan(line.amount_fen)),
        ],
    )


def _children(parent: ET.Element, pairs: Iterable[tuple[str, str]]) -> None:
    for tag, text in pairs:
        ET.SubElement(parent, tag).text = _ILLEGAL_XML_CHARS.sub(" ", text)


# --- signatures ----------------------------------------------------------------------------


def unit_content(xml: bytes) -> bytes:
    """Bytes the 开票单位 signature covers: the receipt XML, verbatim."""
    return xml


def finance_content(xml: bytes, unit_signature: bytes) -> bytes:
    """Bytes the 财政监制 signature covers: receipt XML || unit DER signature."""
    return xml + unit_signature


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    """One signature as the public contract publishes it (`/receipts/{code}/{no}/signatures`)."""

    signer: str  # "unit" | "finance"
    algorithm: str
    signer_id: bytes
    content: bytes
    signature: bytes
    public_key_pem: bytes


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    xml: bytes
    unit_signature: bytes
    unit_public_key_pem: bytes
    finance_signature: bytes
    finance_public_key_pem: bytes
    unit_signer_id: bytes = sm2.DEFAULT_SIGNER_ID
    finance_signer_id: bytes = sm2.DEFAULT_SIGNER_ID

    @property
    def unit_content(self) -> bytes:
        return unit_content(self.xml)

    @property
    def finance_content(self) -> bytes:
        return finance_content(self.xml, self.unit_signature)

    def signatures(self) -> tuple[SignatureEntry, SignatureEntry]:
        return (
            SignatureEntry(
                "unit",
                sm2.ALGORITHM,
                self.unit_signer_id,
                self.unit_content,
                self.unit_signature,
                self.unit_public_key_pem,
            ),
            SignatureEntry(
                "finance",
                sm2.ALGORITHM,
                self.finance_signer_id,
                self.finance_content,
                self.finance_signature,
                self.finance_public_key_pem,
            ),
        )


def sign_receipt(
    xml: bytes, unit_signer: ReceiptSigner, finance_signer: ReceiptSigner
) -> SignedReceipt:
    """Unit signs the XML, then finance countersigns XML + unit signature."""
    unit_signature = unit_signer.sign(unit_content(xml))
    finance_signature = finance_signer.sign(finance_content(xml, unit_signature))
    return SignedReceipt(
        xml=xml,
        unit_signature=unit_signature,
        unit_public_key_pem=unit_signer.public_key_pem,
        finance_signature=finance_signature,
        finance_public_key_pem=finance_signer.public_key_pem,
        unit_signer_id=unit_signer.signer_id,
        finance_signer_id=finance_signer.signer_id,
    )


# --- signed document -----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed_receipt_document(signed: SignedReceipt) -> bytes:
    """A self-contained XML file: the receipt XML (base64, verbatim bytes) and both signatures."""
    root = ET.Element("SignedEInvoice", {"Version": DOCUMENT_VERSION})
    ET.SubElement(root, "EInvoiceContent", {"Encoding": "base64"}).text = _b64(signed.xml)
    for entry in signed.signatures():
        covers = "EInvoiceContent" if entry.signer == "unit" else "EInvoiceContent+unit"
        element = ET.SubElement(
            root,
            "Signature",
            {
                "Signer": entry.signer,
                "Algorithm": entry.algorithm,
                "SignerId": entry.signer_id.decode("latin-1"),
                "Covers": covers,
            },
        )
        ET.SubElement(element, "PublicKey").text = entry.public_key_pem.decode("ascii")
        ET.SubElement(element, "SignatureValue").text = _b64(entry.signature)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8")


def parse_xml_safely(doc: bytes) -> ET.Element:
    """Parse UTF-8 XML, refusing DTDs and entity declarations (XXE / entity expansion)."""
    declared = _DECLARED_ENCODING.match(doc)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise UnsafeXml("only UTF-8 documents are accepted")
    try:
        text = doc.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXml("document is not UTF-8") from exc
    if "\x00" in text or _FORBIDDEN_MARKUP.search(text):
        raise UnsafeXml("DTDs and entity declarations are not accepted")
    try:
        return ET.fromstring(doc)  # noqa: S314 - DTD/entity markup refused above
    except ET.ParseError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc


def load_receipt_document(doc: bytes) -> SignedReceipt:
    """Read a document written by `signed_receipt_document` (signatures not checked)."""
    root = parse_xml_safely(doc)
    if root.tag != "SignedEInvoice":
        raise ValueError("not a SignedEInvoice document")
    xml = _b64_child(root, "EInvoiceContent")
    parts: dict[str, tuple[bytes, bytes, bytes]] = {}
    for element in root.findall("Signature"):
        signer = element.get("Signer", "")
        if signer in parts or signer not in ("unit", "finance"):
            raise ValueError(f"unexpected or repeated signer {signer!r}")
        if element.get("Algorithm") != sm2.ALGORITHM:
            raise ValueError(f"unsupported algorithm {element.get('Algorithm')!r}")
        signer_id = element.get("SignerId", "").encode("latin-1")
        key = (element.findtext("PublicKey") or "").encode("ascii")
        parts[signer] = (_b64_child(element, "SignatureValue"), key, signer_id)
    if set(parts) != {"unit", "finance"}:
        raise ValueError("both the unit and the finance signature are required")
    return SignedReceipt(
        xml=xml,
        unit_signature=parts["unit"][0],
        unit_public_key_pem=parts["unit"][1],
        unit_signer_id=parts["unit"][2],
        finance_signature=parts["finance"][0],
        finance_public_key_pem=parts["finance"][1],
        finance_signer_id=parts["finance"][2],
    )


def _b64_child(parent: ET.Element, tag: str) -> bytes:
    text = parent.findtext(tag)
    if text is None:
        raise ValueError(f"missing {tag}")
    return base64.b64decode("".join(text.split()), validate=True)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    unit_valid: bool
    finance_valid: bool
    keys_trusted: bool
    code: str = ""
    number: str = ""
    check_code: str = ""
    total_amount: str = ""
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.unit_valid and self.finance_valid and self.keys_trusted


def verify_receipt_document(
    doc: bytes, trusted_public_keys: Collection[bytes] | None = None
) -> VerifyResult:
    """Check both signatures of a signed receipt document.

    With `trusted_public_keys` (PEMs) each signature's key must also be one of them; without it,
    the embedded keys are used as they are (integrity only: anyone can sign with a key of their
    own, so compare the keys with the published ones in `/api/v1/receipts/keys`).
    """
    try:
        signed = load_receipt_document(doc)
    except (ValueError, UnicodeError) as exc:
        return VerifyResult(False, False, False, problems=(f"无法读取票据文件：{exc}",))
    unit_ok, finance_ok = (_check(entry) for entry in signed.signatures())
    trusted = _keys_trusted(signed, trusted_public_keys)
    checks = (
        (unit_ok, "开票单位签名无效"),
        (finance_ok, "财政监制签名无效"),
        (trusted, "签名公钥不在可信公钥列表中"),
    )
    problems = [text for ok, text in checks if not ok]
    identity = _identity(signed.xml, problems)
    return VerifyResult(unit_ok, finance_ok, trusted, *identity, problems=tuple(problems))


def _check(entry: SignatureEntry) -> bool:
    try:
        return sm2.verify(entry.public_key_pem, entry.content, entry.signature, entry.signer_id)
    except ValueError:
        return False


def _keys_trusted(signed: SignedReceipt, trusted: Collection[bytes] | None) -> bool:
    if trusted is None:
        return True
    allowed = {_normal_pem(pem) for pem in trusted}
    used = {_normal_pem(signed.unit_public_key_pem), _normal_pem(signed.finance_public_key_pem)}
    return used <= allowed


def _normal_pem(pem: bytes) -> bytes:
    return b"".join(pem.split())


def _identity(xml: bytes, problems: list[str]) -> tuple[str, str, str, str]:
    try:
        main = parse_xml_safely(xml).find("EInvoiceData/Main")
    except ValueError as exc:
        problems.append(f"票据内容无法解析：{exc}")
        return ("", "", "", "")
    if main is None:
        problems.append("票据内容缺少 Main")
        return ("", "", "", "")
    code, number, check, total = (
        main.findtext(tag) or ""
        for tag in ("EInvoiceCode", "EInvoiceNumber", "RandomNumber", "TotalAmount")
    )
    return code, number, check, total
