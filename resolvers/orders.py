"""Resolvers of orders: reads for buyers and staff, checkout, fulfilment, till sales, cancel,
returns. Each calls one use case of domain/orders/ and maps its result to the Order type."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from adapters.db.order_repositories import cart_demand
from adapters.stock_counter import stock_counter_for
from domain.cart.services import clean_buyer
from domain.errors import DomainError
from domain.money import Money
from domain.orders import checkout, pos, returns
from domain.orders import services as svc
from domain.orders.access import STAFF, may_see
from domain.orders.errors import OrderErrorCode
from domain.orders.model import Buyer
from domain.orders.ports import OrderFilter
from domain.orders.pos import PosResult, TillSale, TillTender
from domain.orders.services import FulfilmentStep
from domain.orders.states import FulfilmentStatus
from resolvers.context import Context
from schema.common import Connection, MoneyV2, connection
from schema.orders.types import (
    CheckoutCompletePayload,
    Order,
    OrderPayload,
    OrderReturnInput,
    OrderReturnPayload,
    PosOrderInput,
    ReturnLineInput,
)
from schema.payments.types import CheckoutPayment, CheckoutPaymentInput, next_step
from schema.relay import decode_cursor, expect_id


def _is_staff(ctx: Context) -> bool:
    return ctx.principal.role is not None


async def _load(ctx: Context, order_id: int) -> Order:
    found = await ctx.services.orders.order(order_id)
    assert found is not None
    return Order.of(found, staff=_is_staff(ctx))


async def _order_payload(ctx: Context, result: svc.OrderResult) -> OrderPayload:
    return OrderPayload(order=await _load(ctx, result.order_id), user_errors=[])


async def order(
    info: Info[Context, None], id: strawberry.ID, access_token: str | None = None
) -> Order | None:
    """An order for staff who may see it, or for its buyer with the order's access token."""
    ctx = info.context
    found = await ctx.services.orders.order(expect_id(id, "Order"))
    if found is None or not may_see(ctx.principal, found, access_token):
        return None
    return Order.of(found, staff=_is_staff(ctx))


async def orders(
    info: Info[Context, None],
    first: int = 20,
    after: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    location_id: strawberry.ID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Connection[Order]:
    """Staff: a page of orders, newest first; store staff see their stores' orders only."""
    ctx = info.context
    ctx.principal.require_staff(*STAFF)
    ctx.check_first(first)
    locations: tuple[int, ...] | None = None
    if location_id is not None:
        locations = (expect_id(location_id, "Location", field="locationId"),)
    if not ctx.principal.brand_wide:
        mine = tuple(sorted(ctx.principal.location_ids))
        locations = tuple(x for x in (locations or mine) if x in mine)
    filters = OrderFilter(
        channel=channel,
        status=status.upper() if status else None,
        location_ids=locations,
        created_from=created_from,
        created_to=created_to,
    )
    before = decode_cursor(after, field="after")[1] if after else None
    found, more = await ctx.services.orders.page(filters, limit=first, before_id=before)
    return connection(
        found,
        wrap=lambda o: Order.of(o, staff=True),
        cursor_of=lambda o: ("id", o.id),
        has_next=more,
        has_previous=after is not None,
    )


async def checkout_complete(
    info: Info[Context, None],
    cart_id: strawberry.ID,
    idempotency_key: str,
    payment: CheckoutPaymentInput | None = None,
) -> CheckoutCompletePayload:
    """Shoppers: the cart becomes an order (a replay with the same key answers the same);
    with ``payment``, its online payment opens and the answer says what the client does next."""
    ctx = info.context
    counter = stock_counter_for(ctx.services.kv)
    done = await checkout.checkout_complete(
        ctx.services.uow,
        ctx.principal,
        token=str(cart_id),
        idempotency_key=idempotency_key,
        clock=ctx.services.clock,
        payment=payment.request() if payment else None,
        gateway=ctx.services.payments,
        provider=ctx.services.payment_provider,
        check=checkout.SoldOutCheck(counter, cart_demand) if counter else None,
    )
    # the order as the transaction wrote it; read (a replay, a payment opened) otherwise
    placed = done.order or await ctx.services.orders.order(done.result.order_id)
    assert placed is not None
    step = done.payment
    return CheckoutCompletePayload(
        order=Order.of(placed, staff=False),
        order_access_token=done.result.access_token,
        payment_required=next_step(placed, step),
        payment=CheckoutPayment.of(step) if step else None,
    )


async def _fulfil(
    info: Info[Context, None],
    fulfilment_id: strawberry.ID,
    step: FulfilmentStatus,
    idempotency_key: str | None,
    *,
    code: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    cash_collected: bool = False,
    refused: dict[int, int] | None = None,
) -> OrderPayload:
    ctx = info.context
    move = FulfilmentStep(
        fulfilment_id=expect_id(fulfilment_id, "Fulfilment", field="fulfilmentId"),
        target=step,
        code=code,
        carrier=carrier,
        tracking_number=tracking_number,
        cash_collected=cash_collected,
        refused=refused or {},
    )
    result = await svc.fulfil(
        ctx.services.uow,
        ctx.principal,
        step=move,
        idempotency_key=idempotency_key,
        clock=ctx.services.clock,
        payments=ctx.services.payments,
    )
    return await _order_payload(ctx, result)


async def fulfilment_ready_for_pickup(
    info: Info[Context, None], fulfilment_id: strawberry.ID, idempotency_key: str | None = None
) -> OrderPayload:
    """Store staff: the order waits at the counter."""
    return await _fulfil(info, fulfilment_id, FulfilmentStatus.READY, idempotency_key)


async def fulfilment_dispatch(
    info: Info[Context, None], fulfilment_id: strawberry.ID, idempotency_key: str | None = None
) -> OrderPayload:
    """Store staff: a local delivery left the store."""
    return await _fulfil(info, fulfilment_id, FulfilmentStatus.DISPATCHED, idempotency_key)


async def fulfilment_deliver(
    info: Info[Context, None],
    fulfilment_id: strawberry.ID,
    idempotency_key: str | None = None,
    cash_collected: bool = False,
) -> OrderPayload:
    """Staff: a shipment or local delivery arrived (with cash collected on delivery)."""
    return await _fulfil(
        info,
        fulfilment_id,
        FulfilmentStatus.DELIVERED,
        idempotency_key,
        cash_collected=cash_collected,
    )


async def fulfilment_cancel(
    info: Info[Context, None],
    fulfilment_id: strawberry.ID,
    reason: str = "",
    idempotency_key: str | None = None,
) -> OrderPayload:
    """Store staff: a part of an order that has not left will not be served."""
    ctx = info.context
    result = await svc.cancel_fulfilment(
        ctx.services.uow,
        ctx.principal,
        fulfilment_id=expect_id(fulfilment_id, "Fulfilment", field="fulfilmentId"),
        reason=reason[:255],
        idempotency_key=idempotency_key,
        clock=ctx.services.clock,
    )
    return await _order_payload(ctx, result)


async def pickup_confirm(
    info: Info[Context, None],
    fulfilment_id: strawberry.ID,
    code: str,
    idempotency_key: str | None = None,
    refused_lines: list[ReturnLineInput] | None = None,
) -> OrderPayload:
    """Store staff: the buyer showed the pick-up code and took the goods (less
    ``refusedLines``, left at the counter: back in stock, not paid for)."""
    refused: dict[int, int] = {}
    for i, line in enumerate(refused_lines or ()):
        ident = expect_id(line.order_line_id, "OrderLine", field=f"refusedLines.{i}.orderLineId")
        if line.quantity <= 0:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY,
                "refuse at least one",
                field=f"refusedLines.{i}.quantity",
            )
        refused[ident] = refused.get(ident, 0) + line.quantity
    return await _fulfil(
        info,
        fulfilment_id,
        FulfilmentStatus.PICKED_UP,
        idempotency_key,
        code=code,
        refused=refused,
    )


