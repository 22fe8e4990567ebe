"""The statement file (对账文件) the emulated UnionPay hands out through 文件传输 (txnType 76).

As in ACP, `fileContent` is base64 of a zip. Real UnionPay zips hold several fixed-width files
whose layout is in UnionPay's merchant documents (not public); this emulator puts ONE plain-text
file in the zip instead, `INN<yyMMdd>ZM_<merId>.txt`, UTF-8, lines ending in `\\n`:

    #UNIONPAY-ACP-STATEMENT|merId=<merId>|settleDate=<yyyyMMdd>
    txnType|txnSubType|orderId|queryId|origQryId|txnTime|traceNo|traceTime|settleDate|txnAmt|respCode
    01|07|P202601030001|202601031010101234567||20260103101010|123456|0103101011|0103|1000|00
    04|00|R202601030001|202601031020201234567|202601031010101234567|20260103102020|...|300|00
    #TOTAL|count=<rows>|payments=<fen>|refunds=<fen>|cancels=<fen>|net=<fen>

One data row per transaction that succeeded on that settlement day: 01 消费 (payment), 04 退货
(refund), 31 消费撤销 (cancel of a succeeded payment; stopping a payment still waiting for the
password moves no money and is not listed). Amounts are integer fen;
`net` = payments - refunds - cancels. The adapter's `parse_statement` reads exactly this.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from publicpay.emulators.unionpay.ledger import Txn

HEADER = (
    "txnType|txnSubType|orderId|queryId|origQryId|txnTime|traceNo|traceTime|settleDate|txnAmt"
    "|respCode"
)


def file_name(mer_id: str, day: date) -> str:
    return f"INN{day:%y%m%d}ZM_{mer_id}.txt"


def _row(txn: Txn) -> str:
    completed, settle_date = txn.completed_at, txn.settle_date
    if completed is None or settle_date is None:
        raise ValueError("only completed transactions are in a statement")
    return "|".join(
        [
            txn.txn_type,
            txn.txn_sub_type,
            txn.order_id,
            txn.query_id,
            txn.orig_query_id,
            txn.txn_time,
            txn.trace_no,
            f"{completed:%m%d%H%M%S}",
            f"{settle_date:%m%d}",
            str(txn.amount_fen),
            "00",
        ]
    )


def _total(txns: list[Txn], txn_type: str) -> int:
    return sum(t.amount_fen for t in txns if t.txn_type == txn_type)


def statement_text(mer_id: str, day: date, txns: list[Txn]) -> str:
    payments, refunds, cancels = _total(txns, "01"), _total(txns, "04"), _total(txns, "31")
    lines = [
        f"#UNIONPAY-ACP-STATEMENT|merId={mer_id}|settleDate={day:%Y%m%d}",
        HEADER,
        *(_row(t) for t in txns),
        f"#TOTAL|count={len(txns)}|payments={payments}|refunds={refunds}|cancels={cancels}"
        f"|net={payments - refunds - cancels}",
    ]
    return "\n".join(lines) + "\n"


def statement_zip(mer_id: str, day: date, txns: list[Txn]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file_name(mer_id, day), statement_text(mer_id, day, txns))
    return buffer.getvalue()
