"""Migrations go up, come down and match the models, on the database under test."""

from __future__ import annotations

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
