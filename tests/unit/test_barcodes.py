from __future__ import annotations

import pytest

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.barcodes import detect_channel
from publicpay.domain.payments.channels import Channel


@pytest.mark.parametrize(
    ("auth_code", "channel"),
    [
        ("289431869362714645", Channel.ALIPAY),  # 18 digits, example from Alipay integrators
        ("28763443825664394", Channel.ALIPAY),  # 17 digits, alipay.trade.pay example
        ("135112298638468293", Channel.WECHAT),
        ("120061098828009406", Channel.WECHAT),  # WeChat micropay example
        ("6225880123456789012", Channel.UNIONPAY),
    ],
)
def test_example_codes_are_routed_to_their_channel(auth_code: str, channel: Channel) -> None:
    assert detect_channel(auth_code) is channel


@pytest.mark.parametrize("prefix", ["25", "26", "27", "28", "29", "30"])
@pytest.mark.parametrize("length", [16, 24])
def test_alipay_codes_at_both_length_bounds_are_alipay(prefix: str, length: int) -> None:
    assert detect_channel(prefix + "1" * (length - 2)) is Channel.ALIPAY


@pytest.mark.parametrize("length", [15, 25])
def test_alipay_prefix_outside_length_bounds_is_refused(length: int) -> None:
    with pytest.raises(ValidationFailed):
        detect_channel("28" + "1" * (length - 2))


@pytest.mark.parametrize("prefix", ["10", "11", "12", "13", "14", "15"])
def test_wechat_prefixes_with_18_digits_are_wechat(prefix: str) -> None:
    assert detect_channel(prefix + "0" * 16) is Channel.WECHAT


@pytest.mark.parametrize("length", [17, 19])
def test_wechat_prefix_with_other_lengths_is_refused(length: int) -> None:
    with pytest.raises(ValidationFailed):
        detect_channel("13" + "0" * (length - 2))


@pytest.mark.parametrize("length", [18, 20])
def test_unionpay_prefix_with_other_lengths_is_refused(length: int) -> None:
    with pytest.raises(ValidationFailed):
        detect_channel("62" + "0" * (length - 2))


@pytest.mark.parametrize(
    "auth_code",
    [
        "",
        "16" + "0" * 16,  # 16 is nobody's
        "31" + "0" * 16,
        "61" + "0" * 17,
        "99" + "0" * 17,
        "13511229863846829A",
        "13511229863846829 ",
        "１３５１１２２９８６３８４６８２９３",  # full-width digits
        "-135112298638468293",
    ],
)
def test_unknown_codes_are_refused_with_chinese_message(auth_code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        detect_channel(auth_code)
    assert refused.value.detail == "无法识别的付款码"
    assert refused.value.errors == {"auth_code": "无法识别的付款码"}


def test_scanner_line_ending_is_ignored() -> None:
    assert detect_channel("135112298638468293\r\n") is Channel.WECHAT
