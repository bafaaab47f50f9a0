"""Recovery of lost provider answers: an online payment left PENDING without a provider
reference (the process died, or the provider did not answer, between "intent created" and
"intent stored") is opened again with the SAME idempotency key (``order:<id>:intent``), so the
provider answers the intent it created before, if any, and no second one. Then:

- the order was cancelled meanwhile (by the buyer, staff, or its reservation expiring): the
  intent is cancelled (key ``order:<id>:cancel``) and the payment stored CANCELLED with its
  reference, so no money is ever held for an order that does not stand;
- otherwise the intent is attached (``services.store_intent``) and the buyer goes on paying.

A payment is only looked at once it is ``older_than`` (default two minutes): a checkout still
running is left to finish. Concurrent rounds are safe: they send the same keys, and the payment
row is locked when the answer is stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from domain.errors import DomainError
from domain.orders.states import OrderStatus
from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import Payment, PaymentError, PaymentErrorCode, PaymentIntent
from domain.payments.ports import PaymentGateway
from domain.payments.services import apply_intent, open_intent, store_intent
from domain.ports import Clock, UnitOfWorkFactory

WHO = "system:payments"
log = logging.getLogger("o2o.payments.recovery")


async def recover_unattached(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    *,
    clock: Clock,
    older_than: timedelta = timedelta(minutes=2),
    limit: int = 50,
) -> int:
    """Find the intents of payments whose provider answer was lost; attach them, or cancel them
    for orders cancelled meanwhile. Returns how many payments were settled this way."""
    async with uow_factory() as uow:
        lost = await uow.payments.unattached(created_before=clock.now() - older_than, limit=limit)
    recovered = 0
    for payment in lost:
        try:
            await _recover(uow_factory, gateway, payment, clock=clock)
        except PaymentError as error:
            if not error.retryable:
                log.error("payment %s not recovered: %s", payment.id, error)
            continue  # the next round tries again with the same keys
        except DomainError as error:  # e.g. another intent attached meanwhile: look at it
            log.error("payment %s not recovered: %s", payment.id, error)
            continue
        recovered += 1
    return recovered


async def _recover(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, payment: Payment, *, clock: Clock
) -> None:
    intent = await open_intent(gateway, payment)
    async with uow_factory() as uow:
        order = await uow.orders.get(payment.order_id)
    if order is not None and order.status is not OrderStatus.CANCELLED:
        await store_intent(uow_factory, payment.id, intent, clock=clock)
        return
    released = await _cancel(gateway, payment, intent)
    async with uow_factory() as uow:
        await uow.orders.get(payment.order_id, for_update=True)  # order, then payment
        current = await uow.payments.get(payment.id, for_update=True)
        if current is not None:
            await apply_intent(uow, current, released, who=WHO, at=clock.now())


async def _cancel(
    gateway: PaymentGateway, payment: Payment, intent: PaymentIntent
) -> PaymentIntent:
    """Cancel the intent of a cancelled order; one already settled is read as it is."""
    key = idempotency_key(payment.order_id, PaymentOperation.CANCEL)
    try:
        return await gateway.cancel(intent.id, idempotency_key=key)
    except PaymentError as error:
        if error.payment_code is not PaymentErrorCode.INVALID_STATE:
            raise
        return await gateway.retrieve(intent.id)  # canceled already, or (never) succeeded
