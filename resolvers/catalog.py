"""Catalog reads: the listing, prices and availability as seen from one channel."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.db.queries import PageRequest, ProductFilter
from domain.catalog.model import Product, Variant
from domain.channels.model import Channel, Location, check_coordinates, check_radius
from domain.errors import DomainError
from domain.inventory.model import StockLevel, available_to_sell, distance_km
from domain.pricing.model import PriceQuote, price_for
from resolvers.context import Context


@dataclass(frozen=True, slots=True)
class StoreStock:
    """One store's stock of a variant, with its distance from the shopper."""

    location: Location
    quantity: int
    distance_km: float | None


async def quote(ctx: Context, variant_id: int, channel: Channel) -> PriceQuote | None:
    """The one pricing function, applied for this channel now (tier prices come with members)."""
    rules = await ctx.loaders.prices_by_variant.load((variant_id, channel.currency))
    return price_for(
        rules,
        currency=channel.currency,
        channel=channel.handle,
        tier=ctx.principal.tier,
        at=ctx.services.clock.now(),
    )


async def quotes(ctx: Context, variant_ids: list[int], channel: Channel) -> list[PriceQuote | None]:
    """Quotes for many variants in one batch."""
    rules = await ctx.loaders.prices_by_variant.load_many(
        [(v, channel.currency) for v in variant_ids]
    )
    now = ctx.services.clock.now()
    return [
        price_for(
            r, currency=channel.currency, channel=channel.handle, tier=ctx.principal.tier, at=now
        )
        for r in rules
    ]


async def quantities(ctx: Context, variant_ids: list[int], channel: Channel) -> list[int]:
    """Available-to-sell of many variants in one batch."""
    every = await ctx.loaders.stock_by_variant.load_many(variant_ids)
    return [available_to_sell(lv, rule=channel.rule, serving=channel.location_ids) for lv in every]


async def levels(ctx: Context, variant_id: int) -> list[StockLevel]:
    """Every location's stock level of a variant."""
    result: list[StockLevel] = await ctx.loaders.stock_by_variant.load(variant_id)
    return result


async def quantity_available(ctx: Context, variant_id: int, channel: Channel) -> int:
    """Available to sell in the channel: its locations, then its allocation rule."""
    return available_to_sell(
        await levels(ctx, variant_id), rule=channel.rule, serving=channel.location_ids
    )


async def store_stock(
    ctx: Context,
    variant_id: int,
    channel: Channel,
    *,
    near: tuple[float, float] | None,
    radius_km: float | None,
    first: int,
) -> list[StoreStock]:
    """Stores serving the channel that hold the variant, nearest first when a point is given."""
    if near is not None:
        check_coordinates(*near)
    check_radius(radius_km)
    if not 1 <= first <= 50:
        raise DomainError("INVALID", "first is 1 to 50", field="first")
    locations = await ctx.locations()
    by_location = {lv.location_id: lv for lv in await levels(ctx, variant_id)}
    result = []
    for location_id in channel.location_ids:
        location = locations.get(location_id)
        if location is None or location.kind != "STORE" or not location.active:
            continue
        distance = None
        if near is not None and location.coordinates is not None:
            distance = distance_km(near, location.coordinates)
            if radius_km is not None and distance > radius_km:
                continue
        elif near is not None and radius_km is not None:
            continue
        level = by_location.get(location_id)
        result.append(StoreStock(location, level.available if level else 0, distance))
    result.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0, -s.quantity))
    return result[:first]


def parse_product_query(text: str | None) -> dict[str, str]:
    """Shopify-style search text: `tag:x category:y collection:z available:true vendor:v words`."""
    found: dict[str, str] = {}
    words = []
    for token in (text or "").split():
        key, sep, value = token.partition(":")
        if sep and key.lower() in {"tag", "category", "collection", "available", "vendor", "sku"}:
            found[key.lower()] = value.strip("\"'")
        else:
            words.append(token)
    if found.get("sku"):
        words.append(found.pop("sku"))
    if words:
        found["text"] = " ".join(words)
    return found


async def product_filter(
    ctx: Context, channel: Channel, query: str | None, *, include_statuses: tuple[str, ...]
) -> ProductFilter:
    """Turn the `query` argument into a filter; unknown category or collection → no rows."""
    parsed = parse_product_query(query)
    category_ids: tuple[int, ...] | None = None
    if "category" in parsed:
        categories = await ctx.categories()
        root = next((c for c in categories.values() if c.handle == parsed["category"]), None)
        category_ids = _descendants(root.id, categories) if root else ()
    collection_id = None
    if "collection" in parsed:
        found = await ctx.services.queries.collection_by_handle(parsed["collection"])
        collection_id = found.id if found else -1
    available_in = None
    if parsed.get("available", "").lower() == "true":
        available_in = (channel.location_ids, channel.rule.minimum_total_for_one())
    return ProductFilter(
        text=parsed.get("text"),
        category_ids=category_ids,
        collection_id=collection_id,
        tag=parsed.get("tag"),
        available_in=available_in,
        statuses=include_statuses,
        vendor=parsed.get("vendor"),
    )


def _descendants(root: int, categories: dict) -> tuple[int, ...]:  # type: ignore[type-arg]
    result, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for c in categories.values():
            if c.parent_id == parent and c.id not in result:
                result.add(c.id)
                frontier.append(c.id)
    return tuple(sorted(result))


async def products_page(
    ctx: Context, filters: ProductFilter, page: PageRequest
) -> tuple[list[Product], bool]:
    """One page of the listing; primes the product loader with what it read."""
    products, more = await ctx.services.queries.products_page(filters, page)
    for product in products:
        ctx.loaders.product_by_id.prime(product.id, product)
    return products, more


async def variants(ctx: Context, product_id: int) -> list[Variant]:
    """A product's live variants in position order."""
    result: list[Variant] = await ctx.loaders.variants_by_product.load(product_id)
    return result
