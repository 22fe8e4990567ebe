"""API credentials (U2) and webhook secrets (N1): rotation with a grace period, revocation,
per-credential rate limits; scoped to the finance bureau's region."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.db.audit import audit_log
from publicpay.api.rate_limits import ApiClientLimiter
from tests.integration.receipt_kit import new_unit
from tests.integration.test_channel_scopes import finance
from tests.integration.test_payment_flow import deliver_until
from tests.support.client import SignedClient
from tests.support.webhooks import WebhookReceiver


def reads(client: SignedClient) -> int:
    """The status of a signed read: 404 (unknown biz_no) once the signature is accepted."""
    return client.get("/api/v1/payables?biz_no=NO-SUCH-BIZ").status_code


def last_audit(stack: Any, target: str) -> tuple[str, str]:
    with stack.container.engines.read.connect() as conn:
        row = conn.execute(
            select(audit_log.c.actor, audit_log.c.action)
            .where(audit_log.c.target == target)
            .order_by(audit_log.c.id.desc())
            .limit(1)
        ).one()
    return row.actor, row.action


def test_during_the_grace_period_the_old_and_the_new_secret_both_work(stack: Any) -> None:
    _, old = new_unit(stack, stock_size=1)
    rotated = finance(stack).post(
        f"/api/v1/admin/api-clients/{old.app_id}/rotate", {"grace_s": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    data = rotated.json()
    new = SignedClient(stack.info["base_url"], old.app_id, data["app_secret"])
    assert data["previous_valid_until"] is not None
    assert (reads(old), reads(new)) == (404, 404)
    assert last_audit(stack, old.app_id)[1] == "credential.rotate"


def test_the_old_secret_is_refused_once_the_grace_period_is_over(stack: Any) -> None:
    _, old = new_unit(stack, stock_size=1)
    data = (
        finance(stack).post(f"/api/v1/admin/api-clients/{old.app_id}/rotate", {"grace_s": 0}).json()
    )
    new = SignedClient(stack.info["base_url"], old.app_id, data["app_secret"])
    assert reads(new) == 404
    refused = old.get("/api/v1/payables?biz_no=NO-SUCH-BIZ")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_revoked_credential_is_refused_at_once(stack: Any) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    assert reads(unit_api) == 404
    revoked = finance(stack).post(f"/api/v1/admin/api-clients/{unit_api.app_id}/revoke")
    assert revoked.json()["status"] == "revoked"
    refused = unit_api.get("/api/v1/payables?biz_no=NO-SUCH-BIZ")
    assert refused.status_code == 401
    assert "已吊销" in refused.json()["detail"]
    assert last_audit(stack, unit_api.app_id)[1] == "credential.revoke"


def test_a_business_system_rotates_its_own_secret(stack: Any) -> None:
    _, old = new_unit(stack, stock_size=1)
    rotated = old.post("/api/v1/credentials/rotate", {"grace_s": 60})
    assert rotated.status_code == 200, rotated.text
    new = SignedClient(stack.info["base_url"], old.app_id, rotated.json()["app_secret"])
    assert (reads(new), reads(old)) == (404, 404)
    assert last_audit(stack, old.app_id) == (f"unit:{old.app_id}", "credential.rotate")


def test_the_list_shows_the_regions_credentials_without_secrets(stack: Any) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    listed = finance(stack).get("/api/v1/admin/api-clients")
    assert listed.status_code == 200
    mine = [c for c in listed.json() if c["app_id"] == unit_api.app_id]
    assert mine[0]["status"] == "active"
    assert mine[0]["scope"].startswith("unit:")
    assert unit_api.secret not in listed.text
    assert "secret" not in json.dumps(mine)


def test_a_finance_bureau_of_another_region_cannot_touch_the_credential(stack: Any) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    c = stack.container
    other_id, other_secret = f"fin_{secrets.token_hex(4)}", secrets.token_hex(16)
    with c.uow() as uow:
        uow.units.add_client(
            other_id, "finance", None, other_secret, c.clock.now(), region_code="110101"
        )
        uow.commit()
    other = SignedClient(stack.info["base_url"], other_id, other_secret)
    assert other.post(f"/api/v1/admin/api-clients/{unit_api.app_id}/revoke").status_code == 403
    assert unit_api.app_id not in other.get("/api/v1/admin/api-clients").text
    assert reads(unit_api) == 404


def test_a_unit_credential_cannot_use_the_administration_api(stack: Any) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    _, other = new_unit(stack, stock_size=1)
    assert unit_api.post(f"/api/v1/admin/api-clients/{other.app_id}/revoke").status_code == 401
    assert reads(other) == 404


def test_a_grace_period_over_30_days_is_refused(stack: Any) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    answer = unit_api.post("/api/v1/credentials/rotate", {"grace_s": 31 * 24 * 3600})
    assert answer.status_code == 422
    assert reads(unit_api) == 404  # nothing changed


def test_a_credential_over_its_allowance_gets_429_with_retry_after(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    now = [1000.0]
    limiter = ApiClientLimiter(rate_per_s=1.0, burst=2, clock=lambda: now[0])
    monkeypatch.setattr(stack.app.state, "api_limiter", limiter)
    assert [reads(unit_api) for _ in range(2)] == [404, 404]
    limited = unit_api.get("/api/v1/payables?biz_no=NO-SUCH-BIZ")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["title"] == "请求过于频繁"
    now[0] += 1.0
    assert reads(unit_api) == 404


def verifies(secret: str, header: str, body: bytes) -> bool:
    parts = header.split(",")
    stamp = parts[0].removeprefix("t=")
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}" in parts[1:]


def test_during_a_webhook_secret_rotation_deliveries_carry_both_signatures(
    stack: Any, webhooks: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhooks
    unit_id, unit_api = new_unit(stack, stock_size=1)
    old = unit_api.put("/api/v1/webhook-endpoint", {"url": url}).json()["secret"]
    rotated = unit_api.post("/api/v1/webhook-endpoint/rotate-secret", {"grace_s": 3600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    c = stack.container
    marker = f"rotation-{secrets.token_hex(4)}"
    with c.uow() as uow:
        uow.events.add(unit_id, "payable.paid", {"marker": marker}, c.clock.now(), deliver=True)
        uow.commit()
    got = deliver_until(stack, receiver, marker.encode())
    header = got[0].headers["x-publicpay-signature"]
    assert header.count("v1=") == 2
    assert verifies(new, header, got[0].body)
    assert verifies(old, header, got[0].body)
    first = header.split(",")[1]  # a receiver that checks the first v1 has the new secret
    assert verifies(new, f"{header.split(',')[0]},{first}", got[0].body)


def test_a_secret_in_its_grace_period_cannot_manage_the_credential(stack: Any) -> None:
    _, old = new_unit(stack, stock_size=1)
    new_secret = old.post("/api/v1/credentials/rotate", {"grace_s": 3600}).json()["app_secret"]
    again = old.post("/api/v1/credentials/rotate", {"grace_s": 3600})  # a leaked old secret
    assert again.status_code == 401
    assert "当前密钥" in again.json()["detail"]
    assert old.post("/api/v1/webhook-endpoint/rotate-secret", {"grace_s": 60}).status_code == 401
    assert reads(old) == 404  # business calls still work during the grace period
    new = SignedClient(stack.info["base_url"], old.app_id, new_secret)
    assert new.post("/api/v1/credentials/rotate", {"grace_s": 0}).status_code == 200
