"""Carts (`services.payments.carts`) on the fakes: one channel order for several payables, each
settled by its own order for exactly its amount (journal and receipt job per payable); refused
carts change nothing; a payable paid meanwhile takes its share as a duplicate to refund; an
amount the cart did not ask for is never booked; open carts are recovered."""

from __future__ import annotations

import pytest

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.carts import CartMixesAccounts, CartStatus
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import Outcome
from publicpay.services.payments.carts import (
    Aggregate,
    apply_cart_trade,
    open_cart_order,
    recover_open_carts,
)
from tests.unit.services_kit import PLATE, POLICY, SCHOOL, SCHOOL_ONLY, World, counts, line


def _open(world: World, *codes: str) -> str:
    opened = open_cart_order(
        world.uow(), world.gateways, codes, Channel.ALIPAY, clock=world.clock, policy=POLICY
    )
    return opened.order.order_no


def _paid(world: World, cart_no: str, amount_fen: int) -> Outcome:
    result = TradeResult(
        cart_no, TradeState.SUCCEEDED, amount_fen, "T" + cart_no, world.clock.now()
    )
    return apply_cart_trade(world.uow(), result, clock=world.clock)


def test_a_cart_pays_each_payable_with_its_own_order_for_exactly_its_amount() -> None:
    world = World()
    plate, tuition = (
        world.register(line(PLATE.code)),
        world.register(line(SCHOOL_ONLY.code), unit_id=SCHOOL.id),
    )
    cart_no = _open(world, plate.payment_code, tuition.payment_code)
    (cart,) = world.tables.carts.values()
    assert cart.amount_fen == plate.amount_fen + tuition.amount_fen
    assert _paid(world, cart_no, cart.amount_fen) is Outcome.PAID
    for payable in (plate, tuition):
        stored = world.payable(payable.id)
        assert stored.paid_fen == payable.amount_fen
        (order,) = [o for o in world.tables.orders.values() if o.payable_id == payable.id]
        assert (order.cart_id, order.amount_fen) == (cart.id, payable.amount_fen)
        assert world.db.balances(payable.id)  # its own journal
    assert len(world.tables.receipt_jobs) == 2
    assert _paid(world, cart_no, cart.amount_fen) is Outcome.ALREADY_APPLIED


def test_bad_carts_change_nothing() -> None:
    world = World()
    a, b = world.register(line(PLATE.code)), world.register(line(PLATE.code))
    before = counts(world.tables)
    with pytest.raises(ValidationFailed):
        _open(world, a.payment_code)
    with pytest.raises(ValidationFailed):
        _open(world, a.payment_code, a.payment_code)
    assert counts(world.tables) == before
    world.gateways.unit_accounts[SCHOOL.id] = 7
    school = world.register(line(SCHOOL_ONLY.code), unit_id=SCHOOL.id)
    before = counts(world.tables)
    with pytest.raises(CartMixesAccounts):
        _open(world, a.payment_code, school.payment_code)
    assert counts(world.tables) == before
    world.pay(b)
    before = counts(world.tables)
    with pytest.raises(ValidationFailed, match="不能再支付"):
        _open(world, a.payment_code, b.payment_code)
    assert counts(world.tables) == before


def test_a_payable_paid_elsewhere_meanwhile_takes_its_share_as_a_duplicate() -> None:
    world = World()
    a, b = world.register(line(PLATE.code)), world.register(line(PLATE.code))
    cart_no = _open(world, a.payment_code, b.payment_code)
    world.pay(b)  # at a window, before the cart's payment arrives
    (cart,) = world.tables.carts.values()
    assert _paid(world, cart_no, cart.amount_fen) is Outcome.DUPLICATE_REFUNDING
    assert world.payable(a.id).paid_fen == a.amount_fen
    assert [r.amount_fen for r in world.tables.refunds.values()] == [b.amount_fen]


def test_another_amount_is_never_booked() -> None:
    world = World()
    a, b = world.register(line(PLATE.code)), world.register(line(PLATE.code))
    cart_no = _open(world, a.payment_code, b.payment_code)
    assert _paid(world, cart_no, 1) is Outcome.AMOUNT_MISMATCH
    (cart,) = world.tables.carts.values()
    assert cart.status is CartStatus.FAILED
    assert world.payable(a.id).paid_fen is None
    assert [d.kind for d in world.tables.discrepancies] == ["amount_mismatch"]


def test_open_carts_are_recovered_from_the_channel_or_closed_when_expired() -> None:
    world = World()
    a, b, c, d = (world.register(line(PLATE.code)) for _ in range(4))
    paid_no = _open(world, a.payment_code, b.payment_code)
    _open(world, c.payment_code, d.payment_code)
    (paid, unpaid) = sorted(world.tables.carts.values(), key=lambda cart: cart.id)
    alipay = world.gateways.get(Channel.ALIPAY)
    alipay.trades[paid_no] = TradeResult(paid_no, TradeState.SUCCEEDED, paid.amount_fen, "T1")
    world.clock.advance(seconds=POLICY.order_timeout_s + 60)
    assert recover_open_carts(world.uow, world.gateways, clock=world.clock, older_than_s=60) == 2
    assert world.payable(a.id).paid_fen == a.amount_fen
    assert world.tables.carts[unpaid.id].status is CartStatus.CLOSED


def test_an_aggregate_cart_nobody_opened_is_closed_when_it_expires() -> None:
    world = World()
    a, b = world.register(line(PLATE.code)), world.register(line(PLATE.code))
    opened = open_cart_order(
        world.uow(), world.gateways, (a.payment_code, b.payment_code), None,
        clock=world.clock, policy=POLICY, aggregate=Aggregate(world.uow().box, "https://pp"),
    )  # fmt: skip
    assert opened.order.qr_code.startswith("https://pp/pay/a/")
    (cart,) = world.tables.carts.values()
    assert (cart.channel, cart.channel_account_id) == ("aggregate", None)
    world.clock.advance(seconds=POLICY.order_timeout_s + 60)
    assert recover_open_carts(world.uow, world.gateways, clock=world.clock, older_than_s=60) == 1
    assert world.tables.carts[cart.id].status is CartStatus.CLOSED
    assert world.gateways.get(Channel.ALIPAY).queried == []  # no channel was ever asked
