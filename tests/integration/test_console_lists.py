"""The console's lists over HTTP: search, filters, sorting and pages done by the database, each
row's detail with its history, CSV and Excel exports (streamed, or a background job over the
threshold), scoped by the viewer's region and unit in the query (out of scope → 404)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from publicpay.adapters.db.units import units
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from publicpay.web.console import exports
from tests.conftest import new_biz_no
from tests.integration.console_kit import audit_rows, logged_in, make_user
from tests.integration.receipt_kit import drain, pay
from tests.support.client import SignedClient

EXPORT_TASKS = tuple(t for t in SCHEDULE if t.name == "run_exports")
PHONE = "13912345678"


def _unit_id(stack: Any, code: str) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(units.c.id).where(units.c.code == code)).scalar_one())


def _register(api: SignedClient, payer: dict[str, str], **payer_extra: str) -> dict[str, Any]:
    body = {
        "biz_no": new_biz_no(),
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"], **payer_extra},
        "items": [{"item_code": "GA0101", "quantity": 1}],
    }
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 201, response.text
    return {**response.json(), "biz_no": body["biz_no"]}


def _codes(html: str) -> list[str]:
    return re.findall(r'href="/console/payables/(\d+)"', html)


@pytest.fixture(scope="module")
def paid(stack: Any, api: SignedClient, payer: dict[str, str]) -> dict[str, Any]:
    """A payable of the vehicle office, paid by Alipay, with its receipt issued."""
    created = _register(api, payer, phone=PHONE)
    pay(stack, created["payment_code"])
    drain(stack)
    return created


def test_a_finance_reviewer_finds_a_payment_by_its_code_number_id_and_phone(
    stack: Any, base_url: str, paid: dict[str, Any], payer: dict[str, str]
) -> None:
    user = make_user(stack, "finance_reviewer")
    code = paid["payment_code"]
    with logged_in(base_url, user) as client:
        searches = {
            "payment_code": code,
            "biz_no": paid["biz_no"],
            "payer_id": payer["id_no"].lower(),
            "phone": "139 1234 5678",
        }
        for key, value in searches.items():
            page = client.get("/console/payables", params={key: value})
            assert page.status_code == 200, page.text
            assert code in _codes(page.text), key
        orders = client.get("/console/orders", params={"payment_code": code, "status": "succeeded"})
        receipts = client.get("/console/receipts", params={"payment_code": code})
        sql_like = client.get("/console/payables", params={"biz_no": "' OR 1=1 --"})
    assert code in _codes(orders.text)
    assert "支付宝" in orders.text
    assert code in _codes(receipts.text)
    assert payer["id_no"] not in page.text  # the ID number is shown masked
    assert sql_like.status_code == 200
    assert _codes(sql_like.text) == []


def test_a_payable_opens_with_its_history_journal_receipt_and_events(
    stack: Any, base_url: str, paid: dict[str, Any], payer: dict[str, str]
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        page = client.get(f"/console/payables/{paid['payment_code']}")
    assert page.status_code == 200, page.text
    text = page.text
    for shown in ("登记", "缴款成功", "缴款入账", "channel_receivable:alipay", "payable.paid"):
        assert shown in text, shown
    assert "139****5678" in text
    assert PHONE not in text
    assert payer["id_no"] not in text
    assert re.search(r'id="receipts".*?<td data-label="票据号码" class="mono">\d+', text, re.S)


def test_lists_sort_and_paginate_on_the_server(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    for _ in range(21):
        _register(api, payer)
    user = make_user(stack, "finance_admin")
    with logged_in(base_url, user) as client:
        first = client.get("/console/payables", params={"size": "20", "sort": "-created_at"})
        second = client.get("/console/payables", params={"size": "20", "page": "2"})
        ascending = client.get("/console/payables", params={"sort": "created_at"})
    assert first.status_code == second.status_code == ascending.status_code == 200
    total = int(re.search(r'id="total">(\d+)<', first.text).group(1))  # type: ignore[union-attr]
    assert len(_codes(first.text)) == min(20, total)
    assert set(_codes(first.text)).isdisjoint(_codes(second.text))
    assert _codes(first.text)[0] != _codes(ascending.text)[0]
    assert "第 1 / " in first.text


def test_a_unit_admin_of_another_unit_sees_none_of_it(
    stack: Any, base_url: str, paid: dict[str, Any]
) -> None:
    school = _unit_id(stack, stack.info["units"][2]["code"])
    user = make_user(stack, "unit_admin", unit_id=school)
    code = paid["payment_code"]
    with logged_in(base_url, user) as client:
        listed = client.get("/console/payables", params={"payment_code": code})
        orders = client.get("/console/orders", params={"payment_code": code})
        detail = client.get(f"/console/payables/{code}")
        export = client.get("/console/payables", params={"format": "csv"})
    assert listed.status_code == 200
    assert _codes(listed.text) == []
    assert _codes(orders.text) == []
    assert detail.status_code == 404
    assert "不在您的管辖范围内" in detail.text
    assert code not in export.text


def test_bad_list_queries_get_a_chinese_message_and_change_nothing(
    stack: Any, base_url: str
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        answers = [
            client.get("/console/payables", params={"status": "bogus"}),
            client.get("/console/orders", params={"date_from": "2026-13-45"}),
            client.get("/console/orders", params={"unit_id": "1; drop table units"}),
            client.get("/console/receipts", params={"sort": "xml"}),
            client.get("/console/payables", params={"page": "-1"}),
            client.get("/console/payables", params={"format": "pdf"}),
            client.get("/console/orders", params={"hour": "7"}),
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert "有误" in answer.text or "格式" in answer.text or "须" in answer.text


def test_a_cashier_has_no_lists(stack: Any, base_url: str) -> None:
    school = _unit_id(stack, stack.info["units"][2]["code"])
    user = make_user(stack, "cashier", unit_id=school)
    with logged_in(base_url, user) as client:
        assert client.get("/console/payables").status_code == 403


def test_lists_export_to_csv_and_excel_with_formulas_escaped(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    formula = {**payer, "name": '=HYPERLINK("http://x")'}
    created = _register(api, formula)
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        as_csv = client.get(
            "/console/payables", params={"format": "csv", "biz_no": created["biz_no"]}
        )
        as_xlsx = client.get("/console/payables", params={"format": "xlsx"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["缴款码", "业务单号"]
    assert rows[1][0] == created["payment_code"]
    assert rows[1][3].startswith("'=")
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "缴款码"
    assert len(values) > 2
    assert audit_rows(stack, "console.export", "list:payables")


def test_a_large_export_runs_in_the_background_for_its_owner_only(
    stack: Any, base_url: str, paid: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BACKGROUND_ROWS", 0)
    owner, other = make_user(stack, "finance_reviewer"), make_user(stack, "finance_reviewer")
    with logged_in(base_url, owner) as client:
        asked = client.get("/console/orders", params={"format": "csv"})
        assert asked.status_code == 303, asked.text
        job_url = asked.headers["location"]
        assert client.get(job_url).status_code == 200
        assert client.get(f"{job_url}/download").status_code == 409
        run_once(stack.container, EXPORT_TASKS)
        status = client.get(f"{job_url}/status").json()
        page = client.get(job_url)
        file = client.get(f"{job_url}/download")
    assert status["status"] == "done"
    assert status["percent"] == 100
    assert "下载文件" in page.text
    assert file.status_code == 200
    assert paid["payment_code"] in file.content.decode("utf-8-sig")
    with logged_in(base_url, other) as client:
        assert client.get(f"{job_url}/download").status_code == 404
        assert client.get(job_url).status_code == 404


def test_the_export_job_page_needs_a_login(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/console/exports/1", follow_redirects=False)
    assert answer.status_code == 303
