"""A payer proves who they are for the portal's history (我的缴费记录, issue 13).

Two ways, each ending with the keyed hash of the person's ID number (what the history lists
payables by — the number itself is never kept in the session):

- a payment code and the payer's name as registered (`prove_by_payment_code`);
- the ID number and a one-time code sent by the message sender to a phone number registered
  with one of that person's payables (`request_payer_code`, then `verify_payer_code`).

Nothing tells whether an ID number is known: `request_payer_code` answers the same whether or
not a code went out (a row is kept either way, with an unguessable hash when nothing was sent,
so the per-ID limit counts both alike). A code is single use, expires after five minutes, is
spent after five wrong entries, and is bound to the ID number and the phone it went to (its
hash covers both): a code sent for another phone never matches. Asking for codes is limited per
ID number (and per client address by the caller).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta

from publicpay.domain.codes import is_valid_citizen_id, mask_phone, normalise_citizen_id
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.messages import (
    PAYER_CODE_ATTEMPTS,
    PAYER_CODE_TTL,
    PAYER_CODES_PER_HOUR,
    MessageChannel,
    OutgoingMessage,
    PayerCode,
    PayerCodeRefused,
    PayerCodesLimited,
    payer_code_text,
)
from publicpay.domain.payables import phone_search_key
from publicpay.services.messages.ports import MessageSender
from publicpay.services.ports import Box, Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.messages")
WRONG_NAME = "缴款码或缴款人姓名不符，请核对后重新输入"


def checked_id(id_no: str) -> str:
    number = normalise_citizen_id(id_no)
    if not is_valid_citizen_id(number):
        raise ValidationFailed("身份证号码有误，请核对后重新输入", errors={"id_no": "无效"})
    return number


def checked_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if not ch.isspace() and ch != "-")
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit() or digits[0] != "1":
        raise ValidationFailed("手机号码有误，请输入11位手机号", errors={"phone": "无效"})
    return digits


def request_payer_code(
    uow: UnitOfWork, sender: MessageSender, id_no: str, phone: str, *, clock: Clock
) -> str:
    """Send a one-time code to `phone` if it was registered with a payable of `id_no`; the
    masked phone, the same answer either way."""
    number, phone = checked_id(id_no), checked_phone(phone)
    now = clock.now()
    with uow:
        id_hash = uow.box.lookup_hash(number)
        if uow.messages.payer_codes_since(id_hash, now - timedelta(hours=1)) >= (
            PAYER_CODES_PER_HOUR
        ):
            raise PayerCodesLimited("该身份证号获取验证码过于频繁，请一小时后再试")
        phone_hash = uow.box.lookup_hash(phone_search_key(phone))
        reachable = uow.messages.payer_reachable(id_hash, phone_hash)
        code = f"{secrets.randbelow(1_000_000):06d}"
        code_hash = (
            _code_hash(uow.box, id_hash, phone_hash, code) if reachable else secrets.token_hex(32)
        )
        row = PayerCode(0, id_hash, code_hash, 0, now, now + PAYER_CODE_TTL)
        uow.messages.add_payer_code(row)
        uow.commit()
    if reachable:
        message = OutgoingMessage(MessageChannel.SMS, phone, payer_code_text(code), "")
        try:
            sender.send(message)
        except Exception as exc:  # the answer must not tell; the payer asks again
            log.warning("payer code not delivered: %s", type(exc).__name__)
    return mask_phone(phone)


def verify_payer_code(uow: UnitOfWork, id_no: str, phone: str, code: str, *, clock: Clock) -> str:
    """The ID number's keyed hash once `code` is the newest one sent for it to `phone`."""
    number, phone = checked_id(id_no), checked_phone(phone)
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise PayerCodeRefused("请输入短信中的6位数字验证码", errors={"code": "无效"})
    now = clock.now()
    with uow:
        id_hash = uow.box.lookup_hash(number)
        latest = uow.messages.latest_payer_code(id_hash)
        if latest is None:
            raise PayerCodeRefused("验证码错误或已过期，请重新获取验证码")
        latest.check(now)
        phone_hash = uow.box.lookup_hash(phone_search_key(phone))
        if not hmac.compare_digest(
            latest.code_hash, _code_hash(uow.box, id_hash, phone_hash, code)
        ):
            latest.wrong()
            uow.messages.save_payer_code(latest)
            uow.commit()
            left = PAYER_CODE_ATTEMPTS - latest.attempts
            detail = f"验证码错误，还可尝试{left}次" if left else "验证码错误次数过多，请重新获取"
            raise PayerCodeRefused(detail, errors={"code": "错误"})
        latest.spend(now)
        uow.messages.save_payer_code(latest)
        uow.commit()
    return id_hash


def prove_by_payment_code(registered: tuple[str, str] | None, name: str) -> str:
    """The ID hash behind a payment code whose payer is `name`. `registered`: the payable's
    (payer name, ID hash), None when the code is unknown (the same refusal: nothing tells
    which of the two was wrong)."""
    given = "".join(name.split())
    if (
        registered is None
        or not given
        or not hmac.compare_digest("".join(registered[0].split()).encode(), given.encode())
    ):
        raise PayerCodeRefused(WRONG_NAME, errors={"name": "不符"})
    return registered[1]


def _code_hash(box: Box, id_hash: str, phone_hash: str, code: str) -> str:
    return box.lookup_hash(f"payer-code:{id_hash}:{phone_hash}:{code}")
