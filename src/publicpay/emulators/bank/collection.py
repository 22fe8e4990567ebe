"""The emulated collecting bank's books (代收银行): what its tellers collected at the counter and
what moved on the finance bureau's collection account (非税收入汇缴户), as a bank's core system
keeps them, with its own code.

What it books, and when:
- a counter payment or reversal (冲正) the moment the platform accepted it (`record_counter`,
  called by the teller);
- each channel's settlement of business day D on D+1 (Beijing), as the channel settles: Alipay
  and WeChat Pay net of their service fee, UnionPay gross (its fee is billed monthly), the bank's
  own counter takings gross, the card acquirer net of its fee — computed from the channels' own
  books (`Payer.settle`), a zero settlement books nothing;
- a cash deposit (现金解款) when a cashier hands it in at the bank (`deposit`), with the deposit
  slip number as its reference;
- a transfer out: a refund paid by bank transfer (`transfer_out`), or a clearing transfer to the
  treasury when the treasury confirms a 5408 voucher (`clearing_confirmed`);
- any other credit (`credit`): a payer who wired money without a reference (不明款).

In the demo people go to the bank by themselves (`visits`): the cashiers hand every deposit slip
in when they prepare it, and finance has every refund transfer paid when it records it; each
visit of a day is booked once, at its moment.

It publishes day D's statements — the counter statement (docs/bank-counter.md §4) and the
collection-account statement (docs/bank-statement.md §1) — from D onwards, as of the moment
they are fetched; a day after today, or any day while told `unpublished`, is not published yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from publicpay.emulators.bank.statement import Movement, render

BEIJING = ZoneInfo("Asia/Shanghai")
COUNTER_HEADER = "bank_serial,payment_code,amount,paid_at,status"
SETTLED_AT = {"counter": time(8, 0), "alipay": time(9, 10), "wechat": time(9, 20)}
SETTLED_AT_DEFAULT = time(9, 30)


class NotPublished(Exception):
    """The day's statement is not published yet."""


@dataclass(frozen=True, slots=True)
class CounterRow:
    serial: str
    payment_code: str
    amount_fen: int  # negative for a reversal
    at: datetime  # UTC
    status: str  # paid | duplicate | reversed


@dataclass(frozen=True, slots=True)
class Booking:
    at: datetime  # UTC
    direction: str  # C | D
    amount_fen: int
    counterparty: str
    reference: str


@dataclass(frozen=True, slots=True)
class Payer:
    """A channel that settles into the collection account: `settle(day)` is what it pays for
    business day `day` (fen, may be negative when refunds exceed payments)."""

    channel: str
    counterparty: str
    settle: Callable[[date], int]


@dataclass(frozen=True, slots=True)
class Visit:
    """Someone at the bank's counter: a cashier handing in a deposit slip (C, the slip's
    number), finance having a refund transferred to the payer (D, `REFUND:<refund no>`)."""

    direction: str  # C | D
    reference: str
    amount_fen: int
    party: str
    at: datetime  # UTC


