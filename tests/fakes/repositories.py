"""In-memory repositories of every area but receipts, on a `FakeDatabase`.

Each one implements its area's Protocol (`services/<area>/ports.py`) with the real repository's
observable behaviour: which methods queue their write (marking the table until the next flush),
what a unique key refuses or ignores, copies in and out (an aggregate changed without `save` is
not changed in the database), JSON columns round-tripped through `json` (a value the database
could not store fails here too).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from publicpay.domain.catalogue import FeeItem
from publicpay.domain.devices import Device
from publicpay.domain.errors import Conflict
from publicpay.domain.events import DeliveryStatus, DiscrepancyKind, StoredEvent
from publicpay.domain.ledger import Journal, JournalKind, balances
from publicpay.domain.payables import Payable
from publicpay.domain.payments.carts import Cart, CartStatus
from publicpay.domain.payments.orders import Order, OrderStatus
from publicpay.domain.refunds import Refund, RefundStatus
from publicpay.domain.shifts import Deposit, Shift, ShiftStatus
from publicpay.domain.statistics import PaymentTally
from publicpay.domain.units import ApiClient, Site, Unit, Window
from publicpay.services.payables.ports import SealedAttribute
from tests.fakes.database import (
    CASHIER_OPEN,
    WINDOW_OPEN,
    AuditRow,
    DeliveryRow,
    DiscrepancyRow,
    FakeDatabase,
    InboxRow,
    OutboxRow,
    PayableRow,
    PostedJournal,
    refuse_duplicate,
)

# table names, as the real statements touch them
PAYABLES = "payables"
ORDERS = "payment_orders"
CARTS = "carts"
INBOX = "inbox"
DISCREPANCIES = "discrepancies"
REFUNDS = "refunds"
LEDGER = "ledger_postings"
EVENTS = "events"
DELIVERIES = "webhook_deliveries"
AUDIT = "audit_log"
UNITS = "units"
CLIENTS = "api_clients"
SITES = "sites"
WINDOWS = "windows"
DEVICES = "devices"
SHIFTS = "shifts"
DEPOSITS = "cash_deposits"
STATISTICS = "stats_payments_hourly"


def as_json(value: dict[str, Any]) -> dict[str, Any]:
    """What a JSON column gives back (raises TypeError for what it cannot store)."""
    loaded: dict[str, Any] = json.loads(json.dumps(value))
    return loaded


class FakeCatalogue:
    """Read-only to services (the cache in production); seeded by the test."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def items(self) -> dict[str, FeeItem]:
        return dict(self._db.tables.fee_items)

    def authorised(self, unit_id: int) -> frozenset[str]:
        return frozenset(self._db.tables.grants.get(unit_id, ()))


