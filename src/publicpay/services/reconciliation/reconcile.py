"""Reconcile one source's business day: take its statement (imported, or fetched), store it
(the same file again changes nothing; another file supersedes the active one, audited), match
it, and keep the exceptions and the day's record in step.

Workflow: fetches a statement from a channel between transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import date, time, timedelta
from typing import Any

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.ledger import JournalKind
from publicpay.domain.reconciliation import (
    CHANNEL_SOURCES,
    EXCEPTION_CLASSES,
    UNRESOLVED,
    DayRecord,
    DayStatus,
    ExceptionStatus,
    LineResult,
    MatchClass,
    MatchOutcome,
    ReconException,
    RefundTransferDebited,
    Source,
    StatementRecord,
    StatementRefused,
)
from publicpay.domain.shifts import Credit, Deposit
from publicpay.domain.time import SHANGHAI
from publicpay.services.ports import Clock
from publicpay.services.reconciliation.ports import (
    Parsed,
    ReconciliationRepo,
    ReconEngine,
    StatementSources,
)
from publicpay.services.reconciliation.unit_of_work import ReconUnitOfWork

log = logging.getLogger("publicpay.services.reconciliation")
HOLD_DAYS = 2  # a cut-off difference waits this many days before it is an exception
SYSTEM = "system"


def summary(record: DayRecord) -> dict[str, Any]:
    """The CLI's and the API's view of a day (Public contract)."""
    exceptions = {k: v for k, v in record.counts.items() if k != MatchClass.MATCHED.value and v}
    return {
        "lines": record.lines,
        "matched": record.matched,
        "exceptions": exceptions,
        "status": record.status,
    }


def reconcile_day(
    new_uow: Callable[[], ReconUnitOfWork],
    engine: ReconEngine,
    sources: StatementSources,
    source: Source,
    day: date,
    *,
    clock: Clock,
    actor: str = SYSTEM,
) -> DayRecord:
    """Fetch the day's statement (the same content again changes nothing; a corrected one
    supersedes), or use the imported one; a day without any is `missing`."""
    content: bytes | None = None
    try:
        content = sources.fetch(source, day)
    except (ChannelUnavailable, ChannelRejected) as exc:
        log.info("statement %s %s not available: %s", source, day, exc.detail)
    if content is None:
        with new_uow() as uow:
            stored = uow.reconciliation.active_statement(source, day)
        content = stored.content if stored is not None else None
    if content is None:
        return _missing(new_uow, source, day, clock=clock, actor=actor)
    return import_statement(
        new_uow, engine, sources, source, day, content, clock=clock, actor=actor
    )


def import_statement(
    new_uow: Callable[[], ReconUnitOfWork],
    engine: ReconEngine,
    sources: StatementSources,
    source: Source,
    day: date,
    content: bytes,
    *,
    clock: Clock,
    actor: str,
) -> DayRecord:
    """Store (or find) the file and reconcile the day with it. StatementRefused leaves no
    trace but the log."""
    try:
        parsed = engine.parse(source, content, day=day, merchant=sources.merchant(source))
    except StatementRefused as exc:
        log.warning("statement %s %s refused by %s: %s", source, day, actor, exc.detail)
        raise
    with new_uow() as uow:
        statement_id = _store(uow, parsed, content, clock=clock, actor=actor)
        uow.flush()
        deposits = _deposits(uow, parsed.business_day) if source is Source.BANK else []
        outcome = engine.match(
            uow.reconciliation, parsed, statement_id=statement_id, deposits=deposits
        )
        _record_lines(uow, statement_id, outcome)
        if deposits:
            _credit_deposits(uow, outcome, parsed.business_day, clock=clock, actor=actor)
        if source is Source.BANK:
            _book_refund_debits(uow, outcome, parsed.business_day, clock=clock, actor=actor)
        record = _settle_exceptions(uow, parsed, statement_id, outcome, clock=clock, actor=actor)
        uow.commit()
    return record


DEPOSIT_DAYS = HOLD_DAYS + 1  # a bank statement is matched with the slips of this many days


def _deposits(uow: ReconUnitOfWork, day: date) -> list[Deposit]:
    """The cashier shifts' deposit slips the collection account may show on `day`."""
    found: list[Deposit] = []
    for back in range(DEPOSIT_DAYS):
        found += uow.deposits.for_matching(day - timedelta(days=back), None)
    return found


