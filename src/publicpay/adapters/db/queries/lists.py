"""The console's lists (payables, payment orders, receipts, events, webhook deliveries): one
declaration per list — its rows' source, columns, filters and sort keys — and one way to run
any of them, a page at a time for the screen or every row streamed for an export.

Every statement is filtered by the acting user's scope in its WHERE clause (`scope.unit_scope`
over the row's unit), paginated and sorted by the database. Search values are bound
parameters (an SQL-looking string is only a string that matches nothing). A payer's ID number
and phone are never searched in clear: the value typed is turned into the same keyed hash the
payable stores (`Hasher`), and the list shows the masked ID.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from psycopg import ClientCursor
from sqlalchemy import Connection, String, and_, case, cast, exists, func, literal, select
from sqlalchemy.sql import ColumnElement, FromClause

from publicpay.adapters.db.devices import devices
from publicpay.adapters.db.dialects import local_time_text
from publicpay.adapters.db.events import events, webhook_deliveries
from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payable_lines, payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.scope import unit_scope
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.adapters.db.units import sites, units, windows
from publicpay.domain.access import Actor, region_prefix
from publicpay.domain.catalogue import BudgetLevel
from publicpay.domain.codes import normalise_citizen_id
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.ledger import treasury_payable
from publicpay.domain.payables import phone_search_key
from publicpay.domain.statistics import (
    CHANNEL_LABELS,
    DELIVERY_LABELS,
    LEVEL_LABELS,
    METHOD_LABELS,
    ORDER_STATUS_LABELS,
    PAYABLE_STATUS_LABELS,
    RECEIPT_KIND_LABELS,
    RECEIPT_STATUS_LABELS,
    parse_day,
)
from publicpay.domain.time import SHANGHAI

PAGE_SIZES = (20, 50, 100)
STREAM_BATCH = 2000  # rows fetched at a time by an export (a server-side cursor on PostgreSQL)


class Kind(StrEnum):
    """How a column's value is shown and exported."""

    TEXT = "text"
    CODE = "code"  # monospaced identifiers
    MONEY = "money"  # integer fen
    TIME = "time"  # a UTC timestamp, shown in Asia/Shanghai
    NUMBER = "number"
    LABEL = "label"  # a code shown by its Chinese label


class Match(StrEnum):
    """How a filter's value narrows the rows."""

    EXACT = "exact"
    PAYER_ID = "payer_id"  # keyed hash of the ID number
    PHONE = "phone"  # keyed hash of the phone number
    DAY_FROM = "day_from"  # a business day, Asia/Shanghai
    DAY_TO = "day_to"
    HOUR = "hour"  # 0–23 within the one day chosen (trend drill-down)
    ID = "id"  # a numeric id (unit, site, window, device)
    CHOICE = "choice"  # one of the list's codes
    ITEM = "item"  # payables with a line of this fee item
    LEVEL = "level"  # payments with a share for this budget level
    REGION = "region"  # units of this region and below


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str
    expr: Any
    kind: Kind = Kind.TEXT
    labels: Mapping[Any, str] | None = None  # StrEnum keys: looked up by the stored text

    def text(self, value: Any) -> str:
        if self.labels is not None and value is not None:
            return self.labels.get(str(value), str(value))
        return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Filter:
    key: str
    label: str
    match: Match
    expr: Any = None
    choices: Mapping[Any, str] | None = None


@dataclass(frozen=True, slots=True)
class ListSpec:
    name: str  # the URL: /console/<name>
    title: str
    source: FromClause
    fields: tuple[Field, ...]
    filters: tuple[Filter, ...]
    sorts: Mapping[str, Any]
    default_sort: str  # "-key" for descending
    unit_id: Any
    region: Any
    link: str = ""  # the field whose value opens the row's detail
    time_column: Any = None  # what DAY_FROM/DAY_TO/HOUR filter
    tiebreak: Any = None  # a unique column: rows equal on the sort key keep one order

    def filter(self, key: str) -> Filter | None:
        return next((f for f in self.filters if f.key == key), None)


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    page: int = 1
    size: int = PAGE_SIZES[0]


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    total: int
    query: ListQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.size))


Hasher = Callable[[str], str]  # payer ID number or phone → the keyed hash stored for search


# --- the five lists ---------------------------------------------------------------------------

