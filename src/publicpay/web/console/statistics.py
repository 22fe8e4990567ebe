"""收入统计 (`/console/stats`) and the managers' phone view (`/console/m`, 掌上监管).

The statistics page shows a period's totals, the online rate, the trend (by hour for one day,
by day otherwise) and the figures by channel, unit, site, window, fee item, budget level, region
and device, with charts drawn by Apache ECharts (installed by npm, served by the app). Every
figure and every chart element opens the orders behind it (`/console/orders?status=succeeded&…`).
The phone view is today's figures for the user's scope by unit and channel, the last seven
days' trend and the live supervision alerts; it is an installable web app
(`/console/manifest.webmanifest`).

Both read through `queries.statistics`, scoped in the statements; both export (`?format=csv` or
`xlsx`) what they show.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from publicpay.adapters.db.alerts import visible as visible_alerts
from publicpay.adapters.db.queries import statistics as stats
from publicpay.adapters.db.queries.statistics import Bucket, Figures, Group
from publicpay.adapters.exports import Export, Format, money_number, money_text, plain
from publicpay.bootstrap import Container
from publicpay.domain.access import Actor, Permission
from publicpay.domain.alerts import AlertStatus
from publicpay.domain.errors import ValidationFailed
from publicpay.domain.statistics import Dimension, Period, percent, period_of
from publicpay.domain.time import business_date
from publicpay.services.recording.statistics import fold_statistics
from publicpay.web.console.exports import download, export_format
from publicpay.web.console.pages import (
    PATH,
    SECURITY_HEADERS,
    PageRefused,
    Viewer,
    container,
    render,
    require,
    viewer,
)
from publicpay.web.vendor import asset_url

OPEN_ONLY = (AlertStatus.OPEN.value,)  # the phone shows what still waits for someone
router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE_DIMENSIONS = tuple(Dimension)
PHONE_DIMENSIONS = (Dimension.UNIT, Dimension.CHANNEL)
PHONE_ALERTS = 5


def drill_url(period: Period, filters: dict[str, str] | Any) -> str:
    query = {"status": "succeeded", "date_from": period.first.isoformat()}
    query["date_to"] = period.last.isoformat()
    return f"{PATH}/orders?{urlencode({**query, **dict(filters)})}"


def _period(c: Container, request: Request) -> Period:
    today = business_date(c.clock.now())
    params = request.query_params
    try:
        return period_of(params.get("date_from", ""), params.get("date_to", ""), today)
    except ValidationFailed as exc:
        raise PageRefused(422, f"统计期间有误：{exc.detail}") from exc


def _read(
    conn: Connection, actor: Actor, period: Period, dimensions: tuple[Dimension, ...]
) -> tuple[Figures, list[Bucket], dict[Dimension, list[Group]]]:
    totals = stats.totals(conn, actor, period)
    trend = stats.trend(conn, actor, period)
    groups = {d: stats.grouped(conn, actor, period, d) for d in dimensions}
    return totals, trend, groups


def _chart_data(period: Period, trend: list[Bucket], groups: dict[Dimension, list[Group]]) -> Any:
    def points(items: list[Group]) -> list[dict[str, Any]]:
        return [
            {
                "name": g.label,
                "value": g.figures.amount_fen,
                "count": g.figures.count,
                "link": drill_url(period, g.drill) if g.drill else "",
            }
            for g in items
        ]

    return {
        "trend": {
            "by": "hour" if period.single_day else "day",
            "labels": [b.key[11:] + "时" if period.single_day else b.key[5:] for b in trend],
            "amounts": [b.figures.amount_fen for b in trend],
            "counts": [b.figures.count for b in trend],
            "links": [drill_url(period, b.drill) for b in trend],
        },
        **{d.value: points(items) for d, items in groups.items()},
    }


def _export(
    period: Period,
    totals: Figures,
    trend: list[Bucket],
    groups: dict[Dimension, list[Group]],
    fmt: Format,
) -> Export:
    money = money_number if fmt is Format.XLSX else money_text
    headers = ["分类", "项目", "笔数", "金额（元）", "在线缴费率"]
    cells = [plain, plain, plain, money, plain]
    title = f"收入统计 {period.first.isoformat()} 至 {period.last.isoformat()}"

    def rows(_conn: Connection) -> Iterator[Any]:
        yield ("合计", "全部", totals.count, totals.amount_fen, percent(totals.online_rate))
        for d, items in groups.items():
            for g in items:
                f = g.figures
                yield (d.label, g.label, f.count, f.amount_fen, percent(f.online_rate))
        for b in trend:
            f = b.figures
            yield ("趋势", b.key, f.count, f.amount_fen, percent(f.online_rate))

    return Export(title, headers, cells, rows)


@router.get("/stats")
def stats_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_STATISTICS)
    period = _period(c, request)
    fmt = export_format(request)
    fold_statistics(c.uow)  # every payment committed so far, counted
    with c.read_uow() as uow:
        totals, trend, groups = _read(uow.connection, v.actor, period, PAGE_DIMENSIONS)
    if fmt is not None:
        export = _export(period, totals, trend, groups, fmt)
        size = sum(len(items) for items in groups.values()) + len(trend) + 1
        return download(c, v, request, "statistics", export, fmt, size)
    today = business_date(c.clock.now())
    context = {
        "period": period,
        "totals": totals,
        "groups": groups,
        "chart_data": _chart_data(period, trend, groups),
        "echarts": asset_url("echarts", "dist/echarts.min.js"),
        "drill": lambda filters: drill_url(period, filters),
        "percent": percent,
        "quick": {
            "今日": (today, today),
            "近7日": (today - timedelta(days=6), today),
            "本月": (today.replace(day=1), today),
        },
    }
    return render(request, "stats.html", context, viewer=v)


@router.get("/m")
def phone_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_STATISTICS)
    today = business_date(c.clock.now())
    period = Period(today, today)
    fold_statistics(c.uow)  # every payment committed so far, counted
    with c.read_uow() as uow:
        totals = stats.totals(uow.connection, v.actor, period)
        week = stats.trend(uow.connection, v.actor, Period(today - timedelta(days=6), today))
        groups = {d: stats.grouped(uow.connection, v.actor, period, d) for d in PHONE_DIMENSIONS}
        shown = v.actor.can(Permission.VIEW_ALERTS)
        alerts = (
            visible_alerts(uow.connection, v.actor, statuses=OPEN_ONLY, limit=PHONE_ALERTS)
            if shown
            else []
        )
    fmt = export_format(request)
    if fmt is not None:
        export = _export(period, totals, week, groups, fmt)
        return download(c, v, request, "statistics", export, fmt, 1)
    context = {
        "period": period,
        "totals": totals,
        "groups": groups,
        "week": _week(week),
        "alerts": alerts,
        "alerts_shown": shown,
        "drill": lambda filters: drill_url(period, filters),
        "percent": percent,
        "now": c.clock.now(),
    }
    return render(request, "phone.html", context, viewer=v)


WEEKDAYS = "一二三四五六日"


def _week(trend: list[Bucket]) -> list[tuple[Bucket, str, int]]:
    """The last seven days for the phone: each day, its label (月-日 周X) and its bar's width
    in steps of 5 % of the busiest day."""
    top = max((b.figures.amount_fen for b in trend), default=0)
    return [
        (
            b,
            f"{b.key[5:]} 周{WEEKDAYS[date.fromisoformat(b.key).weekday()]}",
            (b.figures.amount_fen * 20 // top) * 5 if top else 0,
        )
        for b in trend
    ]


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    """The phone view as an installable web app (no login needed to read the manifest)."""
    body = {
        "name": "统一公共支付平台 · 掌上监管",
        "short_name": "掌上监管",
        "lang": "zh-CN",
        "start_url": f"{PATH}/m",
        "scope": f"{PATH}/",
        "display": "standalone",
        "background_color": "#f4f5f7",
        "theme_color": "#b91c1c",
        "icons": [
            {"src": f"{PATH}/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": f"{PATH}/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    return JSONResponse(body, media_type="application/manifest+json", headers=headers)
