"""Tortoise implementations of the cart, order and outbox ports, bound to one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from adapters.db import models as m
from domain.cart.ports import Cart, CartLine, NewCart
from domain.events import DomainEvent, serialise
from domain.inventory.model import AllocationRule
from domain.orders.events import OrderEvent
from domain.orders.model import (
    AppliedDiscount,
    Buyer,
    Delivery,
    Fulfilment,
    Order,
    OrderDraft,
    OrderLine,
    Routing,
    order_number,
)
from domain.orders.ports import CartDemand, Reservation, ReturnDraft
from domain.orders.states import (
    EXPIRABLE,
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)
from domain.ports import OutboxMessage


def _fulfilment(row: m.Fulfilment) -> Fulfilment:
    return Fulfilment(
        id=row.id,
        order_id=row.order_id,  # type: ignore[attr-defined]
        location_id=row.location_id,
        method=FulfilmentMethod(row.method),
        status=FulfilmentStatus(row.status),
        lines=tuple((int(x["variantId"]), int(x["quantity"])) for x in row.lines),
        pickup_code=row.pickup_code,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


_DEMAND = (
    "SELECT l.variant_id, l.quantity, c.order_id, c.expires_at, c.buyer, c.delivery, "
    "ch.allocation_share_percent, ch.allocation_buffer, cl.location_id "
    "FROM cart c JOIN cart_line l ON l.cart_id = c.id JOIN channel ch ON ch.id = c.channel_id "
    "LEFT JOIN channel_location cl ON cl.channel_id = ch.id "
    "WHERE c.token = {token} ORDER BY l.position, l.id"
)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def cart_demand(token: str, *, now: datetime) -> CartDemand | None:
    """A cart's lines and its channel's stock rule, in one statement outside any transaction
    (checkout asks the availability counter with it before opening one). Plain SQL: this runs
    for every buyer of a flash sale, the ORM's query building would cost more than the query."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    _, rows = await conn.execute_query(_DEMAND.format(token="$1" if postgres else "?"), [token])
    if not rows:
        return None
    lines: dict[int, int] = {}
    locations: dict[int, None] = {}
    for row in rows:
        lines[int(row[0])] = int(row[1])
        if row[8] is not None:
            locations[int(row[8])] = None
    first = rows[0]
    ready = (
        first[2] is None
        and _when(first[3]) > now
        and Buyer.from_json(_json(first[4]) or {}).reachable
        and Delivery.from_json(_json(first[5]) or {}).method is not None
    )
    rule = AllocationRule(share_percent=int(first[6]), buffer=int(first[7]))
    return CartDemand(tuple(lines.items()), tuple(sorted(locations)), rule, ready)


