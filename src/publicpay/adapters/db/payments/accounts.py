"""Channel accounts (merchant ids, app ids, keys, gateway URLs) per scope, encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.payments.tables import channel_accounts
from publicpay.adapters.db.sql import Sql
from publicpay.adapters.db.units import regions, units
from publicpay.domain.payments.accounts import PLATFORM


@dataclass(frozen=True, slots=True)
class StoredAccount:
    id: int
    channel: str
    scope: str
    config: dict[str, Any]


_UPDATE = (
    update(channel_accounts)
    .where(
        channel_accounts.c.channel == bindparam("b_channel"),
        channel_accounts.c.scope == bindparam("b_scope"),
    )
    .values(
        config_enc=bindparam("config_enc"),
        active=True,
        updated_at=bindparam("updated_at"),
        updated_by=bindparam("updated_by"),
    )
)
_ACTIVE = (
    select(channel_accounts)
    .where(channel_accounts.c.active.is_(True))
    .order_by(channel_accounts.c.id)
)
_UNIT_REGIONS = select(units.c.id, units.c.code, units.c.region_code)
_REGION = select(regions.c.code).where(regions.c.code == bindparam("code"))


class ChannelAccountsRepository:
    """Every statement runs at once (accounts are edited rarely and reloaded after)."""

    def __init__(self, sql: Sql, box: SecretBox) -> None:
        self._sql = sql
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
        values = {"config_enc": sealed, "updated_at": at, "updated_by": actor}
        row = {"channel": channel, "scope": scope, "active": True, **values}
        if self._sql.insert(channel_accounts, row, ignore_conflict=True) is None:
            self._sql.run(_UPDATE, {"b_channel": channel, "b_scope": scope, **values})

    def accounts(self) -> list[StoredAccount]:
        """Every active account, decrypted."""
        return [
            StoredAccount(
                row.id,
                row.channel,
                row.scope,
                json.loads(self._box.open(row.config_enc, f"{row.channel}|{row.scope}".encode())),
            )
            for row in self._sql.all(_ACTIVE)
        ]

    def all(self) -> dict[str, dict[str, Any]]:
        """The platform default account of each channel."""
        return {a.channel: a.config for a in self.accounts() if a.scope == PLATFORM}

    def unit_regions(self) -> dict[int, tuple[str, str]]:
        """unit id → (unit code, region code), for choosing an account per unit."""
        return {row.id: (row.code, row.region_code) for row in self._sql.all(_UNIT_REGIONS)}

    def region_exists(self, code: str) -> bool:
        return self._sql.one(_REGION, {"code": code}) is not None
