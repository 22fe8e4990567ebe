"""Units (执收单位), their sites and windows, their API clients and request nonces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    select,
    update,
)

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Sql
from publicpay.domain.time import utc
from publicpay.domain.units import ApiClient, Site, SiteKind, Unit, Window

regions = Table(
    "regions",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("parent_code", String(6), ForeignKey("regions.code"), nullable=True),
)

units = Table(
    "units",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("region_code", String(6), ForeignKey("regions.code"), nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("webhook_url", String(500), nullable=True),
    Column("webhook_secret_enc", LargeBinary, nullable=True),
    Column("created_at", Ts, nullable=False),
    # the signing secret before the last rotation, still signed with until then
    Column("webhook_previous_secret_enc", LargeBinary, nullable=True),
    Column("webhook_previous_valid_until", Ts, nullable=True),
    # administration (migration 0021): who to call, and a unit disabled by a finance admin
    Column("contact", String(200), nullable=False, server_default=""),
    Column("disabled_at", Ts, nullable=True),
    # asking the business system for a record not registered yet (window POS, issue 13)
    Column("lookup_url", String(500), nullable=True),
    Column("lookup_secret_enc", LargeBinary, nullable=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # unit | bank | device | finance
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True),
    Column("region_code", String(6), nullable=True),  # a finance bureau's region
    Column("secret_enc", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Ts, nullable=False),
    # the secret before the last rotation, accepted until `previous_valid_until`
    Column("previous_secret_enc", LargeBinary, nullable=True),
    Column("previous_valid_until", Ts, nullable=True),
    Column("rotated_at", Ts, nullable=True),
    Column("revoked_at", Ts, nullable=True),
)

request_nonces = Table(
    "request_nonces",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", Ts, nullable=False, index=True),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # domain.units.SiteKind
    Column("region_code", String(6), ForeignKey("regions.code"), nullable=False),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=True, index=True),
    Column("address", String(300), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Ts, nullable=False),
)

windows = Table(
    "windows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("number", String(10), nullable=False),
    Column("name", String(100), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("site_id", "number", name="uq_windows_site_id_number"),
)


_UNIT = select(units).where(units.c.id == bindparam("id"))
_SET_WEBHOOK = (
    update(units)
    .where(units.c.id == bindparam("b_id"))
    .values(
        webhook_url=bindparam("url"),
        webhook_secret_enc=bindparam("secret"),
        webhook_previous_secret_enc=None,
        webhook_previous_valid_until=None,
    )
)
_SET_LOOKUP = (
    update(units)
    .where(units.c.id == bindparam("b_id"))
    .values(lookup_url=bindparam("url"), lookup_secret_enc=bindparam("secret"))
)
_ROTATE_WEBHOOK = (
    update(units)
    .where(units.c.id == bindparam("b_id"))
    .values(
        webhook_secret_enc=bindparam("secret"),
        webhook_previous_secret_enc=bindparam("previous"),
        webhook_previous_valid_until=bindparam("until"),
    )
)
_CLIENT_COLUMNS = (api_clients, units.c.disabled_at.label("unit_disabled_at"))
_CLIENT_FROM = api_clients.outerjoin(units, units.c.id == api_clients.c.unit_id)
_CLIENT = (
    select(*_CLIENT_COLUMNS)
    .select_from(_CLIENT_FROM)
    .where(api_clients.c.app_id == bindparam("app_id"))
)
_CLIENTS = select(*_CLIENT_COLUMNS).select_from(_CLIENT_FROM).order_by(api_clients.c.app_id)
_ROTATE_SECRET = (
    update(api_clients)
    .where(api_clients.c.app_id == bindparam("b_app_id"))
    .values(
        secret_enc=bindparam("secret"),
        previous_secret_enc=bindparam("previous"),
        previous_valid_until=bindparam("until"),
        rotated_at=bindparam("at"),
    )
)
_REVOKE = (
    update(api_clients)
    .where(api_clients.c.app_id == bindparam("b_app_id"))
    .values(
        active=False,
        revoked_at=bindparam("at"),
        previous_secret_enc=None,
        previous_valid_until=None,
    )
)
_SITE = select(sites).where(sites.c.id == bindparam("id"))
_SITES = select(sites).order_by(sites.c.id)
_WINDOW = select(windows).where(windows.c.id == bindparam("id"))
_WINDOWS = (
    select(windows).where(windows.c.site_id == bindparam("site_id")).order_by(windows.c.number)
)
_REGION = select(regions).where(regions.c.code == bindparam("code"))
_RENAME_REGION = (
    update(regions).where(regions.c.code == bindparam("b_code")).values(name=bindparam("name"))
)
_UNIT_BY_CODE = select(units.c.id).where(units.c.code == bindparam("code"))
_SITE_BY_CODE = select(sites).where(sites.c.code == bindparam("code"))
_UPDATE_UNIT = (
    update(units)
    .where(units.c.id == bindparam("b_id"))
    .values(name=bindparam("name"), contact=bindparam("contact"), region_code=bindparam("region"))
)
_DISABLE_UNIT = (
    update(units).where(units.c.id == bindparam("b_id")).values(disabled_at=bindparam("at"))
)
_UPDATE_SITE = (
    update(sites)
    .where(sites.c.id == bindparam("b_id"))
    .values(name=bindparam("name"), address=bindparam("address"), active=bindparam("active"))
)
_UPDATE_WINDOW = (
    update(windows)
    .where(windows.c.id == bindparam("b_id"))
    .values(name=bindparam("name"), active=bindparam("active"))
)
_PRUNE_NONCES = delete(request_nonces).where(request_nonces.c.seen_at < bindparam("before"))


class UnitsRepository:
    """Edits run at once (they are rare and the caller reads them back)."""

    def __init__(self, sql: Sql, box: SecretBox) -> None:
        self._sql = sql
        self._box = box

    def add_region(self, code: str, name: str, parent_code: str | None) -> None:
        self._sql.insert(regions, {"code": code, "name": name, "parent_code": parent_code})

    def region(self, code: str) -> Any | None:
        """The region row (code, name, parent_code), or None."""
        return self._sql.one(_REGION, {"code": code})

    def rename_region(self, code: str, name: str) -> None:
        self._sql.run(_RENAME_REGION, {"b_code": code, "name": name})

    def by_code(self, code: str) -> Unit | None:
        unit_id = self._sql.scalar(_UNIT_BY_CODE, {"code": code})
        return None if unit_id is None else self.get(int(unit_id))

    def site_by_code(self, code: str) -> Site | None:
        row = self._sql.one(_SITE_BY_CODE, {"code": code})
        return None if row is None else _site(row)

    def add(
        self,
        code: str,
        name: str,
        region_code: str,
        credit_code: str,
        at: datetime,
        *,
        contact: str = "",
    ) -> int:
        row = {
            "contact": contact,
            "code": code,
            "name": name,
            "region_code": region_code,
            "credit_code": credit_code,
            "created_at": at,
        }
        return int(self._sql.insert(units, row).id)

    def get(self, unit_id: int) -> Unit | None:
        row = self._sql.one(_UNIT, {"id": unit_id})
        if row is None:
            return None
        secret, previous = row.webhook_secret_enc, row.webhook_previous_secret_enc
        until = row.webhook_previous_valid_until
        return Unit(
            id=row.id,
            code=row.code,
            name=row.name,
            region_code=row.region_code,
            credit_code=row.credit_code,
            webhook_url=row.webhook_url,
            webhook_secret=self._box.open_text(secret, b"webhook") if secret else None,
            webhook_previous_secret=self._box.open_text(previous, b"webhook") if previous else None,
            webhook_previous_valid_until=utc(until) if until else None,
            contact=row.contact,
            disabled_at=utc(row.disabled_at) if row.disabled_at else None,
            lookup_url=row.lookup_url,
            lookup_secret=(
                self._box.open_text(row.lookup_secret_enc, b"lookup")
                if row.lookup_secret_enc
                else None
            ),
        )

    def update_unit(self, unit_id: int, name: str, contact: str, region_code: str) -> None:
        params = {"b_id": unit_id, "name": name, "contact": contact, "region": region_code}
        self._sql.run(_UPDATE_UNIT, params)

    def set_unit_disabled(self, unit_id: int, at: datetime | None) -> None:
        """Disable the unit (`at`), or enable it again (None)."""
        self._sql.run(_DISABLE_UNIT, {"b_id": unit_id, "at": at})

    def set_webhook(self, unit_id: int, url: str, secret: str) -> None:
        sealed = self._box.seal_text(secret, b"webhook")
        self._sql.run(_SET_WEBHOOK, {"b_id": unit_id, "url": url, "secret": sealed})

    def set_lookup(self, unit_id: int, url: str, secret: str) -> None:
        """The business system's record-query URL and the secret both sides sign with."""
        sealed = self._box.seal_text(secret, b"lookup")
        self._sql.run(_SET_LOOKUP, {"b_id": unit_id, "url": url, "secret": sealed})

    def rotate_webhook_secret(
        self, unit_id: int, secret: str, previous: str, valid_until: datetime
    ) -> None:
        """A new signing secret; deliveries are signed with `previous` too until `valid_until`."""
        params = {
            "b_id": unit_id,
            "secret": self._box.seal_text(secret, b"webhook"),
            "previous": self._box.seal_text(previous, b"webhook"),
            "until": valid_until,
        }
        self._sql.run(_ROTATE_WEBHOOK, params)

    def add_client(
        self,
        app_id: str,
        kind: str,
        unit_id: int | None,
        secret: str,
        at: datetime,
        *,
        region_code: str | None = None,
    ) -> None:
        row = {
            "app_id": app_id,
            "kind": kind,
            "unit_id": unit_id,
            "region_code": region_code,
            "secret_enc": self._box.seal_text(secret, app_id.encode()),
            "active": True,
            "created_at": at,
        }
        self._sql.insert(api_clients, row)

    def client(self, app_id: str) -> ApiClient | None:
        row = self._sql.one(_CLIENT, {"app_id": app_id})
        return None if row is None else self._client(row)

    def clients(self) -> list[ApiClient]:
        """Every API credential (callers filter by scope)."""
        return [self._client(row) for row in self._sql.all(_CLIENTS)]

    def _client(self, row: Any) -> ApiClient:
        key = row.app_id.encode()
        previous = row.previous_secret_enc
        return ApiClient(
            app_id=row.app_id,
            kind=row.kind,
            unit_id=row.unit_id,
            secret=self._box.open_text(row.secret_enc, key),
            active=row.active,
            region_code=row.region_code,
            previous_secret=self._box.open_text(previous, key) if previous else None,
            previous_valid_until=utc(row.previous_valid_until)
            if row.previous_valid_until
            else None,
            created_at=utc(row.created_at),
            rotated_at=utc(row.rotated_at) if row.rotated_at else None,
            revoked_at=utc(row.revoked_at) if row.revoked_at else None,
            unit_disabled=row.unit_disabled_at is not None,
        )

    def rotate_secret(
        self, app_id: str, secret: str, previous: str, valid_until: datetime, at: datetime
    ) -> None:
        """A new secret; `previous` is still accepted until `valid_until`."""
        key = app_id.encode()
        params = {
            "b_app_id": app_id,
            "secret": self._box.seal_text(secret, key),
            "previous": self._box.seal_text(previous, key),
            "until": valid_until,
            "at": at,
        }
        self._sql.run(_ROTATE_SECRET, params)

    def revoke(self, app_id: str, at: datetime) -> None:
        """Refused from now on; the previous secret goes with it."""
        self._sql.run(_REVOKE, {"b_app_id": app_id, "at": at})

    # --- sites and windows --------------------------------------------------------------------

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
    ) -> int:
        row = {
            "code": code,
            "name": name,
            "kind": kind.value,
            "region_code": region_code,
            "unit_id": unit_id,
            "address": address,
            "active": True,
            "created_at": at,
        }
        return int(self._sql.insert(sites, row).id)

    def site(self, site_id: int) -> Site | None:
        row = self._sql.one(_SITE, {"id": site_id})
        return None if row is None else _site(row)

    def sites(self) -> list[Site]:
        """Every site (callers filter by scope)."""
        return [_site(row) for row in self._sql.all(_SITES)]

    def add_window(self, site_id: int, number: str, name: str = "") -> int:
        row = {"site_id": site_id, "number": number, "name": name, "active": True}
        return int(self._sql.insert(windows, row).id)

    def update_site(self, site_id: int, name: str, address: str, active: bool) -> None:
        params = {"b_id": site_id, "name": name, "address": address, "active": active}
        self._sql.run(_UPDATE_SITE, params)

    def update_window(self, window_id: int, name: str, active: bool) -> None:
        self._sql.run(_UPDATE_WINDOW, {"b_id": window_id, "name": name, "active": active})

    def window(self, window_id: int) -> Window | None:
        row = self._sql.one(_WINDOW, {"id": window_id})
        return None if row is None else _window(row)

    def windows(self, site_id: int) -> list[Window]:
        return [_window(row) for row in self._sql.all(_WINDOWS, {"site_id": site_id})]

    def prune_nonces(self, before: datetime) -> int:
        return self._sql.run(_PRUNE_NONCES, {"before": before})


def _site(row: Any) -> Site:
    return Site(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=SiteKind(row.kind),
        region_code=row.region_code,
        unit_id=row.unit_id,
        address=row.address,
        active=bool(row.active),
    )


def _window(row: Any) -> Window:
    return Window(row.id, row.site_id, row.number, row.name, bool(row.active))
