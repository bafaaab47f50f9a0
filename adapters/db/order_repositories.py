"""Tortoise implementations of the cart, order and outbox ports, bound to one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from adapters.db import models as m
from domain.events import DomainEvent, serialise
from domain.ports import (
    CartLineRecord,
    CartRecord,
    FulfilmentRecord,
    OrderLineRecord,
    OrderRecord,
    OutboxMessage,
    ReservationRecord,
)


def _fulfilment(row: m.Fulfilment) -> FulfilmentRecord:
    return FulfilmentRecord(
        id=row.id,
        order_id=row.order_id,  # type: ignore[attr-defined]
        location_id=row.location_id,
        method=row.method,
        status=row.status,
        lines=tuple((int(x["variantId"]), int(x["quantity"])) for x in row.lines),
        pickup_code=row.pickup_code,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
    )


class TortoiseCartRepository:
    """Carts and their lines."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def create(
        self,
        *,
        token: str,
        channel_id: int,
        buyer: dict[str, Any],
        delivery: dict[str, Any],
        expires_at: datetime,
        member_id: int | None = None,
    ) -> CartRecord:
        await m.Cart.create(
            using_db=self.conn,
            token=token,
            channel_id=channel_id,
            buyer=buyer,
            delivery=delivery,
            expires_at=expires_at,
            member_id=member_id,
        )
        found = await self.get(token)
        assert found is not None
        return found

    async def get(self, token: str, *, for_update: bool = False) -> CartRecord | None:
        query = m.Cart.filter(token=token).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        if row is None:
            return None
        channel = await m.Channel.get(id=row.channel_id).using_db(self.conn)  # type: ignore[attr-defined]
        lines = (
            await m.CartLine.filter(cart_id=row.id).using_db(self.conn).order_by("position", "id")
        )
        return CartRecord(
            id=row.id,
            token=row.token,
            channel_handle=channel.handle,
            buyer=dict(row.buyer),
            delivery=dict(row.delivery),
            discount_codes=tuple(row.discount_codes),
            expires_at=row.expires_at,
            order_id=row.order_id,
            lines=tuple(CartLineRecord(ln.variant_id, ln.quantity) for ln in lines),
            member_id=row.member_id,
            points_to_redeem=row.points_to_redeem,
        )

    async def set_lines(self, cart_id: int, lines: Sequence[CartLineRecord]) -> None:
        await m.CartLine.filter(cart_id=cart_id).using_db(self.conn).delete()
        await m.CartLine.bulk_create(
            [
                m.CartLine(
                    cart_id=cart_id, variant_id=ln.variant_id, quantity=ln.quantity, position=i
                )
                for i, ln in enumerate(lines)
            ],
            using_db=self.conn,
        )

    async def update(self, cart_id: int, **fields: Any) -> None:
        await m.Cart.filter(id=cart_id).using_db(self.conn).update(**fields)


