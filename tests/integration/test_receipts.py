"""Fiscal e-receipts end to end: issued on payment by the worker, signed twice (verified with the
OpenSSL 3 CLI), checked by `publicpay receipt verify` and the public page, printed, booked."""

from __future__ import annotations

import base64
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.adapters.receipts.xml import (
    SignedReceipt,
    load_receipt_document,
    sign_receipt,
    signed_receipt_document,
)
from publicpay.cli import main as cli
from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.time import business_date
from tests.integration.receipt_kit import (
    drain,
    paid_with_receipt,
    pay,
    register,
    rows,
    stock_numbers,
)
from tests.support.client import SignedClient

DISTID = "distid:1234567812345678"


@pytest.fixture(scope="module")
def paid(stack: Any, api: SignedClient, payer: dict[str, str]) -> dict[str, Any]:
    return paid_with_receipt(stack, api, payer)


@pytest.fixture(scope="module")
def kiosk(stack: Any) -> SignedClient:
    device = stack.info["kiosk"]
    return SignedClient(stack.info["base_url"], device["device_id"], device["device_secret"])


def _text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "r.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_payment_issues_a_receipt_with_every_face_field(
    stack: Any, base_url: str, paid: dict[str, Any], payer: dict[str, str]
) -> None:
    receipt = paid["receipt"]
    assert len(receipt["code"]) == 8
    assert receipt["code"].startswith("330101")
    assert len(receipt["number"]) == 10
    assert receipt["number"].isdigit()
    assert len(receipt["check_code"]) == 6
    assert receipt["check_code"].isdigit()
    [row] = rows(stack, paid["payment_code"])
    xml = row.xml.decode()
    assert f"<EInvoiceNumber>{receipt['number']}</EInvoiceNumber>" in xml
    assert f"<TotalAmount>{paid['paid_fen'] / 100:.2f}</TotalAmount>" in xml
    assert f"<TotalAmountCapital>{amount_in_words(paid['paid_fen'])}</TotalAmountCapital>" in xml
    assert f"<PayCode>{paid['payment_code']}</PayCode>" in xml
    assert "<PayChannel>支付宝</PayChannel>" in xml
    assert f"<PayerPartyCode>{payer['id_no']}</PayerPartyCode>" in xml  # the legal record
    assert f"<EInvoiceSpecimenCode>{receipt['code']}01</EInvoiceSpecimenCode>" in xml
    assert "<SupervisorAreaCode>330105</SupervisorAreaCode>" in xml
    assert "<RecName>演示区财政局非税收入汇缴户（演示）</RecName>" in xml
    assert "<RecAcct>33050161000000000001</RecAcct>" in xml
    assert "<SealName>杭州市公安局交通警察支队车辆管理所票据专用章</SealName>" in xml
    assert "<SealName>财政票据监制章</SealName>" in xml
    keys = httpx.get(f"{base_url}/api/v1/receipts/keys").json()["keys"]
    hashes = {sm2.sm3(k["public_key_pem"].encode()).hex() for k in keys if k["active"]}
    main = ET.fromstring(row.xml).find("EInvoiceData/Main")
    assert main is not None
    for seal in ("InvoicingPartySeal", "SupervisorPartySeal"):
        assert main.findtext(f"{seal}/SealHash") in hashes
    assert "<ItemName>" in xml
    assert "<InvoicingPartyName>杭州市公安局交通警察支队车辆管理所" in xml
    assert row.kind == "normal"
    assert row.status == "issued"
    assert row.total_fen == paid["paid_fen"]


