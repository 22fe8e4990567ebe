"""Units (执收单位), their sites and windows, and API clients (business systems, banks,
devices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


class SiteKind(StrEnum):
    """Where payers meet a unit or the platform (spec W1+, K2)."""

    SERVICE_HALL = "service_hall"  # 办事大厅 / 业务大厅
    BRANCH_OFFICE = "branch_office"  # 县区分所 / 分局
    CONVENIENCE_POINT = "convenience_point"  # 便民服务点 (街道、社区)
    BANK_BRANCH = "bank_branch"  # 合作银行网点 (kiosks placed at a bank)


SITE_KIND_LABELS = {
    SiteKind.SERVICE_HALL: "办事大厅",
    SiteKind.BRANCH_OFFICE: "分支机构",
    SiteKind.CONVENIENCE_POINT: "便民服务点",
    SiteKind.BANK_BRANCH: "合作银行网点",
}


@dataclass(frozen=True, slots=True)
class Site:
    """A place with windows or devices: a unit's service hall or branch office, a street's
    convenience point, a partner bank's branch (`unit_id` None: not one unit's)."""

    id: int
    code: str
    name: str
    kind: SiteKind
    region_code: str
    unit_id: int | None
    address: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class Window:
    """A numbered window (窗口) at a site, where a cashier takes payments."""

    id: int
    site_id: int
    number: str  # as painted above it: "01", "A3"
    name: str = ""
    active: bool = True
