"""Payables: their tables and repository."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    literal,
    select,
    text,
    update,
)

from publicpay.adapters.db.attributes import add_attributes
from publicpay.adapters.db.compiled import CACHE_LIMIT
from publicpay.adapters.db.dialects import next_id
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.domain.payables import Payable, PayableLine, PayableStatus, PayerType
from publicpay.domain.time import utc
from publicpay.services.payables.ports import SealedAttribute

payables = Table(
    "payables",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("payment_code", String(20), nullable=False, unique=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("biz_no", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("payer_name", String(100), nullable=False),
    Column("payer_type", String(10), nullable=False),
    Column("payer_id_enc", LargeBinary, nullable=False),
    Column("payer_id_hash", String(64), nullable=False, index=True),
    Column("payer_id_masked", String(20), nullable=False),
    Column("payer_phone_enc", LargeBinary, nullable=True),
    # statistics (issue 10): keyed hash of the phone's digits, for the console's search by phone
    Column("payer_phone_hash", String(64), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("remark", String(500), nullable=False, default=""),
    Column("created_at", Ts, nullable=False),
    Column("paid_at", Ts, nullable=True),
    Column("paid_fen", BigInteger, nullable=True),
    Column("paid_order_id", Id, nullable=True),
    Column("channel", String(20), nullable=True),
    Column("refunded_fen", BigInteger, nullable=False, default=0),
    Column("version", Integer, nullable=False, default=1),
    UniqueConstraint("unit_id", "biz_no", name="uq_payables_unit_biz_no"),
    # a payer's history by phone (0014); most payables carry no phone (0027)
    Index(
        "ix_payables_payer_phone_hash",
        "payer_phone_hash",
        postgresql_where=text("payer_phone_hash IS NOT NULL"),
        sqlite_where=text("payer_phone_hash IS NOT NULL"),
    ),
)

payable_lines = Table(
    "payable_lines",
    metadata,
    Column("payable_id", Id, ForeignKey("payables.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("item_code", String(20), nullable=False),
    Column("item_name", String(200), nullable=False),
    Column("unit_of_measure", String(20), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("standard_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
)

serials = Table(
    "serials",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# A payable comes with its lines: one row per line, the line's columns labelled `line_*`.
LINE_COLUMNS = [c for c in payable_lines.c if c.name != "payable_id"]
WITH_LINES: Select[Any] = (
    select(*payables.c, *[c.label(f"line_{c.name}") for c in LINE_COLUMNS])
    .join(payable_lines, payable_lines.c.payable_id == payables.c.id)
    .order_by(payable_lines.c.line_no)
)
_BY_ID = WITH_LINES.where(payables.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update(of=payables)
_BY_CODE = WITH_LINES.where(payables.c.payment_code == bindparam("code"))
_BY_CODE_LOCKED = _BY_CODE.with_for_update(of=payables)
_FOR_ORDER_LOCKED = WITH_LINES.where(
    payables.c.id
    == select(payment_orders.c.payable_id)
    .where(payment_orders.c.order_no == bindparam("order_no"))
    .scalar_subquery()
).with_for_update(of=payables)
_NEXT_ID = select(next_id(payables, "payable_serial").label("next_id"))
_SERIES = select(literal(1).label("n")).cte("series", recursive=True)
_SERIES = _SERIES.union_all(select(_SERIES.c.n + 1).where(_SERIES.c.n < bindparam("count")))
_NEXT_IDS = select(next_id(payables, "payable_serial").label("next_id")).select_from(_SERIES)
_BY_BIZ_NOS = WITH_LINES.where(
    payables.c.unit_id == bindparam("unit_id"),
    payables.c.biz_no.in_(bindparam("biz_nos", expanding=True)),
)
CHUNK = 500  # IN-list elements per statement
# A registration's one read: the payable already registered under the biz_no (if any), and the
# id a new one would take (drawn whether or not it is used: a gap in the serial, nothing more).
# Flat (no subquery, no ORDER BY: `payables_from_rows` puts the lines in order), as PostgreSQL
# sets each plan node up again on every execution (see payments/orders.py).
_LOOKUP = select(
    next_id(payables, "payable_serial").label("next_id"),
    *payables.c,
    *[c.label(f"line_{c.name}") for c in LINE_COLUMNS],
).select_from(
    select(literal(1).label("one"))
    .subquery("one")
    .outerjoin(
        payables.join(payable_lines, payable_lines.c.payable_id == payables.c.id),
        (payables.c.unit_id == bindparam("unit_id")) & (payables.c.biz_no == bindparam("biz_no")),
    )
)
_RECENT_UNPAID = WITH_LINES.where(
    payables.c.id.in_(
        select(payables.c.id)
        .where(payables.c.status == PayableStatus.UNPAID.value)
        .order_by(payables.c.id.desc())
        .limit(bindparam("limit"))
        .scalar_subquery()
    )
)
_CODE_SERIAL_FLOOR = select(serials.c.value).where(serials.c.name == "payment_code_floor")
_PAYER_ID_ENC = select(payables.c.payer_id_enc).where(payables.c.id == bindparam("id"))
_SAVE = (
    update(payables)
    .where(payables.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        paid_at=bindparam("paid_at"),
        paid_fen=bindparam("paid_fen"),
        paid_order_id=bindparam("paid_order_id"),
        channel=bindparam("channel"),
        refunded_fen=bindparam("refunded_fen"),
        version=payables.c.version + 1,
    )
)


class PayablesRepository:
    """Reads run at once; `add` and `save` are queued (sent with the unit of work's commit)."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def lookup(self, unit_id: int, biz_no: str) -> tuple[Payable | None, int]:
        """The payable registered under `biz_no`, and the id a new payable would take."""
        rows = self._sql.all(_LOOKUP, {"unit_id": unit_id, "biz_no": biz_no})
        next_id = int(rows[0].next_id)
        if rows[0].id is None:  # the outer join found no payable: one row of NULLs
            return None, next_id
        return payables_from_rows(rows)[0], next_id

    def next_id(self) -> int:
        return int(self._sql.scalar(_NEXT_ID))

    def code_serial_floor(self) -> int:
        """The lowest serial new payment codes may take (migration 0012)."""
        return int(self._sql.scalar(_CODE_SERIAL_FLOOR) or 0)

    def next_ids(self, count: int) -> list[int]:
        """`count` ids for new payables, in one statement."""
        if count <= 0:
            return []
        return [int(row.next_id) for row in self._sql.all(_NEXT_IDS, {"count": count})]

    def by_biz_nos(self, unit_id: int, biz_nos: Sequence[str]) -> dict[str, Payable]:
        """The payables registered under any of `biz_nos`, by biz_no."""
        found: dict[str, Payable] = {}
        wanted = list(dict.fromkeys(biz_nos))
        for start in range(0, len(wanted), CHUNK):
            params = {"unit_id": unit_id, "biz_nos": wanted[start : start + CHUNK]}
            found |= {p.biz_no: p for p in payables_from_rows(self._sql.all(_BY_BIZ_NOS, params))}
        return found

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        payer_phone_hash: str | None = None,
    ) -> None:
        """Queued; a biz_no registered meanwhile refuses the commit (uq_payables_unit_biz_no)."""
        row = {
            "id": payable.id,
            "payment_code": payable.payment_code,
            "unit_id": payable.unit_id,
            "biz_no": payable.biz_no,
            "request_hash": payable.request_hash,
            "payer_name": payable.payer_name,
            "payer_type": payable.payer_type.value,
            "payer_id_enc": payer_id_enc,
            "payer_id_hash": payer_id_hash,
            "payer_id_masked": payable.payer_id_masked,
            "payer_phone_enc": payer_phone_enc,
            "payer_phone_hash": payer_phone_hash,
            "amount_fen": payable.amount_fen,
            "status": payable.status.value,
            "due_date": payable.due_date,
            "remark": payable.remark,
            "created_at": payable.created_at,
            "refunded_fen": payable.refunded_fen,
            "version": 1,
        }
        lines = tuple(
            {
                "payable_id": payable.id,
                "line_no": n,
                "item_code": line.item_code,
                "item_name": line.item_name,
                "unit_of_measure": line.unit_of_measure,
                "quantity": line.quantity,
                "standard_fen": line.standard_fen,
                "amount_fen": line.amount_fen,
            }
            for n, line in enumerate(payable.lines, start=1)
        )
        self._sql.queue(Insert(payables, (row,), key=("payables", payable.id)))
        self._sql.queue(Insert(payable_lines, lines))

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None:
        return self._one(_BY_CODE_LOCKED if lock else _BY_CODE, {"code": payment_code})

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None:
        return self._one(_BY_ID_LOCKED if lock else _BY_ID, {"id": payable_id})

    def for_order(self, order_no: str) -> Payable | None:
        """The payable of an order, locked (one statement: the lock order starts here)."""
        return self._one(_FOR_ORDER_LOCKED, {"order_no": order_no})

    def recent_unpaid(self, limit: int) -> list[Payable]:
        found = payables_from_rows(self._sql.all(_RECENT_UNPAID, {"limit": limit}))
        return sorted(found, key=lambda p: p.id, reverse=True)

    def add_attributes(self, payable_id: int, attributes: Sequence[SealedAttribute]) -> None:
        """Queued. Portal/POS (issue 13): the table is adapters.db.attributes."""
        add_attributes(self._sql, payable_id, attributes)

    def payer_id_enc(self, payable_id: int) -> bytes:
        return bytes(self._sql.scalar(_PAYER_ID_ENC, {"id": payable_id}))

    def save(self, payable: Payable) -> None:
        """Queued: the payable's new state, sent with the commit."""
        params = {
            "b_id": payable.id,
            "status": payable.status.value,
            "paid_at": payable.paid_at,
            "paid_fen": payable.paid_fen,
            "paid_order_id": payable.paid_order_id,
            "channel": payable.channel,
            "refunded_fen": payable.refunded_fen,
        }
        self._sql.queue(Change(_SAVE, params, key=("payables", payable.id)))

    def _one(self, stmt: Any, params: dict[str, Any]) -> Payable | None:
        found = payables_from_rows(self._sql.all(stmt, params))
        return found[0] if found else None


