"""Tortoise implementations of the catalog and price ports, bound to one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.db import catalog_reads, convert
from adapters.db import models as m
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

_HANDLED: dict[HandleOwner, type[m.Product | m.Category | m.Collection]] = {
    HandleOwner.PRODUCT: m.Product,
    HandleOwner.CATEGORY: m.Category,
    HandleOwner.COLLECTION: m.Collection,
}


class TortoiseCatalogRepository:
    """Catalog writes in one transaction; ``changed_variants`` / ``changed_products``: what it
    changed that marketplaces show (a variant's fields, a product's status)."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.changed_variants: set[int] = set()
        self.changed_products: set[int] = set()
        self._for_cart: dict[int, tuple[Variant, str, bool] | None] = {}

    async def product(self, product_id: int, *, for_update: bool = False) -> Product | None:
        query = m.Product.filter(id=product_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return convert.product(row) if row else None

    async def handle_taken(
        self, owner: HandleOwner, handle: str, *, exclude_id: int | None
    ) -> bool:
        query = _HANDLED[owner].filter(handle=handle).using_db(self.conn)
        if exclude_id is not None:
            query = query.exclude(id=exclude_id)
        return await query.exists()

    async def sku_taken(self, sku: str, *, exclude_id: int | None) -> bool:
        query = m.Variant.filter(sku=sku).using_db(self.conn)
        if exclude_id is not None:
            query = query.exclude(id=exclude_id)
        return await query.exists()

    @staticmethod
    def _product_fields(draft: ProductDraft) -> dict[str, Any]:
        values: dict[str, Any] = {
            "title": draft.title,
            "handle": draft.handle,
            "description": draft.description,
            "status": draft.status,
            "category_id": draft.category_id,
            "vendor": draft.vendor,
            "tags": draft.tags,
            "image_urls": draft.image_urls,
            "options": None
            if draft.options is None
            else [{"name": o.name, "values": list(o.values)} for o in draft.options],
        }
        return {k: v for k, v in values.items() if v is not None}

    async def add_product(self, draft: ProductDraft) -> Product:
        row = await m.Product.create(using_db=self.conn, **self._product_fields(draft))
        return convert.product(row)

    async def update_product(self, product_id: int, draft: ProductDraft) -> Product:
        row = await m.Product.get(id=product_id).using_db(self.conn)
        was = row.status
        row.update_from_dict(self._product_fields(draft))
        await row.save(using_db=self.conn)
        if row.status != was:  # on sale or not: its variants' listings change
            self.changed_products.add(product_id)
        return convert.product(row)

    async def refresh_search_text(self, product_id: int) -> None:
        row = await m.Product.get(id=product_id).using_db(self.conn)
        skus = (
            await m.Variant.filter(product_id=product_id)
            .using_db(self.conn)
            .values_list("sku", flat=True)
        )
        text = search_text(row.title, [str(s) for s in skus], row.tags or [])
        await m.Product.filter(id=product_id).using_db(self.conn).update(search_text=text)

    async def variant(self, variant_id: int) -> Variant | None:
        row = await m.Variant.filter(id=variant_id).using_db(self.conn).first()
        return convert.variant(row) if row else None

    async def variants_with_titles(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str]]:
        found = await self.variants_for_cart(variant_ids)
        return {i: (variant, title) for i, (variant, title, _) in found.items()}

    async def variants_for_cart(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str, bool]]:
        """Read once per unit of work: a cart change checks the added variants, then prices
        every line (the added ones again)."""
        memo = self._for_cart
        missing = [i for i in dict.fromkeys(variant_ids) if i not in memo]
        if missing:
            found = await self._variants_for_cart(missing)
            for i in missing:
                memo[i] = found.get(i)
        return {i: v for i in variant_ids if (v := memo.get(i)) is not None}

    async def _variants_for_cart(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[Variant, str, bool]]:
        result = {}
        for fields, product_title, status in await catalog_reads.variants_with_products(
            self.conn, variant_ids
        ):
            variant = Variant(**fields)
            title = str(product_title)
            if variant.title and variant.title != "Default":
                title = f"{title} - {variant.title}"
            on_sale = status == ProductStatus.ACTIVE.value and not variant.archived
            result[variant.id] = (variant, title, on_sale)
        return result

    async def variants_of(self, product_id: int) -> list[Variant]:
        rows = await m.Variant.filter(product_id=product_id).using_db(self.conn).order_by("id")
        return [convert.variant(r) for r in rows]

    @staticmethod
    def _variant_fields(draft: VariantDraft) -> dict[str, Any]:
        values = {
            "sku": draft.sku,
            "title": draft.title,
            "option_values": draft.option_values,
            "barcode": draft.barcode,
            "weight_grams": draft.weight_grams,
            "position": draft.position,
        }
        return {k: v for k, v in values.items() if v is not None}

    async def add_variant(self, product_id: int, draft: VariantDraft) -> Variant:
        row = await m.Variant.create(
            using_db=self.conn, product_id=product_id, **self._variant_fields(draft)
        )
        return convert.variant(row)

    async def update_variant(self, variant_id: int, draft: VariantDraft) -> Variant:
        row = await m.Variant.get(id=variant_id).using_db(self.conn)
        self.changed_variants.add(variant_id)
        row.update_from_dict(self._variant_fields(draft))
        await row.save(using_db=self.conn)
        return convert.variant(row)

    async def category(self, category_id: int) -> Category | None:
        row = await m.Category.filter(id=category_id).using_db(self.conn).first()
        return convert.category(row) if row else None

    async def category_parents(self) -> dict[int, int | None]:
        rows = await m.Category.all().using_db(self.conn).values_list("id", "parent_id")
        return {int(i): (int(p) if p is not None else None) for i, p in rows}

    async def save_category(
        self, category_id: int | None, *, name: str, handle: str, parent_id: int | None
    ) -> Category:
        fields = {"name": name, "handle": handle, "parent_id": parent_id}
        if category_id is None:
            row = await m.Category.create(using_db=self.conn, **fields)
        else:
            row = await m.Category.get(id=category_id).using_db(self.conn)
            row.update_from_dict(fields)
            await row.save(using_db=self.conn)
        return convert.category(row)

    async def collection(self, collection_id: int) -> Collection | None:
        row = await m.Collection.filter(id=collection_id).using_db(self.conn).first()
        return convert.collection(row) if row else None

    async def save_collection(
        self, collection_id: int | None, *, title: str, handle: str, description: str
    ) -> Collection:
        fields = {"title": title, "handle": handle, "description": description}
        if collection_id is None:
            row = await m.Collection.create(using_db=self.conn, **fields)
        else:
            row = await m.Collection.get(id=collection_id).using_db(self.conn)
            row.update_from_dict(fields)
            await row.save(using_db=self.conn)
        return convert.collection(row)

    async def set_collection_products(
        self, collection_id: int, product_ids: Sequence[int], *, add: bool
    ) -> None:
        existing = set(
            await m.CollectionProduct.filter(collection_id=collection_id)
            .using_db(self.conn)
            .values_list("product_id", flat=True)
        )
        if not add:
            await (
                m.CollectionProduct.filter(collection_id=collection_id)
                .exclude(product_id__in=list(product_ids))
                .using_db(self.conn)
                .delete()
            )
        start = len(existing)
        new = [pid for pid in dict.fromkeys(product_ids) if pid not in existing]
        await m.CollectionProduct.bulk_create(
            [
                m.CollectionProduct(collection_id=collection_id, product_id=pid, position=start + i)
                for i, pid in enumerate(new)
            ],
            using_db=self.conn,
        )

    async def existing_product_ids(self, product_ids: Sequence[int]) -> set[int]:
        rows = (
            await m.Product.filter(id__in=list(product_ids))
            .using_db(self.conn)
            .values_list("id", flat=True)
        )
        return {int(r) for r in rows}


