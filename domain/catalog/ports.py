"""What the catalog needs from storage: the catalog repository of a unit of work (writes), and
the storefront's batched reads (:class:`CatalogQueries`) that DataLoaders and listings use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.catalog.model import (
    Category,
    Collection,
    HandleOwner,
    Product,
    ProductDraft,
    ProductStatus,
    Variant,
    VariantDraft,
)
from domain.channels.model import Channel, Location
from domain.inventory.model import StockLevel
from domain.inventory.ports import Movement
from domain.pricing.model import PriceRule

# The product field each sort key of the product listing orders by (then by id).
PRODUCT_SORT_FIELDS = {
    "ID": "id",
    "TITLE": "title",
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
}

SortValue = int | str | datetime


class CatalogRepository(Protocol):
    """Writes of the catalog inside one unit of work. ``None`` means not found."""

    async def product(self, product_id: int, *, for_update: bool = False) -> Product | None: ...
    async def handle_taken(
        self, owner: HandleOwner, handle: str, *, exclude_id: int | None
    ) -> bool: ...
    async def sku_taken(self, sku: str, *, exclude_id: int | None) -> bool: ...
    async def add_product(self, draft: ProductDraft) -> Product: ...
    async def update_product(self, product_id: int, draft: ProductDraft) -> Product: ...
    async def refresh_search_text(self, product_id: int) -> None: ...
    async def variant(self, variant_id: int) -> Variant | None: ...
    async def variants_with_titles(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str]]: ...
    async def variants_of(self, product_id: int) -> list[Variant]: ...
    async def variants_for_cart(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str, bool]]:
        """Each found variant with its display title and whether a shopper may buy it (not
        archived, of an ACTIVE product)."""
        ...

    async def add_variant(self, product_id: int, draft: VariantDraft) -> Variant: ...
    async def update_variant(self, variant_id: int, draft: VariantDraft) -> Variant: ...
    async def category(self, category_id: int) -> Category | None: ...
    async def category_parents(self) -> dict[int, int | None]: ...
    async def save_category(
        self, category_id: int | None, *, name: str, handle: str, parent_id: int | None
    ) -> Category: ...
    async def collection(self, collection_id: int) -> Collection | None: ...
    async def save_collection(
        self, collection_id: int | None, *, title: str, handle: str, description: str
    ) -> Collection: ...
    async def set_collection_products(
        self, collection_id: int, product_ids: Sequence[int], *, add: bool
    ) -> None: ...
    async def existing_product_ids(self, product_ids: Sequence[int]) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """What the storefront's ``products`` may be narrowed by."""

    text: str | None = None
    category_ids: tuple[int, ...] | None = None
    collection_id: int | None = None
    tag: str | None = None
    available_in: tuple[tuple[int, ...], int] | None = None  # (location ids, min total)
    statuses: tuple[str, ...] = (ProductStatus.ACTIVE.value,)
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A keyset page: ``sort`` a key of PRODUCT_SORT_FIELDS, ``after``/``before`` decoded
    (sort value, id) pairs."""

    sort: str
    reverse: bool
    limit: int
    after: tuple[SortValue, int] | None = None
    before: tuple[SortValue, int] | None = None
    from_end: bool = False  # `last` was asked: take the page from the end


class CatalogQueries(Protocol):
    """Batched reads for the storefront, outside any unit of work: each call is one statement
    whatever the number of keys. Lookups by keys leave out the keys they do not find."""

    async def products_page(
        self, filters: ProductFilter, page: PageRequest
    ) -> tuple[list[Product], bool]: ...
    async def products_by_ids(self, ids: Sequence[int]) -> dict[int, Product]: ...
    async def products_by_handles(self, handles: Sequence[str]) -> dict[str, Product]: ...
    async def variants_by_product_ids(self, ids: Sequence[int]) -> dict[int, list[Variant]]: ...
    async def variants_by_ids(self, ids: Sequence[int]) -> dict[int, Variant]: ...
    async def prices_by_variant_ids(
        self, ids: Sequence[int], currency: str
    ) -> dict[int, list[PriceRule]]: ...
    async def stock_by_variant_ids(self, ids: Sequence[int]) -> dict[int, list[StockLevel]]: ...
    async def available_totals(
        self, ids: Sequence[int], location_ids: Sequence[int]
    ) -> dict[int, int]:
        """Per variant, the sum of ``StockLevel.available`` at these locations (absent: 0)."""
        ...

    async def channels(self) -> dict[str, Channel]: ...
    async def locations(self) -> dict[int, Location]: ...
    async def categories(self) -> dict[int, Category]: ...
    async def collections(self) -> list[Collection]: ...
    async def collections_by_ids(self, ids: Sequence[int]) -> dict[int, Collection]: ...
    async def collection_by_handle(self, handle: str) -> Collection | None: ...
    async def movements(
        self, *, variant_id: int | None, location_id: int | None, limit: int, before_id: int | None
    ) -> list[Movement]: ...
    async def change_marker(self) -> int:
        """The newest committed change mark: it grows whenever a catalog, price or stock
        change commits, in any process."""
        ...

    async def ping(self) -> None:
        """Fail when the database does not answer."""
        ...
