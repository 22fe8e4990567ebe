"""The in-memory unit of work keeps the promises of the real one that services can observe."""

from __future__ import annotations

import dataclasses

import pytest

from publicpay.domain.errors import Conflict
from publicpay.domain.ledger import Journal, JournalKind, Posting, UnbalancedJournal
from publicpay.domain.payables import PayableStatus
from publicpay.domain.shifts import CashCount, Closing, Shift, Takings
from publicpay.domain.time import business_date
from tests.fakes import FakeUnitOfWork, QueuedWriteRead
from tests.unit.services_kit import NOW, World


def test_leaving_the_block_without_commit_discards_every_write() -> None:
    world = World()
    payable = world.register()
    with world.uow() as uow:
        stored = uow.payables.by_id(payable.id)
        assert stored is not None
        uow.collect(stored.cancel(actor="unit:1", at=NOW))
        uow.payables.save(stored)
        uow.audit.append("tester", "poke", "x", {}, NOW)
    assert world.payable(payable.id).status is PayableStatus.UNPAID
    assert world.audit_actions() == ["payable.register"]


def test_rollback_discards_and_a_later_commit_keeps_only_what_followed() -> None:
    world = World()
    with world.uow() as uow:
        uow.audit.append("tester", "discarded", "x", {}, NOW)
        uow.rollback()
        uow.audit.append("tester", "kept", "x", {}, NOW)
        uow.commit()
        uow.audit.append("tester", "after commit, not committed", "x", {}, NOW)
    assert world.audit_actions() == ["kept"]


def test_an_exception_in_the_block_rolls_back() -> None:
    world = World()

    def fail_after_a_commit() -> None:
        with world.uow() as uow:
            uow.audit.append("tester", "kept", "x", {}, NOW)
            uow.commit()
            uow.audit.append("tester", "lost", "x", {}, NOW)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_after_a_commit()
    assert world.audit_actions() == ["kept"]


def test_commit_runs_the_real_recorder_on_the_collected_events() -> None:
    world = World()
    payable = world.register()
    assert world.outbox_types() == ["payable.created"]
    assert world.tables.audit[0].target == payable.payment_code


def test_an_aggregate_changed_without_save_is_not_changed_in_the_database() -> None:
    world = World()
    payable = world.register()
    with world.uow() as uow:
        stored = uow.payables.by_id(payable.id)
        assert stored is not None
        stored.status = PayableStatus.CANCELLED
        stored.lines.clear()
        uow.commit()
    again = world.payable(payable.id)
    assert again.status is PayableStatus.UNPAID
    assert len(again.lines) == 1


def test_reading_a_table_with_queued_writes_needs_a_flush_first() -> None:
    world = World()
    payable = world.register()
    with world.uow() as uow:
        stored = uow.payables.by_id(payable.id)
        assert stored is not None
        uow.collect(stored.cancel(actor="unit:1", at=NOW))
        uow.payables.save(stored)
        with pytest.raises(QueuedWriteRead, match="payables"):
            uow.payables.by_code(payable.payment_code)
        uow.flush()
        reread = uow.payables.by_code(payable.payment_code)
        assert reread is not None
        assert reread.status is PayableStatus.CANCELLED
        assert [r.event.type for r in uow.db.tables.outbox][-1] == "payable.cancelled"


def test_a_biz_no_registered_twice_is_refused_at_commit_like_the_unique_key() -> None:
    world = World()
    payable = world.register()
    twin = dataclasses.replace(payable, id=payable.id + 100, payment_code="3" * 20)
    with world.uow() as uow:
        uow.payables.add(twin, payer_id_enc=b"x", payer_id_hash="h", payer_phone_enc=None)
        with pytest.raises(Conflict, match="业务编号已登记"):
            uow.commit()
    assert len(world.tables.payables) == 1


def test_a_journal_that_does_not_balance_is_refused_at_commit() -> None:
    world = World()
    lopsided = object.__new__(Journal)  # past the domain's own check, as a buggy writer would
    for name, value in (
        ("kind", JournalKind.CORRECTION),
        ("ref", "C1"),
        ("postings", (Posting("collection", 100), Posting("suspense", -99))),
    ):
        object.__setattr__(lopsided, name, value)
    with world.uow() as uow:
        uow.ledger.post(lopsided, payable_id=None, business_date=business_date(NOW), at=NOW)
        with pytest.raises(UnbalancedJournal, match="借贷不平"):
            uow.commit()
    assert world.tables.journals == []


def test_ids_are_never_handed_out_twice_even_after_a_rollback() -> None:
    world = World()
    with world.uow() as uow:
        _, first = uow.payables.lookup(1, "NOPE")
    with world.uow() as uow:
        _, second = uow.payables.lookup(1, "NOPE")
    assert second == first + 1


def test_one_transaction_at_a_time_and_none_outside_the_block() -> None:
    world = World()
    outer = world.uow()
    with outer, pytest.raises(RuntimeError, match="second transaction"):
        FakeUnitOfWork(world.db).__enter__()
    with pytest.raises(RuntimeError, match="outside"):
        outer.payables.by_id(1)


def test_json_columns_refuse_what_the_database_could_not_store() -> None:
    world = World()
    with world.uow() as uow, pytest.raises(TypeError):
        uow.audit.append("tester", "bad", "x", {"when": NOW}, NOW)


def test_open_shifts_are_refused_like_the_partial_unique_indexes() -> None:
    world = World()

    def shift(window_id: int, cashier_id: int) -> Shift:
        return Shift(0, window_id, 1, 1, cashier_id, f"c{cashier_id}", 0, NOW)

    with world.uow() as uow:
        first = shift(1, 7)
        uow.shifts.add(first)
        with pytest.raises(Conflict, match="该窗口已开班"):
            uow.shifts.add(shift(1, 8))
        with pytest.raises(Conflict, match="您已在其他窗口开班"):
            uow.shifts.add(shift(2, 7))
        first.close(Closing(CashCount.of({}), Takings.of([])), by_id=7, by="c7", at=NOW)
        uow.shifts.save(first)
        uow.flush()
        assert uow.shifts.add(shift(1, 8)) > first.id