async def fulfilment_ship(
    info: Info[Context, None],
    fulfilment_id: strawberry.ID,
    carrier: str,
    tracking_number: str,
    idempotency_key: str | None = None,
) -> OrderPayload:
    """Staff: a shipment left with a carrier and a tracking number."""
    return await _fulfil(
        info,
        fulfilment_id,
        FulfilmentStatus.SHIPPED,
        idempotency_key,
        carrier=carrier[:60],
        tracking_number=tracking_number[:120],
    )


async def order_mark_paid(
    info: Info[Context, None], order_id: strawberry.ID, reference: str = ""
) -> OrderPayload:
    """Staff: the buyer paid at pick-up or delivery."""
    ctx = info.context
    result = await svc.mark_paid(
        ctx.services.uow,
        ctx.principal,
        order_id=expect_id(order_id, "Order", field="orderId"),
        reference=reference,
        clock=ctx.services.clock,
    )
    return await _order_payload(ctx, result)


async def order_cancel(
    info: Info[Context, None],
    order_id: strawberry.ID,
    reason: str = "",
    idempotency_key: str | None = None,
    access_token: str | None = None,
) -> OrderPayload:
    """Staff, or the buyer with the order's access token: cancel what is not served yet."""
    ctx = info.context
    result = await svc.cancel(
        ctx.services.uow,
        ctx.principal,
        order_id=expect_id(order_id, "Order", field="orderId"),
        reason=reason[:255],
        idempotency_key=idempotency_key,
        access_token=access_token,
        clock=ctx.services.clock,
    )
    return await _order_payload(ctx, result)


def _till_sale(data: PosOrderInput) -> TillSale:
    lines = [
        (expect_id(ln.variant_id, "ProductVariant", field=f"lines.{i}.variantId"), ln.quantity)
        for i, ln in enumerate(data.lines)
    ]
    buyer = clean_buyer(Buyer(email=data.buyer_email, phone=data.buyer_phone))
    tenders = [TillTender(t.kind.value, t.amount, t.given) for t in data.tenders or []]
    return TillSale(
        location_id=expect_id(data.location_id, "Location", field="locationId"),
        lines=lines,
        buyer=buyer,
        tender=data.tender.upper() if data.tender is not None else None,
        tenders=tenders,
        member_code=data.member_code,
        member_presence=data.member_presence,
        points_to_redeem=data.points_to_redeem,
        discount_codes=data.discount_codes,
    )


async def pos_order_create(info: Info[Context, None], input: PosOrderInput) -> OrderPayload:
    """Clerk: a sale at the till of one store."""
    ctx = info.context
    result: PosResult = await pos.pos_sale(
        ctx.services.uow,
        ctx.principal,
        sale=_till_sale(input),
        idempotency_key=input.idempotency_key,
        clock=ctx.services.clock,
        terminal=ctx.services.terminal,
    )
    order = await _load(ctx, result.order_id)
    # a replay of a sale stored before tenders existed has no currency: the order's
    change = MoneyV2.of(Money(result.change, result.currency or order.total.currency_code))
    return OrderPayload(order=order, user_errors=[], change=change)


async def order_return_create(
    info: Info[Context, None], input: OrderReturnInput
) -> OrderReturnPayload:
    """Store staff: goods of any channel's order come back at a store; the refund due."""
    ctx = info.context
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
    returned = await _load(ctx, result.order_id)
    refund = Money(result.refund_due, returned.total.currency_code)
    return OrderReturnPayload(order=returned, refund_due=MoneyV2.of(refund), user_errors=[])
