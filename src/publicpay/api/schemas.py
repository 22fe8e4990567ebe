"""Request and response bodies of the JSON API (documented in /openapi.json)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PayerIn(Strict):
    name: str = Field(min_length=1, max_length=100, description="缴款人姓名或单位名称")
    type: Literal["person", "org"] = Field(
        description="person=个人（公民身份号码），org=单位（统一社会信用代码）"
    )
    id_no: str = Field(
        min_length=1,
        max_length=32,
        description="公民身份号码(GB 11643)或统一社会信用代码(GB 32100)",
    )
    phone: str | None = Field(default=None, max_length=20, description="手机号码，11位")


class LineIn(Strict):
    item_code: str = Field(min_length=1, max_length=20, description="非税收入项目编码")
    quantity: int = Field(default=1, ge=1, le=100000, description="数量")
    amount_fen: int | None = Field(
        default=None,
        ge=1,
        le=10**13,
        description="金额（分）。固定标准可省略；区间或决定类标准必填",
    )


class PayableIn(Strict):
    biz_no: str = Field(
        min_length=1, max_length=64, description="单位业务编号，单位内唯一（幂等键）"
    )
    payer: PayerIn = Field(description="缴款人")
    items: list[LineIn] = Field(min_length=1, max_length=50, description="收费项目明细，1–50 行")
    due_date: date | None = Field(
        default=None, description="缴款期限（罚没项目逾期按日加收3%滞纳金）"
    )
    remark: str = Field(default="", max_length=500, description="备注")


class ReceiptRef(BaseModel):
    code: str
    number: str
    check_code: str
    xml_url: str
    pdf_url: str


class LineOut(BaseModel):
    item_code: str
    item_name: str
    unit_of_measure: str
    quantity: int
    standard_fen: int
    amount_fen: int


class PayableOut(BaseModel):
    payment_code: str = Field(description="20位缴款码（含校验位）")
    biz_no: str
    status: str = Field(description="unpaid|paid|partially_refunded|refunded|cancelled|expired")
    amount_fen: int = Field(description="应缴金额（分），不含滞纳金")
    amount_due_fen: int = Field(description="今日应缴金额（分），含滞纳金")
    payer: dict[str, str] = Field(description="缴款人（证件号已脱敏）")
    lines: list[LineOut]
    due_date: date | None
    remark: str
    created_at: str
    paid_at: str | None = None
    paid_fen: int | None = None
    channel: str | None = None
    refunded_fen: int = 0
    pay_url: str
    notice_pdf_url: str
    receipt: ReceiptRef | None = None


class OrderIn(Strict):
    channel: Literal["alipay", "wechat", "unionpay", "aggregate"] = Field(
        description="支付渠道；aggregate=聚合码（任意钱包扫码）"
    )
    method: Literal["qr"] = Field(default="qr", description="qr=缴款人扫码（主扫）")


class OrderOut(BaseModel):
    order_no: str
    qr_code: str
    channel: str
    amount_fen: int
    expires_at: str


class WebhookEndpointIn(Strict):
    url: str = Field(min_length=1, max_length=500, description="接收通知的 http(s) 地址")


class WebhookEndpointOut(BaseModel):
    url: str
    secret: str = Field(description="Webhook 签名密钥（每次设置都会更换）")


class EventOut(BaseModel):
    cursor: int
    id: str
    type: str
    created_at: str
    data: dict[str, object]


class EventsOut(BaseModel):
    events: list[EventOut]
    next_cursor: int
