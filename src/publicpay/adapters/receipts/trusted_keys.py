"""Trusted receipt public keys for offline verification: a PEM bundle or the platform's
`GET /api/v1/receipts/keys` JSON, read from a file or fetched from a URL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def parse_trusted_keys(data: bytes) -> list[bytes]:
    """Every public key PEM in `data` (PEM text, or {"keys": [{"public_key_pem": ...}]})."""
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        body = json.loads(stripped)
        keys = [str(k["public_key_pem"]).encode("ascii") for k in body.get("keys", [])]
    else:
        keys = _PEM.findall(data)
    if not keys:
        raise ValueError("没有找到公钥")
    return keys


def load_trusted_keys(path: str | None, url: str | None) -> list[bytes] | None:
    """None when neither is given (then only the keys inside the file are used)."""
    if path:
        return parse_trusted_keys(Path(path).read_bytes())
    if url:
        try:
            response = httpx.get(url, timeout=10)
        except httpx.HTTPError as exc:
            raise OSError(f"{url}: {exc}") from exc
        if response.status_code != 200:
            raise OSError(f"{url} 返回 {response.status_code}")
        return parse_trusted_keys(response.content)
    return None