def _credit_deposits(
    uow: ReconUnitOfWork,
    outcome: MatchOutcome,
    day: date,
    *,
    clock: Clock,
    actor: str,
) -> None:
    """Each credit that matched a deposit slip moves its cash from in transit to the collection
    account (the shifts area's rule: `Deposit.mark_credited`), in the statement's transaction."""
    for line in outcome.lines:
        if line.match_class is not MatchClass.MATCHED or not line.order_no:
            continue
        deposit = uow.deposits.by_no(line.order_no, lock=True)
        if deposit is None:
            continue  # a channel's settlement or a clearing transfer
        credit = Credit(line.trade_no, day, actor, clock.now())
        events = deposit.mark_credited(credit, amount_fen=line.amount_fen)
        if events:
            uow.collect(events)
            uow.deposits.save(deposit)


def _book_refund_debits(
    uow: ReconUnitOfWork,
    outcome: MatchOutcome,
    day: date,
    *,
    clock: Clock,
    actor: str,
) -> None:
    """Each debit that matched a refund paid by bank transfer: the money left the collection
    account (booked once: a re-run or a corrected file books nothing again)."""
    for line in outcome.lines:
        if line.match_class is not MatchClass.MATCHED or not line.refund_no or not line.refund_id:
            continue
        if uow.ledger.journal(JournalKind.REFUND_TRANSFER, line.refund_no) is not None:
            continue
        refund = uow.refunds.by_no(line.refund_no)
        if refund is None:
            continue
        debited = RefundTransferDebited(
            refund.refund_no,
            refund.channel,
            refund.payable_id,
            line.amount_fen,
            line.trade_no,
            day,
            actor,
            clock.now(),
        )
        uow.collect([debited])


def _store(
    uow: ReconUnitOfWork, parsed: Parsed, content: bytes, *, clock: Clock, actor: str
) -> int:
    repo = uow.reconciliation
    same = repo.statement_by_digest(parsed.source, parsed.business_day, parsed.digest)
    if same is not None:
        return same
    now = clock.now()
    previous = repo.active_statement(parsed.source, parsed.business_day)
    record = StatementRecord(
        id=0,
        source=parsed.source,
        business_day=parsed.business_day,
        merchant=parsed.merchant,
        digest=parsed.digest,
        line_count=parsed.line_count,
        totals=asdict(parsed.totals),
        imported_at=now,
        imported_by=actor,
    )
    statement_id = repo.add_statement(record, content)
    target = f"statement:{parsed.source.value}:{parsed.business_day.isoformat()}"
    detail: dict[str, Any] = {"statement_id": statement_id, "lines": parsed.line_count}
    if previous is not None:
        repo.supersede(previous.id, statement_id)
        detail["supersedes"] = previous.id
        detail["previous_digest"] = previous.digest
        uow.audit.append(actor, "recon.statement.supersede", target, detail, now)
    else:
        uow.audit.append(actor, "recon.statement.import", target, detail, now)
    return statement_id


def _line_row(line: LineResult) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "kind": line.kind,
        "order_no": line.order_no,
        "refund_no": line.refund_no,
        "trade_no": line.trade_no,
        "amount_fen": line.amount_fen,
        "fee_fen": line.fee_fen,
        "at": line.at,
        "match_class": line.match_class.value,
        "order_id": line.order_id,
        "refund_id": line.refund_id,
    }


def _record_lines(uow: ReconUnitOfWork, statement_id: int, outcome: MatchOutcome) -> None:
    repo = uow.reconciliation
    rows = [_line_row(line) for line in outcome.lines]
    if repo.has_lines(statement_id):
        repo.classify_lines(statement_id, rows)
    else:
        repo.add_lines(statement_id, rows)
    uow.flush()


