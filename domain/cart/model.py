"""Pricing a cart: every line repriced by the one pricing function, availability per line, totals.

Pure: the caller loads price rules, stock levels and locations; nothing here touches storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.channels.model import Channel, Location
from domain.inventory.model import StockLevel, available_to_sell, distance_km
from domain.money import Money
from domain.orders.model import Totals, delivery_fee, totals
from domain.pricing.model import PriceRule, price_for

MAX_LINE_QUANTITY = 999
MAX_LINES = 100


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A cart line as the buyer sees it now."""

    variant_id: int
    title: str
    sku: str
    quantity: int
    unit_price: Money | None  # None: not sold in this channel
    compare_at: Money | None
    line_total: Money | None
    available_in_channel: int
    available_at_store: int | None  # the chosen pick-up / delivery store, if any
    nearest_stores_with_stock: tuple[tuple[int, float | None], ...]  # (location id, km)

    @property
    def problem(self) -> str | None:
        """Why this line cannot be bought as it is, or None."""
        if self.unit_price is None:
            return "NOT_SOLD_IN_CHANNEL"
        if self.available_in_channel < self.quantity:
            return "OUT_OF_STOCK"
        if self.available_at_store is not None and self.available_at_store < self.quantity:
            return "NOT_AVAILABLE_AT_STORE"
        return None


@dataclass(frozen=True, slots=True)
class PricedCart:
    """A cart with its lines and totals in the channel's currency."""

    lines: tuple[PricedLine, ...]
    totals: Totals


def price_cart(
    lines: Sequence[tuple[int, int, str, str]],  # (variant id, quantity, title, sku)
    *,
    channel: Channel,
    rules: Mapping[int, Sequence[PriceRule]],
    levels: Mapping[int, Sequence[StockLevel]],
    locations: Mapping[int, Location],
    delivery_method: str | None,
    store_id: int | None,
    at: datetime,
    tier: str | None = None,
) -> PricedCart:
    """Reprice every line for the channel now, and total the cart."""
    currency = channel.currency
    priced = []
    subtotal = Money(0, currency)
    for variant_id, quantity, title, sku in lines:
        quote = price_for(
            rules.get(variant_id, ()), currency=currency, channel=channel.handle, tier=tier, at=at
        )
        variant_levels = levels.get(variant_id, ())
        in_channel = available_to_sell(
            variant_levels, rule=channel.rule, serving=channel.location_ids
        )
        at_store = None
        if store_id is not None:
            at_store = sum(lv.available for lv in variant_levels if lv.location_id == store_id)
        line_total = quote.price.times(quantity) if quote else None
        if line_total is not None:
            subtotal = subtotal + line_total
        priced.append(
            PricedLine(
                variant_id=variant_id,
                title=title,
                sku=sku,
                quantity=quantity,
                unit_price=quote.price if quote else None,
                compare_at=quote.compare_at if quote else None,
                line_total=line_total,
                available_in_channel=in_channel,
                available_at_store=at_store,
                nearest_stores_with_stock=_nearest_with_stock(
                    variant_levels, quantity, channel, locations, store_id
                )
                if at_store is not None and at_store < quantity
                else (),
            )
        )
    return PricedCart(
        tuple(priced),
        totals(
            subtotal=subtotal,
            delivery=_fee(channel, delivery_method, subtotal),
            tax_rate_bp=channel.tax_rate_bp,
            prices_include_tax=channel.prices_include_tax,
        ),
    )


def _fee(channel: Channel, delivery_method: str | None, subtotal: Money) -> Money:
    """What delivery costs in the channel for this method and subtotal."""
    if delivery_method == "LOCAL_DELIVERY":
        return Money(channel.local_delivery_fee, subtotal.currency)
    if delivery_method in ("SHIP", "PICKUP"):
        return delivery_fee(
            method=delivery_method,
            subtotal=subtotal,
            flat_fee=channel.shipping_fee,
            free_over=channel.free_shipping_over,
        )
    return Money(0, subtotal.currency)


def _nearest_with_stock(
    levels: Sequence[StockLevel],
    quantity: int,
    channel: Channel,
    locations: Mapping[int, Location],
    store_id: int | None,
    limit: int = 3,
) -> tuple[tuple[int, float | None], ...]:
    store = locations.get(store_id) if store_id is not None else None
    origin = store.coordinates if store else None
    found = []
    for level in levels:
        location = locations.get(level.location_id)
        if (
            location is None
            or location.id == store_id
            or location.kind != "STORE"
            or not location.pickup_enabled
            or level.location_id not in channel.location_ids
            or level.available < quantity
        ):
            continue
        coordinates = location.coordinates
        km = distance_km(origin, coordinates) if origin and coordinates else None
        found.append((location.id, km))
    found.sort(key=lambda x: (x[1] is None, x[1] or 0.0, x[0]))
    return tuple(found[:limit])
