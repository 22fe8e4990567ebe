"""Units (执收单位) and API clients (business systems, banks, devices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ApiClient:
    app_id: str
    kind: str
    unit_id: int | None
    secret: str
    active: bool
    region_code: str | None = None  # finance bureaus: the region they administer
    previous_secret: str | None = None  # before the last rotation, accepted until:
    previous_valid_until: datetime | None = None
    created_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None

    def secrets_at(self, now: datetime) -> tuple[str, ...]:
        """The secrets a request may be signed with now: the current one, and the previous
        one during its grace period after a rotation."""
        if self.previous_secret and self.previous_valid_until and now < self.previous_valid_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True, slots=True)
class Unit:
    id: int
    code: str
    name: str
    region_code: str
    credit_code: str
    webhook_url: str | None
    webhook_secret: str | None
    webhook_previous_secret: str | None = None  # still signed with until:
    webhook_previous_valid_until: datetime | None = None

    def webhook_secrets_at(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery is signed with now: the current one first, and the previous
        one during its grace period after a rotation (the receiver may still hold it)."""
        if not self.webhook_secret:
            return ()
        until = self.webhook_previous_valid_until
        if self.webhook_previous_secret and until and now < until:
            return (self.webhook_secret, self.webhook_previous_secret)
        return (self.webhook_secret,)
