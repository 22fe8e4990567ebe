"""Production entry: `publicpay serve` runs `app` here (configured from PUBLICPAY_* variables)."""

from __future__ import annotations

from publicpay.api.app import create_app
from publicpay.bootstrap import Container, build
from publicpay.settings import Settings


def container_from_env() -> Container:
    container = build(Settings())
    container.reload_gateways()
    return container


def __getattr__(name: str) -> object:
    """`app` is built on first access, so importing this module has no side effects."""
    if name == "app":
        return create_app(container_from_env())
    raise AttributeError(name)
