"""Payables and orders are read from rows by position, the positions worked out once per row
class (and prefix): rows of other statements, with the same columns in another order or
labelled with a prefix, and SQLAlchemy's own rows must all read the same."""

from __future__ import annotations

import random
from collections import namedtuple
from datetime import UTC, date, datetime
from typing import Any

from publicpay.adapters.db.payables import WITH_LINES, payables_from_rows
from publicpay.adapters.db.payments.orders import order_from_row
from publicpay.adapters.db.payments.tables import payment_orders

_AT = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
_PAYABLE: dict[str, Any] = {
    **{"id": 7, "payment_code": "33010526000000000071", "unit_id": 3, "biz_no": "B-7"},
    **{"request_hash": "h", "payer_name": "王芳", "payer_type": "person"},
    **{"payer_id_enc": b"x", "payer_id_hash": "y", "payer_id_masked": "3301**********0374"},
    **{"payer_phone_enc": None, "payer_phone_hash": None, "amount_fen": 15000},
    **{"status": "paid", "due_date": date(2026, 12, 31), "remark": "", "created_at": _AT},
    **{"paid_at": _AT.replace(tzinfo=None), "paid_fen": 15000, "paid_order_id": 11},
    **{"channel": "alipay", "refunded_fen": 0, "version": 2},
}
_LINES = [
    {"line_no": n, "item_code": f"I{n}", "item_name": f"item {n}", "unit_of_measure": "次"}
    | {"quantity": 1, "standard_fen": 5000 * n, "amount_fen": 5000 * n}
    for n in (1, 2)
]


def _kind(names: list[str]) -> Any:
    """A row class as the executor makes one per compiled statement."""
    return namedtuple("Row", names)


def _rows(names: list[str], prefix: str = "") -> list[Any]:
    """The payable's rows (one per line, the second line first) as a named tuple class."""
    kind = _kind([prefix + n for n in names])
    values = [_PAYABLE | {f"line_{k}": v for k, v in line.items()} for line in _LINES]
    return [kind(*[row[n] for n in names]) for row in reversed(values)]


class _SaRow:
    """Like SQLAlchemy's Row: not a tuple, indexed by position, `_fields` per result."""

    def __init__(self, names: list[str], values: list[Any]) -> None:
        self._fields = tuple(names)
        self._values = values

    def __getitem__(self, index: int) -> Any:
        return self._values[index]


def test_payables_read_the_same_from_every_kind_of_row() -> None:
    names = [str(c.key) for c in WITH_LINES.exported_columns]
    shuffled = names[:]
    random.Random(8).shuffle(shuffled)
    expected = payables_from_rows(_rows(names))
    assert [line.item_code for line in expected[0].lines] == ["I1", "I2"]  # in line order
    assert expected[0].paid_at == _AT
    assert expected[0].created_at == _AT
    for _ in range(2):  # the second time from the readers kept per row class
        assert payables_from_rows(_rows(shuffled)) == expected
        assert payables_from_rows(_rows(names, "p_"), prefix="p_") == expected
        sa_rows = [_SaRow(list(r._fields), list(r)) for r in _rows(shuffled)]
        assert payables_from_rows(sa_rows) == expected
    assert payables_from_rows([]) == []


def test_orders_read_the_same_from_every_kind_of_row() -> None:
    names = [c.name for c in payment_orders.c]
    values = dict.fromkeys(names) | {
        **{"id": 11, "order_no": "PO11", "payable_id": 7, "channel": "alipay"},
        **{"method": "qr", "amount_fen": 15000, "status": "succeeded", "created_at": _AT},
        **{"expires_at": _AT.replace(tzinfo=None), "paid_at": _AT, "cart_id": 5},
    }
    plain = _kind(names)(*[values[n] for n in names])
    expected = order_from_row(plain)
    assert expected.expires_at == _AT
    assert expected.cart_id == 5
    assert expected.closed_at is None
    shuffled = names[::-1]
    other = _kind(["o_" + n for n in shuffled])(*[values[n] for n in shuffled])
    for _ in range(2):
        assert order_from_row(other, prefix="o_") == expected
        assert order_from_row(_SaRow(list(plain._fields), list(plain))) == expected
