"""The clearing split of a day, columnar (Polars): every reconciled payment split by budget
subject, level and destination exactly to the fen, refunds taken back as the ledger takes
them.

The same results as the per-payment rule (`domain.clearing.payment_parts` and
`services.reconciliation.clearing.PaymentSplitter`, proven equal on random days by a test), in
whole-column arithmetic: a day of a million payments is a few joins and group sums instead of a
million Python splits.

Per payable line (in the payable's order): the late fee (paid − due) goes to the first fine;
per level of its item's split (highest level first): fixed amounts first, each at most what is
left, then the rest by weight rounded down, every fen the rounding leaves to the lowest level;
zero parts are dropped. A refund takes back from its payment's parts what the ledger's refund
journal took (`catalogue.refund_slices`, cumulative over the payable's earlier refunds): that
rule is run per refund on its payment's parts (cached per distinct parts, refunded before and
amount; a day's refunds are a small share of its payments), the rest stays columnar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, overload

import polars as pl

from publicpay.domain.catalogue import BudgetLevel, Destination, FeeItem, refund_slices
from publicpay.domain.clearing import SPECIAL, ClearingLine, DaySplit
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payables import PayableLine

_LEVELS = {level.value: level for level in BudgetLevel}
_DESTINATIONS = {d.value: d for d in Destination}
_I64 = pl.Int64()


def _shares(items: Mapping[str, FeeItem]) -> pl.DataFrame:
    """One row per item and level of its split, with what the arithmetic needs."""
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "item_code",
            "subject_code",
            "destination",
            "is_fine",
            "level",
            "rank",
            "weight",
            "fixed",
            "fixed_before",
            "fixed_total",
            "total_weight",
            "is_lowest",
        )
    }
    for code, item in items.items():
        ordered = sorted(item.split.shares, key=lambda share: share.level.rank)
        fixed_total = sum(s.fixed_fen for s in ordered if s.fixed_fen is not None)
        total_weight = sum(s.weight for s in ordered if s.fixed_fen is None)
        before = 0
        for share in ordered:
            values = (
                code,
                item.budget_subject,
                item.destination.value,
                item.is_fine,
                share.level.value,
                share.level.rank,
                share.weight,
                share.fixed_fen,
                before,
                fixed_total,
                total_weight,
                share.level is item.split.lowest,
            )
            for key, value in zip(rows, values, strict=True):
                rows[key].append(value)
            before += share.fixed_fen or 0
    int_columns = ("rank", "weight", "fixed", "fixed_before", "fixed_total", "total_weight")
    schema = {k: _I64 if k in int_columns else None for k in rows}
    return pl.DataFrame(rows, schema_overrides={k: v for k, v in schema.items() if v})


def _lines_frame(
    rows: Sequence[Any], lines_of: Mapping[int, Sequence[PayableLine]], first_seq: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per payment or refund `seq`, one row per payable line of each)."""
    seq = range(first_seq, first_seq + len(rows))
    field = attrgetter  # C-level maps over a million rows, not Python loops
    heads = pl.DataFrame(
        {
            "seq": pl.Series(seq, dtype=_I64),
            "payment_code": pl.Series(list(map(field("payment_code"), rows)), dtype=pl.String),
            "unit_name": pl.Series(list(map(field("unit_name"), rows)), dtype=pl.String),
            "paid_fen": pl.Series(list(map(int, map(field("paid_fen"), rows))), dtype=_I64),
        }
    )
    of_row = list(map(lines_of.__getitem__, map(int, map(field("id"), rows))))
    flat = list(chain.from_iterable(of_row))
    body = pl.DataFrame(
        {
            "seq": pl.Series(
                list(chain.from_iterable(map(repeat, seq, map(len, of_row)))), dtype=_I64
            ),
            "item_code": pl.Series(list(map(field("item_code"), flat)), dtype=pl.String),
            "line_amount": pl.Series(list(map(field("amount_fen"), flat)), dtype=_I64),
        }
    )
    return heads, body


