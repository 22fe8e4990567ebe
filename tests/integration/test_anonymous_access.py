"""What a payment code opens without credentials, and how fast: codes are unguessable, every
anonymous surface shows what the pay page shows (the notice too), lookups are throttled per
client address (429 + Retry-After, Chinese page or problem+json), and channel orders are capped
per payable and per address."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from publicpay.api.rate_limits import AnonymousAllowance, AnonymousLimits
from publicpay.domain.codes import make_payment_code, mask_name, parse_payment_code
from tests.conftest import payable_body
from tests.integration.receipt_kit import paid_with_receipt, tight_limits
from tests.support.client import SignedClient
from tests.support.db import counts


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _limits(stack: Any, clock: Clock, **allowance: float) -> Any:
    return tight_limits(stack, AnonymousLimits(AnonymousAllowance(**allowance), clock=clock))


@pytest.fixture
def code(api: SignedClient, payer: dict[str, str]) -> str:
    body = payable_body(payer, remark="车牌 浙A12345 违章处理")
    created = api.post("/api/v1/payables", body)
    assert created.status_code == 201, created.text
    return str(created.json()["payment_code"])


def _unknown(code: str) -> str:
    """A well-formed code (right check digit) that was never issued."""
    parts = parse_payment_code(code)
    serial = (parts.serial + 500_000_000) % 1_000_000_000
    return make_payment_code(parts.region, parts.year, parts.type_code.value, serial)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_consecutive_payables_get_unrelated_codes(api: SignedClient, payer: dict[str, str]) -> None:
    codes = [api.post("/api/v1/payables", payable_body(payer)).json()["payment_code"] for _ in "ab"]
    first, second = (parse_payment_code(c) for c in codes)
    assert (first.region, first.year, first.type_code) == (
        second.region,
        second.year,
        second.type_code,
    )
    assert abs(first.serial - second.serial) > 1_000  # not the next number


def test_walking_unknown_codes_is_throttled_per_address(
    stack: Any, base_url: str, code: str, clock: Clock
) -> None:
    unknown = _unknown(code)
    with _limits(stack, clock, misses_per_hour=3):
        before = counts(stack)
        misses = [httpx.get(f"{base_url}/api/v1/pay/{unknown}").status_code for _ in range(3)]
        assert misses == [404, 404, 404]
        limited = httpx.get(f"{base_url}/api/v1/pay/{code}")  # even a real code now
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["type"] == "urn:publicpay:problem:anonymous_limited"
        assert "查询不存在的缴款码次数过多" in limited.json()["detail"]
        assert int(limited.headers["Retry-After"]) > 0
        for path in (f"/pay/{code}", f"/pay/{code}/notice.pdf"):
            page = httpx.get(base_url + path)
            assert page.status_code == 429
            assert page.headers["content-type"].startswith("text/html")
            assert "查询不存在的缴款码次数过多" in page.text
            assert page.headers["Retry-After"]
        orders = httpx.post(f"{base_url}/api/v1/pay/{code}/orders", json={"channel": "alipay"})
        assert orders.status_code == 429
        assert counts(stack) == before  # nothing was opened
        clock.now += 1201  # one miss back after 20 minutes (3 an hour)
        assert httpx.get(f"{base_url}/api/v1/pay/{code}").status_code == 200


def test_a_mistyped_code_is_refused_by_its_check_digit_without_spending_a_miss(
    stack: Any, base_url: str, code: str, clock: Clock
) -> None:
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    with _limits(stack, clock, misses_per_hour=1):
        for _ in range(3):
            refused = httpx.get(f"{base_url}/api/v1/pay/{mistyped}")
            assert refused.status_code == 422
            assert "校验位" in refused.json()["detail"]
        assert httpx.get(f"{base_url}/api/v1/pay/{code}").status_code == 200


def test_lookups_are_throttled_per_address(
    stack: Any, base_url: str, code: str, clock: Clock
) -> None:
    with _limits(stack, clock, burst=4, rate_per_s=0.5):
        answers = [httpx.get(f"{base_url}/api/v1/pay/{code}").status_code for _ in range(5)]
        assert answers == [200, 200, 200, 200, 429]
        page = httpx.get(f"{base_url}/pay/{code}")
        assert page.status_code == 429
        assert "访问过于频繁" in page.text
        assert page.headers["Retry-After"] == "2"
        clock.now += 2
        assert httpx.get(f"{base_url}/pay/{code}").status_code == 200


def test_the_anonymous_notice_shows_what_the_pay_page_shows(
    base_url: str, code: str, payer: dict[str, str], tmp_path: Path
) -> None:
    page = httpx.get(f"{base_url}/pay/{code}").text
    notice = _pdf_text(httpx.get(f"{base_url}/pay/{code}/notice.pdf").content, tmp_path)
    masked = mask_name(payer["name"])
    assert masked in page
    assert masked in notice
    assert payer["name"] not in notice
    assert payer["id_no"] not in notice
    assert payer["id_no"][:6] + "********" + payer["id_no"][-4:] in notice  # as on the page
    assert "业务单号" not in notice
    assert "浙A12345" not in notice  # the remark is the unit's, not for anyone with the code
    assert code[:4] in notice


def test_the_owning_unit_gets_the_full_notice_and_others_do_not(
    base_url: str,
    api: SignedClient,
    school_api: SignedClient,
    code: str,
    payer: dict[str, str],
    tmp_path: Path,
) -> None:
    full = api.get(f"/pay/{code}/notice.pdf")
    assert full.status_code == 200
    text = _pdf_text(full.content, tmp_path)
    assert payer["name"] in text
    assert "业务单号" in text
    assert "浙A12345" in text
    other = school_api.get(f"/pay/{code}/notice.pdf")
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    forged = httpx.get(
        f"{base_url}/pay/{code}/notice.pdf",
        headers={**api.headers("GET", f"/pay/{code}/notice.pdf", b""), "X-Signature": "0" * 64},
    )
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert b"%PDF" not in forged.content


def test_orders_per_address_are_capped_per_hour(
    stack: Any, base_url: str, code: str, clock: Clock
) -> None:
    url = f"{base_url}/api/v1/pay/{code}/orders"
    with _limits(stack, clock, orders_per_hour=2):
        assert [httpx.post(url, json={"channel": "alipay"}).status_code for _ in "ab"] == [201, 201]
        before = counts(stack)
        refused = httpx.post(url, json={"channel": "wechat"})
        assert refused.status_code == 429
        assert refused.json()["type"] == "urn:publicpay:problem:orders_limited"
        assert "创建支付订单过于频繁" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        assert counts(stack) == before
        aggregate = httpx.post(url, json={"channel": "aggregate"})
        assert aggregate.status_code == 201  # the aggregate code opens no channel order yet


def test_a_payable_keeps_at_most_five_open_orders(stack: Any, base_url: str, code: str) -> None:
    url = f"{base_url}/api/v1/pay/{code}/orders"
    opened = [httpx.post(url, json={"channel": "alipay"}) for _ in range(5)]
    assert [o.status_code for o in opened] == [201] * 5
    before = counts(stack)
    refused = httpx.post(url, json={"channel": "unionpay"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:publicpay:problem:too_many_open_orders"
    assert "未完成的支付订单" in refused.json()["detail"]
    assert counts(stack) == before
    scanned = httpx.post(
        f"{base_url}/emulator/alipay/scan", json={"qr_code": opened[-1].json()["qr_code"]}
    )
    assert scanned.status_code == 200  # the orders already open still pay


@pytest.fixture
def paid_receipt(stack: Any, api: SignedClient, payer: dict[str, str]) -> dict[str, Any]:
    return paid_with_receipt(stack, api, payer)


def test_the_receipt_check_page_is_throttled_per_address(
    stack: Any, base_url: str, paid_receipt: dict[str, Any], clock: Clock
) -> None:
    r = paid_receipt["receipt"]
    query = {
        "code": r["code"], "number": r["number"], "date": paid_receipt["paid_at"][:10],
        "amount": f"{paid_receipt['paid_fen'] / 100:.2f}",
    }  # fmt: skip
    wrong = {**query, "check_code": "000000" if r["check_code"] != "000000" else "111111"}
    with _limits(stack, clock, misses_per_hour=2):
        assert [httpx.get(f"{base_url}/verify", params=wrong).status_code for _ in "ab"] == [
            404,
            404,
        ]
        limited = httpx.get(f"{base_url}/verify", params={**query, "check_code": r["check_code"]})
        assert limited.status_code == 429
        assert "校验码错误次数过多" in limited.text
        assert limited.headers["Retry-After"]


def test_the_aggregate_landing_is_throttled_per_address(
    stack: Any, base_url: str, code: str, clock: Clock
) -> None:
    landing = httpx.post(f"{base_url}/api/v1/pay/{code}/orders", json={"channel": "aggregate"})
    url = landing.json()["qr_code"]
    with _limits(stack, clock, burst=1, rate_per_s=0.1):
        assert httpx.get(url).status_code == 200  # a browser: the wallet chooser
        limited = httpx.get(url)
        assert limited.status_code == 429
        assert "访问过于频繁" in limited.text
        assert limited.headers["Retry-After"] == "10"
