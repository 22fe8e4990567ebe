"""The payers' message queue, the webhook outbox and the receipt queue have no foreign keys (0027,
0030: referential checks on every payment); `publicpay check` proves what they point at."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from publicpay.adapters.db.events import events
from publicpay.adapters.db.messages import payer_messages
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.receipts.tables import receipt_jobs


@pytest.fixture(scope="module")
def engine(schema_engine: Engine) -> Engine:
    return schema_engine


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


def test_an_event_or_receipt_job_without_its_unit_or_payable_is_reported_by_the_check(
    engine: Engine,
) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        before = run_checks(conn).violations
        assert not [v for v in before if "事件" in v or "开票任务" in v]
        conn.execute(
            insert(events).values(
                event_id="evt-orphan-1",
                unit_id=876_543_210,
                type="payable.paid",
                data={},
                created_at=now,
                delivery="none",
                attempts=0,
            )
        )
        conn.execute(
            insert(receipt_jobs).values(
                kind="issue",
                ref="P-ORPHAN-1",
                payable_id=765_432_109,
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
        report = run_checks(conn)
    assert any("事件" in v and "876543210" in v for v in report.violations)
    assert any("开票任务" in v and "765432109" in v for v in report.violations)
