"""Supervision alerts of reconciliation, clearing and devices (issue 12): each detector finds
its case, the alert links the rows concerned, acknowledging it with a note takes it off the
list of what waits (待处理), and a user of another region never sees it nor acknowledges it."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select

from publicpay.adapters.db.alerts import alerts, scan
from publicpay.adapters.db.queries.alerts import DETECTORS, registered
from publicpay.adapters.db.reconciliation.tables import clearing_windows
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.reconciliation import ExceptionStatus, MatchClass, ReconException, Source
from tests.integration.console_kit import csrf_of, logged_in, make_user

OTHER_REGION = "330106"


def _scan(stack: Any, later: timedelta = timedelta()) -> None:
    c = stack.container
    scan(c.engines.write, registered(), c.clock.now() + later, c.settings.region_code)


def _alert(stack: Any, kind: str, key: str) -> Any:
    stmt = select(alerts).where(alerts.c.kind == kind, alerts.c.key == key)
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).first()


def _unique_day() -> date:
    return date(2001, 1, 1) + timedelta(days=secrets.randbelow(8000))


def _acknowledged_hides_it_and_another_region_never_sees_it(
    stack: Any, base_url: str, alert: Any, text: str
) -> None:
    outsider = make_user(stack, "finance_reviewer", region_code=OTHER_REGION)
    with logged_in(base_url, outsider) as client:
        page = client.get("/console/alerts")
        refused = client.post(
            f"/console/alerts/{alert.id}/acknowledge",
            data={"note": "不是我的", "csrf": csrf_of(page.text)},
        )
    assert text not in page.text
    assert refused.status_code == 404

    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        page = client.get("/console/alerts", params={"kind": alert.kind})
        assert text in page.text
        assert f'href="{alert.link}"' in page.text
        done = client.post(
            f"/console/alerts/{alert.id}/acknowledge",
            data={"note": "已安排专人处理", "csrf": csrf_of(page.text)},
        )
        assert done.status_code == 303
        waiting = client.get("/console/alerts", params={"kind": alert.kind})
        acknowledged = client.get(
            "/console/alerts", params={"kind": alert.kind, "show": "acknowledged"}
        )
    assert f'id="alert-{alert.id}"' not in waiting.text
    assert f'id="alert-{alert.id}"' in acknowledged.text
    assert "已安排专人处理" in acknowledged.text


def test_the_detectors_of_reconciliation_clearing_and_devices_are_registered() -> None:
    assert {
        "recon_exception_open",
        "clearing_unconfirmed",
        "device_offline",
        "device_printer",
    } <= set(DETECTORS)


def test_an_ageing_reconciliation_exception_raises_an_alert_linking_its_day(
    stack: Any, base_url: str
) -> None:
    c, day = stack.container, _unique_day()
    with c.uow() as uow:
        uow.reconciliation.add_exception(
            ReconException(
                id=0,
                source=Source.WECHAT,
                business_day=day,
                match_class=MatchClass.PLATFORM_ONLY,
                key=f"P{secrets.token_hex(8)}",
                amount_fen=12_300,
                status=ExceptionStatus.OPEN,
                created_at=c.clock.now(),
                detail={},
            )
        )
        uow.commit()
    _scan(stack)
    assert _alert(stack, "recon_exception_open", f"wechat:{day}") is None  # not aged yet
    _scan(stack, timedelta(days=3))
    alert = _alert(stack, "recon_exception_open", f"wechat:{day}")
    assert alert.status == "open"
    assert alert.link == f"/console/reconciliation/wechat/{day}"
    assert "最早一笔已 3 天" in alert.summary
    _acknowledged_hides_it_and_another_region_never_sees_it(stack, base_url, alert, str(day))


def _window(stack: Any, status: str, **values: Any) -> int:
    c, day = stack.container, _unique_day()
    row = {
        "business_day": day,
        "account": f"T{secrets.token_hex(6)}",
        "status": status,
        "gross_fen": 10_000,
        "refunds_fen": 0,
        "fees_fen": 60,
        "total_fen": 10_000,
        "by_level": {"city": 10_000},
        "voucher_no": f"5408{secrets.randbelow(10**14):014d}",
        "created_at": c.clock.now(),
        **values,
    }
    with c.engines.write.begin() as conn:
        return int(conn.execute(insert(clearing_windows).values(**row)).inserted_primary_key[0])


def test_a_voucher_without_receipt_or_returned_raises_a_clearing_alert(
    stack: Any, base_url: str
) -> None:
    now = stack.container.clock.now()
    waiting = _window(stack, "instructed", instructed_at=now - timedelta(hours=1))
    returned = _window(stack, "failed", instructed_at=now, failure="国库账户状态异常")
    try:
        _voucher_alerts(stack, base_url, waiting, returned)
    finally:  # bare windows without details go again: `publicpay check` of the shared stack holds
        with stack.container.engines.write.begin() as conn:
            conn.execute(
                clearing_windows.delete().where(clearing_windows.c.id.in_([waiting, returned]))
            )


def _voucher_alerts(stack: Any, base_url: str, waiting: int, returned: int) -> None:
    _scan(stack)
    assert _alert(stack, "clearing_unconfirmed", f"window:{waiting}") is None  # 1 h: not yet
    failed = _alert(stack, "clearing_unconfirmed", f"window:{returned}")
    assert failed.status == "open"
    assert "国库账户状态异常" in failed.summary
    assert failed.link == f"/console/clearing/{returned}"
    _scan(stack, timedelta(hours=4))
    late = _alert(stack, "clearing_unconfirmed", f"window:{waiting}")
    assert "国库尚未回执" in late.summary
    assert late.link == f"/console/clearing/{waiting}"
    _acknowledged_hides_it_and_another_region_never_sees_it(stack, base_url, late, late.summary)
    with stack.container.engines.write.begin() as conn:  # the receipt came: the alert goes
        conn.execute(
            clearing_windows.update()
            .where(clearing_windows.c.id == waiting)
            .values(status="confirmed")
        )
    _scan(stack, timedelta(hours=4))
    assert _alert(stack, "clearing_unconfirmed", f"window:{waiting}").status == "resolved"


def _device(stack: Any) -> str:
    c = stack.container
    app_id = f"kiosk_t_{secrets.token_hex(4)}"
    now = c.clock.now()
    with c.uow() as uow:
        site = next(s for s in uow.units.sites() if s.region_code == c.settings.region_code)
        uow.units.add_client(app_id, "device", None, secrets.token_hex(16), now)
        uow.devices.add(
            Device(0, app_id, DeviceKind.KIOSK, "测试自助机", site.id, None, None, None), now
        )
        uow.commit()
    return app_id


def _beat(stack: Any, app_id: str, *, printer: str, paper: str) -> None:
    c = stack.container
    with c.uow() as uow:
        assert uow.devices.heartbeat(
            app_id, c.clock.now(), printer=printer, paper=paper, version="1.0"
        )
        uow.commit()


def test_paper_low_or_a_printer_fault_raises_a_device_alert(stack: Any, base_url: str) -> None:
    low, broken = _device(stack), _device(stack)
    _beat(stack, low, printer="ok", paper="low")
    _beat(stack, broken, printer="error", paper="ok")
    _scan(stack)
    paper = _alert(stack, "device_printer", low)
    fault = _alert(stack, "device_printer", broken)
    assert "纸张将用尽" in paper.summary
    assert "打印机故障" in fault.summary
    assert paper.link == f"/console/devices#device-{low}"
    _acknowledged_hides_it_and_another_region_never_sees_it(stack, base_url, paper, low)
    _beat(stack, broken, printer="ok", paper="ok")  # fixed: the alert resolves itself
    _scan(stack)
    assert _alert(stack, "device_printer", broken).status == "resolved"


def test_a_silent_device_raises_an_offline_alert_linking_its_row(stack: Any, base_url: str) -> None:
    app_id = _device(stack)
    _beat(stack, app_id, printer="ok", paper="ok")
    _scan(stack)
    assert _alert(stack, "device_offline", app_id) is None
    _scan(stack, timedelta(hours=1))
    alert = _alert(stack, "device_offline", app_id)
    assert alert.link == f"/console/devices#device-{app_id}"
    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        devices = client.get("/console/devices")
    assert f'id="device-{app_id}"' in devices.text
    _acknowledged_hides_it_and_another_region_never_sees_it(stack, base_url, alert, app_id)
