"""The executor's write plans: a flush of writes of shapes seen before reuses the combined
statement worked out for them and takes each argument from the same place of its write. Each
flush below must send exactly what working the writes out one by one sends (`_send_combined`),
and writes of other shapes (columns, row counts, children, conflict clause, IN-list lengths)
must never share a plan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, MetaData, String, Table, bindparam
from sqlalchemy import update as update_

from publicpay.adapters.db.dialects import POSTGRESQL, Dialect, Variant
from publicpay.adapters.db.sql import _CURSOR, Change, Insert, Sql, Write, _groups

_metadata = MetaData()
parents = Table(
    "plan_parents",
    _metadata,
    Column("id", BigInteger, primary_key=True),
    Column("a", String(10)),
    Column("b", String(10)),
    Column("c", JSON),
    Column("state", String(10), default="new"),  # a value the statement carries itself
)
kids = Table(
    "plan_kids",
    _metadata,
    Column("id", BigInteger, primary_key=True),
    Column("parent_id", BigInteger, ForeignKey("plan_parents.id")),
    Column("x", BigInteger),
)
_RENAME = update_(parents).where(parents.c.id.in_(bindparam("ids", expanding=True)))
_RENAME = _RENAME.values(a=bindparam("a"))


def _upsert(dialect: Dialect) -> Any:
    stmt = dialect.insert(parents).values(id=bindparam("id"), a=bindparam("a"))
    return stmt.on_conflict_do_update(index_elements=[parents.c.id], set_={"a": bindparam("a")})


_UPSERT = Variant(_upsert)


class _Cursor:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def execute(self, sql: str, args: list[Any]) -> None:
        values = [getattr(value, "obj", value) for value in args]  # psycopg's Json: its object
        self.sent.append((sql, values))


class _Connection:
    def __init__(self, cursor: _Cursor) -> None:
        self.info = {_CURSOR: cursor}


def _flushed(writes: list[Write]) -> list[tuple[str, list[Any]]]:
    cursor = _Cursor()
    sql = Sql(_Connection(cursor), POSTGRESQL)  # type: ignore[arg-type]
    for write in writes:
        sql.queue(write)
    sql.flush()
    return cursor.sent


def _one_by_one(writes: list[Write]) -> list[tuple[str, list[Any]]]:
    cursor = _Cursor()
    sql = Sql(_Connection(cursor), POSTGRESQL)  # type: ignore[arg-type]
    for group in _groups(writes):
        sql._send_combined(group)
    return cursor.sent


def _parent(n: int, **extra: Any) -> dict[str, Any]:
    return {"a": f"a{n}", "b": f"b{n}", "c": {"n": n}} | extra


def _family(parent_rows: int, kid_rows: int, *, ignore: bool = False) -> Insert:
    children = Insert(kids, tuple({"x": 10 * i} for i in range(kid_rows)))
    rows = tuple(_parent(i) for i in range(parent_rows))
    return Insert(
        parents, rows, ignore_conflict=ignore, children=children, children_key="parent_id"
    )


CASES: list[list[Write]] = [
    [Insert(parents, (_parent(1),))],
    [Insert(parents, (_parent(2),))],  # same shape, other values
    [Insert(parents, ({"a": "x", "b": "y"},))],  # other columns
    [Insert(parents, ({"b": "y", "a": "x"},))],  # the same columns in another order (*)
    [Insert(parents, (_parent(1), _parent(2)))],  # two rows
    [Insert(parents, (_parent(1),), ignore_conflict=True)],
    [Insert(parents, (_parent(1, state="old"),))],  # the default given (*)
    [_family(1, 1)],
    [_family(1, 3)],
    [_family(1, 2, ignore=True)],
    [Change(_RENAME, {"ids": [1, 2], "a": "n"})],
    [Change(_RENAME, {"ids": [1, 2, 3], "a": "n"})],
    [Change(_UPSERT, {"id": 1, "a": "u"})],
    [
        Insert(parents, (_parent(1),)),
        _family(1, 2),
        Change(_RENAME, {"ids": [4], "a": "m"}),
        Change(_UPSERT, {"id": 1, "a": "u"}, key=("plan_parents", 1)),
        Change(_UPSERT, {"id": 1, "a": "v"}, key=("plan_parents", 1)),  # a second statement
        _family(2, 1),
    ],
    [_family(1, 2), Insert(parents, (_parent(1),))],  # the same writes in another order
]
SAME_STATEMENT = (3, 6)  # (*): other shapes whose statement happens to be the same text


def test_each_flush_sends_what_the_writes_worked_out_one_by_one_send() -> None:
    for _ in range(2):  # the second round: every plan is reused
        for writes in CASES:
            assert _flushed(writes) == _one_by_one(writes)


def test_writes_of_other_shapes_never_share_a_statement() -> None:
    sent = [_flushed(writes) for writes in CASES]
    statements = [tuple(sql for sql, _ in flush) for flush in sent]
    assert statements[0] == statements[1]  # the same shape: the same statement
    others = [s for i, s in enumerate(statements) if i not in (1, *SAME_STATEMENT)]
    assert len(set(others)) == len(others)
