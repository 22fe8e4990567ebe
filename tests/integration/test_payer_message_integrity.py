"""The payers' message queue has no foreign keys (0027: two referential checks a payment were 7 %
of a registration's database work); `publicpay check` proves each message's payable and unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from publicpay.adapters.db import migrate
from publicpay.adapters.db.engine import make_engines
from publicpay.adapters.db.messages import payer_messages
from publicpay.adapters.db.queries.invariants import run_checks


@pytest.fixture(scope="module")
def engine(new_database_url: Any) -> Iterator[Engine]:
    url = new_database_url()
    migrate.upgrade(url)
    engines = make_engines(url)
    yield engines.write
    engines.dispose()


def test_a_message_without_its_payable_is_reported_by_the_check(engine: Engine) -> None:
    with engine.begin() as conn:
        assert run_checks(conn).ok
        conn.execute(
            insert(payer_messages).values(
                payable_id=987_654_321,
                unit_id=1,
                kind="registered",
                status="pending",
                attempts=0,
                created_at=datetime.now(UTC),
            )
        )
        report = run_checks(conn)
    assert any("付款人消息" in v and "987654321" in v for v in report.violations)
