"""Sending payer messages. Workflow: calls the sender between transactions.

Due messages are leased in one transaction (many workers never send one twice at once), then
each is composed with the platform's public address, handed to the sender outside any
transaction, and marked sent (with its text and masked recipient) or retried with back-off;
after MAX_ATTEMPTS it is marked failed and stays on the console's list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from publicpay.domain.codes import mask_phone
from publicpay.domain.messages import (
    MAX_ATTEMPTS,
    DueMessage,
    MessageChannel,
    OutgoingMessage,
    compose,
)
from publicpay.services.messages.ports import MessageSender
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.messages")
LEASE = timedelta(minutes=2)


def outgoing(message: DueMessage, base_url: str) -> OutgoingMessage:
    """The message as the sender gets it: text with the pay link, addressed by phone or ID."""
    facts = message.facts_without_link
    link = f"{base_url.rstrip('/')}/pay/{facts.payment_code}"
    text = compose(replace(facts, link=link))
    if message.phone:
        return OutgoingMessage(MessageChannel.SMS, message.phone, text, facts.payment_code)
    return OutgoingMessage(MessageChannel.APP, message.payer_id_masked, text, facts.payment_code)


def send_due_messages(
    uow_factory: Callable[[], UnitOfWork],
    sender: MessageSender,
    *,
    base_url: str,
    clock: Clock,
    limit: int = 50,
) -> int:
    """Send what is due; the number sent."""
    with uow_factory() as uow:
        due = uow.messages.claim_due(clock.now(), limit, LEASE)
        uow.commit()
    sent = 0
    for message in due:
        out = outgoing(message, base_url)
        try:
            sender.send(out)
        except Exception as exc:  # any sender failure is retried, never lost
            _retry(uow_factory, message, clock, f"{type(exc).__name__}: {exc}")
            continue
        masked = mask_phone(out.to) if out.channel is MessageChannel.SMS else out.to
        with uow_factory() as uow:
            uow.messages.mark_sent(message.id, out.channel, masked, out.text, clock.now())
            uow.commit()
        sent += 1
    return sent


def _retry(
    uow_factory: Callable[[], UnitOfWork], message: DueMessage, clock: Clock, error: str
) -> None:
    attempts = message.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    log.warning("payer message %s not sent (attempt %s): %s", message.id, attempts, error[:200])
    at = clock.now() + timedelta(seconds=30 * 2**attempts)
    with uow_factory() as uow:
        uow.messages.retry(message.id, at, error, give_up=give_up)
        uow.commit()
