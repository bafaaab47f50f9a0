"""Catalog types: Product, ProductVariant, Category, Collection, their inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from domain.catalog import model as d
from domain.channels.model import Channel as DChannel
from domain.pricing.model import PriceQuote
from resolvers.context import Context
from schema.channels.types import GeoCoordinateInput, Location
from schema.common import Connection, MoneyV2, UserError, offset_connection
from schema.relay import Node, to_global_id

JSON = strawberry.scalars.JSON


@strawberry.enum(description="How `products` is sorted.")
class ProductSortKeys(Enum):
    ID = "ID"
    TITLE = "TITLE"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.type
class SelectedOption:
    name: str
    value: str


@strawberry.type
class ProductOption:
    name: str
    values: list[str]


@strawberry.type
class Image:
    url: str
    alt_text: str | None = None


@strawberry.type
class PriceRange:
    min_variant_price: MoneyV2
    max_variant_price: MoneyV2


@strawberry.type(description="A store's stock of a variant, for pick-up.")
class StoreAvailability:
    location: Location
    quantity_available: int
    available: bool
    distance_km: float | None
    pick_up_enabled: bool


@strawberry.type(description="The sellable unit of a product.")
class ProductVariant(Node):
    _variant: strawberry.Private[d.Variant]
    _channel: strawberry.Private[DChannel]
    # filled by Product.variants in one batch, so that price and stock fields need no await
    _quote: strawberry.Private[object] = None
    _quantity: strawberry.Private[int | None] = None
    _on_sale: strawberry.Private[bool | None] = None  # its product ACTIVE, itself not archived

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ProductVariant", self._variant.id))

    async def _sellable(self, info: Info[Context, None]) -> bool:
        if self._on_sale is None:
            owner = await info.context.loaders.product_by_id.load(self._variant.product_id)
            active = owner is not None and owner.status is d.ProductStatus.ACTIVE
            self._on_sale = active and not self._variant.archived
        return self._on_sale

    async def _price(self, info: Info[Context, None]) -> PriceQuote | None:
        if self._quote is None:
            quote = await info.context.price_quote(self._variant.id, self._channel)
            self._quote = quote or False
        return self._quote or None  # type: ignore[return-value]

    async def _available(self, info: Info[Context, None]) -> int:
        if self._quantity is None:
            self._quantity = await info.context.quantity_available(self._variant.id, self._channel)
        return self._quantity

    @strawberry.field
    def sku(self) -> str:
        return self._variant.sku

    @strawberry.field
    def title(self) -> str:
        return self._variant.title

    @strawberry.field
    def barcode(self) -> str | None:
        return self._variant.barcode

    @strawberry.field
    def weight_grams(self) -> int | None:
        return self._variant.weight_grams

    @strawberry.field
    def selected_options(self) -> list[SelectedOption]:
        return [SelectedOption(name=k, value=v) for k, v in self._variant.option_values.items()]

    @strawberry.field
    async def product(self, info: Info[Context, None]) -> Product:
        found = await info.context.loaders.product_by_id.load(self._variant.product_id)
        return Product(_product=found, _channel=self._channel)

    # Sync resolvers answer at once from what Product.variants loaded in one batch; a variant
    # reached another way (node, cart line) returns an awaitable that loads through the loaders.
    @strawberry.field(description="The price in the channel now; null when not sold there.")
    def price(self, info: Info[Context, None]) -> MoneyV2 | None:
        return self._with_quote(info, lambda q: MoneyV2.of(q.price) if q else None)

    @strawberry.field(description="The regular price when a sale or tier price is lower.")
    def compare_at_price(self, info: Info[Context, None]) -> MoneyV2 | None:
        return self._with_quote(info, lambda q: MoneyV2.of(q.compare_at) if q else None)

    @strawberry.field(description="When the current sale price ends, if one applies.")
    def sale_ends_at(self, info: Info[Context, None]) -> datetime | None:
        return self._with_quote(info, lambda q: q.ends_at if q else None)

    @strawberry.field(description="Units the channel may sell now (its locations, its rule).")
    def quantity_available(self, info: Info[Context, None]) -> int:
        if self._quantity is not None:
            return self._quantity
        return self._available(info)  # type: ignore[return-value]

    @strawberry.field
    def available_for_sale(self, info: Info[Context, None]) -> bool:
        if self._quote is not None and self._quantity is not None and self._on_sale is not None:
            return self._on_sale and bool(self._quote) and self._quantity > 0

        async def load() -> bool:
            if not await self._sellable(info):
                return False
            return await self._price(info) is not None and await self._available(info) > 0

        return load()  # type: ignore[return-value]

    def _with_quote(self, info: Info[Context, None], pick: Any) -> Any:
        if self._quote is not None:
            return pick(self._quote or None)

        async def load() -> Any:
            return pick(await self._price(info))

        return load()

    @strawberry.field(description="Stores of the channel holding this variant, nearest first.")
    async def store_availability(
        self,
        info: Info[Context, None],
        near: GeoCoordinateInput | None = None,
        radius_km: float | None = None,
        first: int = 10,
    ) -> list[StoreAvailability]:
        point = (near.latitude, near.longitude) if near else None
        found = await info.context.store_stock(
            self._variant.id,
            self._channel,
            near=point,
            radius_km=radius_km,
            first=first,
        )
        return [
            StoreAvailability(
                location=Location(_location=s.location),
                quantity_available=s.quantity,
                available=s.quantity > 0,
                distance_km=round(s.distance_km, 3) if s.distance_km is not None else None,
                pick_up_enabled=s.location.pickup_enabled,
            )
            for s in found
        ]


@strawberry.type(description="A node of the category tree.")
class Category(Node):
    _category: strawberry.Private[d.Category]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Category", self._category.id))

    @strawberry.field
    def name(self) -> str:
        return self._category.name

    @strawberry.field
    def handle(self) -> str:
        return self._category.handle

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> Category | None:
        if self._category.parent_id is None:
            return None
        return Category(_category=(await info.context.categories())[self._category.parent_id])

    @strawberry.field
    async def children(self, info: Info[Context, None]) -> list[Category]:
        every = (await info.context.categories()).values()
        return [Category(_category=c) for c in every if c.parent_id == self._category.id]


@strawberry.type(description="A hand-picked group of products.")
class Collection(Node):
    _collection: strawberry.Private[d.Collection]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Collection", self._collection.id))

    @strawberry.field
    def title(self) -> str:
        return self._collection.title

    @strawberry.field
    def handle(self) -> str:
        return self._collection.handle

    @strawberry.field
    def description(self) -> str:
        return self._collection.description


@strawberry.type(description="A product with its variants, as one channel sees it.")
class Product(Node):
    _product: strawberry.Private[d.Product]
    _channel: strawberry.Private[DChannel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Product", self._product.id))

    @strawberry.field
    def title(self) -> str:
        return self._product.title

    @strawberry.field
    def handle(self) -> str:
        return self._product.handle

    @strawberry.field
    def description(self) -> str:
        return self._product.description

    @strawberry.field(description="ACTIVE, DRAFT or ARCHIVED.")
    def status(self) -> str:
        return self._product.status.value

    @strawberry.field
    def vendor(self) -> str:
        return self._product.vendor

    @strawberry.field
    def tags(self) -> list[str]:
        return list(self._product.tags)

    @strawberry.field
    def images(self) -> list[Image]:
        return [Image(url=u) for u in self._product.image_urls]

    @strawberry.field
    def options(self) -> list[ProductOption]:
        return [ProductOption(name=o.name, values=list(o.values)) for o in self._product.options]

    @strawberry.field
    def created_at(self) -> datetime:
        return self._product.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self._product.updated_at

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> Category | None:
        if self._product.category_id is None:
            return None
        found = (await info.context.categories()).get(self._product.category_id)
        return Category(_category=found) if found else None

    @strawberry.field
    async def variants(
        self, info: Info[Context, None], first: int = 100
    ) -> Connection[ProductVariant]:
        found = await info.context.quoted_variants(self._product.id, self._channel)
        on_sale = self._product.status is d.ProductStatus.ACTIVE
        ready = {
            q.variant.id: ProductVariant(
                _variant=q.variant,
                _channel=self._channel,
                _quote=q.quote or False,
                _quantity=q.quantity,
                _on_sale=on_sale and not q.variant.archived,
            )
            for q in found
        }
        return offset_connection(
            [q.variant for q in found],
            wrap=lambda v: ready[v.id],
            first=max(0, min(first, 250)),
        )

    @strawberry.field
    async def available_for_sale(self, info: Info[Context, None]) -> bool:
        if self._product.status is not d.ProductStatus.ACTIVE:
            return False
        found = await info.context.quoted_variants(self._product.id, self._channel)
        return any(q.quantity > 0 for q in found)

    @strawberry.field
    async def price_range(self, info: Info[Context, None]) -> PriceRange | None:
        found = await info.context.quoted_variants(self._product.id, self._channel)
        prices = [q.quote.price for q in found if q.quote]
        if not prices:
            return None
        low, high = MoneyV2.of(min(prices)), MoneyV2.of(max(prices))
        assert low is not None and high is not None
        return PriceRange(min_variant_price=low, max_variant_price=high)


@strawberry.input
class ProductOptionInput:
    name: str
    values: list[str]


@strawberry.input
class VariantInput:
    sku: str | None = None
    title: str | None = None
    option_values: JSON | None = strawberry.field(
        default=None, description='e.g. {"Colour": "Red", "Size": "M"}'
    )
    barcode: str | None = None
    weight_grams: int | None = None
    position: int | None = None


@strawberry.input
class ProductInput:
    title: str | None = None
    handle: str | None = None
    description: str | None = None
    status: str | None = strawberry.field(default=None, description="ACTIVE, DRAFT or ARCHIVED")
    category_id: strawberry.ID | None = None
    vendor: str | None = None
    tags: list[str] | None = None
    image_urls: list[str] | None = None
    options: list[ProductOptionInput] | None = None
    variants: list[VariantInput] | None = strawberry.field(
        default=None, description="productCreate only: the first variants."
    )


@strawberry.input
class CategoryInput:
    name: str | None = None
    handle: str | None = None
    parent_id: strawberry.ID | None = None


@strawberry.input
class CollectionInput:
    title: str | None = None
    handle: str | None = None
    description: str | None = None
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the collection's products."
    )


@strawberry.input(description="One price rule: BASE, CHANNEL override, TIER price or SALE.")
class PriceInput:
    variant_id: strawberry.ID
    kind: str = "BASE"
    amount: str = strawberry.field(description="Decimal string in major units, e.g. 19.99")
    currency_code: str
    channel: str | None = None
    tier: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.type
class ProductPayload:
    product: Product | None = None
    user_errors: list[UserError]


@strawberry.type
class ProductVariantPayload:
    product_variant: ProductVariant | None = None
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None = None
    user_errors: list[UserError]


@strawberry.type
class CollectionPayload:
    collection: Collection | None = None
    user_errors: list[UserError]


@strawberry.type
class PriceBulkSetPayload:
    count: int = 0
    user_errors: list[UserError]
