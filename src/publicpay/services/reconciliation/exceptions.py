"""The exception workbench's use cases: assign, resolve (with a reason and an action), review.

Recovering a channel-only payment (补单) is a workflow: it asks the channel about the order
between transactions, applies the channel's answer like a late notification (the payable is
paid, its receipt issued, the business system notified by webhook), then records the
resolution. The other actions record the decision; the second person's review closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payments.channels import Channel, TradeState
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.reconciliation import Action, ReconException
from publicpay.services.payments.orders import apply_trade
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.reconciliation.unit_of_work import ReconUnitOfWork

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


def resolve_exception(
    new_uow: Callable[[], ReconUnitOfWork],
    gateways: Gateways,
    exception_id: int,
    action: Action,
    reason: str,
    *,
    actor: str,
    clock: Clock,
) -> ReconException:
    with new_uow() as uow:
        item = uow.reconciliation.exception(exception_id)
        if item is None:
            raise NotFound(NOT_FOUND)
        # the rules first (reason, action fits the class), before anything is asked of a channel
        item.resolve(action, reason, actor=actor, at=clock.now())
    recovered = _recover(new_uow, gateways, item, clock=clock) if action is Action.RECOVER else {}
    with new_uow() as uow:
        item = _locked(uow, exception_id)
        uow.collect(item.resolve(action, reason, actor=actor, at=clock.now()))
        item.detail = {**item.detail, **recovered}
        uow.reconciliation.save_exception(item)
        uow.commit()
    return item


def _recover(
    new_uow: Callable[[], ReconUnitOfWork],
    gateways: Gateways,
    item: ReconException,
    *,
    clock: Clock,
) -> dict[str, object]:
    """补单: the channel confirms the payment, then it is applied as a notification would be."""
    if not item.order_no:
        raise ValidationFailed("该差错没有本平台订单号，不能补单；请核实后退款或核销")
    with new_uow() as uow:
        order = uow.orders.by_no(item.order_no)
    if order is None:
        raise ValidationFailed(f"本平台没有订单 {item.order_no}，不能补单")
    if order.status is not OrderStatus.SUCCEEDED:
        gateway = gateways.for_account(Channel(order.channel), order.channel_account_id)
        result = gateway.query(order.order_no)
        if result.state is not TradeState.SUCCEEDED:
            raise ValidationFailed(f"渠道查询订单 {order.order_no} 未支付成功，不能补单")
        apply_trade(new_uow(), result, clock=clock)
    return {"recovered_order": item.order_no}


def review_exception(
    uow: ReconUnitOfWork, exception_id: int, approved: bool, *, actor: str, clock: Clock
) -> ReconException:
    with uow:
        item = _locked(uow, exception_id)
        uow.collect(item.review(approved, actor=actor, at=clock.now()))
        uow.reconciliation.save_exception(item)
        if approved and item.action is Action.RECOVER and item.line_id is not None:
            uow.reconciliation.mark_line_matched(item.line_id)  # it is cleared with the day
        uow.commit()
    return item
