"""收入统计 and the phone view over HTTP: today's and a period's figures by every dimension,
drill-down links that list exactly the payments counted, exports, the installable phone view,
bad periods refused, and the scope (a unit of another unit sees none of it)."""

from __future__ import annotations

import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from publicpay.adapters.db.queries import statistics as stats
from publicpay.adapters.db.queries import summary_checks
from publicpay.adapters.db.statistics import pending
from publicpay.adapters.db.units import units
from publicpay.domain.access import Actor, Role
from publicpay.domain.statistics import Dimension, Period
from publicpay.domain.time import business_date
from publicpay.services.recording.statistics import fold_statistics
from tests.integration.console_kit import logged_in, make_user
from tests.integration.receipt_kit import pay, register
from tests.support.client import SignedClient


def _unit_id(stack: Any, index: int) -> int:
    code = stack.info["units"][index]["code"]
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(units.c.id).where(units.c.code == code)).scalar_one())


@pytest.fixture(scope="module")
def paid_today(stack: Any, api: SignedClient, payer: dict[str, str]) -> str:
    code = register(api, payer)
    pay(stack, code)
    return code


def _chart_data(html: str) -> Any:
    found = re.search(r'id="stats-data">(.*?)</script>', html, re.S)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def _drill_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(/console/orders\?[^"]+)"', html)]


def test_a_finance_reviewer_sees_todays_payment_and_drills_down_to_it(
    stack: Any, base_url: str, paid_today: str
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        page = client.get("/console/stats")
        assert page.status_code == 200, page.text
        links = _drill_links(page.text)
        channel_link = next(link for link in links if "channel=alipay" in link)
        drilled = client.get(channel_link)
    assert "收入统计" in page.text
    for dimension in Dimension:
        assert f'id="by-{dimension.value}"' in page.text
    assert "/static/vendor/echarts/dist/echarts.min.js" in page.text
    data = _chart_data(page.text)
    assert len(data["trend"]["labels"]) == 24
    assert sum(data["trend"]["counts"]) >= 1
    assert drilled.status_code == 200
    assert paid_today in drilled.text


def test_figures_and_their_rows_agree(stack: Any, base_url: str, paid_today: str) -> None:
    """The total count of every group is the number of rows its drill-down lists."""
    c = stack.container
    today = business_date(c.clock.now())
    actor = Actor(0, "t", Role.FINANCE_REVIEWER, c.settings.region_code, None)
    user = make_user(stack, "finance_reviewer")
    with c.read_uow() as uow:
        groups = {
            d: stats.grouped(uow.connection, actor, Period(today, today), d) for d in Dimension
        }
    with logged_in(base_url, user) as client:
        for dimension, items in groups.items():
            for group in items:
                if not group.drill:
                    continue
                params = {"status": "succeeded", "date_from": str(today), "date_to": str(today)}
                listed = client.get("/console/orders", params={**params, **group.drill})
                total = int(re.search(r'id="total">(\d+)<', listed.text).group(1))  # type: ignore[union-attr]
                assert total == group.figures.count, (dimension, group)


def test_the_summaries_the_figures_are_read_from_equal_the_payments(
    stack: Any, paid_today: str
) -> None:
    """`publicpay check` sums every payment again and finds the summaries equal, by hour, fee
    item and budget level (the demo's payments, this module's, and any other test's)."""
    with stack.container.read_uow() as uow:
        assert summary_checks.differences(uow.connection) == []


def test_an_hour_of_the_trend_drills_down_to_that_hour(
    stack: Any, base_url: str, paid_today: str
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        page = client.get("/console/stats")
        data = _chart_data(page.text)
        busy = [i for i, n in enumerate(data["trend"]["counts"]) if n]
        quiet = [i for i, n in enumerate(data["trend"]["counts"]) if not n]
        found = client.get(data["trend"]["links"][busy[-1]])
        empty = client.get(data["trend"]["links"][quiet[0]])
    assert found.status_code == 200
    assert (
        int(re.search(r'id="total">(\d+)<', found.text).group(1))
        == data["trend"]["counts"][busy[-1]]
    )  # type: ignore[union-attr]
    assert 'id="total">0<' in empty.text


def test_statistics_export_to_csv_and_excel(stack: Any, base_url: str, paid_today: str) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        as_csv = client.get("/console/stats", params={"format": "csv"})
        as_xlsx = client.get("/console/stats", params={"format": "xlsx"})
        phone_xlsx = client.get("/console/m", params={"format": "xlsx"})
    assert as_csv.status_code == 200
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["分类", "项目", "笔数", "金额（元）", "在线缴费率"]
    assert rows[1][0] == "合计"
    assert int(rows[1][2]) >= 1
    assert any(r[0] == "支付渠道" and r[1] == "支付宝" for r in rows)
    assert as_xlsx.content[:2] == b"PK"
    assert phone_xlsx.content[:2] == b"PK"


def test_the_phone_view_shows_today_by_unit_and_channel_and_installs(
    stack: Any, base_url: str, paid_today: str
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        page = client.get("/console/m")
        manifest = client.get("/console/manifest.webmanifest")
        icon = client.get("/console/static/icon-192.png")
    assert page.status_code == 200
    for shown in ('id="m-unit"', 'id="m-channel"', "支付宝", 'rel="manifest"', "今日收入"):
        assert shown in page.text
    assert manifest.json()["start_url"] == "/console/m"
    assert manifest.json()["display"] == "standalone"
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/png"


def test_a_unit_admin_of_another_unit_sees_none_of_it(
    stack: Any, base_url: str, paid_today: str
) -> None:
    school = make_user(stack, "unit_admin", unit_id=_unit_id(stack, 2))
    with logged_in(base_url, school) as client:
        page = client.get("/console/stats")
        phone = client.get("/console/m")
        drilled = client.get(
            "/console/orders", params={"status": "succeeded", "unit_id": str(_unit_id(stack, 0))}
        )
    assert page.status_code == 200
    assert phone.status_code == 200
    assert paid_today not in phone.text  # other tests may have paid the school's own payables
    assert paid_today not in drilled.text
    assert 'id="total">0<' in drilled.text


def test_bad_periods_are_refused_in_chinese(stack: Any, base_url: str) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        answers = [
            client.get("/console/stats", params={"date_from": "2026-02-30"}),
            client.get(
                "/console/stats", params={"date_from": "2026-03-02", "date_to": "2026-03-01"}
            ),
            client.get(
                "/console/stats", params={"date_from": "2020-01-01", "date_to": "2026-01-01"}
            ),
            client.get("/console/stats", params={"format": "doc"}),
        ]
    for answer in answers:
        assert answer.status_code == 422
        assert "有误" in answer.text or "格式" in answer.text


def test_a_cashier_has_no_statistics(stack: Any, base_url: str) -> None:
    cashier = make_user(stack, "cashier", unit_id=_unit_id(stack, 2))
    with logged_in(base_url, cashier) as client:
        assert client.get("/console/stats").status_code == 403
        assert client.get("/console/m").status_code == 403


def test_the_manifest_is_public_and_the_phone_view_is_not(base_url: str) -> None:
    assert httpx.get(f"{base_url}/console/manifest.webmanifest").status_code == 200
    assert httpx.get(f"{base_url}/console/m", follow_redirects=False).status_code == 303


def _today_totals(stack: Any) -> stats.Figures:
    c = stack.container
    today = business_date(c.clock.now())
    actor = Actor(0, "t", Role.FINANCE_REVIEWER, c.settings.region_code, None)
    with c.read_uow() as uow:
        return stats.totals(uow.connection, actor, Period(today, today))


def _pending_and_differences(stack: Any) -> tuple[list[Any], list[str]]:
    with stack.container.read_uow() as uow:
        return pending(uow.connection), summary_checks.differences(uow.connection)


def test_a_payment_waits_as_one_tally_until_it_is_folded_into_the_summaries_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    c = stack.container
    fold_statistics(c.uow)  # what the module's earlier payments left
    before = _today_totals(stack)
    code = register(api, payer)
    pay(stack, code)
    waiting, differences = _pending_and_differences(stack)
    assert _today_totals(stack) == before
    assert differences == []  # summaries plus pending tallies equal the payments
    [tally] = waiting
    assert (tally.sign, tally.channel) == (1, "alipay")
    assert fold_statistics(c.uow) == 1
    assert fold_statistics(c.uow) == 0
    after = _today_totals(stack)
    assert (after.count, after.amount_fen) == (
        before.count + 1,
        before.amount_fen + tally.amount_fen,
    )
    assert _pending_and_differences(stack) == ([], [])


def test_the_statistics_page_counts_a_payment_committed_just_before_it_was_asked_for(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        before = _chart_data(client.get("/console/stats").text)
        pay(stack, register(api, payer))
        after = _chart_data(client.get("/console/stats").text)
    assert sum(after["trend"]["counts"]) == sum(before["trend"]["counts"]) + 1
    assert _pending_and_differences(stack) == ([], [])


def test_folds_running_at_once_count_every_tally_exactly_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    c = stack.container
    fold_statistics(c.uow)
    before = _today_totals(stack)
    codes = [register(api, payer) for _ in range(6)]
    for code in codes:
        pay(stack, code)
    with ThreadPoolExecutor(4) as pool:
        folded = sum(pool.map(lambda _: fold_statistics(c.uow), range(4)))
    assert folded == 6
    assert _today_totals(stack).count == before.count + 6
    assert _pending_and_differences(stack) == ([], [])
