"""The recorder (`services.recording.recorder`): each domain event writes exactly its documented
effects — ledger journal, outbox message (and whether it is delivered), audit row, jobs,
refunds, discrepancies — and nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

import publicpay.domain
from publicpay.domain.clearing import (
    ClearingConfirmed,
    ClearingFailed,
    ClearingInstructed,
    Settlement,
    Window,
    WindowStatus,
)
from publicpay.domain.events import DeliveryStatus, DomainEvent
from publicpay.domain.ledger import JournalKind, payment_journal
from publicpay.domain.payables import (
    DuplicatePayment,
    Payable,
    PayableCancelled,
    PayableLine,
    PayablePaid,
    PayableRefunded,
    PayableRegistered,
    PayableReversed,
    PayableStatus,
    PayerType,
    payment_shares,
)
from publicpay.domain.payments.orders import (
    AmountMismatch,
    LateSuccess,
    Order,
    OrderMethod,
    OrderStatus,
)
from publicpay.domain.reconciliation import (
    Action,
    DifferenceWrittenOff,
    ExceptionAssigned,
    ExceptionRefundBooked,
    ExceptionResolved,
    ExceptionReviewed,
    RefundTransferDebited,
    WriteOff,
)
from publicpay.domain.refunds import (
    Refund,
    RefundApproved,
    RefundDeclined,
    RefundFailed,
    RefundHandedOver,
    RefundKind,
    RefundRequested,
    RefundRetried,
    RefundStatus,
    RefundSucceeded,
    RefundTransferred,
)
from publicpay.domain.shifts import (
    CashCount,
    Closing,
    Confirmation,
    Credit,
    Deposit,
    DepositCredited,
    DepositPrepared,
    Shift,
    ShiftClosed,
    ShiftSettled,
    ShiftStatus,
    Takings,
)
from publicpay.domain.time import SHANGHAI, business_date
from publicpay.services.recording.recorder import paid_event_data, record
from tests.unit.services_kit import CATALOGUE, NOW, PASSPORT, World

CODE = "33010526012345678901"
ORDER_NO = "P260302100000abcdef123456"
ITEMS = {item.code: item for item in CATALOGUE}
LINES = [PayableLine(PASSPORT.code, "护照", "本", 1, 12_000, 12_000)]


def _payable(status: PayableStatus = PayableStatus.PAID, **changes: Any) -> Payable:
    values: dict[str, Any] = {
        "id": 7,
        "payment_code": CODE,
        "unit_id": 1,
        "biz_no": "B-7",
        "payer_name": "张伟",
        "payer_type": PayerType.PERSON,
        "payer_id_masked": "110105********002X",
        "amount_fen": 12_000,
        "status": status,
        "due_date": None,
        "remark": "",
        "lines": list(LINES),
        "channel": "alipay" if status is not PayableStatus.UNPAID else None,
        "paid_fen": 12_000 if status is not PayableStatus.UNPAID else None,
        "paid_order_id": 3 if status is not PayableStatus.UNPAID else None,
        "paid_at": NOW if status is not PayableStatus.UNPAID else None,
    }
    return Payable(**{**values, **changes})


def _order(status: OrderStatus = OrderStatus.SUCCEEDED, **changes: Any) -> Order:
    values: dict[str, Any] = {
        "id": 3,
        "order_no": ORDER_NO,
        "payable_id": 7,
        "channel": "alipay",
        "method": OrderMethod.QR,
        "amount_fen": 12_000,
        "status": status,
        "qr_code": None,
        "channel_trade_no": "T2026",
        "created_at": NOW,
        "expires_at": NOW + timedelta(minutes=15),
        "paid_at": NOW,
    }
    return Order(**{**values, **changes})


def _refund(kind: RefundKind, status: RefundStatus = RefundStatus.SUCCEEDED) -> Refund:
    return Refund(9, "R26030210000001", 7, 3, "alipay", 5_000, "多收", kind, status, 1)


SHARES = tuple(payment_shares(LINES, ITEMS, 12_000))  # 中央 : 市 = 5 : 5


def effects(*events: DomainEvent) -> dict[str, list[Any]]:
    """Every row the events' records wrote, by table (tables left empty are left out)."""
    world = World()
    with world.uow() as uow:
        uow.collect(events)
        uow.commit()
    t = world.tables
    written: dict[str, list[Any]] = {
        "journals": [
            (
                j.journal.kind,
                j.journal.ref,
                [(p.account, p.amount_fen) for p in j.journal.postings],
                j.payable_id,
                j.business_date,
            )
            for j in t.journals
        ],
        "outbox": [
            (r.event.type, r.event.unit_id, r.event.delivery, r.event.data) for r in t.outbox
        ],
        "audit": [(a.actor, a.action, a.target, a.detail) for a in t.audit],
        "jobs": [
            (r.job.kind.value, r.job.ref, r.job.payable_id, r.job.place)
            for r in t.receipt_jobs.values()
        ],
        "refunds": [
            (r.refund_no, r.kind, r.status, r.amount_fen, r.channel, r.order_id, r.reason)
            for r in t.refunds.values()
        ],
        "discrepancies": [
            (d.kind.value, d.channel, d.order_no, d.payable_id, d.amount_fen, d.detail)
            for d in t.discrepancies
        ],
    }
    return {table: rows for table, rows in written.items() if rows}


