"""Writes nobody reads back are queued by the unit of work and sent together at commit: one
statement on PostgreSQL, in order on SQLite — the same outcome on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from publicpay.adapters.db.sql import QueuedWriteRead
from publicpay.demo.stack import Stack
from publicpay.domain.errors import Conflict
from publicpay.domain.payables import PayableStatus
from tests.conftest import payable_body
from tests.support.client import SignedClient


def _payable(stack: Stack, api: SignedClient, payer: dict[str, str]) -> Any:
    created = api.post("/api/v1/payables", payable_body(payer))
    assert created.status_code == 201, created.text
    code = created.json()["payment_code"]
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code)
    assert payable is not None
    return payable


def _cancel(uow: Any, code: str, stack: Stack) -> Any:
    """Cancel the payable in `uow` (its new state queued, not sent)."""
    locked = uow.payables.by_code(code, lock=True)
    assert locked is not None
    uow.collect(locked.cancel(actor="test", at=stack.container.clock.now()))
    uow.payables.save(locked)
    return locked


def test_reading_a_table_with_queued_writes_is_refused_until_flushed(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = _payable(stack, api, payer)
    with stack.container.uow() as uow:
        _cancel(uow, payable.payment_code, stack)
        with pytest.raises(QueuedWriteRead):
            uow.payables.by_code(payable.payment_code)
        uow.flush()
        seen = uow.payables.by_code(payable.payment_code)
        assert seen is not None
        assert seen.status is PayableStatus.CANCELLED
    # not committed: nothing changed
    with stack.container.read_uow() as uow:
        after = uow.payables.by_code(payable.payment_code)
    assert after is not None
    assert after.status is PayableStatus.UNPAID


def test_two_writes_of_one_row_in_one_commit_both_take_effect(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = _payable(stack, api, payer)
    with stack.container.uow() as uow:
        locked = uow.payables.by_code(payable.payment_code, lock=True)
        assert locked is not None
        locked.refunded_fen = 0
        uow.payables.save(locked)  # first write of the row
        uow.collect(locked.cancel(actor="test", at=stack.container.clock.now()))
        uow.payables.save(locked)  # second write: its own statement, after the first
        uow.commit()
    with stack.container.read_uow() as uow:
        after = uow.payables.by_code(payable.payment_code)
    assert after is not None
    assert after.status is PayableStatus.CANCELLED


def test_a_rolled_back_unit_of_work_sends_nothing_it_queued(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = _payable(stack, api, payer)
    with stack.container.uow() as uow:
        _cancel(uow, payable.payment_code, stack)
    with stack.container.read_uow() as uow:
        after = uow.payables.by_code(payable.payment_code)
        events = uow.events.since(payable.unit_id, 0, 10_000)
    assert after is not None
    assert after.status is PayableStatus.UNPAID
    cancelled = [e for e in events if e.data.get("payment_code") == payable.payment_code]
    assert [e.type for e in cancelled] == ["payable.created"]


def test_a_biz_no_taken_meanwhile_is_a_conflict_at_commit_on_both_databases(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = _payable(stack, api, payer)
    with stack.container.uow() as uow:
        twin = uow.payables.by_code(payable.payment_code)
        assert twin is not None
        twin.id = uow.payables.next_id()
        twin.payment_code = twin.payment_code[:-6] + "99999" + twin.payment_code[-1]
        uow.payables.add(twin, payer_id_enc=b"x", payer_id_hash="h", payer_phone_enc=None)
        with pytest.raises(Conflict):
            uow.commit()