def _check(body: pl.DataFrame, heads: pl.DataFrame, items: Mapping[str, FeeItem]) -> None:
    """What `item_amounts` refuses: an unknown item, paid below due, a late fee without fine."""
    unknown = set(body.get_column("item_code").unique().to_list()) - set(items)
    if unknown:
        raise KeyError(sorted(unknown)[0])
    fines = {code for code, item in items.items() if item.is_fine}
    per = body.group_by("seq").agg(
        pl.col("line_amount").sum().alias("base"),
        pl.col("item_code").is_in(list(fines)).any().alias("has_fine"),
    )
    bad = (
        heads.join(per, on="seq", how="left")
        .with_columns(pl.col("base").fill_null(0), pl.col("has_fine").fill_null(value=False))
        .filter(
            (pl.col("paid_fen") < pl.col("base"))
            | ((pl.col("paid_fen") > pl.col("base")) & ~pl.col("has_fine"))
        )
        .sort("seq")
        .head(1)
    )
    if bad.height:
        paid, base = bad.item(0, "paid_fen"), bad.item(0, "base")
        if paid < base:
            raise ValidationFailed(f"实缴金额 {paid} 分小于应缴 {base} 分")
        raise ValidationFailed("加处罚款只适用于罚没项目")


def _parts(heads: pl.DataFrame, body: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """Every nonzero part (seq, pos, rank order) of the payments `heads` with lines `body`."""
    first_fine = pl.col("pos") == pl.col("pos").filter(pl.col("is_fine")).min().over("seq")
    items = shares.select("item_code", "is_fine").unique("item_code")
    lines = (
        body.join(items, on="item_code", how="left")
        .join(heads.select("seq", "paid_fen"), on="seq", how="left")
        .with_columns((pl.col("paid_fen") - pl.col("line_amount").sum().over("seq")).alias("extra"))
        .select(
            "seq",
            "pos",
            "item_code",
            pl.when(first_fine.fill_null(value=False))
            .then(pl.col("line_amount") + pl.col("extra"))
            .otherwise(pl.col("line_amount"))
            .alias("amount"),
        )
    )
    amount = pl.col("amount")
    fixed_part = pl.min_horizontal(
        pl.col("fixed"), pl.max_horizontal(amount - pl.col("fixed_before"), pl.lit(0))
    )
    rest = amount - pl.min_horizontal(pl.col("fixed_total"), amount)
    part = (
        pl.when(pl.col("fixed").is_not_null())
        .then(fixed_part)
        .otherwise(rest * pl.col("weight") // pl.col("total_weight"))
    )
    split = lines.join(shares, on="item_code", how="inner").with_columns(part.alias("part"))
    remainder = amount - pl.col("part").sum().over("seq", "pos")
    return (
        split.with_columns(
            pl.when(pl.col("is_lowest")).then(pl.col("part") + remainder).otherwise(pl.col("part"))
        )
        .filter(pl.col("part") != 0)
        .join(heads.select("seq", "payment_code", "unit_name"), on="seq", how="left")
        .sort("seq", "pos", "rank")
    )


def _taken_back(parts: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    """Each refund (`seq`, `refunded_before`, `refund_fen`) taken back from its payment's parts
    by the ledger's rule (`catalogue.refund_slices`), as negative parts, zeros dropped."""
    with_refund = parts.join(refunds, on="seq", how="inner").sort("seq", "pos", "rank")
    per_refund = with_refund.group_by("seq", maintain_order=True).agg(
        pl.col("part"), pl.col("refunded_before").first(), pl.col("refund_fen").first()
    )
    known: dict[tuple[object, ...], list[int]] = {}
    slices: list[int] = []
    for paid, before, fen in per_refund.select("part", "refunded_before", "refund_fen").iter_rows():
        key = (before, fen, *paid)
        taken = known.get(key)
        if taken is None:
            taken = known[key] = refund_slices(paid, before, fen)
        slices += taken
    taken_back = pl.Series("part", slices, dtype=_I64)
    return with_refund.with_columns(-taken_back).filter(pl.col("part") != 0)


_OUT = ["payment_code", "subject_code", "level", "destination", "part", "unit_name"]


def split_frame(
    paid: Sequence[Any],
    refunded: Sequence[Any],
    lines_of: Mapping[int, Sequence[PayableLine]],
    items: Mapping[str, FeeItem],
) -> pl.DataFrame:
    """The day's clearing lines as columns (payment_code, subject_code, level, destination,
    amount_fen, unit_name): `paid` rows (id, payment_code, unit_name, paid_fen) first, then
    the `refunded` rows' (… refund_kind, refunded_before, refund_fen) taken back; a duplicate
    payment's refund is left out (that payment was never cleared)."""
    shares = _shares(items)
    kept = [r for r in refunded if r.refund_kind != "duplicate"]
    heads, body = (
        pl.concat(frames)
        for frames in zip(
            _lines_frame(paid, lines_of, 0), _lines_frame(kept, lines_of, len(paid)), strict=True
        )
    )
    body = body.with_row_index("pos")  # the payable's line order
    _check(body, heads, items)
    parts = _parts(heads, body, shares)
    refund_rows = pl.DataFrame(
        {
            "seq": pl.Series(range(len(paid), len(paid) + len(kept)), dtype=_I64),
            "refunded_before": pl.Series([int(r.refunded_before) for r in kept], dtype=_I64),
            "refund_fen": pl.Series([int(r.refund_fen) for r in kept], dtype=_I64),
        }
    )
    out = pl.concat(
        [
            parts.filter(pl.col("seq") < len(paid)).select(_OUT),
            _taken_back(parts, refund_rows).select(_OUT),
        ]
    )
    return out.rename({"part": "amount_fen"})


class FrameLines(Sequence[ClearingLine]):
    """A day's clearing lines held as a frame (LINE columns): a million lines without a
    million objects; a `ClearingLine` is made only for the line asked for or iterated."""

    COLUMNS = ("payment_code", "subject_code", "level", "destination", "amount_fen", "unit_name")

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame.select(self.COLUMNS)

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> ClearingLine: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ClearingLine]: ...

    def __getitem__(self, index: int | slice) -> ClearingLine | Sequence[ClearingLine]:
        if isinstance(index, slice):
            return list(_lines(self.frame[index]))
        return next(_lines(self.frame[index : index + 1 if index != -1 else None]))

    def __iter__(self) -> Iterator[ClearingLine]:
        for start in range(0, self.frame.height, 100_000):
            yield from _lines(self.frame.slice(start, 100_000))


def _lines(frame: pl.DataFrame) -> Iterator[ClearingLine]:
    for code, subject, level, destination, fen, unit in frame.iter_rows():
        yield ClearingLine(code, subject, _LEVELS[level], _DESTINATIONS[destination], fen, unit)


def _level_key() -> pl.Expr:
    """`ClearingLine.level_key`: the level, or the special account."""
    return (
        pl.when(pl.col("destination") == Destination.SPECIAL_ACCOUNT.value)
        .then(pl.lit(SPECIAL))
        .otherwise(pl.col("level"))
    )


class ColumnarSplitter:
    """`services.reconciliation.ports.ClearingSplitter`, columnar: its lines stay a frame."""

    def split(
        self,
        paid: Sequence[Any],
        refunded: Sequence[Any],
        lines_of: Mapping[int, Sequence[PayableLine]],
        items: Mapping[str, FeeItem],
    ) -> DaySplit:
        frame = split_frame(paid, refunded, lines_of, items)
        fen = pl.col("amount_fen")
        payments, refunds = frame.select(
            fen.filter(fen > 0).sum().alias("payments"), -fen.filter(fen < 0).sum().alias("refunds")
        ).row(0)
        levels = frame.group_by(_level_key().alias("key")).agg(fen.sum()).filter(fen != 0)
        by_level = dict(sorted(levels.iter_rows()))
        return DaySplit(FrameLines(frame), int(payments), int(refunds), by_level)
