"""API credentials (U2) and webhook signing secrets (N1): rotation with a grace period, and
revocation. A rotation returns the new secret once; the previous one keeps working until the
grace period ends, so an integrator can deploy the new secret without a window of refusals.
Setting a unit's webhook endpoint (which makes its first signing secret) is here too."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.units import ApiClient
from publicpay.services.events.ports import UrlGuard
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

DEFAULT_GRACE_S = 24 * 3600
MAX_GRACE_S = 30 * 24 * 3600


def new_api_secret() -> str:
    return secrets.token_hex(32)


def _grace(grace_s: int) -> timedelta:
    if not 0 <= grace_s <= MAX_GRACE_S:
        raise ValidationFailed(
            "宽限期应在 0 到 30 天之间", errors={"grace_s": f"0–{MAX_GRACE_S} 秒"}
        )
    return timedelta(seconds=grace_s)


def rotate_client_secret(
    uow: UnitOfWork, app_id: str, *, grace_s: int, actor: str, clock: Clock
) -> tuple[str, ApiClient]:
    """A new secret for `app_id` (returned once); the old one is accepted for `grace_s`."""
    grace = _grace(grace_s)
    with uow:
        client = uow.units.client(app_id)
        if client is None or not client.active:
            raise NotFound(f"凭证 {app_id} 不存在或已吊销")
        now = clock.now()
        secret, until = new_api_secret(), now + grace
        uow.units.rotate_secret(app_id, secret, client.secret, until, now)
        detail = {"grace_s": grace_s, "previous_valid_until": until.isoformat()}
        uow.audit.append(actor, "credential.rotate", app_id, detail, now)
        uow.commit()
    rotated = replace(client, secret=secret, previous_secret=client.secret)
    return secret, replace(rotated, previous_valid_until=until, rotated_at=now)


def revoke_client(uow: UnitOfWork, app_id: str, *, actor: str, clock: Clock) -> ApiClient:
    """Refuse `app_id` from now on (both its secrets)."""
    with uow:
        client = uow.units.client(app_id)
        if client is None:
            raise NotFound(f"凭证 {app_id} 不存在")
        if not client.active:
            return client  # revoked before: nothing changes
        now = clock.now()
        uow.units.revoke(app_id, now)
        uow.audit.append(actor, "credential.revoke", app_id, {"kind": client.kind}, now)
        uow.commit()
    return replace(
        client, active=False, revoked_at=now, previous_secret=None, previous_valid_until=None
    )


def rotate_webhook_secret(
    uow: UnitOfWork, unit_id: int, *, grace_s: int, actor: str, clock: Clock
) -> tuple[str, datetime]:
    """A new webhook signing secret (returned once) and until when deliveries also carry a
    signature with the old one, so the receiver can switch at its own pace."""
    grace = _grace(grace_s)
    with uow:
        unit = uow.units.get(unit_id)
        if unit is None or not unit.webhook_secret:
            raise NotFound("尚未设置通知地址，请先设置（PUT /api/v1/webhook-endpoint）")
        now = clock.now()
        secret, until = "whsec_" + secrets.token_hex(24), now + grace
        uow.units.rotate_webhook_secret(unit_id, secret, unit.webhook_secret, until)
        uow.audit.append(actor, "webhook.secret_rotate", str(unit_id), {"grace_s": grace_s}, now)
        uow.commit()
    return secret, until


def set_lookup_endpoint(
    uow: UnitOfWork,
    unit_id: int,
    url: str,
    *,
    guard: UrlGuard,
    clock: Clock,
    actor: str | None = None,
) -> str:
    """Set the URL where the unit's business system answers record queries (business.lookup);
    returns a fresh secret both sides sign with."""
    guard.check(url)
    secret = "lksec_" + secrets.token_hex(24)
    with uow:
        unit = uow.units.get(unit_id)
        if unit is None:
            raise NotFound("单位不存在")
        uow.units.set_lookup(unit_id, url, secret)
        detail = {"before": {"url": unit.lookup_url}, "after": {"url": url}}
        uow.audit.append(
            actor or f"unit:{unit_id}", "lookup.set", str(unit_id), detail, clock.now()
        )
        uow.commit()
    return secret


def set_endpoint(
    uow: UnitOfWork,
    unit_id: int,
    url: str,
    *,
    guard: UrlGuard,
    clock: Clock,
    actor: str | None = None,
    source: str = "",
) -> str:
    """Set the unit's webhook URL; returns a fresh signing secret. `actor`: who, when not the
    unit's own system (a console user)."""
    guard.check(url)
    secret = "whsec_" + secrets.token_hex(24)
    with uow:
        unit = uow.units.get(unit_id)
        if unit is None:
            raise NotFound("单位不存在")
        uow.units.set_webhook(unit_id, url, secret)
        detail: dict[str, object] = {"url": url, "before": {"url": unit.webhook_url},
                                     "after": {"url": url}}  # fmt: skip
        if source:
            detail["from"] = source
        who = actor or f"unit:{unit_id}"
        uow.audit.append(who, "webhook.set", str(unit_id), detail, clock.now())
        uow.commit()
    return secret
