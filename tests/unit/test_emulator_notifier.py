"""The emulators' notification dispatcher and fault book, with a fake transport (no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from publicpay.emulators.notifier import (
    DeliveryStatus,
    Fault,
    FaultBook,
    Notifier,
    OutgoingRequest,
)

FAST = 0.0001  # 1 s of schedule = 0.1 ms


def says_success(response: httpx.Response) -> bool:
    return response.content == b"success"


class Merchant:
    """A fake notify endpoint answering from a script, recording what it received."""

    def __init__(self, answers: list[str | Exception] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        answer = self.answers.pop(0) if self.answers else "success"
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, content=answer.encode())


@contextmanager
def notifier(
    handler: Callable[[httpx.Request], httpx.Response],
    schedule: tuple[float, ...] = (0, 1, 1, 1),
    time_scale: float = FAST,
) -> Iterator[Notifier]:
    sender = Notifier(
        schedule=schedule,
        is_acknowledged=says_success,
        time_scale=time_scale,
        transport=httpx.MockTransport(handler),
    )
    try:
        yield sender
    finally:
        sender.close()


def request(body: bytes = b"a=1") -> OutgoingRequest:
    return OutgoingRequest("http://merchant.test/notify", body, {"content-type": "text/plain"})


def test_notification_is_retried_until_the_merchant_acknowledges() -> None:
    merchant = Merchant(["failure", "oops", "success"])
    with notifier(merchant) as sender:
        sender.dispatch(request(), key="P1")
        assert sender.wait_idle()
        (delivery,) = sender.deliveries("P1")
    assert delivery.status is DeliveryStatus.ACKNOWLEDGED
    assert [a.response_body for a in delivery.attempts] == ["failure", "oops", "success"]
    assert [a.number for a in delivery.attempts] == [1, 2, 3]
    assert [a.status_code for a in delivery.attempts] == [200, 200, 200]
    assert [r.content for r in merchant.received] == [b"a=1"] * 3
    assert merchant.received[0].headers["content-type"] == "text/plain"


def test_notifier_gives_up_when_the_schedule_runs_out() -> None:
    merchant = Merchant(["failure"] * 10)
    with notifier(merchant, schedule=(0, 1, 1)) as sender:
        sender.dispatch(request(), key="P2")
        assert sender.wait_idle()
        (delivery,) = sender.deliveries()
    assert delivery.status is DeliveryStatus.GAVE_UP
    assert len(delivery.attempts) == 3
    assert len(merchant.received) == 3


def test_a_day_long_schedule_runs_in_milliseconds_when_scaled() -> None:
    alipay_like = (0, 240, 600, 600, 3600, 7200, 21600, 54000)  # 24 h 24 min in all
    merchant = Merchant(["failure"] * 10)
    with notifier(merchant, schedule=alipay_like, time_scale=0.000001) as sender:
        sender.dispatch(request(), key="P3")
        assert sender.wait_idle()
        (delivery,) = sender.deliveries()
    assert len(delivery.attempts) == 8
    assert delivery.status is DeliveryStatus.GAVE_UP


def test_transport_errors_are_recorded_and_retried() -> None:
    merchant = Merchant([httpx.ConnectError("refused"), "success"])
    with notifier(merchant) as sender:
        sender.dispatch(request(), key="P4")
        assert sender.wait_idle()
        (delivery,) = sender.deliveries()
    first, second = delivery.attempts
    assert first.status_code is None
    assert first.error == "ConnectError: refused"
    assert second.status_code == 200
    assert delivery.status is DeliveryStatus.ACKNOWLEDGED


def test_lost_notification_is_recorded_but_never_sent() -> None:
    merchant = Merchant()
    with notifier(merchant) as sender:
        sender.dispatch(request(), key="P5", lose=True)
        assert sender.wait_idle()
        (delivery,) = sender.deliveries("P5")
    assert delivery.status is DeliveryStatus.LOST
    assert delivery.attempts == ()
    assert merchant.received == []


def test_duplicate_notification_arrives_twice_with_the_same_body() -> None:
    merchant = Merchant()
    with notifier(merchant) as sender:
        sender.dispatch(request(b"notify_id=n1"), key="P6", duplicate=True)
        assert sender.wait_idle()
        deliveries = sender.deliveries("P6")
    assert [d.copy for d in deliveries] == [0, 1]
    assert all(d.status is DeliveryStatus.ACKNOWLEDGED for d in deliveries)
    assert [r.content for r in merchant.received] == [b"notify_id=n1", b"notify_id=n1"]


def test_a_held_back_first_notification_is_overtaken_by_a_later_one() -> None:
    merchant = Merchant()
    with notifier(merchant) as sender:
        sender.dispatch(request(b"first"), key="P7", first_delay_s=30)
        sender.dispatch(request(b"second"), key="P7")
        while sender.deliveries("P7")[1].status is DeliveryStatus.PENDING:
            sender.wait_idle(0.01)
        held, later = sender.deliveries("P7")
    assert later.status is DeliveryStatus.ACKNOWLEDGED
    assert held.attempts == ()
    assert [r.content for r in merchant.received] == [b"second"]


def test_close_stops_pending_retries() -> None:
    merchant = Merchant(["failure"] * 5)
    sender = Notifier(
        schedule=(0, 3600),
        is_acknowledged=says_success,
        transport=httpx.MockTransport(merchant),
    )
    sender.dispatch(request(), key="P8")
    while not sender.deliveries()[0].attempts:
        sender.wait_idle(0.01)
    sender.close()
    (delivery,) = sender.deliveries()
    assert delivery.status is DeliveryStatus.STOPPED
    assert len(delivery.attempts) == 1
    with pytest.raises(RuntimeError, match="closed"):
        sender.dispatch(request())


def test_delivery_json_shows_request_and_attempts() -> None:
    with notifier(Merchant(["failure", "success"])) as sender:
        sender.dispatch(request(b"x=%E4%B8%AD"), key="P9")
        assert sender.wait_idle()
        shown = sender.deliveries()[0].as_json()
    assert shown["key"] == "P9"
    assert shown["url"] == "http://merchant.test/notify"
    assert shown["request_body"] == "x=%E4%B8%AD"
    assert shown["status"] == "acknowledged"
    assert [a["response_body"] for a in shown["attempts"]] == ["failure", "success"]  # type: ignore[attr-defined]


def test_empty_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        Notifier(schedule=(), is_acknowledged=says_success)


def test_fault_for_one_order_beats_the_wildcard() -> None:
    book = FaultBook()
    book.add("*", Fault.DELAY_NOTIFY, 5)
    book.add("A1", Fault.DELAY_NOTIFY, 1)
    book.add("A1", Fault.LOSE_NOTIFY)
    own = book.get("A1", Fault.DELAY_NOTIFY)
    wildcard = book.get("B2", Fault.DELAY_NOTIFY)
    assert own is not None
    assert own.seconds == 1
    assert wildcard is not None
    assert wildcard.seconds == 5
    assert book.get("B2", Fault.LOSE_NOTIFY) is None
    assert book.get(None, Fault.DELAY_NOTIFY) == wildcard


def test_faults_can_be_cleared_per_order_or_all() -> None:
    book = FaultBook()
    book.add("A1", Fault.TIMEOUT, 2)
    book.add("*", Fault.ERROR_5XX)
    book.clear("A1")
    assert book.get("A1", Fault.TIMEOUT) is None
    assert book.listing() == [{"out_trade_no": "*", "fault": "error_5xx", "seconds": None}]
    book.clear()
    assert book.listing() == []


def test_fault_default_seconds() -> None:
    book = FaultBook()
    book.add("A1", Fault.TIMEOUT)
    setting = book.get("A1", Fault.TIMEOUT)
    assert setting is not None
    assert setting.seconds_or(3.0) == 3.0
    assert Fault("succeed_after_close") is Fault.SUCCEED_AFTER_CLOSE
