"""Units (执收单位), their sites and windows, and API clients (business systems, banks,
devices)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.codes import is_valid_credit_code, normalise_credit_code


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
    unit_disabled: bool = False  # its unit was disabled by a finance admin (refused meanwhile)

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
    contact: str = ""  # who the bureau calls about the unit (name, telephone)
    disabled_at: datetime | None = None  # disabled by a finance admin: its system is refused
    lookup_url: str | None = None  # the business system's record query (window POS)
    lookup_secret: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

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


# --- administration (issue 10): what a new unit, site or window must look like ---------------

_UNIT_CODE = re.compile(r"^[0-9A-Za-z]{3,20}$")
_SITE_CODE = re.compile(r"^[0-9A-Za-z_-]{2,20}$")
_WINDOW_NO = re.compile(r"^[0-9A-Za-z-]{1,10}$")


@dataclass(frozen=True, slots=True)
class UnitDraft:
    """A collecting unit as entered by a finance admin."""

    code: str
    name: str
    region_code: str
    credit_code: str
    contact: str = ""

    def problems(self) -> dict[str, str]:
        """Every reason the draft is refused, per field (Chinese); empty when valid."""
        errors: dict[str, str] = {}
        if not _UNIT_CODE.match(self.code):
            errors["code"] = "单位编码应为3-20位字母或数字"
        if not 2 <= len(self.name.strip()) <= 200:
            errors["name"] = "单位名称应为2-200个字"
        if not is_valid_credit_code(normalise_credit_code(self.credit_code)):
            errors["credit_code"] = "统一社会信用代码无效（18位，校验位不符）"
        if len(self.contact.strip()) > 200:
            errors["contact"] = "联系人与电话最多200个字"
        return errors


def unit_change_problems(name: str, contact: str) -> dict[str, str]:
    """Every reason an edit of a unit's name or contact is refused (Chinese); empty when valid."""
    errors: dict[str, str] = {}
    if not 2 <= len(name.strip()) <= 200:
        errors["name"] = "单位名称应为2-200个字"
    if len(contact.strip()) > 200:
        errors["contact"] = "联系人与电话最多200个字"
    return errors


def site_problems(code: str, name: str, kind: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _SITE_CODE.match(code):
        errors["code"] = "网点编码应为2-20位字母、数字、- 或 _"
    if not 2 <= len(name.strip()) <= 200:
        errors["name"] = "网点名称应为2-200个字"
    if kind not in SiteKind.__members__.values():
        errors["kind"] = "网点类型无效"
    return errors


def name_problems(name: str, *, what: str, low: int = 2, high: int = 200) -> dict[str, str]:
    """A site's or window's new name (`low` 0: may be empty)."""
    if not low <= len(name.strip()) <= high:
        return {"name": f"{what}名称应为{low}-{high}个字" if low else f"{what}名称最多{high}个字"}
    return {}


def window_problems(number: str) -> dict[str, str]:
    if not _WINDOW_NO.match(number):
        return {"number": "窗口号应为1-10位字母、数字或 -"}
    return {}