TODAY = business_date(NOW)


def test_registered_lists_payable_created_without_delivering_it_and_audits() -> None:
    payable = _payable(PayableStatus.UNPAID)
    assert effects(PayableRegistered(payable, "unit:1", None, NOW)) == {
        "outbox": [
            (
                "payable.created",
                1,
                DeliveryStatus.NONE,
                {"payment_code": CODE, "biz_no": "B-7"},
            )
        ],
        "audit": [("unit:1", "payable.register", CODE, {"biz_no": "B-7"})],
    }
    batch = effects(PayableRegistered(payable, "console:admin", 42, NOW))
    assert batch["audit"] == [
        ("console:admin", "payable.register", CODE, {"biz_no": "B-7", "batch_id": 42})
    ]


def test_cancelled_tells_the_unit_and_audits() -> None:
    payable = _payable(PayableStatus.CANCELLED)
    assert effects(PayableCancelled(payable, "unit:1", NOW)) == {
        "outbox": [
            (
                "payable.cancelled",
                1,
                DeliveryStatus.PENDING,
                {"payment_code": CODE, "biz_no": "B-7", "status": "cancelled"},
            )
        ],
        "audit": [("unit:1", "payable.cancel", CODE, {})],
    }


def test_paid_books_the_payment_tells_the_unit_asks_for_a_receipt_and_audits() -> None:
    event = PayablePaid(_payable(), _order(), SHARES, NOW)
    assert effects(event) == {
        "journals": [
            (
                JournalKind.PAYMENT,
                ORDER_NO,
                [
                    ("channel_receivable:alipay", 12_000),
                    ("treasury_payable:central", -6_000),
                    ("treasury_payable:city", -6_000),
                ],
                7,
                TODAY,
            )
        ],
        "outbox": [("payable.paid", 1, DeliveryStatus.PENDING, paid_event_data(event))],
        "audit": [
            ("channel:alipay", "payable.paid", CODE, {"order_no": ORDER_NO, "amount_fen": 12_000})
        ],
        "jobs": [("issue", ORDER_NO, 7, None)],
    }
    assert paid_event_data(event) == {
        "payment_code": CODE,
        "biz_no": "B-7",
        "status": "paid",
        "amount_fen": 12_000,
        "paid_fen": 12_000,
        "channel": "alipay",
        "order_no": ORDER_NO,
        "channel_trade_no": "T2026",
        "paid_at": NOW.isoformat(),
    }


