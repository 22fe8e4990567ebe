"""Writes queued for one statement (PostgreSQL, adapters/db/dialect.pg_defer) behave as if they
had run at once: reads see them, a row written twice keeps the second write, a rollback drops
them. On SQLite the same calls run at once, so these hold there trivially."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.domain.payables import PayableStatus
from tests.conftest import payable_body
from tests.support.client import SignedClient


def _registered(api: SignedClient, payer: dict[str, str]) -> str:
    response = api.post("/api/v1/payables", payable_body(payer))
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def test_a_row_saved_twice_in_one_transaction_keeps_the_second_write(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = _registered(api, payer)
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code, lock=True)
        payable.refunded_fen = 1
        uow.payables.save(payable)
        payable.refunded_fen = 2
        uow.payables.save(payable)
        uow.commit()
    with stack.container.read_uow() as uow:
        row = uow.connection.execute(
            select(payables.c.refunded_fen, payables.c.version).where(
                payables.c.payment_code == code
            )
        ).one()
    assert row.refunded_fen == 2
    assert row.version == 3  # registered at 1, then two saves


def test_reads_in_the_same_transaction_see_queued_writes(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = _registered(api, payer)
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code, lock=True)
        payable.status = PayableStatus.CANCELLED
        uow.payables.save(payable)
        through_repository = uow.payables.by_code(code)
        through_sqlalchemy = uow.connection.execute(
            select(payables.c.status).where(payables.c.payment_code == code)
        ).scalar_one()
        uow.rollback()
    assert through_repository is not None
    assert through_repository.status is PayableStatus.CANCELLED
    assert through_sqlalchemy == "cancelled"


def test_queued_writes_are_dropped_with_a_rollback(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = _registered(api, payer)
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code, lock=True)
        payable.status = PayableStatus.CANCELLED
        uow.payables.save(payable)
    with stack.container.uow() as uow:
        uow.commit()  # a later transaction on a pooled connection sends nothing left over
    with stack.container.read_uow() as uow:
        stored = uow.payables.by_code(code)
    assert stored is not None
    assert stored.status is PayableStatus.UNPAID
