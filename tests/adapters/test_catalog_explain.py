"""Every statement of the storefront's catalog paths reads through an index (issue 11, growth).

The listing (each sort key, both directions, second pages), one product by handle and the
searches are sent over GraphQL against a catalog of a few thousand generated products
(``python app.py seed-catalog``, here called directly); every statement they send is captured
with its parameters and EXPLAINed on PostgreSQL, with the planner's own choices (statistics
fresh, sequential scans allowed): none may read product, variant, price or stock whole. The
small tables (channels, locations, categories) may be scanned.

Also: the generated catalog itself (counts, prices, stock, search) on both backends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tortoise import connections

from adapters.db import models as m
from adapters.db.bulk_seed import SIZES, seed_catalog
from schema.relay import encode_cursor
from tests.adapters.sqlcapture import capture_sql, explain
from tests.factories import PART_DIEU, make_world, staff_token

GROWN = ("product", "variant", "price", "stock")
PAGE = """query($first: Int, $last: Int, $after: String, $before: String, $sort: ProductSortKeys,
  $reverse: Boolean, $q: String) {
  products(first: $first, last: $last, after: $after, before: $before, sortKey: $sort,
           reverse: $reverse, query: $q) {
    pageInfo { hasNextPage endCursor }
    nodes { handle availableForSale priceRange { minVariantPrice { amount currencyCode } }
      variants(first: 10) { nodes { sku price { amount currencyCode } compareAtPrice { amount }
        quantityAvailable availableForSale } } } } }"""
PRODUCT = """query($handle: String!, $near: GeoCoordinateInput) { product(handle: $handle) {
  handle title availableForSale
  variants(first: 10) { nodes { sku price { amount } quantityAvailable availableForSale
    storeAvailability(near: $near, first: 5) { location { handle } quantityAvailable } } } } }"""


async def _grown_catalog(products: int) -> None:
    await make_world(products=0)
    root = await m.Category.create(name="Women", handle="women")
    await m.Category.create(name="Dresses", handle="dresses", parent=root)
    assert await seed_catalog(products, batch=1000) == products


async def _plans(sent: list[tuple[str, list[Any]]]) -> list[tuple[str, str]]:
    return [(sql, await explain(sql, values)) for sql, values in sent]


def _whole_scans(plan: str) -> list[str]:
    return [t for t in GROWN if re.search(rf"Seq Scan on {t}\b", plan)]


async def test_every_catalog_statement_reads_an_index(gql, settings):
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("EXPLAIN of PostgreSQL's plans")
    await _grown_catalog(4000)
    gql.token = await staff_token(settings.secret_key)  # staff: never the response cache
    some = await m.Product.filter(status="ACTIVE").order_by("id").offset(1500).first()
    assert some is not None
    requests: list[tuple[str, dict[str, Any]]] = [(PAGE, {"first": 20})]
    for sort, value in [
        ("ID", some.id),
        ("TITLE", some.title),
        ("CREATED_AT", some.created_at),
        ("UPDATED_AT", some.updated_at),
    ]:
        cursor = encode_cursor(value, some.id)
        requests += [
            (PAGE, {"first": 20, "sort": sort}),
            (PAGE, {"first": 20, "sort": sort, "after": cursor}),
            (PAGE, {"first": 20, "sort": sort, "reverse": True, "after": cursor}),
            (PAGE, {"last": 20, "sort": sort, "before": cursor}),
        ]
    requests += [
        (PAGE, {"first": 20, "q": q})
        for q in (
            "linen",
            f"gen-{some.id}-m",
            "li",
            "classic silk",
            "tag:recycled",
            "category:women",
            f'vendor:"{some.vendor}"',
            "available:true",
            "linen available:true",
        )
    ]
    requests.append(
        (
            PRODUCT,
            {
                "handle": some.handle,
                "near": dict(zip(("latitude", "longitude"), PART_DIEU, strict=True)),
            },
        )
    )
    failures = []
    for query, variables in requests:
        with capture_sql() as sent:
            body = await gql(query, variables)
        assert "errors" not in body, (variables, body)
        assert sent, variables
        for sql, plan in await _plans(sent):
            if _whole_scans(plan):
                failures.append(f"{variables}\n{sql}\n{plan}")
    assert not failures, "\n\n".join(failures)


async def test_seed_catalog_makes_priced_stocked_searchable_products(gql):
    await make_world(products=0)
    with pytest.raises(Exception, match="seed"):
        await seed_catalog(10)  # no category yet: the demo seed comes first
    await m.Category.create(name="Home", handle="home")
    progress: list[int] = []
    assert await seed_catalog(250, batch=100, progress=progress.append) == 250
    assert sorted(progress) == [50, 100, 100]  # batches run side by side on PostgreSQL
    assert await m.Product.all().count() == 250
    assert await m.Variant.all().count() == 250 * len(SIZES)
    assert await m.Stock.all().count() == 250 * len(SIZES) * 3  # warehouse + 2 stores
    variant_ids = set(await m.Variant.all().values_list("id", flat=True))
    based = await m.Price.filter(kind="BASE").values_list("variant_id", flat=True)
    assert sorted(based) == sorted(variant_ids)  # one BASE price per variant
    product = await m.Product.filter(status="ACTIVE").order_by("-id").first()
    assert product is not None
    body = await gql(
        "query($q: String) { products(first: 5, query: $q) { nodes { handle variants(first: 5)"
        " { nodes { sku price { amount } quantityAvailable } } } } }",
        {"q": f"gen-{product.id}-l"},
    )
    [found] = body["data"]["products"]["nodes"]
    assert found["handle"] == product.handle
    assert [v["sku"] for v in found["variants"]["nodes"]] == [
        f"GEN-{product.id}-{s}" for s in SIZES
    ]
    assert all(v["price"] for v in found["variants"]["nodes"])
    # every generated title's words are searchable through the index
    words = product.title.lower().split()
    body = await gql(
        "query($q: String) { products(first: 1, query: $q, reverse: true) { nodes { handle } } }",
        {"q": " ".join(words)},
    )
    assert body["data"]["products"]["nodes"] == [{"handle": product.handle}]
