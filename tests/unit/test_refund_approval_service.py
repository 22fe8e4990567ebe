"""Refunds with approval (`services.refunds.approval`, `.transfers`): maker-checker whatever the
entry point, a second approver above the threshold, declines give the amount back, the scope of
the reviewer, bank-transfer refunds of counter payments completed by finance's confirmation, and
a refused channel refund retried under its own number."""

from __future__ import annotations

import pytest

from publicpay.domain.errors import ChannelRejected, InvalidTransition, NotFound, ValidationFailed
from publicpay.domain.ledger import JournalKind
from publicpay.domain.payables import PayableStatus
from publicpay.domain.payments.channels import Channel
from publicpay.domain.receipts.records import JobKind
from publicpay.domain.refunds import RefundExceedsPaid, RefundStatus, SelfApproval
from publicpay.services.payables.registration import cancel_payable
from publicpay.services.payments.counter import ConfirmPayment, confirm_payment
from publicpay.services.refunds.approval import (
    Approver,
    approve_refund,
    decline_refund,
    retry_refund,
)
from publicpay.services.refunds.requests import PayeeAccount, RefundPolicy, RefundScope
from publicpay.services.refunds.transfers import record_transfer, transfer_instruction
from tests.unit.services_kit import PAYEE, REGION, SPLIT3, World, counts, line

REVIEWER = Approver("user:reviewer", REGION)


def _paid(world: World, code: str = SPLIT3.code) -> int:
    payable = world.register(line(code))
    world.pay(payable)
    return payable.id


def _status(world: World, refund_no: str) -> RefundStatus:
    with world.uow() as uow:
        refund = uow.refunds.by_no(refund_no)
    assert refund is not None
    return refund.status


def test_a_requested_refund_waits_for_approval_before_the_channel_is_asked() -> None:
    world = World()
    payable = world.payable(_paid(world))
    refund = world.ask_refund(payable, 3_000)
    assert (refund.status, refund.approvals_required) == (RefundStatus.PENDING_APPROVAL, 1)
    assert refund.public_status == "pending_approval"
    assert world.run_refunds() == 0
    assert world.gateways.channels[Channel.ALIPAY].refund_requests == []
    approved = world.approve(refund.refund_no)
    assert approved.public_status == "approved"
    assert world.run_refunds() == 1
    assert world.payable(payable.id).status is PayableStatus.PARTIALLY_REFUNDED
    actions = world.audit_actions()
    assert actions.index("refund.requested") < actions.index("refund.approved")


def test_the_requester_can_never_approve_their_own_refund() -> None:
    world = World()
    payable = world.payable(_paid(world))
    refund = world.ask_refund(payable, 3_000, actor="user:fin_admin")
    before = counts(world.tables)
    with pytest.raises(SelfApproval, match="申请人不能审批"):
        approve_refund(
            world.uow(), refund.refund_no, Approver("user:fin_admin", REGION), "", clock=world.clock
        )
    with pytest.raises(SelfApproval):
        decline_refund(
            world.uow(),
            refund.refund_no,
            Approver("user:fin_admin", REGION),
            "不批",
            clock=world.clock,
        )
    assert counts(world.tables) == before
    assert _status(world, refund.refund_no) is RefundStatus.PENDING_APPROVAL


def test_above_the_threshold_a_second_different_approver_is_needed() -> None:
    world = World()
    payable = world.payable(_paid(world))
    policy = RefundPolicy(second_approval_above_fen=5_000)
    small = world.ask_refund(payable, 4_000, policy=policy)
    big = world.ask_refund(payable, 5_001, policy=policy)
    assert (small.approvals_required, big.approvals_required) == (1, 2)
    first = world.approve(big.refund_no, "user:rev1")
    assert (first.status, first.approved_by) == (RefundStatus.PENDING_APPROVAL, ("user:rev1",))
    with pytest.raises(SelfApproval, match="另一位审核人复核"):
        world.approve(big.refund_no, "user:rev1")
    assert world.run_refunds() == 0
    second = world.approve(big.refund_no, "user:rev2")
    assert (second.status, second.approved_by) == (RefundStatus.PENDING, ("user:rev1", "user:rev2"))
    assert world.run_refunds() == 1


def test_a_declined_refund_needs_a_note_and_gives_its_amount_back() -> None:
    world = World()
    payable = world.payable(_paid(world))
    refund = world.ask_refund(payable, 10_000)
    with pytest.raises(RefundExceedsPaid):
        world.ask_refund(payable, 1)
    with pytest.raises(ValidationFailed, match="须填写说明"):
        decline_refund(world.uow(), refund.refund_no, REVIEWER, " ", clock=world.clock)
    declined = decline_refund(
        world.uow(), refund.refund_no, REVIEWER, "材料不全", clock=world.clock
    )
    assert (declined.public_status, declined.decision_note) == ("declined", "材料不全")
    assert not declined.under_way
    with pytest.raises(InvalidTransition, match="已驳回"):
        world.approve(refund.refund_no)
    again = world.ask_refund(world.payable(payable.id), 10_000)
    assert again.status is RefundStatus.PENDING_APPROVAL


def test_a_reviewer_of_another_region_sees_no_such_refund() -> None:
    world = World()
    payable = world.payable(_paid(world))
    refund = world.ask_refund(payable, 1_000)
    before = counts(world.tables)
    for elsewhere in ("330106", "330200"):  # a neighbouring district, another city
        with pytest.raises(NotFound):
            approve_refund(
                world.uow(), refund.refund_no, Approver("user:x", elsewhere), "", clock=world.clock
            )
    assert counts(world.tables) == before
    city = world.approve(refund.refund_no, "user:city")  # by name: any reviewer of the region
    assert city.status is RefundStatus.PENDING
    above = Approver("user:province", "330000")
    other = world.ask_refund(world.payable(payable.id), 1_000)
    assert approve_refund(world.uow(), other.refund_no, above, "", clock=world.clock).approved_by


