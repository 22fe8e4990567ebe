"""Production entry: `publicpay serve` runs `app` here (configured from PUBLICPAY_* variables)."""

from __future__ import annotations

from publicpay.adapters.channels.configured import build_registry
from publicpay.adapters.db.channels import ChannelAccountsRepository
from publicpay.adapters.db.txn_times import StoredTxnTimes
from publicpay.api.app import create_app
from publicpay.bootstrap import Container, build
from publicpay.settings import Settings


def container_from_env() -> Container:
    container = build(Settings())
    with container.uow() as uow:
        configs = ChannelAccountsRepository(uow.connection, uow.box).all()
    container.gateways = build_registry(configs, txn_times=StoredTxnTimes(container.engines.read))
    return container


def __getattr__(name: str) -> object:
    """`app` is built on first access, so importing this module has no side effects."""
    if name == "app":
        return create_app(container_from_env())
    raise AttributeError(name)
