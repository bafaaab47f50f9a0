"""A large generated catalog, fast: `python app.py seed-catalog --products 1000000`.

For growth benchmarks and capacity tests, not for a shop: it adds N ACTIVE products (1 in 50 a
DRAFT) to the demo brand (``python app.py seed`` first: it needs the locations), each with a
Size option and 3 variants (S, M, L), a BASE price per variant (1 product in 10 with a GOLD tier
price, 1 in 20 on sale now), and stock at the warehouse and two of the stores. Titles come from
the demo's words (style, material, noun), so searches find realistic shares of the catalog.

Batches of ``batch`` products, each batch one transaction (products, variants, prices, stock):
PostgreSQL through COPY, SQLite through executemany (its FTS5 triggers index the titles).
Generation is deterministic (``seed``) and streams: memory stays flat whatever N. No stock
movements are written (the ledger of a generated catalog says nothing), and no collections.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from tortoise import connections
from tortoise.transactions import in_transaction

from adapters.db import demo_data as d
from adapters.db import models as m
from domain.catalog.model import search_text, slugify

SIZES = ("S", "M", "L")
OPTIONS = json.dumps([{"name": "Size", "values": list(SIZES)}])
PRODUCT_COLUMNS = (
    "id", "title", "handle", "description", "status", "category_id", "vendor", "tags",
    "image_urls", "options", "search_text", "created_at", "updated_at",
)  # fmt: skip
VARIANT_COLUMNS = (
    "id", "product_id", "sku", "title", "option_values", "barcode", "weight_grams", "position",
    "archived", "created_at", "updated_at",
)  # fmt: skip
PRICE_COLUMNS = (
    "variant_id", "kind", "currency", "amount", "channel", "tier", "starts_at", "ends_at",
    "created_at", "updated_at",
)  # fmt: skip
STOCK_COLUMNS = (
    "variant_id",
    "location_id",
    "on_hand",
    "reserved",
    "safety_stock",
    "created_at",
    "updated_at",
)


class SeedError(click.ClickException):
    """The database is not ready for a generated catalog."""


@dataclass
class Batch:
    """The rows of one batch of products, as tuples in the column orders above."""

    products: list[tuple[Any, ...]] = field(default_factory=list)
    variants: list[tuple[Any, ...]] = field(default_factory=list)
    prices: list[tuple[Any, ...]] = field(default_factory=list)
    stock: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Shape:
    """What the generated rows refer to: leaf categories and locations of the demo."""

    categories: list[int]
    warehouse: int
    stores: list[int]
    now: datetime


def _words() -> list[tuple[str, str, tuple[int, int]]]:
    """(material, noun, price range in EUR) of every demo leaf category."""
    return [
        (material, noun, leaf.price_eur)
        for _, _, leaves in d.CATEGORY_TREE
        for leaf in leaves
        for material in leaf.materials
        for noun in leaf.nouns
    ]


def plan_batch(
    rng: random.Random, shape: Shape, product_ids: list[int], variant_ids: Iterator[int]
) -> Batch:
    """Rows for products with these ids (variant ids drawn from ``variant_ids``)."""
    batch = Batch()
    words = _words()
    now = shape.now
    sale = (now - timedelta(days=1), now + timedelta(days=14))
    for pid in product_ids:
        material, noun, (low, high) = rng.choice(words)
        title = f"{rng.choice(d.STYLES)} {material} {noun}"
        handle = f"{slugify(title)}-{pid}"
        tags = [slugify(material), *rng.sample(d.EXTRA_TAGS, rng.randint(0, 2))]
        skus = [f"GEN-{pid}-{size}" for size in SIZES]
        batch.products.append(
            (
                pid, title, handle, f"{title}. Generated for a growth benchmark.",
                "DRAFT" if pid % 50 == 0 else "ACTIVE", rng.choice(shape.categories),
                d.BRAND, json.dumps(tags), "[]", OPTIONS, search_text(title, skus, tags), now, now,
            )
        )  # fmt: skip
        base = rng.randint(low, high) * 100 - 10
        gold, on_sale = rng.random() < 0.1, rng.random() < 0.05
        stores = rng.sample(shape.stores, min(2, len(shape.stores)))
        for position, (size, sku) in enumerate(zip(SIZES, skus, strict=True)):
            vid = next(variant_ids)
            batch.variants.append(
                (vid, pid, sku, size, json.dumps({"Size": size}), None, 300, position, False,
                 now, now)
            )  # fmt: skip
            batch.prices.append((vid, "BASE", d.CURRENCY, base, None, None, None, None, now, now))
            if gold:
                amount = base * 90 // 100
                batch.prices.append((vid, "TIER", d.CURRENCY, amount, None, "GOLD", None, None,
                                     now, now))  # fmt: skip
            if on_sale:
                amount = base * 75 // 100
                batch.prices.append((vid, "SALE", d.CURRENCY, amount, None, None, *sale, now, now))
            batch.stock.append((vid, shape.warehouse, rng.randint(0, 200), 0, 0, now, now))
            for store in stores:
                batch.stock.append((vid, store, rng.choice((0, 1, 2, 3, 5, 8)), 0, 0, now, now))
    return batch


async def _shape() -> Shape:
    locations = await m.Location.all().order_by("id").values_list("id", "kind")
    warehouses = [int(i) for i, kind in locations if kind == "WAREHOUSE"]
    stores = [int(i) for i, kind in locations if kind == "STORE"]
    if not warehouses:
        raise SeedError("no warehouse: run `python app.py seed` first (the demo's locations)")
    leaves = await m.Category.filter(parent_id__not_isnull=True).values_list("id", flat=True)
    categories = [int(i) for i in leaves] or [
        int(i) for i in await m.Category.all().values_list("id", flat=True)
    ]
    if not categories:
        raise SeedError("no category: run `python app.py seed` first (the demo's categories)")
    return Shape(categories, warehouses[0], stores or warehouses, datetime.now(UTC))


async def seed_catalog(
    products: int,
    *,
    batch: int = 5000,
    seed: int = 7,
    jobs: int = 2,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add ``products`` generated products; returns how many were written. On PostgreSQL
    ``jobs`` batches are written at once, each on its own connection (ids come from the
    sequences); batch ``i`` draws from ``Random((seed, i))``, whatever the order they finish."""
    shape = await _shape()
    client = connections.get("default")
    postgres = client.capabilities.dialect == "postgres"
    sizes = [min(batch, products - start) for start in range(0, products, batch)]
    todo = iter(enumerate(sizes))

    async def worker() -> None:
        for index, size in todo:
            rng = random.Random(f"{seed}/{index}")
            if postgres:
                await _pg_batch(client, rng, shape, size)
            else:
                await _sqlite_batch(rng, shape, size)
            if progress:
                progress(size)

    await asyncio.gather(*(worker() for _ in range(max(1, jobs) if postgres else 1)))
    await _finish(client, postgres)
    return sum(sizes)


