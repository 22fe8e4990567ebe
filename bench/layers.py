"""Cost layers, single-threaded and in this process (no HTTP, no contention): CPU per request
of (1) the raw SQL ceiling on one connection and (2) what the route does through the services
and SQLAlchemy, with its statements, transactions and pool checkouts counted.

Compared with the server's CPU per request over HTTP (the main table), this splits a request's
cost into database driver / SQLAlchemy + services / HTTP + FastAPI + threadpool.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import event
from starlette.requests import Request

from bench import raw_sql, scenarios
from bench.channels import ChannelKeys
from bench.database import BenchDb, open_orders
from publicpay.adapters.channels.configured import build_registry
from publicpay.api.auth import check_request
from publicpay.api.presenters import new_payable_out
from publicpay.api.schemas import PayableIn
from publicpay.bootstrap import Container
from publicpay.domain.payables import LineRequest, Payer, PayerType
from publicpay.domain.payments.channels import Channel
from publicpay.services.payables.registration import RegisterPayable, register_payable
from publicpay.services.payments.notifications import handle_notification


@dataclass(frozen=True)
class Layer:
    name: str
    cpu_us: float  # this thread's CPU per request
    wall_us: float
    statements: float = 0.0
    transactions: float = 0.0
    checkouts: float = 0.0

    def line(self) -> str:
        counted = (
            f"{self.statements:.0f} | {self.transactions:.0f} | {self.checkouts:.0f}"
            if self.checkouts
            else "- | 1 | 1"
        )
        return f"| {self.name} | {self.cpu_us:,.0f} | {self.wall_us:,.0f} | {counted} |"


HEADER = [
    "| layer (1 thread, no HTTP) | CPU µs/request | wall µs/request | statements (driver) "
    "| transactions | pool checkouts |",
    "|---|---:|---:|---:|---:|---:|",
]


def _timed(items: list[Any], work: Callable[[Any], None]) -> tuple[float, float]:
    for item in items[: max(5, len(items) // 10)]:
        work(item)  # warm caches (statement cache, catalogue, client secrets)
    rest = items[max(5, len(items) // 10) :]
    cpu, wall = time.thread_time(), time.perf_counter()
    for item in rest:
        work(item)
    return (
        (time.thread_time() - cpu) * 1e6 / len(rest),
        (time.perf_counter() - wall) * 1e6 / len(rest),
    )


class _Counter:
    """Statements, BEGINs and pool checkouts of the container's engines. Statements are counted
    at the driver: the repositories' executor (adapters/db/sql.py) runs its statements on the
    driver cursor, which SQLAlchemy's `before_cursor_execute` never sees — psycopg's
    `Cursor.execute` (wrapped while counting) and SQLite's trace callback do."""

    def __init__(self, container: Container) -> None:
        self.counts: Counter[str] = Counter()
        for engine in {container.engines.write, container.engines.read}:
            event.listen(engine, "begin", self._begin)
            event.listen(engine.pool, "checkout", self._checkout)
        self._execute = psycopg.Cursor.execute
        counts, execute = self.counts, self._execute

        def counted(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            counts["statements"] += 1
            return execute(cursor, *args, **kwargs)

        psycopg.Cursor.execute = counted  # type: ignore[assignment,method-assign]

    def close(self) -> None:
        psycopg.Cursor.execute = self._execute  # type: ignore[method-assign]

    def _sqlite_statement(self, sql: str) -> None:
        if not sql.startswith(("--", "BEGIN", "COMMIT", "ROLLBACK")):  # not trigger bodies
            self.counts["statements"] += 1

    def _begin(self, *_: Any) -> None:
        self.counts["transactions"] += 1

    def _checkout(self, dbapi_connection: Any, *_: Any) -> None:
        self.counts["checkouts"] += 1
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(self._sqlite_statement)


# (label, file fragment, function name): inclusive CPU of these frames, from cProfile with a
# per-thread CPU clock (profiling roughly doubles the cost; read the shares, not the µs)
WATCHED = (
    ("signature (check_request)", "api/auth.py", "check_request"),
    ("register_payable", "services/payables/registration.py", "register_payable"),
    ("response body (new_payable_out)", "api/presenters.py", "new_payable_out"),
    ("parse_notification (verify)", "adapters/channels/", "parse_notification"),
    (
        "store + apply + mark (one transaction)",
        "services/payments/notifications.py",
        "_apply_new_payment",
    ),
    ("  apply_trade_in (payable paid, ledger…)", "services/payments/orders.py", "apply_trade_in"),
    ("SQLAlchemy Connection.execute", "sqlalchemy/engine/base.py", "execute"),
    ("  building statements (.values(**row))", "sqlalchemy/sql/dml.py", "values"),
    ("  cache key of each new statement", "sqlalchemy/sql/cache_key.py", "_generate_cache_key"),
    ("  result set-up", "sqlalchemy/engine/default.py", "_setup_result_proxy"),
    ("  psycopg / sqlite3 execute", "engine/default.py", "do_execute"),
    ("connect + pre-ping (checkout)", "sqlalchemy/pool/base.py", "_checkout"),
    ("commit", "sqlalchemy/engine/base.py", "_commit_impl"),
)


def _profile(items: list[Any], work: Callable[[Any], None]) -> list[str]:
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for item in items:
        work(item)
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in stats.values())
    lines = []
    for label, path, name in WATCHED:
        inclusive = max(
            (
                ct
                for (file, _line, func), (_cc, _nc, _tt, ct, _c) in stats.items()
                if func == name and path in file
            ),
            default=0.0,
        )
        if inclusive:
            lines.append(f"{label} {inclusive / total:.0%}")
    return lines


