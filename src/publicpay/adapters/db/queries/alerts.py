"""The supervision alerts' detectors, in one registry (spec M3).

A detector is a function `(connection, now, platform region code) -> [Finding]` registered with
`@detector(kind, title, severity)`; the worker runs every registered detector (`alerts.scan`)
and keeps the alerts in step. Adding one is one decorated function here, e.g.:

    @detector("clearing_unconfirmed", "清算未确认", Severity.CRITICAL)
    def _unconfirmed(conn, now, region_code):
        return [Finding(key=..., summary="...", link="/console/clearing?...", region_code=...)]

Each finding names the region (and unit) whose users see it and links the console page of the
rows concerned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, and_, case, func, select

from publicpay.adapters.db.devices import devices
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.receipts.tables import receipt_stocks, receipts
from publicpay.adapters.db.reconciliation.tables import clearing_windows, recon_exceptions
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.units import sites, units
from publicpay.domain.alerts import Finding, Severity
from publicpay.domain.clearing import WindowStatus
from publicpay.domain.devices import PAPER_LABELS, PRINTER_LABELS, PaperState, PrinterState
from publicpay.domain.reconciliation import UNRESOLVED, Source
from publicpay.domain.time import local_text, utc

Find = Callable[[Connection, datetime, str], list[Finding]]

STUCK_PAYING = timedelta(minutes=30)  # an order still paying this long after it expired
NO_RECEIPT = timedelta(minutes=10)  # paid this long ago and no receipt yet
REFUND_WINDOW = timedelta(days=30)
REFUND_MIN_PAYMENTS = 5  # a unit needs this many payments in the window to be judged
REFUND_RATE_FLOOR = 0.10  # and a refund rate above this …
REFUND_RATE_FACTOR = 3.0  # … and above this many times the rate of its region
STOCK_LOW = 100  # numbers left in a unit's (or a kiosk's) active ranges
DEVICE_SILENT = timedelta(minutes=15)
RECON_OPEN = timedelta(days=1)
CLEARING_WAIT = timedelta(hours=4)  # a voucher sent this long ago and no treasury receipt


@dataclass(frozen=True, slots=True)
class Detector:
    kind: str
    title: str
    severity: str
    find: Find


DETECTORS: dict[str, Detector] = {}


def detector(kind: str, title: str, severity: Severity) -> Callable[[Find], Find]:
    def register(find: Find) -> Find:
        DETECTORS[kind] = Detector(kind, title, severity.value, find)
        return find

    return register


def _orders(filters: dict[str, str]) -> str:
    return "/console/orders?" + urlencode(filters)


@detector("orders_stuck_paying", "订单长时间支付中", Severity.WARNING)
def _stuck_paying(conn: Connection, now: datetime, _region: str) -> list[Finding]:
    stmt = (
        select(
            payment_orders.c.order_no,
            payment_orders.c.channel,
            payment_orders.c.created_at,
            payables.c.payment_code,
            payables.c.unit_id,
            units.c.region_code,
        )
        .select_from(
            payment_orders.join(payables, payables.c.id == payment_orders.c.payable_id).join(
                units, units.c.id == payables.c.unit_id
            )
        )
        .where(
            payment_orders.c.status == "paying", payment_orders.c.expires_at < now - STUCK_PAYING
        )
    )
    return [
        Finding(
            key=r.order_no,
            summary=(
                f"订单 {r.order_no}（缴款码 {r.payment_code}）"
                f"自 {local_text(r.created_at)} 起仍处于支付中"
            ),
            link=_orders({"order_no": r.order_no}),
            region_code=r.region_code,
            unit_id=r.unit_id,
        )
        for r in conn.execute(stmt)
    ]


@detector("paid_without_receipt", "已缴款未开票", Severity.CRITICAL)
def _no_receipt(conn: Connection, now: datetime, _region: str) -> list[Finding]:
    live = (
        select(receipts.c.payable_id)
        .where(receipts.c.kind == "normal", receipts.c.status == "issued")
        .scalar_subquery()
    )
    stmt = (
        select(payables.c.payment_code, payables.c.paid_at, payables.c.unit_id, units.c.region_code)
        .select_from(payables.join(units, units.c.id == payables.c.unit_id))
        .where(
            payables.c.status.in_(("paid", "partially_refunded")),
            payables.c.paid_at < now - NO_RECEIPT,
            payables.c.id.not_in(live),
        )
    )
    return [
        Finding(
            key=r.payment_code,
            summary=f"缴款单 {r.payment_code} 于 {local_text(r.paid_at)} 缴款，尚未开具电子票据",
            link=f"/console/payables/{r.payment_code}",
            region_code=r.region_code,
            unit_id=r.unit_id,
        )
        for r in conn.execute(stmt)
    ]


@detector("refund_rate_outlier", "单位退款率异常", Severity.WARNING)
def _refund_rate(conn: Connection, now: datetime, _region: str) -> list[Finding]:
    since = now - REFUND_WINDOW
    paid = (
        select(payables.c.unit_id, func.count().label("paid"))
        .where(payables.c.paid_at >= since)
        .group_by(payables.c.unit_id)
        .subquery()
    )
    refunded = (
        select(
            payables.c.unit_id, func.count(func.distinct(refunds.c.payable_id)).label("refunded")
        )
        .select_from(refunds.join(payables, payables.c.id == refunds.c.payable_id))
        .where(refunds.c.kind == "requested", refunds.c.created_at >= since)
        .group_by(payables.c.unit_id)
        .subquery()
    )
    stmt = (
        select(
            units.c.id,
            units.c.name,
            units.c.region_code,
            paid.c.paid,
            func.coalesce(refunded.c.refunded, 0).label("refunded"),
        )
        .select_from(
            units.join(paid, paid.c.unit_id == units.c.id).outerjoin(
                refunded, refunded.c.unit_id == units.c.id
            )
        )
        .where(paid.c.paid >= REFUND_MIN_PAYMENTS)
    )
    rows = list(conn.execute(stmt))
    total_paid = sum(int(r.paid) for r in rows)
    overall = sum(int(r.refunded) for r in rows) / total_paid if total_paid else 0.0
    threshold = max(REFUND_RATE_FLOOR, overall * REFUND_RATE_FACTOR)
    return [
        Finding(
            key=f"unit:{r.id}",
            summary=(
                f"{r.name} 近30天退款 {r.refunded} 笔 / 缴款 {r.paid} 笔"
                f"（{int(r.refunded) / int(r.paid):.0%}，全部单位 {overall:.0%}）"
            ),
            link="/console/payables?" + urlencode({"unit_id": r.id, "status": "refunded"}),
            region_code=r.region_code,
            unit_id=r.id,
        )
        for r in rows
        if int(r.refunded) / int(r.paid) > threshold
    ]


@detector("receipt_stock_low", "票据号段不足", Severity.WARNING)
def _stock_low(conn: Connection, _now: datetime, region_code: str) -> list[Finding]:
    left = func.sum(receipt_stocks.c.end_no - receipt_stocks.c.next_no + 1)
    holder = func.coalesce(receipt_stocks.c.issuing_point, "")
    stmt = (
        select(
            receipt_stocks.c.unit_id,
            holder.label("point"),
            units.c.name,
            units.c.region_code,
            func.coalesce(
                func.sum(case((receipt_stocks.c.status == "active", 1), else_=0)), 0
            ).label("active"),
            left.label("left"),
        )
        .select_from(receipt_stocks.outerjoin(units, units.c.id == receipt_stocks.c.unit_id))
        .where(receipt_stocks.c.status == "active")
        .group_by(receipt_stocks.c.unit_id, holder, units.c.name, units.c.region_code)
        .having(left < STOCK_LOW)
    )
    return [
        Finding(
            key=f"unit:{r.unit_id}" if r.unit_id is not None else f"point:{r.point}",
            summary=(
                f"{r.name or '开票点 ' + r.point} 剩余可用票据号码 {int(r.left)} 个，"
                "请及时分配新号段"
            ),
            link="/console/stock",
            region_code=r.region_code or region_code,
            unit_id=r.unit_id,
        )
        for r in conn.execute(stmt)
    ]


@detector("device_offline", "终端离线", Severity.WARNING)
def _offline(conn: Connection, now: datetime, region_code: str) -> list[Finding]:
    stmt = (
        select(
            devices.c.app_id,
            devices.c.name,
            devices.c.last_seen_at,
            devices.c.unit_id,
            sites.c.region_code,
            sites.c.name.label("site_name"),
        )
        .select_from(devices.outerjoin(sites, sites.c.id == devices.c.site_id))
        .where(
            devices.c.active.is_(True),
            devices.c.last_seen_at.is_not(None),
            devices.c.last_seen_at < now - DEVICE_SILENT,
        )
    )
    return [
        Finding(
            key=r.app_id,
            summary=(
                f"{r.site_name or ''} {r.name}（{r.app_id}）自 {local_text(utc(r.last_seen_at))} "
                "起无心跳"
            ).strip(),
            link=_device_link(r.app_id),
            region_code=r.region_code or region_code,
            unit_id=r.unit_id,
        )
        for r in conn.execute(stmt)
    ]


def _device_link(app_id: str) -> str:
    return f"/console/devices#device-{app_id}"


@detector("device_printer", "终端纸张不足或打印机故障", Severity.WARNING)
def _printer(conn: Connection, now: datetime, region_code: str) -> list[Finding]:
    """Devices still beating whose last heartbeat reports paper low or out, or a printer that
    is not working (an offline device is `device_offline`'s)."""
    trouble = (devices.c.paper.in_((PaperState.LOW.value, PaperState.OUT.value))) | (
        devices.c.printer.is_not(None) & (devices.c.printer != PrinterState.OK.value)
    )
    stmt = (
        select(
            devices.c.app_id,
            devices.c.name,
            devices.c.printer,
            devices.c.paper,
            devices.c.unit_id,
            sites.c.region_code,
            sites.c.name.label("site_name"),
        )
        .select_from(devices.outerjoin(sites, sites.c.id == devices.c.site_id))
        .where(
            devices.c.active.is_(True),
            devices.c.last_seen_at >= now - DEVICE_SILENT,
            trouble,
        )
    )
    return [
        Finding(
            key=r.app_id,
            summary=(
                f"{r.site_name or ''} {r.name}（{r.app_id}）打印机"
                f"{_label(PRINTER_LABELS, PrinterState, r.printer)}，"
                f"纸张{_label(PAPER_LABELS, PaperState, r.paper)}"
            ).strip(),
            link=_device_link(r.app_id),
            region_code=r.region_code or region_code,
            unit_id=r.unit_id,
        )
        for r in conn.execute(stmt)
    ]


def _label(labels: Any, kind: Any, value: str | None) -> str:
    try:
        return str(labels[kind(value)])
    except ValueError:
        return str(value or "未知")


@detector("clearing_unconfirmed", "清算未确认", Severity.CRITICAL)
def _clearing(conn: Connection, now: datetime, region_code: str) -> list[Finding]:
    """A voucher sent and no treasury receipt after CLEARING_WAIT, or a voucher returned."""
    stmt = select(
        clearing_windows.c.id,
        clearing_windows.c.business_day,
        clearing_windows.c.status,
        clearing_windows.c.total_fen,
        clearing_windows.c.voucher_no,
        clearing_windows.c.instructed_at,
        clearing_windows.c.failure,
    ).where(
        (clearing_windows.c.status == WindowStatus.FAILED.value)
        | (
            (clearing_windows.c.status == WindowStatus.INSTRUCTED.value)
            & (clearing_windows.c.instructed_at < now - CLEARING_WAIT)
        )
    )
    found = []
    for r in conn.execute(stmt):
        amount = f"{int(r.total_fen) // 100}.{int(r.total_fen) % 100:02d} 元"
        if r.status == WindowStatus.FAILED.value:
            what = f"被国库退回：{r.failure or '未说明原因'}"
        else:
            what = f"已于 {local_text(utc(r.instructed_at))} 发出，国库尚未回执"
        found.append(
            Finding(
                key=f"window:{r.id}",
                summary=f"{r.business_day} 清算（凭证 {r.voucher_no}，{amount}）{what}",
                link=f"/console/clearing/{r.id}",
                region_code=region_code,
            )
        )
    return found


@detector("recon_exception_open", "对账差异未处理", Severity.CRITICAL)
def _recon_open(conn: Connection, now: datetime, region_code: str) -> list[Finding]:
    """Exceptions not worked to the end (open, or resolved and waiting for review) for more
    than RECON_OPEN, per channel and day, with the age of the oldest."""
    stmt = (
        select(
            recon_exceptions.c.source,
            recon_exceptions.c.business_day,
            func.count().label("n"),
            func.sum(recon_exceptions.c.amount_fen).label("amount"),
            func.min(recon_exceptions.c.created_at).label("oldest"),
        )
        .where(
            and_(
                recon_exceptions.c.status.in_([s.value for s in UNRESOLVED]),
                recon_exceptions.c.created_at < now - RECON_OPEN,
            )
        )
        .group_by(recon_exceptions.c.source, recon_exceptions.c.business_day)
    )
    found = []
    for r in conn.execute(stmt):
        days = (now - utc(r.oldest)).days
        label = Source(r.source).label
        found.append(
            Finding(
                key=f"{r.source}:{r.business_day}",
                summary=f"{r.business_day} {label} 对账差异 {r.n} 笔未办结，最早一笔已 {days} 天",
                link=f"/console/reconciliation/{r.source}/{r.business_day}",
                region_code=region_code,
            )
        )
    return found


def registered() -> list[Detector]:
    return list(DETECTORS.values())
