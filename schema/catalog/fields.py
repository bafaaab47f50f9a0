"""Catalog fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import catalog as resolve
from schema.catalog.types import (
    Category,
    CategoryPayload,
    Collection,
    CollectionPayload,
    PriceBulkSetPayload,
    Product,
    ProductPayload,
    ProductVariantPayload,
)
from schema.common import Connection
from schema.errors import authenticated
from schema.relay import Node


@strawberry.type
class CatalogQuery:
    node: Node | None = strawberry.field(
        resolver=resolve.node,
        description="Any object by its global ID; null when it does not exist.",
    )
    products: Connection[Product] = strawberry.field(
        resolver=resolve.products,
        description="The catalog as a channel sells it (default channel `web`).",
    )
    product: Product | None = strawberry.field(
        resolver=resolve.product,
        description="One product by ID or handle, as a channel sells it.",
    )
    collections: Connection[Collection] = strawberry.field(resolver=resolve.collections)
    categories: list[Category] = strawberry.field(
        resolver=resolve.categories, description="The top of the category tree."
    )


@strawberry.type
class CatalogMutation:
    product_create: ProductPayload = strawberry.mutation(
        resolver=resolve.product_create, extensions=[authenticated()]
    )
    product_update: ProductPayload = strawberry.mutation(
        resolver=resolve.product_update, extensions=[authenticated()]
    )
    product_archive: ProductPayload = strawberry.mutation(
        resolver=resolve.product_archive, extensions=[authenticated()]
    )
    product_variant_create: ProductVariantPayload = strawberry.mutation(
        resolver=resolve.product_variant_create, extensions=[authenticated()]
    )
    product_variant_update: ProductVariantPayload = strawberry.mutation(
        resolver=resolve.product_variant_update, extensions=[authenticated()]
    )
    category_create: CategoryPayload = strawberry.mutation(
        resolver=resolve.category_create, extensions=[authenticated()]
    )
    category_update: CategoryPayload = strawberry.mutation(
        resolver=resolve.category_update, extensions=[authenticated()]
    )
    collection_create: CollectionPayload = strawberry.mutation(
        resolver=resolve.collection_create, extensions=[authenticated()]
    )
    collection_update: CollectionPayload = strawberry.mutation(
        resolver=resolve.collection_update, extensions=[authenticated()]
    )
    collection_add_products: CollectionPayload = strawberry.mutation(
        resolver=resolve.collection_add_products, extensions=[authenticated()]
    )
    price_bulk_set: PriceBulkSetPayload = strawberry.mutation(
        resolver=resolve.price_bulk_set,
        extensions=[authenticated()],
        description="Set many price rules at once, all or nothing.",
    )