@pytest.mark.parametrize(
    ("status", "closed", "kind"),
    [
        (PayableStatus.PAID, False, "duplicate_payment"),
        (PayableStatus.CANCELLED, True, "payment_for_closed_payable"),
        (PayableStatus.EXPIRED, True, "payment_for_closed_payable"),
    ],
)
def test_a_duplicate_payment_is_owed_back_refunded_and_recorded(
    status: PayableStatus, closed: bool, kind: str
) -> None:
    second = _order(id=4, order_no="P2", channel="wechat", amount_fen=12_000)
    event = DuplicatePayment(_payable(status), second, "R2", for_closed_payable=closed, at=NOW)
    assert effects(event) == {
        "journals": [
            (
                JournalKind.DUPLICATE_PAYMENT,
                "P2",
                [("channel_receivable:wechat", 12_000), ("refunds_payable", -12_000)],
                7,
                TODAY,
            )
        ],
        "refunds": [
            (
                "R2",
                RefundKind.DUPLICATE,
                RefundStatus.PENDING,
                12_000,
                "wechat",
                4,
                "重复支付自动退款",
            )
        ],
        "discrepancies": [
            (kind, "wechat", "P2", 7, 12_000, {"payable_status": status.value, "refund_no": "R2"})
        ],
        "audit": [
            (
                "channel:wechat",
                "payment.duplicate",
                CODE,
                {"order_no": "P2", "refund_no": "R2", "amount_fen": 12_000},
            )
        ],
    }


def test_reversed_negates_the_payment_journal_and_tells_the_unit() -> None:
    payment = payment_journal(ORDER_NO, "counter", SHARES)
    order = _order(OrderStatus.REVERSED, channel="counter", channel_trade_no="S1")
    event = PayableReversed(
        _payable(PayableStatus.UNPAID), order, payment, "bank:icbc", "输错", NOW
    )
    written = effects(event)
    assert written["journals"] == [
        (
            JournalKind.REVERSAL,
            ORDER_NO,
            [(p.account, -p.amount_fen) for p in payment.postings],
            7,
            TODAY,
        )
    ]
    [(type_, unit_id, delivery, data)] = written["outbox"]
    assert (type_, unit_id, delivery) == ("payable.reversed", 1, DeliveryStatus.PENDING)
    assert data == {
        "payment_code": CODE,
        "biz_no": "B-7",
        "status": "unpaid",
        "order_no": ORDER_NO,
        "amount_fen": 12_000,
        "reason": "输错",
        "reversed_at": NOW.isoformat(),
    }
    assert written["audit"] == [
        (
            "bank:icbc",
            "payment.reversed",
            CODE,
            {"order_no": ORDER_NO, "bank_serial": "S1", "reason": "输错"},
        )
    ]
    assert set(written) == {"journals", "outbox", "audit"}


def test_refunded_gives_back_the_slices_tells_the_unit_and_asks_for_a_red_receipt() -> None:
    payable = _payable(PayableStatus.PARTIALLY_REFUNDED, refunded_fen=5_001)
    returned = (replace(SHARES[0], amount_fen=2_500), replace(SHARES[1], amount_fen=2_501))
    event = PayableRefunded(payable, "R9", 5_001, returned, "多收", NOW)
    written = effects(event)
    assert written == {
        "journals": [
            (
                JournalKind.REFUND,
                "R9",
                [
                    ("channel_receivable:alipay", -5_001),
                    ("treasury_payable:central", 2_500),
                    ("treasury_payable:city", 2_501),
                ],
                7,
                TODAY,
            )
        ],
        "outbox": [
            (
                "payable.refunded",
                1,
                DeliveryStatus.PENDING,
                {
                    "payment_code": CODE,
                    "biz_no": "B-7",
                    "status": "partially_refunded",
                    "refund_no": "R9",
                    "amount_fen": 5_001,
                    "refunded_fen": 5_001,
                    "paid_fen": 12_000,
                    "reason": "多收",
                },
            )
        ],
        "jobs": [("refund", "R9", 7, None)],
    }


def test_a_late_success_is_recorded_as_a_discrepancy_only() -> None:
    event = LateSuccess(_order(), OrderStatus.CLOSED, NOW)
    assert effects(event) == {
        "discrepancies": [
            (
                "late_success",
                "alipay",
                ORDER_NO,
                7,
                12_000,
                {"order_status": "closed", "recovered": True},
            )
        ]
    }


