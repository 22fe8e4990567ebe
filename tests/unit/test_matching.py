"""The columnar matching engine: every class, and platform-only with the cut-off pool."""

from __future__ import annotations

import polars as pl

from publicpay.adapters.reconciliation.frames import LINE_SCHEMA
from publicpay.adapters.reconciliation.matching import ORDER_SCHEMA, REFUND_SCHEMA, match

DAY = "2026-12-05"


def _lines(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        [(i + 6, *row, 0, f"{DAY} 10:00:00") for i, row in enumerate(rows)],
        schema=LINE_SCHEMA,
        orient="row",
    )


def _order(i: int, no: str, amount: int, status: str = "succeeded", **kw: object) -> tuple:
    return (
        i,
        no,
        f"T{no}",
        amount,
        status,
        kw.get("day", DAY if status == "succeeded" else None),
        kw.get("late", False),
        kw.get("dup", False),
        kw.get("elsewhere", False),
    )


def test_every_class_is_found():
    lines = _lines(
        ("payment", "P1", None, "TP1", 100),  # matched
        ("payment", "P2", None, "TP2", 999),  # amount mismatch
        ("payment", "P3", None, "TP3", 300),  # order closed at the platform: lost notification
        ("payment", "PX", None, "TPX", 500),  # unknown order
        ("payment", "P4", None, "TP4", 400),  # second payment of a payable
        ("refund", "P1", "R1", "TP1", 50),  # matched refund
        ("refund", "P1", "R9", "TP1", 20),  # refund the platform does not know
    )
    orders = pl.DataFrame(
        [
            _order(1, "P1", 100),
            _order(2, "P2", 200),
            _order(3, "P3", 300, "closed"),
            _order(4, "P4", 400, dup=True),
            _order(5, "P5", 500),  # paid on the platform, not in the statement
            _order(6, "P6", 600, late=True),  # paid at 23:58: waits in the holding pool
            _order(7, "P7", 700, elsewhere=True),  # on yesterday's statement already
        ],
        schema=ORDER_SCHEMA,
        orient="row",
    )
    refunds = pl.DataFrame(
        [(1, "R1", 50, "succeeded", DAY, False), (2, "R2", 70, "succeeded", DAY, False)],
        schema=REFUND_SCHEMA,
        orient="row",
    )
    result = match(lines, orders, refunds, day=DAY)
    assert result.lines["match_class"].to_list() == [
        "matched",
        "amount_mismatch",
        "channel_only",
        "channel_only",
        "duplicate",
        "matched",
        "status_mismatch",
    ]
    assert result.lines["order_id"].to_list()[:5] == [1, 2, 3, None, 4]
    assert sorted(result.platform_only.select("key", "match_class").iter_rows()) == [
        ("P5", "platform_only"),
        ("P6", "holding"),
        ("R2", "platform_only"),
    ]
    assert result.counts() == {
        "matched": 2,
        "amount_mismatch": 1,
        "channel_only": 2,
        "duplicate": 1,
        "status_mismatch": 1,
        "platform_only": 2,
        "holding": 1,
    }


def test_counter_lines_match_by_bank_serial_and_reversals_match_reversed_orders():
    lines = _lines(
        ("payment", None, None, "TP1", 100),
        ("payment", None, None, "TP2", 200),
        ("refund", None, None, "TP2", 200),
    )
    orders = pl.DataFrame(
        [_order(1, "P1", 100), _order(2, "P2", 200, "reversed")],
        schema=ORDER_SCHEMA,
        orient="row",
    )
    result = match(lines, orders, pl.DataFrame(schema=REFUND_SCHEMA), day=DAY, key="trade_no")
    assert result.lines["match_class"].to_list() == ["matched", "matched", "matched"]
    assert result.platform_only.height == 0


def test_a_cart_is_one_line_matched_to_the_sum_of_its_orders():
    from publicpay.adapters.reconciliation.matching import ORDER_WITH_CART_SCHEMA

    lines = _lines(
        ("payment", "C1", None, "TC1", 300),  # a cart of two payables: 100 + 200
        ("payment", "C2", None, "TC2", 999),  # another cart, at another amount
        ("payment", "P9", None, "TP9", 50),
    )
    orders = pl.DataFrame(
        [
            (*_order(1, "P1", 100), "C1"),
            (*_order(2, "P2", 200), "C1"),
            (*_order(3, "P3", 400), "C2"),
            (*_order(4, "P4", 500), "C2"),
            (*_order(5, "P5", 70), "C3"),  # a cart paid on the platform, not in the statement
            (*_order(6, "P6", 30), "C3"),
            (*_order(9, "P9", 50), None),
        ],
        schema=ORDER_WITH_CART_SCHEMA,
        orient="row",
    )
    result = match(lines, orders, pl.DataFrame(schema=REFUND_SCHEMA), day=DAY)
    assert result.lines["match_class"].to_list() == ["matched", "amount_mismatch", "matched"]
    assert result.lines["order_id"].to_list() == [1, 3, 9]
    assert sorted(result.platform_only.select("key", "match_class").iter_rows()) == [
        ("P5", "platform_only"),
        ("P6", "platform_only"),
    ]
