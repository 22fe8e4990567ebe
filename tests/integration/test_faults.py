"""Channel faults, driven through each emulator's /faults over real HTTP (spec C3, C4, P6).

Whatever a channel does — hang, answer 5xx, lose, delay, duplicate or reorder notifications,
report another amount, take money after we closed — every order ends terminal, each payment is
counted once in the ledger, and money that should not have been taken is refunded through the
channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from publicpay.demo.stack import Stack, build_stack
from publicpay.settings import Mode, Settings
from tests.conftest import UNTHROTTLED
from tests.integration.channel_kit import (
    CHANNELS,
    base,
    discrepancies,
    journals,
    open_order,
    order_status,
    orders_of,
    payable_status,
    register,
    scan,
    wait_status,
    wait_until,
)
from tests.integration.fault_kit import (
    REFUSED,
    answers,
    assert_settled,
    clear_faults,
    fault,
    faulty,
    refund_statuses,
    refunded_at_channel,
    settle,
    wait_deliveries,
)
from tests.support.client import SignedClient
from tests.support.servers import free_port, serve

HANG_S = 1.5  # longer than the channel timeout below
EXPIRED = 2 * 3600.0  # recovery run as if two hours had passed: orders expired, retries due


@pytest.fixture(scope="module")
def fstack(new_database_url: Any) -> Iterator[Stack]:
    """A platform of its own, whose channel calls give up after 0.5 s."""
    port = free_port()
    settings = Settings(
        mode=Mode.TEST,
        database_url=new_database_url(),
        public_base_url=f"http://127.0.0.1:{port}",
        recovery_after_s=0,
        **UNTHROTTLED,
    )
    built = build_stack(settings, emulator_time_scale=0.001, channel_timeout_s=0.5)
    with serve(built.app, port=port):
        yield built
    built.close()


@pytest.fixture(scope="module")
def fapi(fstack: Stack) -> SignedClient:
    unit = fstack.info["units"][0]
    return SignedClient(base(fstack), unit["app_id"], unit["app_secret"])


@pytest.fixture(scope="module")
def payer(fstack: Stack) -> dict[str, str]:
    return dict(fstack.info["payers"][1])


@pytest.fixture(autouse=True)
def no_faults_left(fstack: Stack) -> Iterator[None]:
    yield
    for channel in CHANNELS:
        clear_faults(fstack, channel)


def new_payable(fapi: SignedClient, payer: dict[str, str]) -> str:
    return str(register(fapi, payer)["payment_code"])


def pay(stack: Stack, code: str, channel: str) -> str:
    order = open_order(stack, code, channel)
    assert scan(stack, order["qr_code"], channel).status_code == 200
    return str(order["order_no"])


# --- the channel does not answer ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["timeout", "error_5xx"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_order_creation_that_hangs_or_fails_leaves_a_failed_order_and_a_payable_still_payable(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str, name: str
) -> None:
    code = new_payable(fapi, payer)
    with faulty(fstack, channel, name, HANG_S if name == "timeout" else None):
        response = open_order_raw(fstack, code, channel)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    [failed] = orders_of(fstack, code)
    assert failed["status"] == "failed"

    pay(fstack, code, channel)  # the payer tries again once the channel is back

    wait_status(fstack, code, "paid")
    settle(fstack)
    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("name", ["timeout", "error_5xx"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_lost_notification_is_recovered_by_query_once_the_channel_answers_again(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str, name: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "lose_notify", order["order_no"])
    assert scan(fstack, order["qr_code"], channel).status_code == 200
    fault(fstack, channel, name, order["order_no"], HANG_S if name == "timeout" else None)

    settle(fstack)  # the query hangs or fails: recovery waits for the next round
    assert order_status(fstack, order["order_no"]) == "paying"
    clear_faults(fstack, channel)
    settle(fstack)

    assert payable_status(fstack, code)["status"] == "paid"
    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


# --- notifications go wrong ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_lost_notification_is_recovered_by_querying_the_channel(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "lose_notify", order["order_no"])
    assert scan(fstack, order["qr_code"], channel).status_code == 200
    assert payable_status(fstack, code)["status"] == "unpaid"

    settle(fstack)

    assert payable_status(fstack, code)["status"] == "paid"
    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("channel", CHANNELS)
def test_duplicated_notification_is_counted_once(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "duplicate_notify", order["order_no"])
    assert scan(fstack, order["qr_code"], channel).status_code == 200

    wait_deliveries(fstack, channel, order["order_no"], 2, "acknowledged")

    assert payable_status(fstack, code)["status"] == "paid"
    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("channel", CHANNELS)
def test_delayed_notification_after_recovery_changes_nothing(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "delay_notify", order["order_no"], 0.5)
    assert scan(fstack, order["qr_code"], channel).status_code == 200
    settle(fstack)  # recovery finds the payment first
    assert payable_status(fstack, code)["status"] == "paid"

    wait_deliveries(fstack, channel, order["order_no"], 1, "acknowledged")

    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("channel", CHANNELS)
def test_reordered_notifications_of_two_payments_count_one_and_refund_the_other(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    first, second = open_order(fstack, code, channel), open_order(fstack, code, channel)
    fault(fstack, channel, "reorder_notify", first["order_no"], 0.4)
    assert scan(fstack, first["qr_code"], channel).status_code == 200
    assert scan(fstack, second["qr_code"], channel).status_code == 200
    wait_deliveries(fstack, channel, first["order_no"], 1, "acknowledged")

    settle(fstack)
    settle(fstack, ahead_s=EXPIRED)

    assert payable_status(fstack, code)["status"] == "paid"
    assert journals(fstack, code)[0] == "payment"
    assert journals(fstack, code).count("payment") == 1
    assert "duplicate_payment" in discrepancies(fstack, first["order_no"])
    assert refund_statuses(fstack, code) == ["succeeded"]
    assert refunded_at_channel(fstack, channel, first["order_no"]) > 0
    assert_settled(fstack, code)


@pytest.mark.parametrize("channel", CHANNELS)
def test_reported_amount_that_differs_is_refused_recorded_and_not_paid(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "amount_mismatch", order["order_no"])
    assert scan(fstack, order["qr_code"], channel).status_code == 200

    wait_until_answered(fstack, channel, order["order_no"])
    settle(fstack, ahead_s=EXPIRED)

    assert REFUSED[channel] in answers(fstack, channel, order["order_no"])  # told FAIL
    assert payable_status(fstack, code)["status"] == "unpaid"
    assert order_status(fstack, order["order_no"]) == "failed"
    assert discrepancies(fstack, order["order_no"]) == ["amount_mismatch"]
    assert journals(fstack, code) == []
    assert_settled(fstack, code)


# --- money taken after we closed, or twice ----------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_payment_after_close_is_recorded_and_recovers_the_payable(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    order = open_order(fstack, code, channel)
    fault(fstack, channel, "succeed_after_close", order["order_no"])
    settle(fstack, ahead_s=EXPIRED)  # expired: we close it (WeChat's payer pays as we close)
    if channel != "wechat":
        assert order_status(fstack, order["order_no"]) == "closed"
        assert scan(fstack, order["qr_code"], channel).status_code == 200

    wait_status(fstack, code, "paid")
    settle(fstack)

    assert order_status(fstack, order["order_no"]) == "succeeded"
    if channel != "wechat":  # WeChat's notification may beat our own close
        assert discrepancies(fstack, order["order_no"]) == ["late_success"]
    assert journals(fstack, code) == ["payment"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("channel", CHANNELS)
def test_payment_after_close_of_a_payable_paid_meanwhile_is_refunded(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], channel: str
) -> None:
    code = new_payable(fapi, payer)
    late = open_order(fstack, code, channel)
    fault(fstack, channel, "succeed_after_close", late["order_no"])
    other = "alipay" if channel != "alipay" else "unionpay"
    pay(fstack, code, other)
    wait_status(fstack, code, "paid")

    settle(fstack, ahead_s=EXPIRED)  # closes the late order (WeChat: the payer pays as we close)
    if channel != "wechat":
        assert scan(fstack, late["qr_code"], channel).status_code == 200
    wait_deliveries(fstack, channel, late["order_no"], 1, "acknowledged")
    settle(fstack, ahead_s=EXPIRED)
    settle(fstack, ahead_s=2 * EXPIRED)

    assert payable_status(fstack, code)["channel"] == other
    assert "duplicate_payment" in discrepancies(fstack, late["order_no"])
    assert refund_statuses(fstack, code) == ["succeeded"]
    assert refunded_at_channel(fstack, channel, late["order_no"]) > 0
    assert journals(fstack, code) == ["payment", "duplicate_payment", "refund"]
    assert_settled(fstack, code)


@pytest.mark.parametrize("second", CHANNELS)
def test_second_payment_of_one_payable_is_refunded_through_its_channel(
    fstack: Stack, fapi: SignedClient, payer: dict[str, str], second: str
) -> None:
    code = new_payable(fapi, payer)
    first_channel = "wechat" if second == "alipay" else "alipay"
    first, later = open_order(fstack, code, first_channel), open_order(fstack, code, second)
    assert scan(fstack, first["qr_code"], first_channel).status_code == 200
    wait_status(fstack, code, "paid")

    assert scan(fstack, later["qr_code"], second).status_code == 200
    wait_deliveries(fstack, second, later["order_no"], 1, "acknowledged")
    settle(fstack)
    settle(fstack, ahead_s=EXPIRED)

    assert payable_status(fstack, code)["channel"] == first_channel
    assert discrepancies(fstack, later["order_no"]) == ["duplicate_payment"]
    assert refund_statuses(fstack, code) == ["succeeded"]
    assert refunded_at_channel(fstack, second, later["order_no"]) == later["amount_fen"]
    assert journals(fstack, code) == ["payment", "duplicate_payment", "refund"]
    assert_settled(fstack, code)


def open_order_raw(stack: Stack, code: str, channel: str) -> httpx.Response:
    return httpx.post(
        f"{base(stack)}/api/v1/pay/{code}/orders", json={"channel": channel}, timeout=10
    )


def wait_until_answered(stack: Stack, channel: str, order_no: str) -> None:
    wait_until(lambda: bool(answers(stack, channel, order_no)))
