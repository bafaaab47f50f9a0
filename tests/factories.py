"""Small, explicit test data written straight through the ORM (fast, no business rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.db import models as m
from adapters.security import Argon2PasswordHasher, JwtTokenSigner
from domain.catalog.model import search_text
from schema.relay import to_global_id

# Lyon: Part-Dieu, Bellecour, and a warehouse in Saint-Priest
PART_DIEU = (45.7606, 4.8590)
BELLECOUR = (45.7578, 4.8320)
WAREHOUSE = (45.6960, 4.9440)


@dataclass
class World:
    """IDs of what ``make_world`` created."""

    warehouse: m.Location
    part_dieu: m.Location
    bellecour: m.Location
    web: m.Channel
    marketplace: m.Channel
    products: list[m.Product] = field(default_factory=list)
    variants: list[m.Variant] = field(default_factory=list)

    def gid(self, obj: Any) -> str:
        name = {m.Product: "Product", m.Variant: "ProductVariant", m.Location: "Location"}[
            type(obj)
        ]
        return to_global_id(name, obj.id)


async def make_locations() -> tuple[m.Location, m.Location, m.Location]:
    warehouse = await m.Location.create(
        handle="warehouse",
        name="Warehouse",
        kind="WAREHOUSE",
        latitude=WAREHOUSE[0],
        longitude=WAREHOUSE[1],
    )
    part_dieu = await m.Location.create(
        handle="part-dieu",
        name="Part-Dieu",
        kind="STORE",
        latitude=PART_DIEU[0],
        longitude=PART_DIEU[1],
        pickup_enabled=True,
        local_delivery_radius_km=5,
    )
    bellecour = await m.Location.create(
        handle="bellecour",
        name="Bellecour",
        kind="STORE",
        latitude=BELLECOUR[0],
        longitude=BELLECOUR[1],
        pickup_enabled=True,
    )
    return warehouse, part_dieu, bellecour


async def make_world(products: int = 3, variants_per_product: int = 2) -> World:
    """Channels web and marketplace, a warehouse and two stores, priced and stocked products."""
    warehouse, part_dieu, bellecour = await make_locations()
    web = await m.Channel.create(handle="web", name="Web", kind="WEB", currency="EUR")
    market = await m.Channel.create(
        handle="marketplace",
        name="Marketplace",
        kind="MARKETPLACE",
        currency="EUR",
        allocation_share_percent=50,
        allocation_buffer=1,
    )
    for loc in (warehouse, part_dieu, bellecour):
        await m.ChannelLocation.create(channel=web, location=loc)
    await m.ChannelLocation.create(channel=market, location=warehouse)
    world = World(warehouse, part_dieu, bellecour, web, market)
    for i in range(products):
        await add_product(world, i, variants_per_product)
    return world


async def add_product(world: World, i: int, variants: int) -> m.Product:
    title = f"Linen Shirt {i:03d}"
    product = await m.Product.create(
        title=title,
        handle=f"linen-shirt-{i:03d}",
        status="ACTIVE",
        tags=["linen", "summer"],
        options=[{"name": "Size", "values": ["S", "M", "L", "XL"][:variants]}],
    )
    skus = []
    for j in range(variants):
        sku = f"LS-{i:03d}-{j}"
        skus.append(sku)
        variant = await m.Variant.create(
            product=product,
            sku=sku,
            title=["S", "M", "L", "XL"][j],
            option_values={"Size": ["S", "M", "L", "XL"][j]},
            position=j,
        )
        world.variants.append(variant)
        await m.Price.create(variant=variant, kind="BASE", currency="EUR", amount=2990 + 100 * j)
        for loc, qty in ((world.warehouse, 10), (world.part_dieu, 3), (world.bellecour, 0)):
            await m.Stock.create(variant=variant, location=loc, on_hand=qty)
    product.search_text = search_text(title, skus, ["linen", "summer"])
    await product.save()
    world.products.append(product)
    return product


async def add_sale(variant: m.Variant, amount: int, *, days: int = 7) -> None:
    now = datetime.now(UTC)
    await m.Price.create(
        variant=variant,
        kind="SALE",
        currency="EUR",
        amount=amount,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=days),
    )


async def staff_token(
    secret: str,
    *,
    role: str = "OWNER",
    location_ids: list[int] | None = None,
    email: str | None = None,
    password: str = "correct horse battery staple",
) -> str:
    """Create a staff account and return a signed token for it."""
    user = await m.StaffUser.create(
        email=email or f"{role.lower()}-{datetime.now(UTC).timestamp()}@example.com",
        password_hash=Argon2PasswordHasher().hash(password),
        role=role,
        location_ids=location_ids or [],
    )
    claims = {"kind": "staff", "role": role, "loc": list(user.location_ids)}
    return JwtTokenSigner(secret).issue(subject=f"staff:{user.id}", claims=claims, ttl_seconds=600)
