"""A channel notification's headers reach its adapter as a plain dict, each name with its first
value, as `dict(request.headers)` gave them."""

from __future__ import annotations

from starlette.datastructures import Headers

from publicpay.api.routes.payments.notifications import _first_values


def test_each_header_keeps_its_first_value_as_dict_of_the_headers_did() -> None:
    headers = Headers(
        raw=[
            (b"wechatpay-serial", b"first"),
            (b"content-type", b"application/json"),
            (b"wechatpay-serial", b"second"),
        ]
    )

    assert _first_values(headers) == dict(headers)
    assert _first_values(headers)["wechatpay-serial"] == "first"
