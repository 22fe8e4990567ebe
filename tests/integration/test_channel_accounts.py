"""Channel accounts: validated by a signed test call before they are saved; UnionPay txnTimes
come from the database, so another process can query an order it never sent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.channels.configured import build_probe_gateway, build_registry
from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.payments.accounts import ChannelAccountsRepository
from publicpay.adapters.db.payments.txn_times import StoredTxnTimes
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.channels import Channel, TradeState
from publicpay.services.payments.accounts import save_channel_account
from tests.integration.channel_kit import open_order, register, scan, wait_status
from tests.support.client import SignedClient
from tests.support.servers import free_port


def stored_configs(stack: Any) -> dict[str, dict[str, Any]]:
    with stack.container.uow() as uow:
        return ChannelAccountsRepository(uow.connection, uow.box).all()


def save(stack: Any, channel: Channel, config: dict[str, Any]) -> None:
    c = stack.container
    save_channel_account(
        c.uow,
        lambda uow: ChannelAccountsRepository(uow.connection, uow.box),
        channel,
        config,
        build_probe_gateway,
        actor="finance:admin",
        clock=c.clock,
    )


def last_audit(stack: Any) -> tuple[str, str, dict[str, Any]]:
    a = audit_log
    stmt = select(a.c.action, a.c.target, a.c.detail).order_by(a.c.id.desc()).limit(1)
    with stack.container.engines.read.connect() as conn:
        action, target, detail = conn.execute(stmt).one()
    return str(action), str(target), dict(detail)


@pytest.mark.parametrize("channel", [Channel.ALIPAY, Channel.WECHAT, Channel.UNIONPAY])
def test_working_configuration_is_saved_after_a_test_call(stack: Any, channel: Channel) -> None:
    config = stored_configs(stack)[channel.value]

    save(stack, channel, config)

    action, target, detail = last_audit(stack)
    assert (action, target) == ("channel_account.saved", f"{channel.value}|*")
    assert "gateway_url" in detail["fields"] or "base_url" in detail["fields"]
    assert not set(detail["fields"]) & {"app_private_key_pem", "apiv3_key", "sign_key_pem"}
    assert stored_configs(stack)[channel.value] == config


def test_configuration_with_a_key_the_channel_does_not_know_is_refused(stack: Any) -> None:
    before = stored_configs(stack)["wechat"]
    other = stored_configs(stack)["alipay"]["app_private_key_pem"]  # not WeChat's merchant key
    config = {**before, "merchant_private_key_pem": other}

    with pytest.raises(ValidationFailed, match="渠道拒绝测试调用"):
        save(stack, Channel.WECHAT, config)

    assert stored_configs(stack)["wechat"] == before


def test_configuration_with_an_unreachable_gateway_is_refused(stack: Any) -> None:
    before = stored_configs(stack)["unionpay"]
    config = {**before, "gateway_url": f"http://127.0.0.1:{free_port()}", "timeout_s": 0.5}

    with pytest.raises(ValidationFailed, match="测试调用失败"):
        save(stack, Channel.UNIONPAY, config)

    assert stored_configs(stack)["unionpay"] == before


def test_incomplete_configuration_is_refused(stack: Any) -> None:
    config = {k: v for k, v in stored_configs(stack)["alipay"].items() if k != "app_id"}

    with pytest.raises(ValidationFailed, match="缺少字段 app_id"):
        save(stack, Channel.ALIPAY, config)


def test_unionpay_order_is_queried_by_a_gateway_that_never_sent_it(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    order = open_order(stack, code, "unionpay")
    assert scan(stack, order["qr_code"], "unionpay").status_code == 200
    wait_status(stack, code, "paid")
    fresh = build_registry(  # as a worker process or a restarted server would build it
        stored_configs(stack), txn_times=StoredTxnTimes(stack.container.engines.read)
    )

    result = fresh.get(Channel.UNIONPAY).query(order["order_no"])

    assert result.state is TradeState.SUCCEEDED
    assert result.amount_fen == order["amount_fen"]
