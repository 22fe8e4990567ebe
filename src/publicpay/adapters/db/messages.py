"""Payer messages (N3): their table and repository. `add` is queued (a message goes out with
its registration or payment); everything else runs at once. Recipients are stored masked only:
the phone number stays encrypted on the payable and is opened for the sender alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.leases import Leases
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.adapters.db.units import units
from publicpay.domain.messages import (
    DueMessage,
    MessageChannel,
    MessageFacts,
    MessageKind,
    MessageStatus,
    PayerCode,
    SentMessage,
)
from publicpay.domain.time import utc

payer_messages = Table(
    "payer_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # the payable and unit of the event told of, written with it (no foreign keys: 0027;
    # `publicpay check` proves both)
    Column("payable_id", Id, nullable=False, index=True),
    Column("unit_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # domain.messages.MessageKind
    Column("status", String(16), nullable=False),  # domain.messages.MessageStatus
    Column("channel", String(8), nullable=True),  # set when sent: sms | app
    Column("recipient_masked", String(32), nullable=True),
    Column("text", Text, nullable=True),  # what was sent
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Ts, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("sent_at", Ts, nullable=True),
    Index("ix_payer_messages_status_next", "status", "next_attempt_at"),
)

_DUE = Leases(
    payer_messages,
    (payer_messages.c.status == MessageStatus.PENDING.value)
    & (payer_messages.c.next_attempt_at <= bindparam("now")),
    (payer_messages.c.id,),
)
_FACTS = (
    select(
        payer_messages.c.id,
        units.c.name.label("unit_name"),
        payables.c.payment_code,
        payables.c.amount_fen,
        payables.c.payer_phone_enc,
        payables.c.payer_id_masked,
        payable_lines.c.item_name,
    )
    .join(payables, payables.c.id == payer_messages.c.payable_id)
    .join(units, units.c.id == payer_messages.c.unit_id)
    .join(payable_lines, payable_lines.c.payable_id == payables.c.id)
    .where(payer_messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(payer_messages.c.id, payable_lines.c.line_no)
)
_SENT = (
    update(payer_messages)
    .where(payer_messages.c.id == bindparam("b_id"))
    .values(
        status=MessageStatus.SENT.value,
        channel=bindparam("channel"),
        recipient_masked=bindparam("recipient"),
        text=bindparam("text"),
        sent_at=bindparam("at"),
        next_attempt_at=None,
        last_error=None,
    )
)
_RETRY = (
    update(payer_messages)
    .where(payer_messages.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("at"),
        last_error=bindparam("error"),
    )
)
_RECENT_COLUMNS = (*payer_messages.c, payables.c.payment_code)
_RECENT = (
    select(*_RECENT_COLUMNS)
    .join(payables, payables.c.id == payer_messages.c.payable_id)
    .order_by(payer_messages.c.id.desc())
    .limit(bindparam("limit"))
)
_RECENT_OF_UNITS = (
    select(*_RECENT_COLUMNS)
    .join(payables, payables.c.id == payer_messages.c.payable_id)
    .where(payer_messages.c.unit_id.in_(bindparam("unit_ids", expanding=True)))
    .order_by(payer_messages.c.id.desc())
    .limit(bindparam("limit"))
)


# One-time codes a payer proves an ID number with (history in the portal), sent as a message.
payer_codes = Table(
    "payer_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("id_hash", String(64), nullable=False, index=True),  # keyed hash of the ID number
    Column("code_hash", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),
    Column("used_at", Ts, nullable=True),
)

_PAYER_REACHABLE = (
    select(payables.c.id)
    .where(
        payables.c.payer_id_hash == bindparam("id_hash"),
        payables.c.payer_phone_hash == bindparam("phone_hash"),
    )
    .limit(1)
)
_CODES_SINCE = select(func.count()).where(
    payer_codes.c.id_hash == bindparam("id_hash"),
    payer_codes.c.created_at >= bindparam("since"),
)
_LATEST_CODE = (
    select(payer_codes)
    .where(payer_codes.c.id_hash == bindparam("id_hash"))
    .order_by(payer_codes.c.id.desc())
    .limit(1)
    .with_for_update()
)
_SAVE_CODE = (
    update(payer_codes)
    .where(payer_codes.c.id == bindparam("b_id"))
    .values(attempts=bindparam("attempts"), used_at=bindparam("used_at"))
)


class PayerCodesMixin:
    """One-time codes of the portal's history (`payer_codes`); every method runs at once."""

    _sql: Sql

    def payer_reachable(self, id_hash: str, phone_hash: str) -> bool:
        """Some payable of this ID number was registered with this phone number."""
        params = {"id_hash": id_hash, "phone_hash": phone_hash}
        return self._sql.one(_PAYER_REACHABLE, params) is not None

    def payer_codes_since(self, id_hash: str, since: datetime) -> int:
        return int(self._sql.scalar(_CODES_SINCE, {"id_hash": id_hash, "since": since}) or 0)

    def add_payer_code(self, code: PayerCode) -> None:
        row = {
            "id_hash": code.id_hash,
            "code_hash": code.code_hash,
            "attempts": code.attempts,
            "created_at": code.created_at,
            "expires_at": code.expires_at,
            "used_at": code.used_at,
        }
        self._sql.insert(payer_codes, row)

    def latest_payer_code(self, id_hash: str) -> PayerCode | None:
        """The newest code asked for this ID number, locked."""
        row = self._sql.one(_LATEST_CODE, {"id_hash": id_hash})
        if row is None:
            return None
        return PayerCode(
            id=row.id,
            id_hash=row.id_hash,
            code_hash=row.code_hash,
            attempts=row.attempts,
            created_at=utc(row.created_at),
            expires_at=utc(row.expires_at),
            used_at=utc(row.used_at) if row.used_at else None,
        )

    def save_payer_code(self, code: PayerCode) -> None:
        params = {"b_id": code.id, "attempts": code.attempts, "used_at": code.used_at}
        self._sql.run(_SAVE_CODE, params)


