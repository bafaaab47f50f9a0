"""The catalog and price ports in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from adapters.memory.state import MemoryState
from domain.catalog.model import (
    Category,
    Collection,
    HandleOwner,
    Product,
    ProductDraft,
    ProductStatus,
    Variant,
    VariantDraft,
    search_text,
)
from domain.pricing.model import PriceRule


def _set(draft: object) -> dict[str, object]:
    """The fields a draft sets (None means 'leave as is'), tuples for lists."""
    values = {name: getattr(draft, name) for name in draft.__dataclass_fields__}  # type: ignore[attr-defined]
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}


class InMemoryCatalogRepository:
    """Products, variants, categories and collections in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def product(self, product_id: int, *, for_update: bool = False) -> Product | None:
        return self.state.products.get(product_id)

    async def handle_taken(
        self, owner: HandleOwner, handle: str, *, exclude_id: int | None
    ) -> bool:
        tables: dict[HandleOwner, Mapping[int, Product | Category | Collection]] = {
            HandleOwner.PRODUCT: self.state.products,
            HandleOwner.CATEGORY: self.state.categories,
            HandleOwner.COLLECTION: self.state.collections,
        }
        table = tables[owner]
        return any(row.handle == handle and i != exclude_id for i, row in table.items())

    async def sku_taken(self, sku: str, *, exclude_id: int | None) -> bool:
        return any(v.sku == sku and i != exclude_id for i, v in self.state.variants.items())

    async def add_product(self, draft: ProductDraft) -> Product:
        now = self.state.now()
        blank = Product(
            id=self.state.next_id("product"),
            title="",
            handle="",
            description="",
            status=ProductStatus.ACTIVE,
            category_id=None,
            vendor="",
            tags=(),
            image_urls=(),
            options=(),
            created_at=now,
            updated_at=now,
        )
        return self._store(blank, draft)

    async def update_product(self, product_id: int, draft: ProductDraft) -> Product:
        return self._store(self.state.products[product_id], draft)

    def _store(self, product: Product, draft: ProductDraft) -> Product:
        changes = _set(draft)
        if "status" in changes:
            changes["status"] = ProductStatus(str(changes["status"]))
        stored = replace(product, **changes, updated_at=self.state.now())  # type: ignore[arg-type]
        self.state.products[stored.id] = stored
        return stored

    async def refresh_search_text(self, product_id: int) -> None:
        product = self.state.products[product_id]
        skus = [v.sku for v in self.state.variants.values() if v.product_id == product_id]
        self.state.search_text[product_id] = search_text(product.title, skus, product.tags)

    async def variant(self, variant_id: int) -> Variant | None:
        return self.state.variants.get(variant_id)

    async def variants_with_titles(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str]]:
        found = {}
        for variant_id in variant_ids:
            variant = self.state.variants.get(variant_id)
            if variant is None:
                continue
            title = self.state.products[variant.product_id].title
            if variant.title and variant.title != "Default":
                title = f"{title} - {variant.title}"
            found[variant_id] = (variant, title)
        return found

    async def variants_for_cart(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str, bool]]:
        found = {}
        for variant_id, (variant, title) in (await self.variants_with_titles(variant_ids)).items():
            status = self.state.products[variant.product_id].status
            found[variant_id] = (
                variant,
                title,
                status is ProductStatus.ACTIVE and not variant.archived,
            )
        return found

    async def variants_of(self, product_id: int) -> list[Variant]:
        return [v for _, v in sorted(self.state.variants.items()) if v.product_id == product_id]

    async def add_variant(self, product_id: int, draft: VariantDraft) -> Variant:
        blank = Variant(
            id=self.state.next_id("variant"),
            product_id=product_id,
            sku="",
            title="",
            option_values={},
            barcode=None,
            weight_grams=None,
            position=0,
        )
        return await self._store_variant(blank, draft)

    async def update_variant(self, variant_id: int, draft: VariantDraft) -> Variant:
        return await self._store_variant(self.state.variants[variant_id], draft)

    async def _store_variant(self, variant: Variant, draft: VariantDraft) -> Variant:
        stored = replace(variant, **_set(draft))  # type: ignore[arg-type]
        self.state.variants[stored.id] = stored
        return stored

    async def category(self, category_id: int) -> Category | None:
        return self.state.categories.get(category_id)

    async def category_parents(self) -> dict[int, int | None]:
        return {i: c.parent_id for i, c in self.state.categories.items()}

    async def save_category(
        self, category_id: int | None, *, name: str, handle: str, parent_id: int | None
    ) -> Category:
        ident = category_id or self.state.next_id("category")
        position = self.state.categories[ident].position if category_id else 0
        category = Category(ident, name, handle, parent_id, position)
        self.state.categories[ident] = category
        return category

    async def collection(self, collection_id: int) -> Collection | None:
        return self.state.collections.get(collection_id)

    async def save_collection(
        self, collection_id: int | None, *, title: str, handle: str, description: str
    ) -> Collection:
        ident = collection_id or self.state.next_id("collection")
        collection = Collection(ident, title, handle, description)
        self.state.collections[ident] = collection
        self.state.collection_products.setdefault(ident, [])
        return collection

    async def set_collection_products(
        self, collection_id: int, product_ids: Sequence[int], *, add: bool
    ) -> None:
        current = self.state.collection_products.setdefault(collection_id, [])
        kept = current if add else [p for p in current if p in product_ids]
        new = [p for p in dict.fromkeys(product_ids) if p not in kept]
        self.state.collection_products[collection_id] = [*kept, *new]

    async def existing_product_ids(self, product_ids: Sequence[int]) -> set[int]:
        return {p for p in product_ids if p in self.state.products}


class InMemoryPriceRepository:
    """Price rules of variants in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def existing_variant_ids(self, variant_ids: Sequence[int]) -> set[int]:
        return {v for v in variant_ids if v in self.state.variants}

    async def replace_rules(self, variant_id: int, rules: Sequence[PriceRule]) -> None:
        self.state.prices[variant_id] = []
        for rule in rules:
            await self.upsert_rule(variant_id, rule)

    async def upsert_rule(self, variant_id: int, rule: PriceRule) -> None:
        def identity(r: PriceRule) -> tuple[object, ...]:
            return (r.kind, r.amount.currency, r.channel, r.tier, r.starts_at)

        rules = self.state.prices.setdefault(variant_id, [])
        same = [i for i, r in enumerate(rules) if identity(r) == identity(rule)]
        if same:
            rules[same[0]] = rule
        else:
            rules.append(rule)

    async def rules_for(self, variant_ids: Sequence[int]) -> dict[int, list[PriceRule]]:
        return {v: list(self.state.prices.get(v, ())) for v in variant_ids}
