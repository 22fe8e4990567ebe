"""The pay page after payment: the e-receipt (PDF download, signed XML, public check), the
refunds with their red receipts, and the payment notice marked once it no longer asks for money."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx

from tests.integration.receipt_kit import drain, paid_with_receipt, pay, register
from tests.integration.refund_kit import approved_refund
from tests.support.client import SignedClient


def _text(pdf: bytes) -> str:
    run = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return run.stdout.decode()


def test_receipt_pdf_is_404_before_issue_then_the_live_receipt(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    unpaid = httpx.get(f"{base}/pay/{code}/receipt.pdf")
    assert unpaid.status_code == 404
    assert "电子票据尚未开具" in unpaid.text
    pay(stack, code)
    assert httpx.get(f"{base}/pay/{code}").text.count("电子票据正在开具") == 1
    assert httpx.get(f"{base}/api/v1/pay/{code}").json()["receipt_ready"] is False
    drain(stack)

    receipt = api.get(f"/api/v1/payables/{code}").json()["receipt"]
    pdf = httpx.get(f"{base}/pay/{code}/receipt.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert receipt["number"] in _text(pdf.content)
    assert httpx.get(f"{base}/api/v1/pay/{code}").json()["receipt_ready"] is True


def test_paid_page_links_the_receipt_its_check_and_its_signed_file(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    paid = paid_with_receipt(stack, api, payer)
    code, receipt = paid["payment_code"], paid["receipt"]
    page = httpx.get(f"{base}/pay/{code}").text
    assert 'id="receipt"' in page
    assert f"/pay/{code}/receipt.pdf" in page
    assert receipt["number"] in page
    assert receipt["check_code"] in page
    verify_url = page.split('id="receipt-verify" href="')[1].split('"')[0].replace("&amp;", "&")
    verified = httpx.get(f"{base}{verify_url}")
    assert verified.status_code == 200
    assert "正常" in verified.text
    xml_url = page.split('id="receipt-xml" href="')[1].split('"')[0].replace("&amp;", "&")
    assert httpx.get(f"{base}{xml_url}").status_code == 200


def test_refunds_are_listed_with_their_red_receipts(
    stack: Any, school_api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    paid = paid_with_receipt(stack, school_api, payer, "JY0101")
    code = paid["payment_code"]
    refund_no = approved_refund(stack, school_api, code, 30000, "课程取消")
    drain(stack)

    page = httpx.get(f"{base}/pay/{code}").text
    assert 'id="refunds"' in page
    assert refund_no in page
    assert "课程取消" in page
    assert "¥300.00" in page
    assert "红字票据" in page
    kept = school_api.get(f"/api/v1/payables/{code}").json()["receipt"]
    assert kept["number"] in page  # the new receipt for what is kept is the live one
    red_pdf = page.split('class="red-receipt"')[1].split('href="')[1].split('"')[0]
    red = httpx.get(f"{base}{red_pdf.replace('&amp;', '&')}")
    assert red.status_code == 200
    assert red.headers["content-type"] == "application/pdf"


def test_notice_of_a_paid_or_cancelled_payable_is_marked(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    unpaid = register(api, payer)
    assert "已缴款" not in _text(httpx.get(f"{base}/pay/{unpaid}/notice.pdf").content)
    pay(stack, unpaid)
    assert "已缴款" in _text(httpx.get(f"{base}/pay/{unpaid}/notice.pdf").content)

    cancelled = register(api, payer)
    assert api.post(f"/api/v1/payables/{cancelled}/cancel", {}).status_code == 200
    assert "已撤销" in _text(httpx.get(f"{base}/pay/{cancelled}/notice.pdf").content)
    page = httpx.get(f"{base}/pay/{cancelled}").text
    assert 'id="pay-box"' not in page
    assert 'id="receipt"' not in page


def test_receipt_pdf_of_a_mistyped_code_is_refused_without_a_500(stack: Any) -> None:
    base = stack.info["base_url"]
    response = httpx.get(f"{base}/pay/12345678901234567890/receipt.pdf")
    assert response.status_code == 404
