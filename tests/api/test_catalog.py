"""Storefront catalog over GraphQL: prices and stock per channel, paging, query counts."""

from __future__ import annotations

from tests.api.querycount import count_queries
from tests.factories import PART_DIEU, add_sale, make_world

PRODUCTS = """
query($first: Int, $after: String, $last: Int, $before: String, $query: String, $channel: String) {
  products(first: $first, after: $after, last: $last, before: $before, query: $query,
           channel: $channel) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id handle title } }
    nodes {
      handle availableForSale
      priceRange { minVariantPrice { amount currencyCode } }
      variants(first: 10) { nodes {
        sku selectedOptions { name value } price { amount currencyCode } compareAtPrice { amount }
        availableForSale quantityAvailable
      } }
    }
  }
}
"""


async def test_products_show_price_and_stock_per_channel(gql):
    world = await make_world(products=2)
    body = await gql(PRODUCTS, {"first": 10})
    assert "errors" not in body, body
    nodes = body["data"]["products"]["nodes"]
    assert [n["handle"] for n in nodes] == ["linen-shirt-000", "linen-shirt-001"]
    variant = nodes[0]["variants"]["nodes"][0]
    assert variant["price"] == {"amount": "29.90", "currencyCode": "EUR"}
    assert variant["selectedOptions"] == [{"name": "Size", "value": "S"}]
    assert variant["compareAtPrice"] is None
    # web is served by the warehouse (10) and two stores (3 and 0)
    assert variant["quantityAvailable"] == 13
    assert variant["availableForSale"] is True
    body = await gql(PRODUCTS, {"first": 10, "channel": "marketplace"})
    # marketplace: warehouse only, 50 % share, buffer 1 -> 10 * 50 % - 1
    assert body["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["quantityAvailable"] == 4
    assert world.products


async def test_sale_price_shows_compare_at_price(gql):
    world = await make_world(products=1)
    await add_sale(world.variants[0], 1990)
    body = await gql(PRODUCTS, {"first": 1})
    variant = body["data"]["products"]["nodes"][0]["variants"]["nodes"][0]
    assert variant["price"]["amount"] == "19.90"
    assert variant["compareAtPrice"]["amount"] == "29.90"


async def test_product_page_costs_the_same_queries_whatever_its_size(gql):
    await make_world(products=50, variants_per_product=3)
    await gql(PRODUCTS, {"first": 1})  # warm caches that are not per request (none expected)
    with count_queries() as small:
        body = await gql(PRODUCTS, {"first": 5})
    assert len(body["data"]["products"]["nodes"]) == 5
    with count_queries() as large:
        body = await gql(PRODUCTS, {"first": 50})
    assert len(body["data"]["products"]["nodes"]) == 50
    assert len(small) == len(large), (small, large)
    assert len(large) <= 6, large


async def test_paging_forward_and_backward_visits_every_product_once(gql):
    await make_world(products=7, variants_per_product=1)
    seen, after = [], None
    while True:
        page = (await gql(PRODUCTS, {"first": 3, "after": after}))["data"]["products"]
        seen += [e["node"]["handle"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"linen-shirt-{i:03d}" for i in range(7)]
    last = (await gql(PRODUCTS, {"last": 2}))["data"]["products"]
    assert [e["node"]["handle"] for e in last["edges"]] == ["linen-shirt-005", "linen-shirt-006"]
    before = await gql(PRODUCTS, {"last": 2, "before": last["pageInfo"]["startCursor"]})
    handles = [e["node"]["handle"] for e in before["data"]["products"]["edges"]]
    assert handles == ["linen-shirt-003", "linen-shirt-004"]


async def test_search_and_filters(gql):
    await make_world(products=3)
    by_sku = await gql(PRODUCTS, {"first": 10, "query": "LS-001-1"})
    assert [n["handle"] for n in by_sku["data"]["products"]["nodes"]] == ["linen-shirt-001"]
    by_tag = await gql(PRODUCTS, {"first": 10, "query": "tag:linen"})
    assert len(by_tag["data"]["products"]["nodes"]) == 3
    none = await gql(PRODUCTS, {"first": 10, "query": "tag:wool"})
    assert none["data"]["products"]["nodes"] == []
    available = await gql(PRODUCTS, {"first": 10, "query": "available:true"})
    assert len(available["data"]["products"]["nodes"]) == 3


async def test_store_availability_nearest_first(gql):
    world = await make_world(products=1)
    query = """query($id: ID!, $near: GeoCoordinateInput) { node(id: $id) { ... on ProductVariant {
        storeAvailability(near: $near, radiusKm: 10) {
          location { handle } quantityAvailable available distanceKm pickUpEnabled } } } }"""
    near = {"latitude": PART_DIEU[0], "longitude": PART_DIEU[1]}
    body = await gql(query, {"id": world.gid(world.variants[0]), "near": near})
    stores = body["data"]["node"]["storeAvailability"]
    assert [s["location"]["handle"] for s in stores] == ["part-dieu", "bellecour"]
    assert stores[0]["quantityAvailable"] == 3 and stores[0]["distanceKm"] == 0
    assert stores[1]["available"] is False and 1 < stores[1]["distanceKm"] < 5


async def test_product_by_handle_and_node(gql):
    world = await make_world(products=1)
    body = await gql('{ product(handle: "linen-shirt-000") { id title } }')
    assert body["data"]["product"]["id"] == world.gid(world.products[0])
    body = await gql(
        "query($id: ID!) { node(id: $id) { id ... on Product { handle } } }",
        {"id": world.gid(world.products[0])},
    )
    assert body["data"]["node"]["handle"] == "linen-shirt-000"
    assert (await gql('{ product(handle: "nope") { id } }'))["data"]["product"] is None


async def test_bad_input_is_a_clear_error_not_a_500(gql):
    world = await make_world(products=1)
    cases = {
        "{ products(first: 1000) { nodes { id } } }": "MAX_PAGE_SIZE_EXCEEDED",
        "{ products(first: -1) { nodes { id } } }": "INVALID",
        '{ products(first: 1, channel: "mars") { nodes { id } } }': "UNKNOWN_CHANNEL",
        '{ products(first: 1, after: "garbage!") { nodes { id } } }': "INVALID_CURSOR",
        '{ product(id: "not-an-id") { id } }': "INVALID_ID",
        '{ node(id: "bm9wZQ") { id } }': "INVALID_ID",
    }
    variant_id = world.gid(world.variants[0])
    cases['{ product(id: "' + variant_id + '") { id } }'] = "INVALID_ID"
    for query, code in cases.items():
        response = await gql.raw(query)
        assert response.status_code == 200, (query, response.text)
        errors = response.json()["errors"]
        assert errors[0]["extensions"]["code"] == code, (query, errors)
    malformed = await gql.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    syntax = await gql.raw("{ products(first: 1) { nodes { id }")
    assert syntax.status_code == 400


async def test_a_variant_reached_by_node_loads_its_price_and_stock(gql):
    world = await make_world(products=1)
    query = """query($id: ID!) { node(id: $id) { ... on ProductVariant { sku price { amount }
      compareAtPrice { amount } saleEndsAt quantityAvailable availableForSale } } }"""
    body = await gql(query, {"id": world.gid(world.variants[0])})
    assert body["data"]["node"] == {
        "sku": "LS-000-0",
        "price": {"amount": "29.90"},
        "compareAtPrice": None,
        "saleEndsAt": None,
        "quantityAvailable": 13,
        "availableForSale": True,
    }
