"""The allowances of callers without credentials (api.rate_limits.AnonymousLimits)."""

from __future__ import annotations

import pytest

from publicpay.api.rate_limits import (
    AnonymousAllowance,
    AnonymousLimited,
    AnonymousLimits,
    FailureBuckets,
    LookupsLimited,
    OrdersLimited,
)
from publicpay.domain.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _limits(clock: Clock, **allowance: float) -> AnonymousLimits:
    return AnonymousLimits(AnonymousAllowance(**allowance), clock=clock)


def test_failure_buckets_spend_only_on_failures_and_refuse_before_answering() -> None:
    clock = Clock()
    buckets = FailureBuckets(2, 1.0, clock=clock)
    for _ in range(5):
        buckets.check("a")  # checking spends nothing
    buckets.fail("a")
    buckets.fail("a")
    with pytest.raises(RateLimited, match="过于频繁") as refused:
        buckets.check("a")
    assert refused.value.retry_after_s == 1
    buckets.fail("a")  # never below zero: one second brings one back
    buckets.check("b")
    clock.now += 1.0
    buckets.check("a")


def test_unknown_codes_block_the_address_not_the_others() -> None:
    clock = Clock()
    limits = _limits(clock, misses_per_hour=2)
    limits.lookup("10.0.0.1")
    limits.missed("10.0.0.1")
    limits.missed("10.0.0.1")
    with pytest.raises(AnonymousLimited, match="不存在的缴款码") as refused:
        limits.lookup("10.0.0.1")
    assert refused.value.retry_after_s == 1800
    limits.lookup("10.0.0.2")
    clock.now += 1800
    limits.lookup("10.0.0.1")


def test_lookups_refill_at_the_rate() -> None:
    clock = Clock()
    limits = _limits(clock, burst=2, rate_per_s=1.0)
    limits.lookup("a")
    limits.request("a")
    with pytest.raises(AnonymousLimited, match="访问过于频繁"):
        limits.lookup("a")
    clock.now += 1.0
    limits.lookup("a")


def test_wrong_check_codes_count_per_caller_and_per_receipt() -> None:
    clock = Clock()
    limits = _limits(clock, misses_per_hour=10, receipt_failures_per_hour=3)
    for caller in ("a", "b", "c"):  # three callers, one wrong code each, on one receipt
        attempts = limits.attempts(caller, "33010126-0000000001")
        attempts.check()
        attempts.failed()
    with pytest.raises(LookupsLimited, match="校验码错误次数过多"):
        limits.attempts("d", "33010126-0000000001").check()  # a fresh caller, same receipt
    limits.attempts("d", "33010126-0000000002").check()  # another receipt is free
    for n in range(9):
        limits.attempts("a", f"r{n}").failed()
    with pytest.raises(LookupsLimited):
        limits.attempts("a", "33010126-0000000009").check()  # "a" used its ten


def test_orders_per_address_per_hour() -> None:
    clock = Clock()
    limits = _limits(clock, orders_per_hour=2)
    limits.order("a")
    limits.order("a")
    with pytest.raises(OrdersLimited, match="创建支付订单过于频繁") as refused:
        limits.order("a")
    assert refused.value.retry_after_s == 1800
    limits.order("b")
