"""Fresh bench databases: create (SQLite file or PostgreSQL `publicpay_bench_<random>`),
migrate, seed like the demo, configure the channel accounts, open orders, check, drop."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.channels import ChannelKeys, new_emulators
from publicpay.adapters.db import migrate
from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.events import events
from publicpay.adapters.db.ledger import ledger_journals
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import inbox, payment_orders
from publicpay.bootstrap import Container, build
from publicpay.demo.emulated import connect
from publicpay.demo.seed import describe, seed
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.services.payments.orders import new_order_no
from publicpay.settings import Mode, Settings

# PUBLICPAY_BENCH_PG_URL picks another server or a Unix socket, e.g.
# postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql
PG_ADMIN_URL = os.environ.get(
    "PUBLICPAY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
UNUSED_BASE_URL = "http://127.0.0.1:9"  # the gateways' URLs: the bench never calls a channel


@dataclass
class BenchDb:
    kind: str  # "sqlite" | "postgresql"
    url: str
    secret_key: str
    app_id: str = ""
    app_secret: str = ""
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def name(self) -> str:
        return "SQLite (file, WAL)" if self.kind == "sqlite" else "PostgreSQL 15"

    @property
    def database_name(self) -> str:
        """The PostgreSQL database's name ("" for SQLite)."""
        return str(make_url(self.url).database) if self.kind == "postgresql" else ""

    def settings(self, base_url: str = "http://127.0.0.1:8000") -> Settings:
        return Settings(
            mode=Mode.PRODUCTION,
            database_url=self.url,
            secret_key=self.secret_key,
            public_base_url=base_url,
        )

    def container(self) -> Container:
        return build(self.settings())

    def drop(self) -> None:
        if self.kind == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{make_url(self.url).database}" WITH (FORCE)')
        if self._tmp is not None:
            self._tmp.cleanup()


def create(kind: str) -> BenchDb:
    key = secrets.token_hex(32)
    if kind == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="publicpay_bench_")
        return BenchDb(kind, f"sqlite:///{Path(tmp.name) / 'publicpay.db'}", key, _tmp=tmp)
    name = f"publicpay_bench_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return BenchDb(kind, url, key)


def pg_available() -> bool:
    try:
        _pg_admin("SELECT 1")
    except Exception:
        return False
    return True


def _pg_admin(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def prepare(db: BenchDb) -> ChannelKeys:
    """Migrate and seed, then point the channel accounts at emulators as `demo.stack` does;
    returns the channels' keys (the server itself mounts no emulator: it never calls one)."""
    migrate.upgrade(db.url)
    container = db.container()
    emulators, alipay_pem = new_emulators()
    try:
        with container.uow() as uow:
            now = container.clock.now()
            seed(uow, now, region_code=container.settings.region_code)
            accounts = uow.channel_accounts
            configs = connect(accounts.all(), emulators, UNUSED_BASE_URL, time_scale=1.0)
            for channel, config in configs.items():
                accounts.save(channel, config, now)
            unit = describe(uow)["units"][0]  # the vehicle office (车管所)
            uow.commit()
    finally:
        emulators.close()
        container.close()
    db.app_id, db.app_secret = unit["app_id"], unit["app_secret"]
    return ChannelKeys.of(emulators, alipay_pem, configs)


def open_orders(db: BenchDb, channel: Channel, count: int) -> list[tuple[str, int]]:
    """Open one QR order on each of `count` unpaid payables (as `open_qr_order` reserves it),
    in one transaction through the orders repository; returns (order_no, amount_fen)."""
    container = db.container()
    opened: list[tuple[str, int]] = []
    try:
        with container.uow() as uow:
            conn = uow.connection
            has_order = select(payment_orders.c.id).where(
                payment_orders.c.payable_id == payables.c.id
            )
            rows = conn.execute(
                select(payables.c.id, payables.c.amount_fen)
                .where(payables.c.status == "unpaid", ~has_order.exists())
                .order_by(payables.c.id)
                .limit(count)
            ).all()
            now = datetime.now(UTC)
            for payable_id, amount_fen in rows:
                order = Order(
                    id=0,
                    order_no=new_order_no(now),
                    payable_id=payable_id,
                    channel=channel.value,
                    method=OrderMethod.QR,
                    amount_fen=amount_fen,
                    status=OrderStatus.PAYING,
                    qr_code=f"https://qr.example.invalid/{channel.value}/{payable_id}",
                    channel_trade_no=None,
                    created_at=now,
                    expires_at=now + timedelta(minutes=15),
                )
                uow.orders.add(order)
                opened.append((order.order_no, amount_fen))
            uow.commit()
    finally:
        container.close()
    if len(opened) < count:
        raise RuntimeError(f"only {len(opened)} unpaid payables to open orders on, {count} asked")
    return opened


@dataclass(frozen=True)
class Counts:
    payables: int
    paid: int
    journals: int
    paid_events: int
    audit_rows: int
    inbox_rows: int

    def line(self) -> str:
        return (
            f"payables={self.payables} paid={self.paid} journals={self.journals} "
            f"payable.paid events={self.paid_events} audit={self.audit_rows} "
            f"inbox={self.inbox_rows}"
        )


def counts(db: BenchDb) -> Counts:
    """What the database holds (checked after each scenario: every 2xx did its writes)."""
    engine = create_engine(db.url)

    def count(table: Any, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    try:
        with engine.connect() as conn:
            return Counts(
                payables=count(payables),
                paid=count(payables, payables.c.status == "paid"),
                journals=count(ledger_journals),
                paid_events=count(events, events.c.type == "payable.paid"),
                audit_rows=count(audit_log),
                inbox_rows=count(inbox),
            )
    finally:
        engine.dispose()
