"""The late surcharge on an administrative fine is 加处罚款 (行政处罚法 第七十二条) on every
surface a person reads: the receipt's XML line and PDF, the pay page, the API documentation."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from publicpay.adapters.receipts.formats import face_from_xml
from publicpay.adapters.receipts.xml import load_receipt_document
from publicpay.domain.time import business_date
from tests.conftest import payable_body
from tests.integration.receipt_kit import drain, pay
from tests.support.client import SignedClient

FINE_FEN = 20_000


def _overdue_fine(api: SignedClient, payer: dict[str, str]) -> str:
    due = business_date(datetime.now(UTC)) - timedelta(days=2)
    body = payable_body(payer, item="FM0101", due_date=due.isoformat())
    body["items"][0]["amount_fen"] = FINE_FEN
    created = api.post("/api/v1/payables", body)
    assert created.status_code == 201, created.text
    return str(created.json()["payment_code"])


def test_the_surcharge_is_called_jiachu_fakuan_on_the_page_receipt_and_pdf(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str], tmp_path: Path
) -> None:
    code = _overdue_fine(api, payer)
    page = httpx.get(f"{base_url}/pay/{code}")
    assert "含逾期加处罚款 ¥12.00" in page.text
    assert "滞纳金" not in page.text
    pay(stack, code)
    drain(stack)
    receipt = api.get(f"/api/v1/payables/{code}").json()["receipt"]
    document = httpx.get(receipt["xml_url"]).content
    face = face_from_xml(load_receipt_document(document).xml)
    surcharge = face.lines[-1]
    assert (surcharge.item_name, surcharge.quantity, surcharge.amount_fen) == ("加处罚款", 1, 1_200)
    assert surcharge.quantity * surcharge.standard_fen == surcharge.amount_fen
    assert "滞纳金".encode() not in load_receipt_document(document).xml
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(httpx.get(receipt["pdf_url"]).content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "加处罚款" in text
    assert "滞纳金" not in text


def test_the_api_documentation_says_jiachu_fakuan(base_url: str) -> None:
    schema = json.dumps(httpx.get(f"{base_url}/openapi.json").json(), ensure_ascii=False)
    assert "滞纳金" not in schema
    assert "今日加处罚款（分）" in schema