class TortoiseCartRepository:
    """Carts and their lines."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def create(self, cart: NewCart) -> Cart:
        await m.Cart.create(
            using_db=self.conn,
            token=cart.token,
            channel_id=cart.channel_id,
            buyer=cart.buyer.as_json(),
            delivery=cart.delivery.as_json(),
            expires_at=cart.expires_at,
            member_id=cart.member_id,
        )
        found = await self.get(cart.token)
        assert found is not None
        return found

    async def get(self, token: str, *, for_update: bool = False) -> Cart | None:
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
        return Cart(
            id=row.id,
            token=row.token,
            channel_handle=channel.handle,
            buyer=Buyer.from_json(row.buyer),
            delivery=Delivery.from_json(row.delivery),
            discount_codes=tuple(row.discount_codes),
            expires_at=row.expires_at,
            order_id=row.order_id,
            lines=tuple(CartLine(ln.variant_id, ln.quantity) for ln in lines),
            member_id=row.member_id,
            points_to_redeem=row.points_to_redeem,
        )

    async def set_lines(self, cart_id: int, lines: Sequence[CartLine]) -> None:
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

    async def save(self, cart: Cart) -> None:
        await (
            m.Cart.filter(id=cart.id)
            .using_db(self.conn)
            .update(
                buyer=cart.buyer.as_json(),
                delivery=cart.delivery.as_json(),
                discount_codes=list(cart.discount_codes),
                expires_at=cart.expires_at,
                order_id=cart.order_id,
                member_id=cart.member_id,
                points_to_redeem=cart.points_to_redeem,
            )
        )


class TortoiseOrderRepository:
    """Orders, lines, fulfilments, reservations, history and returns."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def add(self, draft: OrderDraft) -> int:
        row = await self._insert(draft)
        await m.OrderLine.bulk_create(
            [m.OrderLine(order_id=row.id, **_line_columns(ln)) for ln in draft.lines],
            using_db=self.conn,
        )
        await self._fulfilments(row.id, draft)
        return row.id

    async def add_order(self, draft: OrderDraft) -> Order:
        row = await self._insert(draft)
        lines = [
            await m.OrderLine.create(using_db=self.conn, order_id=row.id, **_line_columns(ln))
            for ln in draft.lines
        ]
        return order_of(row, lines, await self._fulfilments(row.id, draft))

    async def _insert(self, draft: OrderDraft) -> m.Order:
        t = draft.totals
        row = await m.Order.create(
            using_db=self.conn,
            number="~" + draft.access_token[:30],  # unique until the real number: no waiting
            channel_id=draft.channel_id,
            channel_handle=draft.channel_handle,
            source=draft.source.value,
            external_reference=draft.external_reference,
            status=draft.status.value,
            payment_status=draft.payment_status.value,
            currency=draft.currency,
            subtotal=t.subtotal.amount,
            delivery_total=t.delivery.amount,
            tax_total=t.tax.amount,
            total=t.total.amount,
            buyer=draft.buyer.as_json(),
            delivery=draft.delivery.as_json(),
            routing=draft.routing.as_json(),
            location_ids=list(draft.routing.location_ids),
            attributed_location_id=draft.attributed_location_id,
            attributed_staff_id=draft.attributed_staff_id,
            access_token=draft.access_token,
            member_id=draft.member_id,
            discount_total=draft.discount_total,
            discounts=[d.as_json() for d in draft.discounts],
            payment_tender=draft.payment_tender,
        )
        row.number = order_number(row.id)
        await row.save(using_db=self.conn, update_fields=["number"])
        return row

    async def _fulfilments(self, order_id: int, draft: OrderDraft) -> list[m.Fulfilment]:
        return [
            await m.Fulfilment.create(
                using_db=self.conn,
                order_id=order_id,
                location_id=f.location_id,
                method=f.method.value,
                status=f.status.value,
                lines=[{"variantId": v, "quantity": q} for v, q in f.lines],
                pickup_code=f.pickup_code,
            )
            for f in draft.fulfilments
        ]

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        query = m.Order.filter(id=order_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        if row is None:
            return None
        lines = await m.OrderLine.filter(order_id=row.id).using_db(self.conn).order_by("id")
        fulfilments = await m.Fulfilment.filter(order_id=row.id).using_db(self.conn).order_by("id")
        return order_of(row, lines, fulfilments)

    async def save(self, order: Order) -> None:
        await (
            m.Order.filter(id=order.id)
            .using_db(self.conn)
            .update(
                status=order.status.value,
                payment_status=order.payment_status.value,
                refunded_total=order.refunded_total,
                points_redeemed=order.points_redeemed,
                points_value=order.points_value,
            )
        )

    async def record_points_earned(self, order_id: int, points: int) -> None:
        await m.Order.filter(id=order_id).using_db(self.conn).update(points_earned=points)

    async def fulfilment(self, fulfilment_id: int) -> Fulfilment | None:
        row = await m.Fulfilment.filter(id=fulfilment_id).using_db(self.conn).first()
        return _fulfilment(row) if row else None

    async def save_fulfilment(self, fulfilment: Fulfilment) -> None:
        await (
            m.Fulfilment.filter(id=fulfilment.id)
            .using_db(self.conn)
            .update(
                status=fulfilment.status.value,
                carrier=fulfilment.carrier,
                tracking_number=fulfilment.tracking_number,
            )
        )

    async def add_history(self, event: OrderEvent, *, actor: str) -> None:
        _, _, data = serialise(event)
        await m.OrderEvent.create(
            using_db=self.conn, order_id=event.order_id, kind=event.kind, actor=actor, data=data
        )

    async def add_reservations(
        self, order_id: int, held: Sequence[tuple[int, int, int]], *, expires_at: datetime
    ) -> None:
        rows = [
            m.Reservation(
                order_id=order_id, variant_id=v, location_id=loc, quantity=q, expires_at=expires_at
            )
            for v, loc, q in held
        ]
        await m.Reservation.bulk_create(rows, using_db=self.conn)

    async def reservations(self, order_id: int, *, status: str) -> list[Reservation]:
        rows = (
            await m.Reservation.filter(order_id=order_id, status=status)
            .using_db(self.conn)
            .order_by("id")
        )
        return [
            Reservation(
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
                payment_status=PaymentStatus.PENDING.value,
                status__in=[s.value for s in EXPIRABLE],
            )
            .using_db(self.conn)
            .order_by("id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        return [int(r) for r in rows]

    async def add_return(self, draft: ReturnDraft) -> int:
        row = await m.OrderReturn.create(
            using_db=self.conn,
            order_id=draft.order_id,
            location_id=draft.location_id,
            lines=[{"orderLineId": i, "quantity": q} for i, q in draft.lines.items()],
            restock=draft.restock,
            refund_due=draft.refund_due,
            currency=draft.currency,
            actor=draft.actor,
        )
        return row.id

    async def set_return_refund(self, return_id: int, refund_due: int) -> None:
        await m.OrderReturn.filter(id=return_id).using_db(self.conn).update(refund_due=refund_due)

    async def add_line_returns(self, returned: Mapping[int, int]) -> None:
        for line_id, qty in returned.items():
            await (
                m.OrderLine.filter(id=line_id)
                .using_db(self.conn)
                .update(returned_quantity=F("returned_quantity") + qty)
            )


def _line_columns(line: OrderLine) -> dict[str, Any]:
    return {
        "variant_id": line.variant_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "compare_at_price": line.compare_at_price,
        "line_total": line.line_total,
        "discount": line.discount,
    }


def order_of(
    row: m.Order, lines: Sequence[m.OrderLine], fulfilments: Sequence[m.Fulfilment]
) -> Order:
    """An order row with its lines and fulfilments as the domain's aggregate."""
    return Order(
        id=row.id,
        number=row.number,
        channel_id=row.channel_id,
        channel_handle=row.channel_handle,
        source=OrderSource(row.source),
        external_reference=row.external_reference,
        status=OrderStatus(row.status),
        payment_status=PaymentStatus(row.payment_status),
        currency=row.currency,
        subtotal=row.subtotal,
        delivery_total=row.delivery_total,
        tax_total=row.tax_total,
        total=row.total,
        refunded_total=row.refunded_total,
        buyer=Buyer.from_json(row.buyer),
        delivery=Delivery.from_json(row.delivery),
        routing=Routing.from_json(row.routing),
        location_ids=tuple(row.location_ids),
        attributed_location_id=row.attributed_location_id,
        attributed_staff_id=row.attributed_staff_id,
        access_token=row.access_token,
        created_at=row.created_at,
        lines=tuple(
            OrderLine(
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
        discounts=tuple(AppliedDiscount.from_json(d) for d in row.discounts or ()),
        points_redeemed=row.points_redeemed,
        points_value=row.points_value,
        points_earned=row.points_earned,
        payment_tender=row.payment_tender,
    )


class TortoiseOutbox:
    """Outbox rows in the caller's transaction: written exactly when the change commits."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def add(self, event: DomainEvent) -> None:
        topic, aggregate_id, payload = serialise(event)
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
        return [
            OutboxMessage(r.id, r.topic, r.aggregate_id, dict(r.payload), r.created_at)
            for r in rows
        ]

    async def mark_published(self, ids: Sequence[int], *, at: datetime) -> None:
        if ids:
            await m.OutboxEvent.filter(id__in=list(ids)).using_db(self.conn).update(published_at=at)
