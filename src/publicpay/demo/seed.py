"""Seed the demo database: a district finance bureau, collecting units, catalogue, payers.

Everything secret made here is a DEMO secret (random, written to demo.json for the demo user).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
from sqlalchemy import func, select

from publicpay.adapters.crypto.rsa_keys import generate_private_key_pem
from publicpay.adapters.crypto.sm2 import generate_private_key_pem as sm2_private_key_pem
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository
from publicpay.adapters.db.unit_of_work import SqlUnitOfWork
from publicpay.adapters.db.units import units as units_table
from publicpay.demo import catalogue_data as cat
from publicpay.domain.access import Role
from publicpay.domain.codes import (
    citizen_id_check_char,
    credit_code_check_char,
    organisation_code_check_char,
)
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.receipts.receipts import receipt_code
from publicpay.domain.time import business_date
from publicpay.domain.units import SiteKind
from publicpay.services.users.accounts import TOTP_CONTEXT, hash_password


@dataclass(frozen=True)
class UnitSeed:
    code: str
    name: str
    credit_prefix: str  # 登记管理部门+机构类别+区划 (8 chars)
    org_code: str  # GB 11714 body (8 chars); both check chars are computed
    items: tuple[str, ...]


UNITS = (
    UnitSeed(
        "330105101",
        "杭州市公安局交通警察支队车辆管理所",
        "11330100",
        "00249110",
        tuple(i.code for i in cat.VEHICLE_OFFICE) + (cat.TRAFFIC_FINE.code,),
    ),
    UnitSeed(
        "330105102",
        "杭州市公安局拱墅区分局出入境管理大队",
        "11330105",
        "00249120",
        tuple(i.code for i in cat.EXIT_ENTRY),
    ),
    UnitSeed(
        "330105201",
        "杭州市拱墅区文澜中学",
        "12330105",
        "47015336",
        tuple(i.code for i in cat.SCHOOL),
    ),
    UnitSeed(
        "330105301",
        "杭州市拱墅区综合行政执法局",
        "11330105",
        "MB1C3310",
        ("CG0101", "CG0201", "ZR0101"),
    ),
    UnitSeed(
        "330105401",
        "杭州市拱墅区机关事务管理局",
        "11330105",
        "00249730",
        ("GZ0101", "GZ0201", "ZX0101"),
    ),
)

KIOSK_ID = "kiosk_gs_001"
FINANCE_ID = "fin_330105"  # the district finance bureau's administration system
BANK_ID = "bank_icbc_gs"  # the demo collecting bank (代收银行) at the counter
PAYER_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏")


def is_seeded(uow: SqlUnitOfWork) -> bool:
    count = uow.connection.execute(select(func.count()).select_from(units_table)).scalar_one()
    return int(count) > 0


def citizen_id(rng: random.Random, region: str = "330105") -> str:
    birth = f"{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{region}{birth}{rng.randint(0, 999):03d}"
    return body + citizen_id_check_char(body)


def credit_code(prefix: str, org_code: str) -> str:
    body = prefix + org_code + organisation_code_check_char(org_code)
    return body + credit_code_check_char(body)


def seed(uow: SqlUnitOfWork, now: datetime, *, region_code: str) -> None:
    """Insert the demo data (call once, on an empty database)."""
    uow.units.add_region("330000", "浙江省", None)
    uow.units.add_region("330100", "杭州市", "330000")
    uow.units.add_region(region_code, "拱墅区", "330100")
    for item in cat.ALL_ITEMS:
        uow.catalogue.add_item(item)
    for unit in UNITS:
        unit_id = uow.units.add(
            unit.code,
            unit.name,
            region_code,
            credit_code(unit.credit_prefix, unit.org_code),
            now,
        )
        uow.catalogue.authorise(unit_id, unit.items)
        app_id, secret = f"pp_{unit.code}", "demo_" + secrets.token_hex(16)
        uow.units.add_client(app_id, "unit", unit_id, secret, now)
    uow.units.add_client(KIOSK_ID, "device", None, "demo_" + secrets.token_hex(16), now)
    uow.units.add_client(BANK_ID, "bank", None, "demo_" + secrets.token_hex(16), now)
    uow.units.add_client(
        FINANCE_ID, "finance", None, "demo_" + secrets.token_hex(16), now, region_code=region_code
    )
    ensure_channel_accounts(uow.channel_accounts, now)
    ensure_receipt_setup(uow, now, region_code=region_code)
    ensure_demo_users(uow, now, region_code=region_code)
    ensure_sites_and_devices(uow, now, region_code=region_code)
    ensure_partner_kiosk(uow, now)
    ensure_pos_devices(uow, now)  # portal/POS (issue 13)


# (unit code or None, site code, name, kind, windows, address)
SITES = (
    ("330105101", "CG-HALL", "车管所业务大厅", SiteKind.SERVICE_HALL, 6, "拱墅区莫干山路1号"),
    ("330105101", "CG-BRANCH-N", "车管所城北分所", SiteKind.BRANCH_OFFICE, 3, "拱墅区石祥路88号"),
    ("330105102", "CRJ-HALL", "出入境办证大厅", SiteKind.SERVICE_HALL, 4, "拱墅区湖墅南路500号"),
    ("330105201", "WL-FIN", "文澜中学财务室", SiteKind.SERVICE_HALL, 1, "拱墅区文澜路2号"),
    (None, "GS-MHDJ", "米市巷街道便民服务中心", SiteKind.CONVENIENCE_POINT, 0, "拱墅区米市巷街道"),
    (None, "ICBC-GS", "工商银行拱墅支行营业厅", SiteKind.BANK_BRANCH, 0, "拱墅区上塘路58号"),
)


def ensure_sites_and_devices(uow: SqlUnitOfWork, now: datetime, *, region_code: str) -> None:
    """DEMO sites (a service hall with numbered windows per unit, a street's convenience point,
    a partner bank's branch) and the demo kiosk as a device at the convenience point."""
    if uow.units.sites():
        return
    unit_ids = {u.code: u.id for u in _units(uow)}
    site_ids: dict[str, int] = {}
    for unit_code, code, name, kind, window_count, address in SITES:
        unit_id = unit_ids.get(unit_code) if unit_code else None
        site_ids[code] = uow.units.add_site(
            code, name, kind, region_code, unit_id, now, address=address
        )
        for n in range(1, window_count + 1):
            uow.units.add_window(site_ids[code], f"{n:02d}", f"{n}号窗口")
    kiosk = Device(
        id=0,
        app_id=KIOSK_ID,
        kind=DeviceKind.KIOSK,
        name="米市巷街道自助缴费机1号",
        site_id=site_ids["GS-MHDJ"],
        window_id=None,
        unit_id=None,
        issuing_point=KIOSK_ID,
    )
    uow.devices.add(kiosk, now)


BANK_KIOSK_ID = "kiosk_icbc_gs_01"  # devices (issue 13): a kiosk at the partner bank's branch


def ensure_partner_kiosk(uow: SqlUnitOfWork, now: datetime) -> None:
    """DEMO: the collecting bank's branch is a partner site (the bank sees its kiosks), with a
    kiosk there whose last heartbeat reported paper running low."""
    if uow.devices.by_app_id(BANK_KIOSK_ID) is not None or uow.units.client(BANK_ID) is None:
        return
    site = next((s for s in uow.units.sites() if s.code == "ICBC-GS"), None)
    if site is None:
        return
    uow.devices.add_partner_site(site.id, BANK_ID)
    uow.units.add_client(BANK_KIOSK_ID, "device", None, "demo_" + secrets.token_hex(16), now)
    kiosk = Device(
        id=0,
        app_id=BANK_KIOSK_ID,
        kind=DeviceKind.KIOSK,
        name="工商银行拱墅支行自助缴费机",
        site_id=site.id,
        window_id=None,
        unit_id=None,
        issuing_point=BANK_KIOSK_ID,
    )
    uow.devices.add(kiosk, now)
    uow.devices.heartbeat(BANK_KIOSK_ID, now, printer="ok", paper="low", version="1.4.2")


# portal/POS (issue 13): smart POS terminals at the vehicle office's hall windows 01 and 02
POS_DEVICES = (("pos_cg_hall_01", "01"), ("pos_cg_hall_02", "02"))
POS_TERMINAL_IDS = {"pos_cg_hall_01": "33010501", "pos_cg_hall_02": "33010502"}  # TIDs (card)
POS_UNIT, POS_SITE = "330105101", "CG-HALL"


def ensure_pos_devices(uow: SqlUnitOfWork, now: datetime) -> None:
    """DEMO: the vehicle office's hall windows have a POS terminal each (credential, window,
    the terminal's issuing point)."""
    site = next((s for s in uow.units.sites() if s.code == POS_SITE), None)
    unit_id = next((u.id for u in _units(uow) if u.code == POS_UNIT), None)
    if site is None or unit_id is None:
        return
    windows = {w.number: w.id for w in uow.units.windows(site.id)}
    for app_id, number in POS_DEVICES:
        if uow.devices.by_app_id(app_id) is not None or number not in windows:
            continue
        uow.units.add_client(app_id, "device", unit_id, "demo_" + secrets.token_hex(16), now)
        pos = Device(
            id=0,
            app_id=app_id,
            kind=DeviceKind.POS,
            name=f"车管所大厅{number}号窗口智能POS",
            site_id=site.id,
            window_id=windows[number],
            unit_id=unit_id,
            issuing_point=app_id,  # its own receipt stock (below), as a kiosk has
            card_terminal_id=POS_TERMINAL_IDS[app_id],  # its card reader at the acquirer
        )
        uow.devices.add(pos, now)
        _pos_stock(uow, app_id, unit_id, POS_DEVICES.index((app_id, number)), now)


def _pos_stock(uow: SqlUnitOfWork, app_id: str, unit_id: int, index: int, now: datetime) -> None:
    """A number range for a POS terminal's issuing point (after the units' and the kiosks')."""
    keys = uow.receipts.keys()
    if not keys:
        return
    start = 1 + (91 + index) * RECEIPT_RANGE
    code = receipt_code("33", "01", "01", business_date(now).year)
    uow.receipts.add_stock(
        code, start, start + RECEIPT_RANGE - 1, unit_id=unit_id, issuing_point=app_id,
        actor="demo-seed", at=now,
    )  # fmt: skip


def describe_pos(uow: SqlUnitOfWork) -> dict[str, Any]:
    """demo.json's "pos": the first terminal's credential and where it stands."""
    app_id, number = POS_DEVICES[0]
    client = uow.units.client(app_id)
    if client is None:
        return {}
    return {"pos": {"device_id": app_id, "device_secret": client.secret, "site": POS_SITE,
                    "window": number, "cashier": "vmo_cashier",
                    "card_terminal_id": POS_TERMINAL_IDS[app_id]}}  # fmt: skip


def _units(uow: SqlUnitOfWork) -> list[Any]:
    rows = uow.connection.execute(select(units_table.c.id, units_table.c.code)).all()
    return list(rows)


RECEIPT_RANGE = 100_000  # numbers allocated to each unit and to the kiosk


def ensure_receipt_setup(uow: SqlUnitOfWork, now: datetime, *, region_code: str) -> None:
    """DEMO receipt keys (finance bureau + one per unit, random) and number ranges: one per unit
    and one for the kiosk as 开票点, under 票据代码 33 01 01 YY (浙江 · 非税收入统一票据 · 电子)."""
    if uow.receipts.keys():
        return
    code = receipt_code("33", "01", "01", business_date(now).year)
    uow.receipts.add_key("finance", region_code, sm2_private_key_pem(), now)
    for index, unit in enumerate(UNITS):
        unit_id = uow.connection.execute(
            select(units_table.c.id).where(units_table.c.code == unit.code)
        ).scalar_one()
        uow.receipts.add_key("unit", unit.code, sm2_private_key_pem(), now)
        start = 1 + index * RECEIPT_RANGE
        uow.receipts.add_stock(
            code, start, start + RECEIPT_RANGE - 1, unit_id=unit_id, issuing_point=None,
            actor="demo-seed", at=now,
        )  # fmt: skip
    kiosk_start = 1 + 90 * RECEIPT_RANGE
    uow.receipts.add_stock(
        code, kiosk_start, kiosk_start + RECEIPT_RANGE - 1, unit_id=None, issuing_point=KIOSK_ID,
        actor="demo-seed", at=now,
    )  # fmt: skip


# Console users: (username, role, unit code for unit roles). Finance roles and the auditor get
# the district's region.
DEMO_USERS = (
    ("fin_admin", "finance_admin", None),
    ("fin_reviewer", "finance_reviewer", None),
    ("school_admin", "unit_admin", "330105201"),
    ("vmo_cashier", "cashier", "330105101"),
    ("auditor", "auditor", None),
    # the cash office: a second cashier and the hall's duty supervisor (值班主管) of the office
    ("vmo_cashier2", "cashier", "330105101"),
    ("vmo_supervisor", "unit_admin", "330105101"),
)


def demo_password(uow: SqlUnitOfWork, totp_secret: str) -> str:
    """DEMO ONLY: a demo user's password, derived from its random TOTP secret with the platform
    key, so it is random per seed, stored only as an argon2 hash, and still readable back for
    demo.json. Real users choose their own passwords."""
    return "demo-" + uow.box.lookup_hash(f"demo-console-password:{totp_secret}")[:16]


def ensure_demo_users(uow: SqlUnitOfWork, now: datetime, *, region_code: str) -> None:
    """Add the demo console users that do not exist yet (random TOTP secrets and passwords)."""
    for username, role, unit_code in DEMO_USERS:
        if uow.users.by_username(username) is not None:
            continue
        unit_id = None
        if unit_code is not None:
            unit_id = uow.connection.execute(
                select(units_table.c.id).where(units_table.c.code == unit_code)
            ).scalar_one()
        secret = pyotp.random_base32()
        uow.users.add(
            username, hash_password(demo_password(uow, secret)),
            uow.box.seal_text(secret, TOTP_CONTEXT), Role(role),
            region_code=None if unit_id else region_code, unit_id=unit_id, at=now,
        )  # fmt: skip


def describe_users(uow: SqlUnitOfWork) -> list[dict[str, str]]:
    """The demo console users with their DEMO passwords and TOTP secrets (Public contract)."""
    described = []
    for username, role, _ in DEMO_USERS:
        user = uow.users.by_username(username)
        if user is None:
            continue
        secret = uow.box.open_text(user.totp_secret_enc, TOTP_CONTEXT)
        described.append(
            {
                "username": username,
                "password": demo_password(uow, secret),
                "totp_secret": secret,
                "role": role,
            }
        )
    return described


def demo_channel_accounts() -> dict[str, dict[str, Any]]:
    """New DEMO merchant accounts: keys, serials and the APIv3 key are random demo secrets.

    Gateway URLs and the channel's own keys/certificates are filled in by `demo.stack` when it
    starts the emulators (they are new on every start, like a fresh sandbox)."""
    return {
        "alipay": {
            "app_id": "2021000000000001",
            "app_private_key_pem": generate_private_key_pem().decode(),
        },
        "wechat": {
            "mchid": "1900000001",
            "appid": "wx" + secrets.token_hex(8),
            "merchant_serial_no": secrets.token_hex(20).upper(),
            "merchant_private_key_pem": generate_private_key_pem().decode(),
            "apiv3_key": secrets.token_hex(16),  # 32 characters
        },
        "unionpay": {"mer_id": "777290058110048"},  # ACP's published test merchant number
    }


def ensure_channel_accounts(accounts: ChannelAccountsRepository, now: datetime) -> None:
    """Add the demo account of every channel that has none yet (older demo databases)."""
    stored = accounts.all()
    for channel, config in demo_channel_accounts().items():
        if channel not in stored:
            accounts.save(channel, config, now)


def demo_payers() -> list[dict[str, str]]:
    rng = random.Random(20261122)
    return [{"name": name, "id_no": citizen_id(rng)} for name in PAYER_NAMES]


def describe(uow: SqlUnitOfWork) -> dict[str, Any]:
    """What demo.json tells the demo user (reads the demo secrets back from the database)."""
    described = []
    for unit in UNITS:
        client = uow.units.client(f"pp_{unit.code}")
        assert client is not None
        described.append(
            {
                "code": unit.code,
                "name": unit.name,
                "app_id": client.app_id,
                "app_secret": client.secret,
                "items": list(unit.items),
            }
        )
    kiosk = uow.units.client(KIOSK_ID)
    assert kiosk is not None
    bank = uow.units.client(BANK_ID)  # None in demo databases seeded before the bank existed
    fin = uow.units.client(FINANCE_ID)
    return {
        "units": described,
        "users": describe_users(uow),
        "kiosk": {"device_id": KIOSK_ID, "device_secret": kiosk.secret},
        **({"bank": {"app_id": BANK_ID, "app_secret": bank.secret}} if bank else {}),
        **({"finance": {"app_id": FINANCE_ID, "app_secret": fin.secret}} if fin else {}),
        "payers": demo_payers(),
        **describe_pos(uow),  # portal/POS (issue 13)
    }
