"""The demo seed writes a believable, consistent brand into a real SQLite file, once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.db import models as m
from adapters.db.demo_data import ean13
from adapters.db.seed import (
    StaffAccountError,
    create_staff_account,
    seed_demo,
    seed_if_database_empty,
)
from adapters.security import Argon2PasswordHasher


def test_ean13_check_digit():
    assert ean13("400638133393") == "4006381333931"
    assert ean13("376012300001") == "3760123000017"


def _valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13(code[:12]) == code


async def _check_catalog() -> None:
    assert await m.Product.all().count() >= 200
    variants = await m.Variant.all()
    assert all(_valid_ean13(v.barcode or "") for v in variants)
    assert len({v.barcode for v in variants}) == len(variants)
    per_product: dict[int, int] = defaultdict(int)
    for v in variants:
        per_product[v.product_id] += 1  # type: ignore[attr-defined]
    assert set(per_product.values()) <= set(range(1, 7))
    product = await m.Product.filter(status="ACTIVE").order_by("id").first()
    assert product is not None and product.category_id and product.vendor  # type: ignore[attr-defined]
    assert product.image_urls[0].startswith("https://images.example.com/")
    assert product.search_text.startswith(f" {product.title.lower()} ")
    assert await m.Category.filter(parent_id=None).count() >= 4
    for handle in ("new-arrivals", "summer-sale", "bestsellers"):
        assert await m.CollectionProduct.filter(collection__handle=handle).count() >= 10


async def _check_locations_and_channels() -> None:
    stores = await m.Location.filter(kind="STORE")
    assert len(stores) >= 6
    assert all(s.latitude and s.longitude and s.pickup_enabled and s.opening_hours for s in stores)
    assert all(45.6 < s.latitude < 45.9 and 4.7 < s.longitude < 5.0 for s in stores)  # type: ignore[operator]
    warehouse = await m.Location.get(kind="WAREHOUSE")
    everywhere = {warehouse.id, *(s.id for s in stores)}

    async def served(handle: str) -> set[int]:
        rows = await m.ChannelLocation.filter(channel__handle=handle).values_list(
            "location_id", flat=True
        )
        return {int(r) for r in rows}

    for handle, kind in (("web", "WEB"), ("app", "APP")):
        channel = await m.Channel.get(handle=handle)
        assert (channel.kind, channel.currency) == (kind, "EUR")
        assert await served(handle) == everywhere
    for store in stores:
        channel = await m.Channel.get(store_id=store.id)
        assert channel.kind == "STORE" and channel.handle == f"store-{store.handle}"
        assert await served(channel.handle) == {store.id}
    market = await m.Channel.get(handle="marketplace-amazon-fr")
    assert (market.kind, market.currency) == ("MARKETPLACE", "EUR")
    assert (market.allocation_share_percent, market.allocation_buffer) == (80, 2)
    markets = await m.Channel.filter(kind="MARKETPLACE").values_list("handle", "currency")
    assert sorted(markets) == [
        ("marketplace-amazon-fr", "EUR"),
        ("marketplace-ebay-fr", "EUR"),
        ("marketplace-walmart-us", "USD"),
    ]
    for handle, _ in markets:  # shipped from the warehouse and the stores
        assert await served(handle) == everywhere


async def _check_prices_and_tiers() -> None:
    tiers = (
        await m.MemberTier.all()
        .order_by("threshold_minor")
        .values_list("code", "threshold_minor", "points_multiplier_pct")
    )
    assert tiers == [("BRONZE", 0, 100), ("SILVER", 50000, 125), ("GOLD", 150000, 150)]
    variant_ids = set(await m.Variant.all().values_list("id", flat=True))
    base = await m.Price.filter(kind="BASE", currency="EUR").values_list("variant_id", "amount")
    assert {v for v, _ in base} == variant_ids
    assert all(a % 100 in (0, 90, 99) and 1900 <= a for _, a in base)
    usd = await m.Price.filter(kind="BASE", currency="USD").values_list("variant_id", flat=True)
    assert set(usd) == variant_ids  # the US marketplace's price list
    assert await m.Price.filter(kind="CHANNEL", channel="marketplace-amazon-fr").exists()
    assert await m.Price.filter(kind="TIER", tier="GOLD").exists()
    now = datetime.now(UTC)
    on_sale = set(
        await m.Price.filter(kind="SALE", starts_at__lte=now, ends_at__gt=now).values_list(
            "variant__product_id", flat=True
        )
    )
    sale_products = set(
        await m.CollectionProduct.filter(collection__handle="summer-sale").values_list(
            "product_id", flat=True
        )
    )
    assert on_sale == sale_products
    assert await m.Price.filter(kind="SALE", starts_at__gt=now).exists()


async def _check_stock_ledger() -> None:
    moved: dict[tuple[int, int], int] = defaultdict(int)
    for variant_id, location_id, delta, kind in await m.StockMovement.all().values_list(
        "variant_id", "location_id", "delta", "kind"
    ):
        assert kind == "RECEIPT"
        moved[(variant_id, location_id)] += delta
    stock = await m.Stock.all().values_list("variant_id", "location_id", "on_hand", "safety_stock")
    assert len(stock) > 1000
    assert all(moved.get((v, loc), 0) == on_hand for v, loc, on_hand, _ in stock)
    assert set(moved) <= {(v, loc) for v, loc, _, _ in stock}
    assert any(on_hand == 0 for *_, on_hand, _ in stock)
    assert any(safety > 0 for *_, safety in stock)


async def test_seed_creates_the_demo_brand_once(
    tmp_path: Path, capsys: pytest.CaptureFixture, db, settings
):
    await seed_demo(settings)
    printed = capsys.readouterr().out
    assert "owner@demo.o2o" in printed and "demo-owner-password" in printed
    assert "products(" in printed

    await _check_catalog()
    await _check_locations_and_channels()
    await _check_prices_and_tiers()
    await _check_stock_ledger()
    manager = await m.StaffUser.get(email="manager.partdieu@demo.o2o")
    part_dieu = await m.Location.get(handle="part-dieu")
    assert manager.role == "STORE_MANAGER" and manager.location_ids == [part_dieu.id]
    owner = await m.StaffUser.get(email="owner@demo.o2o")
    assert Argon2PasswordHasher().verify(owner.password_hash, "demo-owner-password")
    assert await m.StaffUser.filter(role="CLERK", email="clerk.partdieu@demo.o2o").exists()

    counts = (await m.Product.all().count(), await m.Stock.all().count())
    await seed_demo(settings)
    assert "refused" in capsys.readouterr().out
    await seed_if_database_empty(settings)
    assert (await m.Product.all().count(), await m.Stock.all().count()) == counts


async def test_seed_if_empty_and_staff_accounts(tmp_path: Path, db, settings):
    await seed_if_database_empty(settings)
    assert await m.Product.all().count() >= 200
    with pytest.raises(StaffAccountError, match="taken"):
        await create_staff_account(
            email="OWNER@demo.o2o", password="another-long-password", role="OWNER",
            location_ids=[],
        )  # fmt: skip
    with pytest.raises(ValueError, match="12"):
        await create_staff_account(
            email="x@demo.o2o", password="short", role="ADMIN", location_ids=[],

        )  # fmt: skip
    await create_staff_account(
        email="admin@demo.o2o", password="admin-password-123", role="ADMIN",
        location_ids=[],
    )  # fmt: skip
    assert (await m.StaffUser.get(email="admin@demo.o2o")).role == "ADMIN"