def test_a_unit_cannot_ask_to_refund_another_units_payable() -> None:
    world = World()
    payable = world.payable(_paid(world))
    with pytest.raises(NotFound):
        world.ask_refund(payable, 1_000, scope=RefundScope(unit_id=payable.unit_id + 1))
    assert world.tables.refunds == {}


def _counter_paid(world: World) -> int:
    payable = world.register()
    cmd = ConfirmPayment("bank_icbc", "S1", payable.payment_code, payable.amount_fen)
    confirm_payment(world.uow(), cmd, clock=world.clock)
    return payable.id


def test_a_counter_payment_is_refunded_by_a_bank_transfer_finance_confirms() -> None:
    world = World()
    payable = world.payable(_counter_paid(world))
    with pytest.raises(ValidationFailed, match="须通过银行转账"):
        world.ask_refund(payable, 4_000)
    refund = world.ask_refund(payable, 4_000, payee=PAYEE)
    assert refund.payee is not None
    assert refund.payee.account_masked == "6222***********0128"
    assert refund.payee.account_enc.startswith(b"sealed[refund_payee]")  # the fake box's seal
    world.approve(refund.refund_no)
    assert world.run_refunds() == 0  # no channel to send it to
    assert _status(world, refund.refund_no) is RefundStatus.MANUAL
    instruction = transfer_instruction(world.uow(), refund.refund_no, REVIEWER, clock=world.clock)
    assert (instruction.payee_account_no, instruction.amount_fen) == ("6222021234567890128", 4_000)
    assert world.audit_actions()[-1] == "refund.transfer_instruction"
    with pytest.raises(ValidationFailed, match="交易流水号"):
        record_transfer(world.uow(), refund.refund_no, "x", REVIEWER, clock=world.clock)
    done = record_transfer(world.uow(), refund.refund_no, "ICBC0001", REVIEWER, clock=world.clock)
    assert (done.status, done.channel_refund_no) == (RefundStatus.SUCCEEDED, "ICBC0001")
    settled = world.payable(payable.id)
    assert (settled.status, settled.refunded_fen) == (PayableStatus.PARTIALLY_REFUNDED, 4_000)
    kinds = [j.journal.kind for j in world.tables.journals]
    assert kinds.count(JournalKind.REFUND) == 1
    assert "payable.refunded" in world.outbox_types()
    jobs = [r.job for r in world.tables.receipt_jobs.values() if r.job.kind is JobKind.REFUND]
    assert [j.ref for j in jobs] == [refund.refund_no]
    before = counts(world.tables)
    with pytest.raises(InvalidTransition, match="无需登记转账"):
        record_transfer(world.uow(), refund.refund_no, "ICBC0002", REVIEWER, clock=world.clock)
    assert counts(world.tables) == before


@pytest.mark.parametrize(
    ("account", "why"),
    [
        ("6222021234567890127", "校验位错误"),
        ("62220212345678901x", "只能由数字组成"),
        ("123456", "10–30位"),
    ],
)
def test_a_payee_account_that_fails_its_check_is_refused(account: str, why: str) -> None:
    world = World()
    payable = world.payable(_counter_paid(world))
    before = counts(world.tables)
    with pytest.raises(ValidationFailed, match=why) as refused:
        world.ask_refund(payable, 4_000, payee=PayeeAccount("王芳", "工行", account))
    assert list(refused.value.errors) == ["payee.account_no"]
    assert counts(world.tables) == before


def test_a_refund_the_channel_refused_is_retried_by_finance_under_its_own_number() -> None:
    world = World()
    payable = world.payable(_paid(world))
    alipay = world.gateways.channels[Channel.ALIPAY]
    alipay.refund_answers.append(ChannelRejected("余额不足", channel_code="ACQ.NOT_ENOUGH"))
    refund_no = world.refund(payable, 6_000)
    assert world.run_refunds() == 0
    assert _status(world, refund_no) is RefundStatus.FAILED
    retried = retry_refund(world.uow(), refund_no, REVIEWER, clock=world.clock)
    assert retried.status is RefundStatus.PENDING
    assert world.run_refunds() == 1
    assert [r.refund_no for r in alipay.refund_requests] == [refund_no, refund_no]
    assert world.payable(payable.id).refunded_fen == 6_000


def test_a_failed_refund_is_not_retried_once_its_amount_was_asked_again() -> None:
    world = World()
    payable = world.payable(_paid(world))
    alipay = world.gateways.channels[Channel.ALIPAY]
    alipay.refund_answers.append(ChannelRejected("余额不足", channel_code="ACQ.NOT_ENOUGH"))
    refund_no = world.refund(payable, 6_000)
    world.run_refunds()
    world.ask_refund(world.payable(payable.id), 6_000)
    with pytest.raises(RefundExceedsPaid):
        retry_refund(world.uow(), refund_no, REVIEWER, clock=world.clock)
    assert _status(world, refund_no) is RefundStatus.FAILED


def test_a_refund_of_an_unpaid_or_cancelled_payable_is_refused() -> None:
    world = World()
    unpaid = world.register()
    with pytest.raises(InvalidTransition, match="不能退款"):
        world.ask_refund(unpaid, 1)
    cancelled = cancel_payable(
        world.uow(), unpaid.payment_code, unit_id=unpaid.unit_id, clock=world.clock
    )
    with pytest.raises(InvalidTransition, match="已撤销"):
        world.ask_refund(cancelled, 1)
    assert world.tables.refunds == {}
