"""Fee catalogue (非税收入项目): items, standards with history, budget-level split, destination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from publicpay.domain.errors import ValidationFailed


class Category(StrEnum):
    ADMIN_FEE = "admin_fee"
    FINE = "fine"
    STATE_RESOURCE = "state_resource"
    STATE_CAPITAL = "state_capital"
    GOV_FUND = "gov_fund"
    SPECIAL = "special"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.ADMIN_FEE: "行政事业性收费",
    Category.FINE: "罚没收入",
    Category.STATE_RESOURCE: "国有资源(资产)有偿使用收入",
    Category.STATE_CAPITAL: "国有资本经营收入",
    Category.GOV_FUND: "政府性基金收入",
    Category.SPECIAL: "专项收入",
    Category.OTHER: "其他收入",
}


class Destination(StrEnum):
    TREASURY = "treasury"  # 国库
    SPECIAL_ACCOUNT = "special_account"  # 财政专户


class BudgetLevel(StrEnum):
    """Budget levels from the highest to the lowest (the order matters for remainders)."""

    CENTRAL = "central"
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class StandardKind(StrEnum):
    FIXED = "fixed"  # amount per unit of measure
    RANGE = "range"  # the unit sets the amount within [min, max]
    DECISION = "decision"  # set by a decision (fines), up to an optional max


@dataclass(frozen=True, slots=True)
class LevelShare:
    level: BudgetLevel
    weight: int = 0  # ratio weight among the non-fixed shares
    fixed_fen: int | None = None  # a fixed amount per payment (e.g. 中央定额)


@dataclass(frozen=True, slots=True)
class Split:
    """How a payment of this item is shared between budget levels (分成)."""

    shares: tuple[LevelShare, ...]

    def apply(self, amount_fen: int) -> dict[BudgetLevel, int]:
        """Fixed shares first, then by weight in whole fen; the remainder to the lowest level."""
        result: dict[BudgetLevel, int] = {}
        rest = amount_fen
        for share in self.shares:
            if share.fixed_fen is not None:
                fixed = min(share.fixed_fen, rest)
                result[share.level] = fixed
                rest -= fixed
        weighted = [s for s in self.shares if s.fixed_fen is None]
        total_weight = sum(s.weight for s in weighted)
        if not weighted or total_weight == 0:
            if rest:
                last = self.shares[-1].level
                result[last] = result.get(last, 0) + rest
            return result
        ordered = sorted(weighted, key=lambda s: list(BudgetLevel).index(s.level))
        allotted = 0
        for share in ordered[:-1]:
            part = rest * share.weight // total_weight
            result[share.level] = part
            allotted += part
        result[ordered[-1].level] = rest - allotted
        return result


def single_level(level: BudgetLevel) -> Split:
    return Split((LevelShare(level, weight=1),))


@dataclass(frozen=True, slots=True)
class Standard:
    kind: StandardKind
    valid_from: date
    valid_to: date | None = None  # inclusive; None = still in force
    amount_fen: int | None = None  # FIXED
    min_fen: int | None = None  # RANGE
    max_fen: int | None = None  # RANGE / DECISION cap
    basis: str = ""  # 文件依据

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class FeeItem:
    code: str
    name: str
    category: Category
    budget_subject: str  # 政府收支分类科目
    destination: Destination
    unit_of_measure: str
    split: Split
    standards: tuple[Standard, ...]
    legal_basis: str = ""
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def is_fine(self) -> bool:
        return self.category is Category.FINE

    def standard_on(self, day: date) -> Standard:
        for standard in self.standards:
            if standard.covers(day):
                return standard
        raise ValidationFailed(f"项目 {self.code}「{self.name}」在 {day} 没有有效的收费标准")

    def price(self, quantity: int, amount_fen: int | None, day: date) -> tuple[int, int]:
        """(standard_fen, line amount_fen) for a line of this item on the business date."""
        if quantity < 1:
            raise ValidationFailed("数量必须为正整数")
        standard = self.standard_on(day)
        if standard.kind is StandardKind.FIXED:
            assert standard.amount_fen is not None
            expected = standard.amount_fen * quantity
            if amount_fen is not None and amount_fen != expected:
                raise ValidationFailed(
                    f"项目「{self.name}」金额应为 {expected} 分"
                    f"（标准 {standard.amount_fen} 分 × {quantity}）"
                )
            return standard.amount_fen, expected
        if amount_fen is None:
            raise ValidationFailed(f"项目「{self.name}」须填写金额 amount_fen")
        low = (standard.min_fen or 0) * quantity if standard.kind is StandardKind.RANGE else 1
        high = standard.max_fen * quantity if standard.max_fen is not None else None
        if amount_fen < max(low, 1) or (high is not None and amount_fen > high):
            bounds = f"{low}–{high if high is not None else '不限'}"
            raise ValidationFailed(
                f"项目「{self.name}」金额 {amount_fen} 分超出标准范围 {bounds} 分"
            )
        return amount_fen // quantity, amount_fen