class TortoisePriceRepository:
    """Price rules in one transaction; ``changed``: the variants whose rules it wrote."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.changed: set[int] = set()

    async def existing_variant_ids(self, variant_ids: Sequence[int]) -> set[int]:
        rows = (
            await m.Variant.filter(id__in=list(variant_ids))
            .using_db(self.conn)
            .values_list("id", flat=True)
        )
        return {int(r) for r in rows}

    @staticmethod
    def _identity(variant_id: int, rule: PriceRule) -> dict[str, Any]:
        return {
            "variant_id": variant_id,
            "kind": rule.kind.value,
            "currency": rule.amount.currency,
            "channel": rule.channel,
            "tier": rule.tier,
            "starts_at": rule.starts_at,
        }

    async def upsert_rule(self, variant_id: int, rule: PriceRule) -> None:
        self.changed.add(variant_id)
        identity = self._identity(variant_id, rule)
        updated = (
            await m.Price.filter(**identity)
            .using_db(self.conn)
            .update(amount=rule.amount.amount, ends_at=rule.ends_at)
        )
        if not updated:
            await m.Price.create(
                using_db=self.conn, amount=rule.amount.amount, ends_at=rule.ends_at, **identity
            )

    async def replace_rules(self, variant_id: int, rules: Sequence[PriceRule]) -> None:
        self.changed.add(variant_id)
        await m.Price.filter(variant_id=variant_id).using_db(self.conn).delete()
        for rule in rules:
            await self.upsert_rule(variant_id, rule)

    async def rules_for(self, variant_ids: Sequence[int]) -> dict[int, list[PriceRule]]:
        result: dict[int, list[PriceRule]] = {v: [] for v in variant_ids}
        for row in await m.Price.filter(variant_id__in=list(variant_ids)).using_db(self.conn):
            result[row.variant_id].append(convert.price_rule(row))  # type: ignore[attr-defined]
        return result
