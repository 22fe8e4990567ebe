"""Register and cancel payables (实缴模式: no business, no payable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from publicpay.domain.attributes import mask as mask_attribute
from publicpay.domain.attributes import normalise as normalise_attribute
from publicpay.domain.attributes import validate as validate_attributes
from publicpay.domain.codes import (
    PAYMENT_CODE_KEY_PURPOSE,
    SERIALS,
    PayableType,
    make_payment_code,
    mask_id,
    normalise_citizen_id,
    payment_code_permutation,
)
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.payables import (
    LineRequest,
    Payable,
    PayableStatus,
    Payer,
    PayerType,
    phone_search_key,
    price_lines,
)
from publicpay.domain.time import business_date
from publicpay.services.payables.ports import SealedAttribute
from publicpay.services.ports import Box, Clock
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class RegisterPayable:
    unit_id: int
    biz_no: str
    payer: Payer
    items: tuple[LineRequest, ...]
    due_date: date | None = None
    remark: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Stable hash of the request body: the same biz_no must come with the same body.
        The JSON is `dataclasses.asdict` of the command without `unit_id` (stored hashes depend
        on it; a unit test holds the two equal), built directly: asdict deep-copies."""
        payer = self.payer
        data = {
            "biz_no": self.biz_no,
            "payer": {
                "name": payer.name,
                "type": payer.type,
                "id_no": payer.id_no,
                "phone": payer.phone,
            },
            "items": [
                {"item_code": i.item_code, "quantity": i.quantity, "amount_fen": i.amount_fen}
                for i in self.items
            ],
            "due_date": self.due_date,
            "remark": self.remark,
            "extra": self.extra,
        }
        return hashlib.sha256(_FINGERPRINT_JSON.encode(data).encode()).hexdigest()


# json.dumps(data, sort_keys=True, default=str, ensure_ascii=False), its encoder built once
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Registered:
    payable: Payable
    created: bool


def register_payable(
    uow: UnitOfWork,
    cmd: RegisterPayable,
    *,
    region_code: str,
    clock: Clock,
    serial_floor: int = 0,
) -> Registered:
    """Register, or answer the payable already registered under the biz_no (same body). Every
    path commits, so a signed request's nonce is claimed and an exact replay refused (401)."""
    fingerprint = cmd.fingerprint()
    with uow:
        existing, next_id = uow.payables.lookup(cmd.unit_id, cmd.biz_no)
        if existing is not None:
            registered = _replay(existing, fingerprint)
            uow.commit()
            return registered
        payable = build_payable(
            uow, cmd, fingerprint, region_code, clock, serial_floor, payable_id=next_id
        )
        try:
            store_payable(uow, payable, cmd)
            uow.commit()
            return Registered(payable, created=True)
        except Conflict:
            uow.rollback()
    with uow:  # a concurrent request with the same biz_no won the race
        raced, _ = uow.payables.lookup(cmd.unit_id, cmd.biz_no)
        if raced is None:
            raise Conflict("登记冲突，请重试")
        registered = _replay(raced, fingerprint)
        uow.commit()
        return registered


def _replay(existing: Payable, fingerprint: str) -> Registered:
    if existing.request_hash != fingerprint:
        raise Conflict(
            f"业务编号 {existing.biz_no} 已用不同的内容登记过（缴款码 {existing.payment_code}）"
        )
    return Registered(existing, created=False)


def build_payable(
    uow: UnitOfWork,
    cmd: RegisterPayable,
    fingerprint: str,
    region_code: str,
    clock: Clock,
    serial_floor: int = 0,
    *,
    payable_id: int | None = None,
) -> Payable:
    """Validate and price a registration; its id (drawn unless given) and payment code
    (nothing stored).

    The code's serial is the id under the keyed permutation (`codes.payment_code_permutation`,
    key derived from the platform secret): unguessable, and distinct for distinct ids.
    `serial_floor` (PUBLICPAY_PAYMENT_CODE_SERIAL_FLOOR) keeps the serials of codes issued
    before the permutation out of reach."""
    errors = cmd.payer.validate() | validate_attributes(cmd.extra)
    if not cmd.biz_no.strip() or len(cmd.biz_no) > 64:
        errors["biz_no"] = "业务编号不能为空且不超过64个字符"
    if errors:
        raise ValidationFailed("缴款单数据校验未通过", errors=errors)
    now = clock.now()
    today = business_date(now)
    items = uow.catalogue.items()
    lines = price_lines(cmd.items, items, uow.catalogue.authorised(cmd.unit_id), today)
    if payable_id is None:
        payable_id = uow.payables.next_id()
    first_item = items[lines[0].item_code]
    permute = payment_code_permutation(uow.box.subkey(PAYMENT_CODE_KEY_PURPOSE), serial_floor)
    code = make_payment_code(
        region_code,
        today.year,
        PayableType.for_category(first_item.category.value).value,
        permute(payable_id % SERIALS),
    )
    id_no = cmd.payer.id_no.strip()
    if cmd.payer.type is PayerType.PERSON:
        id_no = normalise_citizen_id(id_no)
    return Payable(
        id=payable_id,
        payment_code=code,
        unit_id=cmd.unit_id,
        biz_no=cmd.biz_no,
        payer_name=cmd.payer.name.strip(),
        payer_type=cmd.payer.type,
        payer_id_masked=mask_id(id_no),
        amount_fen=sum(line.amount_fen for line in lines),
        status=PayableStatus.UNPAID,
        due_date=cmd.due_date,
        remark=cmd.remark,
        lines=lines,
        request_hash=fingerprint,
        created_at=now,
    )


def store_payable(
    uow: UnitOfWork,
    payable: Payable,
    cmd: RegisterPayable,
    *,
    actor: str | None = None,
    batch_id: int | None = None,
) -> None:
    """Store a payable `build_payable` made (queued; the caller commits), payer id and phone
    sealed; its registration events are recorded with it."""
    id_no = cmd.payer.id_no.strip().upper()
    phone = cmd.payer.phone
    uow.payables.add(
        payable,
        payer_id_enc=uow.box.seal_text(id_no, b"payer_id"),
        payer_id_hash=uow.box.lookup_hash(id_no),
        payer_phone_enc=uow.box.seal_text(phone, b"phone") if phone else None,
        payer_phone_hash=uow.box.lookup_hash(phone_search_key(phone)) if phone else None,
    )
    if cmd.extra:  # business attributes the window finds the payable by (W1+)
        uow.payables.add_attributes(payable.id, seal_attributes(uow.box, cmd.extra))
    assert payable.created_at is not None
    actor = actor or f"unit:{payable.unit_id}"
    uow.collect(payable.registered(actor=actor, at=payable.created_at, batch_id=batch_id))


ATTRIBUTE_CONTEXT = b"payable_attribute"


def seal_attributes(box: Box, attributes: dict[str, str]) -> list[SealedAttribute]:
    return [
        SealedAttribute(
            name,
            box.lookup_hash(normalise_attribute(value)),
            box.seal_text(value.strip(), ATTRIBUTE_CONTEXT),
            mask_attribute(value),
        )
        for name, value in sorted(attributes.items())
    ]


def cancel_payable(uow: UnitOfWork, payment_code: str, *, unit_id: int, clock: Clock) -> Payable:
    with uow:
        payable = uow.payables.by_code(payment_code, lock=True)
        if payable is None or payable.unit_id != unit_id:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status is not PayableStatus.CANCELLED:  # cancelling twice: the same answer
            uow.collect(payable.cancel(actor=f"unit:{unit_id}", at=clock.now()))
            uow.payables.save(payable)
        uow.commit()
        return payable