class FakePayables:
    """`add` and `save` are queued; reads run at once."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def lookup(self, unit_id: int, biz_no: str) -> tuple[Payable | None, int]:
        found = self.by_biz_nos(unit_id, [biz_no]).get(biz_no)
        return found, self.next_id()

    def next_id(self) -> int:
        self._db.read()  # a sequence: no table
        return self._db.next_id(PAYABLES)

    def next_ids(self, count: int) -> list[int]:
        return [self.next_id() for _ in range(max(count, 0))]

    def by_biz_nos(self, unit_id: int, biz_nos: Sequence[str]) -> dict[str, Payable]:
        self._db.read(PAYABLES)
        wanted = set(biz_nos)
        return {
            row.payable.biz_no: copy.deepcopy(row.payable)
            for row in self._db.tables.payables.values()
            if row.payable.unit_id == unit_id and row.payable.biz_no in wanted
        }

    def add(
        self,
        payable: Payable,
        *,
        payer_id_enc: bytes,
        payer_id_hash: str,
        payer_phone_enc: bytes | None,
        payer_phone_hash: str | None = None,
    ) -> None:
        """Queued; a biz_no or payment code taken meanwhile refuses the commit."""
        self._db.queue(PAYABLES)
        rows = self._db.tables.payables
        refuse_duplicate(payable.id in rows)
        rows[payable.id] = PayableRow(
            copy.deepcopy(payable), payer_id_enc, payer_id_hash, payer_phone_enc, payer_phone_hash
        )

    def by_code(self, payment_code: str, *, lock: bool = False) -> Payable | None:
        self._db.read(PAYABLES)
        for row in self._db.tables.payables.values():
            if row.payable.payment_code == payment_code:
                return copy.deepcopy(row.payable)
        return None

    def by_id(self, payable_id: int, *, lock: bool = False) -> Payable | None:
        self._db.read(PAYABLES)
        row = self._db.tables.payables.get(payable_id)
        return None if row is None else copy.deepcopy(row.payable)

    def for_order(self, order_no: str) -> Payable | None:
        self._db.read(PAYABLES, ORDERS)
        for order in self._db.tables.orders.values():
            if order.order_no == order_no:
                return self.by_id(order.payable_id, lock=True)
        return None

    def save(self, payable: Payable) -> None:
        """Queued: the state a payable's transitions change (not its lines or payer)."""
        self._db.queue(PAYABLES)
        row = self._db.tables.payables.get(payable.id)
        if row is not None:
            row.payable = replace(
                row.payable,
                status=payable.status,
                paid_at=payable.paid_at,
                paid_fen=payable.paid_fen,
                paid_order_id=payable.paid_order_id,
                channel=payable.channel,
                refunded_fen=payable.refunded_fen,
            )

    def payer_id_enc(self, payable_id: int) -> bytes:
        self._db.read(PAYABLES)
        return self._db.tables.payables[payable_id].payer_id_enc

    def add_attributes(self, payable_id: int, attributes: Sequence[SealedAttribute]) -> None:
        """Queued (portal/POS, issue 13)."""
        self._db.queue(PAYABLES)
        for a in attributes:
            self._db.tables.payable_attributes[(payable_id, a.name)] = a


class FakeCarts:
    """Carts (issue 13): `add` runs at once (sets `cart.id`); `save` is queued."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, cart: Cart) -> int:
        self._db.read(CARTS)
        refuse_duplicate(self._by_no(cart.cart_no) is not None)
        cart.id = self._db.next_id(CARTS)
        self._db.tables.carts[cart.id] = copy.deepcopy(cart)
        return cart.id

    def _by_no(self, cart_no: str) -> Cart | None:
        return next((c for c in self._db.tables.carts.values() if c.cart_no == cart_no), None)

    def by_no(self, cart_no: str, *, lock: bool = False) -> Cart | None:
        self._db.read(CARTS)
        return copy.deepcopy(self._by_no(cart_no))

    def by_id(self, cart_id: int) -> Cart | None:
        self._db.read(CARTS)
        return copy.deepcopy(self._db.tables.carts.get(cart_id))

    def open_created_before(self, before: datetime, limit: int) -> list[str]:
        self._db.read(CARTS)
        carts = sorted(self._db.tables.carts.values(), key=lambda c: c.id)
        found = [
            c.cart_no
            for c in carts
            if c.status is CartStatus.PAYING and c.created_at is not None and c.created_at < before
        ]
        return found[:limit]

    def save(self, cart: Cart) -> None:
        self._db.queue(CARTS)
        if cart.id in self._db.tables.carts:
            self._db.tables.carts[cart.id] = copy.deepcopy(cart)

    def open_at(self, cart: Cart) -> None:
        self.save(cart)


class FakeOrders:
    """`add` runs at once (the id is needed) and sets `order.id`; `save` is queued."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, order: Order) -> int:
        self._db.read(ORDERS)
        refuse_duplicate(self._by_no(order.order_no) is not None)
        order.id = self._db.next_id(ORDERS)
        self._db.tables.orders[order.id] = copy.deepcopy(order)
        return order.id

    def _by_no(self, order_no: str) -> Order | None:
        for order in self._db.tables.orders.values():
            if order.order_no == order_no:
                return order
        return None

    def by_no(self, order_no: str, *, lock: bool = False) -> Order | None:
        self._db.read(ORDERS)
        return copy.deepcopy(self._by_no(order_no))

    def by_id(self, order_id: int) -> Order | None:
        self._db.read(ORDERS)
        return copy.deepcopy(self._db.tables.orders.get(order_id))

    def open_created_before(self, before: datetime, limit: int) -> list[str]:
        self._db.read(ORDERS)
        found = [
            o.order_no
            for o in sorted(self._db.tables.orders.values(), key=lambda o: o.id)
            if o.status is OrderStatus.PAYING
            and o.created_at < before
            and o.channel not in ("counter", "cash")
        ]
        return found[:limit]

    def for_payable(self, payable_id: int) -> list[Order]:
        self._db.read(ORDERS)
        orders = sorted(self._db.tables.orders.values(), key=lambda o: o.id)
        return [copy.deepcopy(o) for o in orders if o.payable_id == payable_id]

    def save(self, order: Order) -> None:
        self._db.queue(ORDERS)
        stored = self._db.tables.orders.get(order.id)
        if stored is not None:
            self._db.tables.orders[order.id] = replace(
                stored,
                status=order.status,
                channel_trade_no=order.channel_trade_no,
                paid_at=order.paid_at,
                qr_code=order.qr_code,
                closed_at=order.closed_at,
            )

    def locked_with_payable(self, order_no: str) -> tuple[Payable, Order] | None:
        self._db.read(PAYABLES, ORDERS)
        order = self._by_no(order_no)
        if order is None:
            return None
        payable = self._db.tables.payables[order.payable_id].payable
        return copy.deepcopy(payable), copy.deepcopy(order)


