"""Unit API: register, read, cancel payables (signed requests).

Registration is the hot path: `register_hot` serves it (app.py puts it ahead of the FastAPI
routes) with plain calls instead of FastAPI's dependency solving and one threadpool hop; the
FastAPI declaration below documents the contract in /openapi.json and runs the same code.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from publicpay.api import threads
from publicpay.api.auth import SignedCall, signed_call, unit_call, unit_client
from publicpay.api.deps import body_bytes, container
from publicpay.api.params import PaymentCode
from publicpay.api.presenters import new_payable_out, payable_out
from publicpay.api.schemas import NO_CONTROLS, PayableIn, PayableOut
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payables import LineRequest, Payer, PayerType
from publicpay.domain.units import ApiClient
from publicpay.services.payables.registration import (
    RegisterPayable,
    cancel_payable,
    register_payable,
)

router = APIRouter(prefix="/api/v1", tags=["payables (unit API)"])


@router.post(
    "/payables",
    response_model=PayableOut,
    status_code=201,
    summary="登记应缴款（同一 biz_no 同一内容返回 200，不同内容 409）",
)
def register(
    body: PayableIn, call: SignedCall = Depends(unit_call), c: Container = Depends(container)
) -> Response:
    return registered_response(c, call, body)


_PAYABLE_IN: TypeAdapter[PayableIn] = TypeAdapter(PayableIn)


async def register_hot(request: Request) -> Response:
    """`register` without FastAPI's machinery, in FastAPI's order: the JSON body is parsed
    (malformed: 400), the signature checked (401), then the body validated (422)."""
    c: Container = request.app.state.container
    raw = await body_bytes(request)
    data = _json_body(request, raw)
    call = await unit_call(await signed_call(request, raw, c))
    try:
        body = _PAYABLE_IN.validate_python(data, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=data) from exc
    return await threads.run(request, registered_response, c, call, body)


def _json_body(request: Request, raw: bytes) -> Any:
    """The body as FastAPI reads it: JSON when declared so, else the bytes (or nothing)."""
    if not raw:
        return None
    declared = request.headers.get("content-type")
    if not declared or not _declares_json(declared):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _malformed(exc.pos, exc.msg) from exc
    except (UnicodeDecodeError, RecursionError) as exc:  # not UTF-8, or nested too deep
        raise _malformed(0, type(exc).__name__) from exc


@lru_cache(maxsize=64)
def _declares_json(declared: str) -> bool:
    """FastAPI's test (through `email.message`): an `application/json` or `application/*+json`
    media type, parameters aside; a value that is not one `type/subtype` is text/plain."""
    message = email.message.Message()
    message["content-type"] = declared
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _malformed(position: int, reason: str) -> RequestValidationError:
    error = {
        "type": "json_invalid",
        "loc": ("body", position),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": reason},
    }
    return RequestValidationError([error], body=None)


def command_from(unit_id: int, body: PayableIn) -> RegisterPayable:
    return RegisterPayable(
        unit_id=unit_id,
        biz_no=body.biz_no,
        payer=Payer(
            body.payer.name, PayerType(body.payer.type), body.payer.id_no, body.payer.phone
        ),
        items=tuple(LineRequest(i.item_code, i.quantity, i.amount_fen) for i in body.items),
        due_date=body.due_date,
        remark=body.remark,
        extra=dict(body.attributes or {}),  # business attributes (W1+), in the fingerprint
    )


def command_from_record(unit_id: int, record: Mapping[str, Any]) -> RegisterPayable:
    """A business system's answer to a record query (window POS): the registration body,
    checked exactly as `POST /api/v1/payables` checks it (ValidationFailed naming the fields)."""
    try:
        body = _PAYABLE_IN.validate_python(dict(record))
    except ValidationError as exc:
        fields = {
            ".".join(str(part) for part in e["loc"]) or "payable": e["msg"]
            for e in exc.errors(include_url=False)
        }
        raise ValidationFailed(
            "业务记录字段有误：" + "；".join(sorted(fields)), errors=fields
        ) from exc
    return command_from(unit_id, body)


def registered_response(c: Container, call: SignedCall, body: PayableIn) -> Response:
    assert call.client.unit_id is not None
    cmd = command_from(call.client.unit_id, body)
    uow = c.uow(nonce=call.nonce)  # the nonce is claimed in the registration's transaction
    result = register_payable(
        uow, cmd, region_code=c.settings.region_code, clock=c.clock,
        serial_floor=c.serial_floor(),
    )  # fmt: skip
    if result.created:
        out, status_code = new_payable_out(c, result.payable), 201
    else:
        out, status_code = payable_out(c, result.payable), 200
    # serialised here once (FastAPI would validate the model again); the schema stays documented
    return Response(out.model_dump_json(), status_code=status_code, media_type="application/json")


@router.get("/payables/{payment_code}", response_model=PayableOut, summary="按缴款码查询")
def get_by_code(
    payment_code: PaymentCode,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> PayableOut:
    with c.read_uow() as uow:
        payable = uow.payables.by_code(payment_code)
    if payable is None or payable.unit_id != client.unit_id:
        raise NotFound(f"缴款码 {payment_code} 不存在")
    return payable_out(c, payable)


@router.get("/payables", response_model=PayableOut, summary="按业务编号查询")
def get_by_biz_no(
    biz_no: str = Query(min_length=1, max_length=64, pattern=NO_CONTROLS),
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> PayableOut:
    assert client.unit_id is not None
    with c.read_uow() as uow:
        payable = uow.payables.by_biz_nos(client.unit_id, [biz_no]).get(biz_no)
    if payable is None:
        raise NotFound(f"业务编号 {biz_no} 未登记")
    return payable_out(c, payable)


@router.post(
    "/payables/{payment_code}/cancel", response_model=PayableOut, summary="撤销（仅限未缴款）"
)
def cancel(
    payment_code: PaymentCode,
    client: ApiClient = Depends(unit_client),
    c: Container = Depends(container),
) -> PayableOut:
    assert client.unit_id is not None
    payable = cancel_payable(c.uow(), payment_code, unit_id=client.unit_id, clock=c.clock)
    return payable_out(c, payable)
