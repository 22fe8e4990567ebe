"""The 接口凭证 console page: a unit admin rotates and revokes its unit's credentials (the new
secret shown once), sees no other unit's; a cashier has no access."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit
from tests.integration.test_credentials import reads
from tests.support.client import SignedClient


def test_a_unit_admin_rotates_its_credential_and_sees_the_new_secret_once(
    stack: Any, base_url: str
) -> None:
    unit_id, old = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/credentials")
        assert page.status_code == 200
        assert old.app_id in page.text
        rotated = client.post(
            f"/console/credentials/{old.app_id}/rotate",
            data={"csrf": csrf_of(page.text), "grace_h": "1"},
        )
        again = client.get("/console/credentials")
    assert rotated.status_code == 200
    assert rotated.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret-value">([0-9a-f]{64})<', rotated.text)
    assert secret is not None
    assert secret.group(1) not in again.text  # shown once
    new = SignedClient(base_url, old.app_id, secret.group(1))
    assert (reads(new), reads(old)) == (404, 404)  # the old one during its hour of grace


def test_a_unit_admin_revokes_its_credential(stack: Any, base_url: str) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/credentials")
        done = client.post(
            f"/console/credentials/{unit_api.app_id}/revoke",
            data={"csrf": csrf_of(page.text)},
            follow_redirects=True,
        )
    assert "已吊销" in done.text
    assert unit_api.get("/api/v1/payables?biz_no=X").status_code == 401


def test_another_units_credential_is_neither_shown_nor_touched(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    _, other = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/credentials")
        refused = client.post(
            f"/console/credentials/{other.app_id}/revoke", data={"csrf": csrf_of(page.text)}
        )
    assert other.app_id not in page.text
    assert refused.status_code == 404
    assert reads(other) == 404


def test_a_finance_admin_sees_the_units_and_platform_credentials(stack: Any, base_url: str) -> None:
    _, unit_api = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        page = client.get("/console/credentials")
    assert unit_api.app_id in page.text
    assert stack.info["kiosk"]["device_id"] in page.text  # platform-wide: the bureau's own


def test_a_cashier_has_no_credentials_page(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "cashier", unit_id=unit_id)) as client:
        assert client.get("/console/credentials").status_code == 403
