"""Ports of units and their API credentials, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from publicpay.domain.units import ApiClient, Site, SiteKind, Unit, Window


class UnitsRepo(Protocol):
    def get(self, unit_id: int) -> Unit | None: ...

    def site(self, site_id: int) -> Site | None: ...

    def sites(self) -> list[Site]: ...

    def window(self, window_id: int) -> Window | None: ...

    def windows(self, site_id: int) -> list[Window]: ...

    def set_webhook(self, unit_id: int, url: str, secret: str) -> None: ...

    def set_lookup(self, unit_id: int, url: str, secret: str) -> None: ...

    def rotate_webhook_secret(
        self, unit_id: int, secret: str, previous: str, valid_until: datetime
    ) -> None: ...

    def client(self, app_id: str) -> ApiClient | None: ...

    def add_client(
        self,
        app_id: str,
        kind: str,
        unit_id: int | None,
        secret: str,
        at: datetime,
        *,
        region_code: str | None = None,
    ) -> None: ...

    def clients(self) -> list[ApiClient]: ...

    def rotate_secret(
        self, app_id: str, secret: str, previous: str, valid_until: datetime, at: datetime
    ) -> None: ...

    def revoke(self, app_id: str, at: datetime) -> None: ...


# --- administration (issue 10): regions, new units, sites and windows ---


class RegionInfo(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def parent_code(self) -> str | None: ...


class UnitsAdminRepo(UnitsRepo, Protocol):
    def region(self, code: str) -> RegionInfo | None: ...

    def add_region(self, code: str, name: str, parent_code: str | None) -> None: ...

    def rename_region(self, code: str, name: str) -> None: ...

    def by_code(self, code: str) -> Unit | None: ...

    def add(
        self,
        code: str,
        name: str,
        region_code: str,
        credit_code: str,
        at: datetime,
        *,
        contact: str = "",
    ) -> int: ...

    def update_unit(self, unit_id: int, name: str, contact: str, region_code: str) -> None: ...

    def set_unit_disabled(self, unit_id: int, at: datetime | None) -> None: ...

    def update_site(self, site_id: int, name: str, address: str, active: bool) -> None: ...

    def update_window(self, window_id: int, name: str, active: bool) -> None: ...

    def add_client(
        self,
        app_id: str,
        kind: str,
        unit_id: int | None,
        secret: str,
        at: datetime,
        *,
        region_code: str | None = None,
    ) -> None: ...

    def add_site(
        self,
        code: str,
        name: str,
        kind: SiteKind,
        region_code: str,
        unit_id: int | None,
        at: datetime,
        *,
        address: str = "",
    ) -> int: ...

    def site_by_code(self, code: str) -> Site | None: ...

    def add_window(self, site_id: int, number: str, name: str = "") -> int: ...