class TortoiseOrderRepository:
    """Orders, lines, fulfilments, reservations, events and returns."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def add(self, **fields: Any) -> int:
        row = await m.Order.create(using_db=self.conn, number="pending", **fields)
        row.number = f"O2O-{row.id:06d}"
        await row.save(using_db=self.conn, update_fields=["number"])
        return row.id

    async def add_lines(self, order_id: int, lines: Sequence[dict[str, Any]]) -> None:
        await m.OrderLine.bulk_create(
            [m.OrderLine(order_id=order_id, **line) for line in lines], using_db=self.conn
        )

    async def add_fulfilment(self, order_id: int, **fields: Any) -> int:
        row = await m.Fulfilment.create(using_db=self.conn, order_id=order_id, **fields)
        return row.id

    async def get(self, order_id: int, *, for_update: bool = False) -> OrderRecord | None:
        query = m.Order.filter(id=order_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        if row is None:
            return None
        lines = await m.OrderLine.filter(order_id=row.id).using_db(self.conn).order_by("id")
        fulfilments = await m.Fulfilment.filter(order_id=row.id).using_db(self.conn).order_by("id")
        return order_record(row, lines, fulfilments)

    async def update(self, order_id: int, **fields: Any) -> None:
        await m.Order.filter(id=order_id).using_db(self.conn).update(**fields)

    async def update_fulfilment(self, fulfilment_id: int, **fields: Any) -> None:
        await m.Fulfilment.filter(id=fulfilment_id).using_db(self.conn).update(**fields)

    async def fulfilment(self, fulfilment_id: int) -> FulfilmentRecord | None:
        row = await m.Fulfilment.filter(id=fulfilment_id).using_db(self.conn).first()
        return _fulfilment(row) if row else None

    async def add_reservations(self, rows: Sequence[dict[str, Any]]) -> None:
        await m.Reservation.bulk_create([m.Reservation(**r) for r in rows], using_db=self.conn)

    async def reservations(self, order_id: int, *, status: str) -> list[ReservationRecord]:
        rows = (
            await m.Reservation.filter(order_id=order_id, status=status)
            .using_db(self.conn)
            .order_by("id")
        )
        return [
            ReservationRecord(
                r.id, r.order_id, r.variant_id, r.location_id, r.quantity, r.status, r.expires_at
            )
            for r in rows
        ]

    async def set_reservation_status(self, ids: Sequence[int], status: str) -> None:
        if ids:
            await m.Reservation.filter(id__in=list(ids)).using_db(self.conn).update(status=status)

    async def expired_reservation_orders(self, *, now: datetime, limit: int) -> list[int]:
        """Unpaid, unserved orders holding a reservation past its expiry."""
        candidates = (
            await m.Reservation.filter(status="ACTIVE", expires_at__lte=now)
            .using_db(self.conn)
            .values_list("order_id", flat=True)
        )
        rows = (
            await m.Order.filter(
                id__in=sorted({int(c) for c in candidates}),
                payment_status="PENDING",
                status__in=["PLACED", "READY_FOR_PICKUP"],
            )
            .using_db(self.conn)
            .order_by("id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        return [int(r) for r in rows]

    async def add_event(
        self, order_id: int, *, kind: str, actor: str, data: dict[str, Any]
    ) -> None:
        await m.OrderEvent.create(
            using_db=self.conn, order_id=order_id, kind=kind, actor=actor, data=data
        )

    async def returned_quantities(self, order_id: int) -> dict[int, int]:
        rows = await m.OrderLine.filter(order_id=order_id).using_db(self.conn)
        return {r.id: r.returned_quantity for r in rows}

    async def add_return(self, **fields: Any) -> int:
        row = await m.OrderReturn.create(using_db=self.conn, **fields)
        return row.id

    async def set_return_refund(self, return_id: int, refund_due: int) -> None:
        await m.OrderReturn.filter(id=return_id).using_db(self.conn).update(refund_due=refund_due)

    async def add_line_returns(self, returned: dict[int, int]) -> None:
        for line_id, qty in returned.items():
            await (
                m.OrderLine.filter(id=line_id)
                .using_db(self.conn)
                .update(returned_quantity=F("returned_quantity") + qty)
            )


def order_record(
    row: m.Order, lines: Sequence[m.OrderLine], fulfilments: Sequence[m.Fulfilment]
) -> OrderRecord:
    """An order row with its lines and fulfilments as a record."""
    return OrderRecord(
        id=row.id,
        number=row.number,
        channel_id=row.channel_id,
        channel_handle=row.channel_handle,
        source=row.source,
        external_reference=row.external_reference,
        status=row.status,
        payment_status=row.payment_status,
        currency=row.currency,
        subtotal=row.subtotal,
        delivery_total=row.delivery_total,
        tax_total=row.tax_total,
        total=row.total,
        refunded_total=row.refunded_total,
        buyer=dict(row.buyer),
        delivery=dict(row.delivery),
        routing=dict(row.routing),
        location_ids=tuple(row.location_ids),
        attributed_location_id=row.attributed_location_id,
        attributed_staff_id=row.attributed_staff_id,
        access_token=row.access_token,
        created_at=row.created_at,
        lines=tuple(
            OrderLineRecord(
                ln.id,
                ln.variant_id,
                ln.sku,
                ln.title,
                ln.quantity,
                ln.unit_price,
                ln.compare_at_price,
                ln.line_total,
                ln.returned_quantity,
                ln.discount,
            )
            for ln in lines
        ),
        fulfilments=tuple(_fulfilment(f) for f in fulfilments),
        member_id=row.member_id,
        discount_total=row.discount_total,
        discounts=tuple(row.discounts or ()),
        points_redeemed=row.points_redeemed,
        points_value=row.points_value,
        points_earned=row.points_earned,
    )


class TortoiseOutbox:
    """Outbox rows in the caller's transaction: written exactly when the change commits."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def add(self, event: DomainEvent) -> None:
        topic, aggregate_id, payload = serialise(event)
        await self.publish(topic, aggregate_id=aggregate_id, payload=payload)

    async def publish(self, topic: str, *, aggregate_id: str, payload: dict[str, Any]) -> None:
        await m.OutboxEvent.create(
            using_db=self.conn, topic=topic, aggregate_id=aggregate_id, payload=payload
        )


class TortoiseOutboxReader:
    """Waiting outbox rows, locked so that two relays never publish the same one twice."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def take(self, *, limit: int) -> list[OutboxMessage]:
        query = m.OutboxEvent.filter(published_at=None).using_db(self.conn).order_by("id")
        if self.conn.capabilities.dialect == "postgres":
            query = query.select_for_update(skip_locked=True)
        rows = await query.limit(limit)
        return [OutboxMessage(r.id, r.topic, r.aggregate_id, dict(r.payload), r.created_at)
                for r in rows]  # fmt: skip

    async def mark_published(self, ids: Sequence[int], *, at: datetime) -> None:
        if ids:
            await m.OutboxEvent.filter(id__in=list(ids)).using_db(self.conn).update(published_at=at)