_UNIT = Field("unit_name", "执收单位", units.c.name)

PAYABLES = ListSpec(
    name="payables",
    title="缴款单",
    source=payables.join(units, units.c.id == payables.c.unit_id),
    fields=(
        Field("payment_code", "缴款码", payables.c.payment_code, Kind.CODE),
        Field("biz_no", "业务单号", payables.c.biz_no, Kind.CODE),
        _UNIT,
        Field("payer_name", "缴款人", payables.c.payer_name),
        Field("payer_id_masked", "证件号码", payables.c.payer_id_masked, Kind.CODE),
        Field("amount_fen", "应缴金额", payables.c.amount_fen, Kind.MONEY),
        Field(
            "status",
            "状态",
            payables.c.status,
            Kind.LABEL,
            PAYABLE_STATUS_LABELS,
        ),
        Field("channel", "缴款渠道", payables.c.channel, Kind.LABEL, CHANNEL_LABELS),
        Field("created_at", "登记时间", payables.c.created_at, Kind.TIME),
        Field("paid_at", "缴款时间", payables.c.paid_at, Kind.TIME),
    ),
    filters=(
        Filter("payment_code", "缴款码", Match.EXACT, payables.c.payment_code),
        Filter("biz_no", "业务单号", Match.EXACT, payables.c.biz_no),
        Filter("payer_id", "证件号码", Match.PAYER_ID, payables.c.payer_id_hash),
        Filter("phone", "手机号码", Match.PHONE, payables.c.payer_phone_hash),
        Filter("unit_id", "执收单位", Match.ID, payables.c.unit_id),
        Filter("item", "收费项目", Match.ITEM),
        Filter(
            "status",
            "状态",
            Match.CHOICE,
            payables.c.status,
            PAYABLE_STATUS_LABELS,
        ),
        Filter("channel", "缴款渠道", Match.CHOICE, payables.c.channel, CHANNEL_LABELS),
        Filter("date_from", "登记日期起", Match.DAY_FROM),
        Filter("date_to", "登记日期止", Match.DAY_TO),
    ),
    sorts={
        "created_at": payables.c.created_at,
        "paid_at": payables.c.paid_at,
        "amount_fen": payables.c.amount_fen,
        "payment_code": payables.c.payment_code,
    },
    default_sort="-created_at",
    unit_id=payables.c.unit_id,
    region=units.c.region_code,
    link="payment_code",
    time_column=payables.c.created_at,
    tiebreak=payables.c.id,
)

ORDERS = ListSpec(
    name="orders",
    title="支付订单",
    source=payment_orders.join(payables, payables.c.id == payment_orders.c.payable_id)
    .join(units, units.c.id == payables.c.unit_id)
    .outerjoin(sites, sites.c.id == payment_orders.c.site_id)
    .outerjoin(windows, windows.c.id == payment_orders.c.window_id)
    .outerjoin(devices, devices.c.id == payment_orders.c.device_id),
    fields=(
        Field("order_no", "订单号", payment_orders.c.order_no, Kind.CODE),
        Field("payment_code", "缴款码", payables.c.payment_code, Kind.CODE),
        _UNIT,
        Field("payer_name", "缴款人", payables.c.payer_name),
        Field("channel", "渠道", payment_orders.c.channel, Kind.LABEL, CHANNEL_LABELS),
        Field(
            "method",
            "方式",
            payment_orders.c.method,
            Kind.LABEL,
            METHOD_LABELS,
        ),
        Field("amount_fen", "金额", payment_orders.c.amount_fen, Kind.MONEY),
        Field("status", "状态", payment_orders.c.status, Kind.LABEL, ORDER_STATUS_LABELS),
        Field("created_at", "下单时间", payment_orders.c.created_at, Kind.TIME),
        Field("paid_at", "支付时间", payment_orders.c.paid_at, Kind.TIME),
        Field("site_name", "网点", sites.c.name),
        Field("window_no", "窗口", windows.c.number, Kind.CODE),
        Field("device_name", "终端", devices.c.name),
        Field("channel_trade_no", "渠道交易号", payment_orders.c.channel_trade_no, Kind.CODE),
    ),
    filters=(
        Filter("order_no", "订单号", Match.EXACT, payment_orders.c.order_no),
        Filter("payment_code", "缴款码", Match.EXACT, payables.c.payment_code),
        Filter("biz_no", "业务单号", Match.EXACT, payables.c.biz_no),
        Filter("payer_id", "证件号码", Match.PAYER_ID, payables.c.payer_id_hash),
        Filter("phone", "手机号码", Match.PHONE, payables.c.payer_phone_hash),
        Filter("unit_id", "执收单位", Match.ID, payables.c.unit_id),
        Filter("region", "行政区划", Match.REGION, units.c.region_code),
        Filter("item", "收费项目", Match.ITEM),
        Filter("level", "预算级次", Match.LEVEL, choices=LEVEL_LABELS),
        Filter("status", "状态", Match.CHOICE, payment_orders.c.status, ORDER_STATUS_LABELS),
        Filter("channel", "渠道", Match.CHOICE, payment_orders.c.channel, CHANNEL_LABELS),
        Filter("site_id", "网点", Match.ID, payment_orders.c.site_id),
        Filter("window_id", "窗口", Match.ID, payment_orders.c.window_id),
        Filter("device_id", "终端", Match.ID, payment_orders.c.device_id),
        Filter("date_from", "支付日期起", Match.DAY_FROM),
        Filter("date_to", "支付日期止", Match.DAY_TO),
        Filter("hour", "时段", Match.HOUR),
    ),
    sorts={
        "paid_at": payment_orders.c.paid_at,
        "created_at": payment_orders.c.created_at,
        "amount_fen": payment_orders.c.amount_fen,
        "order_no": payment_orders.c.order_no,
    },
    default_sort="-created_at",
    unit_id=payables.c.unit_id,
    region=units.c.region_code,
    link="payment_code",
    time_column=payment_orders.c.paid_at,
    tiebreak=payment_orders.c.id,
)

