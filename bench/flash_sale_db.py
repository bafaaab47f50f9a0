"""What the flash sale does straight in PostgreSQL: stage one SKU before the servers start, and
read back afterwards what the orders, the stock rows, the ledger and the reservations say."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Sku:
    variant_id: int
    sku: str
    warehouse_id: int
    warehouse: str


async def stage_flash_sale(url: str, units: int) -> Sku:
    """One seeded variant sold on the web: ``units`` at the warehouse, nothing anywhere else.

    Written straight into the database before the servers start (no movement is recorded, so the
    ledger's RESERVATION lines come from the checkouts alone)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT v.id, v.sku FROM variant v JOIN product p ON p.id = v.product_id "
                "WHERE p.status = 'ACTIVE' AND NOT v.archived AND EXISTS ("
                "  SELECT 1 FROM price r WHERE r.variant_id = v.id AND r.kind = 'BASE') "
                "ORDER BY v.id LIMIT 1"
            )
            warehouse = await conn.fetchrow(
                "SELECT id, name FROM location WHERE kind = 'WAREHOUSE' ORDER BY id LIMIT 1"
            )
            if row is None or warehouse is None:
                raise RuntimeError("the seed has no active priced variant or no warehouse")
            variant_id, warehouse_id = row["id"], warehouse["id"]
            await conn.execute(
                "UPDATE stock SET on_hand = 0, reserved = 0, safety_stock = 0 "
                "WHERE variant_id = $1",
                variant_id,
            )
            status = await conn.execute(
                "UPDATE stock SET on_hand = $2 WHERE variant_id = $1 AND location_id = $3",
                variant_id,
                units,
                warehouse_id,
            )
            if status != "UPDATE 1":
                raise RuntimeError(f"no stock row at the warehouse for variant {variant_id}")
    finally:
        await conn.close()
    return Sku(variant_id, row["sku"], warehouse_id, warehouse["name"])


async def orders_written(url: str) -> tuple[float, float] | None:
    """When the first and the last order were written (``created_at``, epoch seconds)."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            'SELECT min(created_at) AS first, max(created_at) AS last FROM "order"'
        )
    finally:
        await conn.close()
    if row is None or row["first"] is None:
        return None
    return row["first"].timestamp(), row["last"].timestamp()


@dataclass
class Check:
    what: str
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        return self.expected == self.found


async def verify(
    url: str, sku: Sku, *, units: int, expected: int, answered_sold: int
) -> list[Check]:
    """What the database says after the burst, against what must be true."""
    conn = await asyncpg.connect(url)
    try:
        orders = await conn.fetchval('SELECT count(*) FROM "order"')
        lines = await conn.fetchrow(
            "SELECT count(DISTINCT order_id) AS orders, coalesce(sum(quantity), 0) AS units "
            "FROM order_line WHERE variant_id = $1",
            sku.variant_id,
        )
        stock = await conn.fetchrow(
            "SELECT on_hand, reserved FROM stock WHERE variant_id = $1 AND location_id = $2",
            sku.variant_id,
            sku.warehouse_id,
        )
        elsewhere = await conn.fetchval(
            "SELECT coalesce(sum(reserved), 0) FROM stock "
            "WHERE variant_id = $1 AND location_id <> $2",
            sku.variant_id,
            sku.warehouse_id,
        )
        movements = await conn.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM stock_movement "
            "WHERE variant_id = $1 AND kind = 'RESERVATION'",
            sku.variant_id,
        )
        held = await conn.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM reservation "
            "WHERE variant_id = $1 AND status = 'ACTIVE'",
            sku.variant_id,
        )
    finally:
        await conn.close()
    return [
        Check("orders placed (answers)", expected, answered_sold),
        Check("orders in the database", expected, int(orders)),
        Check("units sold (order lines)", expected, int(lines["units"])),
        Check("reserved, warehouse row", expected, int(stock["reserved"])),
        Check("RESERVATION movements (sum)", expected, int(movements)),
        Check("active reservations (sum)", expected, int(held)),
        Check("reserved at other locations", 0, int(elsewhere)),
        Check("on hand, warehouse row", units, int(stock["on_hand"])),
    ]