def test_an_amount_mismatch_is_recorded_as_a_discrepancy_only() -> None:
    event = AmountMismatch(_order(OrderStatus.FAILED), 7, 11_999, NOW)
    assert effects(event) == {
        "discrepancies": [
            (
                "amount_mismatch",
                "alipay",
                ORDER_NO,
                7,
                11_999,
                {"expected_fen": 12_000, "reported_fen": 11_999},
            )
        ]
    }


def test_a_discrepancy_is_recorded_once_per_kind_and_order() -> None:
    event = AmountMismatch(_order(OrderStatus.FAILED), 7, 11_999, NOW)
    again = AmountMismatch(_order(OrderStatus.FAILED), 7, 1, NOW)
    assert len(effects(event, again)["discrepancies"]) == 1


def test_a_duplicate_refund_paid_out_clears_what_was_owed_and_audits() -> None:
    event = RefundSucceeded(_refund(RefundKind.DUPLICATE), NOW)
    assert effects(event) == {
        "journals": [
            (
                JournalKind.REFUND,
                "R26030210000001",
                [("refunds_payable", 5_000), ("channel_receivable:alipay", -5_000)],
                7,
                TODAY,
            )
        ],
        "audit": [("system", "refund.succeeded", "R26030210000001", {"amount_fen": 5_000})],
    }


def test_a_requested_refund_paid_out_is_only_audited_its_journal_follows_the_payable() -> None:
    event = RefundSucceeded(_refund(RefundKind.REQUESTED), NOW)
    assert effects(event) == {
        "audit": [("system", "refund.succeeded", "R26030210000001", {"amount_fen": 5_000})]
    }


def test_a_failed_refund_and_a_manual_one_are_audited() -> None:
    failed = RefundFailed(_refund(RefundKind.REQUESTED, RefundStatus.FAILED), "余额不足", NOW)
    manual = RefundHandedOver(_refund(RefundKind.DUPLICATE, RefundStatus.MANUAL), NOW)
    assert effects(failed, manual) == {
        "audit": [
            ("system", "refund.failed", "R26030210000001", {"raw": "余额不足"}),
            ("system", "refund.manual", "R26030210000001", {"channel": "alipay"}),
        ]
    }


def test_each_refund_decision_is_an_audit_row_of_whoever_took_it() -> None:
    refund = _refund(RefundKind.REQUESTED, RefundStatus.PENDING_APPROVAL)
    refund.requested_by, refund.approvals_required = "unit:app1", 2
    assert effects(
        RefundRequested(refund, "33010526000000000011", NOW),
        RefundApproved(refund, "user:rev1", "同意", False, NOW),
        RefundDeclined(refund, "user:rev2", "理由不足", NOW),
        RefundRetried(refund, "user:fin", NOW),
        RefundTransferred(refund, "B20260302001", "user:fin", NOW),
    ) == {
        "audit": [
            (
                "unit:app1",
                "refund.requested",
                "33010526000000000011",
                {
                    "refund_no": "R26030210000001",
                    "amount_fen": 5_000,
                    "reason": "多收",
                    "approvals_required": 2,
                },
            ),
            (
                "user:rev1",
                "refund.approved",
                "R26030210000001",
                {"amount_fen": 5_000, "note": "同意", "final": False},
            ),
            (
                "user:rev2",
                "refund.declined",
                "R26030210000001",
                {"amount_fen": 5_000, "note": "理由不足"},
            ),
            ("user:fin", "refund.retried", "R26030210000001", {"amount_fen": 5_000}),
            (
                "user:fin",
                "refund.transferred",
                "R26030210000001",
                {"amount_fen": 5_000, "bank_serial": "B20260302001"},
            ),
        ]
    }


COVERED = {
    PayableRegistered,
    PayableCancelled,
    PayablePaid,
    DuplicatePayment,
    PayableReversed,
    PayableRefunded,
    LateSuccess,
    AmountMismatch,
    RefundSucceeded,
    RefundFailed,
    RefundHandedOver,
    RefundRequested,
    RefundApproved,
    RefundDeclined,
    RefundRetried,
    RefundTransferred,
    # reconciliation (issue 12)
    ExceptionAssigned,
    ExceptionResolved,
    ExceptionReviewed,
    DifferenceWrittenOff,
    ExceptionRefundBooked,
    RefundTransferDebited,
    ClearingInstructed,
    ClearingConfirmed,
    ClearingFailed,
    # the cash office
    ShiftClosed,
    ShiftSettled,
    DepositPrepared,
    DepositCredited,
}


