"""The cash office (`services.shifts.closing`, `services.shifts.deposits`) on the fakes: closing
a shift with counted cash, takings by kind, a supervisor's confirmation of a difference, the
deposit slip and the ledger: cash in drawer → cash in transit → collection account."""

from __future__ import annotations

from datetime import date

import pytest

from publicpay.domain.access import Actor, Role
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from publicpay.domain.ledger import CASH_IN_DRAWER, CASH_IN_TRANSIT, CASH_OVER_SHORT, COLLECTION
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import OrderMethod
from publicpay.domain.shifts import DepositStatus, Shift, ShiftStatus, TakingsKind
from publicpay.domain.units import Site, SiteKind, Window
from publicpay.services.payments.cash import record_cash_payment
from publicpay.services.payments.orders import reserve_order
from publicpay.services.shifts.closing import (
    CloseShift,
    ConfirmShift,
    close_shift,
    confirm_shift,
    current_shift,
    shift_view,
)
from publicpay.services.shifts.deposits import (
    CreditDeposit,
    credit_deposit,
    deposits_for_matching,
)
from publicpay.services.shifts.opening import OpenShift, open_shift
from tests.unit.services_kit import OFFICE, POLICY, REGION, SCHOOL, World, counts

HALL = Site(1, "S01", "车管所业务大厅", SiteKind.SERVICE_HALL, REGION, OFFICE.id)
WINDOW = Window(1, HALL.id, "01")
POS = Device(1, "dev_pos_01", DeviceKind.POS, "1号窗POS", HALL.id, WINDOW.id, OFFICE.id, None)
CASHIER = Actor(7, "cashier7", Role.CASHIER, None, OFFICE.id)
OTHER_CASHIER = Actor(8, "cashier8", Role.CASHIER, None, OFFICE.id)
SUPERVISOR = Actor(9, "hall_admin", Role.UNIT_ADMIN, None, OFFICE.id)
FLOAT = 500_00
DAY = date(2026, 3, 2)  # the fake clock's business day in Shanghai


def _hall() -> World:
    world = World()
    world.db.add_site(HALL, WINDOW)
    world.db.add_device(POS)
    return world


def _open(world: World, actor: Actor = CASHIER) -> Shift:
    return open_shift(world.uow(), OpenShift(WINDOW.id, FLOAT), actor=actor, clock=world.clock)


def _take_cash(world: World, serial: str) -> int:
    payable = world.register()  # 100.00 yuan
    record_cash_payment(world.uow(), payable.payment_code, cashier="cashier7",
                        received_fen=200_00, clock=world.clock, device=POS.app_id,
                        client_serial=serial, unit_id=OFFICE.id)  # fmt: skip
    return payable.amount_fen


def _take_barcode(world: World) -> int:
    payable = world.register()
    code, barcode = payable.payment_code, OrderMethod.BARCODE
    order, _ = reserve_order(
        world.uow(), code, Channel.ALIPAY, barcode, world.clock, POLICY, source=POS.app_id
    )
    world.succeed(order)
    return order.amount_fen


def _close(world: World, shift: Shift, pieces: dict[int, int], actor: Actor = CASHIER) -> Shift:
    return close_shift(world.uow(), CloseShift(shift.id, pieces, "交班"), actor=actor,
                       clock=world.clock)  # fmt: skip


def test_a_balanced_shift_closes_at_once_and_its_cash_goes_on_a_deposit_slip() -> None:
    world = _hall()
    shift = _open(world)
    _take_cash(world, "C1")
    _take_cash(world, "C2")
    _take_barcode(world)
    view = current_shift(world.uow(), CASHIER)
    assert view is not None
    assert view.takings.cash_fen == 200_00
    closed = _close(world, shift, {100_00: 6, 50_00: 2})  # 700.00 = float 500 + cash 200
    assert closed.status is ShiftStatus.CLOSED
    assert closed.difference_fen == 0
    takings = {line.kind: (line.count, line.amount_fen) for line in closed.closing.takings.lines}  # type: ignore[union-attr]
    assert takings[TakingsKind.CASH] == (2, 200_00)
    assert takings[TakingsKind.BARCODE] == (1, 100_00)
    assert takings[TakingsKind.QR] == (0, 0)
    [deposit] = world.tables.deposits.values()
    assert (deposit.amount_fen, deposit.status, deposit.business_date) == (
        200_00,
        DepositStatus.IN_TRANSIT,
        DAY,
    )
    assert deposit.deposit_no == f"JK20260302{shift.id:08d}"
    balances = world.db.balances()
    assert balances[CASH_IN_DRAWER] == 0
    assert balances[CASH_IN_TRANSIT] == 200_00
    assert CASH_OVER_SHORT not in balances
    assert world.audit_actions()[-2:] == ["shift.close", "deposit.prepare"]
    assert world.outbox_types()[-2:] == ["shift.closed", "deposit.prepared"]


