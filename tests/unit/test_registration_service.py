"""Registration (`services.payables.registration`): pricing from the catalogue, refusals,
idempotency by biz_no, cancelling; and the fine's late surcharge when an order is opened."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicpay.domain.errors import (
    Conflict,
    InvalidTransition,
    ItemNotAuthorised,
    NotFound,
    ValidationFailed,
)
from publicpay.domain.payables import PayableStatus, Payer, PayerType
from publicpay.domain.time import business_date
from publicpay.services.payables.registration import cancel_payable, register_payable
from tests.unit.services_kit import (
    EXAM,
    FINE,
    HALL,
    LICENCE,
    OFFICE,
    ORG_ID,
    PLATE,
    REGION,
    SCHOOL,
    SCHOOL_ONLY,
    TUITION,
    World,
    counts,
    line,
)


def test_fixed_standard_prices_each_line_by_quantity() -> None:
    world = World()
    payable = world.register(line(PLATE.code), line(LICENCE.code, 2))
    assert [(ln.standard_fen, ln.amount_fen) for ln in payable.lines] == [
        (10_000, 10_000),
        (1_000, 2_000),
    ]
    assert payable.amount_fen == 12_000
    assert payable.status is PayableStatus.UNPAID
    assert payable.payer_id_masked.count("*") == 8
    assert len(payable.payment_code) == 20
    assert payable.payment_code.startswith(REGION + "26")


def test_a_fixed_standard_refuses_another_amount() -> None:
    world = World()
    with pytest.raises(ValidationFailed) as refused:
        world.register(line(LICENCE.code, 2, amount_fen=1_999))
    assert refused.value.errors == {
        "items[0].amount_fen": "项目「项目GA0105」金额应为 2000 分（标准 1000 分 × 2）"
    }
    assert world.register(line(LICENCE.code, 2, amount_fen=2_000)).amount_fen == 2_000


@pytest.mark.parametrize(
    ("amount", "accepted"), [(4_999, False), (5_000, True), (20_000, True), (20_001, False)]
)
def test_range_standard_takes_the_amount_within_its_bounds(amount: int, accepted: bool) -> None:
    world = World()
    if accepted:
        assert world.register(line(HALL.code, amount_fen=amount)).amount_fen == amount
    else:
        with pytest.raises(ValidationFailed) as refused:
            world.register(line(HALL.code, amount_fen=amount))
        assert refused.value.errors == {
            "items[0].amount_fen": f"项目「项目ZY0101」金额 {amount} 分超出标准范围 5000–20000 分"
        }


def test_range_standard_scales_its_bounds_by_quantity() -> None:
    world = World()
    payable = world.register(line(HALL.code, 3, amount_fen=45_000))
    assert (payable.lines[0].standard_fen, payable.amount_fen) == (15_000, 45_000)
    with pytest.raises(ValidationFailed) as refused:
        world.register(line(HALL.code, 3, amount_fen=14_999))
    assert "15000–60000" in refused.value.errors["items[0].amount_fen"]


def test_range_and_decision_standards_need_an_amount() -> None:
    world = World()
    for code in (HALL.code, FINE.code):
        with pytest.raises(ValidationFailed) as refused:
            world.register(line(code))
        assert refused.value.errors == {
            "items[0].amount_fen": f"项目「项目{code}」须填写金额 amount_fen"
        }


def test_decision_standard_takes_any_amount_up_to_its_cap() -> None:
    world = World()
    assert world.register(line(FINE.code, amount_fen=1)).amount_fen == 1
    assert world.register(line(FINE.code, amount_fen=200_000)).amount_fen == 200_000
    with pytest.raises(ValidationFailed) as refused:
        world.register(line(FINE.code, amount_fen=200_001))
    assert "超出标准范围 1–200000 分" in refused.value.errors["items[0].amount_fen"]


@pytest.mark.parametrize(
    ("instant", "fen"),
    [
        (datetime(2026, 6, 30, 15, 59, tzinfo=UTC), 5_000),  # 23:59 on 30 June in Shanghai
        (datetime(2026, 6, 30, 16, 0, tzinfo=UTC), 6_000),  # 00:00 on 1 July in Shanghai
    ],
)
def test_a_standard_changing_on_a_date_prices_by_the_shanghai_business_date(
    instant: datetime, fen: int
) -> None:
    world = World()
    world.clock.current = instant
    payable = world.register(line(EXAM.code, 2))
    assert (payable.lines[0].standard_fen, payable.amount_fen) == (fen, 2 * fen)


def test_an_item_without_a_standard_on_the_day_is_refused() -> None:
    world = World()
    world.clock.current = datetime(2019, 6, 1, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as refused:
        world.register(line(PLATE.code))
    assert refused.value.errors == {
        "items[0].amount_fen": "项目 GA0101「项目GA0101」在 2019-06-01 没有有效的收费标准"
    }


def test_an_item_the_unit_is_not_authorised_to_collect_is_refused() -> None:
    world = World()
    before = counts(world.tables)
    with pytest.raises(ItemNotAuthorised) as refused:
        world.register(line(SCHOOL_ONLY.code))
    assert refused.value.code == "item_not_authorised"
    assert refused.value.errors == {"items[0].item_code": "单位未获授权收取项目 JY0201"}
    assert counts(world.tables) == before
    assert world.register(line(SCHOOL_ONLY.code), unit_id=SCHOOL.id).amount_fen == 80_000


def test_an_unknown_item_with_an_unauthorised_one_is_a_validation_error() -> None:
    world = World()
    with pytest.raises(ValidationFailed) as refused:
        world.register(line("NOPE99"), line(SCHOOL_ONLY.code))
    assert not isinstance(refused.value, ItemNotAuthorised)
    assert set(refused.value.errors) == {"items[0].item_code", "items[1].item_code"}


WRONG_CHECK = "0" if ORG_ID[-1] != "0" else "1"


@pytest.mark.parametrize(
    ("payer", "field"),
    [
        (Payer("张伟", PayerType.PERSON, "110105194912310021"), "payer.id_no"),
        (Payer("某公司", PayerType.ORG, ORG_ID[:-1] + WRONG_CHECK), "payer.id_no"),
        (Payer(" ", PayerType.PERSON, "11010519491231002X"), "payer.name"),
        (Payer("张伟", PayerType.PERSON, "11010519491231002X", phone="1380000"), "payer.phone"),
    ],
)
def test_an_invalid_payer_is_refused_and_nothing_is_stored(payer: Payer, field: str) -> None:
    world = World()
    before = counts(world.tables)
    with pytest.raises(ValidationFailed) as refused:
        world.register(payer=payer)
    assert list(refused.value.errors) == [field]
    assert counts(world.tables) == before


def test_an_organisation_with_a_valid_credit_code_registers() -> None:
    world = World()
    payable = world.register(payer=Payer("某公司", PayerType.ORG, ORG_ID))
    assert payable.payer_type is PayerType.ORG


def test_the_same_biz_no_and_body_answers_the_same_payable_and_writes_nothing() -> None:
    world = World()
    cmd = world.command(line(PLATE.code))
    first = register_payable(world.uow(), cmd, region_code=REGION, clock=world.clock)
    after_first = counts(world.tables)
    world.clock.advance(hours=1)
    again = register_payable(world.uow(), cmd, region_code=REGION, clock=world.clock)
    assert (first.created, again.created) == (True, False)
    assert again.payable == first.payable
    assert counts(world.tables) == after_first


def test_the_same_biz_no_with_another_body_is_a_conflict() -> None:
    world = World()
    first = world.register(line(PLATE.code), biz_no="B-1")
    with pytest.raises(Conflict) as refused:
        world.register(line(PLATE.code, 2), biz_no="B-1")
    assert refused.value.code == "conflict"
    assert first.payment_code in refused.value.detail
    assert len(world.tables.payables) == 1


def test_the_same_biz_no_at_another_unit_is_another_payable() -> None:
    world = World()
    mine = world.register(line(TUITION.code), biz_no="B-2")
    theirs = world.register(line(TUITION.code), biz_no="B-2", unit_id=SCHOOL.id)
    assert mine.payment_code != theirs.payment_code


def test_registered_payables_get_distinct_payment_codes() -> None:
    world = World()
    codes = {world.register().payment_code for _ in range(50)}
    assert len(codes) == 50


def test_cancel_only_while_unpaid_and_twice_gives_the_same_answer() -> None:
    world = World()
    payable = world.register()
    cancelled = cancel_payable(
        world.uow(), payable.payment_code, unit_id=OFFICE.id, clock=world.clock
    )
    assert cancelled.status is PayableStatus.CANCELLED
    written = counts(world.tables)
    again = cancel_payable(world.uow(), payable.payment_code, unit_id=OFFICE.id, clock=world.clock)
    assert again.status is PayableStatus.CANCELLED
    assert counts(world.tables) == written
    assert world.outbox_types().count("payable.cancelled") == 1
    with pytest.raises(ValidationFailed, match="不能再支付"):
        world.open_order(payable)


def test_a_paid_payable_cannot_be_cancelled() -> None:
    world = World()
    payable = world.register()
    world.pay(payable)
    before = counts(world.tables)
    with pytest.raises(InvalidTransition, match="已缴款」，不能变为「已撤销"):
        cancel_payable(world.uow(), payable.payment_code, unit_id=OFFICE.id, clock=world.clock)
    assert counts(world.tables) == before
    assert world.payable(payable.id).status is PayableStatus.PAID


def test_another_units_payable_cannot_be_cancelled() -> None:
    world = World()
    payable = world.register()
    with pytest.raises(NotFound):
        cancel_payable(world.uow(), payable.payment_code, unit_id=SCHOOL.id, clock=world.clock)
    assert world.payable(payable.id).status is PayableStatus.UNPAID


def _overdue_fine(world: World, fine_fen: int, days_late: int) -> int:
    today = business_date(world.clock.now())
    payable = world.register(
        line(FINE.code, amount_fen=fine_fen), due_date=today - timedelta(days=days_late)
    )
    return world.open_order(payable).amount_fen


@pytest.mark.parametrize(
    ("days_late", "due"),
    [(0, 20_000), (1, 20_600), (2, 21_200), (33, 39_800), (34, 40_000), (400, 40_000)],
)
def test_an_overdue_fine_is_ordered_with_three_percent_a_day_capped_at_the_fine(
    days_late: int, due: int
) -> None:
    assert _overdue_fine(World(), 20_000, days_late) == due


@settings(max_examples=50, deadline=None)  # no timed assertion: the machine may be busy
@given(fine=st.integers(1, 200_000), days_late=st.integers(0, 60))
def test_the_surcharge_never_exceeds_the_fine_nor_charges_a_fen_too_many(
    fine: int, days_late: int
) -> None:
    due = _overdue_fine(World(), fine, days_late)
    assert fine <= due <= 2 * fine
    assert due - fine == min(fine * 30 * days_late // 1000, fine)


def test_only_fines_carry_a_surcharge_and_the_payment_books_it_with_the_fine() -> None:
    world = World()
    today = business_date(world.clock.now())
    payable = world.register(
        line(PLATE.code), line(FINE.code, amount_fen=10_000), due_date=today - timedelta(days=2)
    )
    order = world.open_order(payable)
    assert order.amount_fen == 10_000 + 10_000 + 600
    assert world.succeed(order).value == "paid"
    assert world.db.balances(payable.id) == {
        "channel_receivable:alipay": 20_600,
        "treasury_payable:province": -3_180,  # the fine and its surcharge, 3 : 3 : 4
        "treasury_payable:city": -3_180,
        "treasury_payable:county": -10_000 - 4_240,
    }
    assert world.payable(payable.id).paid_fen == 20_600


def test_the_surcharge_grows_while_unpaid_and_the_due_date_counts_in_shanghai() -> None:
    world = World()
    world.clock.current = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    payable = world.register(line(FINE.code, amount_fen=10_000), due_date=date(2026, 3, 1))
    world.clock.current = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 on the due date
    assert world.open_order(payable).amount_fen == 10_000
    world.clock.current = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # the next day in Shanghai
    assert world.open_order(payable).amount_fen == 10_300