class MessagesRepository(PayerCodesMixin):
    def __init__(self, sql: Sql, box: SecretBox) -> None:
        self._sql = sql
        self._box = box

    def add(self, payable_id: int, unit_id: int, kind: MessageKind, at: datetime) -> None:
        row = {
            "payable_id": payable_id,
            "unit_id": unit_id,
            "kind": kind.value,
            "status": MessageStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        self._sql.queue(Insert(payer_messages, (row,)))

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueMessage]:
        rows = _DUE.claim(self._sql, now, limit, lease)
        if not rows:
            return []
        facts: dict[int, Any] = {}
        for row in self._sql.all(_FACTS, {"ids": [r.id for r in rows]}):
            facts.setdefault(row.id, row)  # the first line names the message's item
        return [self._due(r, facts[r.id]) for r in rows if r.id in facts]

    def _due(self, row: Any, fact: Any) -> DueMessage:
        phone = (
            self._box.open_text(fact.payer_phone_enc, b"phone") if fact.payer_phone_enc else None
        )
        return DueMessage(
            id=row.id,
            kind=MessageKind(row.kind),
            attempts=row.attempts,
            facts_without_link=MessageFacts(
                kind=MessageKind(row.kind),
                unit_name=fact.unit_name,
                payment_code=fact.payment_code,
                amount_fen=fact.amount_fen,
                item_name=fact.item_name,
                link="",
            ),
            phone=phone,
            payer_id_masked=fact.payer_id_masked,
        )

    def mark_sent(
        self, message_id: int, channel: MessageChannel, recipient_masked: str, text: str,
        at: datetime,
    ) -> None:  # fmt: skip
        params = {"b_id": message_id, "channel": channel.value, "recipient": recipient_masked}
        self._sql.run(_SENT, {**params, "text": text, "at": at})

    def retry(self, message_id: int, at: datetime, error: str, *, give_up: bool) -> None:
        status = MessageStatus.FAILED if give_up else MessageStatus.PENDING
        params = {"b_id": message_id, "status": status.value, "at": None if give_up else at}
        self._sql.run(_RETRY, {**params, "error": error[:200]})

    def recent(self, unit_ids: frozenset[int] | None, limit: int) -> list[SentMessage]:
        if unit_ids is None:
            rows = self._sql.all(_RECENT, {"limit": limit})
        else:
            rows = self._sql.all(_RECENT_OF_UNITS, {"unit_ids": sorted(unit_ids), "limit": limit})
        return [_sent(row) for row in rows]


def _sent(row: Any) -> SentMessage:
    return SentMessage(
        id=row.id,
        unit_id=row.unit_id,
        payment_code=row.payment_code,
        kind=MessageKind(row.kind),
        status=MessageStatus(row.status),
        channel=MessageChannel(row.channel) if row.channel else None,
        recipient_masked=row.recipient_masked or "",
        text=row.text or "",
        attempts=row.attempts,
        created_at=utc(row.created_at),
        sent_at=utc(row.sent_at) if row.sent_at else None,
        last_error=row.last_error,
    )
