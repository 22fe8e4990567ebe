"""Scope everywhere (issue 10, item 9): every console route × every role × data in scope and
out of scope, from one table.

Two units: A in the platform's district (330105), B in another district (330110). Region roles
are granted 330105, unit roles unit A. For each row and each role:

- a role without the row's permission gets 403 (for in-scope and out-of-scope data alike);
- a role with it gets 200 for A's data, and for B's: 404 on a detail route (an out-of-scope id
  answers as if it did not exist), or a 200 page that does not mention B on a list route.

**Adding your area's routes: append `Route(...)` rows to ROUTES** (keep them in your own block
with a comment naming your area). `path` and `out` are format strings over the `World` fields
(`{unit}`, `{other_unit}`, `{item}`, `{other_item}`, …); `marker` names the World field whose
value must not appear on a list page (B's name, code, app id…). `scoped_roles` limits the
out-of-scope check to the roles the data is scoped for (the fee catalogue is the platform's:
only unit roles are limited to their authorised items).
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.users import users
from publicpay.demo.seed import credit_code
from publicpay.domain.access import PERMISSIONS, UNIT_ROLES, Permission, Role
from publicpay.domain.receipts.receipts import receipt_code
from publicpay.domain.time import business_date
from tests.conftest import payable_body
from tests.integration.console_kit import ConsoleUser, ensure_region, make_user, submit_login
from tests.integration.receipt_kit import new_unit, pay
from tests.support.client import SignedClient

OTHER_REGION = "330110"
OTHER_REGION_NAME = "余杭区"


@dataclass(frozen=True)
class World:
    unit: int  # A: in every test user's scope
    unit_name: str
    other_unit: int  # B: out of every test user's scope
    other_unit_name: str
    other_unit_code: str
    other_app_id: str
    other_username: str  # a cashier of B
    item: str  # authorised to A
    other_item: str  # authorised to B only
    payment_code: str  # a payable of A
    other_payment_code: str  # a payable of B
    other_region: str = OTHER_REGION
    user: int = 0  # a cashier of A (in scope of A's unit admin and the region roles)
    other_user: int = 0  # B's cashier
    other_region_name: str = OTHER_REGION_NAME
    week_ago: str = ""  # the statistics' period: the last seven days
    api: Any = field(default=None, compare=False)  # A's and B's signed API clients
    other_api: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Route:
    path: str  # in-scope data (format string over World)
    permission: Permission | None  # None: every logged-in role
    out: str | None = None  # the same route on out-of-scope data: 404 expected
    marker: str | None = None  # list routes: World field that must not show on the page
    scoped_roles: frozenset[Role] = field(default_factory=lambda: frozenset(Role))


ROUTES: list[Route] = [
    # --- console foundation (batches, stock, keys, write-off, credentials) ---
    Route("/console", None),
    Route("/console/payable-batches", Permission.REGISTER_BATCHES, marker="other_unit_name"),
    Route("/console/stock", Permission.VIEW_STOCK, marker="other_unit_name"),
    Route("/console/keys", Permission.ROTATE_KEYS, marker="other_unit_code"),
    Route("/console/write-off", Permission.VIEW_WRITE_OFF, marker="other_unit_name"),
    Route("/console/credentials", Permission.MANAGE_CREDENTIALS, marker="other_app_id"),
    # --- administration (issue 10, area: admin) ---
    Route("/console/units", Permission.VIEW_UNITS, marker="other_unit_name"),
    Route("/console/units/{unit}", Permission.VIEW_UNITS, out="/console/units/{other_unit}"),
    Route("/console/regions", Permission.VIEW_UNITS, marker="other_region"),
    Route("/console/users", Permission.MANAGE_USERS, marker="other_username"),
    Route(
        "/console/catalogue",
        Permission.VIEW_CATALOGUE,
        marker="other_item",
        scoped_roles=UNIT_ROLES,
    ),
    Route(
        "/console/catalogue/{item}",
        Permission.VIEW_CATALOGUE,
        out="/console/catalogue/{other_item}",
        scoped_roles=UNIT_ROLES,
    ),
    Route(
        "/console/audit", Permission.VIEW_AUDIT, marker="other_username", scoped_roles=frozenset()
    ),  # the platform's auditor reads the whole log
    Route("/console/password", None),
    Route("/console/webhooks", Permission.MANAGE_WEBHOOKS, marker="other_unit_name"),
    Route("/console/channel-accounts", Permission.MANAGE_CHANNELS),
    # editing existing records (issue 10, area: admin)
    Route(
        "/console/units/{unit}/edit",
        Permission.MANAGE_UNITS,
        out="/console/units/{other_unit}/edit",
    ),
    Route(
        "/console/catalogue/{item}/edit",
        Permission.MANAGE_CATALOGUE,
        out="/console/catalogue/{other_item}/edit",
        scoped_roles=UNIT_ROLES,
    ),
    Route(
        "/console/users/{user}/edit",
        Permission.MANAGE_USERS,
        out="/console/users/{other_user}/edit",
    ),
    # --- lists (issue 10, area: stats), refunds (issue 11), devices (issue 13) ---
    Route("/console/payables", Permission.VIEW_LISTS, marker="other_payment_code"),
    Route(
        "/console/payables/{payment_code}",
        Permission.VIEW_LISTS,
        out="/console/payables/{other_payment_code}",
    ),
    Route("/console/orders", Permission.VIEW_LISTS, marker="other_unit_name"),
    Route("/console/receipts", Permission.VIEW_LISTS, marker="other_unit_name"),
    Route("/console/events", Permission.VIEW_LISTS, marker="other_payment_code"),
    Route("/console/refunds", Permission.VIEW_REFUNDS, marker="other_payment_code"),
    Route("/console/devices", Permission.VIEW_DEVICES, marker="other_unit_name"),
    # --- statistics (issue 10, area: stats): B's payment is paid today and never counted ---
    Route("/console/stats", Permission.VIEW_STATISTICS, marker="other_unit_name"),
    Route(
        "/console/stats?date_from={week_ago}",
        Permission.VIEW_STATISTICS,
        marker="other_region_name",
    ),
    Route("/console/stats?format=csv", Permission.VIEW_STATISTICS, marker="other_unit_name"),
    Route("/console/m", Permission.VIEW_STATISTICS, marker="other_unit_name"),
    Route("/console/m?format=csv", Permission.VIEW_STATISTICS, marker="other_unit_name"),
    # the drill-down behind a figure, asked for B's unit and district: none of B's rows
    Route(
        "/console/orders?status=succeeded&unit_id={other_unit}",
        Permission.VIEW_LISTS,
        marker="other_payment_code",
    ),
    Route(
        "/console/orders?status=succeeded&region={other_region}&format=csv",
        Permission.VIEW_LISTS,
        marker="other_payment_code",
    ),
]


def _other_unit(stack: Any) -> tuple[int, str, str, SignedClient]:
    """Unit B in another district, with its credential, key and a small receipt range."""
    c = stack.container
    now = c.clock.now()
    suffix = f"{secrets.randbelow(10**6):06d}"
    code, name, app_id = f"338{suffix}", f"外区测试单位{suffix}", f"pp_o{suffix}"
    secret = secrets.token_hex(16)
    ensure_region(stack, OTHER_REGION, OTHER_REGION_NAME, "330100")
    with c.uow() as uow:
        unit_id = uow.units.add(
            code, name, OTHER_REGION, credit_code("11330110", f"{suffix}00"), now
        )
        uow.units.add_client(app_id, "unit", unit_id, secret, now)
        uow.receipts.add_key("unit", code, sm2.generate_private_key_pem(), now)
        start = 200_000_000 + secrets.randbelow(10**6) * 1000
        uow.receipts.add_stock(
            receipt_code("33", "01", "01", now.year),
            start,
            start,
            unit_id=unit_id,
            issuing_point=None,
            actor="test",
            at=now,
        )
        uow.commit()
    return unit_id, code, name, SignedClient(stack.info["base_url"], app_id, secret)


def _registered(api: SignedClient, payer: dict[str, str], item: str) -> str:
    made = api.post("/api/v1/payables", payable_body(payer, item))
    assert made.status_code == 201, made.text
    return str(made.json()["payment_code"])


@pytest.fixture(scope="module")
def world(stack: Any, payer: dict[str, str]) -> World:
    unit_id, unit_api = new_unit(stack, stock_size=1)  # authorised GA0101
    other_id, other_code, other_name, other_api = _other_unit(stack)
    with stack.container.uow() as uow:
        uow.catalogue.authorise(other_id, ("JY0101",))
        unit_name = uow.units.get(unit_id).name  # type: ignore[union-attr]
        uow.commit()
    other_user = make_user(stack, "cashier", unit_id=other_id)
    other_payment = _registered(other_api, payer, "JY0101")
    pay(stack, other_payment)  # counted in B's statistics only
    today = business_date(stack.container.clock.now())
    own_user = make_user(stack, "cashier", unit_id=unit_id)
    with stack.container.engines.read.connect() as conn:
        ids = dict(
            conn.execute(
                select(users.c.username, users.c.id).where(
                    users.c.username.in_([other_user.username, own_user.username])
                )
            ).all()
        )
    return World(
        unit_id,
        unit_name,
        other_id,
        other_name,
        other_code,
        other_api.app_id,
        other_user.username,
        "GA0101",
        "JY0101",
        _registered(unit_api, payer, "GA0101"),
        other_payment,
        user=ids[own_user.username],
        other_user=ids[other_user.username],
        week_ago=(today - timedelta(days=6)).isoformat(),
        api=unit_api,
        other_api=other_api,
    )


@pytest.fixture(scope="module")
def sessions(stack: Any, base_url: str, world: World) -> dict[Role, httpx.Client]:
    clients = {}
    for role in Role:
        scope = {"unit_id": world.unit} if role in UNIT_ROLES else {}
        user: ConsoleUser = make_user(stack, role.value, **scope)
        client = httpx.Client(base_url=base_url, timeout=30)
        assert submit_login(client, user.username, user.password, user.code()).status_code == 303
        clients[role] = client
    yield clients
    for client in clients.values():
        client.close()


CASES = [(route, role) for route in ROUTES for role in Role]


@pytest.mark.parametrize(
    ("route", "role"), CASES, ids=[f"{r.path}-{role.value}" for r, role in CASES]
)
def test_every_console_route_keeps_every_role_in_its_scope(
    route: Route, role: Role, world: World, sessions: dict[Role, httpx.Client]
) -> None:
    client = sessions[role]
    values = vars(world)
    allowed = route.permission is None or route.permission in PERMISSIONS[role]
    inside = client.get(route.path.format(**values))
    outside = client.get(route.out.format(**values)) if route.out else None
    if not allowed:
        assert inside.status_code == 403, inside.text[:300]
        assert outside is None or outside.status_code == 403
        return
    assert inside.status_code == 200, inside.text[:300]
    if role not in route.scoped_roles:
        return
    if outside is not None:
        assert outside.status_code == 404, f"{route.out} answered {outside.status_code}"
    if route.marker:
        assert str(values[route.marker]) not in inside.text, f"{route.marker} shown to {role}"


def _today_total(client: httpx.Client) -> tuple[int, int]:
    """Today's count and amount (fen) from the phone view's CSV export."""
    text = client.get("/console/m?format=csv").text.lstrip("\ufeff")
    count, amount = next((r[2], r[3]) for r in csv.reader(io.StringIO(text)) if r[0] == "合计")
    return int(count), round(float(amount) * 100)


def test_another_districts_payment_is_never_counted(
    stack: Any, payer: dict[str, str], world: World, sessions: dict[Role, httpx.Client]
) -> None:
    """A payment of B changes no figure any role of A's district or unit sees; a payment of A
    adds exactly one payment to what each of them sees."""
    readers = [r for r in Role if Permission.VIEW_STATISTICS in PERMISSIONS[r]]
    before = {role: _today_total(sessions[role]) for role in readers}
    pay(stack, _registered(world.other_api, payer, "JY0101"))
    assert {role: _today_total(sessions[role]) for role in readers} == before
    pay(stack, _registered(world.api, payer, "GA0101"))
    after = {role: _today_total(sessions[role]) for role in readers}
    assert {role: after[role][0] - before[role][0] for role in readers} == dict.fromkeys(readers, 1)
