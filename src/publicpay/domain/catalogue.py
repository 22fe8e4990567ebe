"""Fee catalogue (非税收入项目): items, standards with history, budget-level split, destination."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

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

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for 中央 … 3 for 区县: a higher rank is a lower level."""
        return _LEVEL_ORDER.index(self)


_LEVEL_LABELS = {
    BudgetLevel.CENTRAL: "中央",
    BudgetLevel.PROVINCE: "省",
    BudgetLevel.CITY: "市",
    BudgetLevel.COUNTY: "区县",
}
_LEVEL_ORDER = tuple(BudgetLevel)


class StandardKind(StrEnum):
    FIXED = "fixed"  # amount per unit of measure
    RANGE = "range"  # the unit sets the amount within [min, max]
    DECISION = "decision"  # set by a decision (fines), up to an optional max


class InvalidSplit(ValidationFailed):
    title = "预算级次分成配置无效"


class StandardOverlap(ValidationFailed):
    """A standard whose dates overlap another of the item's (the API answers 409)."""

    code = "standard_overlap"
    title = "收费标准有效期重叠"


@dataclass(frozen=True, slots=True)
class LevelShare:
    """One level of a split: either a ratio weight or a fixed amount per payment, never both."""

    level: BudgetLevel
    weight: int = 0  # ratio weight among the non-fixed shares
    fixed_fen: int | None = None  # a fixed amount per payment (e.g. 中央定额)


def split_problems(shares: Sequence[LevelShare]) -> dict[str, str]:
    """Every reason a split configuration is refused, per field (Chinese); empty when valid.

    Valid: at least one share; each level at most once; a share is a fixed amount (whole
    positive fen, weight 0) or a ratio (positive whole weight); at least one ratio share takes
    what the fixed amounts leave (a split of fixed amounts only would leave money nowhere).
    """
    if not shares:
        return {"split": "预算级次分成不能为空，至少配置一个级次"}
    errors: dict[str, str] = {}
    seen: set[BudgetLevel] = set()
    for index, share in enumerate(shares):
        errors.update(_share_problems(f"split[{index}]", share, seen))
        seen.add(share.level)
    if not errors and all(share.fixed_fen is not None for share in shares):
        errors["split"] = "至少需要一个按比例分成的级次，用于承接定额以外的金额"
    return errors


def _share_problems(field: str, share: LevelShare, seen: set[BudgetLevel]) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = share.level.label if isinstance(share.level, BudgetLevel) else str(share.level)
    if not isinstance(share.level, BudgetLevel):
        return {f"{field}.level": f"预算级次「{name}」无效，应为中央、省、市或区县"}
    if share.level in seen:
        errors[f"{field}.level"] = f"预算级次「{name}」重复出现，每个级次只能配置一次"
    if not _whole(share.weight) or share.weight < 0:
        errors[f"{field}.weight"] = f"{name}级的比例权重应为非负整数"
    elif share.fixed_fen is not None:
        if share.weight:
            errors[field] = f"{name}级同时配置了定额和比例，同一级次只能二选一"
        if not _whole(share.fixed_fen) or share.fixed_fen <= 0:
            errors[f"{field}.fixed_fen"] = f"{name}级的定额应为正整数（分）"
    elif share.weight == 0:
        errors[f"{field}.weight"] = f"{name}级的比例权重应为正整数（不能为0）"
    return errors


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_split(shares: Sequence[LevelShare]) -> None:
    """Refuse an invalid split (InvalidSplit with every problem per field)."""
    errors = split_problems(shares)
    if errors:
        raise InvalidSplit("预算级次分成配置无效：" + "；".join(errors.values()), errors=errors)


@dataclass(frozen=True, slots=True)
class Split:
    """How a payment of this item is shared between budget levels (分成).

    Validated on construction (`validate_split`), so every fee item created or loaded -- the
    demo seed, the catalogue read from the database, a future editor -- has a valid split.
    """

    shares: tuple[LevelShare, ...]

    def __post_init__(self) -> None:
        validate_split(self.shares)

    @property
    def lowest(self) -> BudgetLevel:
        return max((share.level for share in self.shares), key=lambda level: level.rank)

    def apply(self, amount_fen: int) -> dict[BudgetLevel, int]:
        """Parts per level (highest level first) that always sum to `amount_fen`.

        Fixed amounts first, from the highest level down (each at most what is left); what is
        left is shared by weight in whole fen (rounded down); every fen the rounding leaves goes
        to the lowest level of the split (区县 below 市 below 省 below 中央).
        """
        if amount_fen < 0:
            raise ValueError(f"amount must not be negative: {amount_fen}")
        ordered = sorted(self.shares, key=lambda share: share.level.rank)
        result = {share.level: 0 for share in ordered}
        rest = amount_fen
        for share in ordered:
            if share.fixed_fen is not None:
                result[share.level] = min(share.fixed_fen, rest)
                rest -= result[share.level]
        weighted = [share for share in ordered if share.fixed_fen is None]
        total_weight = sum(share.weight for share in weighted)
        for share in weighted:
            result[share.level] = rest * share.weight // total_weight
        result[self.lowest] += amount_fen - sum(result.values())
        return result


def single_level(level: BudgetLevel) -> Split:
    return Split((LevelShare(level, weight=1),))


