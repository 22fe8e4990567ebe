"""Bank-card payments at a window's POS terminal (银行卡, card present), channel-neutral: what
the platform asks of the acquirer's terminal host and what it gets back (the wire protocol is in
`adapters/channels/card_terminal.py`, documented in docs/card-terminal.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CardState(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"  # refused by the issuer or the terminal (balance, PIN, unreadable …)
    VOIDED = "voided"  # approved, then voided the same day (撤销)
    NOT_FOUND = "not_found"  # the host never saw the sale (safe to start another)


@dataclass(frozen=True, slots=True)
class CardSaleRequest:
    terminal_id: str  # TID, 8 digits: the window's POS terminal at the acquirer
    order_no: str  # our order number, the sale's reference (out_order_no)
    amount_fen: int


@dataclass(frozen=True, slots=True)
class CardResult:
    order_no: str
    state: CardState
    resp_code: str  # ISO 8583 field 39 as China UnionPay uses it: 00 approved, 51, 55 …
    message: str
    amount_fen: int | None = None
    merchant_id: str = ""  # MID, 15 digits
    terminal_id: str = ""
    rrn: str = ""  # retrieval reference number (参考号), 12 digits
    auth_code: str = ""  # 授权码, 6 digits
    trace_no: str = ""  # 凭证号
    batch_no: str = ""  # 批次号
    card_no: str = ""  # masked PAN: 622202*********0123
    entry_mode: str = ""  # tap | insert | swipe
    paid_at: datetime | None = None  # UTC
    raw: dict[str, Any] = field(default_factory=dict)

    def facts(self) -> dict[str, str]:
        """What the platform keeps of an approved sale (printed on the slip, shown, reconciled)."""
        return {
            "merchant_id": self.merchant_id,
            "terminal_id": self.terminal_id,
            "rrn": self.rrn,
            "auth_code": self.auth_code,
            "trace_no": self.trace_no,
            "batch_no": self.batch_no,
            "card_no": self.card_no,
            "entry_mode": self.entry_mode,
        }


ENTRY_LABELS = {"tap": "挥卡", "insert": "插卡", "swipe": "刷卡"}
