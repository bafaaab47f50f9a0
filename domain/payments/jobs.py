"""The payment worker's round: what must reach the provider after the request that decided it
(intents whose answer was lost, payments whose webhook was lost, refunds owed, authorisations
to release). Each job is a row
committed with the decision (a payment PENDING without a reference, a refund PENDING), sent
with a key derived from the order, so a worker killed at any point redoes it without a second
charge or refund. Runs in ``app.py worker`` and, on the embedded default, in the server."""

from __future__ import annotations

from dataclasses import dataclass

from domain.payments.ports import PaymentGateway
from domain.payments.recovery import recover_unattached
from domain.payments.refresh import refresh_unsettled
from domain.payments.refund_worker import execute_due, release_due
from domain.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Round:
    """What one round did."""

    recovered: int = 0  # intents found and attached (or released) after a lost answer
    refunds: int = 0  # refunds sent (succeeded or failed, both recorded)
    released: int = 0  # authorisations released for cancelled orders
    read_back: int = 0  # waiting payments whose news (a lost webhook) was read from the provider


async def run_due(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway | None, *, clock: Clock
) -> Round:
    """One round of every payment job that is due."""
    if gateway is None:
        return Round()
    recovered = await recover_unattached(uow_factory, gateway, clock=clock)
    read_back = await refresh_unsettled(uow_factory, gateway, clock=clock)
    released = await release_due(uow_factory, gateway, clock=clock)  # may owe a late capture
    refunds = await execute_due(uow_factory, gateway, clock=clock)
    return Round(recovered=recovered, refunds=refunds, released=released, read_back=read_back)
