"""Batch registration of payables (P5): rows read from a file, grouped by business number into
payables, and the per-row report of what was accepted and why a row was refused.

A payable with several lines spans rows sharing a `biz_no`. Continuation rows may leave the payer,
due date and remark blank (they take the first row's) or repeat them; a different value is a
refusal. Refusals are per row and per field (the field names of the single registration API:
`payer.id_no`, `item_code` ...), each with a Chinese reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from publicpay.domain.payables import LineRequest, Payer, PayerType

MAX_ROWS = 5000  # rows of one batch (a school's term tuition is a few thousand)
MAX_LINES = 50  # lines of one payable, as for one registration through the API
MAX_QUANTITY = 100_000  # the same limits as one registration through the API
MAX_AMOUNT_FEN = 10**13
MAX_REMARK = 500


class RowStatus(StrEnum):
    ACCEPTED = "accepted"  # valid: registered by this batch (or would be, in a dry run)
    EXISTING = "existing"  # the same biz_no and content were registered before: nothing new
    REFUSED = "refused"


class BatchStatus(StrEnum):
    DRY_RUN = "dry_run"  # a preview: nothing registered
    REGISTERED = "registered"  # the accepted rows were registered (in one transaction)
    REFUSED = "refused"  # rows were refused and partial registration was not asked: nothing


BATCH_STATUS_LABELS = {
    BatchStatus.DRY_RUN: "预览（未登记）",
    BatchStatus.REGISTERED: "已登记",
    BatchStatus.REFUSED: "有错误，未登记",
}

FIELD_LABELS = {
    "biz_no": "业务编号",
    "payer.name": "缴款人姓名",
    "payer.type": "缴款人类型",
    "payer.id_no": "证件号码",
    "payer.phone": "手机号",
    "item_code": "项目编码",
    "quantity": "数量",
    "amount_fen": "金额",
    "due_date": "缴款期限",
    "remark": "备注",
    "row": "本行",
}


def row_label(batch: BatchStatus, status: RowStatus) -> str:
    """What a row's status means to a person, given what happened to the batch."""
    if status is RowStatus.EXISTING:
        return "此前已登记"
    if status is RowStatus.REFUSED:
        return "拒绝"
    return {
        BatchStatus.REGISTERED: "已登记",
        BatchStatus.DRY_RUN: "可登记",
        BatchStatus.REFUSED: "无误（未登记）",
    }[batch]


def reasons_text(errors: Mapping[str, str]) -> str:
    """'证件号码：公民身份号码无效…；数量：应为正整数' for screens and spreadsheets."""
    return "；".join(f"{FIELD_LABELS.get(k, k)}：{v}" for k, v in errors.items())


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One row as read: values that could be read, and a reason for each cell that could not."""

    row: int  # the row number in the file (the header is row 1), or the position in a list
    biz_no: str = ""
    payer_name: str = ""
    payer_type: PayerType | None = None
    id_no: str = ""
    phone: str | None = None
    item_code: str = ""
    quantity: int = 1
    amount_fen: int | None = None
    due_date: date | None = None
    remark: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["payer_type"] = self.payer_type.value if self.payer_type else None
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchRow:
        values = dict(data)
        values["payer_type"] = PayerType(data["payer_type"]) if data["payer_type"] else None
        values["due_date"] = date.fromisoformat(data["due_date"]) if data["due_date"] else None
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Draft:
    """The rows of one business number, merged into what one registration needs."""

    biz_no: str
    rows: tuple[BatchRow, ...]
    payer: Payer | None
    lines: tuple[LineRequest, ...]
    due_date: date | None
    remark: str
    errors: dict[int, dict[str, str]]  # row number → field → reason

    def refusals(self, errors: Mapping[str, str], detail: str) -> dict[int, dict[str, str]]:
        """A refusal of the whole payable, spread over its rows: `items[i].x` to row i, the rest
        to the first row; every other row is told which row to fix."""
        spread: dict[int, dict[str, str]] = {}
        for key, reason in (errors or {"row": detail}).items():
            number, name = self._target(key)
            spread.setdefault(number, {})[name] = reason
        return _tell_the_others(self.rows, self.biz_no, spread)

    def _target(self, key: str) -> tuple[int, str]:
        found = _ITEM_KEY.match(key)
        if found and int(found[1]) < len(self.rows):
            return self.rows[int(found[1])].row, found[2]
        return self.rows[0].row, "biz_no" if key == "items" else key


_ITEM_KEY = re.compile(r"^items\[(\d+)\]\.(\w+)$")
_SHARED = ("payer_name", "payer_type", "id_no", "phone", "due_date", "remark")
_SHARED_FIELDS = {
    "payer_name": "payer.name",
    "payer_type": "payer.type",
    "id_no": "payer.id_no",
    "phone": "payer.phone",
    "due_date": "due_date",
    "remark": "remark",
}


def drafts(rows: Sequence[BatchRow]) -> list[Draft]:
    """Group rows by business number (in order of first appearance) and merge each group."""
    groups: dict[str, list[BatchRow]] = {}
    for row in rows:
        key = row.biz_no or f"\0{row.row}"  # a row without a biz_no stands alone (refused)
        groups.setdefault(key, []).append(row)
    return [_draft(group) for group in groups.values()]


def _draft(rows: list[BatchRow]) -> Draft:
    errors = {r.row: {**_limits(r), **r.errors} for r in rows if r.errors or _limits(r)}
    shared = {name: _shared_value(rows, name, errors) for name in _SHARED}
    _require(rows[0], shared, errors)
    for index, row in enumerate(rows):
        if not row.item_code and "item_code" not in row.errors:
            errors.setdefault(row.row, {})["item_code"] = "项目编码不能为空"
        if index >= MAX_LINES:
            errors.setdefault(row.row, {})["biz_no"] = f"同一业务编号最多{MAX_LINES}行（收费项目）"
    payer = None
    if shared["payer_type"] is not None:
        payer = Payer(
            shared["payer_name"] or "", shared["payer_type"], shared["id_no"] or "", shared["phone"]
        )
    return Draft(
        biz_no=rows[0].biz_no,
        rows=tuple(rows),
        payer=payer,
        lines=tuple(LineRequest(r.item_code, r.quantity, r.amount_fen) for r in rows),
        due_date=shared["due_date"],
        remark=shared["remark"] or "",
        errors=_tell_the_others(rows, rows[0].biz_no, errors) if errors else {},
    )


def _limits(row: BatchRow) -> dict[str, str]:
    found: dict[str, str] = {}
    if not 1 <= row.quantity <= MAX_QUANTITY:
        found["quantity"] = f"数量应为1–{MAX_QUANTITY}的整数"
    if row.amount_fen is not None and not 1 <= row.amount_fen <= MAX_AMOUNT_FEN:
        found["amount_fen"] = "金额应大于0且不超过1000亿元"
    if len(row.remark) > MAX_REMARK:
        found["remark"] = f"备注不超过{MAX_REMARK}字"
    return found


def _shared_value(rows: list[BatchRow], name: str, errors: dict[int, dict[str, str]]) -> Any:
    """The first row's value that is not blank; another row with a different one is refused."""
    reference: BatchRow | None = None
    for row in rows:
        value = getattr(row, name)
        if value in (None, ""):
            continue
        if reference is None:
            reference = row
        elif value != getattr(reference, name):
            label = FIELD_LABELS[_SHARED_FIELDS[name]]
            errors.setdefault(row.row, {})[_SHARED_FIELDS[name]] = (
                f"与第{reference.row}行（同一业务编号）的{label}不一致"
            )
    return getattr(reference, name) if reference is not None else None


