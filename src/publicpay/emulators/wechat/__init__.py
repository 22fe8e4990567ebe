"""WeChat Pay API v3 emulator (platform side), mounted by the demo at /emulator/wechat."""

from publicpay.emulators.wechat.emulator import WechatPayEmulator

__all__ = ["WechatPayEmulator"]
