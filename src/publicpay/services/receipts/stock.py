"""Receipt keys and stock (票据领用/号段) managed by the finance bureau, and the write-off (核销).

The write-off report of a unit for a period counts what was issued, reversed (red), printed and
booked, shows every allocated range with its used and unused numbers, and checks 票款一致:
every receipt belongs to a settled payment or refund, every settled payable of the period has
exactly one live receipt for what it kept (paid − refunded), and each range's used numbers equal
the receipts drawn from it (no gaps).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.payables import Payable
from publicpay.domain.receipts.receipts import MAX_NUMBER, RECEIPT_CODE
from publicpay.domain.receipts.records import WriteOffReport
from publicpay.domain.time import SHANGHAI
from publicpay.services.ports import Clock
from publicpay.services.receipts.building import SETTLED
from publicpay.services.unit_of_work import UnitOfWork

SIGNERS = ("unit", "finance")


def install_key(
    uow: UnitOfWork, signer: str, owner: str, private_pem: bytes, *, actor: str, clock: Clock
) -> int:
    """Install (or rotate to) a new signing key; older keys stay published for verification."""
    if signer not in SIGNERS:
        raise ValidationFailed("签名方应为 unit 或 finance", errors={"signer": signer})
    now = clock.now()
    with uow:
        key_id = uow.receipts.add_key(signer, owner, private_pem, now)
        uow.audit.append(actor, "receipt.key_installed", f"{signer}:{owner}", {"key": key_id}, now)
        uow.commit()
    return key_id


def allocate_stock(
    uow: UnitOfWork,
    code: str,
    start: int,
    count: int,
    *,
    unit_id: int | None,
    issuing_point: str | None = None,
    actor: str,
    clock: Clock,
) -> int:
    """Allocate numbers start..start+count-1 of 票据代码 `code` to a unit or an 开票点."""
    end = start + count - 1
    if not RECEIPT_CODE.match(code):
        raise ValidationFailed("票据代码应为8位数字", errors={"code": code})
    if count < 1 or start < 0 or end > MAX_NUMBER:
        raise ValidationFailed("号段超出范围", errors={"start": str(start), "count": str(count)})
    if unit_id is None and not issuing_point:
        raise ValidationFailed("号段必须分配给单位或开票点")
    now = clock.now()
    with uow:
        if unit_id is not None and uow.units.get(unit_id) is None:
            raise NotFound(f"单位 {unit_id} 不存在")
        if uow.receipts.overlaps(code, start, end):
            raise Conflict(f"票据代码 {code} 的号段 {start:010d}-{end:010d} 与已分配号段重叠")
        stock_id = uow.receipts.add_stock(
            code, start, end, unit_id=unit_id, issuing_point=issuing_point, actor=actor, at=now
        )
        detail = {"start": start, "end": end, "unit_id": unit_id, "point": issuing_point}
        uow.audit.append(actor, "receipt.stock_allocated", code, detail, now)
        uow.commit()
    return stock_id


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Business dates (Asia/Shanghai, inclusive) → [start, end) instants in UTC, as timestamps
    are stored (the `UtcTimestamp` column type converts any aware bound as well)."""
    if date_to < date_from:
        raise ValidationFailed("结束日期不能早于开始日期", errors={"to": str(date_to)})
    start = datetime.combine(date_from, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return start, end


def write_off(uow: UnitOfWork, unit_id: int, date_from: date, date_to: date) -> WriteOffReport:
    """The 核销 report of one unit for business dates `date_from`..`date_to` (inclusive)."""
    start, end = period_bounds(date_from, date_to)
    with uow:
        unit = uow.units.get(unit_id)
        if unit is None:
            raise NotFound(f"单位 {unit_id} 不存在")
        report = WriteOffReport(unit.code, unit.name, str(date_from), str(date_to))
        report.receipts = uow.receipts.issued_between(unit_id, start, end)
        report.stocks = uow.receipts.stocks(unit_id)
        report.printed_count, report.reprinted_count = uow.receipts.prints_between(
            unit_id, start, end
        )
        _count(report)
        _check_receipts(uow, report)
        paid = [uow.payables.by_id(i) for i in uow.receipts.settled_payables(unit_id, start, end)]
        _check_payables(uow, report, [p for p in paid if p is not None])
        _check_stocks(uow, report)
    return report


def _count(report: WriteOffReport) -> None:
    for r in report.receipts:
        if r.kind == "red":
            report.red_count += 1
            report.red_fen += r.total_fen
        else:
            report.issued_count += 1
            report.issued_fen += r.total_fen
        report.booked_count += r.booked_at is not None


def _check_receipts(uow: UnitOfWork, report: WriteOffReport) -> None:
    """Every receipt matches a settled payment (normal) or a succeeded refund (red, remainder)."""
    for r in report.receipts:
        payable = uow.payables.by_id(r.payable_id)
        if payable is None or payable.status not in SETTLED:
            report.problems.append(f"票据 {r.code}-{r.number} 对应的缴款单未缴款")
            continue
        refund = uow.refunds.by_no(r.ref)
        if refund is not None:
            ok = refund.status == "succeeded" and refund.payable_id == payable.id
        else:
            order = uow.orders.by_no(r.ref)
            ok = r.kind == "normal" and order is not None and order.id == payable.paid_order_id
        if not ok:
            report.problems.append(f"票据 {r.code}-{r.number} 没有对应的缴款或退款")


def _check_payables(uow: UnitOfWork, report: WriteOffReport, paid: list[Payable]) -> None:
    """Every settled payable has one live receipt for what it kept; its receipts net to that."""
    for payable in paid:
        report.paid_count += 1
        report.paid_fen += payable.paid_fen or 0
        report.refunded_fen += payable.refunded_fen
        kept = (payable.paid_fen or 0) - payable.refunded_fen
        chain = uow.receipts.for_payable(payable.id)
        live = [r for r in chain if r.kind == "normal" and r.status == "issued"]
        net = sum(r.total_fen for r in chain)
        if kept > 0 and len(live) != 1:
            report.problems.append(
                f"缴款单 {payable.payment_code} 应有1张有效票据，实有{len(live)}张"
            )
        elif net != kept:
            report.problems.append(
                f"缴款单 {payable.payment_code} 票据净额 {net} 分，实收 {kept} 分（票款不一致）"
            )


def _check_stocks(uow: UnitOfWork, report: WriteOffReport) -> None:
    for stock in report.stocks:
        drawn = uow.receipts.count_from_stock(stock.id)
        if drawn != stock.used:
            report.problems.append(
                f"号段 {stock.code} {stock.start:010d}-{stock.end:010d} 已用 {stock.used} 个号码，"
                f"但只有 {drawn} 张票据（号码缺失）"
            )