class FakeInbox:
    """`add`, `outcome` and `request` run at once; `record` and `mark` are queued."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool:
        """False when this notify id was stored before (the insert ignores the conflict)."""
        self._db.read(INBOX)
        rows = self._db.tables.inbox
        if (channel, notify_id) in rows:
            return False
        rows[channel, notify_id] = InboxRow(channel, notify_id, order_no, body, at)
        return True

    def outcome(self, channel: str, notify_id: str) -> str | None:
        self._db.read(INBOX)
        row = self._db.tables.inbox.get((channel, notify_id))
        return None if row is None else row.outcome

    def request(self, channel: str, notify_id: str) -> tuple[str, str, str | None] | None:
        self._db.read(INBOX)
        row = self._db.tables.inbox.get((channel, notify_id))
        return None if row is None else (row.order_no, row.body, row.outcome)

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None:
        self._db.queue(INBOX)
        row = self._db.tables.inbox.get((channel, notify_id))
        if row is not None:
            row.outcome, row.processed_at = outcome, at

    def record(
        self,
        channel: str,
        notify_id: str,
        order_no: str,
        body: str,
        outcome: str,
        at: datetime,
        *,
        final: Collection[str],
    ) -> None:
        """Stored with its outcome; a row stored before keeps an outcome that is `final`."""
        self._db.queue(INBOX)
        row = self._db.tables.inbox.setdefault(
            (channel, notify_id), InboxRow(channel, notify_id, order_no, body, at)
        )
        if row.outcome is None or row.outcome not in final:
            row.outcome, row.processed_at = outcome, at


class FakeDiscrepancies:
    """`add` is queued; recorded once per kind and order (a repeat is ignored)."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(
        self,
        kind: DiscrepancyKind,
        channel: str,
        order_no: str,
        payable_id: int | None,
        amount_fen: int | None,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        self._db.queue(DISCREPANCIES)
        rows = self._db.tables.discrepancies
        if any(r.kind is kind and r.order_no == order_no for r in rows):
            return
        rows.append(
            DiscrepancyRow(kind, channel, order_no, payable_id, amount_fen, as_json(detail), at)
        )


