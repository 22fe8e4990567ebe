"""Units (执收单位), their API clients and request nonces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.dialect import insert_ignore
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.domain.time import utc
from publicpay.domain.units import ApiClient, Unit

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


class UnitsRepository:
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self._conn = conn
        self._box = box

    def add_region(self, code: str, name: str, parent_code: str | None) -> None:
        self._conn.execute(insert(regions).values(code=code, name=name, parent_code=parent_code))

    def add(self, code: str, name: str, region_code: str, credit_code: str, at: datetime) -> int:
        result = self._conn.execute(
            insert(units).values(
                code=code,
                name=name,
                region_code=region_code,
                credit_code=credit_code,
                created_at=at,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def get(self, unit_id: int) -> Unit | None:
        row = self._conn.execute(select(units).where(units.c.id == unit_id)).first()
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
        )

    def set_webhook(self, unit_id: int, url: str, secret: str) -> None:
        self._conn.execute(
            update(units)
            .where(units.c.id == unit_id)
            .values(
                webhook_url=url,
                webhook_secret_enc=self._box.seal_text(secret, b"webhook"),
                webhook_previous_secret_enc=None,
                webhook_previous_valid_until=None,
            )
        )

    def rotate_webhook_secret(
        self, unit_id: int, secret: str, previous: str, valid_until: datetime
    ) -> None:
        """A new signing secret; deliveries are signed with `previous` too until `valid_until`."""
        self._conn.execute(
            update(units)
            .where(units.c.id == unit_id)
            .values(
                webhook_secret_enc=self._box.seal_text(secret, b"webhook"),
                webhook_previous_secret_enc=self._box.seal_text(previous, b"webhook"),
                webhook_previous_valid_until=valid_until,
            )
        )

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
        self._conn.execute(
            insert(api_clients).values(
                app_id=app_id,
                kind=kind,
                unit_id=unit_id,
                region_code=region_code,
                secret_enc=self._box.seal_text(secret, app_id.encode()),
                active=True,
                created_at=at,
            )
        )

    def client(self, app_id: str) -> ApiClient | None:
        row = self._conn.execute(select(api_clients).where(api_clients.c.app_id == app_id)).first()
        return None if row is None else self._client(row)

    def clients(self) -> list[ApiClient]:
        """Every API credential (callers filter by scope)."""
        rows = self._conn.execute(select(api_clients).order_by(api_clients.c.app_id))
        return [self._client(row) for row in rows]

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
        )

    def rotate_secret(
        self, app_id: str, secret: str, previous: str, valid_until: datetime, at: datetime
    ) -> None:
        """A new secret; `previous` is still accepted until `valid_until`."""
        key = app_id.encode()
        self._conn.execute(
            update(api_clients)
            .where(api_clients.c.app_id == app_id)
            .values(
                secret_enc=self._box.seal_text(secret, key),
                previous_secret_enc=self._box.seal_text(previous, key),
                previous_valid_until=valid_until,
                rotated_at=at,
            )
        )

    def revoke(self, app_id: str, at: datetime) -> None:
        """Refused from now on; the previous secret goes with it."""
        self._conn.execute(
            update(api_clients)
            .where(api_clients.c.app_id == app_id)
            .values(
                active=False, revoked_at=at, previous_secret_enc=None, previous_valid_until=None
            )
        )

    def remember_nonce(self, app_id: str, nonce: str, at: datetime) -> bool:
        """False when the nonce was already used by this client (a replay)."""
        return insert_ignore(
            self._conn, request_nonces, {"app_id": app_id, "nonce": nonce, "seen_at": at}
        )

    def prune_nonces(self, before: datetime) -> int:
        result = self._conn.execute(delete(request_nonces).where(request_nonces.c.seen_at < before))
        return int(result.rowcount)
