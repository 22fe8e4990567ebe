"""The matching engine: a statement's lines against the platform's orders and refunds, columnar
(Polars joins), so that a million lines match in well under a second.

Classes (domain notes §7, `domain.reconciliation.MatchClass`):
- a payment line: no such order → channel_only; another amount → amount_mismatch; the order
  succeeded → matched, or duplicate when it is a second payment of its payable (or the line
  repeats); the order is not paid at the platform (notification lost) → channel_only;
- a refund line: no such refund → status_mismatch; another amount → amount_mismatch; the refund
  succeeded → matched, otherwise status_mismatch; a counter reversal (冲正) matches a reversed
  order;
- a cart (several payables paid in one channel payment, each settled by an order of its own for
  exactly its amount) is one line naming the cart: its orders are grouped and the line matches
  their sum (the line records the cart's first order);
- platform-only: an order of the channel paid that day (or a refund completed that day) that no
  line of any active statement names → platform_only, or holding when it was paid in the last
  minutes of the day (cut-off: the channel may book it on the next day).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from publicpay.domain.reconciliation import LineKind, MatchClass

ORDER_SCHEMA = pl.Schema(
    {
        "order_id": pl.Int64(),
        "order_no": pl.String(),
        "trade_no": pl.String(),
        "order_amount": pl.Int64(),
        "order_status": pl.String(),
        "paid_day": pl.String(),  # yyyy-mm-dd local, null when unpaid
        "paid_late": pl.Boolean(),  # paid in the cut-off minutes of its day
        "is_duplicate": pl.Boolean(),  # a second payment of its payable
        "elsewhere": pl.Boolean(),  # named by a line of another active statement
    }
)
# optional: paid in a cart, the channel knows the cart's number only (null when absent)
CART_NO = "cart_no"
ORDER_WITH_CART_SCHEMA = pl.Schema({**ORDER_SCHEMA, CART_NO: pl.String()})
REFUND_SCHEMA = pl.Schema(
    {
        "refund_id": pl.Int64(),
        "refund_no": pl.String(),
        "refund_amount": pl.Int64(),
        "refund_status": pl.String(),
        "done_day": pl.String(),
        "refund_elsewhere": pl.Boolean(),
    }
)
PAID = ("succeeded", "reversed")
C = MatchClass


@dataclass(frozen=True)
class Matched:
    """Every line with its class and what it matched; what only the platform has."""

    lines: pl.DataFrame  # LINE_SCHEMA + match_class, order_id, refund_id
    platform_only: pl.DataFrame  # key, order_no, order_id, refund_id, amount_fen, match_class

    def counts(self) -> dict[str, int]:
        both = pl.concat(
            [self.lines.select("match_class"), self.platform_only.select("match_class")]
        )
        return dict(both.group_by("match_class").len().iter_rows())


def _lit(cls: MatchClass) -> pl.Expr:
    return pl.lit(cls.value)


def _hashed(column: str) -> pl.Expr:
    """Joins and distinct checks run on a 64-bit hash of the key (several times faster than on
    text); the text is compared after the join, so a hash collision never makes a match."""
    return pl.col(column).hash(seed=12).alias("_h")


def _by_channel_order(orders: pl.DataFrame, key: str) -> pl.DataFrame:
    """What the channel sees: an order, or a cart (its orders grouped under the cart's number,
    their amounts summed, its first order standing for it)."""
    single = orders.filter(pl.col("cart_no").is_null())
    in_carts = orders.filter(pl.col("cart_no").is_not_null())
    if in_carts.is_empty():
        return single
    first = pl.col("order_id").arg_min()
    grouped = in_carts.group_by("cart_no").agg(
        pl.col("order_id").min(),
        pl.col("order_no").get(first),
        pl.col("trade_no").get(first),
        pl.col("order_amount").sum(),
        pl.col("order_status").get(first),
        pl.col("paid_day").get(first),
        pl.col("paid_late").any(),
        pl.col("is_duplicate").any(),
        pl.col("elsewhere").any(),
    )
    if key == "order_no":
        grouped = grouped.with_columns(pl.col("cart_no").alias("order_no"))
    return pl.concat([single, grouped.select(single.columns)])


def _payments(lines: pl.DataFrame, orders: pl.DataFrame, key: str) -> pl.DataFrame:
    payments = lines.filter(pl.col("kind") == LineKind.PAYMENT.value).with_columns(_hashed(key))
    channel_orders = _by_channel_order(orders, key)
    right = channel_orders.select(_hashed(key), pl.col(key).alias("_key"), *_ORDER_FIELDS)
    joined = payments.join(right, on="_h", how="left")
    found = pl.col("_key") == pl.col(key)
    joined = joined.with_columns(
        pl.when(found).then(pl.col(c)).otherwise(None).alias(c) for c in _ORDER_FIELDS
    )
    cls = (
        pl.when(pl.col("order_id").is_null())
        .then(_lit(C.CHANNEL_ONLY))
        .when(pl.col("order_amount") != pl.col("amount_fen"))
        .then(_lit(C.AMOUNT_MISMATCH))
        .when(pl.col("order_status").is_in(PAID))
        .then(
            pl.when(pl.col("is_duplicate") | ~pl.col("_h").is_first_distinct())
            .then(_lit(C.DUPLICATE))
            .otherwise(_lit(C.MATCHED))
        )
        .otherwise(_lit(C.CHANNEL_ONLY))
    )
    return joined.with_columns(
        cls.alias("match_class"), pl.lit(None, dtype=pl.Int64).alias("refund_id")
    )


_ORDER_FIELDS = ["order_id", "order_amount", "order_status", "is_duplicate"]


def _refunds(lines: pl.DataFrame, orders: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    named = lines.filter(
        (pl.col("kind") == LineKind.REFUND.value) & pl.col("refund_no").is_not_null()
    ).join(refunds, on="refund_no", how="left")
    named = named.with_columns(
        pl.when(pl.col("refund_id").is_null())
        .then(_lit(C.STATUS_MISMATCH))
        .when(pl.col("refund_amount") != pl.col("amount_fen"))
        .then(_lit(C.AMOUNT_MISMATCH))
        .when(pl.col("refund_status") == "succeeded")
        .then(_lit(C.MATCHED))
        .otherwise(_lit(C.STATUS_MISMATCH))
        .alias("match_class"),
        pl.lit(None, dtype=pl.Int64).alias("order_id"),
    )
    reversals = lines.filter(
        (pl.col("kind") == LineKind.REFUND.value) & pl.col("refund_no").is_null()
    )
    # only the orders the reversals name are joined (not a hash table of every order's number)
    named_orders = orders.filter(
        pl.col("trade_no").is_in(reversals.get_column("trade_no").implode())
    )
    reversals = reversals.join(
        named_orders.select("trade_no", "order_id", "order_status"), on="trade_no", how="left"
    )
    reversals = reversals.with_columns(
        pl.when(pl.col("order_status") == "reversed")
        .then(_lit(C.MATCHED))
        .otherwise(_lit(C.STATUS_MISMATCH))
        .alias("match_class"),
        pl.lit(None, dtype=pl.Int64).alias("refund_id"),
    )
    return pl.concat(
        [
            named.select(_OUT),
            reversals.select(_OUT),
        ]
    )


_LINE_COLUMNS = [
    "line_no",
    "kind",
    "order_no",
    "refund_no",
    "trade_no",
    "amount_fen",
    "fee_fen",
    "at",
]
_OUT = [*_LINE_COLUMNS, "match_class", "order_id", "refund_id"]


def match(
    lines: pl.DataFrame,
    orders: pl.DataFrame,
    refunds: pl.DataFrame,
    *,
    day: str,
    key: str = "order_no",
) -> Matched:
    """Match `lines` (LINE_SCHEMA) of business day `day` against the channel's `orders`
    (ORDER_SCHEMA) and `refunds` (REFUND_SCHEMA); `key` is how a line names its order
    (`order_no`, or `trade_no` for the bank counter's serials)."""
    if CART_NO not in orders.columns:
        orders = orders.with_columns(pl.lit(None, dtype=pl.String).alias(CART_NO))
    payments = _payments(lines, orders, key).select(_OUT)
    refund_lines = _refunds(lines, orders, refunds)
    classified = pl.concat([payments, refund_lines]).sort("line_no")
    seen_orders = classified.get_column("order_id").drop_nulls()
    seen_refunds = classified.get_column("refund_id").drop_nulls()
    cart_of = pl.col("cart_no")
    seen_carts = orders.filter(
        cart_of.is_not_null() & pl.col("order_id").is_in(seen_orders.implode())
    ).get_column("cart_no")
    unseen = (
        pl.when(cart_of.is_null())
        .then(~pl.col("order_id").is_in(seen_orders.implode()))
        .otherwise(~cart_of.is_in(seen_carts.implode()) & ~pl.col("elsewhere").any().over(cart_of))
    )
    short_orders = orders.filter(
        pl.col("order_status").is_in(PAID[:1])
        & (pl.col("paid_day") == day)
        & ~pl.col("elsewhere")
        & unseen
    ).select(
        pl.col("order_no").alias("key"),
        "order_no",
        "order_id",
        pl.lit(None, dtype=pl.Int64).alias("refund_id"),
        pl.col("order_amount").alias("amount_fen"),
        pl.when(pl.col("paid_late"))
        .then(_lit(C.HOLDING))
        .otherwise(_lit(C.PLATFORM_ONLY))
        .alias("match_class"),
    )
    short_refunds = refunds.filter(
        (pl.col("refund_status") == "succeeded")
        & (pl.col("done_day") == day)
        & ~pl.col("refund_elsewhere")
        & ~pl.col("refund_id").is_in(seen_refunds.implode())
    ).select(
        pl.col("refund_no").alias("key"),
        pl.lit(None, dtype=pl.String).alias("order_no"),
        pl.lit(None, dtype=pl.Int64).alias("order_id"),
        "refund_id",
        pl.col("refund_amount").alias("amount_fen"),
        _lit(C.PLATFORM_ONLY).alias("match_class"),
    )
    return Matched(classified, pl.concat([short_orders, short_refunds]))
