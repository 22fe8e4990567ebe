"""批量登记 in the console: a unit admin uploads a file, previews every row, confirms, downloads
the report and the template; finance admins work for units of their region only; the scope is
checked in the back end."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import select, update

from publicpay.adapters.db.payable_batches import payable_batches
from publicpay.adapters.db.units import units
from publicpay.jobs.schedule import SCHEDULE
from tests.integration.batch_kit import XLSX, csv_bytes, spoil, tuition_rows, xlsx_bytes
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.support.client import SignedClient

BAD_ID = "330105196311138237"


def _school_id(stack: Any) -> int:
    code = stack.info["units"][2]["code"]
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(units.c.id).where(units.c.code == code)).scalar_one())


def _upload(client: httpx.Client, unit_id: int, data: bytes, name: str) -> httpx.Response:
    page = client.get("/console/payable-batches")
    assert page.status_code == 200, page.text
    fields = {"csrf": csrf_of(page.text), "unit_id": str(unit_id)}
    return client.post("/console/payable-batches", data=fields, files={"file": (name, data)})


def _confirm(client: httpx.Client, batch_path: str, accept_partial: bool) -> httpx.Response:
    page = client.get(batch_path)
    fields = {"csrf": csrf_of(page.text), "accept_partial": "1" if accept_partial else ""}
    return client.post(f"{batch_path}/confirm", data=fields)


def test_a_unit_admin_previews_confirms_and_downloads_the_report(
    stack: Any, base_url: str, school_api: SignedClient
) -> None:
    rows = spoil(tuition_rows(3), {2: {3: BAD_ID}})
    user = make_user(stack, "unit_admin", unit_id=_school_id(stack))
    with logged_in(base_url, user) as client:
        home = client.get("/console")
        assert 'href="/console/payable-batches"' in home.text
        preview = _upload(client, _school_id(stack), xlsx_bytes(rows), "第二学期学费.xlsx")
        assert preview.status_code == 303
        preview_path = preview.headers["location"]
        page = client.get(preview_path)
        assert "预览：尚未登记。1 行有错误。" in page.text
        assert "公民身份号码无效（GB 11643 校验失败）" in page.text
        assert "只登记无误的 2 行（有错误的 1 行不登记）" in page.text
        assert school_api.get(f"/api/v1/payables?biz_no={rows[0][0]}").status_code == 404
        done = _confirm(client, preview_path, accept_partial=True)
        assert done.status_code == 303
        registered = client.get(done.headers["location"])
        assert "已登记 2 笔缴款单。1 行有错误，未登记。" in registered.text
        report = client.get(done.headers["location"] + "/report.xlsx")
        again = _confirm(client, preview_path, accept_partial=True)
    assert school_api.get(f"/api/v1/payables?biz_no={rows[0][0]}").json()["status"] == "unpaid"
    assert school_api.get(f"/api/v1/payables?biz_no={rows[2][0]}").status_code == 404
    assert report.status_code == 200
    assert report.headers["content-type"] == XLSX
    summary = load_workbook(io.BytesIO(report.content))["汇总"]
    assert summary["B3"].value == "第二学期学费.xlsx"
    assert again.status_code == 409
    assert "该预览已确认登记" in again.text
    batch_id = done.headers["location"].rsplit("/", 1)[1]
    [audit] = audit_rows(stack, "payable_batch.registered", f"batch:{batch_id}")
    assert audit.actor == f"user:{user.username}"
    assert (audit.detail["created"], audit.detail["refused"]) == (2, 1)


def test_the_templates_download_as_csv_and_excel(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=_school_id(stack))) as client:
        csv_file = client.get("/console/payable-batches/template.csv")
        xlsx_file = client.get("/console/payable-batches/template.xlsx")
    assert csv_file.status_code == xlsx_file.status_code == 200
    assert csv_file.content.startswith("\ufeff业务编号,缴款人姓名".encode())
    assert xlsx_file.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(xlsx_file.content)).worksheets[0]
    assert sheet["A1"].value == "业务编号"


def test_a_file_that_cannot_be_read_is_explained_on_the_page(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=_school_id(stack))) as client:
        missing = _upload(client, _school_id(stack), "业务编号,备注\r\nA,x\r\n".encode(), "a.csv")
        old = _upload(client, _school_id(stack), b"\xd0\xcf\x11\xe0" + b"\0" * 64, "a.xls")
    assert missing.status_code == 422
    assert "缺少必需的列：缴款人姓名、缴款人类型(个人/单位)、证件号码、项目编码" in missing.text
    assert old.status_code == 422
    assert "不支持旧版 Excel（.xls）文件" in old.text


def test_a_finance_admin_works_only_for_units_of_its_region(stack: Any, base_url: str) -> None:
    school = _school_id(stack)
    with logged_in(base_url, make_user(stack, "finance_admin")) as district:
        page = district.get("/console/payable-batches")
        uploaded = _upload(district, school, csv_bytes(tuition_rows(1)), "t.csv")
    assert "杭州市拱墅区文澜中学" in page.text
    assert uploaded.status_code == 303
    path = uploaded.headers["location"]
    with logged_in(base_url, make_user(stack, "finance_admin", region_code="330106")) as other:
        assert other.get(path).status_code == 404
        assert other.get(f"{path}/report.xlsx").status_code == 404
        assert _upload(other, school, csv_bytes(tuition_rows(1)), "t.csv").status_code == 404
        assert "文澜中学" not in other.get("/console/payable-batches").text
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=school - 1)) as neighbour:
        assert neighbour.get(path).status_code == 404
    with logged_in(base_url, make_user(stack, "cashier", unit_id=school)) as cashier:
        assert cashier.get("/console/payable-batches").status_code == 403
        assert cashier.get(path).status_code == 403


def test_an_unconfirmed_preview_is_pruned_after_a_day(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=_school_id(stack))) as client:
        path = _upload(client, _school_id(stack), csv_bytes(tuition_rows(1)), "t.csv").headers[
            "location"
        ]
        batch_id = int(path.rsplit("/", 1)[1])
        with stack.container.engines.write.begin() as conn:
            old = stack.container.clock.now() - timedelta(days=1, minutes=1)
            conn.execute(
                update(payable_batches)
                .where(payable_batches.c.id == batch_id)
                .values(created_at=old)
            )
        [prune] = [t for t in SCHEDULE if t.name == "prune_batch_previews"]
        assert prune.run(stack.container) >= 1
        refused = _confirm(client, path, accept_partial=False)
    assert refused.status_code == 409
    assert "已过期" in refused.text
