"""The kiosk's calls over HTTP (an enrolled kiosk's session) and the device API: bad input
gets a clear Chinese message and changes nothing — a wrong enrolment secret, an unreadable ID
number, a mistyped payment code, a cancelled or paid payable, a payment record that was never
paid (a cancelled QR), a printer out of paper, a second tap on pay, a revoked credential."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from publicpay.demo.seed import citizen_id
from publicpay.domain.devices import Device, DeviceKind
from tests.conftest import payable_body
from tests.integration.receipt_kit import drain, pay
from tests.support.client import SignedClient
from tests.support.db import counts

HEADERS = {"X-Kiosk-Request": "1"}


def _new_kiosk(stack: Any) -> tuple[str, str]:
    """A kiosk of its own (these tests revoke and starve its printer)."""
    app_id, secret = f"kiosk_t{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    now = datetime.now(UTC)
    with stack.container.uow() as uow:
        site = next(s for s in uow.units.sites() if s.code == "GS-MHDJ")
        uow.units.add_client(app_id, "device", None, secret, now)
        uow.devices.add(
            Device(0, app_id, DeviceKind.KIOSK, "测试自助机", site.id, None, None, app_id), now
        )
        uow.commit()
    return app_id, secret


@pytest.fixture
def kiosk(stack: Any, base_url: str) -> Iterator[tuple[httpx.Client, str]]:
    app_id, secret = _new_kiosk(stack)
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=15) as client:
        enrolled = client.post("/kiosk/enrol", data={"app_id": app_id, "secret": secret})
        assert enrolled.status_code == 303, enrolled.text
        client.cookies.set("pp_kiosk", enrolled.cookies["pp_kiosk"], path="/kiosk")
        yield client, app_id


def _person() -> dict[str, str]:
    return {"name": "吴建国", "id_no": citizen_id(random.Random())}


def _register(api: SignedClient, person: dict[str, str]) -> str:
    response = api.post("/api/v1/payables", payable_body(person, "GA0101"))
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def test_a_wrong_secret_does_not_enrol_a_kiosk(stack: Any, base_url: str) -> None:
    app_id, _ = _new_kiosk(stack)
    refused = httpx.post(f"{base_url}/kiosk/enrol", data={"app_id": app_id, "secret": "nope"})
    assert refused.status_code == 422
    assert "设备编号或密钥不正确" in refused.text
    assert "pp_kiosk" not in refused.cookies
    assert httpx.get(f"{base_url}/kiosk").status_code == 303  # to the enrolment page


def test_a_person_is_found_by_id_card_and_bad_ids_and_codes_are_refused(
    kiosk: tuple[httpx.Client, str], api: SignedClient
) -> None:
    client, _ = kiosk
    person = _person()
    code = _register(api, person)
    found = client.post("/kiosk/api/lookup", json={"by": "id_card", "value": person["id_no"]})
    assert found.status_code == 200, found.text
    assert [p["payment_code"] for p in found.json()["payables"]] == [code]
    assert found.json()["payer"] == "吴*国"
    bad_id = person["id_no"][:-1] + ("0" if person["id_no"][-1] != "0" else "1")
    unreadable = client.post("/kiosk/api/lookup", json={"by": "id_card", "value": bad_id})
    assert unreadable.status_code == 422
    assert "身份证号码无效" in unreadable.json()["detail"]
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    typo = client.post("/kiosk/api/lookup", json={"by": "code", "value": mistyped})
    assert typo.status_code == 422
    assert "校验位" in typo.json()["detail"]
    no_header = httpx.post(
        f"{client.base_url}/kiosk/api/lookup",
        json={"by": "code", "value": code},
        cookies=client.cookies,
    )
    assert no_header.status_code == 401


def test_cancelled_and_paid_payables_cannot_be_paid_at_the_kiosk(
    stack: Any, kiosk: tuple[httpx.Client, str], api: SignedClient
) -> None:
    client, _ = kiosk
    person = _person()
    cancelled, paid, open_ = _register(api, person), _register(api, person), _register(api, person)
    assert api.post(f"/api/v1/payables/{cancelled}/cancel", {}).status_code == 200
    pay(stack, paid)
    listing = client.post("/kiosk/api/lookup", json={"by": "code", "value": cancelled}).json()
    assert listing["payables"] == []
    assert listing["history"][0]["status_label"] == "已撤销"
    before = counts(stack)
    for code in (cancelled, paid):
        refused = client.post(
            "/kiosk/api/pay", json={"payment_codes": [open_, code], "channel": "alipay"}
        )
        assert refused.status_code == 422, refused.text
        assert "不能再支付" in refused.json()["detail"]
    assert counts(stack) == before


def test_a_second_tap_on_pay_gets_the_same_order(
    kiosk: tuple[httpx.Client, str], api: SignedClient
) -> None:
    client, _ = kiosk
    person = _person()
    codes = [_register(api, person), _register(api, person)]
    body, key = {"payment_codes": codes, "channel": "wechat"}, {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/kiosk/api/pay", json=body, headers=key)
    second = client.post("/kiosk/api/pay", json=body, headers=key)
    assert first.status_code == second.status_code == 201, first.text
    assert first.json()["order_no"] == second.json()["order_no"]
    assert first.json()["amount_fen"] == sum(x["amount_fen"] for x in first.json()["lines"])


def test_a_record_qr_of_a_payment_never_made_or_unknown_is_told_apart(
    stack: Any, kiosk: tuple[httpx.Client, str], api: SignedClient
) -> None:
    client, _ = kiosk
    code = _register(api, _person())
    base = stack.info["base_url"]
    order = httpx.post(f"{base}/api/v1/pay/{code}/orders", json={"channel": "alipay"}).json()
    unpaid = client.post("/kiosk/api/lookup", json={"by": "record", "value": order["order_no"]})
    assert unpaid.status_code == 422
    assert "撤销或未完成" in unpaid.json()["detail"]
    unknown = client.post("/kiosk/api/lookup", json={"by": "record", "value": "P000000000000abc"})
    assert unknown.status_code == 404


def test_a_printer_out_of_paper_prints_nothing_and_counts_nothing(
    stack: Any, kiosk: tuple[httpx.Client, str], api: SignedClient
) -> None:
    client, _ = kiosk
    code = _register(api, _person())
    pay(stack, code)
    drain(stack)
    receipt = api.get(f"/api/v1/payables/{code}").json()["receipt"]
    beat = {"printer": "ok", "paper": "out", "version": "1.0"}
    assert client.post("/kiosk/api/heartbeat", json=beat).status_code == 200
    refused = client.post(
        "/kiosk/api/print", json={"code": receipt["code"], "number": receipt["number"]}
    )
    assert refused.status_code == 409
    assert "缺纸" in refused.json()["detail"]
    assert client.post("/kiosk/api/heartbeat", json={**beat, "paper": "ok"}).status_code == 200
    printed = client.post(
        "/kiosk/api/print", json={"code": receipt["code"], "number": receipt["number"]}
    )
    assert printed.status_code == 200
    assert printed.content.startswith(b"%PDF")
    assert printed.headers["x-print-count"] == "1"  # the refused one was not counted


def test_a_revoked_kiosk_stops_serving_with_a_clear_page(
    stack: Any, kiosk: tuple[httpx.Client, str]
) -> None:
    client, app_id = kiosk
    with stack.container.uow() as uow:
        uow.units.revoke(app_id, datetime.now(UTC))
        uow.commit()
    stack.container.client_cache.drop(app_id)
    page = client.get("/kiosk")
    assert page.status_code == 403
    assert "已吊销" in page.text
    refused = client.post("/kiosk/api/lookup", json={"by": "code", "value": "1"})
    assert refused.status_code == 403
    assert refused.json()["title"] == "本机已停用"


def test_a_kiosk_asks_for_a_persons_payables_with_its_device_credential(
    stack: Any, api: SignedClient
) -> None:
    person = _person()
    code = _register(api, person)
    info = stack.info
    device = SignedClient(
        info["base_url"], info["kiosk"]["device_id"], info["kiosk"]["device_secret"]
    )
    found = device.get(f"/api/v1/kiosk/payables?id_no={person['id_no']}")
    assert found.status_code == 200, found.text
    assert [p["payment_code"] for p in found.json()["payables"]] == [code]
    assert device.get("/api/v1/kiosk/payables?id_no=123").status_code == 422
    assert api.get(f"/api/v1/kiosk/payables?id_no={person['id_no']}").status_code == 401
