"""Alipay open-platform emulator; `AlipayEmulator().create_app()` is mounted at /emulator/alipay."""

from publicpay.emulators.alipay.emulator import (
    ALIPAY_NOTIFY_SCHEDULE_S,
    MOUNT_PATH,
    AlipayEmulator,
    alipay_acknowledged,
)

__all__ = ["ALIPAY_NOTIFY_SCHEDULE_S", "MOUNT_PATH", "AlipayEmulator", "alipay_acknowledged"]
