"""Resolvers of the catalog: storefront reads, admin products, categories, collections, prices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from domain.catalog import services as svc
from domain.catalog.model import (
    CatalogErrorCode,
    Category,
    Product,
    ProductDraft,
    ProductOption,
    ProductStatus,
    Variant,
    VariantDraft,
    search_terms,
)
from domain.catalog.ports import PRODUCT_SORT_FIELDS, PageRequest, ProductFilter
from domain.channels.model import Channel
from domain.errors import CommonErrorCode, DomainError
from domain.money import Money
from domain.pricing import services as price_svc
from domain.pricing.model import PriceKind, PriceRule
from resolvers.context import Context
from schema.catalog import types as t
from schema.channels.types import Channel as ChannelNode
from schema.channels.types import Location
from schema.common import Connection, connection, offset_connection
from schema.relay import Node, decode_cursor, expect_id, parse_global_id

# --- storefront reads ------------------------------------------------------------------------


def _page_size(ctx: Context, first: int | None, last: int | None) -> tuple[int, bool]:
    maximum = ctx.services.settings.max_page_size
    if first is not None and last is not None:
        raise DomainError(CommonErrorCode.INVALID, "give first or last, not both", field="first")
    size = first if first is not None else last if last is not None else 20
    if size < 0:
        raise DomainError(CommonErrorCode.INVALID, "page size cannot be negative", field="first")
    if size > maximum:
        raise DomainError(
            CommonErrorCode.MAX_PAGE_SIZE_EXCEEDED,
            f"at most {maximum} items per page",
            field="first",
        )
    return size, last is not None


async def node(info: Info[Context, None], id: strawberry.ID) -> Node | None:
    """Any object by its global ID; drafts and archives only for staff and catalog keys; None
    when it does not exist (or the caller may not see it)."""
    type_name, ident = parse_global_id(str(id))
    ctx = info.context
    channel = await ctx.channel(None)
    if type_name == "Product":
        found = await ctx.loaders.product_by_id.load(ident)
        visible = found is not None and _visible(ctx, found)
        return t.Product(_product=found, _channel=channel) if visible else None
    if type_name == "ProductVariant":
        variant = await ctx.loaders.variant_by_id.load(ident)
        if variant is None:
            return None
        owner = await ctx.loaders.product_by_id.load(variant.product_id)
        if owner is None or not _visible(ctx, owner, variant):
            return None
        return t.ProductVariant(_variant=variant, _channel=channel)
    if type_name == "Collection":
        coll = await ctx.loaders.collection_by_id.load(ident)
        return t.Collection(_collection=coll) if coll else None
    if type_name == "Category":
        cat = (await ctx.categories()).get(ident)
        return t.Category(_category=cat) if cat else None
    if type_name == "Location":
        loc = (await ctx.locations()).get(ident)
        return Location(_location=loc) if loc else None
    if type_name == "Channel":
        every = (await ctx.loaders.channels.get()).values()
        chan = next((c for c in every if c.id == ident), None)
        return ChannelNode(_channel=chan) if chan else None
    return None


QUERY_HELP = (
    "Words match title and SKU; filters: tag:x category:handle collection:handle vendor:x "
    "available:true"
)


async def products(
    info: Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: Annotated[str | None, strawberry.argument(description=QUERY_HELP)] = None,
    channel: str | None = None,
    sort_key: t.ProductSortKeys = t.ProductSortKeys.ID,
    reverse: bool = False,
) -> Connection[t.Product]:
    """A page of active products as a channel sells them, filtered and sorted."""
    ctx = info.context
    chan = await ctx.channel(channel)
    size, from_end = _page_size(ctx, first, last)
    key = sort_key.value if hasattr(sort_key, "value") else str(sort_key)
    statuses = (ProductStatus.ACTIVE.value,)
    filters = await product_filter(ctx, chan, query, include_statuses=statuses)
    page = PageRequest(
        sort=key,
        reverse=reverse,
        limit=size,
        from_end=from_end,
        after=_product_cursor(after, key, field="after") if after else None,
        before=_product_cursor(before, key, field="before") if before else None,
    )
    found, more = await ctx.services.queries.products_page(filters, page)
    for product in found:
        ctx.loaders.product_by_id.prime(product.id, product)
    return connection(
        found,
        wrap=lambda p: t.Product(_product=p, _channel=chan),
        cursor_of=lambda p: (getattr(p, PRODUCT_SORT_FIELDS[key]), p.id),
        has_next=more if not from_end else before is not None,
        has_previous=more if from_end else after is not None,
    )


_CURSOR_TYPES: dict[str, type | tuple[type, ...]] = {
    "ID": int,
    "TITLE": str,
    "CREATED_AT": datetime,
    "UPDATED_AT": datetime,
}


def _product_cursor(cursor: str, key: str, *, field: str) -> tuple[Any, int]:
    """A cursor of this listing: its sort value of the type the sort key orders by."""
    value, ident = decode_cursor(cursor, field=field)
    if isinstance(value, bool) or not isinstance(value, _CURSOR_TYPES.get(key, object)):
        raise DomainError(CommonErrorCode.INVALID_CURSOR, "not a cursor of this list", field=field)
    return value, ident


async def product(
    info: Info[Context, None],
    id: strawberry.ID | None = None,
    handle: str | None = None,
    channel: str | None = None,
) -> t.Product | None:
    """One product by ID or handle; drafts and archives only for staff and catalog keys."""
    ctx = info.context
    chan = await ctx.channel(channel)
    if (id is None) == (handle is None):
        raise DomainError(CommonErrorCode.INVALID, "give exactly one of id or handle", field="id")
    if id is not None:
        found = await ctx.loaders.product_by_id.load(expect_id(id, "Product"))
    else:
        found = await ctx.loaders.product_by_handle.load(handle)
    if found is None or not _visible(ctx, found):
        return None
    return t.Product(_product=found, _channel=chan)


def _visible(ctx: Context, product: Product, variant: Variant | None = None) -> bool:
    """Shoppers, members and partner keys without a catalog scope see only what is on sale:
    an ACTIVE product and its variants that are not archived."""
    on_sale = product.status is ProductStatus.ACTIVE and not (variant and variant.archived)
    return on_sale or ctx.principal.sees_unpublished_catalog


async def collections(
    info: Info[Context, None], first: int | None = None
) -> Connection[t.Collection]:
    """Every collection, the first `first` of them."""
    size, _ = _page_size(info.context, first, None)
    every = await info.context.services.queries.collections()
    return offset_connection(every, wrap=lambda c: t.Collection(_collection=c), first=size)


async def categories(info: Info[Context, None]) -> list[t.Category]:
    """The roots of the category tree."""
    every = (await info.context.categories()).values()
    return [t.Category(_category=c) for c in every if c.parent_id is None]


def parse_product_query(text: str | None) -> dict[str, str]:
    """Shopify-style search text: `tag:x category:y collection:z available:true vendor:v words`."""
    found: dict[str, str] = {}
    words = []
    for token in search_terms(text):
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
        every = await ctx.categories()
        root = next((c for c in every.values() if c.handle == parsed["category"]), None)
        category_ids = _descendants(root.id, every) if root else ()
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


def _descendants(root: int, every: dict[int, Category]) -> tuple[int, ...]:
    result, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for c in every.values():
            if c.parent_id == parent and c.id not in result:
                result.add(c.id)
                frontier.append(c.id)
    return tuple(sorted(result))


# --- admin: products, variants, categories, collections, prices ------------------------------


def _variant_draft(data: t.VariantInput) -> VariantDraft:
    values = data.option_values
    if values is not None and (
        not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
    ):
        raise DomainError(
            CatalogErrorCode.INVALID_OPTION_VALUES, "an object of strings", field="optionValues"
        )
    return VariantDraft(
        sku=data.sku,
        title=data.title,
        option_values=values,
        barcode=data.barcode,
        weight_grams=data.weight_grams,
        position=data.position,
    )


def _product_draft(data: t.ProductInput) -> ProductDraft:
    return ProductDraft(
        title=data.title,
        handle=data.handle,
        description=data.description,
        status=data.status,
        category_id=expect_id(data.category_id, "Category", field="categoryId")
        if data.category_id
        else None,
        vendor=data.vendor,
        tags=data.tags,
        image_urls=data.image_urls,
        options=[ProductOption(o.name.strip(), tuple(o.values)) for o in data.options]
        if data.options is not None
        else None,
    )


async def _product_payload(info: Info[Context, None], found: Product) -> t.ProductPayload:
    node = t.Product(_product=found, _channel=await info.context.channel(None))
    return t.ProductPayload(product=node, user_errors=[])


async def _variant_payload(info: Info[Context, None], found: Variant) -> t.ProductVariantPayload:
    node = t.ProductVariant(_variant=found, _channel=await info.context.channel(None))
    return t.ProductVariantPayload(product_variant=node, user_errors=[])


async def product_create(info: Info[Context, None], input: t.ProductInput) -> t.ProductPayload:
    """Staff: a product with its first variants."""
    ctx = info.context
    variants = [_variant_draft(v) for v in input.variants or []]
    product, _ = await svc.create_product(
        ctx.services.uow, ctx.principal, draft=_product_draft(input), variants=variants
    )
    return await _product_payload(info, product)


async def product_update(
    info: Info[Context, None], id: strawberry.ID, input: t.ProductInput
) -> t.ProductPayload:
    """Staff: edit a product's fields."""
    ctx = info.context
    product = await svc.update_product(
        ctx.services.uow,
        ctx.principal,
        product_id=expect_id(id, "Product"),
        draft=_product_draft(input),
    )
    return await _product_payload(info, product)


