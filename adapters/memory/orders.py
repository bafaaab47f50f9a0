"""The order port in memory: orders with lines and fulfilments, reservations, history, returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import HistoryEntry, MemoryState
from domain.events import serialise
from domain.orders.events import OrderEvent
from domain.orders.model import Fulfilment, Order, OrderDraft
from domain.orders.ports import Reservation, ReturnDraft
from domain.orders.states import EXPIRABLE, PaymentStatus


class InMemoryOrderRepository:
    """Orders in a :class:`MemoryState`; ``get`` hands out a copy, ``save`` writes it back."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add(self, draft: OrderDraft) -> int:
        order = draft.placed(order_id=self.state.next_id("order"), at=self.state.now())
        order.lines = tuple(replace(ln, id=self.state.next_id("order_line")) for ln in order.lines)
        order.fulfilments = tuple(
            replace(f, id=self.state.next_id("fulfilment")) for f in order.fulfilments
        )
        self.state.orders[order.id] = order
        return order.id

    async def add_order(self, draft: OrderDraft) -> Order:
        return replace(self.state.orders[await self.add(draft)])

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        order = self.state.orders.get(order_id)
        return replace(order) if order else None

    async def save(self, order: Order) -> None:
        self.state.orders[order.id] = replace(
            self.state.orders[order.id],
            status=order.status,
            payment_status=order.payment_status,
            refunded_total=order.refunded_total,
            points_redeemed=order.points_redeemed,
            points_value=order.points_value,
        )

    async def fulfilment(self, fulfilment_id: int) -> Fulfilment | None:
        return next(
            (f for o in self.state.orders.values() for f in o.fulfilments if f.id == fulfilment_id),
            None,
        )

    async def save_fulfilment(self, fulfilment: Fulfilment) -> None:
        order = self.state.orders[fulfilment.order_id]
        order.fulfilments = tuple(
            replace(
                f,
                status=fulfilment.status,
                carrier=fulfilment.carrier,
                tracking_number=fulfilment.tracking_number,
            )
            if f.id == fulfilment.id
            else f
            for f in order.fulfilments
        )

    async def record_points_earned(self, order_id: int, points: int) -> None:
        self.state.orders[order_id].points_earned = points

    async def add_history(self, event: OrderEvent, *, actor: str) -> None:
        _, _, data = serialise(event)
        self.state.history.append(HistoryEntry(event.order_id, event.kind, actor, data))

    async def add_reservations(
        self, order_id: int, held: Sequence[tuple[int, int, int]], *, expires_at: datetime
    ) -> None:
        for variant_id, location_id, quantity in held:
            ident = self.state.next_id("reservation")
            self.state.reservations[ident] = Reservation(
                ident, order_id, variant_id, location_id, quantity, "ACTIVE", expires_at
            )

    async def reservations(self, order_id: int, *, status: str) -> list[Reservation]:
        return [
            r
            for _, r in sorted(self.state.reservations.items())
            if r.order_id == order_id and r.status == status
        ]

    async def set_reservation_status(self, ids: Sequence[int], status: str) -> None:
        for ident in ids:
            self.state.reservations[ident] = replace(self.state.reservations[ident], status=status)

    async def expired_reservation_orders(self, *, now: datetime, limit: int) -> list[int]:
        held = {
            r.order_id
            for r in self.state.reservations.values()
            if r.status == "ACTIVE" and r.expires_at <= now
        }
        expired = [
            i
            for i in sorted(held)
            if self.state.orders[i].payment_status == PaymentStatus.PENDING
            and self.state.orders[i].status in EXPIRABLE
        ]
        return expired[:limit]

    async def add_return(self, draft: ReturnDraft) -> int:
        ident = self.state.next_id("order_return")
        self.state.returns[ident] = draft
        return ident

    async def set_return_refund(self, return_id: int, refund_due: int) -> None:
        self.state.returns[return_id] = replace(
            self.state.returns[return_id], refund_due=refund_due
        )

    async def add_line_returns(self, returned: Mapping[int, int]) -> None:
        for order in self.state.orders.values():
            if any(ln.id in returned for ln in order.lines):
                order.lines = tuple(
                    replace(ln, returned_quantity=ln.returned_quantity + returned.get(ln.id, 0))
                    for ln in order.lines
                )
