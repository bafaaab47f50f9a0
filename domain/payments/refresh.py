"""Reading back payments whose news was lost: an online payment that has a provider reference
but is still waiting (PENDING, REQUIRES_ACTION, FAILED) and has not changed for ``quiet_for``
is read from the provider and what it says is applied, forward only, as its webhook would
have been. This is how a lost webhook (an endpoint down, a delivery given up) stops mattering:
the daily reconciliation shows the difference until this step has run, and not after."""

from __future__ import annotations

import logging
from datetime import timedelta

from domain.payments.model import PaymentError
from domain.payments.ports import PaymentGateway
from domain.payments.services import apply_intent
from domain.ports import Clock, UnitOfWorkFactory

WHO = "system:payments"
log = logging.getLogger("o2o.payments.refresh")


async def refresh_unsettled(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    *,
    clock: Clock,
    quiet_for: timedelta = timedelta(minutes=5),
    limit: int = 50,
) -> int:
    """Read quiet waiting payments from the provider; returns how many moved on."""
    async with uow_factory() as uow:
        quiet = await uow.payments.unsettled(updated_before=clock.now() - quiet_for, limit=limit)
    moved = 0
    for payment in quiet:
        assert payment.provider_ref is not None
        try:
            intent = await gateway.retrieve(payment.provider_ref)
        except PaymentError as error:
            log.warning("payment %s not read back: %s", payment.id, error)
            continue  # the next round tries again
        async with uow_factory() as uow:
            await uow.orders.get(payment.order_id, for_update=True)  # order, then payment
            current = await uow.payments.get(payment.id, for_update=True)
            if current is None:
                continue
            after = await apply_intent(uow, current, intent, who=WHO, at=clock.now())
        moved += after.state is not current.state
    return moved
