"""Editing units, sites and windows (issue 10) on the in-memory fakes: only what differs is
written, with one audit row of the fields before and after; an edit that changes nothing
writes nothing; bad input and out-of-scope records change nothing."""

from __future__ import annotations

import pytest

from publicpay.domain.access import Actor, Role
from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.units import Site, SiteKind, Window, name_problems, unit_change_problems
from publicpay.services.units.administration import (
    PlaceChange,
    UnitChange,
    set_unit_active,
    update_site,
    update_unit,
    update_window,
)
from tests.unit.services_kit import OFFICE, World

ADMIN = Actor(1, "admin", Role.FINANCE_ADMIN, "330105", None)
ELSEWHERE = Actor(2, "other", Role.FINANCE_ADMIN, "330110", None)
HALL = Site(10, "CG-HALL", "车管所办事大厅", SiteKind.SERVICE_HALL, "330105", OFFICE.id)
WINDOW = Window(20, HALL.id, "01", "综合")


def _world() -> World:
    world = World()
    world.db.add_site(HALL, WINDOW)
    return world


def _edit_window(world: World, change: PlaceChange, by: Actor = ADMIN) -> Window:
    return update_window(world.uow(), WINDOW.id, change, by=by, source="test", clock=world.clock)


def test_a_window_rename_writes_the_name_and_one_audit_row_with_before_and_after() -> None:
    world = _world()
    done = _edit_window(world, PlaceChange(name="综合受理"))
    assert done.name == "综合受理"
    assert world.tables.windows[WINDOW.id].name == "综合受理"
    (row,) = world.tables.audit
    assert (row.action, row.target) == ("window.updated", "CG-HALL/01")
    assert row.detail["before"] == {"name": "综合"}
    assert row.detail["after"] == {"name": "综合受理"}


def test_closing_a_closed_window_writes_nothing_more() -> None:
    world = _world()
    _edit_window(world, PlaceChange(active=False))
    _edit_window(world, PlaceChange(active=False))
    assert world.tables.windows[WINDOW.id].active is False
    assert [r.detail["after"] for r in world.tables.audit] == [{"active": False}]


def test_another_districts_admin_finds_no_such_window_and_nothing_changes() -> None:
    world = _world()
    with pytest.raises(NotFound):
        _edit_window(world, PlaceChange(active=False), by=ELSEWHERE)
    assert world.tables.windows[WINDOW.id].active is True
    assert not world.tables.audit


def test_a_site_without_a_name_is_refused_and_unchanged() -> None:
    world = _world()
    with pytest.raises(ValidationFailed, match="网点名称"):
        update_site(world.uow(), HALL.id, PlaceChange(name=" "), by=ADMIN, source="t",
                    clock=world.clock)  # fmt: skip
    assert world.tables.sites[HALL.id].name == HALL.name
    assert not world.tables.audit


def test_a_unit_moved_to_a_region_out_of_scope_is_refused_and_unchanged() -> None:
    world = _world()
    with pytest.raises(ValidationFailed, match="管辖范围"):
        update_unit(world.uow(), OFFICE.id, UnitChange(region_code="330110"), by=ADMIN,
                    source="t", clock=world.clock)  # fmt: skip
    assert world.tables.units[OFFICE.id].region_code == OFFICE.region_code
    assert not world.tables.audit


def test_a_unit_is_renamed_and_given_a_contact_in_one_audit_row() -> None:
    world = _world()
    change = UnitChange(name="杭州市公安局车管所", contact="值班室 0571-1")
    update_unit(world.uow(), OFFICE.id, change, by=ADMIN, source="t", clock=world.clock)
    unit = world.tables.units[OFFICE.id]
    assert (unit.name, unit.contact) == ("杭州市公安局车管所", "值班室 0571-1")
    (row,) = world.tables.audit
    assert row.detail["before"] == {"name": OFFICE.name, "contact": ""}


def test_disabling_is_idempotent_and_enabling_undoes_it() -> None:
    world = _world()
    for _ in range(2):
        set_unit_active(world.uow(), OFFICE.id, False, by=ADMIN, source="t", clock=world.clock)
    assert not world.tables.units[OFFICE.id].active
    set_unit_active(world.uow(), OFFICE.id, True, by=ADMIN, source="t", clock=world.clock)
    assert world.tables.units[OFFICE.id].active
    assert [r.action for r in world.tables.audit] == ["unit.disabled", "unit.enabled"]


@pytest.mark.parametrize(
    ("name", "contact", "field"), [(" ", "", "name"), ("单位", "电" * 201, "contact")]
)
def test_a_units_name_and_contact_are_checked(name: str, contact: str, field: str) -> None:
    assert field in unit_change_problems(name, contact)


def test_a_window_name_may_be_empty_but_not_too_long() -> None:
    assert name_problems("", what="窗口", low=0, high=100) == {}
    assert "name" in name_problems("很" * 101, what="窗口", low=0, high=100)
