"""Returns: goods come back at any store, restocked there or written off, with the refund due
and the points corrected, through the one reversal of ``domain/orders/reversal.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import DomainError, NotFound
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.orders.access import actor_of, require_store_staff
from domain.orders.errors import OrderErrorCode
from domain.orders.reversal import Reversal, reverse
from domain.orders.services import load_order
from domain.orders.states import SERVED
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ReturnResult:
    """The order, the return recorded and what the buyer is owed (minor units)."""

    order_id: int
    return_id: int
    refund_due: int


async def create_return(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    location_id: int,
    lines: Mapping[int, int],
    restock: bool,
    idempotency_key: str | None,
    clock: Clock,
) -> ReturnResult:
    """Take goods back at any store: restock there or write off, and record the refund due."""
    require_store_staff(principal, location_id)

    async def work(uow: UnitOfWork) -> ReturnResult:
        order = await load_order(uow, order_id)
        if order.status not in SERVED:
            raise DomainError(OrderErrorCode.INVALID_STATE, "only served orders are returned")
        if await uow.locations.location(location_id) is None:
            raise NotFound("location", field="locationId")
        undo = Reversal(
            reason="customer return", lines=lines, location_id=location_id, restock=restock
        )
        done = await reverse(
            uow, order, undo, actor=actor_of(principal), who=principal.subject, at=clock.now()
        )
        assert done.return_id is not None
        return ReturnResult(order.id, done.return_id, done.refund_due.amount)

    return await run_once(
        uow_factory,
        scope=f"return:{order_id}",
        caller=principal.subject,
        key=idempotency_key,
        payload={"o": order_id, "l": location_id, "lines": sorted(lines.items()), "r": restock},
        work=work,
        result=ReturnResult,
    )