RECEIPTS = ListSpec(
    name="receipts",
    title="电子票据",
    source=receipts.join(payables, payables.c.id == receipts.c.payable_id).join(
        units, units.c.id == receipts.c.unit_id
    ),
    fields=(
        Field("code", "票据代码", receipts.c.code, Kind.CODE),
        Field("number", "票据号码", receipts.c.number, Kind.CODE),
        Field(
            "kind",
            "种类",
            receipts.c.kind,
            Kind.LABEL,
            RECEIPT_KIND_LABELS,
        ),
        Field(
            "status",
            "状态",
            receipts.c.status,
            Kind.LABEL,
            RECEIPT_STATUS_LABELS,
        ),
        Field("payment_code", "缴款码", payables.c.payment_code, Kind.CODE),
        _UNIT,
        Field("payer_name", "缴款人", payables.c.payer_name),
        Field("total_fen", "金额", receipts.c.total_fen, Kind.MONEY),
        Field("issued_at", "开票时间", receipts.c.issued_at, Kind.TIME),
        Field("print_count", "打印次数", receipts.c.print_count, Kind.NUMBER),
    ),
    filters=(
        Filter("number", "票据号码", Match.EXACT, receipts.c.number),
        Filter("payment_code", "缴款码", Match.EXACT, payables.c.payment_code),
        Filter("biz_no", "业务单号", Match.EXACT, payables.c.biz_no),
        Filter("payer_id", "证件号码", Match.PAYER_ID, payables.c.payer_id_hash),
        Filter("unit_id", "执收单位", Match.ID, receipts.c.unit_id),
        Filter(
            "status",
            "状态",
            Match.CHOICE,
            receipts.c.status,
            RECEIPT_STATUS_LABELS,
        ),
        Filter(
            "kind",
            "种类",
            Match.CHOICE,
            receipts.c.kind,
            RECEIPT_KIND_LABELS,
        ),
        Filter("date_from", "开票日期起", Match.DAY_FROM),
        Filter("date_to", "开票日期止", Match.DAY_TO),
    ),
    sorts={
        "issued_at": receipts.c.issued_at,
        "number": receipts.c.number,
        "total_fen": receipts.c.total_fen,
    },
    default_sort="-issued_at",
    unit_id=receipts.c.unit_id,
    region=units.c.region_code,
    link="payment_code",
    time_column=receipts.c.issued_at,
    tiebreak=receipts.c.id,
)

