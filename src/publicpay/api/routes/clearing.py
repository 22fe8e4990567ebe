"""Clearing instructions through the API (finance credential): the 5408 voucher of a window."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response

from publicpay.api.auth import finance_client
from publicpay.api.deps import container
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound
from publicpay.domain.units import ApiClient

router = APIRouter(prefix="/api/v1", tags=["clearing (finance API)"])


@router.get(
    "/clearing/windows/{window_id}/voucher.xml",
    summary="清算窗口的 5408 缴库凭证（XML）",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "5408 缴库凭证"}},
)
def voucher(
    window_id: int = Path(ge=1, le=2**62, description="清算窗口编号"),
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> Response:
    with c.read_uow() as uow:
        xml = uow.clearing.voucher(window_id)
    if not xml:
        raise NotFound("清算窗口不存在或尚未生成缴库凭证")
    name = f"voucher-5408-{window_id}.xml"
    return Response(
        xml.encode("utf-8"),
        media_type="application/xml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
