"""Composition root: settings → engines, unit of work factory, channels, clock, senders."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from publicpay.adapters.channels.card_terminal import CardTerminalHost
from publicpay.adapters.channels.configured import load_registry
from publicpay.adapters.channels.registry import ChannelRegistry
from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.adapters.db.catalogue import CatalogueCache
from publicpay.adapters.db.engine import Engines, make_engines
from publicpay.adapters.db.payments.txn_times import StoredTxnTimes
from publicpay.adapters.db.unit_of_work import NonceClaim, SqlUnitOfWork
from publicpay.adapters.events.business_lookup import HttpBusinessSystem
from publicpay.adapters.events.webhooks import HttpWebhookSender, WebhookUrlGuard
from publicpay.adapters.messages.senders import HttpGatewaySender, LogSender
from publicpay.adapters.reconciliation.bank_client import HttpBankStatements
from publicpay.adapters.reconciliation.sources import ChannelStatementSources
from publicpay.adapters.reconciliation.treasury import HttpTreasury, VoucherParties
from publicpay.domain.units import ApiClient
from publicpay.services.messages.ports import MessageSender
from publicpay.services.payments.orders import PaymentPolicy
from publicpay.services.recording.recorder import record
from publicpay.services.refunds.requests import RefundPolicy
from publicpay.settings import Mode, Settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ClientCache:
    """API client secrets cached briefly (rotation and revocation show up within `ttl_s`).
    Unknown app ids are cached too (a miss costs a query), so the cache is bounded: requests
    with made-up app ids must not grow it without end."""

    def __init__(self, ttl_s: float = 10.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, ApiClient | None]] = {}

    def get(self, app_id: str) -> tuple[bool, ApiClient | None]:
        with self._lock:
            entry = self._entries.get(app_id)
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return False, None
        return True, entry[1]

    def put(self, app_id: str, client: ApiClient | None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._max and app_id not in self._entries:
                self._evict(now)
            self._entries[app_id] = (now, client)

    def _evict(self, now: float) -> None:
        """Drop expired entries; when none has expired, the oldest tenth (insertion order)."""
        expired = [k for k, (at, _) in self._entries.items() if now - at > self._ttl]
        for key in expired or list(self._entries)[: max(1, self._max // 10)]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def drop(self, app_id: str) -> None:
        """Forget one client now (after a rotation or revocation in this process)."""
        with self._lock:
            self._entries.pop(app_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Container:
    settings: Settings
    engines: Engines
    box: SecretBox
    clock: SystemClock
    gateways: ChannelRegistry
    sender: HttpWebhookSender
    guard: WebhookUrlGuard
    catalogue_cache: CatalogueCache = field(default_factory=CatalogueCache)
    client_cache: ClientCache = field(default_factory=ClientCache)

    message_sender: MessageSender = field(default_factory=LogSender)  # portal (issue 13)
    card_host: CardTerminalHost | None = None  # window POS bank cards (issue 13)
    business_system: HttpBusinessSystem | None = None  # asking for a record (issue 13)

    pending_nonce: NonceClaim | None = None  # a signed request's, until a transaction claims it
    memo: dict[str, int] = field(default_factory=dict)  # read once, shared by every request

    def for_request(self) -> Container:
        """This container for one HTTP request: a signed request's nonce waits in it until its
        first unit of work claims it (in that unit's transaction)."""
        return copy.copy(self)

    def expect_nonce(self, nonce: NonceClaim) -> None:
        self.pending_nonce = nonce

    def claim_pending_nonce(self) -> None:
        """Claim the request's nonce if no transaction has (Unauthorized on a replay)."""
        if self.pending_nonce is not None:
            with self.uow() as uow:
                uow.commit()

    def uow(self, nonce: NonceClaim | None = None) -> SqlUnitOfWork:
        """A write unit of work; `nonce` (or the request's pending one): claimed in its
        transaction."""
        if nonce is None:
            nonce, self.pending_nonce = self.pending_nonce, None
        return SqlUnitOfWork(self.engines, self.catalogue_cache, self.box, record, nonce=nonce)

    def read_uow(self) -> SqlUnitOfWork:
        """A read-only unit of work; a signed request whose nonce is still to be claimed gets
        a write one (the nonce is written in its transaction)."""
        if self.pending_nonce is not None:
            return self.uow()
        return SqlUnitOfWork(self.engines, self.catalogue_cache, self.box, record, readonly=True)

    def batch_uow(self) -> SqlUnitOfWork:
        """The unit of work of batch registrations."""
        return self.uow()

    def api_client(self, app_id: str) -> ApiClient | None:
        hit, client = self.client_cache.get(app_id)
        if hit:
            return client
        return self.load_api_client(app_id)

    def load_api_client(self, app_id: str) -> ApiClient | None:
        with self.read_uow() as uow:
            client = uow.units.client(app_id)
        self.client_cache.put(app_id, client)
        return client

    def serial_floor(self) -> int:
        """The payment-code serial floor: the setting when given, else the database's (read
        once; it never changes after the upgrade that wrote it)."""
        if self.settings.payment_code_serial_floor:
            return self.settings.payment_code_serial_floor
        floor = self.memo.get("serial_floor")
        if floor is None:
            with self.read_uow() as uow:
                floor = self.memo["serial_floor"] = uow.payables.code_serial_floor()
        return floor

    def payment_policy(self) -> PaymentPolicy:
        base = self.settings.public_base_url.rstrip("/")
        return PaymentPolicy(
            order_timeout_s=self.settings.order_timeout_s,
            notify_url=lambda channel: f"{base}/api/v1/notify/{channel}",
            max_open_orders=self.settings.max_open_orders_per_payable,
        )

    def refund_policy(self) -> RefundPolicy:  # refunds (issue 11)
        return RefundPolicy(self.settings.refund_second_approval_above_fen)

    def reload_gateways(self) -> None:
        """(Re)build every channel account's gateway from the database (after an edit)."""
        with SqlUnitOfWork(
            self.engines, self.catalogue_cache, self.box, record, readonly=True
        ) as uow:
            loaded = load_registry(
                uow.channel_accounts, txn_times=StoredTxnTimes(self.engines.read)
            )
        self.gateways.take_over(loaded)

    # -- reconciliation (issue 12) ----------------------------------------------------------

    def statement_sources(self) -> ChannelStatementSources:
        """Where statements come from and whose they must be (channel accounts as stored)."""
        with self.read_uow() as uow:
            configs = uow.channel_accounts.all()
        service = self.settings.bank_statement_service()
        bank = HttpBankStatements(*service) if service else None
        return ChannelStatementSources(
            self.gateways, configs, self.settings.collection_account_number, bank, self.card_host
        )

    def treasury(self) -> HttpTreasury:
        """The treasury's voucher endpoint (outside production, the emulator by default)."""
        s = self.settings
        url = s.treasury_url
        if not url and s.mode is not Mode.PRODUCTION:
            url = s.public_base_url.rstrip("/") + "/emulator/treasury/vouchers"
        parties = VoucherParties(
            s.finance_org_code,
            s.treasury_code,
            s.collection_account_number or "000000000000",
            s.collection_account_name or "非税收入汇缴户",
            s.collection_account_bank or "代收银行",
        )
        return HttpTreasury(url, parties)

    def close(self) -> None:
        self.sender.close()
        if self.card_host is not None:
            self.card_host.close()
        if self.business_system is not None:
            self.business_system.close()
        self.engines.dispose()


def build(settings: Settings, gateways: ChannelRegistry | None = None) -> Container:
    guard = WebhookUrlGuard(
        allow_private=settings.allow_private_webhooks,
        allow_loopback=settings.mode is not Mode.PRODUCTION,  # demo and test receivers
    )
    return Container(
        settings=settings,
        engines=make_engines(settings.database_url, settings.db_pool_size),
        box=SecretBox(settings.effective_secret_key()),
        clock=SystemClock(),
        gateways=gateways or ChannelRegistry({}),
        sender=HttpWebhookSender(guard, settings.webhook_timeout_s),
        guard=guard,
        message_sender=message_sender(settings),
        card_host=card_host(settings),
        business_system=HttpBusinessSystem(guard, settings.business_lookup_timeout_s),
    )


DEMO_CARD_MAC_KEY = "demo-card-mac-key-not-for-production"


def card_mac_key(settings: Settings) -> str:
    """The merchant's MAC key at the acquirer; outside production a fixed demo key by default."""
    if settings.card_mac_key or settings.mode is Mode.PRODUCTION:
        return settings.card_mac_key
    return DEMO_CARD_MAC_KEY


def card_host(settings: Settings) -> CardTerminalHost | None:
    """The acquirer's terminal host (outside production, the emulator by default); None when
    production has no acquirer configured (the POS then offers no card payments)."""
    url = settings.card_acquirer_url
    if not url and settings.mode is not Mode.PRODUCTION:
        url = settings.public_base_url.rstrip("/") + "/emulator/acquirer"
    key = card_mac_key(settings)
    if not url or not key:
        return None
    return CardTerminalHost(
        url, settings.card_merchant_id, key, timeout_s=settings.card_sale_timeout_s
    )


def message_sender(settings: Settings) -> MessageSender:
    """The payer messages' sender the settings name (PUBLICPAY_MESSAGE_SENDER)."""
    if settings.message_sender == "http":
        return HttpGatewaySender(settings.message_gateway_url, settings.message_gateway_secret)
    return LogSender()
