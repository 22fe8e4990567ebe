"""In-memory fakes of the unit of work and its repositories, for fast service tests.

`FakeUnitOfWork` implements `publicpay.services.unit_of_work.UnitOfWork` (and what in-person
payments and batch receipt issuing need on top); its repositories implement the Protocols of
`services/<area>/ports.py` over a `FakeDatabase` of dicts and lists. What services can observe
is what the real unit of work does: `with uow:` begins, leaving without `commit()` discards the
block's writes, `commit()` runs the real recorder, unique keys and unbalanced journals are
refused, reading a table with queued writes before `flush()` is an error. No SQL.
"""

from __future__ import annotations

from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.in_person import InPersonUnitOfWork
from publicpay.services.payments.ports import ChannelGateway, Gateways
from publicpay.services.receipts.ports import BatchReceipts, ReceiptFormats
from publicpay.services.unit_of_work import UnitOfWork
from tests.fakes.channels import FakeChannel, FakeGateways
from tests.fakes.database import FakeDatabase, QueuedWriteRead
from tests.fakes.receipts import FakeReceiptFormats, FakeReceipts, FakeSigner
from tests.fakes.unit_of_work import FakeBox, FakeClock, FakeUnitOfWork

# The fakes are checked against the Protocols by mypy (scripts/lint.sh), and at import.
_uow: UnitOfWork = FakeUnitOfWork()
_in_person: InPersonUnitOfWork = FakeUnitOfWork()
_batch: BatchReceipts = FakeReceipts(FakeDatabase())
_formats: ReceiptFormats = FakeReceiptFormats()
_gateways: Gateways = FakeGateways()
_channel: ChannelGateway = FakeChannel(Channel.ALIPAY)
assert isinstance(_batch, BatchReceipts)

__all__ = [
    "FakeBox",
    "FakeChannel",
    "FakeClock",
    "FakeDatabase",
    "FakeGateways",
    "FakeReceiptFormats",
    "FakeReceipts",
    "FakeSigner",
    "FakeUnitOfWork",
    "QueuedWriteRead",
]