def _every_domain_event() -> set[type[DomainEvent]]:
    for info in pkgutil.walk_packages(publicpay.domain.__path__, "publicpay.domain."):
        importlib.import_module(info.name)
    found: set[type[DomainEvent]] = set()
    todo = list(DomainEvent.__subclasses__())
    while todo:
        event = todo.pop()
        todo += event.__subclasses__()
        module = importlib.import_module(event.__module__)
        if getattr(module, event.__qualname__, None) is event:  # not a class `slots=True` replaced
            found.add(event)
    return found


def test_every_domain_event_has_its_effects_tested_here() -> None:
    assert _every_domain_event() == COVERED


def test_the_effects_of_a_transaction_are_written_in_the_order_of_its_events() -> None:
    paid = PayablePaid(_payable(), _order(), SHARES, NOW)
    cancelled = PayableCancelled(_payable(PayableStatus.CANCELLED), "unit:1", NOW)
    assert [row[0] for row in effects(cancelled, paid)["outbox"]] == [
        "payable.cancelled",
        "payable.paid",
    ]
    world = World()
    with world.uow() as uow:
        record(uow, [paid])  # the recorder writes through the repositories: queued
        assert world.tables.journals != []
    assert world.tables.journals == []  # and goes with the transaction


def test_exception_workflow_steps_are_audited() -> None:
    assigned = ExceptionAssigned(7, "fin_li", "fin_wang", NOW)
    resolved = ExceptionResolved(7, Action.RECOVER, "渠道已付款，补单", "fin_li", NOW)
    reviewed = ExceptionReviewed(7, True, "fin_wang", NOW)
    assert effects(assigned, resolved, reviewed) == {
        "audit": [
            ("fin_wang", "recon.exception.assign", "exception:7", {"assignee": "fin_li"}),
            (
                "fin_li",
                "recon.exception.resolve",
                "exception:7",
                {"action": "recover", "reason": "渠道已付款，补单"},
            ),
            ("fin_wang", "recon.exception.review", "exception:7", {"approved": True}),
        ]
    }


def test_a_reviewed_write_off_posts_its_journal_and_is_audited() -> None:
    write_off = WriteOff("write_off_loss", "channel_receivable:alipay", 3, False)
    written = effects(DifferenceWrittenOff(9, TODAY, write_off, "尾差核销", "fin_wang", NOW))
    assert written == {
        "journals": [
            (
                "write_off",
                "exception:9",
                [("write_off_loss", 3), ("channel_receivable:alipay", -3)],
                None,
                TODAY,
            )
        ],
        "audit": [
            (
                "fin_wang",
                "recon.exception.write_off",
                "exception:9",
                {**write_off.as_dict(), "reason": "尾差核销"},
            )
        ],
    }


def test_a_reviewed_exception_refund_is_owed_back_and_handed_to_the_refunds_area() -> None:
    refund = Refund(0, "R1", 3, 5, "alipay", 2500, "对账差错退款", RefundKind.DUPLICATE,
                    RefundStatus.PENDING, 0, created_at=NOW, next_attempt_at=NOW)  # fmt: skip
    written = effects(ExceptionRefundBooked(9, TODAY, refund, "P1", "fin_wang", NOW))
    assert written["journals"] == [
        (
            "exception_refund",
            "R1",
            [("channel_receivable:alipay", 2500), ("refunds_payable", -2500)],
            3,
            TODAY,
        )
    ]
    assert written["refunds"] == [
        ("R1", RefundKind.DUPLICATE, RefundStatus.PENDING, 2500, "alipay", 5, "对账差错退款")
    ]
    detail = {"order_no": "P1", "refund_no": "R1", "amount_fen": 2500}
    assert written["audit"] == [("fin_wang", "recon.exception.refund", "exception:9", detail)]


