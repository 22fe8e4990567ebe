"""An exact replay of a signed request — the same headers (nonce, timestamp, signature) and the
same body — is refused with 401 on every signed route, on both databases, and changes nothing.

The nonce is claimed in the request's own first transaction (with its writes when it commits,
on its own when it does not), so the replay is refused at the same step whatever the route does:
a registration replayed (which would otherwise be answered as the idempotent repeat of its
biz_no), a refused request replayed (its body, its ids), a read replayed. Every signed operation
in /openapi.json has a case here (`test_every_signed_operation_has_a_replay_case`).

The platform is this module's own (a fresh database): some cases rotate and revoke credentials.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.schema import metadata
from publicpay.demo.stack import Stack, build_stack
from publicpay.settings import Mode, Settings
from tests.conftest import payable_body
from tests.support.client import SignedClient
from tests.support.servers import free_port, serve

WATCHED = (
    "payables",
    "payment_orders",
    "events",
    "ledger_postings",
    "refunds",  # not the inbox: channels' own notifications of a first payment arrive when they do
    "payable_batches",
    "webhook_deliveries",
    "channel_accounts",
    "receipt_prints",
)


@pytest.fixture(scope="module")
def own_stack(new_database_url: Any) -> Iterator[Stack]:
    port = free_port()
    built = build_stack(
        Settings(
            mode=Mode.TEST,
            database_url=new_database_url(),
            public_base_url=f"http://127.0.0.1:{port}",
            recovery_after_s=0,
        ),
        emulator_time_scale=0.001,
    )
    with serve(built.app, port=port):
        yield built
    built.close()


class Caller:
    """Sends one signed request, then exactly the same bytes again."""

    def __init__(self, client: SignedClient) -> None:
        self.client = client

    def twice(self, method: str, path: str, payload: Any = None) -> tuple[Any, Any]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = self.client.headers(method, path, body, nonce=uuid.uuid4().hex)
        if method == "POST" and path.endswith("/refunds"):  # the refund request's own key
            headers["Idempotency-Key"] = uuid.uuid4().hex
        first = self.client.http.request(method, path, content=body, headers=headers)
        return first, lambda: self.client.http.request(method, path, content=body, headers=headers)


def _clients(stack: Stack) -> dict[str, SignedClient]:
    info, base = stack.info, str(stack.info["base_url"])
    unit = info["units"][0]
    return {
        "unit": SignedClient(base, unit["app_id"], unit["app_secret"]),
        "bank": SignedClient(base, info["bank"]["app_id"], info["bank"]["app_secret"]),
        "device": SignedClient(base, info["kiosk"]["device_id"], info["kiosk"]["device_secret"]),
        # `spare_unit`: added per case by `_context`
        "finance": SignedClient(base, info["finance"]["app_id"], info["finance"]["app_secret"]),
    }


def _snapshot(stack: Stack) -> dict[str, int]:
    with stack.container.engines.read.connect() as conn:
        found = {
            name: int(
                conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            )
            for name in WATCHED
        }
        found["audit_log"] = int(
            conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        )
    return found


def _registered(stack: Stack, clients: dict[str, SignedClient]) -> dict[str, Any]:
    response = clients["unit"].post("/api/v1/payables", payable_body(stack.info["payers"][0]))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _batch_rows(stack: Stack) -> dict[str, Any]:
    payer = stack.info["payers"][0]
    row = {
        "biz_no": "B" + uuid.uuid4().hex[:10],
        "payer_name": payer["name"],
        "payer_type": "person",
        "id_no": payer["id_no"],
        "item_code": "GA0101",
        "quantity": 1,
    }
    return {"rows": [row]}


def _today() -> str:
    return datetime.now(UTC).astimezone().date().isoformat()


# (credential, method, path, body) for each signed operation; `path` and `body` may use what
# `prepare` made (a fresh payable and its code, a batch...)
Case = tuple[str, str, Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], Any]]
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/payables"): (
        "unit",
        "POST",
        lambda _: "/api/v1/payables",
        lambda ctx: payable_body(ctx["payer"]),
    ),
    ("GET", "/api/v1/payables"): (
        "unit",
        "GET",
        lambda ctx: f"/api/v1/payables?biz_no={ctx['payable']['biz_no']}",
        lambda _: None,
    ),
    ("GET", "/api/v1/payables/{payment_code}"): (
        "unit",
        "GET",
        lambda ctx: f"/api/v1/payables/{ctx['payable']['payment_code']}",
        lambda _: None,
    ),
    ("POST", "/api/v1/payables/{payment_code}/cancel"): (
        "unit",
        "POST",
        lambda ctx: f"/api/v1/payables/{ctx['payable']['payment_code']}/cancel",
        lambda _: None,
    ),
    ("POST", "/api/v1/payable-batches"): (
        "unit",
        "POST",
        lambda _: "/api/v1/payable-batches",
        lambda ctx: _batch_rows(ctx["stack"]),
    ),
    ("GET", "/api/v1/payable-batches/{batch_id}"): (
        "unit",
        "GET",
        lambda ctx: f"/api/v1/payable-batches/{ctx['batch_id']}",
        lambda _: None,
    ),
    ("GET", "/api/v1/payable-batches/{batch_id}/report.xlsx"): (
        "unit",
        "GET",
        lambda ctx: f"/api/v1/payable-batches/{ctx['batch_id']}/report.xlsx",
        lambda _: None,
    ),
    ("GET", "/api/v1/events"): ("unit", "GET", lambda _: "/api/v1/events?after=0", lambda _: None),
    ("PUT", "/api/v1/webhook-endpoint"): (
        "unit",
        "PUT",
        lambda _: "/api/v1/webhook-endpoint",
        lambda _: {"url": "http://127.0.0.1:9/hook"},
    ),
    ("PUT", "/api/v1/lookup-endpoint"): (  # window POS: asking the business system (issue 13)
        "unit",
        "PUT",
        lambda _: "/api/v1/lookup-endpoint",
        lambda _: {"url": "http://127.0.0.1:9/lookup"},
    ),
    ("POST", "/api/v1/events/{event_id}/replay"): (
        "unit",
        "POST",
        lambda _: "/api/v1/events/evt_0000/replay",
        lambda _: None,
    ),
    ("GET", "/api/v1/counter/payables/{payment_code}"): (
        "bank",
        "GET",
        lambda ctx: f"/api/v1/counter/payables/{ctx['payable']['payment_code']}",
        lambda _: None,
    ),
    ("POST", "/api/v1/counter/payments"): (
        "bank",
        "POST",
        lambda _: "/api/v1/counter/payments",
        lambda ctx: {
            "payment_code": ctx["payable"]["payment_code"],
            "amount_fen": ctx["payable"]["amount_fen"],
            "bank_serial": "S" + uuid.uuid4().hex[:16],
        },
    ),
    ("POST", "/api/v1/counter/reversals"): (
        "bank",
        "POST",
        lambda _: "/api/v1/counter/reversals",
        lambda _: {"bank_serial": "S" + uuid.uuid4().hex[:16], "reason": "柜员操作失误"},
    ),
    ("GET", "/api/v1/counter/statements/{day}"): (
        "bank",
        "GET",
        lambda _: f"/api/v1/counter/statements/{_today()}",
        lambda _: None,
    ),
    ("POST", "/api/v1/pos/cash-payments"): (
        "device",
        "POST",
        lambda _: "/api/v1/pos/cash-payments",
        lambda ctx: {
            "payment_code": ctx["payable"]["payment_code"],
            "received_fen": ctx["payable"]["amount_fen"] + 1000,
            "cashier": "收费员01",
            "client_serial": uuid.uuid4().hex[:16],
        },
    ),
    ("GET", "/api/v1/pos/lookup"): (  # portal/POS (issue 13)
        "device",
        "GET",
        lambda ctx: f"/api/v1/pos/lookup?q={ctx['payable']['payment_code']}",
        lambda _: None,
    ),
    ("POST", "/api/v1/pos/barcode-payments"): (
        "device",
        "POST",
        lambda _: "/api/v1/pos/barcode-payments",
        lambda ctx: {"payment_code": ctx["payable"]["payment_code"], "auth_code": ctx["auth_code"]},
    ),
    ("GET", "/api/v1/receipts/write-off"): (
        "unit",
        "GET",
        lambda _: f"/api/v1/receipts/write-off?from={_today()}&to={_today()}",
        lambda _: None,
    ),
    ("GET", "/api/v1/receipts/{code}/{number}/signatures"): (
        "unit",
        "GET",
        lambda _: "/api/v1/receipts/33010526/0000000001/signatures",
        lambda _: None,
    ),
    ("POST", "/api/v1/receipts/{code}/{number}/print"): (
        "unit",
        "POST",
        lambda _: "/api/v1/receipts/33010526/0000000001/print",
        lambda _: {"place": "窗口"},
    ),
    ("POST", "/api/v1/receipts/{code}/{number}/booking"): (
        "unit",
        "POST",
        lambda _: "/api/v1/receipts/33010526/0000000001/booking",
        lambda _: {"check_code": "000000", "booked_by": "报销系统"},
    ),
    ("GET", "/api/v1/admin/channel-accounts"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/channel-accounts",
        lambda _: None,
    ),
    ("PUT", "/api/v1/admin/channel-accounts"): (
        "finance",
        "PUT",
        lambda _: "/api/v1/admin/channel-accounts",
        lambda _: {"channel": "alipay", "scope": "region:999999", "config": {}},
    ),
    # fee catalogue and unit authorisations (issue 10, area: admin)
    ("GET", "/api/v1/admin/fee-items"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/fee-items",
        lambda _: None,
    ),
    ("PUT", "/api/v1/admin/units/{unit_code}/items/{item_code}"): (
        "finance",
        "PUT",
        lambda _: "/api/v1/admin/units/330105101/items/JY0102",
        lambda _: None,
    ),
    ("DELETE", "/api/v1/admin/units/{unit_code}/items/{item_code}"): (
        "finance",
        "DELETE",
        lambda _: "/api/v1/admin/units/330105201/items/JY0102",
        lambda _: None,
    ),
    ("GET", "/api/v1/admin/api-clients"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/api-clients",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/api-clients/{app_id}/rotate"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/api-clients/{ctx['spare_app_id']}/rotate",
        lambda _: {"grace_s": 0},
    ),
    ("POST", "/api/v1/admin/api-clients/{app_id}/revoke"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/api-clients/{ctx['spare_app_id']}/revoke",
        lambda _: None,
    ),
    ("POST", "/api/v1/webhook-endpoint/rotate-secret"): (
        "unit",
        "POST",
        lambda _: "/api/v1/webhook-endpoint/rotate-secret",
        lambda _: {"grace_s": 3600},
    ),
    ("POST", "/api/v1/credentials/rotate"): (
        "spare_unit",
        "POST",
        lambda _: "/api/v1/credentials/rotate",
        lambda _: {"grace_s": 86400},
    ),
    # devices: a kiosk's heartbeat, a partner bank's view of the kiosks in its branches
    ("POST", "/api/v1/devices/heartbeat"): (
        "device",
        "POST",
        lambda _: "/api/v1/devices/heartbeat",
        lambda _: {"printer": "ok", "paper": "ok", "version": "1.0.0"},
    ),
    ("GET", "/api/v1/bank/devices"): (
        "bank",
        "GET",
        lambda _: "/api/v1/bank/devices",
        lambda _: None,
    ),
    ("GET", "/api/v1/kiosk/payables"): (
        "device",
        "GET",
        lambda ctx: f"/api/v1/kiosk/payables?id_no={ctx['payer']['id_no']}",
        lambda _: None,
    ),
    # refunds: asked by the unit (an unpaid payable: refused, but its nonce is spent all the
    # same), looked at, decided by the bureau (an unknown refund: 404, nonce spent)
    ("POST", "/api/v1/payables/{payment_code}/refunds"): (
        "unit",
        "POST",
        lambda ctx: f"/api/v1/payables/{ctx['payable']['payment_code']}/refunds",
        lambda _: {"amount_fen": 100, "reason": "业务撤销"},
    ),
    ("GET", "/api/v1/payables/{payment_code}/refunds"): (
        "unit",
        "GET",
        lambda ctx: f"/api/v1/payables/{ctx['payable']['payment_code']}/refunds",
        lambda _: None,
    ),
    ("GET", "/api/v1/refunds/{refund_no}"): (
        "unit",
        "GET",
        lambda _: "/api/v1/refunds/RF000000000000000000",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/refunds/{refund_no}/approve"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/refunds/RF000000000000000000/approve",
        lambda _: {"note": "同意"},
    ),
    ("POST", "/api/v1/admin/refunds/{refund_no}/decline"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/refunds/RF000000000000000000/decline",
        lambda _: {"note": "不符合退款条件"},
    ),
    # regions, units, sites, windows, users, fee-item edits (issue 10, area: admin): reads of
    # the demo unit, refusals (a region the district bureau cannot add, a malformed unit, an
    # unknown site or user: their nonces are spent all the same) and idempotent state changes
    ("GET", "/api/v1/admin/regions"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/regions",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/regions"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/regions",
        lambda _: {"code": "330105", "name": "拱墅区"},
    ),
    ("GET", "/api/v1/admin/units"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/units",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/units",
        lambda _: {"code": "X1", "name": "单位", "region_code": "330105", "credit_code": "1"},
    ),
    ("GET", "/api/v1/admin/units/{unit_code}"): (
        "finance",
        "GET",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}",
        lambda _: None,
    ),
    ("PATCH", "/api/v1/admin/units/{unit_code}"): (
        "finance",
        "PATCH",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}",
        lambda _: {"contact": "值班电话 0571-88880000"},
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/disable"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/units/NOSUCHUNIT/disable",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/enable"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/enable",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites",
        lambda _: {"code": "R-" + uuid.uuid4().hex[:8], "name": "重放网点", "kind": "castle"},
    ),
    ("PATCH", "/api/v1/admin/units/{unit_code}/sites/{site_code}"): (
        "finance",
        "PATCH",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE",
        lambda _: {"name": "新名称"},
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites/{site_code}/close"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/close",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites/{site_code}/reopen"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/reopen",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites/{site_code}/windows"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/windows",
        lambda _: {"number": "09"},
    ),
    ("PATCH", "/api/v1/admin/units/{unit_code}/sites/{site_code}/windows/{number}"): (
        "finance",
        "PATCH",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/windows/01",
        lambda _: {"name": "综合"},
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites/{site_code}/windows/{number}/close"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/windows/01/close",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/units/{unit_code}/sites/{site_code}/windows/{number}/reopen"): (
        "finance",
        "POST",
        lambda ctx: f"/api/v1/admin/units/{ctx['unit_code']}/sites/NOSITE/windows/01/reopen",
        lambda _: None,
    ),
    ("GET", "/api/v1/admin/users"): (
        "finance",
        "GET",
        lambda _: "/api/v1/admin/users",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/users"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/users",
        lambda _: {"username": "Bad Name", "role": "cashier", "unit_code": "330105101"},
    ),
    ("POST", "/api/v1/admin/users/{username}/disable"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/users/nosuchuser/disable",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/users/{username}/enable"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/users/nosuchuser/enable",
        lambda _: None,
    ),
    ("POST", "/api/v1/admin/users/{username}/reset"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/users/nosuchuser/reset",
        lambda _: None,
    ),
    ("PUT", "/api/v1/admin/users/{username}/role"): (
        "finance",
        "PUT",
        lambda _: "/api/v1/admin/users/nosuchuser/role",
        lambda _: {"role": "auditor", "region_code": "330105"},
    ),
    ("PATCH", "/api/v1/admin/fee-items/{item_code}"): (
        "finance",
        "PATCH",
        lambda _: "/api/v1/admin/fee-items/GA0101",
        lambda _: {"split": [{"level": "central", "fixed_fen": 100}]},
    ),
    ("POST", "/api/v1/admin/fee-items"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/fee-items",
        lambda _: {
            "code": "RP0001",
            "name": "重放测试收费",
            "category": "admin_fee",
            "budget_subject": "1030199",
            "destination": "treasury",
            "unit_of_measure": "次",
            "legal_basis": "测试依据",
            "split": [{"level": "central", "fixed_fen": 100}],  # refused: money nowhere
            "standards": [
                {"kind": "fixed", "amount_fen": 100, "valid_from": "2020-01-01", "basis": "测试"}
            ],
        },
    ),
    ("POST", "/api/v1/admin/fee-items/{item_code}/standards"): (
        "finance",
        "POST",
        lambda _: "/api/v1/admin/fee-items/GA0101/standards",
        lambda _: {"kind": "fixed", "amount_fen": 100, "valid_from": "2020-01-01", "basis": "测试"},
    ),
    # clearing (issue 12)
    ("GET", "/api/v1/clearing/windows/{window_id}/voucher.xml"): (
        "finance",
        "GET",
        lambda _: "/api/v1/clearing/windows/1/voucher.xml",
        lambda _: None,
    ),
}


def _signed_operations(stack: Stack) -> set[tuple[str, str]]:
    spec = stack.app.openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(scheme for scheme in operation.get("security", []))
    }


def test_every_signed_operation_has_a_replay_case(own_stack: Stack) -> None:
    assert _signed_operations(own_stack) <= set(CASES)


def _spare_client(stack: Stack, kind: str) -> SignedClient:
    """A credential of its own for a case that rotates or revokes it."""
    app_id, secret = f"pp_spare_{uuid.uuid4().hex[:8]}", "demo_" + uuid.uuid4().hex
    unit_id = stack.container.api_client(stack.info["units"][0]["app_id"]).unit_id  # type: ignore[union-attr]
    with stack.container.uow() as uow:
        uow.units.add_client(
            app_id, kind, unit_id if kind == "unit" else None, secret, datetime.now(UTC)
        )
        uow.commit()
    return SignedClient(str(stack.info["base_url"]), app_id, secret)


def _context(stack: Stack, clients: dict[str, SignedClient]) -> dict[str, Any]:
    batch = clients["unit"].post("/api/v1/payable-batches", _batch_rows(stack))
    assert batch.status_code in (200, 201), batch.text
    barcode = httpx.post(f"{stack.info['base_url']}/emulator/alipay/barcodes", json={}, timeout=5)
    clients["spare_unit"] = _spare_client(stack, "unit")
    return {
        "stack": stack,
        "payer": stack.info["payers"][0],
        "payable": _registered(stack, clients),
        "batch_id": batch.json()["id"],
        "auth_code": barcode.json()["auth_code"],
        "spare_app_id": _spare_client(stack, "device").app_id,
        "unit_code": str(stack.info["units"][0]["code"]),
    }


@pytest.mark.parametrize("operation", list(CASES), ids=[f"{m} {p}" for m, p in CASES])
def test_an_exact_replay_is_refused_and_changes_nothing(
    own_stack: Stack, operation: tuple[str, str]
) -> None:
    clients = _clients(own_stack)
    kind, method, path, body = CASES[operation]
    ctx = _context(own_stack, clients)
    first, again = Caller(clients[kind]).twice(method, path(ctx), body(ctx))
    assert first.status_code != 401, first.text
    assert first.status_code < 500, first.text
    before = _snapshot(own_stack)
    replay = again()
    assert replay.status_code == 401, replay.text
    assert replay.headers["content-type"].startswith("application/problem+json")
    if operation != ("POST", "/api/v1/credentials/rotate"):  # that one's secret is old now
        assert "重放" in replay.json()["detail"]
    assert _snapshot(own_stack) == before


def test_a_registration_sent_twice_at_once_is_stored_once_and_the_twin_refused(
    own_stack: Stack,
) -> None:
    """The same signed request twice at the same moment: one registers, the other waits on the
    nonce (PostgreSQL) or the write lock (SQLite) and is refused with 401."""
    clients = _clients(own_stack)
    raw = json.dumps(payable_body(own_stack.info["payers"][0]), ensure_ascii=False).encode()
    headers = clients["unit"].headers("POST", "/api/v1/payables", raw, nonce=uuid.uuid4().hex)
    before = _snapshot(own_stack)

    def send() -> int:
        with httpx.Client(base_url=str(own_stack.info["base_url"]), timeout=20) as http:
            return http.post("/api/v1/payables", content=raw, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = sorted(pool.map(lambda _: send(), range(2)))
    assert answers == [201, 401]
    assert _snapshot(own_stack)["payables"] == before["payables"] + 1
