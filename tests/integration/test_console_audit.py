"""The 审计日志 viewer (issue 10): an auditor filters the log by user, action, object and date,
sees who, what, when, from where, before and after; "校验哈希链" reports an intact chain and
names the first broken row after tampering; SQL-looking filters are only strings; roles without
the permission get 403."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from publicpay.adapters.db.audit import audit_log
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit


def _seal(stack: Any) -> None:
    with stack.container.uow() as uow:
        while uow.audit.seal(1000) == 1000:
            pass
        uow.commit()


def _disabled_user(stack: Any, base_url: str) -> Any:
    """A finance reviewer a finance admin has just disabled (one audited console action)."""
    victim = make_user(stack, "finance_reviewer")
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        page = admin.get("/console/users")
        user_id = page.text.split(f'data-username="{victim.username}"')[1]
        user_id = user_id.split("/console/users/")[1].split("/")[0]
        admin.post(f"/console/users/{user_id}/disable", data={"csrf": csrf_of(page.text)})
    return victim


def test_an_auditor_filters_the_log_and_sees_who_what_where_before_and_after(
    stack: Any, base_url: str
) -> None:
    victim = _disabled_user(stack, base_url)
    with logged_in(base_url, make_user(stack, "auditor")) as auditor:
        found = auditor.get(
            "/console/audit", params={"target": victim.username, "action": "console.user_disabled"}
        )
        everything = auditor.get("/console/audit")
    assert found.status_code == 200
    assert "console.user_disabled" in found.text
    assert "127.0.0.1" in found.text  # from where
    assert "{&#34;active&#34;: true}" in found.text  # before (HTML-escaped JSON)
    assert "{&#34;active&#34;: false}" in found.text  # after
    assert "共 1 条" in found.text
    assert everything.status_code == 200


def test_sql_looking_and_wildcard_filters_are_plain_strings(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "auditor")) as auditor:
        pages = [
            auditor.get("/console/audit", params={"user": "' OR 1=1 --"}),
            auditor.get("/console/audit", params={"target": "%"}),
            auditor.get("/console/audit", params={"target": "_%_"}),
            auditor.get("/console/audit", params={"day_from": "2026-13-45"}),
        ]
        too_long = auditor.get("/console/audit", params={"user": "x" * 61})
        control = auditor.get("/console/audit", params={"user": "a\x00b"})
    assert [p.status_code for p in pages] == [200, 200, 200, 200]
    assert "共 0 条" in pages[0].text
    assert "共 0 条" in pages[1].text
    assert "共 0 条" in pages[2].text
    assert too_long.status_code == 422
    assert control.status_code in {400, 422}  # a NUL is refused before the page


def test_verify_chain_reports_intact_then_names_the_first_broken_row(
    stack: Any, base_url: str
) -> None:
    make_user(stack, "auditor")  # something to seal
    _seal(stack)
    with stack.container.engines.read.connect() as conn:
        victim = conn.execute(
            select(audit_log.c.id, audit_log.c.actor)
            .where(audit_log.c.hash.is_not(None))
            .order_by(audit_log.c.chain_seq.desc())
            .limit(1)
        ).one()
    with logged_in(base_url, make_user(stack, "auditor")) as auditor:
        page = auditor.get("/console/audit")
        intact = auditor.post("/console/audit/verify", data={"csrf": csrf_of(page.text)})
        with stack.container.engines.write.begin() as conn:
            conn.execute(
                update(audit_log).where(audit_log.c.id == victim.id).values(actor="forged")
            )
        try:
            broken = auditor.post("/console/audit/verify", data={"csrf": csrf_of(page.text)})
        finally:
            with stack.container.engines.write.begin() as conn:
                conn.execute(
                    update(audit_log).where(audit_log.c.id == victim.id).values(actor=victim.actor)
                )
    assert intact.status_code == 200
    assert "哈希链完整" in intact.text
    assert "哈希链已断开" in broken.text
    assert f'id="first-broken">{victim.id}<' in broken.text
    assert audit_rows(stack, "audit.chain_verified", "audit_log")


def test_roles_without_the_audit_permission_get_403(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    for user in (
        make_user(stack, "finance_reviewer"),
        make_user(stack, "unit_admin", unit_id=unit_id),
        make_user(stack, "cashier", unit_id=unit_id),
    ):
        with logged_in(base_url, user) as client:
            assert client.get("/console/audit").status_code == 403
            page = client.get("/console")
            verify = client.post("/console/audit/verify", data={"csrf": csrf_of(page.text)})
            assert verify.status_code == 403


def test_a_district_auditor_sees_only_its_users_actions(stack: Any, base_url: str) -> None:
    from tests.integration.console_kit import ensure_region

    ensure_region(stack, "330110", "余杭区", "330100")
    outsider = make_user(stack, "finance_admin")  # the platform's district, not 330110
    with logged_in(base_url, outsider):
        pass
    local = make_user(stack, "auditor", region_code="330110")
    with logged_in(base_url, local) as client:
        mine = client.get("/console/audit", params={"user": local.username})
        theirs = client.get("/console/audit", params={"user": outsider.username})
    assert "console.login_succeeded" in mine.text
    assert "共 0 条" in theirs.text


def test_a_row_is_found_the_same_before_and_after_the_worker_seals_it(
    stack: Any, base_url: str
) -> None:
    """The viewer's indexes hold sealed rows only (migration 0033); an unsealed row is found
    through the chain's own index, so a filter finds it once either way."""
    victim = _disabled_user(stack, base_url)
    query = {"target": victim.username, "action": "console.user_disabled"}
    with logged_in(base_url, make_user(stack, "auditor")) as auditor:
        with stack.container.read_uow() as uow:
            waiting = uow.connection.execute(
                select(audit_log.c.chain_seq).where(audit_log.c.target == victim.username)
            ).all()
        before = auditor.get("/console/audit", params=query)
        _seal(stack)
        after = auditor.get("/console/audit", params=query)
    assert waiting
    assert all(row.chain_seq is None for row in waiting)
    for page in (before, after):
        assert page.status_code == 200
        assert "共 1 条" in page.text
        assert "console.user_disabled" in page.text
