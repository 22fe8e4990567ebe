"""Payables: their tables and repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Row,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from publicpay.adapters.db.deferred import pg_defer, pg_defer_ctes
from publicpay.adapters.db.dialect import (
    for_update,
    next_payable_id,
    pg_cursor,
    pg_insert_sql,
    pg_values,
)
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.domain.errors import Conflict
from publicpay.domain.payables import Payable, PayableLine, PayableStatus, PayerType
from publicpay.domain.time import utc

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


# built once, executed with bind parameters (see dialect.py)
_INSERT = insert(payables)
_INSERT_LINES = insert(payable_lines)
_BY_ID = select(payables).where(payables.c.id == bindparam("b_id"))
_BY_ID_LOCKED = for_update(_BY_ID)
_BY_CODE = select(payables).where(payables.c.payment_code == bindparam("b_code"))
_BY_CODE_LOCKED = for_update(_BY_CODE)
_BY_BIZ_NO = select(payables).where(
    payables.c.unit_id == bindparam("b_unit"), payables.c.biz_no == bindparam("b_biz_no")
)
_FOR_ORDER_LOCKED = for_update(
    select(payables).where(
        payables.c.id
        == select(payment_orders.c.payable_id)
        .where(payment_orders.c.order_no == bindparam("b_order_no"))
        .scalar_subquery()
    )
)
_LINES = (
    select(payable_lines)
    .where(payable_lines.c.payable_id == bindparam("b_id"))
    .order_by(payable_lines.c.line_no)
)
_SAVE = (
    update(payables)
    .where(payables.c.id == bindparam("b_id"))
    .values(version=payables.c.version + 1)
)

# PostgreSQL: the same statements as hand-written SQL on the psycopg cursor (dialect.pg_cursor)
_PG_BY: dict[Any, str] = {
    _BY_ID: "SELECT * FROM payables WHERE id = %s",
    _BY_ID_LOCKED: "SELECT * FROM payables WHERE id = %s FOR UPDATE",
    _BY_CODE: "SELECT * FROM payables WHERE payment_code = %s",
    _BY_CODE_LOCKED: "SELECT * FROM payables WHERE payment_code = %s FOR UPDATE",
    _BY_BIZ_NO: "SELECT * FROM payables WHERE unit_id = %s AND biz_no = %s",
    _FOR_ORDER_LOCKED: "SELECT * FROM payables WHERE id = (SELECT payable_id"
    " FROM payment_orders WHERE order_no = %s) FOR UPDATE",
}
# a payable and its lines in one round trip: the lines as a JSON array of arrays
PG_PAYABLE_WITH_LINES = (
    "SELECT payables.*, (SELECT json_agg(json_build_array(l.item_code, l.item_name,"
    " l.unit_of_measure, l.quantity, l.standard_fen, l.amount_fen) ORDER BY l.line_no)"
    " FROM payable_lines l WHERE l.payable_id = payables.id) AS lines_json FROM payables"
)
_PG_BY = {
    stmt: sql.replace("SELECT * FROM payables", PG_PAYABLE_WITH_LINES, 1)
    for stmt, sql in _PG_BY.items()
}
_PG_SAVE = (
    "UPDATE payables SET status = %s, paid_at = %s, paid_fen = %s, paid_order_id = %s,"
    " channel = %s, refunded_fen = %s, version = version + 1 WHERE id = %s"
)
_PG_BIZ_NO_AND_NEXT_ID = (  # SQL from the code, values bound
    "SELECT nextval('payable_serial') AS next_id, x.* FROM (SELECT 1) AS one"  # noqa: S608
    f" LEFT JOIN LATERAL ({_PG_BY[_BY_BIZ_NO]}) AS x ON true"
)
_LINE_COLUMNS = tuple(c.name for c in payable_lines.columns)
_PG_ADD: dict[tuple[tuple[str, ...], int], str] = {}


def _pg_add_ctes(columns: tuple[str, ...], line_count: int) -> str:
    """The payable and its lines as deferred CTEs (see deferred.pg_defer_ctes)."""
    sql = _PG_ADD.get((columns, line_count))
    if sql is None:
        line = "(" + ", ".join(["%s"] * len(_LINE_COLUMNS)) + ")"
        sql = (  # identifiers from the code; values bound
            f"{{w}}p AS ({pg_insert_sql('payables', columns)}), "  # noqa: S608
            f"{{w}} AS (INSERT INTO payable_lines ({', '.join(_LINE_COLUMNS)}) VALUES "
            + ", ".join([line] * line_count)
            + ")"
        )
        _PG_ADD[(columns, line_count)] = sql
    return sql


class PayablesRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._next_id: int | None = None

    def next_id(self) -> int:
        if self._next_id is not None:  # drawn with the biz_no lookup (PostgreSQL)
            drawn, self._next_id = self._next_id, None
            return drawn
        return next_payable_id(self._conn)

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        created_at: datetime,
    ) -> None:
        try:
            self._insert(payable, payer_id_enc, payer_id_hash, payer_phone_enc, created_at)
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise Conflict(f"业务编号 {payable.biz_no} 已登记") from exc

    def _insert(
        self,
        payable: Payable,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        created_at: datetime,
    ) -> None:
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
            "amount_fen": payable.amount_fen,
            "status": payable.status.value,
            "due_date": payable.due_date,
            "remark": payable.remark,
            "created_at": created_at,
            "refunded_fen": 0,
            "version": 1,
        }
        lines = [
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
        ]
        params = pg_values(row)
        for values in lines:
            params += pg_values(values)
        # PostgreSQL: a blind write; a biz_no taken meanwhile fails at commit (uow: Conflict)
        ctes = _pg_add_ctes(tuple(row), len(lines))
        if pg_defer_ctes(self._conn, ctes, params, key=("payables", payable.id)):
            return
        self._conn.execute(_INSERT, row)
        self._conn.execute(_INSERT_LINES, lines)

    def by_biz_no(self, unit_id: int, biz_no: str) -> Payable | None:
        """On PostgreSQL the same round trip draws the next payable id, which a registration
        needs next when the biz_no is new (a drawn id left unused is only a gap in the serial)."""
        cursor = pg_cursor(self._conn)
        if cursor is None:
            return self._one(_BY_BIZ_NO, {"b_unit": unit_id, "b_biz_no": biz_no})
        row = cursor.execute(_PG_BIZ_NO_AND_NEXT_ID, (unit_id, biz_no)).fetchone()
        assert row is not None
        self._next_id = int(row.next_id)
        if row.id is None:
            return None
        return payable_from_row(row, [PayableLine(*line) for line in row.lines_json or []])

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None:
        return self._one(_BY_CODE_LOCKED if lock else _BY_CODE, {"b_code": payment_code})

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None:
        return self._one(_BY_ID_LOCKED if lock else _BY_ID, {"b_id": payable_id})

    def for_order(self, order_no: str) -> Payable | None:
        """The payable of an order, locked (one statement: the lock order starts here)."""
        return self._one(_FOR_ORDER_LOCKED, {"b_order_no": order_no})

    def recent_unpaid(self, limit: int) -> list[Payable]:
        stmt = (
            select(payables)
            .where(payables.c.status == PayableStatus.UNPAID.value)
            .order_by(payables.c.id.desc())
            .limit(limit)
        )
        return [self._hydrate(row) for row in self._conn.execute(stmt)]

    def payer_id_enc(self, payable_id: int) -> bytes:
        stmt = select(payables.c.payer_id_enc).where(payables.c.id == payable_id)
        return bytes(self._conn.execute(stmt).scalar_one())

    def save(self, payable: Payable) -> None:
        """On PostgreSQL a blind write sent with the transaction's next statement or commit."""
        values = [payable.status.value, payable.paid_at, payable.paid_fen, payable.paid_order_id]
        values += [payable.channel, payable.refunded_fen, payable.id]
        if pg_defer(self._conn, _PG_SAVE, values, key=("payables", payable.id)):
            return
        self._conn.execute(
            _SAVE,
            {
                "b_id": payable.id,
                "status": payable.status.value,
                "paid_at": payable.paid_at,
                "paid_fen": payable.paid_fen,
                "paid_order_id": payable.paid_order_id,
                "channel": payable.channel,
                "refunded_fen": payable.refunded_fen,
            },
        )

    def _one(self, stmt: Any, params: dict[str, Any]) -> Payable | None:
        cursor = pg_cursor(self._conn)
        if cursor is not None:
            found = cursor.execute(_PG_BY[stmt], list(params.values())).fetchone()
            if found is None:
                return None
            return payable_from_row(found, [PayableLine(*line) for line in found.lines_json or []])
        row = self._conn.execute(stmt, params).first()
        return None if row is None else self._hydrate(row)

    def _hydrate(self, row: Row[Any]) -> Payable:
        return payable_from_row(row, self._lines(row.id))

    def _lines(self, payable_id: int) -> list[PayableLine]:
        return [
            PayableLine(
                r.item_code,
                r.item_name,
                r.unit_of_measure,
                r.quantity,
                r.standard_fen,
                r.amount_fen,
            )
            for r in self._conn.execute(_LINES, {"b_id": payable_id})
        ]


def payable_from_row(row: Any, lines: list[PayableLine]) -> Payable:
    """A payables row (any driver's named row) and its lines as the domain record."""
    return Payable(
        id=row.id,
        payment_code=row.payment_code,
        unit_id=row.unit_id,
        biz_no=row.biz_no,
        payer_name=row.payer_name,
        payer_type=PayerType(row.payer_type),
        payer_id_masked=row.payer_id_masked,
        amount_fen=row.amount_fen,
        status=PayableStatus(row.status),
        due_date=row.due_date,
        remark=row.remark,
        lines=lines,
        request_hash=row.request_hash,
        channel=row.channel,
        paid_fen=row.paid_fen,
        paid_order_id=row.paid_order_id,
        refunded_fen=row.refunded_fen,
        created_at=utc(row.created_at),
        paid_at=utc(row.paid_at) if row.paid_at else None,
    )
