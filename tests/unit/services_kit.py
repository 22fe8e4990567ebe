"""A small district on the in-memory fakes, for the service tests: a catalogue, two units, a
clock, and shortcuts that go through the real services (register, pay, refund, issue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    LevelShare,
    Split,
    Standard,
    StandardKind,
    single_level,
)
from publicpay.domain.codes import (
    citizen_id_check_char,
    credit_code_check_char,
    organisation_code_check_char,
)
from publicpay.domain.payables import LineRequest, Payable, Payer, PayerType
from publicpay.domain.payments.channels import Channel, TradeResult, TradeState
from publicpay.domain.payments.orders import Order, OrderMethod, Outcome
from publicpay.domain.refunds import Refund
from publicpay.domain.units import Unit
from publicpay.services.payables.registration import RegisterPayable, register_payable
from publicpay.services.payments.orders import PaymentPolicy, apply_trade, reserve_order
from publicpay.services.receipts.building import ReceiptPolicy
from publicpay.services.refunds.approval import Approver, approve_refund
from publicpay.services.refunds.execution import run_due_refunds
from publicpay.services.refunds.requests import PayeeAccount, refund_payable
from tests.fakes import FakeClock, FakeDatabase, FakeGateways, FakeUnitOfWork
from tests.fakes.database import Tables

REGION = "330105"
SINCE = date(2020, 1, 1)
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on 2 March 2026 in Shanghai
PERSON_ID = "11010519491231002" + citizen_id_check_char("11010519491231002")
_ORG17 = "91330105MA2B3C4D" + organisation_code_check_char("MA2B3C4D")
ORG_ID = _ORG17 + credit_code_check_char(_ORG17)
PERSON = Payer("张伟", PayerType.PERSON, PERSON_ID)
PAYEE = PayeeAccount("张伟", "中国工商银行杭州西湖支行", "6222 0212 3456 7890 128")  # Luhn ok

COUNTY = single_level(BudgetLevel.COUNTY)
CENTRAL_CITY = Split((LevelShare(BudgetLevel.CENTRAL, 5), LevelShare(BudgetLevel.CITY, 5)))
THREE_LEVELS = Split(
    (
        LevelShare(BudgetLevel.PROVINCE, 3),
        LevelShare(BudgetLevel.CITY, 3),
        LevelShare(BudgetLevel.COUNTY, 4),
    )
)


def fixed(code: str, fen: int, split: Split = COUNTY, **extra: Any) -> FeeItem:
    standard = Standard(StandardKind.FIXED, SINCE, amount_fen=fen)
    return item(code, (standard,), split=split, **extra)


def item(
    code: str,
    standards: tuple[Standard, ...],
    *,
    split: Split = COUNTY,
    category: Category = Category.ADMIN_FEE,
    destination: Destination = Destination.TREASURY,
) -> FeeItem:
    return FeeItem(
        code=code,
        name=f"项目{code}",
        category=category,
        budget_subject="103040101",
        destination=destination,
        unit_of_measure="件",
        split=split,
        standards=standards,
    )


PLATE = fixed("GA0101", 10_000)  # 汽车号牌 100.00 yuan
LICENCE = fixed("GA0105", 1_000)
PASSPORT = fixed("GA0301", 12_000, CENTRAL_CITY)
TUITION = fixed("JY0101", 110_000, destination=Destination.SPECIAL_ACCOUNT)
SPLIT3 = fixed("QT0101", 10_000, THREE_LEVELS)
HALL = item(  # a range standard: the unit sets 50.00..200.00 per unit
    "ZY0101", (Standard(StandardKind.RANGE, SINCE, min_fen=5_000, max_fen=20_000),)
)
FINE = item(  # a decision standard: the amount decided, up to 2000.00
    "FM0101",
    (Standard(StandardKind.DECISION, SINCE, max_fen=200_000),),
    category=Category.FINE,
    split=THREE_LEVELS,
)
EXAM = item(  # the standard changes on 1 July 2026 (Shanghai business date)
    "GA0201",
    (
        Standard(StandardKind.FIXED, SINCE, valid_to=date(2026, 6, 30), amount_fen=5_000),
        Standard(StandardKind.FIXED, date(2026, 7, 1), amount_fen=6_000),
    ),
)
SCHOOL_ONLY = fixed("JY0201", 80_000)
CATALOGUE = (PLATE, LICENCE, PASSPORT, TUITION, SPLIT3, HALL, FINE, EXAM, SCHOOL_ONLY)

OFFICE = Unit(1, "330105101", "杭州市公安局上城分局车管所", REGION, ORG_ID, None, None)
SCHOOL = Unit(2, "330105201", "上城区某小学", REGION, ORG_ID, None, None)
POLICY = PaymentPolicy(order_timeout_s=900, notify_url=lambda channel: f"https://pp/n/{channel}")
RECEIPTS = ReceiptPolicy("https://pp.example.gov.cn")


@dataclass
class World:
    """The fake database with the district in it, the clock, and the channels."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    clock: FakeClock = field(default_factory=lambda: FakeClock(NOW))
    gateways: FakeGateways = field(
        default_factory=lambda: FakeGateways(Channel.ALIPAY, Channel.WECHAT, Channel.UNIONPAY)
    )
    _biz: int = 0

    def __post_init__(self) -> None:
        self.db.add_fee_items(*CATALOGUE)
        self.db.add_unit(OFFICE)
        self.db.add_unit(SCHOOL)
        office_items = [i.code for i in CATALOGUE if i is not SCHOOL_ONLY]
        self.db.grant(OFFICE.id, *office_items)
        self.db.grant(SCHOOL.id, SCHOOL_ONLY.code, TUITION.code)

    @property
    def tables(self) -> Tables:
        return self.db.tables

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db)

    def command(
        self,
        *lines: LineRequest,
        unit_id: int = OFFICE.id,
        biz_no: str | None = None,
        payer: Payer = PERSON,
        due_date: date | None = None,
    ) -> RegisterPayable:
        if biz_no is None:
            self._biz += 1
            biz_no = f"BIZ{self._biz:05d}"
        return RegisterPayable(
            unit_id, biz_no, payer, lines or (LineRequest(PLATE.code),), due_date=due_date
        )

    def register(self, *lines: LineRequest, **options: Any) -> Payable:
        cmd = self.command(*lines, **options)
        return register_payable(self.uow(), cmd, region_code=REGION, clock=self.clock).payable

    def open_order(self, payable: Payable, channel: Channel = Channel.ALIPAY) -> Order:
        order, _ = reserve_order(
            self.uow(), payable.payment_code, channel, OrderMethod.QR, self.clock, POLICY
        )
        return order

    def succeed(self, order: Order, amount_fen: int | None = None) -> Outcome:
        """The channel reports the order paid (its amount unless told otherwise)."""
        paid = order.amount_fen if amount_fen is None else amount_fen
        result = TradeResult(
            order.order_no, TradeState.SUCCEEDED, paid, f"T{order.order_no}", self.clock.now()
        )
        return apply_trade(self.uow(), result, clock=self.clock)

    def pay(self, payable: Payable, channel: Channel = Channel.ALIPAY) -> Order:
        order = self.open_order(payable, channel)
        assert self.succeed(order) is Outcome.PAID
        return order

    def payable(self, payable_id: int) -> Payable:
        with self.uow() as uow:
            found = uow.payables.by_id(payable_id)
        assert found is not None
        return found

    def ask_refund(
        self, payable: Payable, amount_fen: int, reason: str = "业务撤销", **options: Any
    ) -> Refund:
        """The unit asks; the refund waits for finance's approval."""
        options.setdefault("actor", "unit:tester")
        return refund_payable(
            self.uow(), payable.payment_code, amount_fen, reason, clock=self.clock, **options
        )

    def approve(self, refund_no: str, by: str = "user:reviewer") -> Refund:
        return approve_refund(self.uow(), refund_no, Approver(by, REGION), "同意", clock=self.clock)

    def refund(
        self, payable: Payable, amount_fen: int, reason: str = "业务撤销", **options: Any
    ) -> str:
        """Asked for and approved (by a second reviewer too when above the threshold)."""
        refund = self.ask_refund(payable, amount_fen, reason, **options)
        for n in range(refund.approvals_required):
            self.approve(refund.refund_no, f"user:reviewer{n + 1}")
        return refund.refund_no

    def run_refunds(self) -> int:
        return run_due_refunds(self.uow, self.gateways, clock=self.clock)

    def outbox_types(self) -> list[str]:
        return [row.event.type for row in self.tables.outbox]

    def audit_actions(self) -> list[str]:
        return [row.action for row in self.tables.audit]


def counts(tables: Tables) -> dict[str, int]:
    """How many rows each table holds (to prove that something changed nothing)."""
    return {name: len(value) for name, value in vars(tables).items()}


def line(code: str, quantity: int = 1, amount_fen: int | None = None) -> LineRequest:
    return LineRequest(code, quantity, amount_fen)
