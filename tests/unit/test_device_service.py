"""Devices (`services.devices`): registering kiosks and POS terminals (credential, site, window,
issuing point, audit), heartbeats, and the health the console derives from the last one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from publicpay.domain.devices import DeviceHealth, Heartbeat, health
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.units import Site, SiteKind, Window
from publicpay.services.devices.heartbeats import record_heartbeat
from publicpay.services.devices.registration import NewDevice, register_device
from tests.unit.services_kit import OFFICE, REGION, World, counts

HALL = Site(1, "S01", "车管所业务大厅", SiteKind.SERVICE_HALL, REGION, OFFICE.id)
STREET = Site(2, "S02", "米市巷街道便民服务中心", SiteKind.CONVENIENCE_POINT, REGION, None)
WINDOW_1 = Window(1, HALL.id, "01")


def _world() -> World:
    world = World()
    world.db.add_site(HALL, WINDOW_1)
    world.db.add_site(STREET)
    return world


def _register(world: World, new: NewDevice) -> object:
    return register_device(world.uow(), new, actor="user:admin", clock=world.clock)


def test_a_kiosk_is_registered_with_its_own_credential_and_issuing_point() -> None:
    world = _world()
    done = register_device(
        world.uow(), NewDevice("kiosk", "kiosk_street_2", "街道自助机2号", STREET.id),
        actor="user:admin", clock=world.clock,
    )  # fmt: skip
    client = world.tables.clients["kiosk_street_2"]
    assert (client.kind, client.unit_id, client.secret) == ("device", None, done.secret)
    assert done.device.issuing_point == "kiosk_street_2"
    assert done.device.unit_id is None  # a street kiosk serves every unit
    assert world.audit_actions() == ["device.register"]


def test_a_pos_needs_a_window_of_its_units_site() -> None:
    world = _world()
    before = counts(world.tables)
    with pytest.raises(ValidationFailed, match="收费窗口"):
        _register(world, NewDevice("pos", "pos_hall_1", "1号窗POS", HALL.id))
    with pytest.raises(ValidationFailed, match="执收单位"):
        _register(world, NewDevice("pos", "pos_street", "街道POS", STREET.id, WINDOW_1.id))
    assert counts(world.tables) == before
    _register(world, NewDevice("pos", "pos_hall_1", "1号窗POS", HALL.id, WINDOW_1.id))
    assert world.tables.clients["pos_hall_1"].unit_id == OFFICE.id


def test_a_pos_carries_its_card_terminal_id_and_only_a_pos_does() -> None:
    world = _world()
    new = NewDevice("pos", "pos_hall_1", "1号窗POS", HALL.id, WINDOW_1.id, "33010509")
    done = register_device(world.uow(), new, actor="user:admin", clock=world.clock)
    assert done.device.card_terminal_id == "33010509"
    before = counts(world.tables)
    with pytest.raises(ValidationFailed) as bad:
        _register(world, NewDevice("pos", "pos_hall_2", "2号窗POS", HALL.id, WINDOW_1.id, "33-01"))
    assert set(bad.value.errors) == {"card_terminal_id"}
    with pytest.raises(ValidationFailed) as kiosk:
        _register(world, NewDevice("kiosk", "kiosk_c", "街道自助机", STREET.id, None, "33010510"))
    assert set(kiosk.value.errors) == {"card_terminal_id"}
    assert counts(world.tables) == before


def test_bad_registrations_change_nothing() -> None:
    world = _world()
    _register(world, NewDevice("kiosk", "kiosk_a", "街道自助机", STREET.id))
    before = counts(world.tables)
    with pytest.raises(Conflict):
        _register(world, NewDevice("kiosk", "kiosk_a", "又一台", STREET.id))
    with pytest.raises(NotFound):
        _register(world, NewDevice("kiosk", "kiosk_b", "街道自助机", 99))
    with pytest.raises(ValidationFailed) as bad:
        _register(world, NewDevice("atm", "K!", "x", STREET.id))
    assert set(bad.value.errors) == {"kind", "app_id", "name"}
    assert counts(world.tables) == before


def test_heartbeats_set_the_health_the_console_shows() -> None:
    world = _world()
    _register(world, NewDevice("kiosk", "kiosk_a", "街道自助机", STREET.id))
    beat = Heartbeat.parse("ok", "low", "1.0.3")
    device = record_heartbeat(world.uow(), "kiosk_a", beat, clock=world.clock)
    now = world.clock.now()
    assert health(device, now) is DeviceHealth.PAPER_LOW
    assert health(replace(device, paper="out"), now) is DeviceHealth.PRINTER_FAULT
    assert health(replace(device, paper="ok"), now) is DeviceHealth.ONLINE
    assert health(device, now + timedelta(minutes=4)) is DeviceHealth.OFFLINE
    assert health(device, now, credential_active=False) is DeviceHealth.DISABLED


def test_a_heartbeat_of_an_unregistered_credential_or_bad_fields_is_refused() -> None:
    world = _world()
    with pytest.raises(NotFound):
        record_heartbeat(world.uow(), "nobody", Heartbeat.parse("ok", "ok", "1"), clock=world.clock)
    with pytest.raises(ValidationFailed) as bad:
        Heartbeat.parse("on fire", "ok", "1.0 beta")
    assert set(bad.value.errors) == {"printer", "version"}
