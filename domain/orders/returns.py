"""Returns: goods come back at any store, restocked there or written off, with the refund due
and the points corrected."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, NotFound
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.inventory.model import MovementKind, StockLevel
from domain.loyalty import services as points
from domain.money import Money
from domain.orders.model import (
    OrderErrorCode,
    OrderStatus,
    PaymentStatus,
    refund_for_return,
    transition,
)
from domain.orders.services import load_order, move, require_store_staff
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


async def create_return(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    location_id: int,
    lines: dict[int, int],
    restock: bool,
    idempotency_key: str | None,
    clock: Clock,
) -> dict[str, Any]:
    """Take goods back at any store: restock there or write off, and record the refund due."""
    require_store_staff(principal, location_id)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        now = clock.now()
        order = await load_order(uow, order_id)
        if order.status not in ("PICKED_UP", "DELIVERED", "COMPLETED"):
            raise DomainError(OrderErrorCode.INVALID_STATE, "only served orders are returned")
        if await uow.locations.location(location_id) is None:
            raise NotFound("location", field="locationId")
        by_id = {ln.id: ln for ln in order.lines}
        refund = refund_for_return(
            line_totals={
                i: Money(ln.line_total - ln.discount, order.currency) for i, ln in by_id.items()
            },
            returned=lines,
            ordered={i: ln.quantity for i, ln in by_id.items()},
            already_returned={i: ln.returned_quantity for i, ln in by_id.items()},
        )
        if restock:
            keys = [(by_id[i].variant_id, location_id) for i in lines]
            levels = await uow.inventory.lock(keys)
            for line_id, qty in lines.items():
                key = (by_id[line_id].variant_id, location_id)
                level = levels[key]
                level = StockLevel(
                    level.location_id, level.on_hand + qty, level.reserved, level.safety_stock
                )
                levels[key] = level
                await uow.inventory.save(key[0], level)
                await uow.inventory.record(
                    variant_id=key[0],
                    location_id=location_id,
                    kind=MovementKind.RETURN,
                    delta=qty,
                    on_hand_after=level.on_hand,
                    reason="customer return",
                    actor=principal.subject,
                    reference=f"order:{order.id}",
                )
            uow.touched.add("stock")
        return_id = await uow.orders.add_return(
            order_id=order.id,
            location_id=location_id,
            lines=[{"orderLineId": i, "quantity": q} for i, q in lines.items()],
            restock=restock,
            refund_due=refund.amount,
            currency=order.currency,
            actor=principal.subject,
        )
        _, _, points_money = await points.reverse_for_order_return(
            uow,
            order,
            returned_value=refund.amount,
            return_id=return_id,
            at=now,
            actor=principal.subject,
        )
        refund = Money(max(0, refund.amount - points_money.amount), refund.currency)
        await uow.orders.set_return_refund(return_id, refund.amount)
        await uow.orders.add_line_returns(lines)
        all_back = all(
            ln.returned_quantity + lines.get(ln.id, 0) >= ln.quantity for ln in order.lines
        )
        fields: dict[str, Any] = {"refunded_total": order.refunded_total + refund.amount}
        if order.payment_status == PaymentStatus.PAID.value:
            fields["payment_status"] = PaymentStatus.REFUND_DUE.value
        data = {"returnId": return_id, "refundDue": refund.amount, "locationId": location_id}
        status = OrderStatus.RETURNED if all_back else OrderStatus(order.status)
        if status is OrderStatus.RETURNED:
            transition(OrderStatus(order.status), status)
        await move(
            uow,
            at=now,
            order_id=order.id,
            status=status,
            actor=principal.subject,
            kind="RETURNED",
            data=data,
            **fields,
        )
        return {"order_id": order.id, "return_id": return_id, "refund_due": refund.amount}

    return await run_once(
        uow_factory,
        scope=f"return:{order_id}",
        key=idempotency_key,
        payload={"o": order_id, "l": location_id, "lines": sorted(lines.items()), "r": restock},
        work=work,
    )
