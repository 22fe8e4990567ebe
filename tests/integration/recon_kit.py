"""Reconciliation helpers for the integration tests: a payable paid (or not) through an
emulated channel, a run of one source's day, what the database says about lines and
exceptions."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from publicpay.adapters.db.ledger import ledger_postings
from publicpay.adapters.db.reconciliation.tables import (
    recon_exceptions,
    statement_lines,
    statements,
)
from publicpay.adapters.reconciliation.engine import PolarsEngine
from publicpay.demo.stack import Stack, build_stack
from publicpay.domain.clearing import Window, WindowStatus
from publicpay.domain.reconciliation import DayRecord, Source
from publicpay.domain.time import SHANGHAI
from publicpay.emulators.bank.teller import new_serial
from publicpay.services.reconciliation.reconcile import import_statement, reconcile_day
from publicpay.services.refunds.approval import Approver
from publicpay.services.refunds.transfers import record_transfer
from publicpay.settings import Mode, Settings
from tests.conftest import UNTHROTTLED
from tests.integration.console_kit import csrf_of
from tests.integration.counter_kit import bank_teller
from tests.integration.receipt_kit import drain
from tests.integration.refund_kit import finance, handed_over_refund
from tests.integration.test_payment_flow import register
from tests.support.client import SignedClient
from tests.support.servers import free_port, serve


@contextmanager
def own_stack(
    database_url: str, account: str, *, settings: Mapping[str, Any] | None = None, **extra: Any
) -> Iterator[Stack]:
    """A platform of its own (served), so that its bank's days hold only one file's movements;
    `settings`: more of its settings, `extra`: `build_stack`'s options."""
    port = free_port()
    configured = Settings(
        mode=Mode.TEST,
        database_url=database_url,
        public_base_url=f"http://127.0.0.1:{port}",
        recovery_after_s=3600,
        collection_account_number=account,
        **UNTHROTTLED,
        **(settings or {}),
    )
    built = build_stack(configured, emulator_time_scale=0.001, **extra)
    try:
        with serve(built.app, port=port):
            yield built
    finally:
        built.close()


def unit_api(stack: Any) -> SignedClient:
    """The first demo unit's signed API client."""
    unit = stack.info["units"][0]
    return SignedClient(stack.info["base_url"], unit["app_id"], unit["app_secret"])


def uploads_refused(
    client: httpx.Client,
    source: str,
    day: str,
    bad: Mapping[str, tuple[bytes, str]],
    file: tuple[str, str],
) -> None:
    """Each bad statement file (name: (content, reason)) uploaded on the workbench's day page is
    refused: 422, `对账单未导入` and its reason on the page. `file`: its name and media type."""
    token = csrf_of(client.get(f"/console/reconciliation/{source}/{day}").text)
    for name, (content, reason) in bad.items():
        refused = client.post(
            f"/console/reconciliation/{source}/{day}/upload",
            data={"csrf": token},
            files={"file": (file[0], content, file[1])},
        )
        assert refused.status_code == 422, name
        assert "对账单未导入" in refused.text, name
        assert reason in refused.text, name


def today() -> date:
    return datetime.now(SHANGHAI).date()


class FixedClock:
    """A clock stopped at one moment (the worker's T+1 run depends on the time of day)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def beijing(day: date, at: time) -> datetime:
    return datetime.combine(day, at, SHANGHAI).astimezone(UTC)


def run_day(stack: Any, source: str, day: date | None = None) -> DayRecord:
    c = stack.container
    return reconcile_day(
        c.uow, PolarsEngine(), c.statement_sources(), Source(source), day or today(), clock=c.clock
    )


def import_file(stack: Any, source: str, content: bytes, day: date | None = None) -> DayRecord:
    c = stack.container
    return import_statement(
        c.uow,
        PolarsEngine(),
        c.statement_sources(),
        Source(source),
        day or today(),
        content,
        clock=c.clock,
        actor="test",
    )


def resolve(
    client: httpx.Client, exception_id: int, csrf: str, action: str, reason: str
) -> httpx.Response:
    """The workbench's 处理 form: one action on one exception, with its reason."""
    return client.post(
        f"/console/reconciliation/exceptions/{exception_id}/resolve",
        data={"csrf": csrf, "action": action, "reason": reason},
    )


