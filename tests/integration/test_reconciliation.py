"""T+1 reconciliation over the emulated channels: a day's statement fetched, stored and matched;
re-runs change nothing; a corrected file supersedes with an audit trail; bad files refused."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.reconciliation.tables import recon_exceptions, statements
from publicpay.adapters.reconciliation.engine import _orders, _orders_copied
from publicpay.domain.reconciliation import StatementRefused
from publicpay.domain.time import SHANGHAI
from tests.integration.fault_kit import fault
from tests.integration.recon_kit import (
    count,
    exceptions_for,
    import_file,
    line_of,
    run_day,
    statement_bytes,
    today,
)
from tests.integration.test_payment_flow import open_order, pay_with_alipay, register, scan


def test_a_day_is_matched_and_a_lost_notification_is_a_channel_only_exception(stack, api, payer):
    paid = pay_with_alipay(stack, register(api, payer)["payment_code"])
    lost_code = register(api, payer)["payment_code"]
    lost = open_order(stack, lost_code)
    fault(stack, "alipay", "lose_notify", lost["order_no"])
    assert scan(stack, lost["qr_code"]).status_code == 200

    day = run_day(stack, "alipay")

    assert day.lines >= 2
    assert line_of(stack, paid["order_no"]).match_class == "matched"
    assert line_of(stack, lost["order_no"]).match_class == "channel_only"
    [exception] = exceptions_for(stack, lost["order_no"])
    assert (exception.match_class, exception.status) == ("channel_only", "open")
    assert day.status == "exceptions"


def test_running_a_day_again_changes_nothing(stack, api, payer):
    pay_with_alipay(stack, register(api, payer)["payment_code"])
    first = run_day(stack, "alipay")
    before = (count(stack, statements), count(stack, recon_exceptions))
    again = run_day(stack, "alipay")
    assert (count(stack, statements), count(stack, recon_exceptions)) == before
    assert (again.lines, again.counts) == (first.lines, first.counts)


def test_a_corrected_file_supersedes_with_an_audit_trail(stack, api, payer):
    order = pay_with_alipay(stack, register(api, payer)["payment_code"])
    run_day(stack, "alipay")
    first = line_of(stack, order["order_no"]).digest
    pay_with_alipay(stack, register(api, payer)["payment_code"])
    import_file(stack, "alipay", statement_bytes(stack, "alipay"))
    assert line_of(stack, order["order_no"]).digest != first
    with stack.container.engines.read.connect() as conn:
        actions = [r.action for r in conn.execute(audit_log.select())]
    assert "recon.statement.supersede" in actions


def test_a_statement_of_another_merchant_is_refused_and_nothing_is_stored(stack):
    from tests.unit.statement_kit import alipay_zip

    before = count(stack, statements)
    with pytest.raises(StatementRefused, match="商户"):
        import_file(stack, "alipay", alipay_zip(pid="2088999999999999"))
    assert count(stack, statements) == before


def test_wechat_and_unionpay_days_reconcile(stack):
    for source in ("wechat", "unionpay"):
        day = run_day(stack, source)
        assert day.status in ("reconciled", "exceptions")


def test_the_worker_runs_yesterday_once_per_cluster(stack):
    from datetime import time, timedelta

    from publicpay.adapters.reconciliation.engine import PolarsEngine
    from publicpay.domain.reconciliation import Source
    from publicpay.services.reconciliation.reconcile import RETRY_AFTER, reconcile_due
    from tests.integration.recon_kit import FixedClock, beijing, today

    c = stack.container
    clock = FixedClock(beijing(today(), time(10, 30)))  # after the channels publish, any hour
    reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=clock)
    again = reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=clock)
    assert again == 0
    with c.uow() as uow:
        assert uow.reconciliation.day(Source.ALIPAY, today() - timedelta(days=1)) is not None
        assert not uow.reconciliation.claim_day(
            Source.ALIPAY, today() - timedelta(days=1), clock.now(), RETRY_AFTER
        )


def test_the_orders_copied_by_postgresql_are_the_orders_read_as_rows(stack, api, payer):
    pay_with_alipay(stack, register(api, payer)["payment_code"])
    open_order(stack, register(api, payer)["payment_code"])  # unpaid: no payment time
    run_day(stack, "alipay")  # a statement whose lines name orders (elsewhere for id 0)
    since = datetime.combine(today() - timedelta(days=3), time(), SHANGHAI)
    args = ("alipay", since, since + timedelta(days=5), 0)
    with stack.container.uow() as uow:
        copied = uow.reconciliation.platform_orders_csv(*args)
        rows = uow.reconciliation.platform_orders(*args)
    if stack.container.settings.database_url.startswith("sqlite"):
        assert copied is None  # SQLite: the rows are read
        return
    assert copied is not None
    from_rows = _orders(rows)
    assert from_rows.height >= 2
    assert from_rows["elsewhere"].any()
    assert _orders_copied(copied).sort("order_id").equals(from_rows.sort("order_id"))
