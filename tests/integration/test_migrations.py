"""Migrations go up, come down and match the models, on the database under test."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, inspect, text

from publicpay.adapters.db import migrate


def test_migrations_upgrade_downgrade_and_match_the_models(new_database_url: Any) -> None:
    url = new_database_url()
    migrate.upgrade(url)
    migrate.check(url)  # raises when models and migrations disagree
    engine = create_engine(url)
    assert "payables" in inspect(engine).get_table_names()
    migrate.downgrade(url, "base")
    assert "payables" not in inspect(engine).get_table_names()
    migrate.upgrade(url)
    assert "payables" in inspect(engine).get_table_names()
    engine.dispose()


def test_codes_issued_before_permuted_serials_keep_their_serials(new_database_url: Any) -> None:
    """The upgrade that brings permuted serials records the floor above every existing id."""
    url = new_database_url()
    migrate.upgrade(url, "0011")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO regions (code, name) VALUES ('330105', '拱墅区')"))
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, region_code, credit_code, created_at)"
                " VALUES (1, 'U1', '单位', '330105', 'X', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO payables (id, payment_code, unit_id, biz_no, request_hash,"
                " payer_name, payer_type, payer_id_enc, payer_id_hash, payer_id_masked,"
                " amount_fen, status, remark, created_at, refunded_fen, version)"
                " VALUES (4711, '33010526010000047118', 1, 'B1', 'h', '张三', 'person', :enc,"
                " 'hash', '3301**', 100, 'unpaid', '', CURRENT_TIMESTAMP, 0, 1)"
            ),
            {"enc": b"x"},
        )
    migrate.upgrade(url)
    with engine.connect() as conn:
        floor = conn.execute(
            text("SELECT value FROM serials WHERE name = 'payment_code_floor'")
        ).scalar_one()
    engine.dispose()
    assert floor == 4712


def test_statistics_summaries_are_back_filled_from_the_payments_recorded(
    new_database_url: Any,
) -> None:
    """Revision 0020 sums the payments already recorded into the statistics' summaries."""
    from publicpay.adapters.db.queries.summary_checks import differences

    url = new_database_url()
    migrate.upgrade(url, "0019")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO regions (code, name) VALUES ('330105', '拱墅区')"))
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, region_code, credit_code, created_at)"
                " VALUES (1, 'U1', '单位', '330105', 'X', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO payables (id, payment_code, unit_id, biz_no, request_hash,"
                " payer_name, payer_type, payer_id_enc, payer_id_hash, payer_id_masked,"
                " amount_fen, status, remark, created_at, refunded_fen, version)"
                " VALUES (5, '33010526010000000051', 1, 'B1', 'h', '张三', 'person', :enc,"
                " 'hash', '3301**', 300, 'paid', '', CURRENT_TIMESTAMP, 0, 1)"
            ),
            {"enc": b"x"},
        )
        for line_no, amount in ((1, 100), (2, 200)):
            conn.execute(
                text(
                    "INSERT INTO payable_lines (payable_id, line_no, item_code, item_name,"
                    " unit_of_measure, quantity, standard_fen, amount_fen)"
                    " VALUES (5, :n, 'GA01', '护照', '本', 1, :fen, :fen)"
                ),
                {"n": line_no, "fen": amount},
            )
        conn.execute(
            text(
                "INSERT INTO payment_orders (id, order_no, payable_id, channel, method,"
                " amount_fen, status, created_at, expires_at, paid_at, version)"
                " VALUES (9, 'P9', 5, 'cash', 'cash', 300, 'succeeded', :at, :at, :at, 1)"
            ),
            {"at": datetime(2026, 12, 5, 17, 30, tzinfo=UTC)},  # 6 December 01:30 in Shanghai
        )
    migrate.upgrade(url)
    with engine.connect() as conn:
        hourly = conn.execute(
            text("SELECT day, hour, payments, amount_fen FROM stats_payments_hourly")
        ).one()
        items = conn.execute(text("SELECT payments, amount_fen FROM stats_items_daily")).one()
        assert differences(conn) == []
    engine.dispose()
    assert (str(hourly.day), hourly.hour, hourly.payments, hourly.amount_fen) == (
        "2026-12-06",
        1,
        1,
        300,
    )
    assert tuple(items) == (1, 300)
