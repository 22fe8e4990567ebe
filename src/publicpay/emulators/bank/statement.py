"""The collecting bank's statement of the collection account (汇缴户对账单), in the CSV layout
PublicPay defines for banks (docs/bank-statement.md). The emulated bank writes it with its own
code, as a bank's core system would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

FIRST = "#PUBLICPAY-COLLECTION-STATEMENT"
HEADER = "serial,booked_at,direction,amount,counterparty,reference"


@dataclass(frozen=True, slots=True)
class Movement:
    serial: str
    booked_at: str  # yyyy-MM-dd HH:mm:ss, Beijing time
    direction: str  # C credit, D debit
    amount_fen: int
    counterparty: str
    reference: str


def _yuan(fen: int) -> str:
    whole, frac = divmod(fen, 100)
    return f"{whole}.{frac:02d}"


def render(account: str, day: date, movements: list[Movement]) -> bytes:
    out = [f"{FIRST},account={account},date={day.isoformat()}", HEADER]
    out += [
        f"{m.serial},{m.booked_at},{m.direction},{_yuan(m.amount_fen)},{m.counterparty},"
        f"{m.reference}"
        for m in movements
    ]
    credits = sum(m.amount_fen for m in movements if m.direction == "C")
    debits = sum(m.amount_fen for m in movements if m.direction == "D")
    out.append(f"#TOTAL,count={len(movements)},credits={_yuan(credits)},debits={_yuan(debits)}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")
