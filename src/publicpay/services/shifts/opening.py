"""Open a cashier's shift at a window, find the window's open shift, close it.

Only a cashier of the window's unit opens a shift there; a window has one open shift at a time
and a cashier works one window at a time (also guarded by the database's partial unique
indexes, so two openings at the same moment cannot both succeed)."""

from __future__ import annotations

from dataclasses import dataclass

from publicpay.domain.access import Actor, Role
from publicpay.domain.errors import Conflict, Forbidden, NotFound
from publicpay.domain.shifts import Shift, check_float
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class OpenShift:
    window_id: int
    opening_float_fen: int


def open_shift(uow: UnitOfWork, cmd: OpenShift, *, actor: Actor, clock: Clock) -> Shift:
    check_float(cmd.opening_float_fen)
    if actor.role is not Role.CASHIER:
        raise Forbidden("只有收费员可以开班")
    with uow:
        window = uow.units.window(cmd.window_id)
        site = uow.units.site(window.site_id) if window else None
        if window is None or site is None or site.unit_id != actor.unit_id:
            raise NotFound("窗口不存在")
        if not (window.active and site.active):
            raise Conflict("该窗口已停用")
        _refuse_open_shifts(uow, cmd.window_id, actor)
        now = clock.now()
        shift = Shift(0, window.id, site.id, site.unit_id, actor.user_id, actor.username,
                      cmd.opening_float_fen, now)  # fmt: skip
        uow.shifts.add(shift)
        detail = {"window_id": window.id, "opening_float_fen": cmd.opening_float_fen}
        uow.audit.append(actor.audit_name, "shift.open", f"shift:{shift.id}", detail, now)
        uow.commit()
        return shift


def _refuse_open_shifts(uow: UnitOfWork, window_id: int, actor: Actor) -> None:
    at_window = uow.shifts.open_at_window(window_id)
    if at_window is not None:
        raise Conflict(f"该窗口已由 {at_window.cashier} 开班，请先结班")
    if uow.shifts.open_of_cashier(actor.user_id) is not None:
        raise Conflict("您已在其他窗口开班，请先结班")


def open_shift_at(uow: UnitOfWork, window_id: int) -> Shift | None:
    """The window's open shift, inside the caller's transaction."""
    return uow.shifts.open_at_window(window_id)
