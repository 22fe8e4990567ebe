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


def test_a_write_off_books_the_difference_to_income_loss_or_suspense_within_the_limit():
    from publicpay.domain.reconciliation import WriteOff, WriteOffOverLimit, plan_write_off

    more = _exception(MatchClass.AMOUNT_MISMATCH)  # the channel booked 100, the order says 97
    more.detail = {"kind": "payment"}
    assert plan_write_off(more, platform_fen=97, limit_fen=10) == WriteOff(
        "channel_receivable:alipay", "write_off_income", 3, False
    )
    assert plan_write_off(more, platform_fen=102, limit_fen=10) == WriteOff(
        "write_off_loss", "channel_receivable:alipay", 2, False
    )
    with pytest.raises(WriteOffOverLimit):
        plan_write_off(more, platform_fen=50, limit_fen=10)
    with pytest.raises(ValidationFailed, match="没有差额"):
        plan_write_off(more, platform_fen=100, limit_fen=10)
    unclaimed = _exception(MatchClass.CHANNEL_ONLY)
    assert plan_write_off(unclaimed, platform_fen=None, limit_fen=10) == WriteOff(
        "channel_receivable:alipay", "suspense", 100, True
    )


def test_an_approved_write_off_is_posted_and_a_sent_back_one_forgets_its_plan():
    from publicpay.domain.reconciliation import DifferenceWrittenOff, WriteOff

    plan = WriteOff("write_off_loss", "channel_receivable:alipay", 2, False).as_dict()
    exc = _exception(MatchClass.AMOUNT_MISMATCH)
    exc.resolve(Action.WRITE_OFF, "尾差核销", actor="li", at=NOW, plan=plan)
    assert exc.detail["write_off"] == plan
    exc.review(False, actor="wang", at=NOW)
    assert "write_off" not in exc.detail
    exc.resolve(Action.WRITE_OFF, "尾差核销", actor="li", at=NOW, plan=plan)
    events = exc.review(True, actor="wang", at=NOW)
    [posted] = [e for e in events if isinstance(e, DifferenceWrittenOff)]
    assert posted.write_off.amount_fen == 2
    assert exc.resolution is not None
    assert exc.resolution.value == "written_off"
