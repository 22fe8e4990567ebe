"""DEMO: the past weeks of payments, so that the statistics' trends have a history to show.

On first start the demo writes about 60 days of paid payables before it serves: every unit,
the fee items it is authorised for, the channels in realistic shares (online wallets most, the
bank counter and cash at the halls' windows some), busier on working days and in office hours.
Each payment is made the way the services make it — `build_payable` / `store_payable`, an order
that `mark_succeeded`, `payable.mark_paid` with its budget shares — in one transaction per day,
so the recorder writes exactly what a real payment writes (ledger journal, statistics'
summaries, unit event, receipt job, audit rows, payer messages), and the receipts are issued
before the demo serves (`publicpay check` passes at once). Past days are not reconciled or
cleared: the emulated channels and bank never saw these payments, so the demo's go-live
(`reconcile_from`, the day of its first start) keeps the worker's T+1 run off them; today is
left to the live demo activity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from publicpay.adapters.db.payables import payables as payables_table
from publicpay.adapters.db.units import sites as sites_table
from publicpay.adapters.db.units import units as units_table
from publicpay.adapters.db.units import windows as windows_table
from publicpay.bootstrap import Container
from publicpay.demo.seed import UNITS, demo_payers
from publicpay.domain.errors import DomainError
from publicpay.domain.payables import LineRequest, Payer, PayerType, payment_shares
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from publicpay.services.payables.registration import RegisterPayable, build_payable, store_payable
from publicpay.services.payments.orders import new_order_no
from publicpay.services.recording.statistics import fold_statistics

DAYS = 60
WORKDAY_PAYMENTS = (28, 52)  # payments a working day, at random between
WEEKEND_PAYMENTS = (6, 14)
MARK = "HIST-"  # the history's business numbers start with this
# channel, method, share (%): wallets most, UnionPay, the bank counter and cash at a window
CHANNELS = (
    ("alipay", OrderMethod.QR, 38),
    ("wechat", OrderMethod.QR, 34),
    ("unionpay", OrderMethod.QR, 10),
    ("counter", OrderMethod.COUNTER, 10),
    ("cash", OrderMethod.CASH, 8),
)
# hours of the day (Asia/Shanghai) and how busy each is
HOURS = (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
HOUR_WEIGHTS = (1, 4, 9, 10, 9, 4, 6, 9, 9, 8, 5, 2, 2, 2, 1)
RECEIPT_TASKS = tuple(t for t in SCHEDULE if t.name == "issue_receipts")


@dataclass(frozen=True)
class _Unit:
    id: int
    items: tuple[str, ...]  # authorised items priced without an amount of their own
    windows: tuple[tuple[int, int], ...]  # (site id, window id) where cash is taken
    weight: int


class _PastClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def seed_history(container: Container, *, days: int = DAYS, seed: int = 20261206) -> int:
    """Write the history once (nothing when a history payable exists); the number of payments."""
    with container.read_uow() as uow:
        done = uow.connection.execute(
            select(func.count()).where(payables_table.c.biz_no.like(MARK + "%"))
        ).scalar_one()
        if done:
            return 0
        shops = _units(uow.connection)
    rng = random.Random(seed)
    payers = demo_payers()
    today = business_date(container.clock.now())
    made = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        low, high = WORKDAY_PAYMENTS if day.weekday() < 5 else WEEKEND_PAYMENTS
        made += _day(container, rng, shops, payers, day, rng.randint(low, high))
    while run_once(container, RECEIPT_TASKS).get("issue_receipts"):
        pass  # every history payment has its receipt before the demo serves
    fold_statistics(container.uow)  # and is in the statistics' summaries
    return made


def _units(conn: Any) -> list[_Unit]:
    ids = dict(conn.execute(select(units_table.c.code, units_table.c.id)).all())
    places: dict[int, list[tuple[int, int]]] = {}
    stmt = select(sites_table.c.unit_id, windows_table.c.site_id, windows_table.c.id).join(
        sites_table, sites_table.c.id == windows_table.c.site_id
    )
    for unit_id, site_id, window_id in conn.execute(stmt):
        if unit_id is not None:
            places.setdefault(int(unit_id), []).append((int(site_id), int(window_id)))
    return [
        _Unit(ids[u.code], u.items, tuple(places.get(ids[u.code], ())), weight)
        for weight, u in zip((8, 4, 3, 2, 1), UNITS, strict=False)
        if u.code in ids
    ]


def _day(
    container: Container,
    rng: random.Random,
    shops: list[_Unit],
    payers: list[dict[str, str]],
    day: date,
    count: int,
) -> int:
    made = 0
    with container.uow() as uow:
        items = uow.catalogue.items()
        for n in range(count):
            shop = rng.choices(shops, weights=[s.weight for s in shops])[0]
            at = _moment(rng, day)
            payer = rng.choice(payers)
            cmd = RegisterPayable(
                unit_id=shop.id,
                biz_no=f"{MARK}{day:%Y%m%d}-{n:03d}",
                payer=Payer(payer["name"], PayerType.PERSON, payer["id_no"]),
                items=(LineRequest(rng.choice(shop.items)),),
            )
            clock = _PastClock(at - timedelta(minutes=rng.randint(3, 600)))
            try:
                payable = build_payable(
                    uow, cmd, cmd.fingerprint(), container.settings.region_code, clock
                )
            except DomainError:
                continue  # an item that needs an amount of its own, or not valid that day
            store_payable(uow, payable, cmd)
            uow.flush()  # the order refers to the payable
            channel, method, _ = rng.choices(CHANNELS, weights=[c[2] for c in CHANNELS])[0]
            order = Order(
                id=0,
                order_no=new_order_no(at),
                payable_id=payable.id,
                channel=channel,
                method=method,
                amount_fen=payable.amount_fen,
                status=OrderStatus.PAYING,
                qr_code=None,
                channel_trade_no=f"H{day:%Y%m%d}{n:04d}{rng.randrange(10**8):08d}",
                created_at=at - timedelta(minutes=1),
                expires_at=at + timedelta(minutes=14),
            )
            if channel in ("cash", "counter") and shop.windows:  # at one of its halls' windows
                order.site_id, order.window_id = rng.choice(shop.windows)
            uow.orders.add(order)
            uow.collect(order.mark_succeeded(order.channel_trade_no, at, at=at))
            uow.orders.save(order)
            shares = payment_shares(payable.lines, items, order.amount_fen)
            uow.collect(payable.mark_paid(order, shares, at=at))
            uow.payables.save(payable)
            uow.flush()  # the next payable's id is drawn from the payables written
            made += 1
        uow.commit()
    return made


def _moment(rng: random.Random, day: date) -> datetime:
    """A moment of `day` (Asia/Shanghai) in office hours mostly, in UTC."""
    hour = rng.choices(HOURS, weights=HOUR_WEIGHTS)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), SHANGHAI)
    return local.astimezone(UTC)
