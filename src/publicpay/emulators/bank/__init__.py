"""The emulated collecting bank (代收银行): `BankTeller` plays the bank against our counter API,
`CollectionBank` keeps its books (counter takings, the collection account's movements) and
publishes its statements; `create_app(teller, books, key)` is mounted at /emulator/bank."""

from publicpay.emulators.bank.app import create_app
from publicpay.emulators.bank.collection import CashIn, CollectionBank, CounterRow, Payer
from publicpay.emulators.bank.teller import BankError, BankTeller

__all__ = [
    "BankError",
    "BankTeller",
    "CashIn",
    "CollectionBank",
    "CounterRow",
    "Payer",
    "create_app",
]
