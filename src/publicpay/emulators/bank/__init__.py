"""The emulated collecting bank (代收银行): `BankTeller` plays the bank against our counter API,
`CollectionBank` keeps its books (counter takings, the collection account's movements) and
publishes its statements; `create_app(teller, books, key)` is mounted at /emulator/bank."""

from publicpay.emulators.bank.app import create_app
from publicpay.emulators.bank.collection import CollectionBank, CounterRow, Payer, Visit
from publicpay.emulators.bank.teller import BankError, BankTeller

__all__ = [
    "BankError",
    "BankTeller",
    "CollectionBank",
    "CounterRow",
    "Payer",
    "Visit",
    "create_app",
]
