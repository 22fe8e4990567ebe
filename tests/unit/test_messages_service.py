"""Payer messages (N3) on the fakes: generated with the registration and the payment, sent by
the sender with the pay link, retried on failure and given up after MAX_ATTEMPTS."""

from __future__ import annotations

import pytest

from publicpay.domain.errors import Conflict
from publicpay.domain.messages import (
    MAX_ATTEMPTS,
    MessageChannel,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
)
from publicpay.domain.payables import Payer, PayerType
from publicpay.services.messages.sending import send_due_messages
from tests.unit.services_kit import PERSON_ID, World

BASE = "https://pay.example.gov.cn"


class Recorder:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failures = failures

    def send(self, message: OutgoingMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append(message)


def _rows(world: World) -> list[tuple[MessageKind, MessageStatus]]:
    return [(row.kind, row.status) for _, row, _ in world.tables.payer_messages.values()]


def test_registration_and_payment_each_generate_one_message() -> None:
    world = World()
    payable = world.register()
    assert _rows(world) == [(MessageKind.REGISTERED, MessageStatus.PENDING)]
    world.pay(payable)
    assert [kind for kind, _ in _rows(world)] == [MessageKind.REGISTERED, MessageKind.PAID]


def test_a_refused_registration_generates_no_message() -> None:
    world = World()
    world.register(biz_no="B1")
    with pytest.raises(Conflict):
        world.register(biz_no="B1", payer=Payer("李四", PayerType.PERSON, PERSON_ID))
    assert len(world.tables.payer_messages) == 1


def test_sender_gets_the_text_with_the_pay_link_by_sms_when_a_phone_is_known() -> None:
    world = World()
    payable = world.register(payer=Payer("张伟", PayerType.PERSON, PERSON_ID, "13812345678"))
    sender = Recorder()
    assert send_due_messages(world.uow, sender, base_url=BASE, clock=world.clock) == 1
    (out,) = sender.sent
    assert out.channel is MessageChannel.SMS
    assert out.to == "13812345678"
    assert out.text.endswith(f"{BASE}/pay/{payable.payment_code}")
    assert "¥100.00" in out.text
    (_, row, _) = next(iter(world.tables.payer_messages.values()))
    assert row.status is MessageStatus.SENT
    assert row.recipient_masked == "138****5678"
    assert row.text == out.text
    assert send_due_messages(world.uow, sender, base_url=BASE, clock=world.clock) == 0


def test_without_a_phone_the_message_is_an_app_message_to_the_masked_id() -> None:
    world = World()
    payable = world.register()
    world.pay(payable)
    sender = Recorder()
    assert send_due_messages(world.uow, sender, base_url=BASE, clock=world.clock) == 2
    assert {m.channel for m in sender.sent} == {MessageChannel.APP}
    assert all("*" in m.to for m in sender.sent)
    assert "已向" in sender.sent[1].text
    assert "电子票据" in sender.sent[1].text


def test_a_failed_send_is_retried_later_and_given_up_after_the_last_attempt() -> None:
    world = World()
    world.register()
    sender = Recorder(failures=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        assert send_due_messages(world.uow, sender, base_url=BASE, clock=world.clock) == 0
        assert send_due_messages(world.uow, sender, base_url=BASE, clock=world.clock) == 0
        world.clock.advance(hours=2)
    assert _rows(world) == [(MessageKind.REGISTERED, MessageStatus.FAILED)]
    (_, row, _) = next(iter(world.tables.payer_messages.values()))
    assert row.last_error
    assert "gateway down" in row.last_error
    assert sender.sent == []
