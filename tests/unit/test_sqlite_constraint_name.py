"""A unique violation on SQLite is named from its columns: the unique constraint (or unique
index) on them, never a foreign key on the same columns (the table's constraints are a set)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table, UniqueConstraint

from publicpay.adapters.db.sql import violated_constraint


def _tables() -> dict[str, Table]:
    metadata = MetaData()
    Table("parents", metadata, Column("id", Integer, primary_key=True))
    Table(
        "children",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("parents.id", name="fk_children_parent")),
        Column("code", Integer),
        UniqueConstraint("parent_id", name="uq_children_parent_id"),
        Index("ix_children_code", "code", unique=True),
    )
    return dict(metadata.tables)


def test_a_unique_violation_names_the_unique_constraint_not_a_foreign_key_on_its_columns():
    error = sqlite3.IntegrityError("UNIQUE constraint failed: children.parent_id")
    for _ in range(50):  # whatever order each table's set of constraints comes in
        assert violated_constraint(error, _tables()) == "uq_children_parent_id"


def test_a_unique_index_and_the_primary_key_are_named_too():
    tables = _tables()
    by_index = sqlite3.IntegrityError("UNIQUE constraint failed: children.code")
    assert violated_constraint(by_index, tables) == "ix_children_code"
    by_key = sqlite3.IntegrityError("UNIQUE constraint failed: children.id")
    assert violated_constraint(by_key, tables) is None  # unnamed primary key here