def test_a_refund_debit_on_the_bank_statement_leaves_the_collection_account() -> None:
    debited = RefundTransferDebited("R2", "counter", 3, 4000, "B1", TODAY, "reconciliation", NOW)
    written = effects(debited)
    assert written["journals"] == [
        (
            "refund_transfer",
            "R2",
            [("channel_receivable:counter", 4000), ("collection", -4000)],
            3,
            TODAY,
        )
    ]
    detail = {"amount_fen": 4000, "statement_ref": "B1", "business_day": TODAY.isoformat()}
    assert written["audit"] == [("reconciliation", "recon.refund.debited", "R2", detail)]


def _window() -> Window:
    day = NOW.date()
    by_level = {"central": 5000, "county": 4700}
    return Window(
        7,
        day,
        "3305",
        WindowStatus.INSTRUCTED,
        10000,
        300,
        60,
        9700,
        by_level,
        "540820260101000007",
    )


def test_clearing_books_the_settlements_then_the_transfer_to_the_treasury() -> None:
    window = _window()
    day = window.business_day
    instructed = ClearingInstructed(window, (Settlement("alipay", 9700, 60),), "fin", NOW)
    confirmed = ClearingConfirmed(window, "treasury", NOW)
    failed = ClearingFailed(window, "账户冻结", "treasury", NOW)
    written = effects(instructed, confirmed, failed)
    assert written["journals"] == [
        (
            "settlement",
            f"settle:alipay:{day.isoformat()}",
            [
                ("collection", 9700),
                ("channel_receivable:alipay", -9700),
                ("channel_fees", 60),
                ("fee_funding", -60),
            ],
            None,
            day,
        ),
        (
            "clearing",
            "clearing:7",
            [
                ("treasury_payable:central", 5000),
                ("treasury_payable:county", 4700),
                ("collection", -9700),
            ],
            None,
            day,
        ),
    ]
    assert [a[1] for a in written["audit"]] == [
        "clearing.instruct",
        "clearing.confirm",
        "clearing.fail",
    ]


# --- the cash office ----------------------------------------------------------------------


def _closed_shift(counted: dict[int, int], *, confirmed: bool = False) -> Shift:
    """Shift 4: float 500.00, 200.00 cash and 100.00 by barcode taken, closed with `counted`."""
    takings = Takings.of([("cash", 20_000), ("barcode", 10_000)])
    confirmation = Confirmation(9, "hall_admin", NOW, "找零失误") if confirmed else None
    return Shift(4, 2, 1, 1, 7, "cashier7", 50_000, NOW, ShiftStatus.CLOSED, NOW,
                 Closing(CashCount.of(counted), takings, "交班"), confirmation)  # fmt: skip


def test_a_closed_shift_is_listed_undelivered_and_audited_without_a_journal() -> None:
    shift = _closed_shift({10_000: 6, 5_000: 1})  # 650.00: 50.00 short
    written = effects(ShiftClosed(shift, "user:cashier7", NOW))
    data = {
        "shift_id": 4,
        "window_id": 2,
        "cashier": "cashier7",
        "status": "closed",
        "counted_fen": 65_000,
        "expected_cash_fen": 70_000,
        "difference_fen": -5_000,
        "takings": {"cash": [1, 20_000], "barcode": [1, 10_000], "qr": [0, 0], "card": [0, 0]},
    }
    assert written["outbox"] == [("shift.closed", 1, DeliveryStatus.NONE, data)]
    [(actor, action, target, _detail)] = written["audit"]
    assert (actor, action, target) == ("user:cashier7", "shift.close", "shift:4")
    assert set(written) == {"outbox", "audit"}


def test_a_settled_difference_is_booked_as_cash_over_short_and_its_confirmation_audited() -> None:
    short = _closed_shift({10_000: 6, 5_000: 1}, confirmed=True)
    assert effects(ShiftSettled(short, "hall_admin", NOW)) == {
        "journals": [
            (
                JournalKind.CASH_DIFFERENCE,
                "shift:4",
                [("channel_receivable:cash", -5_000), ("cash_over_short", 5_000)],
                None,
                TODAY,
            )
        ],
        "audit": [
            (
                "hall_admin",
                "shift.confirm",
                "shift:4",
                {"difference": "短款 ¥50.00", "note": "找零失误"},
            )
        ],
    }
    assert effects(ShiftSettled(_closed_shift({10_000: 7}), "user:cashier7", NOW)) == {}


