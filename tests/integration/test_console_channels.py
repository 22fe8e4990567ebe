"""The 渠道商户账户 console screen (issue 10): a finance admin saves a channel account for its
region after the test call (a secret left as ****** keeps the stored one), sees it masked;
bad JSON, a failing test call and a scope outside its region change nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit

MASK = "******"


def _stored(stack: Any) -> dict[str, dict[str, Any]]:
    with stack.container.uow() as uow:
        return uow.channel_accounts.all()


def _save(client: Any, **fields: str) -> Any:
    page = client.get("/console/channel-accounts")
    assert page.status_code == 200
    return client.post("/console/channel-accounts", data={"csrf": csrf_of(page.text), **fields})


def test_a_finance_admin_saves_an_account_for_its_region_keeping_the_masked_secret(
    stack: Any, base_url: str
) -> None:
    config = dict(_stored(stack)["alipay"])
    secret = config["app_private_key_pem"]
    config["app_private_key_pem"] = MASK
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        saved = _save(admin, channel="alipay", scope="*", config=json.dumps(config))
        listed = admin.get("/console/channel-accounts").text
    assert saved.status_code == 303, saved.text
    assert _stored(stack)["alipay"]["app_private_key_pem"] == secret
    assert secret not in listed
    assert MASK in listed


def test_bad_json_a_failing_test_call_or_a_foreign_scope_change_nothing(
    stack: Any, base_url: str
) -> None:
    before = _stored(stack)
    broken = dict(before["alipay"])
    broken["gateway_url"] = "http://127.0.0.1:9/gateway.do"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        not_json = _save(admin, channel="alipay", scope="*", config="{not json")
        failing = _save(admin, channel="alipay", scope="*", config=json.dumps(broken))
        foreign = _save(
            admin, channel="alipay", scope="region:110000", config=json.dumps(before["alipay"])
        )
    assert not_json.status_code == 422
    assert "JSON" in not_json.text
    assert failing.status_code == 422
    assert "测试调用" in failing.text
    assert foreign.status_code == 403
    assert _stored(stack) == before


def test_unit_roles_and_reviewers_have_no_channel_accounts_screen(
    stack: Any, base_url: str
) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    for user in (
        make_user(stack, "unit_admin", unit_id=unit_id),
        make_user(stack, "finance_reviewer"),
    ):
        with logged_in(base_url, user) as client:
            assert client.get("/console/channel-accounts").status_code == 403
