"""Channel notifications in (支付宝/微信支付/银联 异步通知).

`notify_hot` serves `POST /api/v1/notify/{channel}` (app.py puts it ahead of the FastAPI
routes): plain calls and one threadpool hop; the FastAPI declarations document the routes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import Headers

from publicpay.api import threads
from publicpay.api.deps import body_bytes, container
from publicpay.api.params import RowId
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.notifications import handle_notification

router = APIRouter(prefix="/api/v1/notify", tags=["channel notifications"])


@router.post("/{channel}", summary="渠道异步通知（按渠道协议应答）")
def notify(
    channel: str,
    request: Request,
    body: bytes = Depends(body_bytes),
    c: Container = Depends(container),
) -> Response:
    return answer(c, channel, request.headers, body)


async def notify_hot(request: Request) -> Response:
    """`notify` without FastAPI's dependency solving."""
    c: Container = request.app.state.container
    body = await body_bytes(request)
    channel: str = request.path_params["channel"]
    return await threads.run(request, answer, c, channel, request.headers, body)


@router.post("/{channel}/{account_id}", summary="渠道异步通知（指定商户账户，按渠道协议应答）")
def notify_account(
    channel: str,
    account_id: RowId,
    request: Request,
    body: bytes = Depends(body_bytes),
    c: Container = Depends(container),
) -> Response:
    """Orders opened with a unit's or region's own merchant account name it in their notify URL,
    so that account's keys verify the notification."""
    return answer(c, channel, request.headers, body, account_id)


def answer(
    c: Container,
    channel: str,
    headers: Headers,
    body: bytes,
    account_id: int | None = None,
) -> Response:
    try:
        which = Channel(channel)
    except ValueError as exc:
        raise NotFound(f"未知渠道 {channel}") from exc
    ack = handle_notification(
        c.uow, c.gateways, which, _first_values(headers), body, clock=c.clock, account_id=account_id
    )
    return Response(ack.body, status_code=ack.status_code, media_type=ack.media_type)


def _first_values(headers: Headers) -> dict[str, str]:
    """The request's headers as a dict, each name with its first value, as `dict(headers)`
    makes it, without `dict`'s scan of the whole list for each name (half the instructions)."""
    return dict(reversed(headers.items()))
