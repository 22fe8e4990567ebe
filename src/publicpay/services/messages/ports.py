"""Ports of payer messages, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from publicpay.domain.messages import (
    DueMessage,
    MessageChannel,
    MessageKind,
    OutgoingMessage,
    PayerCode,
    SentMessage,
)


class MessagesRepo(Protocol):
    def add(self, payable_id: int, unit_id: int, kind: MessageKind, at: datetime) -> None:
        """Generate a message of the payable (queued: it goes out with its event)."""
        ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueMessage]: ...

    def mark_sent(
        self, message_id: int, channel: MessageChannel, recipient_masked: str, text: str,
        at: datetime,
    ) -> None: ...  # fmt: skip

    def retry(self, message_id: int, at: datetime, error: str, *, give_up: bool) -> None: ...

    def recent(self, unit_ids: frozenset[int] | None, limit: int) -> list[SentMessage]:
        """The newest messages of these units (None: every unit)."""
        ...

    # one-time codes of the portal's history (payer_codes); these run at once

    def payer_reachable(self, id_hash: str, phone_hash: str) -> bool:
        """Some payable of this ID number (keyed hash) was registered with this phone."""
        ...

    def payer_codes_since(self, id_hash: str, since: datetime) -> int: ...

    def add_payer_code(self, code: PayerCode) -> None: ...

    def latest_payer_code(self, id_hash: str) -> PayerCode | None:
        """The newest code asked for this ID number, locked."""
        ...

    def save_payer_code(self, code: PayerCode) -> None: ...


class MessageSender(Protocol):
    """Delivers one message (SMS gateway, app push, the demo's log); raises on failure."""

    def send(self, message: OutgoingMessage) -> None: ...
