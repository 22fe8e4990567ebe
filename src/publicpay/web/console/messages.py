"""缴款人消息: the messages pushed to payers (N3) — the link to pay on registration, the link to
the payment and e-receipt on payment — with their text, masked recipient and delivery state.
The demo's sender only writes a log, so this page is where the demo's messages are read.
Scope is in the query: the viewer's units only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from publicpay.adapters.db.queries.units import visible_units
from publicpay.adapters.messages.senders import LogSender
from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
from publicpay.domain.messages import (
    MESSAGE_CHANNEL_LABELS,
    MESSAGE_KIND_LABELS,
    MESSAGE_STATUS_LABELS,
)
from publicpay.settings import Mode
from publicpay.web.console.pages import PATH, Viewer, container, render, require, viewer

router = APIRouter(prefix=PATH, include_in_schema=False)
SHOWN = 200


@router.get("/messages")
def messages_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_MESSAGES)
    with c.read_uow() as uow:
        units = {u.id: u.name for u in visible_units(uow.connection, v.actor)}
        rows = uow.messages.recent(frozenset(units), SHOWN) if units else []
    context = {
        "rows": rows,
        "units": units,
        "kinds": MESSAGE_KIND_LABELS,
        "statuses": MESSAGE_STATUS_LABELS,
        "channels": MESSAGE_CHANNEL_LABELS,
        "shown": SHOWN,
        "sender": c.settings.message_sender,
        # the demo sender's log (not a production sender): e.g. the portal's one-time codes
        "logged": _demo_log(c, v),
    }
    return render(request, "messages.html", context, viewer=v)


def _demo_log(c: Container, v: Viewer) -> list[tuple[object, str, str, str]]:
    """The messages of no unit the demo's log sender wrote — the portal's one-time codes,
    never stored — for a viewer not limited to a unit or region, outside production only."""
    sender = c.message_sender
    if c.settings.mode is Mode.PRODUCTION or not isinstance(sender, LogSender):
        return []
    if v.actor.unit_id is not None or v.actor.region_code is not None:
        return []
    return list(sender.logged(unit_less=True))
