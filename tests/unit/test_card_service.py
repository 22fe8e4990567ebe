"""Bank-card payments at a window's terminal (`services.payments.card`) on the fakes, with a
scripted acquirer: approved, declined, a lost answer queried (one sale, never two), an outcome
still unknown queried before another sale, a sale approved for a payable paid meanwhile voided."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from publicpay.domain.access import Actor, Role
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, Conflict, ValidationFailed
from publicpay.domain.payments.cards import CardResult, CardSaleRequest, CardState
from publicpay.domain.payments.orders import OrderStatus
from publicpay.domain.units import Site, SiteKind, Window
from publicpay.services.payments.card import (
    CardOutcome,
    CardOutcomeUnknown,
    CardPolling,
    pay_by_card,
)
from publicpay.services.shifts.opening import OpenShift, open_shift
from tests.unit.services_kit import OFFICE, POLICY, REGION, World

HALL = Site(1, "S01", "车管所业务大厅", SiteKind.SERVICE_HALL, REGION, OFFICE.id)
WINDOW = Window(1, HALL.id, "01")
TID = "33010501"
POS = Device(1, "dev_pos_01", DeviceKind.POS, "1号窗POS", HALL.id, WINDOW.id, OFFICE.id, None,
             card_terminal_id=TID)  # fmt: skip
CASHIER = Actor(7, "cashier7", Role.CASHIER, None, OFFICE.id)
NO_WAIT = CardPolling(queries=2, interval_s=0, sleep=lambda _s: None)


@dataclass
class ScriptedHost:
    """The acquirer: `sale_answers` answered in turn (an exception is raised), queries answer
    from what the host approved (`approved`), or raise while `unreachable`."""

    sale_answers: list[str] = field(default_factory=lambda: ["00"])
    unreachable: bool = False
    sales: list[CardSaleRequest] = field(default_factory=list)
    voids: list[str] = field(default_factory=list)
    approved: dict[str, int] = field(default_factory=dict)

    def sale(self, request: CardSaleRequest) -> CardResult:
        self.sales.append(request)
        code = self.sale_answers.pop(0) if self.sale_answers else "00"
        if code in ("00", "lost"):
            self.approved[request.order_no] = request.amount_fen
        if code == "lost" or self.unreachable:
            raise ChannelUnavailable("收单机构无应答（ReadTimeout）")
        return self._result(request.order_no, code)

    def query(self, terminal_id: str, order_no: str) -> CardResult:
        if self.unreachable:
            raise ChannelUnavailable("收单机构无应答（ConnectError）")
        if order_no in self.voids:
            return self._result(order_no, "00", CardState.VOIDED)
        if order_no in self.approved:
            return self._result(order_no, "00")
        return self._result(order_no, "25", CardState.NOT_FOUND)

    def void(self, terminal_id: str, order_no: str, void_no: str) -> CardResult:
        self.voids.append(order_no)
        return self._result(order_no, "00", CardState.VOIDED)

    def _result(self, order_no: str, code: str, state: CardState | None = None) -> CardResult:
        if state is None:
            state = CardState.APPROVED if code == "00" else CardState.DECLINED
        return CardResult(order_no, state, code, "余额不足" if code == "51" else "交易成功",
                          amount_fen=self.approved.get(order_no), terminal_id=TID,
                          rrn=f"RRN{order_no[-6:]}", auth_code="123456",
                          card_no="622202*********0123", entry_mode="tap")  # fmt: skip


def _hall() -> World:
    world = World()
    world.db.add_site(HALL, WINDOW)
    world.db.add_device(POS)
    open_shift(world.uow(), OpenShift(WINDOW.id, 0), actor=CASHIER, clock=world.clock)
    return world


def _pay(world: World, host: ScriptedHost, code: str, terminal: str | None = TID) -> CardOutcome:
    return pay_by_card(
        world.uow, host, code, terminal_id=terminal, source=POS.app_id, unit_id=OFFICE.id,
        clock=world.clock, policy=POLICY, polling=NO_WAIT,
    )  # fmt: skip


def _statuses(world: World) -> list[OrderStatus]:
    return [o.status for o in sorted(world.tables.orders.values(), key=lambda o: o.id)]


def test_an_approved_card_pays_the_payable_in_the_shift_with_its_facts() -> None:
    world, host = _hall(), ScriptedHost()
    payable = world.register()
    done = _pay(world, host, payable.payment_code)
    assert done.status is OrderStatus.SUCCEEDED
    assert done.facts["card_no"] == "622202*********0123"
    (order,) = world.tables.orders.values()
    assert (order.channel, order.method.value, order.shift_id) == ("card", "card", 1)
    assert order.channel_trade_no.startswith("RRN")
    assert world.payable(payable.id).status.value == "paid"
    assert world.db.balances()["channel_receivable:card"] == payable.amount_fen


def test_a_declined_card_fails_its_order_and_charges_nothing() -> None:
    world, host = _hall(), ScriptedHost(["51"])
    payable = world.register()
    with pytest.raises(ChannelRejected, match="余额不足"):
        _pay(world, host, payable.payment_code)
    assert _statuses(world) == [OrderStatus.FAILED]
    assert world.payable(payable.id).status.value == "unpaid"
    assert "channel_receivable:card" not in world.db.balances()


def test_a_lost_answer_is_queried_and_the_sale_never_sent_twice() -> None:
    world, host = _hall(), ScriptedHost(["lost"])
    payable = world.register()
    done = _pay(world, host, payable.payment_code)
    assert done.status is OrderStatus.SUCCEEDED
    assert len(host.sales) == 1


def test_an_unknown_outcome_blocks_a_new_sale_until_the_host_answers() -> None:
    world, host = _hall(), ScriptedHost(["lost"], unreachable=True)
    payable = world.register()
    first = _pay(world, host, payable.payment_code)
    assert first.status is OrderStatus.PAYING
    with pytest.raises(CardOutcomeUnknown):
        _pay(world, host, payable.payment_code)
    assert len(host.sales) == 1
    host.unreachable = False  # the host answers again: the first sale was approved
    with pytest.raises(ValidationFailed):  # the query booked it: nothing left to pay
        _pay(world, host, payable.payment_code)
    assert _statuses(world) == [OrderStatus.SUCCEEDED]
    assert len(host.sales) == 1


def test_a_sale_approved_for_a_payable_paid_meanwhile_is_voided() -> None:
    world = _hall()
    payable = world.register()

    class PaidMeanwhile(ScriptedHost):
        def sale(self, request: CardSaleRequest) -> CardResult:
            world.pay(payable)  # another way paid it while the card was read
            return super().sale(request)

    host = PaidMeanwhile()
    with pytest.raises(Conflict, match="撤销"):
        _pay(world, host, payable.payment_code)
    assert len(host.voids) == 1
    card_orders = [o for o in world.tables.orders.values() if o.channel == "card"]
    assert [o.status for o in card_orders] == [OrderStatus.CLOSED]


def test_a_terminal_without_a_card_reader_is_refused() -> None:
    world, host = _hall(), ScriptedHost()
    payable = world.register()
    with pytest.raises(ValidationFailed, match="未开通银行卡"):
        _pay(world, host, payable.payment_code, terminal=None)
    assert host.sales == []
    assert world.tables.orders == {}