def line_of(stack: Any, order_no: str) -> Any:
    stmt = (
        select(statement_lines, statements.c.digest)
        .join(statements, statements.c.id == statement_lines.c.statement_id)
        .where(statement_lines.c.order_no == order_no, statements.c.status == "active")
    )
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).first()


def exceptions_for(stack: Any, key: str) -> list[Any]:
    stmt = select(recon_exceptions).where(recon_exceptions.c.key == key)
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def count(stack: Any, table: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return len(list(conn.execute(select(table.c.id))))


def statement_bytes(stack: Any, source: str, day: date | None = None) -> bytes:
    gateway = stack.container.gateways.get(source)
    return bytes(gateway.fetch_statement(day or today()))


def post(stack: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.info['base_url']}{path}", json=body, timeout=10)


PAYEE = {"name": "王芳", "bank": "中国工商银行杭州西湖支行", "account_no": "6222021234567890128"}


def counter_payment(stack: Stack, on: date, item: str = "GA0101") -> tuple[str, int]:
    """A payable of `item` paid at the bank counter on `on` (its code and amount): the last
    second of a past day (a counter's paid_at is accepted within the last 24 hours), else
    now."""
    code = register(unit_api(stack), stack.info["payers"][0], item)["payment_code"]
    teller = bank_teller(stack)
    due = int(teller.query(code).json()["amount_due_fen"])
    paid_at = min(
        datetime.combine(on + timedelta(days=1), time(), SHANGHAI), datetime.now(SHANGHAI)
    )
    paid_at -= timedelta(seconds=1)
    answer = teller.confirm(code, due, new_serial(), paid_at=paid_at)
    assert answer.status_code == 200, answer.text
    drain(stack)  # its receipt (a payment of a past day would be overdue)
    return code, due


def refund_by_transfer(stack: Stack, code: str, amount_fen: int) -> str:
    """Asked with the payer's account, approved, handed over, and recorded as transferred by
    finance (whose visit to the emulated bank makes the `REFUND:` debit)."""
    refund_no = handed_over_refund(stack, unit_api(stack), code, amount_fen, PAYEE)
    c = stack.container
    approver = Approver("user:fin_netting", c.settings.region_code)
    record_transfer(c.uow(), refund_no, "ICBC20261207", approver, clock=c.clock)
    return refund_no


def three_level_item(stack: Stack, fen: int) -> str:
    """A new fee item of `fen` split 1:1:1 by province, city and county, granted to the first
    demo unit (the finance administration API). Its code."""
    code = f"RF{secrets.randbelow(10**8):08d}"
    body = {
        "code": code,
        "name": "三级分成测试收费",
        "category": "admin_fee",
        "budget_subject": "1030199",
        "destination": "treasury",
        "unit_of_measure": "次",
        "legal_basis": "测价〔2026〕1号",
        "split": [{"level": level, "weight": 1} for level in ("province", "city", "county")],
        "standards": [
            {"kind": "fixed", "amount_fen": fen, "valid_from": "2020-01-01", "basis": "测价"}
        ],
    }
    created = finance(stack).post("/api/v1/admin/fee-items", body)
    assert created.status_code == 201, created.text
    unit = stack.info["units"][0]["code"]
    granted = finance(stack).put(f"/api/v1/admin/units/{unit}/items/{code}")
    assert granted.status_code == 200, granted.text
    return code


def owed_to_treasury(stack: Stack) -> dict[str, int]:
    """What the treasury payable of each level and the special account hold (non-zero)."""
    stmt = (
        select(ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen))
        .where(
            ledger_postings.c.account.like("treasury_payable:%")
            | (ledger_postings.c.account == "special_account")
        )
        .group_by(ledger_postings.c.account)
    )
    with stack.container.engines.read.connect() as conn:
        return {str(a): int(f) for a, f in conn.execute(stmt) if int(f)}


def bare_window(stack: Stack, day: date, account: str, **fen: int) -> Window:
    """An open window of nothing (its amounts in `fen`), for writing straight through the
    clearing repository (two windows opened at once)."""
    amounts = {"gross_fen": 0, "refunds_fen": 0, "fees_fen": 0, "total_fen": 0, **fen}
    return Window(
        id=0,
        business_day=day,
        account=account,
        status=WindowStatus.OPEN,
        created_at=stack.container.clock.now(),
        **amounts,
    )
