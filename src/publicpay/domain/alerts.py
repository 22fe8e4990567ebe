"""Supervision alerts (监管预警, spec M3): what a detector finds, and an alert's life.

A detector looks at the data and returns `Finding`s, each with a stable key (the order, payable,
unit or device it is about). Scanning keeps one alert per (kind, key): a new finding opens it, a
finding no longer made resolves it by itself, a finding made again after it was resolved opens
it again. A person acknowledges an open alert with a note (确认处理); it stays listed until the
cause is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from publicpay.domain.errors import ValidationFailed

MAX_NOTE = 500


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    AlertStatus.OPEN: "待处理",
    AlertStatus.ACKNOWLEDGED: "已确认",
    AlertStatus.RESOLVED: "已消除",
}


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return "严重" if self is Severity.CRITICAL else "提醒"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector found: `key` is stable while the cause lasts."""

    key: str
    summary: str  # Chinese, one line: what is wrong with what
    link: str  # the console page of the rows concerned
    region_code: str  # whose region sees it
    unit_id: int | None = None  # and which unit, when it is a unit's


def acknowledgement_note(note: str) -> str:
    """The note of an acknowledgement: required, one paragraph, at most 500 characters."""
    text = note.strip()
    if not text:
        raise ValidationFailed("请填写处理说明", errors={"note": ""})
    if len(text) > MAX_NOTE or any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValidationFailed(f"处理说明最多{MAX_NOTE}字，且不能含控制字符", errors={"note": ""})
    return text