class FakeRefunds:
    """`add` and `save` are queued; reads run at once. `claim_due` leases like the real one."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, refund: Refund) -> None:
        self._db.queue(REFUNDS)
        stored = copy.deepcopy(refund)
        stored.id = self._db.next_id(REFUNDS)
        self._db.tables.refunds[stored.id] = stored

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Refund]:
        """Pending or processing refunds due now, oldest first, leased until now + lease; the
        returned refunds show `attempts` from before the claim."""
        self._db.read(REFUNDS)
        due = [
            r
            for r in sorted(self._db.tables.refunds.values(), key=lambda r: r.id)
            if r.status in (RefundStatus.PENDING, RefundStatus.PROCESSING)
            and r.next_attempt_at is not None
            and r.next_attempt_at <= now
        ][:limit]
        claimed = [copy.deepcopy(r) for r in due]
        for r in due:
            r.next_attempt_at, r.attempts = now + lease, r.attempts + 1
        return claimed

    def _by_no(self, refund_no: str) -> Refund | None:
        for refund in self._db.tables.refunds.values():
            if refund.refund_no == refund_no:
                return refund
        return None

    def by_no(self, refund_no: str, *, lock: bool = False) -> Refund | None:
        self._db.read(REFUNDS)
        return copy.deepcopy(self._by_no(refund_no))

    def for_payable(self, payable_id: int) -> list[Refund]:
        self._db.read(REFUNDS)
        refunds = sorted(self._db.tables.refunds.values(), key=lambda r: r.id)
        return [copy.deepcopy(r) for r in refunds if r.payable_id == payable_id]

    def save(self, refund: Refund) -> None:
        """Queued: status, next attempt, channel refund no, completion, the approvals and the
        decision (by id, like the row)."""
        self._db.queue(REFUNDS)
        stored = self._db.tables.refunds.get(refund.id)
        if stored is not None:
            stored.status = refund.status
            stored.next_attempt_at = refund.next_attempt_at
            stored.channel_refund_no = refund.channel_refund_no
            stored.completed_at = refund.completed_at
            stored.approved_by = refund.approved_by
            stored.decision_note = refund.decision_note
            stored.decided_at = refund.decided_at


class FakeLedger:
    """`post` is queued; the balance is checked at commit (`FakeDatabase.commit`)."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def post(
        self, journal: Journal, *, payable_id: int | None, business_date: date, at: datetime
    ) -> None:
        self._db.queue(LEDGER)
        posted = PostedJournal(self._db.next_id(LEDGER), journal, payable_id, business_date, at)
        self._db.tables.journals.append(posted)

    def journal(self, kind: JournalKind, ref: str) -> Journal | None:
        """The first journal of `kind` for `ref`, as posted."""
        self._db.read(LEDGER)
        for posted in self._db.tables.journals:
            if posted.journal.kind is kind and posted.journal.ref == ref:
                return posted.journal
        return None

    def balances(self) -> dict[str, int]:
        """Every account's balance (debits positive), as `LedgerRepository.balances`."""
        self._db.read(LEDGER)
        postings = [p for posted in self._db.tables.journals for p in posted.journal.postings]
        return dict(balances(postings))