async def product_archive(info: Info[Context, None], id: strawberry.ID) -> t.ProductPayload:
    """Staff: hide a product from shoppers, keeping its history."""
    ctx = info.context
    product = await svc.archive_product(
        ctx.services.uow, ctx.principal, product_id=expect_id(id, "Product")
    )
    return await _product_payload(info, product)


async def product_variant_create(
    info: Info[Context, None], product_id: strawberry.ID, input: t.VariantInput
) -> t.ProductVariantPayload:
    """Staff: a new variant of a product."""
    ctx = info.context
    variant = await svc.create_variant(
        ctx.services.uow,
        ctx.principal,
        product_id=expect_id(product_id, "Product", field="productId"),
        draft=_variant_draft(input),
    )
    return await _variant_payload(info, variant)


async def product_variant_update(
    info: Info[Context, None], id: strawberry.ID, input: t.VariantInput
) -> t.ProductVariantPayload:
    """Staff: edit a variant."""
    ctx = info.context
    variant = await svc.update_variant(
        ctx.services.uow,
        ctx.principal,
        variant_id=expect_id(id, "ProductVariant"),
        draft=_variant_draft(input),
    )
    return await _variant_payload(info, variant)


async def _save_category(
    info: Info[Context, None], category_id: int | None, data: t.CategoryInput
) -> t.CategoryPayload:
    ctx = info.context
    category = await svc.save_category(
        ctx.services.uow,
        ctx.principal,
        category_id=category_id,
        name=data.name,
        handle=data.handle,
        parent_id=expect_id(data.parent_id, "Category", field="parentId")
        if data.parent_id
        else None,
    )
    return t.CategoryPayload(category=t.Category(_category=category), user_errors=[])