EVENTS = ListSpec(
    name="events",
    title="业务事件",
    source=events.join(units, units.c.id == events.c.unit_id),
    fields=(
        Field("event_id", "事件编号", events.c.event_id, Kind.CODE),
        Field("type", "事件类型", events.c.type, Kind.CODE),
        _UNIT,
        Field("created_at", "发生时间", events.c.created_at, Kind.TIME),
        Field("delivery", "推送状态", events.c.delivery, Kind.LABEL, DELIVERY_LABELS),
        Field("attempts", "推送次数", events.c.attempts, Kind.NUMBER),
        Field("delivered_at", "送达时间", events.c.delivered_at, Kind.TIME),
    ),
    filters=(
        Filter("event_id", "事件编号", Match.EXACT, events.c.event_id),
        Filter("type", "事件类型", Match.EXACT, events.c.type),
        Filter("unit_id", "执收单位", Match.ID, events.c.unit_id),
        Filter("delivery", "推送状态", Match.CHOICE, events.c.delivery, DELIVERY_LABELS),
        Filter("date_from", "日期起", Match.DAY_FROM),
        Filter("date_to", "日期止", Match.DAY_TO),
    ),
    sorts={"created_at": events.c.created_at, "id": events.c.id},
    default_sort="-id",
    unit_id=events.c.unit_id,
    region=units.c.region_code,
    link="event_id",
    time_column=events.c.created_at,
    tiebreak=events.c.id,
)

DELIVERIES = ListSpec(
    name="deliveries",
    title="推送记录",
    source=webhook_deliveries.join(events, events.c.id == webhook_deliveries.c.event_id).join(
        units, units.c.id == events.c.unit_id
    ),
    fields=(
        Field("event_id", "事件编号", events.c.event_id, Kind.CODE),
        Field("type", "事件类型", events.c.type, Kind.CODE),
        _UNIT,
        Field("attempt", "第几次", webhook_deliveries.c.attempt, Kind.NUMBER),
        Field("url", "推送地址", webhook_deliveries.c.url),
        Field("status_code", "应答码", webhook_deliveries.c.status_code, Kind.NUMBER),
        Field("error", "错误", webhook_deliveries.c.error),
        Field("duration_ms", "耗时(毫秒)", webhook_deliveries.c.duration_ms, Kind.NUMBER),
        Field("at", "推送时间", webhook_deliveries.c.at, Kind.TIME),
    ),
    filters=(
        Filter("event_id", "事件编号", Match.EXACT, events.c.event_id),
        Filter("unit_id", "执收单位", Match.ID, events.c.unit_id),
        Filter(
            "result",
            "结果",
            Match.CHOICE,
            None,
            {"ok": "成功", "failed": "失败"},
        ),
        Filter("date_from", "日期起", Match.DAY_FROM),
        Filter("date_to", "日期止", Match.DAY_TO),
    ),
    sorts={"at": webhook_deliveries.c.at, "id": webhook_deliveries.c.id},
    default_sort="-id",
    unit_id=events.c.unit_id,
    region=units.c.region_code,
    link="event_id",
    time_column=webhook_deliveries.c.at,
    tiebreak=webhook_deliveries.c.id,
)

LISTS: Mapping[str, ListSpec] = {
    s.name: s for s in (PAYABLES, ORDERS, RECEIPTS, EVENTS, DELIVERIES)
}


# --- reading a query from the request --------------------------------------------------------


def parse_query(spec: ListSpec, params: Mapping[str, str]) -> ListQuery:
    """The filters, sort and page asked for; ValidationFailed (with the field) when a value
    cannot be one of this list's (unknown code, bad date, non-numeric id)."""
    filters: dict[str, str] = {}
    for f in spec.filters:
        value = params.get(f.key, "").strip()
        if value:
            _check(f, value)
            filters[f.key] = value
    sort = params.get("sort", "") or spec.default_sort
    if sort.lstrip("-") not in spec.sorts:
        raise ValidationFailed("不支持的排序方式", errors={"sort": sort[:40]})
    page = _positive(params.get("page", "1") or "1", "page", 10**7)
    size = _positive(params.get("size", str(PAGE_SIZES[0])) or "20", "size", PAGE_SIZES[-1])
    return ListQuery(filters, sort, page, size if size in PAGE_SIZES else PAGE_SIZES[0])


