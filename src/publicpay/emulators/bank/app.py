"""The demo's collecting bank, mounted at /emulator/bank:

- `POST /pay {"payment_code"}` plays a whole teller payment (query, collect the amount due,
  confirm) and answers what the platform answered;
- `GET /statements/counter/{yyyy-mm-dd}` and `GET /statements/collection/{yyyy-mm-dd}`: the
  day's counter statement and collection-account statement, for the platform only (signed
  request, `signing.py`); 404 `{"code": "NOT_PUBLISHED"}` while the day is not published;
- what people do at the bank: `POST /deposits {"deposit_no", "amount_fen", "depositor"}` (a
  cashier hands in cash with the deposit slip), `POST /transfers {"reference", "amount_fen",
  "payee"}` (finance pays a refund out of the account), `POST /credits {"amount_fen",
  "counterparty", "reference"}` (someone wires money in);
- `POST /faults {"mode": "unpublished" | "published"}`: hold back every statement (or not).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from publicpay.emulators.bank.collection import CollectionBank, NotPublished
from publicpay.emulators.bank.signing import verify
from publicpay.emulators.bank.teller import BankError, BankTeller


class PayIn(BaseModel):
    payment_code: str = Field(min_length=1, max_length=32)


class DepositIn(BaseModel):
    deposit_no: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(gt=0)
    depositor: str = Field(default="现金解款", max_length=60)


class TransferIn(BaseModel):
    reference: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(gt=0)
    payee: str = Field(default="收款人", max_length=60)


class CreditIn(BaseModel):
    amount_fen: int = Field(gt=0)
    counterparty: str = Field(default="汇款人", max_length=60)
    reference: str = Field(default="汇款", max_length=64)


class FaultIn(BaseModel):
    mode: str = "published"  # published | unpublished


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)


def create_app(teller: BankTeller | None, books: CollectionBank, secret: str) -> FastAPI:
    app = FastAPI(title="代收银行模拟器")

    @app.post("/pay")
    def pay(body: PayIn) -> Any:  # sync: runs in a worker thread while it calls the platform
        if teller is None:
            return _problem(503, "NO_TELLER", "柜面未开通")
        try:
            return teller.pay(body.payment_code.strip())
        except BankError as exc:
            return JSONResponse(
                exc.problem, status_code=exc.status, media_type="application/problem+json"
            )

    @app.get("/statements/{kind}/{day}")
    def statement(kind: str, day: str, request: Request) -> Response:
        path = f"/statements/{kind}/{day}"
        refused = verify(secret, books.account, "GET", path, request.headers)
        if refused:
            return _problem(401, "SIGN_ERROR", refused)
        try:
            on = date.fromisoformat(day)
        except ValueError:
            return _problem(400, "INVALID_DATE", "日期格式应为 yyyy-mm-dd")
        try:
            if kind == "counter":
                content, name = books.counter_statement(on), f"counter_{on.isoformat()}.csv"
            elif kind == "collection":
                content, name = books.collection_statement(on), f"{books.account}_{on}.csv"
            else:
                return _problem(404, "NOT_FOUND", "没有这种对账单")
        except NotPublished as exc:
            return _problem(404, "NOT_PUBLISHED", str(exc))
        return Response(
            content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.post("/deposits")
    def deposit(body: DepositIn) -> dict[str, Any]:
        booked = books.deposit(body.deposit_no, body.amount_fen, body.depositor)
        return {"reference": booked.reference, "amount_fen": booked.amount_fen}

    @app.post("/transfers")
    def transfer(body: TransferIn) -> dict[str, Any]:
        booked = books.transfer_out(body.reference, body.amount_fen, body.payee)
        return {"reference": booked.reference, "amount_fen": booked.amount_fen}

    @app.post("/credits")
    def credit(body: CreditIn) -> dict[str, Any]:
        booked = books.credit(body.amount_fen, body.counterparty, body.reference)
        return {"reference": booked.reference, "amount_fen": booked.amount_fen}

    @app.post("/faults")
    def faults(fault: FaultIn) -> dict[str, str]:
        books.unpublished = fault.mode == "unpublished"
        return {"mode": "unpublished" if books.unpublished else "published"}

    return app
