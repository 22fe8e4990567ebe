"""Bad input to the pages and forms (console, payer portal, receipt check): a Chinese page with a
4xx status, never a 500, and nothing changed. A small fuzz sends every console form field the
values that once crashed somewhere (NUL, digits `int` refuses, huge numbers, overlong text)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.audit import audit_log
from tests.integration.console_kit import csrf_of, logged_in, make_user, submit_login
from tests.support.db import counts

NASTY = ["\x00", "1\u00b2", "\u0663", "9" * 40, "长" * 400, "-1", "1e9", " ", "\u202e"]
FORMS = {
    "/console/stock": ["code", "start", "count", "unit_id", "issuing_point"],
    "/console/keys/rotate": ["signer", "owner"],
    "/console/payable-batches": ["unit_id"],
    "/console/credentials/pp_x/rotate": ["grace_h"],
}
QUERIES = [
    "/console/write-off?unit_id={v}&date_from={v}&date_to={v}",
    "/console/write-off.xlsx?unit_id={v}&date_from=2026-01-01&date_to={v}",
    "/console/payable-batches/{v}",
    "/pay?code={v}",
    "/pay/{v}",
    "/pay/{v}/notice.pdf",
    "/pay/qr.svg?data={v}",
    "/verify?code={v}&number={v}&check={v}&date={v}&amount={v}",
    "/console/login?next={v}",
]


def _audit_count(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_a_nul_in_the_login_username_is_a_chinese_page(stack: Any, base_url: str) -> None:
    before = counts(stack)
    with httpx.Client(base_url=base_url, timeout=15) as client:
        answer = submit_login(client, "admin\x00", "password", "123456")

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "提交的内容有误" in answer.text
    assert "username" in answer.text
    assert counts(stack) == before


def test_an_overlong_login_username_is_a_chinese_page(stack: Any, base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=15) as client:
        answer = submit_login(client, "u" * 41, "password", "123456")

    assert answer.status_code == 422
    assert "提交的内容有误" in answer.text


@pytest.mark.parametrize(("path", "field"), [(p, f) for p, fs in FORMS.items() for f in fs])
def test_console_forms_refuse_nasty_values_with_a_page(
    stack: Any, base_url: str, path: str, field: str
) -> None:
    admin = make_user(stack, "finance_admin")
    with logged_in(base_url, admin) as client:
        csrf = csrf_of(client.get("/console").text)
        before, audited = counts(stack), _audit_count(stack)
        answers = [client.post(path, data={"csrf": csrf, field: value}) for value in NASTY]

    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert all(a.headers["content-type"].startswith("text/html") for a in answers)
    assert counts(stack) == before
    assert _audit_count(stack) == audited


@pytest.mark.parametrize("template", QUERIES)
def test_pages_answer_nasty_query_and_path_values_without_failing(
    stack: Any, base_url: str, template: str
) -> None:
    admin = make_user(stack, "finance_admin")
    before = counts(stack)
    with logged_in(base_url, admin) as client:
        answers = [client.get(template.format(v=quote(value, safe=""))) for value in NASTY]

    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert counts(stack) == before


def test_a_control_character_in_a_page_address_is_a_chinese_page(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/pay?code=1%002", headers={"Accept": "text/html"})

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "请求地址或查询参数含有控制字符" in answer.text