def test_a_short_shift_waits_for_a_supervisor_who_books_the_difference() -> None:
    world = _hall()
    shift = _open(world)
    _take_cash(world, "C1")
    closed = _close(world, shift, {100_00: 5, 50_00: 1, 10_00: 4})  # 590.00: 10.00 short
    assert closed.status is ShiftStatus.AWAITING_CONFIRMATION
    assert closed.difference_fen == -10_00
    assert world.tables.deposits == {}
    assert current_shift(world.uow(), CASHIER) is None
    confirmed = confirm_shift(world.uow(), ConfirmShift(shift.id, "找零失误，已批评教育"),
                              actor=SUPERVISOR, clock=world.clock)  # fmt: skip
    assert confirmed.status is ShiftStatus.CLOSED
    assert confirmed.confirmation is not None
    assert confirmed.confirmation.by == "hall_admin"
    [deposit] = world.tables.deposits.values()
    assert deposit.amount_fen == 90_00  # counted 590.00 less the 500.00 float
    balances = world.db.balances()
    assert balances[CASH_OVER_SHORT] == 10_00
    assert balances[CASH_IN_DRAWER] == 0
    assert balances[CASH_IN_TRANSIT] == 90_00
    assert "shift.confirm" in world.audit_actions()


def test_the_cashier_can_never_confirm_their_own_difference() -> None:
    world = _hall()
    shift = _open(world)
    _close(world, shift, {100_00: 5, 1_00: 3})  # 3.00 over
    before = counts(world.tables)
    with pytest.raises(Forbidden):
        confirm_shift(world.uow(), ConfirmShift(shift.id, "自己确认"), actor=CASHIER,
                      clock=world.clock)  # fmt: skip
    same_person = Actor(CASHIER.user_id, "cashier7", Role.UNIT_ADMIN, None, OFFICE.id)
    with pytest.raises(Forbidden, match="收费员不能确认本人的班次"):
        confirm_shift(world.uow(), ConfirmShift(shift.id, "自己确认"), actor=same_person,
                      clock=world.clock)  # fmt: skip
    with pytest.raises(ValidationFailed):
        confirm_shift(world.uow(), ConfirmShift(shift.id, "  "), actor=SUPERVISOR,
                      clock=world.clock)  # fmt: skip
    out_of_scope = Actor(10, "school_admin", Role.UNIT_ADMIN, None, SCHOOL.id)
    with pytest.raises(NotFound):
        confirm_shift(world.uow(), ConfirmShift(shift.id, "越权"), actor=out_of_scope,
                      clock=world.clock)  # fmt: skip
    assert counts(world.tables) == before
    assert world.tables.shifts[shift.id].status is ShiftStatus.AWAITING_CONFIRMATION


def test_closing_someone_elses_shift_or_a_closed_shift_is_refused_and_changes_nothing() -> None:
    world = _hall()
    shift = _open(world)
    before = counts(world.tables)
    with pytest.raises(Forbidden, match="只能结本人的班次"):
        _close(world, shift, {100_00: 5}, actor=OTHER_CASHIER)
    with pytest.raises(Forbidden):
        _close(world, shift, {100_00: 5}, actor=SUPERVISOR)
    with pytest.raises(NotFound):
        _close(world, shift, {100_00: 5}, actor=Actor(11, "x", Role.CASHIER, None, SCHOOL.id))
    with pytest.raises(ValidationFailed, match="点钞数量有误"):
        _close(world, shift, {100_00: -1, 3_00: 1})
    assert counts(world.tables) == before
    assert world.tables.shifts[shift.id].status is ShiftStatus.OPEN
    _close(world, shift, {100_00: 5})
    settled = counts(world.tables)
    with pytest.raises(InvalidTransition, match="不能重复结班"):
        _close(world, shift, {100_00: 5})
    assert counts(world.tables) == settled


def test_a_shift_with_no_cash_beyond_its_float_has_no_deposit() -> None:
    world = _hall()
    shift = _open(world)
    closed = _close(world, shift, {100_00: 5})
    assert closed.status is ShiftStatus.CLOSED
    assert world.tables.deposits == {}
    view = shift_view(world.uow(), shift.id, SUPERVISOR)
    assert view.deposit is None
    assert view.takings.total_fen == 0


def test_the_bank_statement_credits_a_deposit_once_in_transit_to_collection() -> None:
    world = _hall()
    shift = _open(world)
    _take_cash(world, "C1")
    _close(world, shift, {100_00: 6})
    [deposit] = deposits_for_matching(world.uow(), on=DAY, amount_fen=100_00)
    assert deposits_for_matching(world.uow(), on=DAY, amount_fen=99_00) == []
    line = CreditDeposit(deposit.deposit_no, 100_00, "B20260302001", DAY)
    credited = credit_deposit(world.uow(), line, by="reconciliation", clock=world.clock)
    assert credited.status is DepositStatus.CREDITED
    balances = world.db.balances()
    assert balances[COLLECTION] == 100_00
    assert balances[CASH_IN_TRANSIT] == 0
    again = credit_deposit(world.uow(), line, by="reconciliation", clock=world.clock)
    assert again.status is DepositStatus.CREDITED
    assert world.db.balances()[COLLECTION] == 100_00  # the same line: nothing booked twice
    before = counts(world.tables)
    other = CreditDeposit(deposit.deposit_no, 100_00, "B20260302999", DAY)
    with pytest.raises(Conflict, match="已与流水"):
        credit_deposit(world.uow(), other, by="reconciliation", clock=world.clock)
    wrong = CreditDeposit(deposit.deposit_no, 90_00, "B20260302001", DAY)
    with pytest.raises(Conflict, match="不符"):
        credit_deposit(world.uow(), wrong, by="reconciliation", clock=world.clock)
    with pytest.raises(NotFound):
        credit_deposit(world.uow(), CreditDeposit("JK0", 1, "R", DAY), by="r", clock=world.clock)
    assert counts(world.tables) == before
    assert world.audit_actions()[-1] == "deposit.credited"
