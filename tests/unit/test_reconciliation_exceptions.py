"""The exception workflow (差错处理): resolve with a reason and an allowed action, a second
person reviews, held items age into exceptions or are released."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from publicpay.domain.errors import Forbidden, InvalidTransition, ValidationFailed
from publicpay.domain.reconciliation import (
    Action,
    ExceptionStatus,
    MatchClass,
    ReconException,
    Source,
)

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _exception(cls: MatchClass = MatchClass.CHANNEL_ONLY) -> ReconException:
    status = ExceptionStatus.HOLDING if cls is MatchClass.HOLDING else ExceptionStatus.OPEN
    return ReconException(
        1, Source.ALIPAY, date(2026, 12, 5), cls, "P1", 100, status, NOW, order_no="P1"
    )


def test_resolving_without_a_reason_is_refused_and_changes_nothing():
    exc = _exception()
    with pytest.raises(ValidationFailed, match="原因"):
        exc.resolve(Action.RECOVER, "  ", actor="li", at=NOW)
    assert exc.status is ExceptionStatus.OPEN
    assert exc.action is None


def test_an_action_that_does_not_fit_the_class_is_refused():
    with pytest.raises(ValidationFailed, match="不能用"):
        _exception(MatchClass.PLATFORM_ONLY).resolve(Action.RECOVER, "补单处理", actor="li", at=NOW)


def test_reviewing_your_own_resolution_is_refused():
    exc = _exception()
    exc.resolve(Action.RECOVER, "渠道已付款补单", actor="li", at=NOW)
    with pytest.raises(Forbidden, match="另一人"):
        exc.review(True, actor="li", at=NOW)
    assert exc.status is ExceptionStatus.RESOLVED


def test_a_second_person_closes_or_sends_back():
    exc = _exception()
    exc.resolve(Action.ACCEPT, "渠道多记一笔测试款", actor="li", at=NOW)
    exc.review(False, actor="wang", at=NOW)
    assert exc.status is ExceptionStatus.OPEN
    exc.resolve(Action.RECOVER, "渠道已付款补单", actor="li", at=NOW)
    exc.review(True, actor="wang", at=NOW)
    assert exc.status is ExceptionStatus.CLOSED
    assert exc.reviewed_by == "wang"
    with pytest.raises(InvalidTransition):
        exc.resolve(Action.ACCEPT, "再次处理一下", actor="li", at=NOW)


def test_held_items_age_into_platform_only_or_are_released():
    aged = _exception(MatchClass.HOLDING)
    aged.age_out()
    assert (aged.status, aged.match_class) == (ExceptionStatus.OPEN, MatchClass.PLATFORM_ONLY)
    released = _exception(MatchClass.HOLDING)
    released.release()
    assert released.status is ExceptionStatus.RELEASED
    assert released.age_days(date(2026, 12, 8)) == 3
