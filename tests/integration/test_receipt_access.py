"""Who may see a receipt's signatures (their content is the signed XML: the payer's name and full
identifier, the check code) and who may book it (入账): without credentials the check code is
required (Public contract addition); the receipt's own unit may omit it in a signed call; wrong
check codes are throttled per caller and per receipt, before the answer is looked at; booking
needs the check code and audits the real caller and its address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.api.rate_limits import AnonymousAllowance, AnonymousLimits
from tests.integration.receipt_kit import paid_with_receipt, tight_limits
from tests.support.client import SignedClient

SIGNATURE_FIELDS = {
    "signer", "algorithm", "signer_id", "content_b64", "signature_b64", "public_key_pem",
}  # fmt: skip


@pytest.fixture
def receipt(stack: Any, api: SignedClient, payer: dict[str, str]) -> dict[str, Any]:
    return dict(paid_with_receipt(stack, api, payer)["receipt"])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(stack: Any) -> Iterator[Clock]:
    """Tight limits for callers without credentials, on a clock the test moves."""
    clock = Clock()
    allowance = AnonymousAllowance(misses_per_hour=3, receipt_failures_per_hour=4)
    with tight_limits(stack, AnonymousLimits(allowance, clock=clock)):
        yield clock


def _path(r: dict[str, Any], tail: str = "signatures") -> str:
    return f"/api/v1/receipts/{r['code']}/{r['number']}/{tail}"


def _wrong(check_code: str) -> str:
    return "000000" if check_code != "000000" else "111111"


def _booked(stack: Any) -> int:
    stmt = select(func.count()).select_from(receipts).where(receipts.c.booked_at.is_not(None))
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_signatures_need_the_check_code_without_credentials(
    base_url: str, receipt: dict[str, Any]
) -> None:
    missing = httpx.get(base_url + _path(receipt))
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    problem = missing.json()
    assert problem["type"] == "urn:publicpay:problem:validation_failed"
    assert problem["title"] == "缺少校验码"
    assert "校验码" in problem["detail"]
    assert "check_code" in problem["errors"]
    assert "content_b64" not in missing.text


def test_signatures_with_the_check_code_answer_anonymously(
    base_url: str, receipt: dict[str, Any]
) -> None:
    response = httpx.get(base_url + _path(receipt), params={"check_code": receipt["check_code"]})
    assert response.status_code == 200
    signatures = response.json()["signatures"]
    assert [s["signer"] for s in signatures] == ["unit", "finance"]
    assert all(set(s) == SIGNATURE_FIELDS for s in signatures)


def test_the_owning_unit_may_omit_the_check_code_and_another_unit_may_not(
    api: SignedClient, school_api: SignedClient, receipt: dict[str, Any]
) -> None:
    assert api.get(_path(receipt)).status_code == 200  # the receipt's own unit, signed
    other = school_api.get(_path(receipt))
    assert other.status_code == 422
    assert "check_code" in other.json()["errors"]
    wrong = school_api.get(_path(receipt) + f"?check_code={_wrong(receipt['check_code'])}")
    assert wrong.status_code == 404
    right = school_api.get(_path(receipt) + f"?check_code={receipt['check_code']}")
    assert right.status_code == 200


def test_a_wrong_check_code_answers_like_a_number_never_issued(
    base_url: str, receipt: dict[str, Any]
) -> None:
    wrong = httpx.get(
        base_url + _path(receipt), params={"check_code": _wrong(receipt["check_code"])}
    )
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "urn:publicpay:problem:receipt_not_found"
    never = {**receipt, "number": "9999999999"}
    unknown = httpx.get(base_url + _path(never), params={"check_code": receipt["check_code"]})
    assert (
        unknown.json()["detail"].replace("9999999999", receipt["number"])
        == (wrong.json()["detail"])
    )


def test_wrong_check_codes_are_throttled_per_address_before_the_answer(
    base_url: str, receipt: dict[str, Any], clock: Clock
) -> None:
    url = base_url + _path(receipt)
    wrong = {"check_code": _wrong(receipt["check_code"])}
    assert [httpx.get(url, params=wrong).status_code for _ in range(3)] == [404, 404, 404]
    limited = httpx.get(url, params={"check_code": receipt["check_code"]})
    assert limited.status_code == 429  # the right code too: guessing gets no answer
    assert limited.json()["type"] == "urn:publicpay:problem:receipt_lookups_limited"
    assert "校验码错误次数过多" in limited.json()["detail"]
    assert int(limited.headers["Retry-After"]) > 0
    for tail in ("xml", "pdf"):  # every document behind the check code counts alike
        assert httpx.get(base_url + _path(receipt, tail), params=wrong).status_code == 429
    clock.now += 1201  # one attempt back after 20 minutes (3 an hour)
    right = httpx.get(url, params={"check_code": receipt["check_code"]})
    assert right.status_code == 200  # a right code spends nothing


def test_wrong_check_codes_are_throttled_per_receipt_whoever_tries(
    base_url: str, school_api: SignedClient, receipt: dict[str, Any], clock: Clock
) -> None:
    booking = _path(receipt, "booking")
    wrong = _wrong(receipt["check_code"])
    for _ in range(2):  # an anonymous caller …
        assert httpx.get(base_url + _path(receipt), params={"check_code": wrong}).status_code == 404
    for _ in range(2):  # … and a signed system share the receipt's four attempts
        assert school_api.post(booking, {"check_code": wrong}).status_code == 404
    refused = school_api.post(booking, {"check_code": receipt["check_code"]})
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:publicpay:problem:receipt_lookups_limited"
    assert refused.headers["Retry-After"]
    with_right_code = school_api.get(_path(receipt) + f"?check_code={receipt['check_code']}")
    assert with_right_code.status_code == 429
    clock.now += 901  # 4 an hour: one back after 15 minutes
    assert school_api.post(booking, {"check_code": receipt["check_code"]}).status_code == 200


def test_booking_without_the_check_code_is_refused_and_books_nothing(
    stack: Any, api: SignedClient, receipt: dict[str, Any]
) -> None:
    path = _path(receipt, "booking")
    before = _booked(stack)
    missing = api.post(path, {"booked_by": "某单位财务系统"})
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "check_code" in missing.json()["errors"]
    wrong = api.post(path, {"check_code": _wrong(receipt["check_code"])})
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "urn:publicpay:problem:receipt_not_found"
    assert _booked(stack) == before
    booked = api.post(path, {"check_code": receipt["check_code"]})
    assert booked.status_code == 200


def test_booking_audits_the_calling_client_and_its_address(
    stack: Any, school_api: SignedClient, receipt: dict[str, Any]
) -> None:
    path = _path(receipt, "booking")
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
    assert row.detail == {"booked_by": "财政局（自称）", "address": "127.0.0.1"}
