"""Tortoise implementations of the write-side ports, bound to one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from functools import reduce
from operator import or_
from types import TracebackType
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from adapters.db import convert
from adapters.db import models as m
from adapters.db.member_repositories import TortoiseMemberRepository
from adapters.db.order_repositories import (
    TortoiseCartRepository,
    TortoiseOrderRepository,
    TortoiseOutbox,
    TortoiseOutboxReader,
)
from adapters.db.points_repositories import TortoisePointsRepository
from adapters.db.promotion_repositories import TortoisePromotionRepository
from domain.catalog.model import (
    Category,
    Collection,
    Product,
    ProductDraft,
    Variant,
    VariantDraft,
    search_text,
)
from domain.channels.model import Channel, Location
from domain.inventory.model import StockLevel
from domain.ports import ApiKeyRecord, IdempotencyRace, Movement, StaffRecord
from domain.pricing.model import PriceRule


class TortoiseCatalogRepository:
    """Catalog writes in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def product(self, product_id: int, *, for_update: bool = False) -> Product | None:
        query = m.Product.filter(id=product_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return convert.product(row) if row else None

    async def handle_taken(self, table: str, handle: str, *, exclude_id: int | None) -> bool:
        model = {"product": m.Product, "category": m.Category, "collection": m.Collection}[table]
        query = model.filter(handle=handle).using_db(self.conn)
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
        row.update_from_dict(self._product_fields(draft))
        await row.save(using_db=self.conn)
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
        rows = await m.Variant.filter(id__in=list(variant_ids)).using_db(self.conn)
        products = (
            await m.Product.filter(id__in={r.product_id for r in rows})
            .using_db(  # type: ignore[attr-defined]
                self.conn
            )
            .values_list("id", "title")
        )
        titles = {int(i): str(t) for i, t in products}
        result = {}
        for row in rows:
            title = titles[row.product_id]  # type: ignore[attr-defined]
            if row.title and row.title != "Default":
                title = f"{title} - {row.title}"
            result[row.id] = (convert.variant(row), title)
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
    """Price rules in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

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
        await m.Price.filter(variant_id=variant_id).using_db(self.conn).delete()
        for rule in rules:
            await self.upsert_rule(variant_id, rule)

    async def rules_for(self, variant_ids: Sequence[int]) -> dict[int, list[PriceRule]]:
        result: dict[int, list[PriceRule]] = {v: [] for v in variant_ids}
        for row in await m.Price.filter(variant_id__in=list(variant_ids)).using_db(self.conn):
            result[row.variant_id].append(convert.price_rule(row))  # type: ignore[attr-defined]
        return result


class TortoiseInventoryRepository:
    """Stock rows (locked in primary-key order) and the movement ledger."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def lock(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
        wanted = sorted(set(keys))
        await m.Stock.bulk_create(
            [m.Stock(variant_id=v, location_id=loc) for v, loc in wanted],
            ignore_conflicts=True,
            using_db=self.conn,
        )
        condition = reduce(or_, [Q(variant_id=v, location_id=loc) for v, loc in wanted])
        rows = (
            await m.Stock.filter(condition).select_for_update().using_db(self.conn).order_by("id")
        )
        return {(r.variant_id, r.location_id): convert.stock_level(r) for r in rows}  # type: ignore[attr-defined]

    async def levels(self, variant_ids: Sequence[int]) -> dict[int, list[StockLevel]]:
        result: dict[int, list[StockLevel]] = {v: [] for v in variant_ids}
        for row in await m.Stock.filter(variant_id__in=list(variant_ids)).using_db(self.conn):
            result[row.variant_id].append(convert.stock_level(row))  # type: ignore[attr-defined]
        return result

    async def save(self, variant_id: int, level: StockLevel) -> None:
        await (
            m.Stock.filter(variant_id=variant_id, location_id=level.location_id)
            .using_db(self.conn)
            .update(on_hand=level.on_hand, reserved=level.reserved, safety_stock=level.safety_stock)
        )

    async def record(
        self,
        *,
        variant_id: int,
        location_id: int,
        kind: str,
        delta: int,
        on_hand_after: int,
        reason: str,
        actor: str,
        reference: str | None,
    ) -> Movement:
        row = await m.StockMovement.create(
            using_db=self.conn,
            variant_id=variant_id,
            location_id=location_id,
            kind=str(kind),
            delta=delta,
            on_hand_after=on_hand_after,
            reason=reason,
            actor=actor,
            reference=reference,
        )
        return convert.movement(row)


class TortoiseIdentityRepository:
    """Staff, partners and API keys."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def staff_by_email(self, email: str) -> StaffRecord | None:
        row = await m.StaffUser.filter(email=email).using_db(self.conn).first()
        return convert.staff(row) if row else None

    async def staff_by_id(self, staff_id: int) -> StaffRecord | None:
        row = await m.StaffUser.filter(id=staff_id).using_db(self.conn).first()
        return convert.staff(row) if row else None

    async def add_staff(
        self, *, email: str, name: str, password_hash: str, role: str, location_ids: list[int]
    ) -> StaffRecord:
        row = await m.StaffUser.create(
            using_db=self.conn,
            email=email,
            name=name,
            password_hash=password_hash,
            role=role,
            location_ids=location_ids,
        )
        return convert.staff(row)

    async def partner_id(self, name: str, *, create: bool) -> int | None:
        row = await m.Partner.filter(name=name).using_db(self.conn).first()
        if row is None and create:
            row = await m.Partner.create(using_db=self.conn, name=name)
        return row.id if row else None

    async def add_api_key(
        self,
        *,
        partner_id: int,
        name: str,
        prefix: str,
        secret_hash: str,
        scopes: list[str],
        rate_limit_per_minute: int,
    ) -> ApiKeyRecord:
        row = await m.ApiKey.create(
            using_db=self.conn,
            partner_id=partner_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=scopes,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        return await self._record(row)

    async def _record(self, row: m.ApiKey) -> ApiKeyRecord:
        partner = await m.Partner.get(id=row.partner_id).using_db(self.conn)  # type: ignore[attr-defined]
        return convert.api_key(row, partner.name)

    async def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = await m.ApiKey.filter(prefix=prefix).using_db(self.conn).first()
        return convert.api_key(row, "") if row else None

    async def revoke_api_key(self, key_id: int, *, at: datetime) -> ApiKeyRecord | None:
        row = await m.ApiKey.filter(id=key_id).using_db(self.conn).first()
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = at
            await row.save(using_db=self.conn, update_fields=["revoked_at"])
        return await self._record(row)


class TortoiseLocationRepository:
    """Channels and locations."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def location(self, location_id: int) -> Location | None:
        row = await m.Location.filter(id=location_id).using_db(self.conn).first()
        return convert.location(row) if row else None

    async def all_locations(self) -> dict[int, Location]:
        rows = await m.Location.all().using_db(self.conn).order_by("id")
        return {r.id: convert.location(r) for r in rows}

    async def channel(self, handle: str) -> Channel | None:
        row = await m.Channel.filter(handle=handle).using_db(self.conn).first()
        return await self._channel(row) if row else None

    async def store_channel(self, location_id: int) -> Channel | None:
        row = await m.Channel.filter(store_id=location_id, kind="STORE").using_db(self.conn).first()
        return await self._channel(row) if row else None

    async def channel_by_id(self, channel_id: int) -> Channel | None:
        row = await m.Channel.filter(id=channel_id).using_db(self.conn).first()
        return await self._channel(row) if row else None

    async def _channel(self, row: m.Channel) -> Channel:
        ids = (
            await m.ChannelLocation.filter(channel_id=row.id)
            .using_db(self.conn)
            .values_list("location_id", flat=True)
        )
        return convert.channel(row, [int(i) for i in ids])

    async def location_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        query = m.Location.filter(handle=handle).exclude(id=exclude_id or 0)
        return await query.using_db(self.conn).exists()

    async def channel_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        query = m.Channel.filter(handle=handle).exclude(id=exclude_id or 0)
        return await query.using_db(self.conn).exists()

    @staticmethod
    async def _save(model: Any, ident: int | None, fields: dict[str, Any], conn: Any) -> Any:
        if ident is None:
            return await model.create(using_db=conn, **fields)
        row = await model.get(id=ident).using_db(conn)
        row.update_from_dict(fields)
        await row.save(using_db=conn)
        return row

    async def save_location(self, location_id: int | None, draft: Any) -> Location:
        fields = {k: v for k, v in asdict(draft).items() if v is not None}
        if "kind" in fields:
            fields["kind"] = fields["kind"].upper()
        row = await self._save(m.Location, location_id, fields, self.conn)
        return convert.location(row)

    async def save_channel(self, channel_id: int | None, draft: Any) -> Channel:
        names = {
            "share_percent": "allocation_share_percent",
            "buffer": "allocation_buffer",
            "store_location_id": "store_id",
        }
        fields = {
            names.get(k, k): v
            for k, v in asdict(draft).items()
            if v is not None and k != "location_ids"
        }
        for key in ("kind", "currency"):
            if key in fields:
                fields[key] = fields[key].upper()
        row = await self._save(m.Channel, channel_id, fields, self.conn)
        if draft.location_ids is not None:
            await m.ChannelLocation.filter(channel_id=row.id).using_db(self.conn).delete()
            links = [
                m.ChannelLocation(channel_id=row.id, location_id=i) for i in set(draft.location_ids)
            ]
            await m.ChannelLocation.bulk_create(links, using_db=self.conn)
        return await self._channel(row)


class TortoiseIdempotencyStore:
    """Idempotency records in the same transaction as the work they guard."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def get(self, scope: str, key: str) -> tuple[str, dict[str, Any] | None] | None:
        row = await m.IdempotencyRecord.filter(scope=scope, key=key).using_db(self.conn).first()
        return (row.request_hash, row.response) if row else None

    async def put(self, scope: str, key: str, request_hash: str, response: dict[str, Any]) -> None:
        try:
            await m.IdempotencyRecord.create(
                using_db=self.conn,
                scope=scope,
                key=key,
                request_hash=request_hash,
                response=response,
            )
        except IntegrityError as error:
            raise IdempotencyRace(str(error)) from error


OnCommit = Callable[[set[str]], Awaitable[None]]


class TortoiseUnitOfWork:
    """One database transaction with every repository bound to it."""

    def __init__(self, on_commit: OnCommit | None = None) -> None:
        self._on_commit = on_commit
        self.touched: set[str] = set()

    async def __aenter__(self) -> TortoiseUnitOfWork:
        self._tx = in_transaction("default")
        conn = self._conn = await self._tx.__aenter__()
        self.catalog = TortoiseCatalogRepository(conn)
        self.prices = TortoisePriceRepository(conn)
        self.inventory = TortoiseInventoryRepository(conn)
        self.identity = TortoiseIdentityRepository(conn)
        self.locations = TortoiseLocationRepository(conn)
        self.idempotency = TortoiseIdempotencyStore(conn)
        self.carts = TortoiseCartRepository(conn)
        self.orders = TortoiseOrderRepository(conn)
        self.outbox = TortoiseOutbox(conn)
        self.members = TortoiseMemberRepository(conn)
        self.points = TortoisePointsRepository(conn)
        self.promotions = TortoisePromotionRepository(conn)
        self.events = TortoiseOutboxReader(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self.touched:
            try:
                await m.ChangeLog.create(using_db=self._conn, scope=",".join(sorted(self.touched)))
            except BaseException as error:
                await self._tx.__aexit__(type(error), error, error.__traceback__)
                raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc_type is None and self.touched and self._on_commit is not None:
            await self._on_commit(self.touched)
