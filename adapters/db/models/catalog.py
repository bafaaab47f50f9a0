"""Catalog tables: categories, products, collections, variants."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class Category(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    handle = fields.CharField(max_length=200, unique=True)
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "category"


class Product(Timestamped):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    handle = fields.CharField(max_length=255, unique=True)
    description = fields.TextField(default="")
    status = fields.CharField(max_length=16, default="ACTIVE", db_index=True)
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="products", null=True, on_delete=fields.SET_NULL
    )
    vendor = fields.CharField(max_length=120, default="")
    tags = fields.JSONField(default=list)
    image_urls = fields.JSONField(default=list)
    options = fields.JSONField(default=list)  # [{"name": "Colour", "values": ["Red", ...]}]
    search_text = fields.TextField(default="")  # lower-cased title + SKUs, for `query`

    class Meta:
        table = "product"
        # the listing's keyset order per sort key among the products of a status; category
        # filter. `search_text` is indexed by migration 0008 (trigram GIN / FTS5 table).
        indexes = (
            ("status", "id"),
            ("status", "title", "id"),
            ("status", "created_at", "id"),
            ("status", "updated_at", "id"),
            ("category_id",),
        )


class Collection(Timestamped):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    handle = fields.CharField(max_length=255, unique=True)
    description = fields.TextField(default="")

    class Meta:
        table = "collection"


class CollectionProduct(Model):
    id = fields.IntField(primary_key=True)
    collection: fields.ForeignKeyRelation[Collection] = fields.ForeignKeyField(
        "models.Collection", related_name="memberships", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="memberships", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "collection_product"
        unique_together = (("collection", "product"),)


class Variant(Timestamped):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="variants", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=255, default="")
    option_values = fields.JSONField(default=dict)
    barcode = fields.CharField(max_length=64, null=True)
    weight_grams = fields.IntField(null=True)
    position = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "variant"
        indexes = (("product_id", "position", "id"),)  # a page's variants, in their order