def payables_from_rows(rows: Sequence[Any], prefix: str = "") -> list[Payable]:
    """Payables from rows of `WITH_LINES` (one row per line, in any order: each payable's lines
    are put in line order here, so a statement need not sort), by column name; `prefix`: the
    payable's columns are labelled `<prefix><name>` (the lines' `<prefix>line_*`)."""
    if not rows:
        return []
    reader = _reader_of(rows[0], prefix)
    by_id: dict[int, Payable] = {}
    ordered = sorted(rows, key=reader.line_no) if len(rows) > 1 else rows  # stable: order kept
    for row in ordered:
        payable = by_id.get(row[reader.id])
        if payable is None:
            payable = by_id[row[reader.id]] = _payable(reader.payable(row))
        payable.lines.append(PayableLine(*reader.line(row)))
    return list(by_id.values())


# a payable's columns, and its lines' (PayableLine's fields, in order), as rows name them
_PAYABLE_NAMES = (
    *("id", "payment_code", "unit_id", "biz_no", "payer_name", "payer_type", "payer_id_masked"),
    *("amount_fen", "status", "due_date", "remark", "request_hash", "channel", "paid_fen"),
    *("paid_order_id", "refunded_fen", "created_at", "paid_at"),
)
_LINE_NAMES = tuple(f.name for f in fields(PayableLine))