def returned_by_part(paid: Sequence[int], refunded_fen: int) -> list[int]:
    """How much of each paid part all refunds so far (`refunded_fen` in total) give back.

    Greatest divisors (D'Hondt): each fen refunded goes to the part with the largest
    paid / (returned + 1), ties to the later part (the lower budget level). Computed from the
    lower quota (rounded-down proportional shares, which this method never goes below) plus at
    most len(paid) - 1 single fen. The method is monotone: refunding more never returns less of
    any part (largest remainder is not: paid 2/19/45, refunded 50 then 51 returns 2 then 1 of
    the first part), never returns more than a part was paid, and a full refund returns every
    part exactly.
    """
    total = sum(paid)
    if any(part < 0 for part in paid) or not 0 <= refunded_fen <= total:
        raise ValueError(f"refunded {refunded_fen} outside 0..{total} or a negative part")
    if total == 0:
        return [0] * len(paid)
    returned = [refunded_fen * part // total for part in paid]
    for _ in range(refunded_fen - sum(returned)):
        best = max(range(len(paid)), key=lambda i: (Fraction(paid[i], returned[i] + 1), i))
        returned[best] += 1
    return returned


def refund_slices(paid: Sequence[int], refunded_before: int, amount_fen: int) -> list[int]:
    """What one refund of `amount_fen` takes back from each paid part, cumulatively: each
    part's share of everything refunded so far minus what earlier refunds already returned.
    Never negative; sums to `amount_fen`; all refunds together never exceed a part."""
    if amount_fen < 0:
        raise ValueError(f"refund must not be negative: {amount_fen}")
    before = returned_by_part(paid, refunded_before)
    after = returned_by_part(paid, refunded_before + amount_fen)
    return [a - b for a, b in zip(after, before, strict=True)]


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


# --- administration (issue 10): new items and new standards ----------------------------------

_ITEM_CODE = re.compile(r"^[0-9A-Z]{2,20}$")
_SUBJECT = re.compile(r"^\d{3,20}$")


def standard_problems(standard: Standard) -> dict[str, str]:
    """Every reason a standard is refused on its own (amounts fit its kind, dates in order)."""
    errors: dict[str, str] = {}
    if standard.valid_to is not None and standard.valid_to < standard.valid_from:
        errors["valid_to"] = "标准的截止日期不能早于起始日期"
    if standard.kind is StandardKind.FIXED and not (standard.amount_fen or 0) > 0:
        errors["amount_fen"] = "固定标准须填写大于0的金额"
    if standard.kind is StandardKind.RANGE:
        low, high = standard.min_fen, standard.max_fen
        if low is None or high is None or low <= 0 or high < low:
            errors["min_fen"] = "区间标准须填写下限与上限（下限大于0，且不大于上限）"
    cap = standard.max_fen
    if standard.kind is StandardKind.DECISION and cap is not None and cap <= 0:
        errors["max_fen"] = "按决定书收取的上限应大于0"
    if not standard.basis.strip():
        errors["basis"] = "须填写收费标准的文件依据"
    return errors


def item_problems(item: FeeItem) -> dict[str, str]:
    """Every reason a new fee item is refused (its split is validated by `Split` itself)."""
    errors: dict[str, str] = {}
    if not _ITEM_CODE.match(item.code):
        errors["code"] = "项目编码应为2-20位大写字母或数字"
    if not 2 <= len(item.name.strip()) <= 200:
        errors["name"] = "项目名称应为2-200个字"
    if not _SUBJECT.match(item.budget_subject):
        errors["budget_subject"] = "预算科目应为政府收支分类科目编码（数字）"
    if not 1 <= len(item.unit_of_measure.strip()) <= 20:
        errors["unit_of_measure"] = "须填写计量单位（如 次、本、人）"
    if not item.legal_basis.strip():
        errors["legal_basis"] = "须填写收费项目的立项依据"
    if item.valid_from and item.valid_to and item.valid_to < item.valid_from:
        errors["valid_to"] = "项目的截止日期不能早于起始日期"
    if not item.standards:
        errors["standards"] = "须至少配置一个收费标准"
    for index, standard in enumerate(item.standards):
        errors.update(standard_problems(standard))
        if any(_overlap(standard, other) for other in item.standards[:index]):
            errors["standards"] = "收费标准的有效期相互重叠"
    return errors


def new_standard_history(
    current: Sequence[Standard], new: Standard, today: date
) -> tuple[Standard | None, Standard]:
    """How a new standard joins an item's history: (the open-ended standard it closes, closed
    the day before the new one starts; or None) and the new standard.

    Refused (ValidationFailed): a standard starting before today (a new standard never applies
    to the past, so no issued payable is ever repriced), a standard that fails on its own, and
    one whose dates overlap a standard that already has an end date.
    """
    errors = standard_problems(new)
    if new.valid_from < today:
        errors["valid_from"] = "新标准的起始日期不能早于今天（标准不追溯，已开具的应缴款不变）"
    if errors:
        raise ValidationFailed("收费标准有误：" + "；".join(errors.values()), errors=errors)
    closed = None
    for standard in current:
        if standard.valid_to is None and standard.valid_from < new.valid_from:
            closed = replace(standard, valid_to=new.valid_from - timedelta(days=1))
            continue
        if _overlap(standard, new):
            raise StandardOverlap(
                f"新标准的有效期与已有标准（{standard.valid_from} 至 "
                f"{standard.valid_to or '长期'}）重叠",
                errors={"valid_from": "有效期重叠"},
            )
    return closed, new


def _overlap(a: Standard, b: Standard) -> bool:
    far = date.max
    return a.valid_from <= (b.valid_to or far) and b.valid_from <= (a.valid_to or far)
