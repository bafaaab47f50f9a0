"""Cart types: Cart with its lines, costs, buyer and delivery; the cart inputs and payload."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.cart.model import PricedLine
from domain.cart.services import CartView
from domain.channels.model import Channel
from domain.channels.model import Location as DLocation
from resolvers.context import Context
from schema.catalog.types import ProductVariant
from schema.channels.types import Location
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id

JSON = strawberry.scalars.JSON


@strawberry.type
class CartDiscountCode:
    code: str
    applicable: bool
    reason: str | None = strawberry.field(
        description="INVALID_CODE, CODE_EXPIRED or CODE_NOT_APPLICABLE when it does not apply"
    )


@strawberry.type
class DiscountAllocation:
    line_id: strawberry.ID
    amount: MoneyV2
    explanation: str


@strawberry.type
class CartCost:
    subtotal_amount: MoneyV2
    delivery_amount: MoneyV2
    total_tax_amount: MoneyV2
    total_amount: MoneyV2
    points_amount: MoneyV2 | None = strawberry.field(description="Paid with points.")
    amount_due: MoneyV2 = strawberry.field(description="What remains to pay in money.")


@strawberry.type
class CartLineCost:
    amount_per_quantity: MoneyV2 | None
    compare_at_amount_per_quantity: MoneyV2 | None
    total_amount: MoneyV2 | None


@strawberry.type(description="Where else a line can be picked up, nearest to the chosen store.")
class StoreSuggestion:
    location: Location
    distance_km: float | None


@strawberry.type
class CartLineAvailability:
    quantity_available_in_channel: int
    quantity_available_at_store: int | None
    nearest_stores_with_stock: list[StoreSuggestion]


@strawberry.type
class CartLine:
    id: strawberry.ID
    quantity: int
    title: str
    sku: str
    cost: CartLineCost
    availability: CartLineAvailability
    problem: str | None = strawberry.field(
        description="NOT_SOLD_IN_CHANNEL, OUT_OF_STOCK or NOT_AVAILABLE_AT_STORE when the line "
        "cannot be bought as it is"
    )
    _variant_id: strawberry.Private[int]
    _channel: strawberry.Private[Channel]

    @strawberry.field
    async def merchandise(self, info: Info[Context, None]) -> ProductVariant | None:
        found = await info.context.loaders.variant_by_id.load(self._variant_id)
        return ProductVariant(_variant=found, _channel=self._channel) if found else None

    @classmethod
    def of(cls, line: PricedLine, channel: Channel, locations: dict[int, DLocation]) -> CartLine:
        return cls(
            id=strawberry.ID(to_global_id("CartLine", line.variant_id)),
            quantity=line.quantity,
            title=line.title,
            sku=line.sku,
            cost=CartLineCost(
                amount_per_quantity=MoneyV2.of(line.unit_price),
                compare_at_amount_per_quantity=MoneyV2.of(line.compare_at),
                total_amount=MoneyV2.of(line.line_total),
            ),
            availability=CartLineAvailability(
                quantity_available_in_channel=line.available_in_channel,
                quantity_available_at_store=line.available_at_store,
                nearest_stores_with_stock=[
                    StoreSuggestion(location=Location(_location=locations[i]), distance_km=km)
                    for i, km in line.nearest_stores_with_stock
                    if i in locations
                ],
            ),
            problem=line.problem,
            _variant_id=line.variant_id,
            _channel=channel,
        )


@strawberry.type
class BuyerIdentity:
    email: str | None
    phone: str | None
    name: str | None


@strawberry.type
class CartDelivery:
    method: str | None
    address: JSON | None
    _location_id: strawberry.Private[int | None]
    # every location, when the cart's pricing read them already
    _locations: strawberry.Private[dict[int, DLocation] | None] = None

    @strawberry.field
    async def location(self, info: Info[Context, None]) -> Location | None:
        if self._location_id is None:
            return None
        every = self._locations
        if every is None:
            every = await info.context.locations()
        found = every.get(self._location_id)
        return Location(_location=found) if found else None


@strawberry.type(description="A shopper's cart, repriced by the gateway on every read.")
class Cart:
    id: strawberry.ID
    channel: str
    lines: list[CartLine]
    total_quantity: int
    cost: CartCost
    buyer_identity: BuyerIdentity
    delivery: CartDelivery
    expires_at: datetime
    ready_for_checkout: bool
    points_to_redeem: int
    discount_codes: list[CartDiscountCode]
    discount_allocations: list[DiscountAllocation] = strawberry.field(
        description="Every discount, explained per cart line."
    )

    @classmethod
    def of(cls, view: CartView, locations: dict[int, DLocation]) -> Cart:
        priced, cart = view.priced, view.cart
        t = view.totals
        evaluation = view.discounts.evaluation
        rejected = dict(evaluation.rejected_codes)
        return cls(
            id=strawberry.ID(cart.token),
            channel=view.channel.handle,
            lines=[CartLine.of(ln, view.channel, locations) for ln in priced.lines],
            total_quantity=sum(ln.quantity for ln in priced.lines),
            cost=CartCost(
                subtotal_amount=MoneyV2.of(t.subtotal),
                delivery_amount=MoneyV2.of(t.delivery),
                total_tax_amount=MoneyV2.of(t.tax),
                total_amount=MoneyV2.of(t.total),
                points_amount=MoneyV2.of(view.points_value),
                amount_due=MoneyV2.of(view.amount_due),
            ),
            points_to_redeem=cart.points_to_redeem,
            discount_codes=[
                CartDiscountCode(code=c, applicable=c not in rejected, reason=rejected.get(c))
                for c in cart.discount_codes
            ],
            discount_allocations=[
                DiscountAllocation(
                    line_id=strawberry.ID(to_global_id("CartLine", d.line_id)),
                    amount=MoneyV2.of(d.amount),
                    explanation=d.explanation,
                )
                for d in evaluation.line_discounts
            ],
            buyer_identity=BuyerIdentity(
                email=cart.buyer.email, phone=cart.buyer.phone, name=cart.buyer.name
            ),
            delivery=CartDelivery(
                method=cart.delivery.method.value if cart.delivery.method else None,
                address=cart.delivery.address.as_json() if cart.delivery.address else None,
                _location_id=cart.delivery.location_id,
                _locations=locations,
            ),
            expires_at=cart.expires_at,
            ready_for_checkout=bool(priced.lines)
            and all(ln.problem is None for ln in priced.lines)
            and cart.delivery.method is not None
            and cart.buyer.reachable,
        )


@strawberry.input
class CartLineInput:
    merchandise_id: strawberry.ID = strawberry.field(description="A ProductVariant ID.")
    quantity: int = 1


@strawberry.input
class CartLineUpdateInput:
    id: strawberry.ID = strawberry.field(description="A CartLine ID.")
    quantity: int


@strawberry.input
class BuyerIdentityInput:
    email: str | None = None
    phone: str | None = None
    name: str | None = None


@strawberry.input
class AddressInput:
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@strawberry.input
class CartDeliveryInput:
    method: str = strawberry.field(description="SHIP, PICKUP or LOCAL_DELIVERY")
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="The store, for PICKUP."
    )
    address: AddressInput | None = None


@strawberry.input
class CartInput:
    channel: str | None = None
    lines: list[CartLineInput] = strawberry.field(default_factory=list)
    buyer_identity: BuyerIdentityInput | None = None
    delivery: CartDeliveryInput | None = None


@strawberry.type
class CartPayload:
    cart: Cart | None = None
    user_errors: list[UserError]
