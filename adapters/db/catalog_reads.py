"""The catalog's hottest batched reads in plain SQL: a page's variants, prices and stock levels.

A 20-product page reads about 100 variants, their price rules and some 900 stock rows. Through
the ORM the statement is built term by term (one wrapped value per id of the ``IN`` list) and
every row is converted field by field; both cost more than PostgreSQL takes to answer. Here the
ids go as one array parameter on PostgreSQL (``= ANY($1)``: one statement text whatever the
count, so its plan is cached) and as placeholders on SQLite, and rows are read by position.
Values that differ by backend (JSON text, 0/1 booleans, datetime text on SQLite) go through the
model field's own conversion, so the results are the ORM's to the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from tortoise import connections

from adapters.db import models as m


def _client() -> Any:
    return connections.get("default")


async def select_by_ids(
    sql: str, ids: Sequence[int], *params: Any, client: Any = None
) -> Sequence[Any]:
    """Run ``sql`` where ``{ids}`` is the membership test of a column in ``ids`` and each
    ``{p}`` the next of ``params``; rows are read by position; through ``client`` (a
    transaction's connection) when given."""
    client = client or _client()
    if client.capabilities.dialect == "postgres":
        numbered = (f"${i}" for i in range(2, 2 + len(params)))
        text = sql.replace("{ids}", "= ANY($1)")
        while "{p}" in text:
            text = text.replace("{p}", next(numbered), 1)
        _, rows = await client.execute_query(text, [list(ids), *params])
        return rows  # type: ignore[no-any-return]
    marks = ",".join("?" * len(ids)) or "NULL"
    text = sql.replace("{ids}", f"IN ({marks})").replace("{p}", "?")
    _, rows = await client.execute_query(text, [*ids, *params])
    return rows  # type: ignore[no-any-return]


def converter(model: Any, name: str) -> Any:
    """The model field's conversion of a database value to Python."""
    return model._meta.fields_map[name].to_python_value


_variant_options = converter(m.Variant, "option_values")
_variant_archived = converter(m.Variant, "archived")
_price_at = converter(m.Price, "starts_at")


async def variant_rows(product_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Live variants of the products in position order, as ``Variant`` keyword arguments."""
    rows = await select_by_ids(
        "SELECT id, product_id, sku, title, option_values, barcode, weight_grams, position,"
        " archived FROM variant WHERE product_id {ids} AND archived = {p}"
        " ORDER BY position, id",
        product_ids,
        False,
    )
    return [
        {
            "id": r[0],
            "product_id": r[1],
            "sku": r[2],
            "title": r[3],
            "option_values": _variant_options(r[4]),
            "barcode": r[5],
            "weight_grams": r[6],
            "position": r[7],
            "archived": _variant_archived(r[8]),
        }
        for r in rows
    ]


async def price_rows(variant_ids: Sequence[int], currency: str) -> list[tuple[Any, ...]]:
    """``(variant_id, kind, amount, channel, tier, starts_at, ends_at)`` of each price rule."""
    rows = await select_by_ids(
        "SELECT variant_id, kind, amount, channel, tier, starts_at, ends_at FROM price"
        " WHERE variant_id {ids} AND currency = {p}",
        variant_ids,
        currency,
    )
    return [
        (
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            None if r[5] is None else _price_at(r[5]),
            None if r[6] is None else _price_at(r[6]),
        )
        for r in rows
    ]


async def stock_rows(variant_ids: Sequence[int]) -> Sequence[Any]:
    """``(variant_id, location_id, on_hand, reserved, safety_stock)`` of each stock row."""
    return await select_by_ids(
        "SELECT variant_id, location_id, on_hand, reserved, safety_stock FROM stock"
        " WHERE variant_id {ids}",
        variant_ids,
    )


async def available_totals(variant_ids: Sequence[int], location_ids: Sequence[int]) -> Any:
    """``(variant_id, total)``: the sum of what each location can still promise (on hand less
    reserved less safety stock, never below 0), as ``StockLevel.available`` sums it."""
    locations = ",".join(str(int(i)) for i in location_ids) or "NULL"
    return await select_by_ids(
        "SELECT variant_id, SUM(CASE WHEN on_hand - reserved - safety_stock > 0"
        " THEN on_hand - reserved - safety_stock ELSE 0 END) FROM stock"
        f" WHERE variant_id {{ids}} AND location_id IN ({locations}) GROUP BY variant_id",
        variant_ids,
    )


_CHANNEL_COLUMNS = (
    "id",
    "handle",
    "name",
    "kind",
    "currency",
    "store_id",
    "allocation_share_percent",
    "allocation_buffer",
    "prices_include_tax",
    "tax_rate_bp",
    "shipping_fee",
    "free_shipping_over",
    "local_delivery_fee",
)
_channel_tax = converter(m.Channel, "prices_include_tax")


async def channel_rows(
    client: Any = None, where: str = "", value: Any = None
) -> list[SimpleNamespace]:
    """Every channel (or those where ``c.<where> = value``), once per serving location
    (``location_id`` None when it has none), with the attributes of its model row; through
    ``client`` (a transaction's connection) when given."""
    client = client or _client()
    columns = ", ".join(f"c.{c}" for c in _CHANNEL_COLUMNS)
    sql = (
        f"SELECT {columns}, cl.location_id FROM channel c"
        " LEFT JOIN channel_location cl ON cl.channel_id = c.id"
    )
    params: list[Any] = []
    if where:
        mark = "$1" if client.capabilities.dialect == "postgres" else "?"
        sql += f" WHERE c.{where} = {mark}"
        params.append(value)
    _, rows = await client.execute_query(sql + " ORDER BY c.id, cl.location_id", params)
    found = []
    for r in rows:
        row = SimpleNamespace(**dict(zip(_CHANNEL_COLUMNS, r, strict=False)))
        row.prices_include_tax = _channel_tax(row.prices_include_tax)
        row.location_id = r[len(_CHANNEL_COLUMNS)]
        found.append(row)
    return found


async def variants_with_products(client: Any, variant_ids: Sequence[int]) -> list[Any]:
    """``(Variant keyword arguments, product title, product status)`` of each variant."""
    rows = await select_by_ids(
        "SELECT v.id, v.product_id, v.sku, v.title, v.option_values, v.barcode, v.weight_grams,"
        " v.position, v.archived, p.title, p.status FROM variant v"
        " JOIN product p ON p.id = v.product_id WHERE v.id {ids}",
        variant_ids,
        client=client,
    )
    return [
        (
            {
                "id": r[0],
                "product_id": r[1],
                "sku": r[2],
                "title": r[3],
                "option_values": dict(_variant_options(r[4]) or {}),
                "barcode": r[5],
                "weight_grams": r[6],
                "position": r[7],
                "archived": _variant_archived(r[8]),
            },
            r[9],
            r[10],
        )
        for r in rows
    ]
