"""In-memory payer messages (N3): `add` is queued, like the real repository's."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from publicpay.domain.messages import (
    DueMessage,
    MessageChannel,
    MessageFacts,
    MessageKind,
    MessageStatus,
    PayerCode,
    SentMessage,
)
from publicpay.services.ports import Box
from tests.fakes.database import FakeDatabase

MESSAGES = "payer_messages"


class FakeMessages:
    def __init__(self, db: FakeDatabase, box: Box) -> None:
        self._db = db
        self._box = box

    def add(self, payable_id: int, unit_id: int, kind: MessageKind, at: datetime) -> None:
        self._db.queue(MESSAGES)
        row = SentMessage(
            id=self._db.next_id(MESSAGES),
            unit_id=unit_id,
            payment_code=str(payable_id),  # resolved from the payable when claimed
            kind=kind,
            status=MessageStatus.PENDING,
            channel=None,
            recipient_masked="",
            text="",
            attempts=0,
            created_at=at,
            sent_at=None,
            last_error=None,
        )
        self._db.tables.payer_messages[row.id] = (payable_id, row, at)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueMessage]:
        self._db.read(MESSAGES)
        due: list[DueMessage] = []
        for message_id, (payable_id, row, next_at) in sorted(
            self._db.tables.payer_messages.items()
        ):
            if row.status is not MessageStatus.PENDING or next_at > now or len(due) >= limit:
                continue
            payable = self._db.tables.payables[payable_id]
            unit = self._db.tables.units[row.unit_id]
            facts = MessageFacts(
                row.kind,
                unit.name,
                payable.payable.payment_code,
                payable.payable.amount_fen,
                payable.payable.lines[0].item_name,
                "",
            )
            enc = payable.payer_phone_enc
            phone = self._box.open_text(enc, b"phone") if enc else None
            due.append(
                DueMessage(message_id, row.kind, row.attempts, facts, phone,
                           payable.payable.payer_id_masked)
            )  # fmt: skip
            leased = replace(row, attempts=row.attempts + 1)
            self._db.tables.payer_messages[message_id] = (payable_id, leased, now + lease)
        return due

    def mark_sent(
        self, message_id: int, channel: MessageChannel, recipient_masked: str, text: str,
        at: datetime,
    ) -> None:  # fmt: skip
        self._db.read(MESSAGES)
        payable_id, row, _ = self._db.tables.payer_messages[message_id]
        sent = replace(
            row, status=MessageStatus.SENT, channel=channel, recipient_masked=recipient_masked,
            text=text, sent_at=at, last_error=None,
        )  # fmt: skip
        self._db.tables.payer_messages[message_id] = (payable_id, sent, at)

    def retry(self, message_id: int, at: datetime, error: str, *, give_up: bool) -> None:
        self._db.read(MESSAGES)
        payable_id, row, _ = self._db.tables.payer_messages[message_id]
        status = MessageStatus.FAILED if give_up else MessageStatus.PENDING
        retried = replace(row, status=status, last_error=error[:200])
        self._db.tables.payer_messages[message_id] = (payable_id, retried, at)

    def recent(self, unit_ids: frozenset[int] | None, limit: int) -> list[SentMessage]:
        self._db.read(MESSAGES)
        rows = [row for _, row, _ in self._db.tables.payer_messages.values()]
        rows = [r for r in rows if unit_ids is None or r.unit_id in unit_ids]
        return sorted(rows, key=lambda r: r.id, reverse=True)[:limit]

    # one-time codes of the portal's history

    def payer_reachable(self, id_hash: str, phone_hash: str) -> bool:
        self._db.read("payables")
        return any(
            row.payer_id_hash == id_hash and row.payer_phone_hash == phone_hash
            for row in self._db.tables.payables.values()
        )

    def payer_codes_since(self, id_hash: str, since: datetime) -> int:
        codes = self._db.tables.payer_codes.values()
        return sum(1 for c in codes if c.id_hash == id_hash and c.created_at >= since)

    def add_payer_code(self, code: PayerCode) -> None:
        stored = replace(code, id=self._db.next_id("payer_codes"))
        self._db.tables.payer_codes[stored.id] = stored

    def latest_payer_code(self, id_hash: str) -> PayerCode | None:
        codes = [c for c in self._db.tables.payer_codes.values() if c.id_hash == id_hash]
        return replace(max(codes, key=lambda c: c.id)) if codes else None

    def save_payer_code(self, code: PayerCode) -> None:
        self._db.tables.payer_codes[code.id] = replace(code)
