from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from publicpay.adapters.crypto import sm2
from publicpay.adapters.receipts.formats import face_from_xml
from publicpay.adapters.receipts.xml import (
    SignedReceipt,
    UnsafeXml,
    einvoice_id,
    finance_content,
    load_receipt_document,
    parse_xml_safely,
    receipt_xml,
    sign_receipt,
    signed_receipt_document,
    verify_receipt_document,
)
from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.receipts.receipts import (
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    Seal,
    specimen_code,
)

LINES = (
    ReceiptLine("103043211", "不动产登记费", "件", 1, 8000, 8000),
    ReceiptLine("103040101", "工本费", "本", Decimal("2.50"), 1000, 2500),
)


def make_face(**changes: object) -> ReceiptFace:
    face = ReceiptFace(
        code="32010126",
        number="0013933922",
        check_code="235456",
        issued_at=datetime(2026, 11, 21, 20, 30, 5, tzinfo=UTC),
        payer_name="张三",
        payer_code="11010519491231002X",
        unit_name="如皋市自然资源和规划局",
        unit_code="12320900E875065319",
        lines=LINES,
        total_fen=10500,
        total_in_words=amount_in_words(10500),
        payee="李四",
        checker="王五",
        payment_code="32068226010000000170",
        channel_name="支付宝",
        verify_url="https://pay.example.gov.cn/receipts/verify?code=32010126&no=0013933922",
        title="江苏省非税收入统一票据（电子）",
    )
    return replace(face, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def signers() -> tuple[sm2.Sm2Signer, sm2.Sm2Signer]:
    return (
        sm2.Sm2Signer(sm2.generate_private_key_pem()),
        sm2.Sm2Signer(sm2.generate_private_key_pem()),
    )


@pytest.fixture
def signed(signers: tuple[sm2.Sm2Signer, sm2.Sm2Signer]) -> SignedReceipt:
    return sign_receipt(receipt_xml(make_face()), *signers)


def test_same_face_gives_the_same_bytes() -> None:
    assert receipt_xml(make_face()) == receipt_xml(make_face())
    assert receipt_xml(make_face()) != receipt_xml(make_face(check_code="000001"))


def test_xml_follows_the_national_envelope_and_element_order() -> None:
    xml = receipt_xml(make_face())
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><Header>')
    root = ET.fromstring(xml)
    assert root.findtext("Header/EInvoiceID") == "2293393100-62101023"
    assert root.findtext("Header/EInvoiceTag") == "CZ-EI-32"
    main = root.find("EInvoiceData/Main")
    assert main is not None
    assert [child.tag for child in main] == [
        "EInvoiceName", "EInvoiceCode", "EInvoiceNumber", "RandomNumber",
        "EInvoiceSpecimenCode", "SupervisorAreaCode", "TotalAmount", "IssueDate", "IssueTime",
        "InvoicingParty", "PayerParty", "PayMode", "BizCode", "CurrencyType", "ExchangeRate",
        "Remark", "HandlingPerson", "Checker", "SupervisorRemark", "MainExt",
        "InvoicingPartySeal", "SupervisorPartySeal",
    ]  # fmt: skip
    assert _tags(main, "InvoicingParty") == [
        "InvoicingPartyCode", "InvoicingPartyName", "RecName", "RecAcct", "RecOpBk",
    ]  # fmt: skip
    assert _tags(main, "PayerParty") == [
        "PayerPartyType", "PayerPartyCode", "PayerPartyName", "PayerAcct", "PayerOpBk",
    ]  # fmt: skip
    for seal in ("InvoicingPartySeal", "SupervisorPartySeal"):
        assert _tags(main, seal) == ["SealId", "SealName", "SealHash"]
    item = root.find("EInvoiceData/Details/Item")
    assert item is not None
    assert [child.tag for child in item] == [
        "ItemCode", "ItemName", "ItemQuantity", "ItemUnit", "ItemStd", "ItemAmount",
    ]  # fmt: skip
    assert main.findtext("EInvoiceName") == "江苏省非税收入统一票据（电子）"
    assert main.findtext("TotalAmount") == "105.00"
    assert main.findtext("InvoicingParty/InvoicingPartyCode") == "12320900E875065319"
    assert main.findtext("PayerParty/PayerPartyType") == "1"
    assert main.findtext("PayMode") == "支付宝"
    assert main.findtext("BizCode") == "32068226010000000170"
    assert main.findtext("MainExt/TotalAmountCapital") == "壹佰零伍元整"
    assert main.findtext("MainExt/PayCode") == "32068226010000000170"
    assert main.findtext("MainExt/RelatedInvoiceCode") is None


def _tags(parent: ET.Element, path: str) -> list[str]:
    found = parent.find(path)
    assert found is not None, path
    return [child.tag for child in found]


def test_issue_date_and_time_are_beijing_time() -> None:
    main = ET.fromstring(receipt_xml(make_face())).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("IssueDate") == "20261122"
    assert main.findtext("IssueTime") == "04:30:05"


def test_items_carry_yuan_amounts_with_two_decimals() -> None:
    items = ET.fromstring(receipt_xml(make_face())).findall("EInvoiceData/Details/Item")
    assert [
        (i.findtext("ItemCode"), i.findtext("ItemQuantity"), i.findtext("ItemStd"),
         i.findtext("ItemAmount")) for i in items
    ] == [("103043211", "1", "80.00", "80.00"), ("103040101", "2.5", "10.00", "25.00")]  # fmt: skip


def test_special_characters_are_escaped_and_round_trip() -> None:
    name = "A&B <公司> \"引号\" '单'"
    xml = receipt_xml(make_face(payer_name=name, remark="1 < 2 && 3 > 2"))
    assert b"A&amp;B &lt;" in xml
    main = ET.fromstring(xml).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("PayerParty/PayerPartyName") == name
    assert main.findtext("Remark") == "1 < 2 && 3 > 2"


def test_control_characters_are_replaced_so_the_xml_stays_well_formed() -> None:
    xml = receipt_xml(make_face(remark="bad\x00\x1bchars\ttab"))
    main = ET.fromstring(xml).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("Remark") == "bad  chars\ttab"


def test_red_receipt_names_the_original() -> None:
    red_lines = (ReceiptLine("103043211", "不动产登记费", "件", 1, 8000, -8000),)
    face = make_face(
        number="0013933923",
        kind=ReceiptKind.RED,
        lines=red_lines,
        total_fen=-8000,
        total_in_words="负捌拾元整",
        original_code="32010126",
        original_number="0013933922",
    )
    main = ET.fromstring(receipt_xml(face)).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("TotalAmount") == "-80.00"
    assert main.findtext("MainExt/InvoiceKind") == "red"
    assert main.findtext("MainExt/RelatedInvoiceCode") == "32010126"
    assert main.findtext("MainExt/RelatedInvoiceNumber") == "0013933922"


def test_einvoice_id_reverses_number_and_code() -> None:
    assert einvoice_id("32010121", "0013933922") == "2293393100-12101023"


def test_unit_signs_xml_and_finance_signs_xml_plus_unit_signature(signed: SignedReceipt) -> None:
    assert signed.unit_content == signed.xml
    assert signed.finance_content == signed.xml + signed.unit_signature
    assert finance_content(signed.xml, signed.unit_signature) == signed.finance_content
    assert sm2.verify(signed.unit_public_key_pem, signed.xml, signed.unit_signature)
    assert sm2.verify(
        signed.finance_public_key_pem, signed.xml + signed.unit_signature, signed.finance_signature
    )
    assert not sm2.verify(signed.finance_public_key_pem, signed.xml, signed.finance_signature)


def test_signature_entries_match_the_public_contract(signed: SignedReceipt) -> None:
    unit, finance = signed.signatures()
    assert (unit.signer, finance.signer) == ("unit", "finance")
    assert unit.algorithm == finance.algorithm == "SM2-SM3"
    assert unit.signer_id == finance.signer_id == b"1234567812345678"
    assert (unit.content, unit.signature) == (signed.xml, signed.unit_signature)
    assert finance.content == signed.finance_content
    assert finance.public_key_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_signed_document_round_trips_and_both_signatures_verify(
    signed: SignedReceipt, signers: tuple[sm2.Sm2Signer, sm2.Sm2Signer]
) -> None:
    doc = signed_receipt_document(signed)
    assert load_receipt_document(doc) == signed
    result = verify_receipt_document(doc)
    assert result.valid
    assert (result.unit_valid, result.finance_valid, result.keys_trusted) == (True, True, True)
    assert (result.code, result.number, result.check_code) == ("32010126", "0013933922", "235456")
    assert result.total_amount == "105.00"
    assert result.problems == ()
    trusted = [s.public_key_pem for s in signers]
    assert verify_receipt_document(doc, trusted_public_keys=trusted).valid


def _with_content(doc: bytes, new_xml: bytes) -> bytes:
    root = ET.fromstring(doc)
    content = root.find("EInvoiceContent")
    assert content is not None
    old = (content.text or "").encode()
    return doc.replace(old, base64.b64encode(new_xml))


def test_tampered_xml_fails_both_signatures(signed: SignedReceipt) -> None:
    doc = signed_receipt_document(signed)
    tampered = _with_content(doc, signed.xml.replace(b"105.00", b"1.05"))
    result = verify_receipt_document(tampered)
    assert not result.valid
    assert (result.unit_valid, result.finance_valid) == (False, False)
    assert result.problems == ("开票单位签名无效", "财政监制签名无效")
    assert result.total_amount == "1.05"


def test_replaced_unit_signature_breaks_the_finance_signature(
    signed: SignedReceipt, signers: tuple[sm2.Sm2Signer, sm2.Sm2Signer]
) -> None:
    forged = replace(signed, unit_signature=signers[0].sign(signed.xml))
    result = verify_receipt_document(signed_receipt_document(forged))
    assert result.unit_valid
    assert not result.finance_valid


def test_receipt_re_signed_with_other_keys_is_caught_by_trusted_keys(
    signers: tuple[sm2.Sm2Signer, sm2.Sm2Signer],
) -> None:
    forger = sm2.Sm2Signer(sm2.generate_private_key_pem())
    forged = sign_receipt(receipt_xml(make_face()), forger, forger)
    doc = signed_receipt_document(forged)
    assert verify_receipt_document(doc).valid
    result = verify_receipt_document(doc, trusted_public_keys=[s.public_key_pem for s in signers])
    assert not result.valid
    assert not result.keys_trusted
    assert result.problems == ("签名公钥不在可信公钥列表中",)


def test_document_missing_a_signature_is_invalid(signed: SignedReceipt) -> None:
    doc = signed_receipt_document(signed)
    root = ET.fromstring(doc)
    root.remove(root.findall("Signature")[1])
    result = verify_receipt_document(ET.tostring(root, encoding="utf-8"))
    assert not result.valid
    assert "both the unit and the finance signature" in result.problems[0]


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE SignedEInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SignedEInvoice><EInvoiceContent>&xxe;</EInvoiceContent></SignedEInvoice>"""

LAUGHS = b"""<?xml version="1.0"?>
<!doctype lolz [<!entity lol "lol"><!entity lol2 "&lol;&lol;&lol;&lol;">]>
<SignedEInvoice>&lol2;</SignedEInvoice>"""


@pytest.mark.parametrize("doc", [XXE, LAUGHS], ids=["external-entity", "entity-expansion"])
def test_dtds_and_entities_are_refused(doc: bytes) -> None:
    with pytest.raises(UnsafeXml):
        parse_xml_safely(doc)
    result = verify_receipt_document(doc)
    assert not result.valid
    assert "DTD" in result.problems[0]


def test_non_utf8_documents_are_refused(signed: SignedReceipt) -> None:
    utf16 = signed_receipt_document(signed).decode().replace("UTF-8", "UTF-16").encode("utf-16")
    with pytest.raises(UnsafeXml):
        parse_xml_safely(utf16)
    declared = b'<?xml version="1.0" encoding="ISO-8859-1"?><SignedEInvoice/>'
    with pytest.raises(UnsafeXml, match="UTF-8"):
        parse_xml_safely(declared)


def test_garbage_is_reported_not_raised() -> None:
    result = verify_receipt_document(b"not xml at all")
    assert not result.valid
    assert result.problems[0].startswith("无法读取票据文件")


def test_the_signed_xml_carries_the_payers_full_identifier_and_the_face_masks_it() -> None:
    face = make_face()
    main = ET.fromstring(receipt_xml(face)).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("PayerParty/PayerPartyCode") == "11010519491231002X"
    assert face.payer_code_masked == "110105********002X"
    already_masked = make_face(payer_code="110105********002X")  # a receipt issued before
    assert already_masked.payer_code_masked == "110105********002X"


def test_specimen_supervisor_payee_account_and_seals_are_written() -> None:
    face = make_face(
        specimen_code=specimen_code("32010126"),
        supervisor_area_code="320682",
        supervisor_remark="财政监制",
        rec_name="如皋市财政局非税收入汇缴户",
        rec_account="32050161000000000001",
        rec_bank="中国建设银行如皋支行",
        unit_seal=Seal("12320900-7", "如皋市自然资源和规划局票据专用章", "ab" * 32),
        supervisor_seal=Seal("320682-3", "财政票据监制章", "cd" * 32),
    )
    main = ET.fromstring(receipt_xml(face)).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("EInvoiceSpecimenCode") == "3201012601"
    assert main.findtext("SupervisorAreaCode") == "320682"
    assert main.findtext("SupervisorRemark") == "财政监制"
    assert main.findtext("InvoicingParty/RecName") == "如皋市财政局非税收入汇缴户"
    assert main.findtext("InvoicingParty/RecAcct") == "32050161000000000001"
    assert main.findtext("InvoicingParty/RecOpBk") == "中国建设银行如皋支行"
    assert main.findtext("InvoicingPartySeal/SealId") == "12320900-7"
    assert main.findtext("SupervisorPartySeal/SealName") == "财政票据监制章"
    assert main.findtext("SupervisorPartySeal/SealHash") == "cd" * 32
    assert face_from_xml(receipt_xml(face)) == face


def test_the_specimen_code_follows_the_published_sample() -> None:
    assert specimen_code("32010121") == "3201012101"
    with pytest.raises(ValueError, match="8 digits"):
        specimen_code("3201012")


def test_a_receipt_issued_before_the_new_elements_still_reads() -> None:
    xml = receipt_xml(make_face(payer_code="110105********002X"))
    old = xml
    for tag in (
        b"<EInvoiceSpecimenCode></EInvoiceSpecimenCode>",
        b"<SupervisorAreaCode></SupervisorAreaCode>",
        b"<SupervisorRemark></SupervisorRemark>",
    ):
        old = old.replace(tag, b"")
    old = old.split(b"<InvoicingPartySeal>")[0] + b"</Main>" + old.split(b"</Main>")[1]
    face = face_from_xml(old)
    assert face.payer_code_masked == "110105********002X"
    assert face.supervisor_seal.name == "财政票据监制章"
    assert face.unit_seal == Seal()
