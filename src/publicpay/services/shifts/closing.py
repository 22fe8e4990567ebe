"""Close a cashier's shift with the counted cash, and a supervisor's confirmation of a
difference; a settled shift's cash goes on a deposit slip in the same transaction.

- Only the shift's own cashier closes it, once (`Shift.close`).
- A shift that balances is settled at once; one with a difference waits for a supervisor: a
  user allowed to confirm shifts, with the shift's unit in their scope, and never the cashier
  (`Shift.confirm`) — whatever the entry point (console, JSON API).
- Settling books the difference (长款/短款) and prepares the deposit slip (drawer → in transit):
  one transaction with its journals, event-log entries and audit rows (the recorder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from publicpay.domain.access import Actor, Permission, Role
from publicpay.domain.errors import Forbidden, NotFound
from publicpay.domain.shifts import (
    CashCount,
    Closing,
    Confirmation,
    Deposit,
    Shift,
    Takings,
    check_note,
    deposit_no,
)
from publicpay.domain.time import business_date
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CloseShift:
    shift_id: int
    pieces: Mapping[int, int]  # denomination in fen → pieces counted
    note: str = ""


@dataclass(frozen=True, slots=True)
class ConfirmShift:
    shift_id: int
    note: str


@dataclass(frozen=True, slots=True)
class ShiftView:
    """A shift with its takings so far (an open shift) or as closed."""

    shift: Shift
    takings: Takings
    deposit: Deposit | None = None


def current_shift(uow: UnitOfWork, actor: Actor) -> ShiftView | None:
    """The actor's open shift with its takings so far, if they have one."""
    with uow:
        shift = uow.shifts.open_of_cashier(actor.user_id)
        if shift is None:
            return None
        return ShiftView(shift, Takings.of(uow.shifts.payments(shift.id)))


def shift_view(uow: UnitOfWork, shift_id: int, actor: Actor) -> ShiftView:
    """One shift the actor may see (its cashier; a supervisor or finance user in scope)."""
    with uow:
        shift = _visible(uow, shift_id, actor)
        takings = (
            shift.closing.takings if shift.closing else Takings.of(uow.shifts.payments(shift.id))
        )
        return ShiftView(shift, takings, uow.deposits.of_shift(shift.id))


def close_shift(uow: UnitOfWork, cmd: CloseShift, *, actor: Actor, clock: Clock) -> Shift:
    count = CashCount.of(cmd.pieces)
    note = check_note(cmd.note)
    if actor.role is not Role.CASHIER:
        raise Forbidden("只有收费员可以结班")
    with uow:
        shift = _visible(uow, cmd.shift_id, actor, lock=True)
        closing = Closing(count, Takings.of(uow.shifts.payments(shift.id)), note)
        now = clock.now()
        uow.collect(shift.close(closing, by_id=actor.user_id, by=actor.audit_name, at=now))
        uow.shifts.save(shift)
        _deposit_if_settled(uow, shift, actor)
        uow.commit()
        return shift


def confirm_shift(uow: UnitOfWork, cmd: ConfirmShift, *, actor: Actor, clock: Clock) -> Shift:
    note = check_note(cmd.note)
    if not actor.can(Permission.CONFIRM_SHIFTS):
        raise Forbidden(f"您的角色（{actor.label}）无权确认结班差异")
    with uow:
        shift = _visible(uow, cmd.shift_id, actor, lock=True)
        now = clock.now()
        confirmation = Confirmation(actor.user_id, actor.username, now, note)
        uow.collect(shift.confirm(confirmation))
        uow.shifts.save(shift)
        _deposit_if_settled(uow, shift, actor)
        uow.commit()
        return shift


def _visible(uow: UnitOfWork, shift_id: int, actor: Actor, *, lock: bool = False) -> Shift:
    """The shift, when it is in the actor's scope: a cashier sees their unit's shifts, others
    their unit or region; anything else is answered as not found."""
    shift = uow.shifts.get(shift_id, lock=lock)
    unit = uow.units.get(shift.unit_id) if shift and shift.unit_id is not None else None
    if shift is None or unit is None or not actor.sees_unit(unit.id, unit.region_code):
        raise NotFound("班次不存在")
    return shift


def _deposit_if_settled(uow: UnitOfWork, shift: Shift, actor: Actor) -> None:
    if shift.confirmation is None and shift.difference_fen:
        return  # waits for a supervisor
    if shift.deposit_fen <= 0:
        return  # nothing beyond the float
    assert shift.closed_at is not None
    day = business_date(shift.closed_at)
    deposit, events = Deposit.prepare(
        shift, deposit_no=deposit_no(day, shift.id), business_date=day, by=actor.audit_name,
        at=shift.closed_at if shift.confirmation is None else shift.confirmation.at,
    )  # fmt: skip
    uow.deposits.add(deposit)
    uow.collect(events)
