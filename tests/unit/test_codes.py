import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.catalogue import Category
from publicpay.domain.codes import (
    CREDIT_CODE_CATEGORIES,
    PayableType,
    PaymentCodeParts,
    citizen_id_check_char,
    credit_code_check_char,
    damm_check_digit,
    is_valid_citizen_id,
    is_valid_credit_code,
    is_valid_payment_code,
    make_payment_code,
    mask_id,
    mask_name,
    mask_phone,
    normalise_citizen_id,
    organisation_code_check_char,
    parse_payment_code,
)
from publicpay.domain.errors import ValidationFailed

TODAY = dt.date(2026, 5, 20)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46]
PROVINCES += [50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]

# ---------------------------------------------------------------- payment codes

payment_codes = st.builds(
    make_payment_code,
    region=st.sampled_from(["320682", "110105", "440524", "330106", "650102"]),
    year=st.integers(2000, 2099),
    type_code=st.sampled_from(list(PayableType)),
    serial=st.integers(0, 999_999_999),
)


def single_substitutions(code: str) -> list[str]:
    return [
        code[:i] + digit + code[i + 1 :]
        for i in range(len(code))
        for digit in "0123456789"
        if digit != code[i]
    ]


def adjacent_transpositions(code: str) -> list[str]:
    return [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(code) - 1)
        if code[i] != code[i + 1]
    ]


def test_payment_code_has_region_year_type_serial_and_check_digit() -> None:
    code = make_payment_code("320682", 2026, "01", 17)
    assert code == "32068226010000000178"
    assert parse_payment_code(code) == PaymentCodeParts("320682", 26, PayableType.ADMIN_FEE, 17)
    assert parse_payment_code(code).year == 2026


def test_damm_check_digit_matches_the_published_example() -> None:
    assert damm_check_digit("572") == "4"


