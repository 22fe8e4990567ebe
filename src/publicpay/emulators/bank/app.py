"""The demo's bank counter: `POST /emulator/bank/pay {"payment_code"}` plays a whole teller
payment (query, collect the amount due, confirm) and answers what the platform answered."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from publicpay.emulators.bank.teller import BankError, BankTeller


class PayIn(BaseModel):
    payment_code: str = Field(min_length=1, max_length=32)


def create_app(teller: BankTeller) -> FastAPI:
    app = FastAPI(title="代收银行柜面模拟器")

    @app.post("/pay")
    def pay(body: PayIn) -> Any:  # sync: runs in a worker thread while it calls the platform
        try:
            return teller.pay(body.payment_code.strip())
        except BankError as exc:
            return JSONResponse(
                exc.problem, status_code=exc.status, media_type="application/problem+json"
            )

    return app