class FakeEvents:
    """`add` is queued (the outbox message); the delivery side runs at once."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(
        self, unit_id: int, type_: str, data: dict[str, Any], at: datetime, *, deliver: bool
    ) -> str:
        self._db.queue(EVENTS)
        event_id = f"evt_{uuid.uuid4().hex}"
        delivery = DeliveryStatus.PENDING if deliver else DeliveryStatus.NONE
        event = StoredEvent(
            self._db.next_id(EVENTS), event_id, unit_id, type_, as_json(data), at, 0, delivery
        )
        self._db.tables.outbox.append(OutboxRow(event, at if deliver else None))
        return event_id

    def _row(self, cursor: int) -> OutboxRow | None:
        return next((r for r in self._db.tables.outbox if r.event.cursor == cursor), None)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[StoredEvent]:
        """Pending deliveries due now (by next attempt, then cursor), leased; `attempts`
        counts this attempt."""
        self._db.read(EVENTS)
        due = sorted(
            (
                r
                for r in self._db.tables.outbox
                if r.event.delivery is DeliveryStatus.PENDING
                and r.next_attempt_at is not None
                and r.next_attempt_at <= now
            ),
            key=lambda r: (r.next_attempt_at, r.event.cursor),
        )[:limit]
        for r in due:
            r.event = replace(r.event, attempts=r.event.attempts + 1)
            r.next_attempt_at = now + lease
        return [r.event for r in due]

    def delivered(self, cursor: int, at: datetime) -> None:
        self._db.read(EVENTS)
        row = self._row(cursor)
        if row is not None:
            row.event = replace(row.event, delivery=DeliveryStatus.DELIVERED)
            row.delivered_at, row.next_attempt_at = at, None

    def retry_at(self, cursor: int, at: datetime | None) -> None:
        """Schedule the next attempt, or give up (`None`: failed, kept for manual replay)."""
        self._db.read(EVENTS)
        row = self._row(cursor)
        if row is not None:
            row.next_attempt_at = at
            if at is None:
                row.event = replace(row.event, delivery=DeliveryStatus.FAILED)

    def log_delivery(
        self,
        cursor: int,
        attempt: int,
        url: str,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        at: datetime,
    ) -> None:
        self._db.read(DELIVERIES)
        row = DeliveryRow(cursor, attempt, url, status_code, error and error[:500], duration_ms, at)
        self._db.tables.deliveries.append(row)


class FakeAudit:
    """`append` is queued (sealing the hash chain is the worker's, not modelled here)."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def append(
        self, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
    ) -> None:
        self._db.queue(AUDIT)
        self._db.tables.audit.append(AuditRow(actor, action, target, as_json(detail), at))


class FakeStatistics:
    """`tally` is queued (a pending row); `fold` moves the pending tallies to `folded`."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def tally(self, t: PaymentTally) -> None:
        self._db.queue(STATISTICS)
        self._db.tables.tallies.append(t)

    def fold(self) -> int:
        taken, self._db.tables.tallies = self._db.tables.tallies, []
        self._db.tables.folded.extend(taken)
        return len(taken)


class FakeUnits:
    """Units and API clients; every method runs at once."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def get(self, unit_id: int) -> Unit | None:
        self._db.read(UNITS)
        return self._db.tables.units.get(unit_id)

    def site(self, site_id: int) -> Site | None:
        self._db.read(SITES)
        return self._db.tables.sites.get(site_id)

    def sites(self) -> list[Site]:
        self._db.read(SITES)
        return sorted(self._db.tables.sites.values(), key=lambda site: site.id)

    def window(self, window_id: int) -> Window | None:
        self._db.read(WINDOWS)
        return self._db.tables.windows.get(window_id)

    def windows(self, site_id: int) -> list[Window]:
        self._db.read(WINDOWS)
        found = [w for w in self._db.tables.windows.values() if w.site_id == site_id]
        return sorted(found, key=lambda window: window.number)

    def set_webhook(self, unit_id: int, url: str, secret: str) -> None:
        self._db.read(UNITS)
        unit = self._db.tables.units[unit_id]
        self._db.tables.units[unit_id] = replace(unit, webhook_url=url, webhook_secret=secret)

    def set_lookup(self, unit_id: int, url: str, secret: str) -> None:
        self._db.read(UNITS)
        unit = self._db.tables.units[unit_id]
        self._db.tables.units[unit_id] = replace(unit, lookup_url=url, lookup_secret=secret)

    def rotate_webhook_secret(
        self, unit_id: int, secret: str, previous: str, valid_until: datetime
    ) -> None:
        self._db.read(UNITS)
        unit = self._db.tables.units[unit_id]
        self._db.tables.units[unit_id] = replace(
            unit,
            webhook_secret=secret,
            webhook_previous_secret=previous,
            webhook_previous_valid_until=valid_until,
        )

    def client(self, app_id: str) -> ApiClient | None:
        self._db.read(CLIENTS)
        return self._db.tables.clients.get(app_id)

    def clients(self) -> list[ApiClient]:
        self._db.read(CLIENTS)
        return list(self._db.tables.clients.values())

    def rotate_secret(
        self, app_id: str, secret: str, previous: str, valid_until: datetime, at: datetime
    ) -> None:
        self._db.read(CLIENTS)
        client = self._db.tables.clients[app_id]
        self._db.tables.clients[app_id] = replace(
            client,
            secret=secret,
            previous_secret=previous,
            previous_valid_until=valid_until,
            rotated_at=at,
        )

    def add_client(
        self,
        app_id: str,
        kind: str,
        unit_id: int | None,
        secret: str,
        at: datetime,
        *,
        region_code: str | None = None,
    ) -> None:
        """Runs at once (devices: issue 13)."""
        self._db.read(CLIENTS)
        self._db.tables.clients[app_id] = ApiClient(
            app_id, kind, unit_id, secret, True, region_code=region_code, created_at=at
        )

    # --- editing (issue 10, admin): units, sites and windows ---------------------------------

    def update_unit(self, unit_id: int, name: str, contact: str, region_code: str) -> None:
        self._db.read(UNITS)
        unit = self._db.tables.units[unit_id]
        self._db.tables.units[unit_id] = replace(
            unit, name=name, contact=contact, region_code=region_code
        )

    def set_unit_disabled(self, unit_id: int, at: datetime | None) -> None:
        self._db.read(UNITS)
        unit = self._db.tables.units[unit_id]
        self._db.tables.units[unit_id] = replace(unit, disabled_at=at)

    def update_site(self, site_id: int, name: str, address: str, active: bool) -> None:
        self._db.read(SITES)
        site = self._db.tables.sites[site_id]
        self._db.tables.sites[site_id] = replace(site, name=name, address=address, active=active)

    def update_window(self, window_id: int, name: str, active: bool) -> None:
        self._db.read(WINDOWS)
        window = self._db.tables.windows[window_id]
        self._db.tables.windows[window_id] = replace(window, name=name, active=active)

    def revoke(self, app_id: str, at: datetime) -> None:
        self._db.read(CLIENTS)
        client = self._db.tables.clients[app_id]
        self._db.tables.clients[app_id] = replace(
            client, active=False, previous_secret=None, previous_valid_until=None, revoked_at=at
        )


