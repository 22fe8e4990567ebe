"""The whole platform in one process with its channel emulators (the demo, and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import FastAPI

from publicpay.adapters.db import migrate
from publicpay.api.app import create_app
from publicpay.bootstrap import Container, build
from publicpay.demo.emulated import Emulators, connect, start_emulators
from publicpay.demo.seed import (
    demo_payers,
    describe,
    ensure_channel_accounts,
    ensure_demo_users,
    ensure_partner_kiosk,
    ensure_pos_devices,
    ensure_receipt_setup,
    ensure_sites_and_devices,
    is_seeded,
    seed,
)
from publicpay.demo.window import start_window_parties
from publicpay.domain.time import SHANGHAI, utc
from publicpay.emulators.acquirer import ACQUIRER_NAME, CardTerminalEmulator
from publicpay.emulators.alipay import AlipayEmulator
from publicpay.emulators.bank import BankTeller, CollectionBank, Payer, Visit
from publicpay.emulators.bank import create_app as create_bank_app
from publicpay.emulators.business_system import BusinessSystemEmulator
from publicpay.emulators.treasury import TreasuryEmulator
from publicpay.emulators.unionpay import UnionPayEmulator
from publicpay.emulators.wechat import WechatPayEmulator
from publicpay.settings import Settings


@dataclass
class Stack:
    container: Container
    app: FastAPI
    alipay: AlipayEmulator
    wechat: WechatPayEmulator
    unionpay: UnionPayEmulator
    info: dict[str, Any] = field(default_factory=dict)
    acquirer: CardTerminalEmulator = field(default_factory=CardTerminalEmulator)  # issue 13
    business: BusinessSystemEmulator = field(default_factory=BusinessSystemEmulator)
    bank: CollectionBank | None = None  # the collecting bank's books (issue 12)
    treasury: TreasuryEmulator | None = None

    def close(self) -> None:
        self.alipay.close()
        self.wechat.close()
        self.unionpay.close()
        self.container.close()


def build_stack(
    settings: Settings,
    *,
    emulator_time_scale: float = 1.0,
    channel_timeout_s: float | None = None,
    visits_to_the_bank: bool = False,
) -> Stack:
    """Migrate, seed (once), start the emulators and point the channel accounts at them.
    `visits_to_the_bank`: the halls' cashiers hand every deposit slip in at the emulated bank
    as they prepare it, and finance has every refund transfer paid as it records it (the demo;
    tests go to the bank themselves, or leave a visit out)."""
    migrate.upgrade(settings.database_url)
    container = build(settings)
    base = settings.public_base_url.rstrip("/")
    emulated = start_emulators(emulator_time_scale)
    alipay = emulated.alipay
    with container.uow() as uow:
        if not is_seeded(uow):
            seed(uow, container.clock.now(), region_code=settings.region_code)
        accounts = uow.channel_accounts
        ensure_channel_accounts(accounts, container.clock.now())
        ensure_receipt_setup(uow, container.clock.now(), region_code=settings.region_code)
        ensure_demo_users(uow, container.clock.now(), region_code=settings.region_code)
        ensure_sites_and_devices(uow, container.clock.now(), region_code=settings.region_code)
        ensure_partner_kiosk(uow, container.clock.now())  # devices: issue 13
        ensure_pos_devices(uow, container.clock.now())  # portal/POS: issue 13
        configs = connect(
            accounts.all(),
            emulated,
            base,
            time_scale=emulator_time_scale,
            timeout_s=channel_timeout_s,
        )
        for channel in ("alipay", "wechat", "unionpay"):
            accounts.save(channel, configs[channel], container.clock.now())
        acquirer, business = start_window_parties(  # the window POS's card host, business system
            uow, settings, demo_payers()[0], time_scale=emulator_time_scale
        )
        info = describe(uow)
        uow.commit()
    container.reload_gateways()
    emulators = {
        "alipay": alipay.create_app(),
        "wechat": emulated.wechat.create_app(),
        "unionpay": emulated.unionpay.create_app(),
    }
    bank = collecting_bank(settings, configs, emulated, acquirer)
    if visits_to_the_bank:
        bank.visits = _visits_of(container)
    teller = None
    if "bank" in info:  # the demo bank's teller at /emulator/bank/pay
        bank_id, secret = info["bank"]["app_id"], info["bank"]["app_secret"]
        teller = BankTeller(base, bank_id, secret, books=bank)
    service = settings.bank_statement_service()
    emulators["bank"] = create_bank_app(teller, bank, service[2] if service else "")
    treasury = TreasuryEmulator(on_confirmed=bank.clearing_confirmed)  # clearing (issue 12)
    emulators["treasury"] = treasury.create_app()
    emulators["acquirer"] = acquirer.create_app()  # window POS bank cards (issue 13)
    emulators["business"] = business.create_app()  # the vehicle office's business system
    app = create_app(container, emulators=emulators)
    info = {"base_url": base, "database_url": settings.database_url, **info}
    return Stack(
        container,
        app,
        alipay,
        emulated.wechat,
        emulated.unionpay,
        info,
        acquirer,
        business,
        bank,
        treasury,
    )


def collecting_bank(
    settings: Settings,
    configs: dict[str, dict[str, Any]],
    emulated: Emulators,
    acquirer: CardTerminalEmulator | None = None,
) -> CollectionBank:
    """The emulated collecting bank holding the collection account, paid by every channel
    emulator as each really settles (issue 12), and by the card acquirer net of its fees."""
    service = settings.bank_statement_service()
    account = service[1] if service else settings.collection_account_number
    ali, wx, up = configs["alipay"]["app_id"], configs["wechat"]["mchid"], configs["unionpay"]
    payers = [
        Payer(
            "alipay", "支付宝（中国）网络技术有限公司", lambda d: emulated.alipay.settlement(ali, d)
        ),
        Payer("wechat", "财付通支付科技有限公司", lambda d: emulated.wechat.settlement(wx, d)),
        Payer(
            "unionpay",
            "中国银联股份有限公司",
            lambda d: emulated.unionpay.settlement(up["mer_id"], d),
        ),
    ]
    if acquirer is not None:
        mid = settings.card_merchant_id
        payers.append(Payer("card", ACQUIRER_NAME, lambda d: acquirer.net_settlement(mid, d)))
    name = settings.collection_account_bank or "代收银行"
    return CollectionBank(account, name, payers)


def _visits_of(container: Container) -> Callable[[date], list[Visit]]:
    """Who comes to the bank on a business day: the cashiers with the deposit slips they
    prepared, finance with the refund transfers it recorded."""

    def visits(day: date) -> list[Visit]:
        since = datetime.combine(day, time(), SHANGHAI)
        with container.read_uow() as uow:
            slips = uow.deposits.for_matching(day, None)
            paid = uow.reconciliation.transfer_refunds_done(since, since + timedelta(days=1), 0)
        return [
            *(Visit("C", d.deposit_no, d.amount_fen, "现金解款", d.prepared_at) for d in slips),
            *(
                Visit(
                    "D",
                    f"REFUND:{r.refund_no}",
                    int(r.amount_fen),
                    "退款收款人",
                    utc(r.completed_at),
                )
                for r in paid
            ),
        ]

    return visits
