"""Devices (K2): a finance admin registers a kiosk in the console (its secret shown once); the
kiosk signs heartbeats with it; the console shows its state and usage; bad heartbeats and a
revoked credential are refused; a partner bank sees the kiosks at its branches, no others."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from publicpay.adapters.db.units import units
from publicpay.demo.stack import Stack
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.support.client import SignedClient

BEAT = {"printer": "ok", "paper": "ok", "version": "2.1.0"}


def _site_id(stack: Stack, code: str) -> int:
    with stack.container.read_uow() as uow:
        return next(s.id for s in uow.units.sites() if s.code == code)


def _register_kiosk(stack: Stack, base_url: str) -> SignedClient:
    app_id = f"kiosk_t_{uuid.uuid4().hex[:8]}"
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        page = client.get("/console/devices")
        done = client.post(
            "/console/devices",
            data={
                "csrf": csrf_of(page.text),
                "kind": "kiosk",
                "app_id": app_id,
                "name": "测试街道自助缴费机",
                "site_id": str(_site_id(stack, "GS-MHDJ")),
            },
        )
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret-value">([0-9a-f]{64})<', done.text)
    assert secret is not None
    return SignedClient(base_url, app_id, secret.group(1))


def test_a_registered_kiosk_beats_and_the_console_shows_it_online(
    stack: Stack, base_url: str
) -> None:
    kiosk = _register_kiosk(stack, base_url)
    answer = kiosk.post("/api/v1/devices/heartbeat", {**BEAT, "paper": "low"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "paper_low"
    assert answer.json()["status_label"] == "纸将用尽"
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        page = client.get("/console/devices")
    row = re.search(rf'data-app-id="{kiosk.app_id}" data-health="(\w+)"', page.text)
    assert row is not None
    assert row.group(1) == "paper_low"
    assert "2.1.0" in page.text
    assert "device-alerts" in page.text


def test_bad_heartbeats_are_refused_and_change_nothing(stack: Stack, base_url: str) -> None:
    kiosk = _register_kiosk(stack, base_url)
    bad = kiosk.post("/api/v1/devices/heartbeat", {**BEAT, "paper": "plenty"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "paper" in bad.json()["errors"]
    with stack.container.read_uow() as uow:
        device = uow.devices.by_app_id(kiosk.app_id)
    assert device is not None
    assert device.last_seen_at is None


def test_a_revoked_device_credential_is_refused_with_a_clear_message(
    stack: Stack, base_url: str
) -> None:
    kiosk = _register_kiosk(stack, base_url)
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        page = client.get("/console/credentials")
        client.post(
            f"/console/credentials/{kiosk.app_id}/revoke", data={"csrf": csrf_of(page.text)}
        )
        devices = client.get("/console/devices")
    refused = kiosk.post("/api/v1/devices/heartbeat", BEAT)
    assert refused.status_code == 401
    assert "已吊销" in refused.json()["detail"]
    row = re.search(rf'data-app-id="{kiosk.app_id}" data-health="(\w+)"', devices.text)
    assert row is not None
    assert row.group(1) == "disabled"


def test_registration_input_is_checked_and_scoped(stack: Stack, base_url: str) -> None:
    unit_id = _unit_id(stack, "330105201")
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/devices")
        form = {"csrf": csrf_of(page.text), "kind": "kiosk", "name": "x机"}
        out_of_scope = client.post(
            "/console/devices",
            data={**form, "app_id": "kiosk_nope", "site_id": str(_site_id(stack, "GS-MHDJ"))},
        )
        bad_id = client.post(
            "/console/devices",
            data={**form, "app_id": "Bad Id!", "site_id": str(_site_id(stack, "WL-FIN"))},
        )
    assert "kiosk_gs_001" not in page.text  # the street's kiosk is not the school's
    assert out_of_scope.status_code == 404
    assert bad_id.status_code == 422
    assert "设备编号应为" in bad_id.text


def test_a_partner_bank_sees_the_kiosks_in_its_branches_only(stack: Stack) -> None:
    info = stack.info
    bank = SignedClient(str(info["base_url"]), info["bank"]["app_id"], info["bank"]["app_secret"])
    answer = bank.get("/api/v1/bank/devices")
    assert answer.status_code == 200, answer.text
    ids = [d["device_id"] for d in answer.json()["devices"]]
    assert ids == ["kiosk_icbc_gs_01"]
    kiosk = SignedClient(str(info["base_url"]), info["kiosk"]["device_id"],
                         info["kiosk"]["device_secret"])  # fmt: skip
    assert kiosk.get("/api/v1/bank/devices").status_code == 401


def test_a_cashier_has_no_devices_page(stack: Stack, base_url: str) -> None:
    unit_id = _unit_id(stack, "330105101")
    with logged_in(base_url, make_user(stack, "cashier", unit_id=unit_id)) as client:
        assert client.get("/console/devices").status_code == 403


def _unit_id(stack: Stack, code: str) -> int:
    with stack.container.read_uow() as uow:
        return int(
            uow.connection.execute(select(units.c.id).where(units.c.code == code)).scalar_one()
        )