def test_numbers_are_drawn_in_order_without_gaps(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    codes = [register(api, payer) for _ in range(3)]
    for code in codes:
        pay(stack, code)
    drain(stack)
    numbers = [int(rows(stack, code)[0].number) for code in codes]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    stock, drawn = stock_numbers(stack, rows(stack, codes[0])[0].stock_id)
    assert drawn == list(range(stock.start_no, stock.next_no))


def test_running_the_job_again_issues_nothing_new(stack: Any, paid: dict[str, Any]) -> None:
    from publicpay.adapters.db.receipts.tables import receipt_jobs

    before = rows(stack, paid["payment_code"])
    with stack.container.engines.write.begin() as conn:
        conn.execute(
            update(receipt_jobs).where(receipt_jobs.c.ref == before[0].ref).values(status="pending")
        )
    from tests.integration.receipt_kit import make_due

    make_due(stack)
    drain(stack)
    assert [r.number for r in rows(stack, paid["payment_code"])] == [before[0].number]


def test_both_signatures_verify_with_the_openssl_cli(
    base_url: str, paid: dict[str, Any], tmp_path: Path
) -> None:
    r = paid["receipt"]
    url = f"{base_url}/api/v1/receipts/{r['code']}/{r['number']}/signatures"
    body = httpx.get(url, params={"check_code": r["check_code"]}).json()
    assert [s["signer"] for s in body["signatures"]] == ["unit", "finance"]
    published = {
        k["public_key_pem"] for k in httpx.get(f"{base_url}/api/v1/receipts/keys").json()["keys"]
    }
    for s in body["signatures"]:
        assert s["algorithm"] == "SM2-SM3"
        assert s["signer_id"] == "1234567812345678"
        assert s["public_key_pem"] in published
        (tmp_path / "pub.pem").write_text(s["public_key_pem"])
        (tmp_path / "data").write_bytes(base64.b64decode(s["content_b64"]))
        (tmp_path / "sig").write_bytes(base64.b64decode(s["signature_b64"]))
        result = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
             "-rawin", "-digest", "sm3", "-pkeyopt", DISTID, "-in", str(tmp_path / "data"),
             "-sigfile", str(tmp_path / "sig")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, (s["signer"], result.stdout, result.stderr)
    unit, finance = (base64.b64decode(s["content_b64"]) for s in body["signatures"])
    assert finance == unit + base64.b64decode(body["signatures"][0]["signature_b64"])


def _document(base_url: str, paid: dict[str, Any], tmp_path: Path) -> Path:
    response = httpx.get(paid["receipt"]["xml_url"])
    assert response.status_code == 200
    path = tmp_path / "receipt.xml"
    path.write_bytes(response.content)
    return path


def test_cli_verifies_a_downloaded_receipt_against_the_published_keys(
    base_url: str, paid: dict[str, Any], tmp_path: Path
) -> None:
    path = _document(base_url, paid, tmp_path)
    assert (
        cli(["receipt", "verify", str(path), "--keys-url", f"{base_url}/api/v1/receipts/keys"]) == 0
    )
    assert cli(["receipt", "verify", str(path)]) == 0


def test_cli_refuses_a_tampered_receipt(
    base_url: str, paid: dict[str, Any], tmp_path: Path
) -> None:
    path = _document(base_url, paid, tmp_path)
    signed = load_receipt_document(path.read_bytes())
    total = f"{paid['paid_fen'] / 100:.2f}"
    forged = signed.xml.replace(f"<TotalAmount>{total}<".encode(), b"<TotalAmount>1.00<")
    assert forged != signed.xml
    tampered = SignedReceipt(
        forged, signed.unit_signature, signed.unit_public_key_pem,
        signed.finance_signature, signed.finance_public_key_pem,
    )  # fmt: skip
    path.write_bytes(signed_receipt_document(tampered))
    assert cli(["receipt", "verify", str(path)]) == 1


def test_cli_refuses_a_receipt_signed_with_a_key_that_is_not_published(
    base_url: str, paid: dict[str, Any], tmp_path: Path
) -> None:
    path = _document(base_url, paid, tmp_path)
    xml = load_receipt_document(path.read_bytes()).xml
    rogue = sm2.Sm2Signer(sm2.generate_private_key_pem())
    path.write_bytes(signed_receipt_document(sign_receipt(xml, rogue, rogue)))
    keys_url = f"{base_url}/api/v1/receipts/keys"
    assert cli(["receipt", "verify", str(path), "--keys-url", keys_url]) == 1


def test_pdf_has_the_chinese_face_and_the_amount_in_words(
    paid: dict[str, Any], payer: dict[str, str], tmp_path: Path
) -> None:
    response = httpx.get(paid["receipt"]["pdf_url"])
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    text = _text(response.content, tmp_path)
    for expected in ("非税收入统一票据（电子）", "票据代码", paid["receipt"]["number"],
                     amount_in_words(paid["paid_fen"]), "交款人", "校验码",
                     paid["payer"]["id_no_masked"], "演示区财政局非税收入汇缴户"):  # fmt: skip
        assert expected in text
    assert payer["id_no"] not in text  # the face masks what the signed XML holds in full
    assert "重复打印" not in text
    assert httpx.get(paid["receipt"]["pdf_url"]).content == response.content  # cached


def test_documents_need_the_check_code(base_url: str, paid: dict[str, Any]) -> None:
    r = paid["receipt"]
    wrong = "000000" if r["check_code"] != "000000" else "111111"
    url = f"{base_url}/api/v1/receipts/{r['code']}/{r['number']}/pdf?check_code={wrong}"
    assert httpx.get(url).status_code == 404


def test_prints_are_counted_and_reprints_are_marked(
    stack: Any, api: SignedClient, payer: dict[str, str], kiosk: SignedClient, tmp_path: Path
) -> None:
    r = paid_with_receipt(stack, api, payer)["receipt"]
    path = f"/api/v1/receipts/{r['code']}/{r['number']}/print"
    first = kiosk.post(path, {"place": "kiosk_gs_001"})
    assert first.status_code == 200
    assert first.headers["X-Print-Count"] == "1"
    assert first.headers["X-Reprint"] == "false"
    assert "重复打印" not in _text(first.content, tmp_path)
    second = api.post(path, {})
    assert second.headers["X-Print-Count"] == "2"
    assert second.headers["X-Reprint"] == "true"
    assert "重复打印" in _text(second.content, tmp_path)


def test_print_outside_the_window_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str], kiosk: SignedClient
) -> None:
    r = paid_with_receipt(stack, api, payer)["receipt"]
    old = stack.container.clock.now() - timedelta(days=200)
    with stack.container.engines.write.begin() as conn:
        conn.execute(
            update(receipts)
            .where(receipts.c.number == r["number"], receipts.c.code == r["code"])
            .values(issued_at=old)
        )
    refused = kiosk.post(f"/api/v1/receipts/{r['code']}/{r['number']}/print", {})
    assert refused.status_code == 403
    assert "打印期限" in refused.json()["title"]