class _Reader(NamedTuple):
    """Where a kind of row has a payable's columns (by position: no mapping built per row)."""

    payable: Callable[[Any], tuple[Any, ...]]  # the `_PAYABLE_NAMES` columns
    line: Callable[[Any], tuple[Any, ...]]  # the line's columns, in PayableLine's order
    id: int
    line_no: Callable[[Any], Any]


def _reader(names: Sequence[str], prefix: str) -> _Reader:
    at = {name: i for i, name in enumerate(names)}
    return _Reader(
        payable=itemgetter(*[at[prefix + name] for name in _PAYABLE_NAMES]),
        line=itemgetter(*[at[f"{prefix}line_{name}"] for name in _LINE_NAMES]),
        id=at[prefix + "id"],
        line_no=itemgetter(at[f"{prefix}line_line_no"]),
    )


# by row class (the executor's rows: one named tuple class per compiled statement) and prefix
_READERS: dict[tuple[type, str], _Reader] = {}


def _reader_of(row: Any, prefix: str) -> _Reader:
    key = (type(row), prefix)
    reader = _READERS.get(key)
    if reader is None:
        reader = _reader(row._fields, prefix)
        if not isinstance(row, tuple):  # a SQLAlchemy Row (the read side): its own columns
            return reader
        if len(_READERS) >= CACHE_LIMIT:
            _READERS.clear()
        _READERS[key] = reader
    return reader


def _payable(values: tuple[Any, ...]) -> Payable:
    """A payables row's `_PAYABLE_NAMES` columns as the domain record, its lines still to come."""
    (id_, payment_code, unit_id, biz_no, payer_name, payer_type, payer_id_masked, amount_fen) = (
        values[:8]
    )
    (status, due_date, remark, request_hash, channel, paid_fen, paid_order_id) = values[8:15]
    (refunded_fen, created_at, paid_at) = values[15:]
    return Payable(
        id=id_,
        payment_code=payment_code,
        unit_id=unit_id,
        biz_no=biz_no,
        payer_name=payer_name,
        payer_type=PayerType(payer_type),
        payer_id_masked=payer_id_masked,
        amount_fen=amount_fen,
        status=PayableStatus(status),
        due_date=due_date,
        remark=remark,
        lines=[],
        request_hash=request_hash,
        channel=channel,
        paid_fen=paid_fen,
        paid_order_id=paid_order_id,
        refunded_fen=refunded_fen,
        created_at=utc(created_at),
        paid_at=utc(paid_at) if paid_at else None,
    )
