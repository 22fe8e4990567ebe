"""Channel accounts (merchant ids, app ids, keys, gateway URLs) per scope, encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.dialect import insert_ignore
from publicpay.adapters.db.payments.tables import channel_accounts
from publicpay.adapters.db.units import regions, units
from publicpay.domain.payments.accounts import PLATFORM


@dataclass(frozen=True, slots=True)
class StoredAccount:
    id: int
    channel: str
    scope: str
    config: dict[str, Any]


class ChannelAccountsRepository:
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self._conn = conn
        self._box = box

    def save(
        self,
        channel: str,
        config: dict[str, Any],
        at: datetime,
        *,
        scope: str = PLATFORM,
        actor: str = "system",
    ) -> None:
        sealed = self._box.seal(json.dumps(config).encode(), f"{channel}|{scope}".encode())
        values = {
            "channel": channel,
            "scope": scope,
            "config_enc": sealed,
            "active": True,
            "updated_at": at,
            "updated_by": actor,
        }
        if not insert_ignore(self._conn, channel_accounts, values):
            self._conn.execute(
                update(channel_accounts)
                .where(channel_accounts.c.channel == channel, channel_accounts.c.scope == scope)
                .values(config_enc=sealed, active=True, updated_at=at, updated_by=actor)
            )

    def accounts(self) -> list[StoredAccount]:
        """Every active account, decrypted."""
        stmt = select(channel_accounts).where(channel_accounts.c.active.is_(True))
        return [
            StoredAccount(
                row.id,
                row.channel,
                row.scope,
                json.loads(self._box.open(row.config_enc, f"{row.channel}|{row.scope}".encode())),
            )
            for row in self._conn.execute(stmt.order_by(channel_accounts.c.id))
        ]

    def all(self) -> dict[str, dict[str, Any]]:
        """The platform default account of each channel."""
        return {a.channel: a.config for a in self.accounts() if a.scope == PLATFORM}

    def unit_regions(self) -> dict[int, tuple[str, str]]:
        """unit id → (unit code, region code), for choosing an account per unit."""
        stmt = select(units.c.id, units.c.code, units.c.region_code)
        return {row.id: (row.code, row.region_code) for row in self._conn.execute(stmt)}

    def region_exists(self, code: str) -> bool:
        stmt = select(regions.c.code).where(regions.c.code == code)
        return self._conn.execute(stmt).first() is not None