def _positive(text: str, name: str, limit: int) -> int:
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 9) or not int(text) > 0:
        raise ValidationFailed("页码应为正整数", errors={name: text[:20]})
    return min(int(text), limit)


def _check(f: Filter, value: str) -> None:
    if len(value) > 64:
        raise ValidationFailed(f"{f.label}过长", errors={f.key: value[:20]})
    if f.match in (Match.DAY_FROM, Match.DAY_TO):
        parse_day(value, f.key)
    elif f.match is Match.ID and not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ValidationFailed(f"{f.label}编号应为数字", errors={f.key: value[:20]})
    elif f.match is Match.HOUR and not (value.isascii() and value.isdigit() and int(value) < 24):
        raise ValidationFailed("时段应为 0 至 23", errors={f.key: value[:20]})
    elif f.match is Match.REGION and not (value.isascii() and value.isdigit() and len(value) == 6):
        raise ValidationFailed("行政区划代码应为6位数字", errors={f.key: value[:20]})
    elif f.choices is not None and value not in f.choices:
        raise ValidationFailed(f"未知的{f.label}：{value[:20]}", errors={f.key: value[:20]})


# --- building and running the statement ------------------------------------------------------


def conditions(
    spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher
) -> list[ColumnElement[bool]]:
    where = [unit_scope(actor, spec.unit_id, spec.region)]
    for key, value in query.filters.items():
        f = spec.filter(key)
        assert f is not None, key
        where.append(_condition(spec, f, value, query, hasher))
    return where


def _condition(
    spec: ListSpec, f: Filter, value: str, query: ListQuery, hasher: Hasher
) -> ColumnElement[bool]:
    match f.match:
        case Match.EXACT | Match.CHOICE if f.key != "result":
            return f.expr == value  # type: ignore[no-any-return]
        case Match.CHOICE:  # deliveries: a 2xx answer or not
            ok = webhook_deliveries.c.status_code.between(200, 299)
            return ok if value == "ok" else ~ok | webhook_deliveries.c.status_code.is_(None)
        case Match.PAYER_ID:
            return f.expr == hasher(normalise_citizen_id(value))  # type: ignore[no-any-return]
        case Match.PHONE:
            return f.expr == hasher(phone_search_key(value))  # type: ignore[no-any-return]
        case Match.ID:
            return f.expr == int(value)  # type: ignore[no-any-return]
        case Match.REGION:
            return f.expr.like(region_prefix(value) + "%")  # type: ignore[no-any-return]
        case Match.DAY_FROM:
            return spec.time_column >= _midnight(parse_day(value, f.key))  # type: ignore[no-any-return]
        case Match.DAY_TO:
            end = _midnight(parse_day(value, f.key) + timedelta(days=1))
            return spec.time_column < end  # type: ignore[no-any-return]
        case Match.HOUR:
            return _hour(spec, query, int(value))
        case Match.ITEM:
            return exists().where(
                payable_lines.c.payable_id == payables.c.id, payable_lines.c.item_code == value
            )
        case Match.LEVEL:
            return exists().where(
                ledger_journals.c.ref == payment_orders.c.order_no,
                ledger_journals.c.kind == "payment",
                ledger_postings.c.journal_id == ledger_journals.c.id,
                ledger_postings.c.account == treasury_payable(BudgetLevel(value)),
            )
    raise AssertionError(f.match)


