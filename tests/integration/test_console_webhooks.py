"""The 回调推送 console screen (issue 10): a unit admin sets its notification URL (the signing
secret shown once) and the unit's events are delivered there; the delivery log shows each event
with its last attempt; a manual replay delivers it again; another unit's endpoint or event
answers 404; a bad URL changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

from publicpay.services.events.webhooks import deliver_due
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit
from tests.support.polling import wait_until
from tests.support.webhooks import WebhookReceiver


def _event(stack: Any, unit_id: int) -> str:
    c = stack.container
    with c.uow() as uow:
        event_id = uow.events.add(
            unit_id, "payable.paid", {"test": True}, c.clock.now(), deliver=True
        )
        uow.commit()
    return event_id


def _deliver(stack: Any) -> None:
    c = stack.container
    deliver_due(c.uow, c.sender, clock=c.clock, limit=100)


def _arrived(receiver: WebhookReceiver, event_id: str) -> int:
    return sum(1 for r in receiver.received if json.loads(r.body)["id"] == event_id)


def test_a_unit_admin_sets_its_endpoint_sees_deliveries_and_replays_one(
    stack: Any, base_url: str, webhooks: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhooks
    unit_id, _ = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/webhooks")
        saved = client.post(
            f"/console/webhooks/{unit_id}/endpoint", data={"csrf": csrf_of(page.text), "url": url}
        )
        assert saved.status_code == 200, saved.text
        assert re.search(r'id="secret-value">whsec_[0-9a-f]{48}<', saved.text)
        event_id = _event(stack, unit_id)

        def delivered() -> Any:  # the stack's own worker may hold the delivery for a moment
            _deliver(stack)
            shown = client.get("/console/webhooks", params={"status": "delivered"})
            return shown if event_id in shown.text else None

        log = wait_until(delivered, timeout_s=15, message="delivery shown")
        assert "HTTP 200" in log.text
        replayed = client.post(
            f"/console/webhooks/{unit_id}/events/{event_id}/replay",
            data={"csrf": csrf_of(log.text)},
        )
        assert replayed.status_code == 303

        def arrived_twice() -> bool:
            _deliver(stack)
            return _arrived(receiver, event_id) == 2

        wait_until(arrived_twice, timeout_s=15, message="the replay arrived")
    assert _arrived(receiver, event_id) == 2
    assert audit_rows(stack, "webhook.replayed", event_id)
    assert audit_rows(stack, "webhook.set", str(unit_id))[-1].detail["after"] == {"url": url}


def test_another_units_endpoint_and_events_answer_404(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    other_id, _ = new_unit(stack, stock_size=1)
    other_event = _event(stack, other_id)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/webhooks")
        token = csrf_of(page.text)
        endpoint = client.post(
            f"/console/webhooks/{other_id}/endpoint",
            data={"csrf": token, "url": "https://example.com/x"},
        )
        replay = client.post(
            f"/console/webhooks/{other_id}/events/{other_event}/replay", data={"csrf": token}
        )
        disguised = client.post(
            f"/console/webhooks/{unit_id}/events/{other_event}/replay", data={"csrf": token}
        )
    assert (endpoint.status_code, replay.status_code, disguised.status_code) == (404, 404, 404)
    assert other_event not in page.text
    assert not audit_rows(stack, "webhook.replayed", other_event)


def test_a_bad_url_is_refused_and_changes_nothing(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/webhooks")
        refused = client.post(
            f"/console/webhooks/{unit_id}/endpoint",
            data={"csrf": csrf_of(page.text), "url": "ftp://example.com/x"},
        )
    assert refused.status_code == 422
    assert 'class="error"' in refused.text
    assert not audit_rows(stack, "webhook.set", str(unit_id))


def test_auditors_and_cashiers_have_no_webhook_screen(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    for user in (make_user(stack, "auditor"), make_user(stack, "cashier", unit_id=unit_id)):
        with logged_in(base_url, user) as client:
            assert client.get("/console/webhooks").status_code == 403
