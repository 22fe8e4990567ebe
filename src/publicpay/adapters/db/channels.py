"""Channel accounts (merchant ids, app ids, keys, gateway URLs), encrypted at rest."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.dialect import insert_ignore
from publicpay.adapters.db.tables import channel_accounts


class ChannelAccountsRepository:
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self._conn = conn
        self._box = box

    def save(self, channel: str, config: dict[str, Any], at: datetime) -> None:
        sealed = self._box.seal(json.dumps(config).encode(), channel.encode())
        values = {"channel": channel, "config_enc": sealed, "updated_at": at}
        if not insert_ignore(self._conn, channel_accounts, values):
            self._conn.execute(
                update(channel_accounts)
                .where(channel_accounts.c.channel == channel)
                .values(config_enc=sealed, updated_at=at)
            )

    def all(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for row in self._conn.execute(select(channel_accounts)):
            result[row.channel] = json.loads(self._box.open(row.config_enc, row.channel.encode()))
        return result
