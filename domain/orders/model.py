"""The order aggregate, one model for every channel, and its pure rules (totals, refunds).

``Order`` is what the repositories take and return; ``OrderDraft`` is what ``place_order``
turns into an order. Buyer, delivery, routing and discounts are typed here; their JSON shape
(``as_json``/``from_json``) is defined once, next to them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.errors import CommonErrorCode, DomainError
from domain.money import Money
from domain.orders.errors import OrderErrorCode
from domain.orders.states import (
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)

Json = dict[str, Any]  # what a JSON column or a JSON GraphQL field holds


@dataclass(frozen=True, slots=True)
class Buyer:
    """Who buys: at least an email or a phone number to place an order."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None

    @property
    def reachable(self) -> bool:
        """An email or a phone number is known."""
        return bool(self.email or self.phone)

    def as_json(self) -> Json:
        """Only the parts that are known."""
        return {
            k: v
            for k, v in (("email", self.email), ("phone", self.phone), ("name", self.name))
            if v
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Buyer:
        """From its stored JSON."""
        return cls(email=data.get("email"), phone=data.get("phone"), name=data.get("name"))


@dataclass(frozen=True, slots=True)
class Address:
    """A delivery address; coordinates let local delivery and routing measure distance."""

    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def coordinates(self) -> tuple[float, float] | None:
        """(latitude, longitude) when both are known."""
        if self.latitude is None or self.longitude is None:
            return None
        return (float(self.latitude), float(self.longitude))

    def as_json(self) -> Json:
        """Only the parts that are known."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Address:
        """From its stored JSON (unknown keys ignored)."""
        return cls(**{k: data[k] for k in cls.__slots__ if data.get(k) is not None})


@dataclass(frozen=True, slots=True)
class Delivery:
    """How the buyer receives the order: a method, the store for pick-up, an address."""

    method: FulfilmentMethod | None = None
    location_id: int | None = None
    address: Address | None = None

    @property
    def pickup_store(self) -> int | None:
        """The store chosen for pick-up, if the buyer picks up."""
        return self.location_id if self.method is FulfilmentMethod.PICKUP else None

    def as_json(self) -> Json:
        """As stored and shown: ``{"method", "locationId" | "address"}``."""
        data: Json = {}
        if self.method is not None:
            data["method"] = self.method.value
        if self.location_id is not None:
            data["locationId"] = self.location_id
        if self.address is not None:
            data["address"] = self.address.as_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        """From its stored JSON."""
        method, location, address = data.get("method"), data.get("locationId"), data.get("address")
        return cls(
            method=FulfilmentMethod(method) if method else None,
            location_id=int(location) if location else None,
            address=Address.from_json(address) if isinstance(address, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class Routing:
    """Which locations serve the order, and why."""

    reason: str
    split: bool = False
    location_ids: tuple[int, ...] = ()

    def as_json(self) -> Json:
        """As stored."""
        return {"reason": self.reason, "split": self.split, "locationIds": list(self.location_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Routing:
        """From its stored JSON."""
        return cls(
            reason=str(data.get("reason", "")),
            split=bool(data.get("split", False)),
            location_ids=tuple(int(x) for x in data.get("locationIds", ())),
        )


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """A promotion's discount on one line, with its explanation."""

    promotion_id: int
    variant_id: int | None
    amount: int
    why: str

    def as_json(self) -> Json:
        """As stored and shown."""
        return {
            "promotionId": self.promotion_id,
            "variantId": self.variant_id,
            "amount": self.amount,
            "why": self.why,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AppliedDiscount:
        """From its stored JSON."""
        return cls(
            promotion_id=int(data["promotionId"]),
            variant_id=data.get("variantId"),
            amount=int(data["amount"]),
            why=str(data.get("why", "")),
        )


@dataclass(frozen=True, slots=True)
class OrderLine:
    """An order line with its price snapshot (minor units of the order's currency)."""

    id: int
    variant_id: int
    sku: str
    title: str
    quantity: int
    unit_price: int
    compare_at_price: int | None
    line_total: int
    returned_quantity: int = 0
    discount: int = 0

    @property
    def paid(self) -> int:
        """What the line cost after discounts."""
        return self.line_total - self.discount


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """A part of an order served from one location."""

    id: int
    order_id: int
    location_id: int
    method: FulfilmentMethod
    status: FulfilmentStatus
    lines: tuple[tuple[int, int], ...]  # (variant id, quantity)
    pickup_code: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None


@dataclass(slots=True)
class Order:
    """The order aggregate: lines, fulfilments, money and where it stands."""

    id: int
    number: str
    channel_id: int
    channel_handle: str
    source: OrderSource
    external_reference: str | None
    status: OrderStatus
    payment_status: PaymentStatus
    currency: str
    subtotal: int
    delivery_total: int
    tax_total: int
    total: int
    refunded_total: int
    buyer: Buyer
    delivery: Delivery
    routing: Routing
    location_ids: tuple[int, ...]
    attributed_location_id: int | None
    attributed_staff_id: int | None
    access_token: str
    created_at: datetime
    lines: tuple[OrderLine, ...]
    fulfilments: tuple[Fulfilment, ...]
    member_id: int | None = None
    discount_total: int = 0
    discounts: tuple[AppliedDiscount, ...] = ()
    points_redeemed: int = 0
    points_value: int = 0
    points_earned: int = 0
    payment_tender: str | None = None  # CARD / ALIPAY / WECHAT_PAY when paid online

    @property
    def paid_online(self) -> bool:
        """The buyer pays through the payment provider (not at the counter or on delivery)."""
        return self.payment_tender is not None

    def money(self, amount: int) -> Money:
        """An amount in the order's currency."""
        return Money(amount, self.currency)

    def fulfilment(self, fulfilment_id: int) -> Fulfilment | None:
        """One of the order's fulfilments."""
        return next((f for f in self.fulfilments if f.id == fulfilment_id), None)

    def others_all(self, fulfilment_id: int, *statuses: FulfilmentStatus) -> bool:
        """Whether every other fulfilment is in one of ``statuses``."""
        return all(f.status in statuses for f in self.fulfilments if f.id != fulfilment_id)


@dataclass(frozen=True, slots=True)
class FulfilmentDraft:
    """A part of a new order: the location, the method, what it serves."""

    location_id: int
    method: FulfilmentMethod
    status: FulfilmentStatus
    lines: tuple[tuple[int, int], ...]  # (variant id, quantity)
    pickup_code: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """Everything an order is placed with, from any channel."""

    channel_id: int
    channel_handle: str
    source: OrderSource
    status: OrderStatus
    payment_status: PaymentStatus
    currency: str
    totals: Totals
    buyer: Buyer
    delivery: Delivery
    routing: Routing
    lines: tuple[OrderLine, ...]
    fulfilments: tuple[FulfilmentDraft, ...]
    discounts: tuple[AppliedDiscount, ...] = ()
    discount_total: int = 0
    member_id: int | None = None
    attributed_location_id: int | None = None
    attributed_staff_id: int | None = None
    external_reference: str | None = None
    payment_tender: str | None = None  # CARD / ALIPAY / WECHAT_PAY when paid online
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def placed(self, *, order_id: int, at: datetime) -> Order:
        """The order this draft became; line and fulfilment ids are the store's to tell."""
        t = self.totals
        return Order(
            id=order_id,
            number=order_number(order_id),
            channel_id=self.channel_id,
            channel_handle=self.channel_handle,
            source=self.source,
            external_reference=self.external_reference,
            status=self.status,
            payment_status=self.payment_status,
            currency=self.currency,
            subtotal=t.subtotal.amount,
            delivery_total=t.delivery.amount,
            tax_total=t.tax.amount,
            total=t.total.amount,
            refunded_total=0,
            buyer=self.buyer,
            delivery=self.delivery,
            routing=self.routing,
            location_ids=self.routing.location_ids,
            attributed_location_id=self.attributed_location_id,
            attributed_staff_id=self.attributed_staff_id,
            access_token=self.access_token,
            created_at=at,
            lines=self.lines,
            fulfilments=tuple(
                Fulfilment(0, order_id, f.location_id, f.method, f.status, f.lines, f.pickup_code)
                for f in self.fulfilments
            ),
            member_id=self.member_id,
            discount_total=self.discount_total,
            discounts=self.discounts,
            payment_tender=self.payment_tender,
        )


def order_number(order_id: int) -> str:
    """The number a buyer and staff quote: ``O2O-000042``."""
    return f"O2O-{order_id:06d}"


def pickup_code() -> str:
    """A 6-digit code the buyer shows at the store (1 in a million to guess)."""
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True, slots=True)
class Totals:
    """What the buyer pays, with the tax inside it."""

    subtotal: Money
    delivery: Money
    tax: Money
    total: Money


def totals(
    *, subtotal: Money, delivery: Money, tax_rate_bp: int, prices_include_tax: bool
) -> Totals:
    """Tax on goods and delivery at the channel's rate (basis points), inclusive or on top."""
    base = subtotal + delivery
    if tax_rate_bp <= 0:
        return Totals(subtotal, delivery, Money(0, base.currency), base)
    if prices_include_tax:
        tax = (base.amount * tax_rate_bp + (10_000 + tax_rate_bp) // 2) // (10_000 + tax_rate_bp)
        return Totals(subtotal, delivery, Money(tax, base.currency), base)
    tax = (base.amount * tax_rate_bp + 5_000) // 10_000
    return Totals(
        subtotal, delivery, Money(tax, base.currency), Money(base.amount + tax, base.currency)
    )


def delivery_fee(*, method: str, subtotal: Money, flat_fee: int, free_over: int | None) -> Money:
    """Delivery costs the channel's flat fee, nothing for pick-up or over the free threshold."""
    if method == "PICKUP" or (free_over is not None and subtotal.amount >= free_over):
        return Money(0, subtotal.currency)
    return Money(flat_fee, subtotal.currency)


def refund_for_return(
    *,
    line_totals: dict[int, Money],
    returned: dict[int, int],
    ordered: dict[int, int],
    already_returned: dict[int, int],
) -> Money:
    """The refund due for returned quantities per order line, from what each line cost after
    discounts; cumulative, so that several partial returns add up to exactly the line's cost.
    More than ordered is refused."""
    currency = next(iter(line_totals.values())).currency
    total = 0
    for line_id, qty in returned.items():
        if qty <= 0:
            raise DomainError(OrderErrorCode.INVALID_QUANTITY, "return at least one", field="lines")
        if line_id not in ordered:
            raise DomainError(
                CommonErrorCode.NOT_FOUND, f"order line {line_id} not found", field="lines"
            )
        before = already_returned.get(line_id, 0)
        if before + qty > ordered[line_id]:
            raise DomainError(
                OrderErrorCode.RETURN_EXCEEDS_ORDERED,
                "more than was ordered (less what was returned before)",
                field="lines",
            )
        paid, count = line_totals[line_id].amount, ordered[line_id]
        total += paid * (before + qty) // count - paid * before // count
    return Money(total, currency)
