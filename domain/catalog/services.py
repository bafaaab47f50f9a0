"""Catalog use cases: create, update and archive products, variants, categories, collections."""

from __future__ import annotations

from collections.abc import Sequence

from domain.catalog.model import (
    CatalogErrorCode,
    Category,
    Collection,
    HandleOwner,
    Product,
    ProductDraft,
    ProductStatus,
    Variant,
    VariantDraft,
    check_category_parent,
    check_handle,
    check_option_values,
    check_sku,
    check_status,
    check_title,
    normalize_tags,
    slugify,
)
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Scope
from domain.ports import UnitOfWork, UnitOfWorkFactory


async def _unique_handle(
    uow: UnitOfWork,
    owner: HandleOwner,
    *,
    handle: str | None,
    title: str,
    exclude_id: int | None,
) -> str:
    if handle is not None:
        check_handle(handle)
        if await uow.catalog.handle_taken(owner, handle, exclude_id=exclude_id):
            raise DomainError(
                CatalogErrorCode.DUPLICATE_HANDLE, f"handle {handle!r} is taken", field="handle"
            )
        return handle
    base = slugify(title)
    candidate, n = base, 1
    while await uow.catalog.handle_taken(owner, candidate, exclude_id=exclude_id):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


async def _clean_product(
    uow: UnitOfWork, draft: ProductDraft, *, product_id: int | None
) -> ProductDraft:
    if draft.title is not None:
        draft.title = check_title(draft.title)
    if draft.status is not None:
        draft.status = check_status(draft.status).value
    if draft.tags is not None:
        draft.tags = list(normalize_tags(draft.tags))
    if draft.category_id is not None and await uow.catalog.category(draft.category_id) is None:
        raise NotFound("category", field="categoryId")
    if draft.image_urls is not None:
        for url in draft.image_urls:
            if not url.startswith(("https://", "http://")):
                raise DomainError(
                    CatalogErrorCode.INVALID, "image URLs are http(s)", field="imageUrls"
                )
    if draft.options is not None:
        names = [o.name.strip() for o in draft.options]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise DomainError(
                CatalogErrorCode.INVALID, "option names are non-empty and distinct", field="options"
            )
    if draft.handle is not None or product_id is None:
        title = draft.title or ""
        draft.handle = await _unique_handle(
            uow, HandleOwner.PRODUCT, handle=draft.handle, title=title, exclude_id=product_id
        )
    return draft


async def create_product(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    draft: ProductDraft,
    variants: Sequence[VariantDraft] = (),
) -> tuple[Product, list[Variant]]:
    """Create a product (DRAFT unless a status is given) with its first variants."""
    principal.require(scope=Scope.CATALOG_WRITE)
    if draft.title is None:
        raise DomainError(CatalogErrorCode.REQUIRED, "a title is required", field="title")
    async with uow_factory() as uow:
        draft = await _clean_product(uow, draft, product_id=None)
        draft.status = draft.status or ProductStatus.DRAFT.value
        product = await uow.catalog.add_product(draft)
        created = [
            await _add_variant(uow, product, v, field_prefix=f"variants.{i}.")
            for i, v in enumerate(variants)
        ]
        await uow.catalog.refresh_search_text(product.id)
        uow.touched.add("catalog")
        return product, created


async def update_product(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, product_id: int, draft: ProductDraft
) -> Product:
    """Change the given fields of a product."""
    principal.require(scope=Scope.CATALOG_WRITE)
    async with uow_factory() as uow:
        if await uow.catalog.product(product_id, for_update=True) is None:
            raise NotFound("product", field="id")
        draft = await _clean_product(uow, draft, product_id=product_id)
        product = await uow.catalog.update_product(product_id, draft)
        if draft.options is not None:
            for variant in await uow.catalog.variants_of(product_id):
                check_option_values(product.options, variant.option_values)
        await uow.catalog.refresh_search_text(product_id)
        uow.touched.add("catalog")
        return product


async def archive_product(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, product_id: int
) -> Product:
    """Hide a product from every channel; its orders and history stay."""
    return await update_product(
        uow_factory,
        principal,
        product_id=product_id,
        draft=ProductDraft(status=ProductStatus.ARCHIVED.value),
    )


async def _add_variant(
    uow: UnitOfWork, product: Product, draft: VariantDraft, *, field_prefix: str = ""
) -> Variant:
    if draft.sku is None:
        raise DomainError(
            CatalogErrorCode.REQUIRED, "a SKU is required", field=f"{field_prefix}sku"
        )
    draft.sku = check_sku(draft.sku)
    if await uow.catalog.sku_taken(draft.sku, exclude_id=None):
        raise DomainError(
            CatalogErrorCode.DUPLICATE_SKU, f"SKU {draft.sku!r} exists", field=f"{field_prefix}sku"
        )
    draft.option_values = draft.option_values or {}
    check_option_values(product.options, draft.option_values)
    _check_weight(draft)
    if not draft.title:
        draft.title = " / ".join(draft.option_values.values()) or "Default"
    return await uow.catalog.add_variant(product.id, draft)


