"""Bank teller emulator (代收银行柜面): `BankTeller` plays the bank against our counter API;
`create_app(teller)` is mounted at /emulator/bank for the demo (`POST /pay {"payment_code"}`)."""

from publicpay.emulators.bank.app import create_app
from publicpay.emulators.bank.teller import BankError, BankTeller

__all__ = ["BankError", "BankTeller", "create_app"]
