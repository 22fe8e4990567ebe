"""The whole platform in one process with its channel emulators (the demo, and the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from publicpay.adapters.channels.configured import build_registry
from publicpay.adapters.crypto.rsa_keys import public_key_pem
from publicpay.adapters.db import migrate
from publicpay.adapters.db.channels import ChannelAccountsRepository
from publicpay.api.app import create_app
from publicpay.bootstrap import Container, build
from publicpay.demo.seed import describe, is_seeded, seed
from publicpay.emulators.alipay import AlipayEmulator
from publicpay.settings import Settings


@dataclass
class Stack:
    container: Container
    app: FastAPI
    alipay: AlipayEmulator
    info: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.alipay.close()
        self.container.close()


def build_stack(settings: Settings, *, emulator_time_scale: float = 1.0) -> Stack:
    """Migrate, seed (once), start the emulators and point the channel accounts at them."""
    migrate.upgrade(settings.database_url)
    container = build(settings)
    base = settings.public_base_url.rstrip("/")
    alipay = AlipayEmulator(time_scale=emulator_time_scale)
    with container.uow() as uow:
        if not is_seeded(uow):
            seed(uow, container.clock.now(), region_code=settings.region_code)
        accounts = ChannelAccountsRepository(uow.connection, uow.box)
        configs = accounts.all()
        ali = configs["alipay"]
        ali["gateway_url"] = f"{base}/emulator/alipay/gateway.do"
        ali["alipay_public_key_pem"] = alipay.public_key_pem.decode()
        accounts.save("alipay", ali, container.clock.now())
        info = describe(uow)
        uow.commit()
    alipay.register_app(ali["app_id"], public_key_pem(ali["app_private_key_pem"].encode()))
    container.gateways = build_registry(configs)
    app = create_app(container, emulators={"alipay": alipay.create_app()})
    info = {"base_url": base, "database_url": settings.database_url, **info}
    return Stack(container, app, alipay, info)
