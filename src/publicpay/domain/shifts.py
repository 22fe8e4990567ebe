"""Cashier shifts (收费员班次, spec W2): a cashier works a numbered window from opening (with a
float of change) to closing; every payment taken at that window meanwhile belongs to the shift.

One shift at a time per window and per cashier. Closing, counted cash, differences and their
confirmation, and deposit slips build on this (the cash office)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, InvalidTransition, ValidationFailed


class ShiftStatus(StrEnum):
    OPEN = "open"  # taking payments
    CLOSED = "closed"  # closed by the cashier


SHIFT_STATUS_LABELS = {ShiftStatus.OPEN: "当班", ShiftStatus.CLOSED: "已结班"}
MAX_FLOAT_FEN = 10_000_00  # 10,000 yuan of change in a drawer at most


class ShiftRequired(Conflict):
    """A payment at a window needs the window's shift to be open."""

    code = "shift_required"
    title = "窗口未开班"


@dataclass(slots=True)
class Shift:
    id: int
    window_id: int
    site_id: int
    unit_id: int | None
    cashier_id: int  # the console user
    cashier: str  # their username, as shown and audited
    opening_float_fen: int
    opened_at: datetime
    status: ShiftStatus = ShiftStatus.OPEN
    closed_at: datetime | None = None

    def close(self, *, at: datetime) -> None:
        if self.status is not ShiftStatus.OPEN:
            raise InvalidTransition("该班次已结班，不能重复结班")
        self.status = ShiftStatus.CLOSED
        self.closed_at = at


def check_float(opening_float_fen: int) -> None:
    if not 0 <= opening_float_fen <= MAX_FLOAT_FEN:
        raise ValidationFailed(
            "备用金应在 0 至 10000.00 元之间", errors={"opening_float_fen": "超出范围"}
        )
