"""Request and response bodies of the JSON API (documented in /openapi.json)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError

# Text fields refuse control characters (NUL would not even reach PostgreSQL, which refuses it in
# text; line breaks have no place in a name or a number). Multi-line text (PEM keys) keeps
# tab, line feed and carriage return.
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
EARLIEST = date(2000, 1, 1)
YEARS_AHEAD = 10


def _plausible_date(value: date) -> date:
    latest = date.today() + timedelta(days=366 * YEARS_AHEAD)
    if not EARLIEST <= value <= latest:
        raise PydanticCustomError(
            "date_out_of_range",
            "日期超出允许范围（2000-01-01 至今后 {years} 年）",
            {"years": YEARS_AHEAD},
        )
    return value


def _plausible_time(value: datetime) -> datetime:
    _plausible_date(value.date())
    return value


# Dates and times from 2000 up to ten years ahead (year 1 or 9999 would overflow date sums).
PlausibleDate = Annotated[date, AfterValidator(_plausible_date)]
PlausibleDatetime = Annotated[AwareDatetime, AfterValidator(_plausible_time)]


def text(default: Any = ..., *, max_length: int, min_length: int = 0, description: str) -> Any:
    """A text field: bounded, no control characters (documented as a pattern)."""
    return Field(
        default,
        min_length=min_length or None,
        max_length=max_length,
        pattern=NO_CONTROLS,
        description=description,
    )


class Strict(BaseModel):
    """Request bodies: unknown fields refused; integers are JSON integers (`"1"`, `true`
    and `1.0` are refused: `StrictInt`)."""

    model_config = ConfigDict(extra="forbid")


class PayerIn(Strict):
    name: str = text(min_length=1, max_length=100, description="缴款人姓名或单位名称")
    type: Literal["person", "org"] = Field(
        description="person=个人（公民身份号码），org=单位（统一社会信用代码）"
    )
    id_no: str = text(
        min_length=1,
        max_length=32,
        description="公民身份号码(GB 11643)或统一社会信用代码(GB 32100)",
    )
    phone: str | None = text(None, max_length=20, description="手机号码，11位")


class LineIn(Strict):
    item_code: str = text(min_length=1, max_length=20, description="非税收入项目编码")
    quantity: StrictInt = Field(default=1, ge=1, le=100000, description="数量")
    amount_fen: StrictInt | None = Field(
        default=None,
        ge=1,
        le=10**13,
        description="金额（分）。固定标准可省略；区间或决定类标准必填",
    )


class PayableIn(Strict):
    biz_no: str = text(
        min_length=1, max_length=64, description="单位业务编号，单位内唯一（幂等键）"
    )
    payer: PayerIn = Field(description="缴款人")
    items: list[LineIn] = Field(min_length=1, max_length=50, description="收费项目明细，1–50 行")
    due_date: PlausibleDate | None = Field(
        default=None,
        description="缴款期限（罚没项目逾期每日按罚款数额的3%加处罚款）；2000-01-01 至今后10年",
    )
    remark: str = text("", max_length=500, description="备注")
    attributes: dict[str, str] | None = Field(
        default=None,
        description=(
            "业务属性（窗口按此查找业务记录）：plate_no 号牌号码、licence_no 驾驶证号、"
            "case_no 案件编号等，字符串，最多10项；加密存储，按密钥散列查找"
        ),
    )


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
    amount_fen: int = Field(description="应缴金额（分），不含加处罚款")
    amount_due_fen: int = Field(description="今日应缴金额（分），含罚没项目逾期加处罚款")
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
    url: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="接收通知的 http(s) 地址",
    )


class WebhookEndpointOut(BaseModel):
    url: str
    secret: str = Field(description="Webhook 签名密钥（每次设置都会更换）")


class LookupEndpointIn(Strict):
    url: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="业务系统接收业务记录查询（business.lookup）的 http(s) 地址",
    )


class LookupEndpointOut(BaseModel):
    url: str = Field(description="业务系统查询地址")
    secret: str = Field(description="查询与应答的签名密钥（每次设置都会更换）")


class EventOut(BaseModel):
    cursor: int
    id: str
    type: str
    created_at: str
    data: dict[str, object]


class EventsOut(BaseModel):
    events: list[EventOut]
    next_cursor: int


class BatchRowIn(Strict):
    biz_no: str = text(
        min_length=1,
        max_length=64,
        description="单位业务编号；同一编号的多行为同一缴款单的多个项目",
    )
    payer_name: str = text(
        "", max_length=100, description="缴款人姓名或单位名称（同一业务编号的续行可省略）"
    )
    payer_type: Literal["person", "org"] | None = Field(
        default=None, description="person=个人，org=单位（续行可省略）"
    )
    id_no: str = text("", max_length=32, description="公民身份号码或统一社会信用代码（续行可省略）")
    phone: str | None = text(None, max_length=20, description="手机号码，11位")
    item_code: str = text(min_length=1, max_length=20, description="非税收入项目编码")
    quantity: StrictInt = Field(default=1, ge=1, le=100000, description="数量")
    amount_fen: StrictInt | None = Field(
        default=None,
        ge=1,
        le=10**13,
        description="金额（分）。固定标准可省略；区间或决定类标准必填",
    )
    due_date: PlausibleDate | None = Field(default=None, description="缴款期限（YYYY-MM-DD）")
    remark: str = text("", max_length=500, description="备注")


class BatchIn(Strict):
    rows: list[BatchRowIn] = Field(min_length=1, max_length=5000, description="数据行，1–5000 行")
    file_name: str = text("", max_length=200, description="来源文件名（仅作记录）")


class BatchRowOut(BaseModel):
    row: int = Field(description="行号：文件中的行号（表头为第1行），JSON 提交时为第几行（从1起）")
    biz_no: str
    payer_name: str = Field(description="缴款人姓名或单位名称")
    item_code: str
    quantity: int
    status: Literal["accepted", "existing", "refused"] = Field(
        description="accepted=无误（已登记，或预览/整批未通过时可登记），existing=此前已登记（内容相同），"
        "refused=拒绝（原因见 errors）"
    )
    status_label: str
    amount_fen: int | None = Field(description="该行金额（分），按收费标准计算；拒绝的行为空")
    payment_code: str | None = Field(description="缴款码（已登记或此前已登记时）")
    errors: dict[str, str] = Field(
        description="拒绝原因，按字段：payer.id_no、item_code、quantity …"
    )


class BatchOut(BaseModel):
    id: int = Field(description="批次编号")
    status: Literal["dry_run", "registered", "refused"] = Field(
        description="dry_run=预览（未登记），registered=无误的缴款单已登记，refused=有错误，整批未登记"
    )
    status_label: str
    source: str = Field(description="提交格式：csv、xlsx、json")
    file_name: str = Field(description="来源文件名")
    file_sha256: str = Field(description="所提交文件（请求体）的 SHA-256")
    accept_partial: bool = Field(description="是否只登记无误的行（有错误的行不登记）")
    created_at: str
    row_count: int = Field(description="数据行数")
    payable_count: int = Field(description="缴款单数（不同的业务编号数）")
    accepted_count: int = Field(description="无误的行数")
    existing_count: int = Field(description="此前已登记的行数")
    refused_count: int = Field(description="拒绝的行数")
    created_count: int = Field(description="本批新登记的缴款单数")
    amount_fen: int = Field(description="无误的行金额合计（分）")
    report_xlsx_url: str = Field(description="逐行结果 Excel 下载地址（签名 GET）")
    rows: list[BatchRowOut] = Field(description="逐行结果，按行号排列")


# ---------------------------------------------------------------- refunds (issue 11)


class PayeeIn(Strict):
    name: str = text(min_length=1, max_length=100, description="收款人户名")
    bank: str = text(min_length=1, max_length=100, description="开户银行（含支行）")
    account_no: str = text(min_length=1, max_length=40, description="收款账号（银行卡号校验位）")


class RefundIn(Strict):
    amount_fen: StrictInt = Field(ge=1, le=10**13, description="退款金额（分）")
    reason: str = text(min_length=1, max_length=200, description="退款原因")
    payee: PayeeIn | None = Field(
        default=None, description="柜台或现金缴款必填：退款转入的银行账户（其他渠道原路退回）"
    )


class RefundDecisionIn(Strict):
    note: str = text("", max_length=200, description="审批意见（驳回时必填）")


class RefundOut(BaseModel):
    refund_no: str = Field(description="退款单号（渠道 out_request_no / out_refund_no）")
    status: Literal[
        "pending_approval", "approved", "declined", "processing", "succeeded", "failed"
    ] = Field(description="退款状态")
    amount_fen: int = Field(description="退款金额（分）")
    payment_code: str = Field(description="缴款码")
    reason: str = Field(description="退款原因")
    channel: str = Field(description="原缴款渠道")
    approvals_required: int = Field(description="需要的审批人数（超过限额为2）")
    approvals: int = Field(description="已审批人数")
    decision_note: str = Field(description="审批意见")
    payee_account_masked: str | None = Field(description="银行转账退款的收款账号（脱敏）")
    created_at: str = Field(description="申请时间（UTC）")
    completed_at: str | None = Field(description="完成时间（UTC）")


class RefundsOut(BaseModel):
    refunds: list[RefundOut]
