"""Which merchant account a payment goes through (渠道商户号按区划/单位配置).

A channel account is configured for a scope: one collecting unit (`unit:<unit code>`), a region
and everything below it (`region:<GB/T 2260 code>`), or the whole platform (`*`). A payment uses
the most specific account configured for its unit: the unit's own, else its district's, its
city's, its province's, else the platform default.
"""

from __future__ import annotations

import re

from publicpay.domain.errors import ValidationFailed

PLATFORM = "*"
_SCOPE = re.compile(r"^(\*|region:\d{6}|unit:[0-9A-Za-z_-]{1,20})$")


def unit_scope(unit_code: str) -> str:
    return f"unit:{unit_code}"


def region_scope(region_code: str) -> str:
    return f"region:{region_code}"


def validate_scope(scope: str) -> str:
    if not _SCOPE.match(scope):
        raise ValidationFailed(
            "适用范围应为 *、region:<6位区划代码> 或 unit:<单位编码>", errors={"scope": scope}
        )
    return scope


def region_ancestors(region_code: str) -> list[str]:
    """330105 → [330105, 330100, 330000]: the district, its city and its province (GB/T 2260)."""
    chain = [region_code]
    if region_code[4:] != "00":
        chain.append(region_code[:4] + "00")
    if region_code[2:] != "0000":
        chain.append(region_code[:2] + "0000")
    return chain


def scope_chain(unit_code: str, region_code: str) -> list[str]:
    """Scopes to try for a unit, most specific first, ending with the platform default."""
    regions = [region_scope(code) for code in region_ancestors(region_code)]
    return [unit_scope(unit_code), *regions, PLATFORM]


def scope_within(scope: str, region_code: str, unit_regions: dict[str, str]) -> bool:
    """May a finance bureau of `region_code` configure `scope`? Its own region and below, the
    units there, and the platform default only for the platform's own (top) bureau."""
    if scope == PLATFORM:
        return False
    kind, _, value = scope.partition(":")
    target = unit_regions.get(value) if kind == "unit" else value
    return target is not None and region_code in region_ancestors(target)
