"""The registration fingerprint is stored with every payable (`request_hash`): it must stay the
hash of `dataclasses.asdict` of the command without `unit_id`, whatever builds it."""

import hashlib
import json
from dataclasses import asdict
from datetime import date

import pytest

from publicpay.domain.payables import LineRequest, Payer, PayerType
from publicpay.services.payables.registration import RegisterPayable


def reference(cmd: RegisterPayable) -> str:
    data = asdict(cmd)
    data.pop("unit_id")
    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


COMMANDS = [
    RegisterPayable(
        1, "B1", Payer("张三", PayerType.PERSON, "110101199003074514"), (LineRequest("GA0101"),)
    ),
    RegisterPayable(
        7,
        "学费-2026秋-001",
        Payer("李四", PayerType.PERSON, "11010119900307451X", "13800138000"),
        (LineRequest("JY0101", 1, 250000), LineRequest("JY0102", 2, None)),
        due_date=date(2026, 12, 31),
        remark="秋季学期",
        extra={"class": "三年级二班"},
    ),
    RegisterPayable(3, "ORG-1", Payer("某公司", PayerType.ORG, "91330105MA2CFR9T1R"), ()),
]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_fingerprint_equals_the_hash_of_the_command_as_a_dict(cmd: RegisterPayable) -> None:
    assert cmd.fingerprint() == reference(cmd)


def test_fingerprint_ignores_the_unit_and_sees_every_field() -> None:
    base = COMMANDS[1]
    moved = RegisterPayable(
        99, base.biz_no, base.payer, base.items, base.due_date, base.remark, base.extra
    )
    changed = RegisterPayable(
        base.unit_id, base.biz_no, base.payer, base.items, base.due_date, "另一备注", base.extra
    )
    assert moved.fingerprint() == base.fingerprint()
    assert changed.fingerprint() != base.fingerprint()