@dataclass
class CollectionBank:
    account: str
    name: str = "代收银行"
    payers: list[Payer] = field(default_factory=list)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    unpublished: bool = False
    visits: Callable[[date], list[Visit]] | None = None  # the demo's people at the counter
    _counter: list[CounterRow] = field(default_factory=list)
    _booked: list[Booking] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ what happens

    def record_counter(self, row: CounterRow) -> None:
        with self._lock:
            if any(r.serial == row.serial and r.status == row.status for r in self._counter):
                return  # the teller retried: the bank books a serial once
            self._counter.append(row)

    def deposit(self, reference: str, amount_fen: int, depositor: str) -> Booking:
        return self._book("C", amount_fen, depositor, reference)

    def _receive_visits(self, day: date) -> None:
        """The visits of `day` (and the day before) not booked yet, each booked once at its
        moment."""
        if self.visits is None:
            return
        for visit in [*self.visits(day - timedelta(days=1)), *self.visits(day)]:
            reference = _clean(visit.reference)
            with self._lock:
                booked = any(b.reference == reference for b in self._booked)
            if not booked and visit.at <= self.now():
                self._book(visit.direction, visit.amount_fen, visit.party, reference, visit.at)

    def credit(self, amount_fen: int, counterparty: str, reference: str) -> Booking:
        return self._book("C", amount_fen, counterparty, reference)

    def transfer_out(self, reference: str, amount_fen: int, payee: str) -> Booking:
        return self._book("D", amount_fen, payee, reference)

    def clearing_confirmed(self, window_id: str, amount_fen: int, payee: str) -> Booking:
        """The treasury took a voucher: the bank transfers its sum out of the account."""
        return self._book("D", amount_fen, payee, f"CLEARING:{window_id}")

    def _book(
        self,
        direction: str,
        amount_fen: int,
        party: str,
        reference: str,
        at: datetime | None = None,
    ) -> Booking:
        if amount_fen <= 0:
            raise ValueError("a booking moves a positive amount")
        moment = at or self.now()
        booking = Booking(moment, direction, amount_fen, _clean(party), _clean(reference))
        with self._lock:
            self._booked.append(booking)
        return booking

    # ------------------------------------------------------------------ statements

    def check_published(self, day: date) -> None:
        if self.unpublished or day > self.now().astimezone(BEIJING).date():
            raise NotPublished(f"{day.isoformat()} 的对账单尚未生成")

    def counter_rows(self, day: date) -> list[CounterRow]:
        with self._lock:
            rows = [r for r in self._counter if _local_day(r.at) == day]
        return sorted(rows, key=lambda r: (r.at, r.serial))

    def counter_statement(self, day: date) -> bytes:
        """docs/bank-counter.md §4: UTF-8 with BOM, CRLF, rows, `count` and `total`."""
        self.check_published(day)
        rows = self.counter_rows(day)
        out = [COUNTER_HEADER]
        out += [
            f"{r.serial},{r.payment_code},{_yuan(r.amount_fen)},{_local_text(r.at)},{r.status}"
            for r in rows
        ]
        out += [f"count,{len(rows)}", f"total,{_yuan(sum(r.amount_fen for r in rows))}"]
        return ("\ufeff" + "\r\n".join(out) + "\r\n").encode("utf-8")

    def movements(self, day: date) -> list[Movement]:
        """The account's movements booked on `day`: the settlements of the day before, then
        what was booked that day, in time order."""
        before = day - timedelta(days=1)
        self._receive_visits(day)
        items: list[Booking] = []
        settlers = [Payer("counter", self.name, self._counter_takings), *self.payers]
        for payer in settlers:
            amount = payer.settle(before)
            if amount == 0:
                continue
            at = datetime.combine(day, SETTLED_AT.get(payer.channel, SETTLED_AT_DEFAULT), BEIJING)
            if at > self.now():
                continue  # not settled yet this morning
            reference = f"SETTLE:{payer.channel}:{before.isoformat()}"
            direction = "C" if amount > 0 else "D"
            items.append(Booking(at, direction, abs(amount), payer.counterparty, reference))
        with self._lock:
            items += [b for b in self._booked if _local_day(b.at) == day]
        items.sort(key=lambda b: b.at)
        stamp = f"{day:%Y%m%d}"
        return [
            Movement(
                f"B{stamp}{i:06d}",
                _local_text(b.at),
                b.direction,
                b.amount_fen,
                b.counterparty,
                b.reference,
            )
            for i, b in enumerate(items, start=1)
        ]

    def collection_statement(self, day: date) -> bytes:
        self.check_published(day)
        return render(self.account, day, self.movements(day))

    def _counter_takings(self, day: date) -> int:
        return sum(r.amount_fen for r in self.counter_rows(day))


def _clean(text: str) -> str:
    """The CSV has no quoting: no commas or line breaks in a field."""
    return text.replace(",", "，").replace("\r", " ").replace("\n", " ").strip()[:60]


def _local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _local_text(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"