def _found(
    outcome: MatchOutcome, line_ids: Mapping[int, int], *, bank: bool
) -> dict[tuple[str, str], dict[str, Any]]:
    """(class, key) → the exception's fields, for every difference this run found."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for line in outcome.lines:
        if line.match_class in EXCEPTION_CLASSES:
            key = line.trade_no if bank else (line.refund_no or line.order_no or line.trade_no)
            detail: dict[str, Any] = {"line_no": line.line_no, "kind": line.kind}
            refund = outcome.duplicate_refunds.get(line.order_id or 0)
            if line.match_class is MatchClass.DUPLICATE and refund:
                detail["refund_no"] = refund
            found[(line.match_class.value, key)] = {
                "order_no": line.order_no,
                "line_id": line_ids.get(line.line_no),
                "amount_fen": line.amount_fen,
                "detail": detail,
            }
    for item in outcome.platform_only:
        found[(item.match_class.value, item.key)] = {
            "order_no": item.order_no,
            "line_id": None,
            "amount_fen": item.amount_fen,
            "detail": {"platform_only": True},
        }
    return found


def _new_exception(
    source: Source, day: date, cls: MatchClass, key: str, fields: Mapping[str, Any], now: Any
) -> ReconException:
    item = ReconException(
        id=0,
        source=source,
        business_day=day,
        match_class=cls,
        key=key,
        amount_fen=int(fields["amount_fen"]),
        status=ExceptionStatus.HOLDING if cls is MatchClass.HOLDING else ExceptionStatus.OPEN,
        created_at=now,
        detail=dict(fields["detail"]),
        order_no=fields["order_no"],
        line_id=fields["line_id"],
    )
    refund_no = item.detail.get("refund_no")
    if cls is MatchClass.DUPLICATE and refund_no:
        # the platform refunds a second payment by itself: shown, already handled
        item.status = ExceptionStatus.CLOSED
        item.reason = f"平台已自动退款（退款单 {refund_no}）"
        item.resolved_by = item.reviewed_by = SYSTEM
        item.resolved_at = item.reviewed_at = now
    return item


def _settle_exceptions(
    uow: ReconUnitOfWork,
    parsed: Parsed,
    statement_id: int,
    outcome: MatchOutcome,
    *,
    clock: Clock,
    actor: str,
) -> DayRecord:
    repo, now = uow.reconciliation, clock.now()
    source, day = parsed.source, parsed.business_day
    found = _found(outcome, repo.line_ids(statement_id), bank=source is Source.BANK)
    for item in repo.exceptions_of_day(source, day):
        again = found.pop((item.match_class.value, item.key), None)
        if again is None and item.match_class is MatchClass.PLATFORM_ONLY:
            # a held item that aged into 短款 and is still missing: the same exception
            again = found.pop((MatchClass.HOLDING.value, item.key), None)
        if again is not None:
            _follow_line(repo, item, again["line_id"])  # its workflow goes on
            continue
        if item.status in (ExceptionStatus.OPEN, ExceptionStatus.HOLDING) and item.action is None:
            item.status = ExceptionStatus.RELEASED  # a later run (or a corrected file) matched it
            repo.save_exception(item)
    for (cls, key), fields in found.items():
        repo.add_exception(_new_exception(source, day, MatchClass(cls), key, fields, now))
    uow.flush()
    _release_or_age_held(uow, outcome, source, day)
    uow.flush()
    still_open = sum(
        1
        for item in repo.exceptions_of_day(source, day)
        if item.status in (ExceptionStatus.OPEN, ExceptionStatus.RESOLVED)
    )
    record = DayRecord(
        source=source,
        business_day=day,
        statement_id=statement_id,
        status=DayStatus.EXCEPTIONS.value if still_open else DayStatus.RECONCILED.value,
        lines=parsed.line_count,
        matched=int(outcome.counts.get(MatchClass.MATCHED.value, 0)),
        counts=dict(outcome.counts),
        gross_fen=parsed.totals.payments - parsed.totals.refunds,
        fee_fen=parsed.totals.fees,
        run_at=now,
        run_by=actor,
    )
    repo.save_day(record)
    target = f"recon:{source.value}:{day.isoformat()}"
    audit = {"statement_id": statement_id, "counts": dict(outcome.counts)}
    uow.audit.append(actor, "recon.day.run", target, audit, now)
    return record


def _follow_line(repo: ReconciliationRepo, item: ReconException, line_id: int | None) -> None:
    """An exception found again on a new (corrected) statement names its new line, which keeps
    how the exception was closed."""
    if line_id is None or line_id == item.line_id:
        return
    item.line_id = line_id
    repo.save_exception(item)
    if item.resolution is not None:
        repo.mark_line(line_id, item.resolution)


def _release_or_age_held(
    uow: ReconUnitOfWork, outcome: MatchOutcome, source: Source, day: date
) -> None:
    """Held items of earlier days: matched now → released; held too long → exceptions."""
    repo = uow.reconciliation
    matched = {
        line.order_no
        for line in outcome.lines
        if line.match_class is MatchClass.MATCHED and line.order_no
    }
    aged: set[date] = set()
    for held in repo.holding_before(source, day):
        if held.key in matched:
            held.release()
            repo.save_exception(held)
        elif (day - held.business_day).days >= HOLD_DAYS:
            held.age_out()
            repo.save_exception(held)
            aged.add(held.business_day)
    if aged:
        uow.flush()
    for earlier in sorted(aged):
        refresh_day(repo, source, earlier)  # its box turns red at once


def refresh_day(
    repo: ReconciliationRepo, source: Source, day: date, *, recovered: bool = False
) -> None:
    """Keep a day's record in step with its exceptions as they are worked (the workbench's box
    and clearing read it): reconciled once none is open or waiting for review, with exceptions
    again when one is reopened or a held item ages into one; `recovered`: a line was recovered
    (补单) and counts as matched now."""
    record = repo.day(source, day)
    if record is None or record.statement_id is None:
        return
    settled = record
    if recovered:
        counts = dict(record.counts)
        channel_only, matched = MatchClass.CHANNEL_ONLY.value, MatchClass.MATCHED.value
        if counts.get(channel_only, 0) > 0:
            counts[channel_only] -= 1
            counts[matched] = counts.get(matched, 0) + 1
            counts = {k: v for k, v in counts.items() if v}
            settled = replace(settled, counts=counts, matched=record.matched + 1)
    unresolved = any(e.status in UNRESOLVED for e in repo.exceptions_of_day(source, day))
    status = DayStatus.EXCEPTIONS if unresolved else DayStatus.RECONCILED
    settled = replace(settled, status=status.value)
    if settled != record:
        repo.save_day(settled)


def _missing(
    new_uow: Callable[[], ReconUnitOfWork], source: Source, day: date, *, clock: Clock, actor: str
) -> DayRecord:
    record = DayRecord(
        source=source,
        business_day=day,
        statement_id=None,
        status=DayStatus.MISSING.value,
        lines=0,
        matched=0,
        counts={},
        gross_fen=0,
        fee_fen=0,
        run_at=clock.now(),
        run_by=actor,
    )
    with new_uow() as uow:
        if uow.reconciliation.day(source, day) is None:
            uow.reconciliation.save_day(record)
            uow.commit()
    return record


RETRY_AFTER = timedelta(hours=1)  # a channel that has not published its statement yet
PUBLISHED_AFTER = time(10, 0)  # channels publish day T's statements on T+1 from about 10:00


def reconcile_due(
    new_uow: Callable[[], ReconUnitOfWork],
    engine: ReconEngine,
    sources: StatementSources,
    *,
    clock: Clock,
    start: date | None = None,
) -> int:
    """The worker's T+1 run: yesterday's day of every channel, then of the collection account's
    bank statement (its settlement credits need the channels' days), once per cluster (the
    day's row is claimed), retried hourly while a channel or the bank has not published; how
    many days ran. A day before `start` (the go-live, `PUBLICPAY_RECONCILE_FROM`) is not run."""
    local = clock.now().astimezone(SHANGHAI)
    if local.time() < PUBLISHED_AFTER:
        return 0
    day, ran = local.date() - timedelta(days=1), 0
    if start is not None and day < start:
        return 0
    for source in (*CHANNEL_SOURCES, Source.BANK):
        with new_uow() as uow:
            claimed = uow.reconciliation.claim_day(source, day, clock.now(), RETRY_AFTER)
            uow.commit()
        if not claimed:
            continue
        try:
            reconcile_day(new_uow, engine, sources, source, day, clock=clock, actor="worker")
            ran += 1
        except StatementRefused:
            continue  # logged; the day stays without statement until one is imported
    return ran
