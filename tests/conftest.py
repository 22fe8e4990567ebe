"""Shared fixtures. The database is SQLite by default; `--db postgresql` (or
PUBLICPAY_TEST_DATABASE_URL) runs the same tests against PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from publicpay.adapters.db import migrate
from publicpay.adapters.db.engine import make_engines
from publicpay.demo.stack import Stack, build_stack
from publicpay.settings import Mode, Settings
from tests.support.client import SignedClient
from tests.support.servers import free_port, serve
from tests.support.webhooks import WebhookReceiver

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Every test calls from 127.0.0.1: the shared stacks do not throttle callers without credentials
# (the throttle tests install tight limits of their own on `app.state.anonymous_limits`).
UNTHROTTLED: dict[str, Any] = {
    "anonymous_rate_per_s": 1e9,
    "anonymous_burst": 1e9,
    "anonymous_misses_per_hour": 1e9,
    "anonymous_orders_per_hour": 1e9,
    "receipt_check_failures_per_hour": 1e9,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("PUBLICPAY_TEST_DB", "sqlite"),
        choices=["sqlite", "postgresql"],
    )


def _fresh_pg_database() -> str:
    name = f"publicpay_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def new_database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of empty databases of the chosen kind (dropped at the end)."""
    made: list[str] = []

    def make() -> str:
        if db_kind == "postgresql":
            url = _fresh_pg_database()
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'publicpay.db'}"
        made.append(url)
        return url

    yield make
    for url in made:
        if url.startswith("postgresql"):
            _drop_pg_database(url)


@pytest.fixture(scope="module")
def schema_engine(new_database_url: Any) -> Iterator[Engine]:
    """A database of this module's own, migrated to the latest schema (its write engine), for
    tests that write rows straight into the tables."""
    url = new_database_url()
    migrate.upgrade(url)
    engines = make_engines(url)
    yield engines.write
    engines.dispose()


@pytest.fixture(scope="session")
def stack(new_database_url: Any) -> Iterator[Stack]:
    """The platform with its emulators, served over real HTTP on a free port."""
    port = free_port()
    settings = Settings(
        mode=Mode.TEST,
        database_url=new_database_url(),
        public_base_url=f"http://127.0.0.1:{port}",
        recovery_after_s=0,
        # every test logs in from 127.0.0.1: the per-address throttle is tested on its own
        login_failures_per_address=10_000,
        **UNTHROTTLED,
    )
    built = build_stack(settings, emulator_time_scale=0.001)
    with serve(built.app, port=port):
        yield built
    built.close()


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return str(stack.info["base_url"])


@pytest.fixture(scope="session")
def unit(stack: Stack) -> dict[str, Any]:
    """The vehicle office (车管所): its codes, items and API credentials."""
    return dict(stack.info["units"][0])


@pytest.fixture(scope="session")
def api(stack: Stack, unit: dict[str, Any]) -> SignedClient:
    return SignedClient(str(stack.info["base_url"]), unit["app_id"], unit["app_secret"])


@pytest.fixture(scope="session")
def school_api(stack: Stack) -> SignedClient:
    school = stack.info["units"][2]
    return SignedClient(str(stack.info["base_url"]), school["app_id"], school["app_secret"])


@pytest.fixture(scope="session")
def payer(stack: Stack) -> dict[str, str]:
    return dict(stack.info["payers"][0])


@pytest.fixture(scope="session")
def webhooks() -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()
    with serve(receiver.app()) as url:
        yield receiver, f"{url}/hook"


def new_biz_no() -> str:
    return "BIZ" + uuid.uuid4().hex[:12].upper()


def payable_body(payer: dict[str, str], item: str = "GA0101", **extra: Any) -> dict[str, Any]:
    return {
        "biz_no": new_biz_no(),
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
        "items": [{"item_code": item, "quantity": 1}],
        **extra,
    }


ROOT = Path(__file__).resolve().parents[1]
