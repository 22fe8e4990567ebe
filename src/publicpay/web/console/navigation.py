"""The console's menu: every screen once, grouped by the work it serves, shown by permission.

The menu grew with every area (27 links in one flat bar by issue 13); finance staff find a screen
by what they are doing — collecting, receipts, reconciliation and clearing, supervision, setting
up — so the links live in those groups, in a sidebar on a desktop and a scrolling strip on a
phone. A group a user may use nothing of is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from publicpay.domain.access import Actor, Permission


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    label: str
    needs: tuple[Permission, ...]  # any one of them shows the link

    def current(self, path: str) -> bool:
        return path == self.href or path.startswith(self.href + "/")


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    links: tuple[Link, ...]


def _link(href: str, label: str, *needs: Permission) -> Link:
    return Link(href, label, needs)


P = Permission
MENU: tuple[Group, ...] = (
    Group(
        "收缴业务",
        (
            _link("/console/payables", "缴款单", P.VIEW_LISTS),
            _link("/console/orders", "支付订单", P.VIEW_LISTS),
            _link("/console/payable-batches", "批量登记", P.REGISTER_BATCHES),
            _link("/console/pos", "窗口收费", P.USE_POS),
            _link("/console/shifts", "收费班次", P.OPERATE_SHIFT, P.VIEW_SHIFT_REPORTS),
            _link("/console/refunds", "退款", P.VIEW_REFUNDS),
            _link("/console/messages", "缴款人消息", P.VIEW_MESSAGES),
        ),
    ),
    Group(
        "电子票据",
        (
            _link("/console/receipts", "电子票据", P.VIEW_LISTS),
            _link("/console/stock", "票据号段", P.VIEW_STOCK),
            _link("/console/write-off", "票据核销", P.VIEW_WRITE_OFF),
            _link("/console/keys", "签名密钥", P.ROTATE_KEYS),
        ),
    ),
    Group(
        "对账清算",
        (
            _link("/console/reconciliation", "对账", P.VIEW_RECONCILIATION),
            _link("/console/clearing", "清算", P.VIEW_RECONCILIATION),
        ),
    ),
    Group(
        "统计监管",
        (
            _link("/console/stats", "收入统计", P.VIEW_STATISTICS),
            _link("/console/m", "掌上监管", P.VIEW_STATISTICS),
            _link("/console/alerts", "监管预警", P.VIEW_ALERTS),
            _link("/console/audit", "审计", P.VIEW_AUDIT),
        ),
    ),
    Group(
        "系统管理",
        (
            _link("/console/units", "单位", P.VIEW_UNITS),
            _link("/console/catalogue", "收费项目", P.VIEW_CATALOGUE),
            _link("/console/users", "用户", P.MANAGE_USERS),
            _link("/console/devices", "设备管理", P.VIEW_DEVICES),
            _link("/console/channel-accounts", "渠道账户", P.MANAGE_CHANNELS),
            _link("/console/credentials", "接口凭证", P.MANAGE_CREDENTIALS),
            _link("/console/webhooks", "回调推送", P.MANAGE_WEBHOOKS),
            _link("/console/events", "事件推送", P.VIEW_LISTS),
        ),
    ),
)


def menu_for(actor: Actor) -> list[tuple[str, list[Link]]]:
    """The groups and links this user may open, in menu order; empty groups left out."""
    shown = []
    for group in MENU:
        links = [link for link in group.links if any(actor.can(p) for p in link.needs)]
        if links:
            shown.append((group.label, links))
    return shown