async def category_create(info: Info[Context, None], input: t.CategoryInput) -> t.CategoryPayload:
    """Staff: a new category."""
    return await _save_category(info, None, input)


async def category_update(
    info: Info[Context, None], id: strawberry.ID, input: t.CategoryInput
) -> t.CategoryPayload:
    """Staff: rename or move a category."""
    return await _save_category(info, expect_id(id, "Category"), input)


async def _save_collection(
    info: Info[Context, None],
    collection_id: int | None,
    data: t.CollectionInput,
    *,
    add: bool = False,
) -> t.CollectionPayload:
    ctx = info.context
    ids = (
        [expect_id(p, "Product", field="productIds") for p in data.product_ids]
        if data.product_ids is not None
        else None
    )
    collection = await svc.save_collection(
        ctx.services.uow,
        ctx.principal,
        collection_id=collection_id,
        title=data.title,
        handle=data.handle,
        description=data.description,
        product_ids=ids,
        add_products=add,
    )
    return t.CollectionPayload(collection=t.Collection(_collection=collection), user_errors=[])


async def collection_create(
    info: Info[Context, None], input: t.CollectionInput
) -> t.CollectionPayload:
    """Staff: a new collection."""
    return await _save_collection(info, None, input)


async def collection_update(
    info: Info[Context, None], id: strawberry.ID, input: t.CollectionInput
) -> t.CollectionPayload:
    """Staff: edit a collection (product IDs, when given, replace its products)."""
    return await _save_collection(info, expect_id(id, "Collection"), input)


async def collection_add_products(
    info: Info[Context, None], id: strawberry.ID, product_ids: list[strawberry.ID]
) -> t.CollectionPayload:
    """Staff: add products to a collection."""
    data = t.CollectionInput(product_ids=product_ids)
    return await _save_collection(info, expect_id(id, "Collection"), data, add=True)


def _price_entry(index: int, p: t.PriceInput) -> price_svc.PriceEntry:
    at = f"prices.{index}"
    variant_id = expect_id(p.variant_id, "ProductVariant", field=f"{at}.variantId")
    try:
        kind = PriceKind(p.kind.upper())
        money = Money.from_decimal_string(p.amount, p.currency_code.upper())
    except (ValueError, ArithmeticError) as error:
        message = str(error) or "invalid amount"
        raise DomainError(CommonErrorCode.INVALID, message, field=f"{at}.amount") from None
    rule = PriceRule(
        kind=kind,
        amount=money,
        channel=p.channel,
        tier=p.tier,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
    )
    return price_svc.PriceEntry(variant_id=variant_id, rule=rule)


async def price_bulk_set(
    info: Info[Context, None], prices: list[t.PriceInput]
) -> t.PriceBulkSetPayload:
    """Staff: set many price rules at once, all or nothing."""
    ctx = info.context
    entries = [_price_entry(i, p) for i, p in enumerate(prices)]
    count = await price_svc.set_prices(ctx.services.uow, ctx.principal, entries=entries)
    return t.PriceBulkSetPayload(count=count, user_errors=[])
