"""Emulated UnionPay 全渠道 (ACP 5.1.0) gateway for the demo and the tests."""

from publicpay.emulators.unionpay.emulator import NOTIFY_SCHEDULE_S, UnionPayEmulator

__all__ = ["NOTIFY_SCHEDULE_S", "UnionPayEmulator"]