def test_a_deposit_moves_cash_to_transit_and_its_credit_to_the_collection_account() -> None:
    deposit = Deposit(1, "JK2026030200000004", 4, 1, 1, 20_000, TODAY, NOW, "user:cashier7")
    prepared = effects(DepositPrepared(deposit, "user:cashier7", NOW))
    data = {"deposit_no": "JK2026030200000004", "shift_id": 4, "amount_fen": 20_000}
    assert prepared == {
        "journals": [
            (
                JournalKind.CASH_DEPOSIT,
                "JK2026030200000004",
                [("cash_in_transit", 20_000), ("channel_receivable:cash", -20_000)],
                None,
                TODAY,
            )
        ],
        "outbox": [("deposit.prepared", 1, DeliveryStatus.NONE, data)],
        "audit": [("user:cashier7", "deposit.prepare", "JK2026030200000004", data)],
    }
    deposit.credit = Credit("B001", TODAY, "reconciliation", NOW)
    credited = effects(DepositCredited(deposit, NOW))
    assert credited["journals"] == [
        (
            JournalKind.DEPOSIT_CREDITED,
            "JK2026030200000004",
            [("collection", 20_000), ("cash_in_transit", -20_000)],
            None,
            TODAY,
        )
    ]
    assert [row[0] for row in credited["outbox"]] == ["deposit.credited"]
    assert credited["audit"][0][:2] == ("reconciliation", "deposit.credited")


# --- the statistics' summaries (issue 10) -----------------------------------------------------


def tallies(*events: DomainEvent) -> list[Any]:
    world = World()
    with world.uow() as uow:
        uow.collect(events)
        uow.commit()
    return [
        (t.sign, t.day, t.hour, t.unit_id, t.channel, t.amount_fen, t.items, t.accounts)
        for t in world.tables.tallies
    ]


LOCAL_HOUR = NOW.astimezone(SHANGHAI).hour


def test_a_payment_counts_in_the_statistics_by_hour_item_and_budget_level() -> None:
    event = PayablePaid(_payable(), _order(), SHARES, NOW)
    assert tallies(event) == [
        (
            1,
            TODAY,
            LOCAL_HOUR,
            1,
            "alipay",
            12_000,
            ((PASSPORT.code, "护照", 12_000),),
            (("treasury_payable:central", 6_000), ("treasury_payable:city", 6_000)),
        )
    ]


def test_a_duplicate_payment_counts_as_a_payment_without_budget_shares() -> None:
    second = _order(id=4, order_no="P2", channel="wechat")
    event = DuplicatePayment(_payable(), second, "R2", for_closed_payable=False, at=NOW)
    assert tallies(event) == [
        (1, TODAY, LOCAL_HOUR, 1, "wechat", 12_000, ((PASSPORT.code, "护照", 12_000),), ())
    ]


def test_a_reversal_takes_the_payment_back_out_of_the_statistics() -> None:
    payment = payment_journal(ORDER_NO, "counter", SHARES)
    order = _order(OrderStatus.REVERSED, channel="counter")
    event = PayableReversed(_payable(PayableStatus.UNPAID), order, payment, "bank:x", "输错", NOW)
    [(sign, *_rest, accounts)] = tallies(event)
    assert sign == -1
    assert accounts == (("treasury_payable:central", 6_000), ("treasury_payable:city", 6_000))


def test_two_lines_of_one_item_count_one_payment_of_their_sum() -> None:
    lines = [*LINES, PayableLine(PASSPORT.code, "护照", "本", 1, 3_000, 3_000)]
    event = PayablePaid(_payable(lines=lines), _order(amount_fen=15_000), SHARES, NOW)
    [row] = tallies(event)
    assert row[6] == ((PASSPORT.code, "护照", 15_000),)
