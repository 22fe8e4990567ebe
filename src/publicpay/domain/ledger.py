"""Double-entry ledger in integer fen. Debits are positive, credits negative; a journal sums to 0.

Accounts (chart):
- `channel_receivable:<channel>`  money the channel holds for us (渠道应收)
- `collection`                    the finance bureau's collection account (汇缴户)
- `treasury_payable:<level>`      owed to the treasury at a budget level (国库, 预算级次)
- `special_account`               owed to the finance special account (财政专户)
- `refunds_payable`               owed back to payers (应退款)
- `suspense`                      unidentified or disputed money (待处理)
- `write_off_income`, `write_off_loss`  small reconciliation differences written off (核销收益,
                                  核销损失), each with a reason and a second person's review
- `channel_fees`, `fee_funding`   channel fees kept (expense) and the fee budget making them up
- `cash_in_transit`               cash of closed shifts on its way to the bank (在途现金)
- `cash_over_short`               differences found when a shift's cash is counted (现金长短款)

Cash at a window: a payment debits `channel_receivable:cash` (the cash in the drawer); a settled
shift books its difference against `cash_over_short`; its deposit slip moves the cash to
`cash_in_transit`, and the bank statement that shows it moves it to `collection`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from publicpay.domain.catalogue import BudgetLevel, Destination, refund_slices
from publicpay.domain.errors import DomainError


class UnbalancedJournal(DomainError):
    code = "unbalanced_journal"
    title = "记账分录借贷不平"


class JournalKind(StrEnum):
    PAYMENT = "payment"
    DUPLICATE_PAYMENT = "duplicate_payment"
    REFUND = "refund"
    CORRECTION = "correction"
    REVERSAL = "reversal"  # 冲正: the exact negation of an earlier journal
    # reconciliation and clearing (issue 12)
    SETTLEMENT = "settlement"  # a channel's day paid into the collection account, fee netted
    CLEARING = "clearing"  # the collection account cleared to the treasury / special account
    # the cash office (shifts)
    CASH_DIFFERENCE = "cash_difference"  # a settled shift's 长款/短款
    CASH_DEPOSIT = "cash_deposit"  # a deposit slip: drawer → in transit
    DEPOSIT_CREDITED = "deposit_credited"  # the bank statement shows it: in transit → collection
    # the reconciliation workbench's actions (issue 12)
    WRITE_OFF = "write_off"  # a reconciliation difference written off (核销)
    EXCEPTION_REFUND = "exception_refund"  # money the channel holds for nobody, owed back
    REFUND_TRANSFER = "refund_transfer"  # a transfer refund left the collection account


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount_fen: int  # debit > 0, credit < 0


@dataclass(frozen=True, slots=True)
class Journal:
    kind: JournalKind
    ref: str  # the business reference (order no, refund no)
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise UnbalancedJournal("分录至少需要两行")
        if sum(p.amount_fen for p in self.postings) != 0:
            raise UnbalancedJournal(f"分录 {self.ref} 借贷不平")
        if any(p.amount_fen == 0 for p in self.postings):
            raise UnbalancedJournal(f"分录 {self.ref} 含零金额行")


def channel_receivable(channel: str) -> str:
    return f"channel_receivable:{channel}"


def treasury_payable(level: BudgetLevel) -> str:
    return f"treasury_payable:{level}"


SPECIAL_ACCOUNT = "special_account"
REFUNDS_PAYABLE = "refunds_payable"
SUSPENSE = "suspense"
CASH_IN_DRAWER = "channel_receivable:cash"
CASH_IN_TRANSIT = "cash_in_transit"
CASH_OVER_SHORT = "cash_over_short"
COLLECTION = "collection"
WRITE_OFF_INCOME = "write_off_income"
WRITE_OFF_LOSS = "write_off_loss"


@dataclass(frozen=True, slots=True)
class Share:
    """One slice of a payment: where it goes and at which budget level."""

    destination: Destination
    level: BudgetLevel
    amount_fen: int


def payment_journal(ref: str, channel: str, shares: Sequence[Share]) -> Journal:
    total = sum(s.amount_fen for s in shares)
    credits: dict[str, int] = {}
    for share in shares:
        account = (
            SPECIAL_ACCOUNT
            if share.destination is Destination.SPECIAL_ACCOUNT
            else treasury_payable(share.level)
        )
        credits[account] = credits.get(account, 0) + share.amount_fen
    postings = [Posting(channel_receivable(channel), total)]
    postings += [Posting(acc, -amt) for acc, amt in sorted(credits.items()) if amt]
    return Journal(JournalKind.PAYMENT, ref, tuple(postings))


def duplicate_payment_journal(ref: str, channel: str, amount_fen: int) -> Journal:
    """A second payment for a paid payable: the money is owed back to the payer."""
    return Journal(
        JournalKind.DUPLICATE_PAYMENT,
        ref,
        (Posting(channel_receivable(channel), amount_fen), Posting(REFUNDS_PAYABLE, -amount_fen)),
    )


def refund_paid_journal(ref: str, channel: str, amount_fen: int) -> Journal:
    """The channel returned money owed to the payer."""
    return Journal(
        JournalKind.REFUND,
        ref,
        (Posting(REFUNDS_PAYABLE, amount_fen), Posting(channel_receivable(channel), -amount_fen)),
    )


def reversal_journal(original: Journal) -> Journal:
    """冲正: every posting of `original` negated, under the same reference."""
    postings = tuple(Posting(p.account, -p.amount_fen) for p in original.postings)
    return Journal(JournalKind.REVERSAL, original.ref, postings)


def balances(postings: Sequence[Posting]) -> Mapping[str, int]:
    result: dict[str, int] = {}
    for posting in postings:
        result[posting.account] = result.get(posting.account, 0) + posting.amount_fen
    return result


def refund_shares(shares: Sequence[Share], refunded_before: int, amount_fen: int) -> list[Share]:
    """The slices a refund takes back from the payment's shares (`catalogue.refund_slices`).

    Cumulative: each share's part of everything refunded so far minus what the earlier refunds
    already took, by a monotone method, so no slice is ever negative, no share gives back more
    than it received, and refunds adding up to the whole payment give back exactly the shares.
    """
    slices = refund_slices([s.amount_fen for s in shares], refunded_before, amount_fen)
    return [
        Share(s.destination, s.level, part) for s, part in zip(shares, slices, strict=True) if part
    ]


def requested_refund_journal(ref: str, channel: str, shares: Sequence[Share]) -> Journal:
    """A refund of a kept payment: the treasury / special account give back their slices."""
    reversed_payment = payment_journal(ref, channel, shares)
    postings = tuple(Posting(p.account, -p.amount_fen) for p in reversed_payment.postings)
    return Journal(JournalKind.REFUND, ref, postings)


def cash_difference_journal(ref: str, difference_fen: int) -> Journal:
    """长款 (> 0): more cash in the drawer than booked; 短款 (< 0): less."""
    return Journal(
        JournalKind.CASH_DIFFERENCE,
        ref,
        (Posting(CASH_IN_DRAWER, difference_fen), Posting(CASH_OVER_SHORT, -difference_fen)),
    )


def cash_deposit_journal(ref: str, amount_fen: int) -> Journal:
    """The cash of a deposit slip leaves the drawer for the bank."""
    return Journal(
        JournalKind.CASH_DEPOSIT,
        ref,
        (Posting(CASH_IN_TRANSIT, amount_fen), Posting(CASH_IN_DRAWER, -amount_fen)),
    )


def deposit_credited_journal(ref: str, amount_fen: int) -> Journal:
    """The collection account's statement shows the deposit."""
    return Journal(
        JournalKind.DEPOSIT_CREDITED,
        ref,
        (Posting(COLLECTION, amount_fen), Posting(CASH_IN_TRANSIT, -amount_fen)),
    )


def write_off_journal(ref: str, debit: str, credit: str, amount_fen: int) -> Journal:
    """核销: a reconciliation difference booked from one account to another."""
    return Journal(
        JournalKind.WRITE_OFF, ref, (Posting(debit, amount_fen), Posting(credit, -amount_fen))
    )


def exception_refund_journal(ref: str, channel: str, amount_fen: int) -> Journal:
    """Money the channel holds that settles no payable (长款, a repeated line): owed back to the
    payer; the refund's success then pays it out (`refund_paid_journal`)."""
    return Journal(
        JournalKind.EXCEPTION_REFUND,
        ref,
        (Posting(channel_receivable(channel), amount_fen), Posting(REFUNDS_PAYABLE, -amount_fen)),
    )


def refund_transfer_journal(ref: str, channel: str, amount_fen: int) -> Journal:
    """A refund paid by bank transfer (a counter or cash payment's), as the collection account's
    statement shows it: the money left the collection account, not the channel the refund was
    booked against (`requested_refund_journal` credited that channel's receivable)."""
    return Journal(
        JournalKind.REFUND_TRANSFER,
        ref,
        (Posting(channel_receivable(channel), amount_fen), Posting(COLLECTION, -amount_fen)),
    )