class FakeDevices:
    """Kiosks and POS terminals (seeded with `FakeDatabase.add_device`); every method runs at
    once."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def by_app_id(self, app_id: str) -> Device | None:
        self._db.read(DEVICES)
        return next((d for d in self._db.tables.devices.values() if d.app_id == app_id), None)

    def get(self, device_id: int) -> Device | None:
        self._db.read(DEVICES)
        return self._db.tables.devices.get(device_id)

    def all(self) -> list[Device]:
        self._db.read(DEVICES)
        return sorted(self._db.tables.devices.values(), key=lambda device: device.id)

    def add(self, device: Device, at: datetime) -> int:
        """Runs at once (devices: issue 13)."""
        self._db.read(DEVICES)
        device_id = max(self._db.tables.devices, default=0) + 1
        self._db.tables.devices[device_id] = replace(device, id=device_id)
        return device_id

    def at_bank(self, bank_app_id: str) -> list[Device]:
        """The devices at the sites of this partner bank (`FakeDatabase.partner_sites`)."""
        self._db.read(DEVICES)
        sites = {s for s, bank in self._db.tables.partner_sites.items() if bank == bank_app_id}
        return [d for d in self.all() if d.site_id in sites]

    def heartbeat(
        self, app_id: str, at: datetime, *, printer: str, paper: str, version: str
    ) -> bool:
        """False when no device has this credential."""
        device = self.by_app_id(app_id)
        if device is None:
            return False
        self._db.tables.devices[device.id] = replace(
            device, last_seen_at=at, printer=printer, paper=paper, version=version
        )
        return True


class FakeShifts:
    """`add` runs at once (and sets `shift.id`), refused like the partial unique indexes (one
    open shift per window and per cashier); `save` is queued."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def _open(self) -> list[Shift]:
        return [s for s in self._db.tables.shifts.values() if s.status is ShiftStatus.OPEN]

    def add(self, shift: Shift) -> int:
        self._db.read(SHIFTS)
        if shift.status is ShiftStatus.OPEN:
            if any(s.window_id == shift.window_id for s in self._open()):
                raise Conflict(WINDOW_OPEN)
            if any(s.cashier_id == shift.cashier_id for s in self._open()):
                raise Conflict(CASHIER_OPEN)
        shift.id = self._db.next_id(SHIFTS)
        self._db.tables.shifts[shift.id] = copy.deepcopy(shift)
        return shift.id

    def get(self, shift_id: int, *, lock: bool = False) -> Shift | None:
        self._db.read(SHIFTS)
        return copy.deepcopy(self._db.tables.shifts.get(shift_id))

    def open_at_window(self, window_id: int) -> Shift | None:
        self._db.read(SHIFTS)
        found = [s for s in self._open() if s.window_id == window_id]
        return copy.deepcopy(found[0]) if found else None

    def open_of_cashier(self, cashier_id: int) -> Shift | None:
        self._db.read(SHIFTS)
        found = [s for s in self._open() if s.cashier_id == cashier_id]
        return copy.deepcopy(found[0]) if found else None

    def save(self, shift: Shift) -> None:
        """Queued: its status and closing time."""
        self._db.queue(SHIFTS)
        stored = self._db.tables.shifts.get(shift.id)
        if stored is not None:
            self._db.tables.shifts[shift.id] = replace(
                stored,
                status=shift.status,
                closed_at=shift.closed_at,
                closing=shift.closing,
                confirmation=shift.confirmation,
            )

    def payments(self, shift_id: int) -> list[tuple[str, int]]:
        self._db.read(SHIFTS, ORDERS)
        orders = sorted(self._db.tables.orders.values(), key=lambda o: o.id)
        return [
            (o.method.value, o.amount_fen)
            for o in orders
            if o.shift_id == shift_id and o.status is OrderStatus.SUCCEEDED
        ]


