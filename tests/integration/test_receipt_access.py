"""Who may see a receipt's signatures and who may book it (入账): the Public contract's open
signatures lookup stays open for a caller who knows code and number, but enumeration is throttled
and old receipts need the check code; booking needs the check code and audits the real caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.api.rate_limits import LookupLimiter, LookupsLimited
from publicpay.api.routes import receipts as receipt_routes
from tests.integration.receipt_kit import paid_with_receipt
from tests.support.client import SignedClient

SIGNATURE_FIELDS = {
    "signer", "algorithm", "signer_id", "content_b64", "signature_b64", "public_key_pem",
}  # fmt: skip


@pytest.fixture
def receipt(stack: Any, api: SignedClient, payer: dict[str, str]) -> dict[str, Any]:
    return dict(paid_with_receipt(stack, api, payer)["receipt"])


def _url(base_url: str, r: dict[str, Any], tail: str = "signatures") -> str:
    return f"{base_url}/api/v1/receipts/{r['code']}/{r['number']}/{tail}"


def _wrong(check_code: str) -> str:
    return "000000" if check_code != "000000" else "111111"


def _age(stack: Any, r: dict[str, Any], days: int) -> None:
    old = stack.container.clock.now() - timedelta(days=days)
    with stack.container.engines.write.begin() as conn:
        conn.execute(
            update(receipts)
            .where(receipts.c.code == r["code"], receipts.c.number == r["number"])
            .values(issued_at=old)
        )


def test_signatures_answer_anonymously_with_code_and_number_only(
    base_url: str, receipt: dict[str, Any]
) -> None:
    response = httpx.get(_url(base_url, receipt))
    assert response.status_code == 200
    signatures = response.json()["signatures"]
    assert [s["signer"] for s in signatures] == ["unit", "finance"]
    assert all(set(s) == SIGNATURE_FIELDS for s in signatures)


def test_signatures_of_a_receipt_older_than_the_print_window_need_the_check_code(
    stack: Any, base_url: str, api: SignedClient, receipt: dict[str, Any]
) -> None:
    _age(stack, receipt, days=200)
    refused = httpx.get(_url(base_url, receipt))
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:publicpay:problem:receipt_not_found"
    never_issued = httpx.get(_url(base_url, {**receipt, "number": "9999999999"}))
    assert (
        never_issued.json()["detail"].replace("9999999999", receipt["number"])
        == (refused.json()["detail"])
    )  # an old receipt cannot be told from a number never issued
    with_check = httpx.get(_url(base_url, receipt), params={"check_code": receipt["check_code"]})
    assert with_check.status_code == 200
    path = f"/api/v1/receipts/{receipt['code']}/{receipt['number']}/signatures"
    assert api.get(path).status_code == 200  # the receipt's own unit, signed


def test_signatures_with_a_wrong_check_code_are_refused(
    base_url: str, receipt: dict[str, Any]
) -> None:
    wrong = httpx.get(_url(base_url, receipt), params={"check_code": _wrong(receipt["check_code"])})
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "urn:publicpay:problem:receipt_not_found"


def test_walking_numbers_anonymously_is_throttled_per_client(
    base_url: str, receipt: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receipt_routes, "LOOKUPS", LookupLimiter(burst=3, per_minute=1))
    start = int(receipt["number"])
    answers = [
        httpx.get(_url(base_url, {**receipt, "number": f"{n:010d}"})).status_code
        for n in range(start, start + 5)
    ]
    assert answers[:3] == [200, 404, 404]
    assert answers[3:] == [429, 429]
    limited = httpx.get(_url(base_url, receipt))
    assert limited.status_code == 429
    assert limited.json()["type"] == "urn:publicpay:problem:receipt_lookups_limited"
    assert "校验码" in limited.json()["detail"]
    proven = httpx.get(_url(base_url, receipt), params={"check_code": receipt["check_code"]})
    assert proven.status_code == 200  # the check code is never throttled


def test_lookup_allowance_refills_over_time() -> None:
    now = [0.0]
    limiter = LookupLimiter(burst=2, per_minute=60, clock=lambda: now[0])
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(LookupsLimited, match="过于频繁"):
        limiter.take("a")
    limiter.take("b")  # another client has its own allowance
    now[0] += 1.0
    limiter.take("a")


def test_booking_without_the_check_code_is_refused(
    api: SignedClient, receipt: dict[str, Any]
) -> None:
    path = f"/api/v1/receipts/{receipt['code']}/{receipt['number']}/booking"
    missing = api.post(path, {"booked_by": "某单位财务系统"})
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "check_code" in missing.json()["errors"]
    wrong = api.post(path, {"check_code": _wrong(receipt["check_code"])})
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "urn:publicpay:problem:receipt_not_found"
    booked = api.post(path, {"check_code": receipt["check_code"]})
    assert booked.status_code == 200  # nothing was booked by the refused attempts


def test_booking_audits_the_calling_client_not_the_stated_name(
    stack: Any, school_api: SignedClient, receipt: dict[str, Any]
) -> None:
    path = f"/api/v1/receipts/{receipt['code']}/{receipt['number']}/booking"
    body = {"check_code": receipt["check_code"], "booked_by": "财政局（自称）"}
    booked = school_api.post(path, body)
    assert booked.status_code == 200
    assert booked.json()["booked_client"] == school_api.app_id
    with stack.container.engines.read.connect() as conn:
        [row] = conn.execute(
            select(audit_log).where(
                audit_log.c.action == "receipt.booked",
                audit_log.c.target == f"{receipt['code']}-{receipt['number']}",
            )
        )
    assert row.actor == school_api.app_id
    assert row.detail == {"booked_by": "财政局（自称）"}
