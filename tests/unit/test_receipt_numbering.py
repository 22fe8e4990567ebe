from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.errors import DomainError
from publicpay.domain.receipts.receipts import (
    NumberRange,
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
    ReceiptStockExhausted,
    can_print,
    is_reprint,
    new_check_code,
    print_mark,
    receipt_code,
)

ISSUED = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_receipt_code_is_region_category_kind_and_two_digit_year() -> None:
    assert receipt_code("32", "01", "01", 2026) == "32010126"
    assert receipt_code("44", "06", "01", 2020) == "44060120"


@pytest.mark.parametrize(
    ("region", "category", "kind", "year"),
    [
        ("3", "01", "01", 2026),
        ("32", "1a", "01", 2026),
        ("32", "01", "011", 2026),
        ("32", "01", "01", 1999),
    ],
)
def test_receipt_code_refuses_malformed_parts(
    region: str, category: str, kind: str, year: int
) -> None:
    with pytest.raises(ValueError, match=r"must be 2 digits|year"):
        receipt_code(region, category, kind, year)


def test_number_range_draws_sequential_zero_padded_numbers() -> None:
    stock = NumberRange("32010126", start=1, end=1000)
    assert [stock.draw() for _ in range(3)] == ["0000000001", "0000000002", "0000000003"]
    assert stock.next == 4
    assert stock.remaining == 997


def test_number_range_resumes_from_stored_next() -> None:
    stock = NumberRange("32010126", start=13933900, end=13933999, next=13933922)
    assert stock.draw() == "0013933922"


def test_exhausted_range_raises_domain_error_and_stays_exhausted() -> None:
    stock = NumberRange("32010126", start=9_999_999_998, end=9_999_999_999)
    assert stock.draw() == "9999999998"
    assert stock.draw() == "9999999999"
    assert stock.exhausted
    with pytest.raises(ReceiptStockExhausted) as caught:
        stock.draw()
    assert isinstance(caught.value, DomainError)
    assert caught.value.code == "receipt_stock_exhausted"
    assert caught.value.title == "票据号段已用完"
    assert "32010126" in caught.value.detail
    with pytest.raises(ReceiptStockExhausted):
        stock.draw()
    assert stock.next == 10_000_000_000


@given(start=st.integers(0, 9_999_999_000), size=st.integers(1, 200))
def test_a_range_hands_out_each_number_exactly_once(start: int, size: int) -> None:
    stock = NumberRange("32010126", start=start, end=start + size - 1)
    drawn = [stock.draw() for _ in range(size)]
    assert drawn == [f"{n:010d}" for n in range(start, start + size)]
    assert len(set(drawn)) == size
    with pytest.raises(ReceiptStockExhausted):
        stock.draw()


@pytest.mark.parametrize(
    ("start", "end", "next_"),
    [(10, 9, 10), (-1, 5, 0), (0, 10_000_000_000, 0), (5, 10, 4), (5, 10, 12)],
)
def test_number_range_refuses_inconsistent_bounds(start: int, end: int, next_: int) -> None:
    with pytest.raises(ValueError, match=r"range|outside"):
        NumberRange("32010126", start=start, end=end, next=next_)


def test_number_range_refuses_malformed_code() -> None:
    with pytest.raises(ValueError, match="8 digits"):
        NumberRange("3201012", start=1, end=2)


def test_check_code_is_six_digits_and_reproducible_with_a_seeded_rng() -> None:
    first = new_check_code(random.Random(7))
    assert first == new_check_code(random.Random(7))
    assert len(first) == 6
    assert first.isdigit()
    codes = {new_check_code() for _ in range(50)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 40


def test_printing_is_allowed_for_183_days_after_issue() -> None:
    assert can_print(ISSUED, ISSUED)
    assert can_print(ISSUED, ISSUED + timedelta(days=183))
    assert not can_print(ISSUED, ISSUED + timedelta(days=183, seconds=1))
    assert not can_print(ISSUED, ISSUED - timedelta(seconds=1))
    assert can_print(ISSUED, ISSUED + timedelta(days=300), window_days=365)


def test_print_window_needs_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        can_print(ISSUED.replace(tzinfo=None), ISSUED)


def test_first_print_is_the_original_and_later_ones_are_marked_reprints() -> None:
    assert not is_reprint(0)
    assert print_mark(0) == ""
    assert is_reprint(1)
    assert print_mark(1) == "重复打印"
    assert print_mark(5) == "重复打印"
    with pytest.raises(ValueError, match=">= 0"):
        print_mark(-1)


def test_statuses_and_kinds_have_chinese_labels() -> None:
    assert ReceiptStatus("reversed") is ReceiptStatus.REVERSED
    assert ReceiptStatus.REVERSED.label == "已红冲"
    assert ReceiptStatus.ISSUED.label == "已开具"
    assert ReceiptKind.RED.label == "红字票据"


def _face(**changes: object) -> ReceiptFace:
    values: dict[str, object] = {
        "code": "32010126",
        "number": "0000000001",
        "check_code": "235456",
        "issued_at": ISSUED,
        "payer_name": "张三",
        "payer_code": "11010519491231002X",
        "unit_name": "如皋市自然资源和规划局",
        "unit_code": "12320900E875065319",
        "lines": (ReceiptLine("103043211", "不动产登记费", "件", 1, 8000, 8000),),
        "total_fen": 8000,
        "total_in_words": "捌拾元整",
        "payee": "李四",
        "checker": "王五",
        "payment_code": "32068226010000000170",
        "channel_name": "支付宝",
        "verify_url": "https://pay.example.gov.cn/v",
    }
    values.update(changes)
    return ReceiptFace(**values)  # type: ignore[arg-type]


def test_receipt_face_defaults_to_the_national_title_and_normal_kind() -> None:
    face = _face()
    assert face.title == "非税收入统一票据（电子）"
    assert not face.is_red


def test_receipt_face_total_must_match_lines() -> None:
    with pytest.raises(ValueError, match="sum of the line amounts"):
        _face(total_fen=8001)


def test_red_receipt_must_name_the_original_and_carry_a_negative_total() -> None:
    red_line = (ReceiptLine("103043211", "不动产登记费", "件", 1, 8000, -8000),)
    red = _face(
        kind=ReceiptKind.RED,
        lines=red_line,
        total_fen=-8000,
        original_code="32010126",
        original_number="0000000001",
    )
    assert red.is_red
    with pytest.raises(ValueError, match="original"):
        _face(kind=ReceiptKind.RED, lines=red_line, total_fen=-8000)
    with pytest.raises(ValueError, match="only a red receipt"):
        _face(original_code="32010126", original_number="0000000001")


@pytest.mark.parametrize(
    ("field", "value"),
    [("number", "123"), ("check_code", "12345"), ("code", "ABCDEFGH"), ("payer_type", "alien")],
)
def test_receipt_face_refuses_malformed_identifiers(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=r"digits|payer_type"):
        _face(**{field: value})