def _require(first: BatchRow, shared: dict[str, Any], errors: dict[int, dict[str, str]]) -> None:
    found = errors.setdefault(first.row, {})
    if not first.biz_no:
        found.setdefault("biz_no", "业务编号不能为空")
    if not shared["payer_name"]:
        found.setdefault("payer.name", "缴款人姓名不能为空")
    if shared["payer_type"] is None:
        found.setdefault("payer.type", "请填写缴款人类型：个人或单位")
    if not shared["id_no"]:
        found.setdefault("payer.id_no", "证件号码不能为空")
    if not found:
        del errors[first.row]


def _tell_the_others(
    rows: Sequence[BatchRow], biz_no: str, errors: dict[int, dict[str, str]]
) -> dict[int, dict[str, str]]:
    wrong = "、".join(f"第{n}行" for n in sorted(errors))
    told = {
        row.row: {"biz_no": f"同一业务编号（{biz_no}）的{wrong}有误，整笔缴款单未登记"}
        for row in rows
        if row.row not in errors
    }
    return {**errors, **told}


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int
    biz_no: str
    payer_name: str
    item_code: str
    quantity: int
    status: RowStatus
    amount_fen: int | None = None  # the line's amount as priced from the catalogue
    payment_code: str | None = None  # once registered (or registered before)
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RowResult:
        return cls(**{**data, "status": RowStatus(data["status"])})


def row_results(
    draft: Draft,
    status: RowStatus,
    *,
    amounts: Sequence[int | None] = (),
    payment_code: str | None = None,
    errors: Mapping[int, dict[str, str]] | None = None,
) -> list[RowResult]:
    found = errors or {}
    return [
        RowResult(
            row=row.row,
            biz_no=row.biz_no,
            payer_name=draft.payer.name if draft.payer else row.payer_name,
            item_code=row.item_code,
            quantity=row.quantity,
            status=status,
            amount_fen=amounts[i] if i < len(amounts) else None,
            payment_code=payment_code,
            errors=found.get(row.row, {}),
        )
        for i, row in enumerate(draft.rows)
    ]


@dataclass(frozen=True, slots=True)
class BatchReport:
    status: BatchStatus
    rows: tuple[RowResult, ...]
    payable_count: int  # business numbers in the batch
    created_count: int  # payables this batch registered

    @classmethod
    def of(cls, status: BatchStatus, results: Sequence[RowResult], created: int) -> BatchReport:
        """The report; payment codes of accepted rows only once they are registered."""
        ordered = sorted(results, key=lambda r: r.row)
        if status is not BatchStatus.REGISTERED:
            ordered = [
                replace(r, payment_code=None) if r.status is RowStatus.ACCEPTED else r
                for r in ordered
            ]
        payables = len({r.biz_no or f"\0{r.row}" for r in ordered})
        return cls(status, tuple(ordered), payables, created)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)

    @property
    def amount_fen(self) -> int:
        """What the accepted rows add up to (registered, or to be registered)."""
        return sum(r.amount_fen or 0 for r in self.rows if r.status is RowStatus.ACCEPTED)

    @property
    def refused_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.status is RowStatus.REFUSED]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "payable_count": self.payable_count,
            "created_count": self.created_count,
            "rows": [r.to_json() for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchReport:
        rows = tuple(RowResult.from_json(r) for r in data["rows"])
        status = BatchStatus(data["status"])
        return cls(status, rows, int(data["payable_count"]), int(data["created_count"]))


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A stored batch: who sent which file, and the report."""

    unit_id: int
    source: str  # csv | xlsx | json
    file_name: str
    file_sha256: str
    accept_partial: bool
    actor: str
    created_at: datetime
    report: BatchReport
    preview_id: int | None = None  # the preview this batch confirmed (console)
    id: int = 0
    confirmable: bool = False  # a preview whose rows are kept until it is confirmed
