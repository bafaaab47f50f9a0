"""The Query root: storefront catalog, channels, locations, and staff reads."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from adapters.db.queries import SORT_FIELDS, PageRequest
from domain.catalog.model import ProductStatus
from domain.channels.model import check_coordinates, check_radius
from domain.errors import DomainError
from domain.inventory.model import distance_km
from resolvers import catalog as r
from resolvers.context import Context
from schema.catalog import (
    Category,
    Channel,
    Collection,
    GeoCoordinateInput,
    Location,
    LocationDistance,
    Product,
    ProductVariant,
)
from schema.common import Connection, connection, offset_connection
from schema.inventory import InventoryLevel, StockMovement, inventory_levels, stock_movements
from schema.relay import Node, decode_cursor, expect_id, parse_global_id


@strawberry.enum(description="How `products` is sorted.")
class ProductSortKeys(Enum):
    ID = "ID"
    TITLE = "TITLE"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


def _page_size(ctx: Context, first: int | None, last: int | None) -> tuple[int, bool]:
    maximum = ctx.services.settings.max_page_size
    if first is not None and last is not None:
        raise DomainError("INVALID", "give first or last, not both", field="first")
    size = first if first is not None else last if last is not None else 20
    if size < 0:
        raise DomainError("INVALID", "page size cannot be negative", field="first")
    if size > maximum:
        raise DomainError(
            "MAX_PAGE_SIZE_EXCEEDED", f"at most {maximum} items per page", field="first"
        )
    return size, last is not None


def _sort_value(product: object, key: str) -> object:
    return getattr(product, SORT_FIELDS[key])


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Any object by its global ID; null when it does not exist.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        type_name, ident = parse_global_id(str(id))
        ctx = info.context
        channel = await ctx.channel(None)
        if type_name == "Product":
            found = await ctx.loaders.product_by_id.load(ident)
            visible = found and (found.status == "ACTIVE" or not ctx.principal.is_anonymous)
            return Product(_product=found, _channel=channel) if visible else None
        if type_name == "ProductVariant":
            variant = await ctx.loaders.variant_by_id.load(ident)
            return ProductVariant(_variant=variant, _channel=channel) if variant else None
        if type_name == "Collection":
            coll = await ctx.loaders.collection_by_id.load(ident)
            return Collection(_collection=coll) if coll else None
        if type_name == "Category":
            cat = (await ctx.categories()).get(ident)
            return Category(_category=cat) if cat else None
        if type_name == "Location":
            loc = (await ctx.locations()).get(ident)
            return Location(_location=loc) if loc else None
        if type_name == "Channel":
            every = (await ctx.loaders.channels.get()).values()
            chan = next((c for c in every if c.id == ident), None)
            return Channel(_channel=chan) if chan else None
        return None

    @strawberry.field(description="The catalog as a channel sells it (default channel `web`).")
    async def products(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        query: Annotated[
            str | None,
            strawberry.argument(
                description="Words match title and SKU; filters: tag:x category:handle "
                "collection:handle vendor:x available:true"
            ),
        ] = None,
        channel: str | None = None,
        sort_key: ProductSortKeys = ProductSortKeys.ID,
        reverse: bool = False,
    ) -> Connection[Product]:
        ctx = info.context
        chan = await ctx.channel(channel)
        size, from_end = _page_size(ctx, first, last)
        key = sort_key.value if hasattr(sort_key, "value") else str(sort_key)
        statuses = (ProductStatus.ACTIVE.value,)
        filters = await r.product_filter(ctx, chan, query, include_statuses=statuses)
        page = PageRequest(
            sort=key,
            reverse=reverse,
            limit=size,
            from_end=from_end,
            after=decode_cursor(after, field="after") if after else None,
            before=decode_cursor(before, field="before") if before else None,
        )
        found, more = await r.products_page(ctx, filters, page)
        return connection(
            found,
            wrap=lambda p: Product(_product=p, _channel=chan),
            cursor_of=lambda p: (_sort_value(p, key), p.id),
            has_next=more if not from_end else before is not None,
            has_previous=more if from_end else after is not None,
        )

    @strawberry.field(description="One product by ID or handle, as a channel sells it.")
    async def product(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        handle: str | None = None,
        channel: str | None = None,
    ) -> Product | None:
        ctx = info.context
        chan = await ctx.channel(channel)
        if (id is None) == (handle is None):
            raise DomainError("INVALID", "give exactly one of id or handle", field="id")
        if id is not None:
            found = await ctx.loaders.product_by_id.load(expect_id(id, "Product"))
        else:
            found = await ctx.loaders.product_by_handle.load(handle)
        if found is None or (found.status != "ACTIVE" and ctx.principal.is_anonymous):
            return None
        return Product(_product=found, _channel=chan)

    @strawberry.field
    async def collections(
        self, info: Info[Context, None], first: int | None = None
    ) -> Connection[Collection]:
        size, _ = _page_size(info.context, first, None)
        every = await info.context.services.queries.collections()
        return offset_connection(every, wrap=lambda c: Collection(_collection=c), first=size)

    @strawberry.field(description="The top of the category tree.")
    async def categories(self, info: Info[Context, None]) -> list[Category]:
        every = (await info.context.categories()).values()
        return [Category(_category=c) for c in every if c.parent_id is None]

    @strawberry.field
    async def channels(self, info: Info[Context, None]) -> list[Channel]:
        every = await info.context.loaders.channels.get()
        return [Channel(_channel=c) for c in every.values()]

    @strawberry.field
    async def channel(self, info: Info[Context, None], handle: str) -> Channel:
        return Channel(_channel=await info.context.channel(handle, field_name="handle"))

    @strawberry.field(description="Locations, nearest first when `near` is given.")
    async def locations(
        self,
        info: Info[Context, None],
        near: GeoCoordinateInput | None = None,
        radius_km: float | None = None,
        kind: str | None = None,
        first: int = 50,
    ) -> list[LocationDistance]:
        check_radius(radius_km)
        if near is not None:
            check_coordinates(near.latitude, near.longitude)
        if not 1 <= first <= info.context.services.settings.max_page_size:
            raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
        result = []
        for loc in (await info.context.locations()).values():
            if not loc.active or (kind and loc.kind != kind.upper()):
                continue
            dist = None
            if near is not None and loc.coordinates is not None:
                dist = distance_km((near.latitude, near.longitude), loc.coordinates)
            if radius_km is not None and (dist is None or dist > radius_km):
                continue
            result.append(LocationDistance(location=Location(_location=loc), distance_km=dist))
        result.sort(key=lambda x: (x.distance_km is None, x.distance_km or 0.0))
        return result[:first]

    inventory_levels: list[InventoryLevel] = strawberry.field(
        resolver=inventory_levels, description="Staff: stock of a variant per location."
    )
    stock_movements: list[StockMovement] = strawberry.field(
        resolver=stock_movements, description="Staff: the stock ledger, newest first."
    )
