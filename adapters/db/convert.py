"""ORM rows to domain objects (one place, used by repositories and queries)."""

from __future__ import annotations

from datetime import datetime

from adapters.db import models as m
from domain.catalog.model import (
    Category,
    Collection,
    Product,
    ProductOption,
    ProductStatus,
    Variant,
)
from domain.channels.model import Channel, ChannelKind, Location, LocationKind
from domain.identity.ports import ApiKeyRecord, StaffRecord
from domain.inventory.model import AllocationRule, StockLevel
from domain.inventory.ports import Movement
from domain.money import Money
from domain.pricing.model import PriceKind, PriceRule


def product(row: m.Product) -> Product:
    """A product row as a domain product."""
    return Product(
        id=row.id,
        title=row.title,
        handle=row.handle,
        description=row.description,
        status=ProductStatus(row.status),
        category_id=row.category_id,  # type: ignore[attr-defined]
        vendor=row.vendor,
        tags=tuple(row.tags or ()),
        image_urls=tuple(row.image_urls or ()),
        options=tuple(
            ProductOption(name=o["name"], values=tuple(o.get("values", ()))) for o in row.options
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def variant(row: m.Variant) -> Variant:
    """A variant row as a domain variant."""
    return Variant(
        id=row.id,
        product_id=row.product_id,  # type: ignore[attr-defined]
        sku=row.sku,
        title=row.title,
        option_values=dict(row.option_values or {}),
        barcode=row.barcode,
        weight_grams=row.weight_grams,
        position=row.position,
        archived=row.archived,
    )


def category(row: m.Category) -> Category:
    """A category row as a domain category."""
    return Category(
        id=row.id,
        name=row.name,
        handle=row.handle,
        parent_id=row.parent_id,  # type: ignore[attr-defined]
        position=row.position,
    )


def collection(row: m.Collection) -> Collection:
    """A collection row as a domain collection."""
    return Collection(id=row.id, title=row.title, handle=row.handle, description=row.description)


def location(row: m.Location) -> Location:
    """A location row as a domain location."""
    return Location(
        id=row.id,
        handle=row.handle,
        name=row.name,
        kind=LocationKind(row.kind),
        address=dict(row.address or {}),
        latitude=row.latitude,
        longitude=row.longitude,
        opening_hours=list(row.opening_hours or []),
        pickup_enabled=row.pickup_enabled,
        local_delivery_radius_km=row.local_delivery_radius_km,
        active=row.active,
    )


def channel(row: m.Channel, location_ids: list[int]) -> Channel:
    """A channel row and its serving locations as a domain channel."""
    return Channel(
        id=row.id,
        handle=row.handle,
        name=row.name,
        kind=ChannelKind(row.kind),
        currency=row.currency,
        store_location_id=row.store_id,  # type: ignore[attr-defined]
        rule=AllocationRule(
            share_percent=row.allocation_share_percent, buffer=row.allocation_buffer
        ),
        location_ids=tuple(sorted(location_ids)),
        prices_include_tax=row.prices_include_tax,
        tax_rate_bp=row.tax_rate_bp,
        shipping_fee=row.shipping_fee,
        free_shipping_over=row.free_shipping_over,
        local_delivery_fee=row.local_delivery_fee,
    )


def price_rule(row: m.Price) -> PriceRule:
    """A price row as a domain price rule."""
    return PriceRule(
        kind=PriceKind(row.kind),
        amount=Money(int(row.amount), row.currency),
        channel=row.channel,
        tier=row.tier,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
    )


def stock_level(row: m.Stock) -> StockLevel:
    """A stock row as a domain stock level."""
    return StockLevel(
        location_id=row.location_id,  # type: ignore[attr-defined]
        on_hand=row.on_hand,
        reserved=row.reserved,
        safety_stock=row.safety_stock,
    )


def movement(row: m.StockMovement) -> Movement:
    """A ledger row as a domain movement."""
    return Movement(
        id=row.id,
        variant_id=row.variant_id,
        location_id=row.location_id,
        kind=row.kind,
        delta=row.delta,
        on_hand_after=row.on_hand_after,
        reason=row.reason,
        actor=row.actor,
        reference=row.reference,
        created_at=row.created_at,
    )


def staff(row: m.StaffUser) -> StaffRecord:
    """A staff row as a record (with its password hash, for login only)."""
    return StaffRecord(
        id=row.id,
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        role=row.role,
        location_ids=tuple(row.location_ids or ()),
        active=row.active,
        token_version=row.token_version,
    )


def api_key(row: m.ApiKey, partner_name: str) -> ApiKeyRecord:
    """An API key row as a record."""
    revoked: datetime | None = row.revoked_at
    return ApiKeyRecord(
        id=row.id,
        partner_id=row.partner_id,  # type: ignore[attr-defined]
        partner_name=partner_name,
        name=row.name,
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        scopes=tuple(row.scopes or ()),
        rate_limit_per_minute=row.rate_limit_per_minute,
        revoked_at=revoked,
        created_at=row.created_at,
    )
