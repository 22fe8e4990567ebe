"""Alipay's notification form is read exactly as `urllib.parse.parse_qsl` reads it (strict,
blank values kept), by a leaner loop."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.adapters.channels.alipay import form_fields

forms = st.text(alphabet="ab=&%+2F3de9Z é\u00ff\u4e2d", max_size=40)


def _library(text: str) -> list[tuple[str, str]] | str:
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return "refused"


def _ours(text: str) -> list[tuple[str, str]] | str:
    try:
        return form_fields(text)
    except ValueError:
        return "refused"


@given(forms)
def test_a_form_is_read_as_parse_qsl_reads_it(text: str) -> None:
    assert _ours(text) == _library(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a=1&b=",
        "=v",
        "a=1&&b=2",
        "a=1&",
        "novalue",
        "subject=%E9%9D%9E%E7%A8%8E+x&sign=ab%2Bc%2F%3D",
        "bad=%E9%9D&odd=%zz%4&end=%",
        "eq=a=b",
    ],
)
def test_edge_cases_of_a_form_are_read_as_parse_qsl_reads_them(text: str) -> None:
    assert _ours(text) == _library(text)