def test_payment_code_accepts_grouped_digits_with_spaces() -> None:
    assert is_valid_payment_code(" 3206 8226 0100 0000 0178 ")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("3206822601000000017", "缴款码应为20位数字"),
        ("320682260100000001780", "缴款码应为20位数字"),
        ("3206822601000000017A", "缴款码应为20位数字"),
        ("３２０６８２２６０１００００００１７８", "缴款码应为20位数字"),
        ("", "缴款码应为20位数字"),
        ("32068226010000000179", "缴款码校验位错误，请核对后重新输入"),
        ("32068226100000000178", "缴款码校验位错误，请核对后重新输入"),
    ],
)
def test_bad_payment_code_is_refused_with_a_chinese_message(code: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_payment_code(code)
    assert caught.value.detail == message
    assert caught.value.errors == {"payment_code": message}
    assert not is_valid_payment_code(code)


def test_payment_code_with_unknown_type_or_region_is_refused_even_with_good_check_digit() -> None:
    unknown_type = "3206822607000000017"
    no_province = "0006822601000000017"
    for body in (unknown_type, no_province):
        with pytest.raises(ValidationFailed) as caught:
            parse_payment_code(body + damm_check_digit(body))
        assert caught.value.detail == "缴款码无效"


@pytest.mark.parametrize(
    ("region", "year", "type_code", "serial"),
    [
        ("32068", 2026, "01", 1),
        ("3206821", 2026, "01", 1),
        ("990682", 2026, "01", 1),
        ("320682", 1999, "01", 1),
        ("320682", 2100, "01", 1),
        ("320682", 2026, "07", 1),
        ("320682", 2026, "01", -1),
        ("320682", 2026, "01", 1_000_000_000),
    ],
)
def test_make_payment_code_rejects_bad_arguments(
    region: str, year: int, type_code: str, serial: int
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        make_payment_code(region, year, type_code, serial)


def test_damm_catches_every_substitution_and_adjacent_transposition_from_any_state() -> None:
    # Exhaustive proof for codes of any length: prefix x reaches every interim state (the first
    # row is a permutation); a change of one digit or a swap of two neighbours always leaves a
    # different state, and equal-column steps keep different states different (columns are
    # permutations), so the final state cannot be 0 again. Also covers the check digit itself.
    digits = "0123456789"
    assert sorted(damm_check_digit(x) for x in digits) == list(digits)
    for d in digits:
        assert sorted(damm_check_digit(x + d) for x in digits) == list(digits)
    for x in digits:
        assert sorted(damm_check_digit(x + a) for a in digits) == list(digits)
        for a in digits:
            for b in digits:
                if a != b:
                    assert damm_check_digit(x + a + b) != damm_check_digit(x + b + a)


def test_random_payment_codes_detect_every_substitution_and_adjacent_transposition() -> None:
    rng = random.Random(20260520)
    for _ in range(1000):
        region = f"{rng.choice(PROVINCES)}{rng.randrange(10_000):04d}"
        code = make_payment_code(
            region, rng.randrange(2000, 2100), rng.choice(list(PayableType)), rng.randrange(10**9)
        )
        assert damm_check_digit(code) == "0"
        for changed in single_substitutions(code) + adjacent_transpositions(code):
            assert damm_check_digit(changed) != "0", (code, changed)


def mod_11_10_check_digit(digits: str) -> str:
    """ISO 7064 MOD 11,10, only to document why the payment code does not use it."""
    product = 10
    for char in digits:
        product = (2 * ((product + int(char)) % 10 or 10)) % 11
    return str((11 - product) % 10)


def test_mod_11_10_would_miss_adjacent_transpositions_that_damm_catches() -> None:
    assert mod_11_10_check_digit("79462") == "3"  # published examples: 794623, 002006673085
    assert mod_11_10_check_digit("00200667308") == "5"
    body, swapped = "56" + "0" * 17, "65" + "0" * 17
    assert mod_11_10_check_digit(body) == mod_11_10_check_digit(swapped)
    assert damm_check_digit(body) != damm_check_digit(swapped)


@given(payment_codes)
def test_generated_payment_codes_validate_and_parse_back(code: str) -> None:
    parts = parse_payment_code(code)
    assert make_payment_code(parts.region, parts.year, parts.type_code, parts.serial) == code


@given(payment_codes, st.data())
def test_any_single_substitution_or_adjacent_transposition_is_detected(
    code: str, data: st.DataObject
) -> None:
    changed = data.draw(st.sampled_from(single_substitutions(code) + adjacent_transpositions(code)))
    assert not is_valid_payment_code(changed)


def test_payable_types_cover_every_catalogue_category_with_chinese_labels() -> None:
    assert {PayableType.for_category(c) for c in Category} == set(PayableType)
    for category in Category:
        assert PayableType.for_category(category).label == category.label
    assert PayableType("02").label == "罚没收入"


# ---------------------------------------------------------------- GB 11643 citizen IDs


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    district = draw(st.integers(0, 9999))
    born = draw(st.dates(dt.date(1800, 1, 1), TODAY))
    sequence = draw(st.integers(0, 999))
    body = f"{province}{district:04d}{born:%Y%m%d}{sequence:03d}"
    return body + citizen_id_check_char(body)


@pytest.mark.parametrize(
    "id_no",
    [
        "11010519491231002X",
        "440524188001010014",  # born 1880: the standard's example, so 1800+ is allowed
        "320682199312291883",
        "11010519491231002x",
        "  11010519491231002X\n",
        "810000199001010019",  # 港澳台居民居住证 prefixes 81/82/83
        "830000199001010012",
    ],
)
def test_valid_citizen_ids_are_accepted(id_no: str) -> None:
    assert is_valid_citizen_id(id_no, today=TODAY)


@pytest.mark.parametrize(
    "id_no",
    [
        "11010519491231002",  # 17 characters
        "11010519491231002X0",
        "110105194912310021",  # wrong check character
        "1101051949123100X2",  # X in the body
        "11010519491231 02X",
        "11010519491231002Y",
        "110105 19491231002X",
        "",
        "990105194912310023",  # no such province
        "00100519491231002X",
        "110105179912310024",  # born 1799
        "110105202605210018",  # born tomorrow
        "110105199302300011",  # 30 February
        "11010519931301001X",  # month 13
        "１１０１０５１９４９１２３１００２X",  # full-width digits
    ],
)
def test_invalid_citizen_ids_are_refused(id_no: str) -> None:
    assert not is_valid_citizen_id(id_no, today=TODAY)


def test_invalid_test_ids_fail_only_for_the_stated_reason() -> None:
    # The date and province cases above carry a correct check character: only that rule refuses.
    refused = ["110105179912310024", "110105202605210018", "110105199302300011"]
    refused += ["11010519931301001X", "990105194912310023", "00100519491231002X"]
    for id_no in refused:
        assert citizen_id_check_char(id_no[:17]) == id_no[17]
    assert is_valid_citizen_id("110105202605200012", today=TODAY)  # born today
    assert citizen_id_check_char("81000019900101001") == "9"


def test_citizen_id_check_char_and_normalising() -> None:
    assert citizen_id_check_char("11010519491231002") == "X"
    assert citizen_id_check_char("44052418800101001") == "4"
    assert normalise_citizen_id(" 11010519491231002x ") == "11010519491231002X"
    with pytest.raises(ValueError, match="17 digits"):
        citizen_id_check_char("1101051949123100X")


def test_citizen_id_defaults_to_todays_date_in_china() -> None:
    assert is_valid_citizen_id("11010519491231002X")
    assert not is_valid_citizen_id("110105209912310010")


@given(citizen_ids())
def test_generated_citizen_ids_validate_and_a_changed_check_char_fails(id_no: str) -> None:
    assert is_valid_citizen_id(id_no, today=TODAY)
    for other in "0123456789X":
        if other != id_no[17]:
            assert not is_valid_citizen_id(id_no[:17] + other, today=TODAY)


# ---------------------------------------------------------------- GB 32100 credit codes


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    department = draw(st.sampled_from(sorted(CREDIT_CODE_CATEGORIES)))
    category = draw(st.sampled_from(sorted(CREDIT_CODE_CATEGORIES[department])))
    region = f"{draw(st.integers(100000, 999999))}"
    org_body = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    first17 = department + category + region + org_body + organisation_code_check_char(org_body)
    return first17 + credit_code_check_char(first17)


@pytest.mark.parametrize(
    "code",
    [
        "12320900E875065319",
        "91330681MA7F19UC27",
        "913210005691135521",
        "91350100M000100Y43",
        "N2320682MA1K2L3P96",  # 农业 department: python-stdnum rejects these, we must not
        "A1110000MB0123A55P",
        "Y1330100MC7Q8R9T2T",
        " 91330681ma7f19uc27 ",
    ],
)
def test_valid_credit_codes_are_accepted(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "12320900E875065318",  # wrong MOD 31 check
        "12320900E87506531",  # 17 characters
        "12320900E8750653190",
        "12320900I875065319",  # I is not in the alphabet
        "",
    ],
)
def test_invalid_credit_codes_are_refused(code: str) -> None:
    assert not is_valid_credit_code(code)


def with_credit_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def test_credit_code_with_unknown_department_or_category_is_refused() -> None:
    assert is_valid_credit_code(with_credit_check("11320900E87506531"))
    for prefix in ("94", "14", "B1", "Y2", "N4", "02"):
        assert not is_valid_credit_code(with_credit_check(prefix + "320900E87506531"))


def test_credit_code_with_bad_embedded_organisation_check_is_refused() -> None:
    assert organisation_code_check_char("E8750653") == "1"
    assert not is_valid_credit_code(with_credit_check("12320900E87506532"))


def test_credit_code_with_letters_in_the_region_is_refused() -> None:
    assert not is_valid_credit_code(with_credit_check("1232090AE87506531"))


def test_credit_code_check_char() -> None:
    assert credit_code_check_char("12320900E87506531") == "9"
    assert credit_code_check_char("91350100M000100Y4") == "3"
    with pytest.raises(ValueError, match="alphabet"):
        credit_code_check_char("12320900O87506531")


def test_organisation_code_check_maps_10_to_x_and_11_to_0() -> None:
    checks = {organisation_code_check_char(f"{n:08d}") for n in range(0, 3000, 7)}
    assert {"X", "0"} <= checks
    assert checks <= set("0123456789X")


@given(credit_codes(), st.sampled_from(USCC_ALPHABET))
def test_generated_credit_codes_validate_and_a_changed_check_char_fails(
    code: str, other: str
) -> None:
    assert is_valid_credit_code(code)
    if other != code[17]:
        assert not is_valid_credit_code(code[:17] + other)


# ---------------------------------------------------------------- masks


def test_masks_for_screens_and_logs() -> None:
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("91330681MA7F19UC27") == "913306********UC27"
    assert mask_id("1234567890") == "**********"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("1234567") == "*******"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("张") == "*"
    assert mask_name("") == ""
