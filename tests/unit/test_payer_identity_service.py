"""Proving who you are for the portal's history, on the fakes: one-time codes (sent only to a
phone on record, bound to it, single use, expiring, attempts counted, limited per ID number)
and the payment code + name proof."""

from __future__ import annotations

import re

import pytest

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.messages import OutgoingMessage, PayerCodeRefused, PayerCodesLimited
from publicpay.domain.payables import Payer, PayerType
from publicpay.services.messages.identity import (
    prove_by_payment_code,
    request_payer_code,
    verify_payer_code,
)
from tests.unit.services_kit import PERSON_ID, World

PHONE = "13812345678"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)

    def code(self) -> str:
        found = re.search(r"验证码(\d{6})", self.sent[-1].text)
        assert found is not None
        return found.group(1)


def _world() -> World:
    world = World()
    world.register(payer=Payer("张伟", PayerType.PERSON, PERSON_ID, PHONE))
    return world


def test_a_code_goes_to_the_phone_on_record_and_proves_the_id_once() -> None:
    world, sender = _world(), Recorder()
    masked = request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    assert masked == "138****5678"
    (message,) = sender.sent
    assert message.to == PHONE
    id_hash = verify_payer_code(world.uow(), PERSON_ID, PHONE, sender.code(), clock=world.clock)
    assert id_hash == world.uow().box.lookup_hash(PERSON_ID)
    with pytest.raises(PayerCodeRefused, match="已使用"):
        verify_payer_code(world.uow(), PERSON_ID, PHONE, sender.code(), clock=world.clock)


def test_an_unknown_phone_gets_the_same_answer_and_no_message() -> None:
    world, sender = _world(), Recorder()
    masked = request_payer_code(world.uow(), sender, PERSON_ID, "13900001111", clock=world.clock)
    assert masked == "139****1111"
    assert sender.sent == []
    assert len(world.tables.payer_codes) == 1  # counted against the ID all the same


def test_a_code_for_another_phone_never_matches() -> None:
    world, sender = _world(), Recorder()
    request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    with pytest.raises(PayerCodeRefused, match="验证码错误"):
        verify_payer_code(world.uow(), PERSON_ID, "13900001111", sender.code(), clock=world.clock)


def test_codes_expire_after_five_minutes() -> None:
    world, sender = _world(), Recorder()
    request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    world.clock.advance(minutes=5)
    with pytest.raises(PayerCodeRefused, match="已过期"):
        verify_payer_code(world.uow(), PERSON_ID, PHONE, sender.code(), clock=world.clock)


def test_five_wrong_entries_spend_the_code() -> None:
    world, sender = _world(), Recorder()
    request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    wrong = "000000" if sender.code() != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(PayerCodeRefused, match=f"还可尝试{left}次"):
            verify_payer_code(world.uow(), PERSON_ID, PHONE, wrong, clock=world.clock)
    with pytest.raises(PayerCodeRefused, match="次数过多"):
        verify_payer_code(world.uow(), PERSON_ID, PHONE, wrong, clock=world.clock)
    with pytest.raises(PayerCodeRefused, match="次数过多"):
        verify_payer_code(world.uow(), PERSON_ID, PHONE, sender.code(), clock=world.clock)


def test_codes_per_id_number_are_limited_per_hour() -> None:
    world, sender = _world(), Recorder()
    for _ in range(5):
        request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    with pytest.raises(PayerCodesLimited):
        request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)
    world.clock.advance(hours=1, seconds=1)
    request_payer_code(world.uow(), sender, PERSON_ID, PHONE, clock=world.clock)


def test_malformed_input_is_refused_before_anything_is_stored() -> None:
    world, sender = _world(), Recorder()
    with pytest.raises(ValidationFailed, match="身份证号码有误"):
        request_payer_code(world.uow(), sender, "330105", PHONE, clock=world.clock)
    with pytest.raises(ValidationFailed, match="手机号码有误"):
        request_payer_code(world.uow(), sender, PERSON_ID, "12345", clock=world.clock)
    with pytest.raises(PayerCodeRefused, match="6位数字"):
        verify_payer_code(world.uow(), PERSON_ID, PHONE, "12ab", clock=world.clock)
    assert world.tables.payer_codes == {}


def test_payment_code_and_name_prove_the_payer() -> None:
    assert prove_by_payment_code(("张 伟", "hash"), "张伟") == "hash"
    with pytest.raises(PayerCodeRefused):
        prove_by_payment_code(("张伟", "hash"), "张三")
    with pytest.raises(PayerCodeRefused):
        prove_by_payment_code(None, "张伟")