def test_public_page_confirms_a_real_receipt(base_url: str, paid: dict[str, Any]) -> None:
    r = paid["receipt"]
    query = {
        "code": r["code"], "number": r["number"], "check_code": r["check_code"],
        "date": str(business_date(datetime.fromisoformat(paid["paid_at"]))),
        "amount": f"{paid['paid_fen'] / 100:.2f}",
    }  # fmt: skip
    page = httpx.get(f"{base_url}/verify", params=query)
    assert page.status_code == 200
    assert "查验通过" in page.text
    assert paid["payer"]["id_no_masked"] not in page.text  # no payer ID on the page
    assert "有效（SM2/SM3）" in page.text
    wrong = {**query, "check_code": "000000" if r["check_code"] != "000000" else "111111"}
    refused = httpx.get(f"{base_url}/verify", params=wrong)
    assert refused.status_code == 404
    assert "查无此票" in refused.text


def test_booking_is_accepted_once(
    api: SignedClient, school_api: SignedClient, paid: dict[str, Any]
) -> None:
    r = paid["receipt"]
    path = f"/api/v1/receipts/{r['code']}/{r['number']}/booking"
    first = school_api.post(path, {"check_code": r["check_code"], "booked_by": "某单位财务系统"})
    assert first.status_code == 200
    assert first.json()["booked_by"] == "某单位财务系统"
    assert first.json()["booked_client"] == school_api.app_id
    second = api.post(path, {"check_code": r["check_code"]})
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
