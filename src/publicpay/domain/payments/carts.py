"""Carts (M4+): a payer pays several payables in one payment. The channel sees one order (the
cart: its number, the total); when it succeeds each payable is settled by an order of its own
for exactly its amount, so the ledger, the receipts and the refunds stay per payable."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from publicpay.domain.errors import Conflict, InvalidTransition, ValidationFailed

MAX_CART = 10  # payables in one payment (a family's fees at a kiosk, a driver's at a window)
CART_PREFIX = "C"
_CART_NO = re.compile(r"^C\d{12}[0-9a-f]{12}$")


class CartStatus(StrEnum):
    PAYING = "paying"
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # expired or cancelled unpaid
    FAILED = "failed"  # the channel refused it, or reported another amount


_TRANSITIONS: Mapping[CartStatus, frozenset[CartStatus]] = {
    CartStatus.PAYING: frozenset({CartStatus.SUCCEEDED, CartStatus.CLOSED, CartStatus.FAILED}),
    CartStatus.CLOSED: frozenset({CartStatus.SUCCEEDED}),  # a late success is real money
    CartStatus.FAILED: frozenset({CartStatus.SUCCEEDED}),
    CartStatus.SUCCEEDED: frozenset(),
}


def is_cart_no(order_no: str) -> bool:
    return bool(_CART_NO.match(order_no))


@dataclass(frozen=True, slots=True)
class CartItem:
    payable_id: int
    amount_fen: int  # what this payable owed when the cart was opened


@dataclass(slots=True)
class Cart:
    id: int
    cart_no: str
    channel: str
    amount_fen: int
    status: CartStatus
    items: list[CartItem] = field(default_factory=list)
    qr_code: str | None = None
    channel_account_id: int | None = None
    channel_trade_no: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    device_id: int | None = None
    site_id: int | None = None

    def mark_succeeded(self, channel_trade_no: str | None, paid_at: datetime | None, *,
                       at: datetime) -> None:  # fmt: skip
        _check(self.status, CartStatus.SUCCEEDED)
        self.status = CartStatus.SUCCEEDED
        self.channel_trade_no = channel_trade_no
        self.paid_at = paid_at or at

    def close(self, *, at: datetime, failed: bool = False) -> None:
        target = CartStatus.FAILED if failed else CartStatus.CLOSED
        _check(self.status, target)
        self.status = target
        self.closed_at = at


def _check(current: CartStatus, target: CartStatus) -> None:
    if target not in _TRANSITIONS[current]:
        raise InvalidTransition(f"合并支付状态 {current} 不能变为 {target}")


class CartMixesAccounts(Conflict):
    code = "cart_mixes_accounts"
    title = "缴款单的收款账户不同，不能合并支付"


def check_cart_codes(codes: Sequence[str]) -> list[str]:
    """The payment codes of a cart: two to MAX_CART, each once."""
    cleaned = [code.strip() for code in codes]
    if not 2 <= len(cleaned) <= MAX_CART:
        raise ValidationFailed(
            f"合并支付须包含 2 至 {MAX_CART} 张缴款单", errors={"payment_codes": str(len(cleaned))}
        )
    if len(set(cleaned)) != len(cleaned):
        raise ValidationFailed("同一张缴款单不能重复加入", errors={"payment_codes": "重复"})
    return cleaned


def check_one_account(accounts: Mapping[str, int | None]) -> None:
    """Every payable of a cart must be collected through the same merchant account (one channel
    order pays into one account); `accounts`: payment code -> its account (None: platform)."""
    if len(set(accounts.values())) > 1:
        raise CartMixesAccounts(
            "所选缴款单分属不同收款账户（不同单位的商户号），请分开支付",
            errors={"payment_codes": "、".join(sorted(accounts))},
        )
