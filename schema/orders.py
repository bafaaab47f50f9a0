"""Orders: checkoutComplete, order(id), orders(...), fulfilment, till sales, cancel, returns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from adapters.db.order_queries import OrderFilter
from domain.cart import services as cart_services
from domain.errors import DomainError
from domain.identity.model import Role
from domain.money import Money
from domain.orders import checkout as checkout
from domain.orders import model as om
from domain.orders import pos as pos
from domain.orders import returns as returns
from domain.orders import services as svc
from domain.orders.pos import TillSale
from domain.orders.services import FulfilmentStep
from domain.orders.states import FulfilmentStatus
from resolvers.context import Context
from schema.catalog import Location
from schema.common import Connection, MoneyV2, UserError, connection
from schema.errors import authenticated
from schema.relay import decode_cursor, expect_id, to_global_id

JSON = strawberry.scalars.JSON


def _money(amount: int, currency: str) -> MoneyV2:
    value = MoneyV2.of(Money(amount, currency))
    assert value is not None
    return value


@strawberry.type
class OrderLine:
    id: strawberry.ID
    variant_id: strawberry.ID
    sku: str
    title: str
    quantity: int
    returned_quantity: int
    unit_price: MoneyV2
    compare_at_price: MoneyV2 | None
    total: MoneyV2


@strawberry.type
class FulfilmentLine:
    variant_id: strawberry.ID
    quantity: int


@strawberry.type
class Fulfilment:
    id: strawberry.ID
    method: str
    status: str
    lines: list[FulfilmentLine]
    carrier: str | None
    tracking_number: str | None
    pickup_code: str | None = strawberry.field(description="Shown to the buyer and staff.")
    qr_payload: str | None = strawberry.field(description="What the store scans at pick-up.")
    _location_id: strawberry.Private[int]

    @strawberry.field
    async def location(self, info: Info[Context, None]) -> Location | None:
        found = (await info.context.locations()).get(self._location_id)
        return Location(_location=found) if found else None


@strawberry.type
class OrderEvent:
    kind: str
    actor: str
    data: JSON
    created_at: datetime


@strawberry.type(description="One order model for every channel.")
class Order:
    id: strawberry.ID
    number: str
    channel: str
    source: str
    external_reference: str | None
    status: str
    payment_status: str
    lines: list[OrderLine]
    subtotal: MoneyV2
    delivery_total: MoneyV2
    tax_total: MoneyV2
    total: MoneyV2
    refunded_total: MoneyV2
    discount_total: MoneyV2
    discounts: JSON = strawberry.field(description="Each discount with its explanation.")
    points_redeemed: int
    points_value: MoneyV2 = strawberry.field(description="Part of `total` paid with points.")
    points_earned: int
    buyer: JSON
    delivery: JSON
    routing_reason: str | None
    fulfilments: list[Fulfilment]
    created_at: datetime
    _id: strawberry.Private[int]
    _staff: strawberry.Private[bool]

    @strawberry.field(description="Staff only: who did what, when.")
    async def events(self, info: Info[Context, None]) -> list[OrderEvent]:
        if not self._staff:
            return []
        rows = await info.context.services.orders.events(self._id)
        return [OrderEvent(kind=r.kind, actor=r.actor, data=r.data, created_at=r.created_at)
                for r in rows]  # fmt: skip

    @classmethod
    def of(cls, order: om.Order, *, staff: bool) -> Order:
        c = order.currency
        return cls(
            id=strawberry.ID(to_global_id("Order", order.id)), number=order.number,
            channel=order.channel_handle, source=order.source,
            external_reference=order.external_reference, status=order.status,
            payment_status=order.payment_status,
            lines=[
                OrderLine(
                    id=strawberry.ID(to_global_id("OrderLine", ln.id)),
                    variant_id=strawberry.ID(to_global_id("ProductVariant", ln.variant_id)),
                    sku=ln.sku, title=ln.title, quantity=ln.quantity,
                    returned_quantity=ln.returned_quantity, unit_price=_money(ln.unit_price, c),
                    compare_at_price=_money(ln.compare_at_price, c)
                    if ln.compare_at_price is not None else None,
                    total=_money(ln.line_total, c),
                )
                for ln in order.lines
            ],
            subtotal=_money(order.subtotal, c), delivery_total=_money(order.delivery_total, c),
            tax_total=_money(order.tax_total, c), total=_money(order.total, c),
            refunded_total=_money(order.refunded_total, c),
            discount_total=_money(order.discount_total, c),
            discounts=[d.as_json() for d in order.discounts],
            points_redeemed=order.points_redeemed,
            points_value=_money(order.points_value, c),
            points_earned=order.points_earned, buyer=order.buyer.as_json(),
            delivery=order.delivery.as_json(),
            routing_reason=order.routing.reason if staff else None,
            fulfilments=[_fulfilment(f, order) for f in order.fulfilments],
            created_at=order.created_at, _id=order.id, _staff=staff,
        )  # fmt: skip


def _fulfilment(f: om.Fulfilment, order: om.Order) -> Fulfilment:
    qr = None
    if f.pickup_code:
        qr = json.dumps({"o": order.number, "f": f.id, "c": f.pickup_code}, separators=(",", ":"))
    return Fulfilment(
        id=strawberry.ID(to_global_id("Fulfilment", f.id)), method=f.method, status=f.status,
        lines=[FulfilmentLine(variant_id=strawberry.ID(to_global_id("ProductVariant", v)),
                              quantity=q) for v, q in f.lines],
        carrier=f.carrier, tracking_number=f.tracking_number, pickup_code=f.pickup_code,
        qr_payload=qr, _location_id=f.location_id,
    )  # fmt: skip


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class CheckoutCompletePayload:
    order: Order | None
    order_access_token: str | None = strawberry.field(
        description="Lets a guest read and cancel this order: order(id, accessToken)."
    )
    payment_required: str = strawberry.field(
        default="PAY_AT_PICKUP_OR_DELIVERY",
        description="What the client does next about payment (providers come later).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PosLineInput:
    variant_id: strawberry.ID
    quantity: int = 1


@strawberry.input
class PosOrderInput:
    location_id: strawberry.ID
    lines: list[PosLineInput]
    tender: str = strawberry.field(description="CASH or CARD_TERMINAL")
    buyer_email: str | None = None
    buyer_phone: str | None = None
    member_code: str | None = strawberry.field(default=None, description="Scanned at the till.")
    points_to_redeem: int = 0
    discount_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupons and the member's vouchers."
    )
    idempotency_key: str | None = None


@strawberry.input
class ReturnLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input
class OrderReturnInput:
    order_id: strawberry.ID
    location_id: strawberry.ID = strawberry.field(description="Any store: where goods came back.")
    lines: list[ReturnLineInput]
    restock: bool = True
    idempotency_key: str | None = None


@strawberry.type
class OrderReturnPayload:
    order: Order | None
    refund_due: MoneyV2 | None
    user_errors: list[UserError]


def _is_staff(ctx: Context) -> bool:
    return ctx.principal.role is not None


async def _load(ctx: Context, order_id: int) -> Order:
    found = await ctx.services.orders.order(order_id)
    assert found is not None
    return Order.of(found, staff=_is_staff(ctx))


async def _order_payload(ctx: Context, run: Any) -> OrderPayload:
    try:
        result = await run
    except DomainError as error:
        return OrderPayload(order=None, user_errors=[UserError.of(error)])
    return OrderPayload(order=await _load(ctx, result.order_id), user_errors=[])


@strawberry.type
class OrderQuery:
    @strawberry.field(description="An order for its buyer (with accessToken) or for staff.")
    async def order(
        self, info: Info[Context, None], id: strawberry.ID, access_token: str | None = None
    ) -> Order | None:
        ctx = info.context
        found = await ctx.services.orders.order(expect_id(id, "Order"))
        if found is None or not svc.may_see(ctx.principal, found, access_token):
            return None
        return Order.of(found, staff=_is_staff(ctx))

    @strawberry.field(
        extensions=[authenticated()],
        description="Staff: orders newest first; store staff see their stores' orders only.",
    )
    async def orders(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        channel: str | None = None,
        status: str | None = None,
        location_id: strawberry.ID | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> Connection[Order]:
        ctx = info.context
        ctx.principal.require_staff(*svc.STAFF)
        if not 1 <= first <= ctx.services.settings.max_page_size:
            raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
        locations: tuple[int, ...] | None = None
        if location_id is not None:
            locations = (expect_id(location_id, "Location", field="locationId"),)
        if not ctx.principal.brand_wide:
            mine = tuple(sorted(ctx.principal.location_ids))
            locations = tuple(x for x in (locations or mine) if x in mine)
        filters = OrderFilter(channel=channel, status=status.upper() if status else None,
                              location_ids=locations, created_from=created_from,
                              created_to=created_to)  # fmt: skip
        before = decode_cursor(after, field="after")[1] if after else None
        found, more = await ctx.services.orders.page(filters, limit=first, before_id=before)
        return connection(found, wrap=lambda o: Order.of(o, staff=True),
                          cursor_of=lambda o: ("id", o.id), has_next=more,
                          has_previous=after is not None)  # fmt: skip


def _fulfil(action: str) -> Any:
    async def resolver(
        info: Info[Context, None],
        fulfilment_id: strawberry.ID,
        idempotency_key: str | None = None,
    ) -> OrderPayload:
        ctx = info.context
        return await _order_payload(ctx, _run_fulfil(ctx, fulfilment_id, action, idempotency_key))

    return resolver


async def _run_fulfil(ctx: Context, fulfilment_id: Any, action: str, key: str | None,
                      **extra: Any) -> svc.OrderResult:  # fmt: skip
    step = FulfilmentStep(
        fulfilment_id=expect_id(fulfilment_id, "Fulfilment", field="fulfilmentId"),
        target=FulfilmentStatus(action),
        **extra,
    )
    return await svc.fulfil(
        ctx.services.uow, ctx.principal, step=step, idempotency_key=key, clock=ctx.services.clock
    )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(description="Place the order of a cart (shoppers; replay-safe).")
    async def checkout_complete(
        self, info: Info[Context, None], cart_id: strawberry.ID, idempotency_key: str
    ) -> CheckoutCompletePayload:
        ctx = info.context
        try:
            result = await checkout.checkout_complete(
                ctx.services.uow,
                ctx.principal,
                token=str(cart_id),
                idempotency_key=idempotency_key,
                clock=ctx.services.clock,
            )
        except DomainError as error:
            return CheckoutCompletePayload(order=None, order_access_token=None,
                                           user_errors=[UserError.of(error)])  # fmt: skip
        order = await ctx.services.orders.order(result.order_id)
        assert order is not None
        return CheckoutCompletePayload(order=Order.of(order, staff=False),
                                       order_access_token=result.access_token)  # fmt: skip

    fulfilment_ready_for_pickup: OrderPayload = strawberry.mutation(
        resolver=_fulfil("READY"),
        extensions=[authenticated()],
        description="Store staff: the order waits at the counter; the buyer gets the code.",
    )
    fulfilment_dispatch: OrderPayload = strawberry.mutation(
        resolver=_fulfil("DISPATCHED"),
        extensions=[authenticated()],
        description="Store staff: a local delivery left the store.",
    )
    fulfilment_deliver: OrderPayload = strawberry.mutation(
        resolver=_fulfil("DELIVERED"),
        extensions=[authenticated()],
        description="Staff: a shipment or local delivery arrived.",
    )

    @strawberry.mutation(extensions=[authenticated()])
    async def pickup_confirm(
        self,
        info: Info[Context, None],
        fulfilment_id: strawberry.ID,
        code: str,
        idempotency_key: str | None = None,
    ) -> OrderPayload:
        ctx = info.context
        return await _order_payload(
            ctx, _run_fulfil(ctx, fulfilment_id, "PICKED_UP", idempotency_key, code=code)
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def fulfilment_ship(
        self,
        info: Info[Context, None],
        fulfilment_id: strawberry.ID,
        carrier: str,
        tracking_number: str,
        idempotency_key: str | None = None,
    ) -> OrderPayload:
        ctx = info.context
        return await _order_payload(ctx, _run_fulfil(
            ctx, fulfilment_id, "SHIPPED", idempotency_key, carrier=carrier[:60],
            tracking_number=tracking_number[:120],
        ))  # fmt: skip

    @strawberry.mutation(extensions=[authenticated()])
    async def order_mark_paid(
        self, info: Info[Context, None], order_id: strawberry.ID, reference: str = ""
    ) -> OrderPayload:
        ctx = info.context
        return await _order_payload(ctx, svc.mark_paid(
            ctx.services.uow, ctx.principal, order_id=expect_id(order_id, "Order", field="orderId"),
            reference=reference, clock=ctx.services.clock,
        ))  # fmt: skip

    @strawberry.mutation(description="Staff, or the buyer with the order's access token.")
    async def order_cancel(
        self,
        info: Info[Context, None],
        order_id: strawberry.ID,
        reason: str = "",
        idempotency_key: str | None = None,
        access_token: str | None = None,
    ) -> OrderPayload:
        ctx = info.context
        return await _order_payload(ctx, svc.cancel(
            ctx.services.uow, ctx.principal, order_id=expect_id(order_id, "Order", field="orderId"),
            reason=reason[:255], idempotency_key=idempotency_key, access_token=access_token,
            clock=ctx.services.clock,
        ))  # fmt: skip

    @strawberry.mutation(extensions=[authenticated()], description="Clerk: a sale at the till.")
    async def pos_order_create(
        self, info: Info[Context, None], input: PosOrderInput
    ) -> OrderPayload:
        ctx = info.context
        try:
            lines = [(expect_id(ln.variant_id, "ProductVariant", field=f"lines.{i}.variantId"),
                      ln.quantity) for i, ln in enumerate(input.lines)]  # fmt: skip
            buyer = cart_services.clean_buyer(
                om.Buyer(email=input.buyer_email, phone=input.buyer_phone)
            )
            sale = TillSale(
                location_id=expect_id(input.location_id, "Location", field="locationId"),
                lines=lines,
                buyer=buyer,
                tender=input.tender.upper(),
                member_code=input.member_code,
                points_to_redeem=input.points_to_redeem,
                discount_codes=input.discount_codes,
            )
            run = pos.pos_sale(
                ctx.services.uow,
                ctx.principal,
                sale=sale,
                idempotency_key=input.idempotency_key,
                clock=ctx.services.clock,
            )
        except DomainError as error:
            return OrderPayload(order=None, user_errors=[UserError.of(error)])
        return await _order_payload(ctx, run)

    @strawberry.mutation(extensions=[authenticated()], description="Store staff: take goods back.")
    async def order_return_create(
        self, info: Info[Context, None], input: OrderReturnInput
    ) -> OrderReturnPayload:
        ctx = info.context
        try:
            lines: dict[int, int] = {}
            for i, ln in enumerate(input.lines):
                key = expect_id(ln.order_line_id, "OrderLine", field=f"lines.{i}.orderLineId")
                lines[key] = lines.get(key, 0) + ln.quantity
            result = await returns.create_return(
                ctx.services.uow,
                ctx.principal,
                order_id=expect_id(input.order_id, "Order", field="orderId"),
                location_id=expect_id(input.location_id, "Location", field="locationId"),
                lines=lines,
                restock=input.restock,
                idempotency_key=input.idempotency_key,
                clock=ctx.services.clock,
            )
        except DomainError as error:
            return OrderReturnPayload(
                order=None, refund_due=None, user_errors=[UserError.of(error)]
            )
        order = await _load(ctx, result.order_id)
        return OrderReturnPayload(order=order, refund_due=_money(result.refund_due,
                                  order.total.currency_code), user_errors=[])  # fmt: skip


__all__ = ["Role"]