def _check_weight(draft: VariantDraft) -> None:
    if draft.weight_grams is not None and draft.weight_grams < 0:
        raise DomainError(CatalogErrorCode.INVALID, "weight is 0 or more", field="weightGrams")


async def create_variant(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, product_id: int, draft: VariantDraft
) -> Variant:
    """Add a variant to a product."""
    principal.require(scope=Scope.CATALOG_WRITE)
    async with uow_factory() as uow:
        product = await uow.catalog.product(product_id, for_update=True)
        if product is None:
            raise NotFound("product", field="productId")
        variant = await _add_variant(uow, product, draft)
        await uow.catalog.refresh_search_text(product_id)
        uow.touched.add("catalog")
        return variant


async def update_variant(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, variant_id: int, draft: VariantDraft
) -> Variant:
    """Change the given fields of a variant."""
    principal.require(scope=Scope.CATALOG_WRITE)
    async with uow_factory() as uow:
        current = await uow.catalog.variant(variant_id)
        if current is None:
            raise NotFound("variant", field="id")
        if draft.sku is not None:
            draft.sku = check_sku(draft.sku)
            if await uow.catalog.sku_taken(draft.sku, exclude_id=variant_id):
                raise DomainError(
                    CatalogErrorCode.DUPLICATE_SKU, f"SKU {draft.sku!r} exists", field="sku"
                )
        if draft.option_values is not None:
            product = await uow.catalog.product(current.product_id)
            assert product is not None
            check_option_values(product.options, draft.option_values)
        _check_weight(draft)
        variant = await uow.catalog.update_variant(variant_id, draft)
        await uow.catalog.refresh_search_text(current.product_id)
        uow.touched.add("catalog")
        return variant


async def save_category(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    category_id: int | None,
    name: str | None,
    handle: str | None,
    parent_id: int | None,
) -> Category:
    """Create a category (``category_id`` None) or rename / move one; the tree stays acyclic."""
    principal.require(scope=Scope.CATALOG_WRITE)
    async with uow_factory() as uow:
        current = None
        if category_id is not None:
            current = await uow.catalog.category(category_id)
            if current is None:
                raise NotFound("category", field="id")
        if name is None and current is None:
            raise DomainError(CatalogErrorCode.REQUIRED, "a name is required", field="name")
        clean_name = check_title(name, field_name="name") if name is not None else current.name  # type: ignore[union-attr]
        if parent_id is not None:
            if await uow.catalog.category(parent_id) is None:
                raise NotFound("parent category", field="parentId")
            if category_id is not None:
                check_category_parent(
                    category_id=category_id,
                    parent_id=parent_id,
                    parents=await uow.catalog.category_parents(),
                )
        if handle is not None or current is None:
            handle = await _unique_handle(
                uow, HandleOwner.CATEGORY, handle=handle, title=clean_name, exclude_id=category_id
            )
        else:
            handle = current.handle
        parent = parent_id if parent_id is not None or current is None else current.parent_id
        category = await uow.catalog.save_category(
            category_id, name=clean_name, handle=handle, parent_id=parent
        )
        uow.touched.add("catalog")
        return category


async def save_collection(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    collection_id: int | None,
    title: str | None,
    handle: str | None,
    description: str | None,
    product_ids: Sequence[int] | None = None,
    add_products: bool = False,
) -> Collection:
    """Create or update a collection; ``product_ids`` replaces (or, with add, extends) it."""
    principal.require(scope=Scope.CATALOG_WRITE)
    async with uow_factory() as uow:
        current = None
        if collection_id is not None:
            current = await uow.catalog.collection(collection_id)
            if current is None:
                raise NotFound("collection", field="id")
        if title is None and current is None:
            raise DomainError(CatalogErrorCode.REQUIRED, "a title is required", field="title")
        clean_title = check_title(title) if title is not None else current.title  # type: ignore[union-attr]
        if handle is not None or current is None:
            handle = await _unique_handle(
                uow,
                HandleOwner.COLLECTION,
                handle=handle,
                title=clean_title,
                exclude_id=collection_id,
            )
        else:
            handle = current.handle
        text = description if description is not None else (current.description if current else "")
        collection = await uow.catalog.save_collection(
            collection_id, title=clean_title, handle=handle, description=text
        )
        if product_ids is not None:
            missing = set(product_ids) - await uow.catalog.existing_product_ids(product_ids)
            if missing:
                raise NotFound(f"products {sorted(missing)}", field="productIds")
            await uow.catalog.set_collection_products(collection.id, product_ids, add=add_products)
        uow.touched.add("catalog")
        return collection
