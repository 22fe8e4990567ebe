"""The demo's history (issue 10): the past weeks of payments the demo writes on first start, so
that the statistics' trends have something to show — consistent with everything else: the
ledger balances, the statistics' summaries equal the payments, every payment has its receipt,
`publicpay check` passes and no supervision alert turns red; written once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from publicpay.adapters.db.queries import statistics as stats
from publicpay.adapters.db.queries.alerts import DETECTORS
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.demo.history import seed_history
from publicpay.demo.stack import Stack, build_stack
from publicpay.domain.access import Actor, Role
from publicpay.domain.statistics import Dimension, Period
from publicpay.domain.time import business_date
from publicpay.settings import Mode, Settings


@pytest.fixture(scope="module")
def demo(new_database_url: Any) -> Iterator[Stack]:
    built = build_stack(
        Settings(mode=Mode.TEST, database_url=new_database_url(), public_base_url="http://x")
    )
    yield built
    built.close()


def test_the_history_fills_every_past_day_and_keeps_the_books(demo: Stack) -> None:
    c = demo.container
    made = seed_history(c, days=14)
    assert made > 14 * 5
    today = business_date(c.clock.now())
    actor = Actor(0, "t", Role.FINANCE_REVIEWER, c.settings.region_code, None)
    period = Period(today - timedelta(days=14), today - timedelta(days=1))
    with c.read_uow() as uow:
        trend = stats.trend(uow.connection, actor, period)
        totals = stats.totals(uow.connection, actor, period)
        channels = {g.key for g in stats.grouped(uow.connection, actor, period, Dimension.CHANNEL)}
        windows = stats.grouped(uow.connection, actor, period, Dimension.WINDOW)
        report = run_checks(uow.connection, c.clock.now())
    assert all(b.figures.count > 0 for b in trend), "a past day without payments"
    assert totals.count == made
    assert channels == {"alipay", "wechat", "unionpay", "counter", "cash"}
    assert any(g.drill for g in windows), "no payment taken at a window"
    assert report.ok, report.violations


def test_the_history_raises_no_alert_and_is_written_once(demo: Stack) -> None:
    c = demo.container
    seed_history(c, days=14)
    assert seed_history(c, days=14) == 0
    with c.read_uow() as uow:
        found = {
            kind: d.find(uow.connection, c.clock.now(), c.settings.region_code)
            for kind, d in DETECTORS.items()
        }
    # the demo seeds a kiosk low on paper on purpose (the devices screen shows each state); the
    # history has no devices
    assert {k: f for k, f in found.items() if f and not k.startswith("device_")} == {}
