"""Asking the business system (或向业务系统查询, issue 13): when the window finds nothing, the
platform sends the unit's business system a signed record query; its signed answer is registered
like a unit API registration (priced by the platform) and shown ready to pay. Not found, no
answer in time, a bad signature or a malformed record: a clear message, nothing registered."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.emulators.business_system import Record
from tests.integration.console_kit import csrf_of
from tests.integration.pos_kit import at_window, new_plate
from tests.support.client import SignedClient


def _record(payer: dict[str, str], plate: str) -> dict[str, Any]:
    return {
        "biz_no": "CG" + secrets.token_hex(6).upper(),
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
        "items": [{"item_code": "GA0101", "quantity": 1}, {"item_code": "GA0105", "quantity": 1}],
        "attributes": {"plate_no": plate},
    }


def _registered(stack: Any, biz_no: str) -> bool:
    with stack.container.engines.read.connect() as conn:
        found = conn.execute(select(payables.c.id).where(payables.c.biz_no == biz_no)).first()
    return found is not None


def _ask(client: Any, q: str) -> Any:
    page = client.get("/console/pos", params={"q": q})
    assert 'id="not-found"' in page.text
    assert 'id="ask"' in page.text
    return client.post("/console/pos/ask", data={"q": q, "csrf": csrf_of(page.text)})


def test_the_business_system_answers_and_the_record_is_registered_priced(
    stack: Any, payer: dict[str, str]
) -> None:
    plate = new_plate()
    record = _record(payer, plate)
    stack.business.add([plate], Record(record))
    with at_window(stack) as (client, _window_id, _app_id):
        answered = _ask(client, plate)
        assert answered.status_code == 200, answered.text
        assert 'id="asked-found"' in answered.text
        assert "汽车号牌" in answered.text
        assert ">收款<" in answered.text
        assert _registered(stack, record["biz_no"])
        asked = [a for a in stack.business.asked if a["q"] == plate]
        assert asked == [{"q": plate, "event": "business.lookup"}]
        again = client.get("/console/pos", params={"q": plate})  # registered: found at once
        assert 'id="not-found"' not in again.text
        assert "data-code=" in again.text


def test_a_record_the_business_system_does_not_have_is_said_so(stack: Any) -> None:
    with at_window(stack) as (client, _window_id, _app_id):
        answered = _ask(client, new_plate())
        assert answered.status_code == 200
        assert "业务系统也没有" in answered.text


@pytest.mark.parametrize(
    ("behaviour", "delay_s", "status", "message"),
    [
        ("timeout", 4.0, 504, "秒内应答"),
        ("bad_signature", 0.0, 502, "签名无效"),
        ("bad_answer", 0.0, 502, "字段有误"),
    ],
)
def test_a_silent_forged_or_malformed_answer_registers_nothing(
    stack: Any, payer: dict[str, str], behaviour: str, delay_s: float, status: int, message: str
) -> None:
    plate = new_plate()
    record = _record(payer, plate)
    stack.business.add([plate], Record(record, behaviour, delay_s))
    with at_window(stack) as (client, _window_id, _app_id):
        refused = _ask(client, plate)
        assert refused.status_code == status, refused.text
        assert message in refused.text
        assert 'id="ask-error"' in refused.text
        assert 'id="ask"' in refused.text  # the way back: ask again
    assert not _registered(stack, record["biz_no"])


def test_the_unit_sets_its_lookup_url_and_gets_a_new_secret(stack: Any, api: SignedClient) -> None:
    url = stack.info["base_url"] + "/emulator/business/lookup"
    response = api.put("/api/v1/lookup-endpoint", {"url": url})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["url"] == url
    assert body["secret"].startswith("lksec_")
    stack.business.secret = body["secret"]  # the business system keeps the new secret
    refused = api.put("/api/v1/lookup-endpoint", {"url": "http://10.0.0.8/lookup"})
    assert refused.status_code == 422  # the SSRF guard: a private address
    assert "application/problem+json" in refused.headers["content-type"]


def test_a_pos_terminal_asks_the_business_system_through_the_device_api(
    stack: Any, payer: dict[str, str]
) -> None:
    pos = stack.info["pos"]
    terminal = SignedClient(stack.info["base_url"], pos["device_id"], pos["device_secret"])
    plate, forged = new_plate(), new_plate()
    record = _record(payer, plate)
    stack.business.add([plate], Record(record))
    stack.business.add([forged], Record(_record(payer, forged), "bad_signature"))
    q = quote(plate)
    assert terminal.get(f"/api/v1/pos/lookup?q={q}").json() == {"payables": [], "asked": False}
    answered = terminal.get(f"/api/v1/pos/lookup?q={q}&ask=true")
    assert answered.status_code == 200, answered.text
    (found,) = answered.json()["payables"]
    assert answered.json()["asked"] is True
    assert found["biz_no"] == record["biz_no"]
    assert [line["item_code"] for line in found["lines"]] == ["GA0101", "GA0105"]
    refused = terminal.get(f"/api/v1/pos/lookup?q={quote(forged)}&ask=true")
    assert refused.status_code == 502
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "签名无效" in refused.json()["detail"]
