"""Admin catalog mutations: products, variants, categories, collections, prices."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.catalog import services as svc
from domain.catalog.model import ProductDraft, ProductOption, VariantDraft
from domain.errors import DomainError
from domain.money import Money
from domain.pricing import services as price_svc
from domain.pricing.model import PriceKind, PriceRule
from resolvers.context import Context
from schema.catalog import Category, Collection, Product, ProductVariant
from schema.common import UserError
from schema.errors import authenticated
from schema.relay import expect_id

JSON = strawberry.scalars.JSON


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
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class ProductVariantPayload:
    product_variant: ProductVariant | None
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.type
class CollectionPayload:
    collection: Collection | None
    user_errors: list[UserError]


@strawberry.type
class PriceBulkSetPayload:
    count: int
    user_errors: list[UserError]


def _variant_draft(data: VariantInput) -> VariantDraft:
    values = data.option_values
    if values is not None and (
        not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
    ):
        raise DomainError("INVALID_OPTION_VALUES", "an object of strings", field="optionValues")
    return VariantDraft(
        sku=data.sku,
        title=data.title,
        option_values=values,
        barcode=data.barcode,
        weight_grams=data.weight_grams,
        position=data.position,
    )


def _product_draft(data: ProductInput) -> ProductDraft:
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


async def _channel(info: Info[Context, None]):  # type: ignore[no-untyped-def]
    return await info.context.channel(None)


def _rule(p: PriceInput) -> PriceRule:
    try:
        kind = PriceKind(p.kind.upper())
        money = Money.from_decimal_string(p.amount, p.currency_code.upper())
    except (ValueError, ArithmeticError) as error:
        raise DomainError("INVALID", str(error) or "invalid amount", field="amount") from None
    return PriceRule(
        kind=kind,
        amount=money,
        channel=p.channel,
        tier=p.tier,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
    )


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(extensions=[authenticated()])
    async def product_create(
        self, info: Info[Context, None], input: ProductInput
    ) -> ProductPayload:
        ctx = info.context
        try:
            variants = [_variant_draft(v) for v in input.variants or []]
            product, _ = await svc.create_product(
                ctx.services.uow, ctx.principal, draft=_product_draft(input), variants=variants
            )
        except DomainError as error:
            return ProductPayload(product=None, user_errors=[UserError.of(error)])
        return ProductPayload(
            product=Product(_product=product, _channel=await _channel(info)), user_errors=[]
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def product_update(
        self, info: Info[Context, None], id: strawberry.ID, input: ProductInput
    ) -> ProductPayload:
        ctx = info.context
        try:
            product = await svc.update_product(
                ctx.services.uow,
                ctx.principal,
                product_id=expect_id(id, "Product"),
                draft=_product_draft(input),
            )
        except DomainError as error:
            return ProductPayload(product=None, user_errors=[UserError.of(error)])
        return ProductPayload(
            product=Product(_product=product, _channel=await _channel(info)), user_errors=[]
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def product_archive(self, info: Info[Context, None], id: strawberry.ID) -> ProductPayload:
        ctx = info.context
        try:
            product = await svc.archive_product(
                ctx.services.uow, ctx.principal, product_id=expect_id(id, "Product")
            )
        except DomainError as error:
            return ProductPayload(product=None, user_errors=[UserError.of(error)])
        return ProductPayload(
            product=Product(_product=product, _channel=await _channel(info)), user_errors=[]
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def product_variant_create(
        self, info: Info[Context, None], product_id: strawberry.ID, input: VariantInput
    ) -> ProductVariantPayload:
        ctx = info.context
        try:
            variant = await svc.create_variant(
                ctx.services.uow,
                ctx.principal,
                product_id=expect_id(product_id, "Product", field="productId"),
                draft=_variant_draft(input),
            )
        except DomainError as error:
            return ProductVariantPayload(product_variant=None, user_errors=[UserError.of(error)])
        node = ProductVariant(_variant=variant, _channel=await _channel(info))
        return ProductVariantPayload(product_variant=node, user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def product_variant_update(
        self, info: Info[Context, None], id: strawberry.ID, input: VariantInput
    ) -> ProductVariantPayload:
        ctx = info.context
        try:
            variant = await svc.update_variant(
                ctx.services.uow,
                ctx.principal,
                variant_id=expect_id(id, "ProductVariant"),
                draft=_variant_draft(input),
            )
        except DomainError as error:
            return ProductVariantPayload(product_variant=None, user_errors=[UserError.of(error)])
        node = ProductVariant(_variant=variant, _channel=await _channel(info))
        return ProductVariantPayload(product_variant=node, user_errors=[])

    async def _category(
        self, info: Info[Context, None], id: strawberry.ID | None, input: CategoryInput
    ) -> CategoryPayload:
        ctx = info.context
        try:
            category = await svc.save_category(
                ctx.services.uow,
                ctx.principal,
                category_id=expect_id(id, "Category") if id is not None else None,
                name=input.name,
                handle=input.handle,
                parent_id=expect_id(input.parent_id, "Category", field="parentId")
                if input.parent_id
                else None,
            )
        except DomainError as error:
            return CategoryPayload(category=None, user_errors=[UserError.of(error)])
        return CategoryPayload(category=Category(_category=category), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def category_create(
        self, info: Info[Context, None], input: CategoryInput
    ) -> CategoryPayload:
        return await CatalogMutation._category(self, info, None, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def category_update(
        self, info: Info[Context, None], id: strawberry.ID, input: CategoryInput
    ) -> CategoryPayload:
        return await CatalogMutation._category(self, info, id, input)

    async def _collection(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None,
        input: CollectionInput,
        *,
        add: bool = False,
    ) -> CollectionPayload:
        ctx = info.context
        try:
            ids = (
                [expect_id(p, "Product", field="productIds") for p in input.product_ids]
                if input.product_ids is not None
                else None
            )
            collection = await svc.save_collection(
                ctx.services.uow,
                ctx.principal,
                collection_id=expect_id(id, "Collection") if id is not None else None,
                title=input.title,
                handle=input.handle,
                description=input.description,
                product_ids=ids,
                add_products=add,
            )
        except DomainError as error:
            return CollectionPayload(collection=None, user_errors=[UserError.of(error)])
        return CollectionPayload(collection=Collection(_collection=collection), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def collection_create(
        self, info: Info[Context, None], input: CollectionInput
    ) -> CollectionPayload:
        return await CatalogMutation._collection(self, info, None, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def collection_update(
        self, info: Info[Context, None], id: strawberry.ID, input: CollectionInput
    ) -> CollectionPayload:
        return await CatalogMutation._collection(self, info, id, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def collection_add_products(
        self, info: Info[Context, None], id: strawberry.ID, product_ids: list[strawberry.ID]
    ) -> CollectionPayload:
        return await CatalogMutation._collection(
            self, info, id, CollectionInput(product_ids=product_ids), add=True
        )

    @strawberry.mutation(
        extensions=[authenticated()], description="Set many price rules at once, all or nothing."
    )
    async def price_bulk_set(
        self, info: Info[Context, None], prices: list[PriceInput]
    ) -> PriceBulkSetPayload:
        ctx = info.context
        try:
            entries = []
            for i, p in enumerate(prices):
                try:
                    entries.append(
                        price_svc.PriceEntry(
                            variant_id=expect_id(p.variant_id, "ProductVariant", field="variantId"),
                            rule=_rule(p),
                        )
                    )
                except DomainError as error:
                    error.field = f"prices.{i}.{error.field}"
                    raise
            count = await price_svc.set_prices(ctx.services.uow, ctx.principal, entries=entries)
        except DomainError as error:
            return PriceBulkSetPayload(count=0, user_errors=[UserError.of(error)])
        return PriceBulkSetPayload(count=count, user_errors=[])
