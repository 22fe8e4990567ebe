"""A bank teller at the counter, speaking the platform's signed bank API over HTTP.

It signs exactly as a bank's system would (HMAC-SHA256 over
`METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(sha256(body))`), with its own code: it is the other
party, not part of the platform. Given the bank's books (`collection.CollectionBank`), it books
every payment and reversal the platform accepted, as the bank's core system does: the bank's
counter statement is made from those books.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx

from publicpay.emulators.bank.collection import CollectionBank, CounterRow


class BankError(Exception):
    """The platform refused a teller operation (problem+json in `problem`)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class BankTeller:
    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret: str,
        *,
        branch: str = "0101",
        teller: str = "T01",
        books: CollectionBank | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.books = books
        self.app_id = app_id
        self.secret = secret
        self.branch = branch
        self.teller = teller

    # ------------------------------------------------------------------ wire level (responses)

    def query(self, payment_code: str) -> httpx.Response:
        return self._send("GET", f"/api/v1/counter/payables/{payment_code}")

    def confirm(
        self,
        payment_code: str,
        amount_fen: int,
        bank_serial: str,
        *,
        paid_at: datetime | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "payment_code": payment_code,
            "bank_serial": bank_serial,
            "amount_fen": amount_fen,
            "branch": self.branch,
            "teller": self.teller,
        }
        if paid_at is not None:
            body["paid_at"] = paid_at.isoformat()
        response = self._send("POST", "/api/v1/counter/payments", body)
        if response.status_code == 200:
            data = response.json()
            self._book(bank_serial, data, amount_fen, paid_at, data.get("status", "paid"))
        return response

    def reverse(self, bank_serial: str, reason: str = "柜员操作失误") -> httpx.Response:
        body = {"bank_serial": bank_serial, "reason": reason}
        response = self._send("POST", "/api/v1/counter/reversals", body)
        if response.status_code == 200:
            data = response.json()
            self._book(bank_serial, data, -int(data["amount_fen"]), None, "reversed")
        return response

    def _book(
        self,
        serial: str,
        answer: dict[str, Any],
        amount_fen: int,
        at: datetime | None,
        status: str,
    ) -> None:
        """The bank's own books: the money the teller took (or gave back) at its own time."""
        if self.books is not None:
            moment = at or datetime.now(UTC)
            code = str(answer.get("payment_code", ""))
            self.books.record_counter(CounterRow(serial, code, amount_fen, moment, status))

    def statement(self, day: date) -> httpx.Response:
        return self._send("GET", f"/api/v1/counter/statements/{day.isoformat()}")

    # ------------------------------------------------------------------ teller level (results)

    def pay(self, payment_code: str) -> dict[str, Any]:
        """Query, collect exactly the amount due, confirm. Raises BankError when refused."""
        found = self._ok(self.query(payment_code))
        if not found["payable"]:
            raise BankError(409, {"detail": found["message"], "status": 409})
        return self._ok(self.confirm(payment_code, found["amount_due_fen"], new_serial()))

    def statement_rows(self, day: date) -> list[list[str]]:
        """The statement as CSV rows (BOM removed), header and footer included."""
        text = self._raise_for(self.statement(day)).content.decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    # ------------------------------------------------------------------ signing and transport

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        digest = hashlib.sha256(body).hexdigest()
        message = "\n".join([method, path, timestamp, nonce, digest])
        signature = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        return {
            "X-App-Id": self.app_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature,
            "Content-Type": "application/json",
        }

    def _send(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            return http.request(
                method, path, content=body, headers=self.headers(method, path, body)
            )

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        data: dict[str, Any] = self._raise_for(response).json()
        return data

    @staticmethod
    def _raise_for(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text}
            raise BankError(response.status_code, problem)
        return response


def new_serial() -> str:
    """A bank serial number: date + random digits, as bank cores tend to make them."""
    return time.strftime("%Y%m%d") + str(secrets.randbelow(10**12)).zfill(12)
