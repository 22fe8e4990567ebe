"""The columnar clearing split gives exactly the per-payment split (the rule's reference)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.domain.catalogue import BudgetLevel, Category, Destination, LevelShare, Split
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payables import PayableLine
from publicpay.services.reconciliation.clearing import PaymentSplitter
from tests.unit.services_kit import fixed

LEVELS = list(BudgetLevel)


def _random_split(rng: random.Random) -> Split:
    levels = rng.sample(LEVELS, rng.randint(1, 4))
    ratio = rng.choice(levels)  # at least one share takes what the fixed amounts leave
    return Split(
        tuple(
            LevelShare(level, weight=rng.randint(1, 7))
            if level is ratio or rng.random() < 0.5
            else LevelShare(level, fixed_fen=rng.randint(1, 3000))
            for level in levels
        )
    )


def _random_items(rng: random.Random) -> dict[str, object]:
    items = {}
    for i in range(12):
        code = f"T{i:04d}"
        items[code] = fixed(
            code,
            rng.randint(1, 50_000),
            _random_split(rng),
            category=Category.FINE if i % 4 == 0 else Category.ADMIN_FEE,
            destination=Destination.SPECIAL_ACCOUNT if i % 5 == 0 else Destination.TREASURY,
        )
    return items


def _random_day(rng: random.Random, items: dict[str, object], n: int):
    codes = list(items)
    lines_of, paid, refunded = {}, [], []
    for i in range(n):
        lines = [
            PayableLine(code, "x", "件", 1, amount, amount)
            for code in rng.sample(codes, rng.randint(1, 3))
            for amount in [rng.choice([0, 1, 3, 99, rng.randint(1, 200_000)])]
        ]
        lines_of[i] = lines
        due = sum(line.amount_fen for line in lines)
        has_fine = any(items[line.item_code].is_fine for line in lines)
        late = rng.choice([0, 0, 1, 57, 1234]) if has_fine else 0
        row = SimpleNamespace(
            id=i, payment_code=f"P{i:019d}", unit_name=f"单位{i % 3}", paid_fen=due + late
        )
        paid.append(row)
        before = 0  # some payments refunded more than once: each refund after the earlier ones
        while rng.random() < 0.3 and before < row.paid_fen:
            left = row.paid_fen - before
            refund = min(rng.choice([1, left, rng.randint(1, max(left, 1))]), left)
            kind = rng.choice(["refund", "refund", "duplicate"])
            refunded.append(
                SimpleNamespace(
                    **vars(row), refund_kind=kind, refund_fen=refund, refunded_before=before
                )
            )
            before += 0 if kind == "duplicate" else refund
    rng.shuffle(refunded)
    return paid, refunded, lines_of


@pytest.mark.parametrize("seed", range(8))
def test_the_columnar_split_equals_the_per_payment_split_on_random_days(seed):
    rng = random.Random(seed)
    items = _random_items(rng)
    paid, refunded, lines_of = _random_day(rng, items, 400)
    expected = PaymentSplitter().split(paid, refunded, lines_of, items)
    got = ColumnarSplitter().split(paid, refunded, lines_of, items)
    assert list(got.lines) == list(expected.lines)
    assert (got.payments_fen, got.refunds_fen, got.by_level) == (
        expected.payments_fen,
        expected.refunds_fen,
        expected.by_level,
    )
    assert got.lines[7] == expected.lines[7]
    assert got.lines[-1] == expected.lines[-1]
    assert got.lines[3:6] == expected.lines[3:6]
    assert sum(line.amount_fen for line in got.lines) == sum(r.paid_fen for r in paid) - sum(
        r.refund_fen for r in refunded if r.refund_kind != "duplicate"
    )


def test_an_empty_day_splits_into_no_lines():
    day = ColumnarSplitter().split([], [], {}, _random_items(random.Random(1)))
    assert (list(day.lines), day.payments_fen, day.refunds_fen, day.by_level) == ([], 0, 0, {})


def test_the_columnar_split_refuses_what_the_per_payment_split_refuses():
    items = _random_items(random.Random(2))
    plain = next(code for code, item in items.items() if not item.is_fine)
    lines_of = {1: [PayableLine(plain, "x", "件", 1, 500, 500)]}
    for paid_fen, reason in ((499, "小于应缴"), (501, "加处罚款")):
        row = SimpleNamespace(id=1, payment_code="P1", unit_name="单位", paid_fen=paid_fen)
        for splitter in (PaymentSplitter(), ColumnarSplitter()):
            with pytest.raises(ValidationFailed, match=reason):
                splitter.split([row], [], lines_of, items)