def _hour(spec: ListSpec, query: ListQuery, hour: int) -> ColumnElement[bool]:
    """The hour of the day chosen (`date_from`, else every day's rows are narrowed to it is
    not offered: a trend's hour is always within one day)."""
    day_text = query.filters.get("date_from") or query.filters.get("date_to")
    if not day_text:
        raise ValidationFailed("按时段查询须同时指定日期", errors={"hour": str(hour)})
    start = datetime.combine(parse_day(day_text, "date_from"), time(hour), SHANGHAI)
    column = spec.time_column
    return and_(column >= start, column < start + timedelta(hours=1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def _ordered(spec: ListSpec, sort: str) -> list[Any]:
    column = spec.sorts[sort.lstrip("-")]
    descending = sort.startswith("-")
    return [
        column.desc() if descending else column.asc(),
        spec.tiebreak.desc() if descending else spec.tiebreak.asc(),
    ]


def statement(
    spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher, *, times_as_text: bool = False
) -> Any:
    """`times_as_text`: times as Asia/Shanghai text formatted by the database (exports)."""
    columns = [
        (local_time_text(f.expr) if times_as_text and f.kind is Kind.TIME else f.expr).label(f.key)
        for f in spec.fields
    ]
    return (
        select(*columns)
        .select_from(spec.source)
        .where(*conditions(spec, actor, query, hasher))
        .order_by(*_ordered(spec, query.sort))
    )


# --- exports: every cell as the text the file shows, formatted by the database -----------------

FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r")  # as `spreadsheets.FORMULA_STARTS`


def _yuan(fen: Any) -> Any:
    """Integer fen as '123.45' (NULL stays NULL), in SQL both databases run."""
    whole = func.abs(fen) // 100
    cents = func.abs(fen) % 100
    return (
        case((fen < 0, "-"), else_="")
        + cast(whole, String)
        + case((cents < 10, ".0"), else_=".")
        + cast(cents, String)
    )


def _escaped(text: Any) -> Any:
    """Formula-looking text behind a quote, as `spreadsheets.csv_value` writes it."""
    return case((func.substr(text, 1, 1).in_(FORMULA_FIRST), literal("'") + text), else_=text)


def _cell(f: Field) -> Any:
    match f.kind:
        case Kind.TIME:
            return local_time_text(f.expr)
        case Kind.MONEY:
            return _yuan(f.expr)
        case Kind.LABEL if f.labels is not None:
            labels = {str(code): label for code, label in f.labels.items()}
            return case(labels, value=f.expr, else_=f.expr)
        case Kind.TEXT | Kind.CODE | Kind.LABEL:
            return _escaped(f.expr)
    return f.expr


def export_statement(spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher) -> Any:
    """The list's rows with every column as the text its CSV file shows (times in Asia/Shanghai,
    amounts in yuan, codes by their labels, formula-looking text escaped): the file is the
    rows as they come, with no conversion per cell."""
    return (
        select(*[_cell(f).label(f.key) for f in spec.fields])
        .select_from(spec.source)
        .where(*conditions(spec, actor, query, hasher))
        .order_by(*_ordered(spec, query.sort))
    )


def csv_body(
    conn: Connection, spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher
) -> Iterator[bytes]:
    """The rows of the CSV file (LF lines, no header), a chunk at a time with flat memory:
    PostgreSQL writes them itself (`COPY (the export statement) TO STDOUT`, its values quoted
    by the driver); elsewhere they are streamed and written by `csv.writer`."""
    stmt = export_statement(spec, actor, query, hasher)
    if conn.dialect.name == "postgresql":
        yield from _copied(conn, stmt)
        return
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    result = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(stmt)
    for partition in result.partitions():
        writer.writerows(partition)
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()


COPY_CHUNK = 1 << 16  # bytes handed on at a time


def _copied(conn: Connection, stmt: Any) -> Iterator[bytes]:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    driver: Any = conn.connection.driver_connection
    sql = ClientCursor(driver).mogrify(compiled.string, compiled.params)
    pending = bytearray()
    with driver.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for data in copy:
            pending += data
            if len(pending) >= COPY_CHUNK:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def page(conn: Connection, spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher) -> Page:
    total = count(conn, spec, actor, query, hasher)
    stmt = statement(spec, actor, query, hasher)
    rows = list(conn.execute(stmt.limit(query.size).offset((query.page - 1) * query.size)))
    return Page(rows, total, query)


def stream(
    conn: Connection,
    spec: ListSpec,
    actor: Actor,
    query: ListQuery,
    hasher: Hasher,
    *,
    times_as_text: bool = False,
) -> Iterator[Sequence[Any]]:
    """Every row of the query (tuple-like rows), fetched a batch at a time (a server-side cursor
    on PostgreSQL: flat memory on both databases)."""
    stmt = statement(spec, actor, query, hasher, times_as_text=times_as_text)
    result = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(stmt)
    for partition in result.partitions():
        yield from partition


def count(conn: Connection, spec: ListSpec, actor: Actor, query: ListQuery, hasher: Hasher) -> int:
    where = conditions(spec, actor, query, hasher)
    return int(
        conn.execute(select(func.count()).select_from(spec.source).where(*where)).scalar_one()
    )
