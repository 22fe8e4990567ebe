"""The PATH a signature covers is the request's path and query string exactly as Starlette's
`request.url` gives them, also when a plain path skips working out the URL."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from publicpay.api.auth import _path_with_query


def _request(path: str, query: bytes = b"", host: bytes | None = b"127.0.0.1:8000") -> Request:
    headers = [(b"host", host)] if host is not None else []
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "query_string": query,
        "headers": headers,
        "server": None,
    }
    return Request(scope)


def _by_the_url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@given(st.text(alphabet="/ab?#\\%\t é中:@.", max_size=12), st.sampled_from([b"", b"x=1&y=%20"]))
def test_the_signed_path_is_the_one_the_url_gives(path: str, query: bytes) -> None:
    for request in (_request("/" + path, query), _request("/" + path, query, host=None)):
        assert _path_with_query(request) == _by_the_url(request)


@pytest.mark.parametrize("path", ["/api/v1/payables", "//x/y", "/a?b", "/a#b", "/a\\b", "/a\tb"])
def test_paths_url_leaves_or_changes_are_signed_as_the_url_gives_them(path: str) -> None:
    for request in (_request(path), _request(path, host=None)):
        assert _path_with_query(request) == _by_the_url(request)