class FakeDeposits:
    """Deposit slips of the cash office: `add` runs at once (refused like the unique
    constraints on the slip's number and its shift); `save` is queued."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, deposit: Deposit) -> int:
        self._db.read(DEPOSITS)
        stored = self._db.tables.deposits.values()
        if any(d.shift_id == deposit.shift_id for d in stored):
            raise Conflict("该班次已生成解款单")
        refuse_duplicate(any(d.deposit_no == deposit.deposit_no for d in stored))
        deposit.id = self._db.next_id(DEPOSITS)
        self._db.tables.deposits[deposit.id] = copy.deepcopy(deposit)
        return deposit.id

    def by_no(self, deposit_no: str, *, lock: bool = False) -> Deposit | None:
        self._db.read(DEPOSITS)
        found = [d for d in self._db.tables.deposits.values() if d.deposit_no == deposit_no]
        return copy.deepcopy(found[0]) if found else None

    def of_shift(self, shift_id: int) -> Deposit | None:
        self._db.read(DEPOSITS)
        found = [d for d in self._db.tables.deposits.values() if d.shift_id == shift_id]
        return copy.deepcopy(found[0]) if found else None

    def save(self, deposit: Deposit) -> None:
        """Queued: status and the statement line."""
        self._db.queue(DEPOSITS)
        stored = self._db.tables.deposits.get(deposit.id)
        if stored is not None:
            self._db.tables.deposits[deposit.id] = replace(
                stored, status=deposit.status, credit=deposit.credit
            )

    def for_matching(self, on: date, amount_fen: int | None) -> list[Deposit]:
        self._db.read(DEPOSITS)
        return [
            copy.deepcopy(d)
            for d in sorted(self._db.tables.deposits.values(), key=lambda d: d.id)
            if d.business_date == on and amount_fen in (None, d.amount_fen)
        ]
