"""Configuration from environment variables (prefix PUBLICPAY_), an optional .env file and an
optional TOML file named by `PUBLICPAY_CONFIG_FILE` (keys without the prefix, e.g.
`database_url = "postgresql+psycopg://…"`). Environment variables win over `.env`, which wins
over the file; secrets are never part of the settings' repr (so never logged).

There is no global instance: `bootstrap` builds one and passes what each part needs.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_VARIABLE = "PUBLICPAY_CONFIG_FILE"


class ConfigFileMissing(RuntimeError):
    """`PUBLICPAY_CONFIG_FILE` names a file that cannot be read."""


# DEMO ONLY: used when PUBLICPAY_SECRET_KEY is unset in demo/test mode. Production mode
# refuses to start without PUBLICPAY_SECRET_KEY, and refuses this value too.
DEMO_SECRET_KEY = "demo-only-secret-key-change-me-0123456789abcdef"  # noqa: S105
DEMO_BANK_KEY = "demo-only-bank-statement-key"  # the emulated bank's key (never in production)
DEMO_COLLECTION_ACCOUNT = "33050161000000000001"  # the emulated bank's account when none is set


class Mode(StrEnum):
    DEMO = "demo"  # emulators mounted, loopback webhooks allowed, demo secret allowed
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUBLICPAY_", env_file=".env", extra="ignore")

    mode: Mode = Mode.PRODUCTION
    database_url: str = "sqlite:///./var/publicpay.db"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(default="", repr=False)
    region_code: str = "330105"  # the finance bureau's GB/T 2260 region (default: demo district)
    # payment code serials below this stay with codes issued before serials were permuted
    payment_code_serial_floor: int = Field(default=0, ge=0, lt=999_999_999)

    signature_max_skew_s: int = 300
    max_body_bytes: int = 1_000_000
    order_timeout_s: int = 15 * 60  # an unpaid QR order is closed after this
    recovery_after_s: int = 60  # query open orders older than this (missing notifications)
    webhook_timeout_s: float = 5.0
    allow_private_webhooks: bool = (
        False  # SSRF guard (adapters.events.ssrf); demo/test allow loopback
    )
    worker_poll_s: float = 0.5
    receipt_print_window_days: int = 183  # print on demand within ~6 months
    # the bureau's collection account (汇缴户), named on every receipt as 收款人 (RecName …)
    collection_account_name: str = ""
    collection_account_number: str = ""
    collection_account_bank: str = ""
    # the collecting bank's statement service (counter and collection-account statements) and the
    # key it issued for the account (empty outside production: the emulator and its demo key)
    collection_bank_url: str = ""
    collection_bank_key: str = ""
    # reconciliation (issue 12): the first business day the worker's T+1 run reconciles (the
    # platform's go-live; earlier days were paid before it reconciled, e.g. a demo's history)
    reconcile_from: date | None = None
    # clearing (issue 12): the treasury's voucher endpoint (empty: the emulator outside production)
    treasury_url: str = ""
    finance_org_code: str = "330105000"  # 财政机关代码 (FinOrgCode) on the 5408 voucher
    treasury_code: str = "3301050000"  # 国库主体代码 (TreCode)
    receipt_supervisor_remark: str = ""  # 财政备注 (SupervisorRemark) on every receipt
    db_pool_size: int = 8  # connections per process (fixed); also the hot routes' threads
    request_threads: int = 40  # threads for the other routes (they may wait on a channel)
    api_rate_per_s: float = 200.0  # requests per second per signed API credential
    api_rate_burst: float = 400.0  # … and at once
    # callers without credentials, per client address (api.rate_limits.AnonymousLimits)
    anonymous_rate_per_s: float = Field(default=2.0, gt=0)  # lookups by payment code/receipt
    anonymous_burst: float = Field(default=120.0, ge=1)
    anonymous_misses_per_hour: float = Field(default=20.0, ge=1)  # unknown codes, check codes
    anonymous_orders_per_hour: float = Field(default=20.0, ge=1)  # channel orders opened
    receipt_check_failures_per_hour: float = Field(default=5.0, ge=1)  # per receipt, from anyone
    max_open_orders_per_payable: int = Field(default=5, ge=1)  # unpaid channel orders at once
    # refunds above this need a second, different finance approver (default 1,000.00 yuan)
    refund_second_approval_above_fen: int = Field(default=100_000, ge=0)
    # reconciliation (issue 12): the largest difference one write-off may book to income or loss
    write_off_limit_fen: int = Field(default=10_000, ge=0)
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For/-Proto and Forwarded
    # headers are believed; from any other peer those headers are ignored. Default: none.
    login_failures_per_address: int = 20  # failed console logins per client address …
    login_failure_window_s: int = 15 * 60  # … in this window; then 429 until it ends
    vendor_dir: str = ""  # installed web assets (node_modules/); default: the checkout's
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # payer messages (N3, portal): "log" (demo; the console lists them) or "http" (a gateway)
    message_sender: Literal["log", "http"] = "log"
    message_gateway_url: str = ""
    message_gateway_secret: str = Field(default="", repr=False)
    # window POS (issue 13): bank cards through the acquirer's terminal host (docs/card-terminal.md;
    # empty URL: the emulator outside production, no card payments in production)
    card_acquirer_url: str = ""
    card_merchant_id: str = "898330105101001"  # MID, 15 digits
    card_mac_key: str = Field(default="", repr=False)  # empty: a demo key outside production
    card_sale_timeout_s: float = Field(default=60.0, gt=0)  # card read + PIN + authorisation
    # asking the unit's business system for a record not registered yet (signed POST)
    business_lookup_timeout_s: float = Field(default=3.0, gt=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for entry in value:
                ipaddress.ip_network(str(entry), strict=False)  # ValueError: a config error
        return value

    def bank_statement_service(self) -> tuple[str, str, str] | None:
        """(base URL, account, key) of the collecting bank's statement service; outside
        production the emulated bank by default; None when production configures none."""
        account = self.collection_account_number
        if self.mode is Mode.PRODUCTION:
            if not (self.collection_bank_url and self.collection_bank_key and account):
                return None
            return self.collection_bank_url, account, self.collection_bank_key
        url = self.collection_bank_url or self.public_base_url.rstrip("/") + "/emulator/bank"
        return url, account or DEMO_COLLECTION_ACCOUNT, self.collection_bank_key or DEMO_BANK_KEY

    def effective_secret_key(self) -> str:
        if self.mode is Mode.PRODUCTION and self.secret_key == DEMO_SECRET_KEY:
            raise RuntimeError("the demo secret key must not be used in production")
        if self.secret_key:
            return self.secret_key
        if self.mode is Mode.PRODUCTION:
            raise RuntimeError("PUBLICPAY_SECRET_KEY must be set in production mode")
        return DEMO_SECRET_KEY

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = (init_settings, env_settings, dotenv_settings, file_secret_settings)
        named = os.environ.get(CONFIG_FILE_VARIABLE)
        if not named:
            return sources
        path = Path(named)
        if not path.is_file():
            raise ConfigFileMissing(f"配置文件不存在或不可读：{path}（{CONFIG_FILE_VARIABLE}）")
        return (*sources, TomlConfigSettingsSource(settings_cls, toml_file=path))