async def _pg_batch(client: Any, rng: random.Random, shape: Shape, size: int) -> None:
    async with client.acquire_connection() as con, con.transaction():
        pids = [
            r[0]
            for r in await con.fetch(
                "SELECT nextval('product_id_seq') FROM generate_series(1, $1)", size
            )
        ]
        vids = [
            r[0]
            for r in await con.fetch(
                "SELECT nextval('variant_id_seq') FROM generate_series(1, $1)", size * len(SIZES)
            )
        ]
        rows = plan_batch(rng, shape, pids, iter(vids))
        for table, columns, records in (
            ("product", PRODUCT_COLUMNS, rows.products),
            ("variant", VARIANT_COLUMNS, rows.variants),
            ("price", PRICE_COLUMNS, rows.prices),
            ("stock", STOCK_COLUMNS, rows.stock),
        ):
            await con.copy_records_to_table(table, records=records, columns=list(columns))


async def _sqlite_batch(rng: random.Random, shape: Shape, size: int) -> None:
    async with in_transaction() as conn:
        top = await conn.execute_query_dict(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM product) AS p,"
            " (SELECT COALESCE(MAX(id), 0) FROM variant) AS v"
        )
        first_pid, first_vid = int(top[0]["p"]) + 1, int(top[0]["v"]) + 1
        pids = list(range(first_pid, first_pid + size))
        rows = plan_batch(rng, shape, pids, iter(range(first_vid, first_vid + 3 * size)))
        for table, columns, records in (
            ("product", PRODUCT_COLUMNS, rows.products),
            ("variant", VARIANT_COLUMNS, rows.variants),
            ("price", PRICE_COLUMNS, rows.prices),
            ("stock", STOCK_COLUMNS, rows.stock),
        ):
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            await conn.execute_many(sql, records)  # datetimes: tortoise's sqlite3 adapter


async def _finish(client: Any, postgres: bool) -> None:
    """Statistics for the planner (and on PostgreSQL the GIN pending list flushed, the
    visibility map set); one change mark, so response caches drop pages of the old catalog."""
    if postgres:
        async with client.acquire_connection() as con:
            await con.execute("VACUUM ANALYZE product, variant, price, stock")
    else:
        await client.execute_script("ANALYZE")
    await m.ChangeLog.create(scope="catalog")
