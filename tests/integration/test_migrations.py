"""Migrations go up, come down and match the models, on the database under test."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, inspect

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