def _container(db: BenchDb) -> Container:
    container = db.container()
    with container.uow() as uow:
        container.gateways = build_registry(uow.channel_accounts.all())
    return container


def _service_layer(
    name: str, container: Container, items: list[Any], work: Callable[[Any], None]
) -> Layer:
    counter = _Counter(container)
    try:
        cpu, wall = _timed(items, work)
    finally:
        counter.close()
    counts, total = counter.counts, len(items)  # counted over warm-up and timed requests
    return Layer(
        name,
        cpu,
        wall,
        counts["statements"] / total,
        counts["transactions"] / total,
        counts["checkouts"] / total,
    )


def _register_route(container: Container) -> Callable[[bytes], None]:
    """What POST /api/v1/payables runs: signature + nonce, the service, the response body."""

    def run(raw: bytes) -> None:
        head, body = raw.split(b"\r\n\r\n", 1)
        headers = [
            (name.strip().lower().encode(), value.strip().encode())
            for name, value in (line.decode().split(":", 1) for line in head.split(b"\r\n")[1:])
        ]
        scope = {"type": "http", "method": "POST", "path": scenarios.PAYABLES_PATH}
        request = Request({**scope, "headers": headers, "query_string": b""})
        call = check_request(request, body, container)
        client = call.client
        payload = PayableIn.model_validate(json.loads(body))
        assert client.unit_id is not None
        cmd = RegisterPayable(
            unit_id=client.unit_id,
            biz_no=payload.biz_no,
            payer=Payer(payload.payer.name, PayerType(payload.payer.type), payload.payer.id_no),
            items=tuple(LineRequest(i.item_code, i.quantity, i.amount_fen) for i in payload.items),
        )
        result = register_payable(
            container.uow(nonce=call.nonce),  # the nonce is claimed in the registration
            cmd,
            region_code=container.settings.region_code,
            clock=container.clock,
        )
        new_payable_out(container, result.payable).model_dump_json()

    return run


def measure(db: BenchDb, keys: ChannelKeys, count: int) -> list[str]:
    """The layer table for registration and Alipay confirmation on `db`."""
    container = _container(db)
    layers: list[Layer] = []
    try:
        conn = raw_sql.connect(db)
        try:
            register = raw_sql.registration_work(db, unit_id=1)
            cpu, wall = _timed(list(range(count)), lambda n: register(conn, n))
            layers.append(Layer("registration: raw SQL (driver only)", cpu, wall))
            confirm = raw_sql.confirmation_work(db, postings=2)
            orders = open_orders(db, Channel.ALIPAY, count)
            cpu, wall = _timed(orders, lambda order: confirm(conn, order))
            layers.append(Layer("confirmation: raw SQL (driver only)", cpu, wall))
        finally:
            conn.close()
        requests = scenarios.registrations(db, "bench", count + count // 2).requests
        route = _register_route(container)
        layers.append(
            _service_layer("registration: route code", container, requests[:count], route)
        )
        shares = [("registration", _profile(requests[count:], route))]
        orders = open_orders(db, Channel.ALIPAY, count + count // 2)
        notes = [keys.alipay_notification(*order) for order in orders]

        def notify(note: tuple[bytes, dict[str, str]]) -> None:
            body, headers = note
            ack = handle_notification(
                container.uow,
                container.gateways,
                Channel.ALIPAY,
                headers,
                body,
                clock=container.clock,
            )
            assert ack.body == b"success", ack

        layers.append(
            _service_layer("confirmation: route code (Alipay)", container, notes[:count], notify)
        )
        shares.append(("confirmation", _profile(notes[count:], notify)))
        url = f"{db.settings().public_base_url}/api/v1/notify/wechat"
        wechat = [keys.wechat_notification(*o, url) for o in open_orders(db, Channel.WECHAT, count)]

        def notify_wechat(note: tuple[bytes, dict[str, str]]) -> None:
            body, headers = note
            ack = handle_notification(
                container.uow,
                container.gateways,
                Channel.WECHAT,
                headers,
                body,
                clock=container.clock,
            )
            assert ack.status_code == 204, ack

        layers.append(
            _service_layer(
                "confirmation: route code (WeChat Pay)", container, wechat, notify_wechat
            )
        )
    finally:
        container.close()
    lines = [f"Cost layers on {db.name}:", "", *HEADER, *(layer.line() for layer in layers), ""]
    if db.kind == "postgresql":
        lines += [
            "Round trips to PostgreSQL per request: statements + 2 per transaction (BEGIN,",
            "COMMIT).",
            "",
        ]
    lines.append(
        "Where the route code's CPU goes (cProfile on a thread-CPU clock, inclusive shares):"
    )
    lines += [f"- {what}: " + "; ".join(parts) for what, parts in shares]
    return lines
