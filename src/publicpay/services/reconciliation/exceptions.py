"""The exception workbench's use cases: assign, resolve (with a reason and an action), review.

Each action acts (domain notes §7):
- recover (补单) is a workflow: it asks the channel about the order between transactions,
  applies the channel's answer like a late notification (the payable is paid, its receipt
  issued, the business system notified by webhook), then records the resolution;
- refund (原路退款), write off (核销) and accept (确认无误) are planned when resolved (what
  they will book is checked then and shown to the reviewer: a write-off over the limit, a
  refund of an order the platform does not know, are refused) and take effect when a second
  person approves, in the review's transaction: the refund is booked as owed back to the payer
  and handed to the refunds area, which executes it through the original channel
  (`services.refunds.execution.run_due_refunds`); the write-off's journal is posted; an
  acceptance moves no money. The statement line is marked with how it was closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.payments.channels import Channel, TradeState
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.reconciliation import (
    DEFAULT_WRITE_OFF_LIMIT_FEN,
    PLAN_KEYS,
    Action,
    ExceptionRefundBooked,
    LineKind,
    LineResolution,
    MatchClass,
    ReconException,
    plan_write_off,
)
from publicpay.domain.refunds import Refund, RefundKind, RefundStatus
from publicpay.services.payments.orders import apply_trade
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.reconciliation.reconcile import refresh_day
from publicpay.services.reconciliation.refusals import logged_refusal
from publicpay.services.reconciliation.unit_of_work import ReconUnitOfWork
from publicpay.services.refunds.requests import BANK_TRANSFER_CHANNELS, new_refund_no

NOT_FOUND = "差错不存在"


def _locked(uow: ReconUnitOfWork, exception_id: int) -> ReconException:
    item = uow.reconciliation.exception(exception_id, lock=True)
    if item is None:
        raise NotFound(NOT_FOUND)
    return item


def assign_exception(
    uow: ReconUnitOfWork, exception_id: int, assignee: str, *, actor: str, clock: Clock
) -> ReconException:
    with uow:
        item = _locked(uow, exception_id)
        uow.collect(item.assign(assignee, actor=actor, at=clock.now()))
        uow.reconciliation.save_exception(item)
        uow.commit()
    return item


@logged_refusal("exception resolution")
def resolve_exception(
    new_uow: Callable[[], ReconUnitOfWork],
    gateways: Gateways,
    exception_id: int,
    action: Action,
    reason: str,
    *,
    actor: str,
    clock: Clock,
    write_off_limit_fen: int = DEFAULT_WRITE_OFF_LIMIT_FEN,
    card: Callable[[str], bool] | None = None,
) -> ReconException:
    """`card`: 补单 of a window POS card sale (asks the acquirer; True when it is paid now)."""
    with new_uow() as uow:
        item = uow.reconciliation.exception(exception_id)
        if item is None:
            raise NotFound(NOT_FOUND)
        # the rules first (reason, action fits the class), before anything is asked of a channel
        item.resolve(action, reason, actor=actor, at=clock.now())
        plan = _plan(uow, item, action, write_off_limit_fen)
    recovered = (
        _recover(new_uow, gateways, item, clock=clock, card=card)
        if action is Action.RECOVER
        else {}
    )
    with new_uow() as uow:
        item = _locked(uow, exception_id)
        uow.collect(item.resolve(action, reason, actor=actor, at=clock.now(), plan=plan))
        item.detail = {**item.detail, **recovered}
        uow.reconciliation.save_exception(item)
        uow.commit()
    return item


def _plan(
    uow: ReconUnitOfWork, item: ReconException, action: Action, limit_fen: int
) -> dict[str, object] | None:
    """What the action will do once reviewed; refused now when it cannot be done."""
    if action is Action.WRITE_OFF:
        platform_fen = _platform_fen(uow, item)
        return plan_write_off(item, platform_fen=platform_fen, limit_fen=limit_fen).as_dict()
    if action is Action.REFUND:
        return _refund_plan(uow, item)
    return None


def _platform_fen(uow: ReconUnitOfWork, item: ReconException) -> int | None:
    """What the platform booked for an amount-mismatch line: its refund's or its order's."""
    if item.match_class is not MatchClass.AMOUNT_MISMATCH:
        return None
    if item.detail.get("kind") == LineKind.REFUND.value:
        refund = uow.refunds.by_no(item.key)
        return None if refund is None else refund.amount_fen
    order = uow.orders.by_no(item.order_no) if item.order_no else None
    return None if order is None else order.amount_fen


def _refund_plan(uow: ReconUnitOfWork, item: ReconException) -> dict[str, object]:
    """A channel-only payment (长款) or a repeated one goes back through the channel it came
    by, against the platform's order; a paid order's money belongs to its payable (a refund
    request is the way for that), and an order the platform does not know cannot be refunded
    through it (write it off to suspense, then return it by hand)."""
    order = uow.orders.by_no(item.order_no) if item.order_no else None
    if order is None:
        message = (
            f"本平台没有订单 {item.order_no or item.key}，不能原路退款；请核销转待处理后另行退回"
        )
        raise ValidationFailed(message, errors={"action": message})
    if item.match_class is MatchClass.CHANNEL_ONLY and order.status is OrderStatus.SUCCEEDED:
        message = f"订单 {order.order_no} 已缴款入账，请通过退款申请办理退款"
        raise ValidationFailed(message, errors={"action": message})
    if order.channel in BANK_TRANSFER_CHANNELS:
        message = "柜台、现金与银行卡缴款没有原路退款通道，请通过退款申请（银行转账）办理"
        raise ValidationFailed(message, errors={"action": message})
    return {"order_no": order.order_no, "amount_fen": item.amount_fen, "channel": order.channel}


def _recover(
    new_uow: Callable[[], ReconUnitOfWork],
    gateways: Gateways,
    item: ReconException,
    *,
    clock: Clock,
    card: Callable[[str], bool] | None = None,
) -> dict[str, object]:
    """补单: the channel confirms the payment, then it is applied as a notification would be
    (a card sale: the acquirer's terminal host is asked, `card`)."""
    if not item.order_no:
        raise ValidationFailed("该差错没有本平台订单号，不能补单；请核实后退款或核销")
    with new_uow() as uow:
        order = uow.orders.by_no(item.order_no)
    if order is None:
        raise ValidationFailed(f"本平台没有订单 {item.order_no}，不能补单")
    if order.channel == Channel.CARD.value:
        if card is None or not card(order.order_no):
            raise ValidationFailed(f"收单机构未确认银行卡交易 {order.order_no} 成功，不能补单")
    elif order.status is not OrderStatus.SUCCEEDED:
        gateway = gateways.for_account(Channel(order.channel), order.channel_account_id)
        result = gateway.query(order.order_no)
        if result.state is not TradeState.SUCCEEDED:
            raise ValidationFailed(f"渠道查询订单 {order.order_no} 未支付成功，不能补单")
        apply_trade(new_uow(), result, clock=clock)
    return {"recovered_order": item.order_no}


@logged_refusal("exception review")
def review_exception(
    uow: ReconUnitOfWork, exception_id: int, approved: bool, *, actor: str, clock: Clock
) -> ReconException:
    """A second person approves (the action takes effect, in this transaction) or sends it
    back (it is open again, nothing was done). A refusal (one's own resolution, nothing to
    review) is logged and changes nothing."""
    now = clock.now()
    with uow:
        item = _locked(uow, exception_id)
        uow.collect(item.review(approved, actor=actor, at=now))
        if approved and item.action is Action.REFUND:
            uow.collect([_refund(uow, item, actor=actor, clock=clock)])
        _settle_day(uow, item)
        resolution = item.resolution
        if resolution is not None and item.line_id is not None:
            if item.action is Action.RECOVER:
                uow.reconciliation.mark_line_matched(item.line_id)  # cleared with its day
            uow.reconciliation.mark_line(item.line_id, resolution)
        uow.commit()
    return item


def _refund(
    uow: ReconUnitOfWork, item: ReconException, *, actor: str, clock: Clock
) -> ExceptionRefundBooked:
    planned = item.detail.get(PLAN_KEYS[Action.REFUND])
    assert isinstance(planned, Mapping)
    order = uow.orders.by_no(str(planned["order_no"]))
    if order is None:
        raise NotFound(f"订单 {planned['order_no']} 不存在")
    if item.match_class is MatchClass.CHANNEL_ONLY and order.status is OrderStatus.SUCCEEDED:
        raise Conflict(
            f"订单 {order.order_no} 已缴款入账（已补单），不能再原路退款；请退回重新处理"
        )
    now = clock.now()
    amount = planned["amount_fen"]
    assert isinstance(amount, int)
    refund = Refund(
        id=0,
        refund_no=new_refund_no(now),
        payable_id=order.payable_id,
        order_id=order.id,
        channel=order.channel,
        amount_fen=amount,
        reason=f"对账差错退款（差错 #{item.id} {item.match_class.label}）"[:200],
        kind=RefundKind.DUPLICATE,  # money that settles no payable, like a second payment
        status=RefundStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        requested_by=actor,
    )
    item.detail = {**item.detail, "refund_no": refund.refund_no}
    return ExceptionRefundBooked(item.id, item.business_day, refund, order.order_no, actor, now)


def _settle_day(uow: ReconUnitOfWork, item: ReconException) -> None:
    """The day's record follows the review at once: a recovered line counts as matched, and
    the day is reconciled once none of its exceptions is unresolved (open again when one is
    sent back)."""
    recovered = item.resolution is LineResolution.RECOVERED
    uow.reconciliation.save_exception(item)
    uow.flush()
    refresh_day(
        uow.reconciliation,
        item.source,
        item.business_day,
        recovered=recovered and item.line_id is not None,
    )
