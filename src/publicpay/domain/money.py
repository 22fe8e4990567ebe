"""Money as integer fen (分). Yuan strings appear only at channel edges and on screens."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_YUAN = re.compile(r"^(-?)(\d{1,15})(?:\.(\d{1,2}))?$")


class InvalidAmount(ValueError):
    """A yuan string that is not an exact amount of fen."""


@dataclass(frozen=True, order=True, slots=True)
class Money:
    fen: int

    def __post_init__(self) -> None:
        if not isinstance(self.fen, int) or isinstance(self.fen, bool):
            raise TypeError("Money is integer fen")

    @classmethod
    def from_yuan(cls, text: str) -> Money:
        """Parse '120.5' or '120.50' exactly; anything finer than a fen is refused."""
        match = _YUAN.match(text.strip())
        if match is None:
            raise InvalidAmount(text)
        sign, whole, frac = match.groups()
        fen = int(whole) * 100 + int((frac or "").ljust(2, "0") or "0")
        return cls(-fen if sign else fen)

    def to_yuan(self) -> str:
        """'123.45' with exactly two decimals (channel wire format)."""
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{frac:02d}"

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split exactly by integer weights (largest remainder; ties go to the later share)."""
        return [Money(f) for f in allocate_fen(self.fen, weights)]


def allocate_fen(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` fen by non-negative integer weights so the parts sum to `total` exactly.

    Remainder fen go to the largest fractional parts; ties favour the later (lower budget level)
    share, matching the rule "remainder to the lowest level".
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    weight_sum = sum(weights)
    base = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (remainders[i], i), reverse=True)
    for i in order[:left]:
        base[i] += 1
    return base


def format_yuan(fen: int) -> str:
    """'¥1,409.50' for screens."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{frac:02d}"
