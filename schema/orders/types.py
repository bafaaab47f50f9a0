"""Order types: Order with its lines, fulfilments and events; the till and return inputs; the
order payloads."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from domain.money import Money
from domain.orders import model as om
from resolvers.attributions import attributions_of
from resolvers.context import Context
from schema.channels.types import Location
from schema.commissions.types import OrderAttribution
from schema.common import MoneyV2, UserError
from schema.payments.types import CheckoutPayment, OrderPayment, OrderRefund
from schema.relay import to_global_id

JSON = strawberry.scalars.JSON


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

    @classmethod
    def of(cls, line: om.OrderLine, currency: str) -> OrderLine:
        compare_at = line.compare_at_price
        return cls(
            id=strawberry.ID(to_global_id("OrderLine", line.id)),
            variant_id=strawberry.ID(to_global_id("ProductVariant", line.variant_id)),
            sku=line.sku,
            title=line.title,
            quantity=line.quantity,
            returned_quantity=line.returned_quantity,
            unit_price=MoneyV2.of(Money(line.unit_price, currency)),
            compare_at_price=MoneyV2.of(Money(compare_at, currency))
            if compare_at is not None
            else None,
            total=MoneyV2.of(Money(line.line_total, currency)),
        )


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

    @classmethod
    def of(cls, fulfilment: om.Fulfilment, order: om.Order) -> Fulfilment:
        f = fulfilment
        qr = None
        if f.pickup_code:
            scanned = {"o": order.number, "f": f.id, "c": f.pickup_code}
            qr = json.dumps(scanned, separators=(",", ":"))
        return cls(
            id=strawberry.ID(to_global_id("Fulfilment", f.id)),
            method=f.method,
            status=f.status,
            lines=[
                FulfilmentLine(
                    variant_id=strawberry.ID(to_global_id("ProductVariant", v)), quantity=q
                )
                for v, q in f.lines
            ],
            carrier=f.carrier,
            tracking_number=f.tracking_number,
            pickup_code=f.pickup_code,
            qr_payload=qr,
            _location_id=f.location_id,
        )


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

    @strawberry.field(description="How the order is paid, one entry per tender.")
    async def payments(self, info: Info[Context, None]) -> list[OrderPayment]:
        found = await info.context.payments_of(self._id)
        return [OrderPayment.of(p) for p in found]

    @strawberry.field(description="Money owed back per tender, and where each refund stands.")
    async def refunds(self, info: Info[Context, None]) -> list[OrderRefund]:
        found = await info.context.refunds_of(self._id)
        return [OrderRefund.of(r) for r in found]

    @strawberry.field(description="Staff only: who did what, when.")
    async def events(self, info: Info[Context, None]) -> list[OrderEvent]:
        if not self._staff:
            return []
        rows = await info.context.services.orders.events(self._id)
        return [
            OrderEvent(kind=r.kind, actor=r.actor, data=r.data, created_at=r.created_at)
            for r in rows
        ]

    @strawberry.field(description="Staff: who the order is credited to, and the rule of each.")
    async def attributions(self, info: Info[Context, None]) -> list[OrderAttribution]:
        if not self._staff:
            return []
        return [OrderAttribution.of(s) for s in await attributions_of(info.context, self._id)]

    @classmethod
    def of(cls, order: om.Order, *, staff: bool) -> Order:
        def money(amount: int) -> MoneyV2:
            return MoneyV2.of(order.money(amount))

        return cls(
            id=strawberry.ID(to_global_id("Order", order.id)),
            number=order.number,
            channel=order.channel_handle,
            source=order.source,
            external_reference=order.external_reference,
            status=order.status,
            payment_status=order.payment_status,
            lines=[OrderLine.of(line, order.currency) for line in order.lines],
            subtotal=money(order.subtotal),
            delivery_total=money(order.delivery_total),
            tax_total=money(order.tax_total),
            total=money(order.total),
            refunded_total=money(order.refunded_total),
            discount_total=money(order.discount_total),
            discounts=[d.as_json() for d in order.discounts],
            points_redeemed=order.points_redeemed,
            points_value=money(order.points_value),
            points_earned=order.points_earned,
            buyer=order.buyer.as_json(),
            delivery=order.delivery.as_json(),
            routing_reason=order.routing.reason if staff else None,
            fulfilments=[Fulfilment.of(f, order) for f in order.fulfilments],
            created_at=order.created_at,
            _id=order.id,
            _staff=staff,
        )


@strawberry.type
class OrderPayload:
    order: Order | None = None
    user_errors: list[UserError]
    change: MoneyV2 | None = strawberry.field(
        default=None,
        description="posOrderCreate: the cash given back (0.00 when none); null elsewhere.",
    )


@strawberry.type
class CheckoutCompletePayload:
    order: Order | None = None
    order_access_token: str | None = strawberry.field(
        default=None,
        description="Lets a guest read and cancel this order: order(id, accessToken).",
    )
    payment_required: str = strawberry.field(
        default="PAY_AT_PICKUP_OR_DELIVERY",
        description="What the client does next about payment: NONE (paid or authorised), "
        "PAY_AT_PICKUP_OR_DELIVERY, CONFIRM_WITH_CLIENT_SECRET (the provider's SDK confirms), "
        "NEXT_ACTION (redirect or QR code: payment.nextAction), RETRY_PAYMENT (declined or "
        "not yet opened: checkoutPaymentConfirm).",
    )
    payment: CheckoutPayment | None = strawberry.field(
        default=None, description="The online payment, when checkout asked for one."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PosLineInput:
    variant_id: strawberry.ID
    quantity: int = 1


@strawberry.enum(description="How part of a till sale is paid.")
class PosTenderKind(Enum):
    CASH = "CASH"  # into the clerk's open till session
    CARD_TERMINAL = "CARD_TERMINAL"  # charged at the store's card terminal
    POINTS = "POINTS"  # the member's points (pointsToRedeem)
    VOUCHER = "VOUCHER"  # the member's voucher (discountCodes)


@strawberry.input(description="One tender of a till sale; amounts in minor units (cents).")
class PosTenderInput:
    kind: PosTenderKind
    amount: int = strawberry.field(
        default=0,
        description="What this tender pays. Cash and card: more than 0, together exactly the "
        "total less the points' value. Points and voucher: 0, or what they pay (checked).",
    )
    given: int | None = strawberry.field(
        default=None,
        description="Cash only: what the buyer handed over (at least amount); the rest is change.",
    )


@strawberry.input
class PosOrderInput:
    location_id: strawberry.ID
    lines: list[PosLineInput]
    tender: str | None = strawberry.field(
        default=None,
        description="Older clients: CASH or CARD_TERMINAL paying the rest; use tenders.",
    )
    tenders: list[PosTenderInput] | None = strawberry.field(
        default=None,
        description="How the sale is paid: cash needs the clerk's open till session "
        "(tillSessionOpen); cards are charged at the store's terminal.",
    )
    buyer_email: str | None = None
    buyer_phone: str | None = None
    member_code: str | None = strawberry.field(default=None, description="Scanned at the till.")
    points_to_redeem: int = 0
    discount_codes: list[str] = strawberry.field(
        default_factory=list, description="Coupons and the member's vouchers."
    )
    idempotency_key: str | None = None
    member_presence: str | None = strawberry.field(
        default=None,
        description="The one-time code shown by the member's app (memberPresenceCode): needed "
        "to spend their points or vouchers; a member code alone only earns.",
    )


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
    order: Order | None = None
    refund_due: MoneyV2 | None = None
    user_errors: list[UserError]
