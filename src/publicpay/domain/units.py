"""Units (执收单位) and API clients (business systems, banks, devices)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiClient:
    app_id: str
    kind: str
    unit_id: int | None
    secret: str
    active: bool
    region_code: str | None = None  # finance bureaus: the region they administer


@dataclass(frozen=True, slots=True)
class Unit:
    id: int
    code: str
    name: str
    region_code: str
    credit_code: str
    webhook_url: str | None
    webhook_secret: str | None
