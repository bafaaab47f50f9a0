"""Admin catalog mutations: create, update, archive; clear userErrors; nothing lost on failure."""

from __future__ import annotations

from adapters.db import models as m
from schema.relay import to_global_id
from tests.factories import make_world, staff_token

CREATE = """mutation($input: ProductInput!) { productCreate(input: $input) {
  product { id handle status options { name values }
            variants { nodes { sku title selectedOptions { name value } } } }
  userErrors { field code message } } }"""


async def test_product_lifecycle(gql, settings):
    await make_world(products=0)
    gql.token = await staff_token(settings.secret_key)
    category = await gql(
        'mutation { categoryCreate(input: {name: "Women"}) { category { id handle } } }'
    )
    cat_id = category["data"]["categoryCreate"]["category"]["id"]
    data = {
        "title": "Summer Dress",
        "status": "ACTIVE",
        "categoryId": cat_id,
        "tags": ["Summer", "summer ", "linen"],
        "options": [{"name": "Size", "values": ["S", "M"]}],
        "variants": [
            {"sku": "SD-S", "optionValues": {"Size": "S"}},
            {"sku": "SD-M", "optionValues": {"Size": "M"}},
        ],
    }
    body = await gql(CREATE, {"input": data})
    product = body["data"]["productCreate"]["product"]
    assert body["data"]["productCreate"]["userErrors"] == []
    assert product["handle"] == "summer-dress"
    assert [v["sku"] for v in product["variants"]["nodes"]] == ["SD-S", "SD-M"]
    assert (await m.Product.get(handle="summer-dress")).tags == ["summer", "linen"]
    # the same title gets the next free handle; a duplicate SKU is refused, nothing is written
    again = await gql(
        CREATE, {"input": {**data, "variants": [{"sku": "SD-S", "optionValues": {"Size": "S"}}]}}
    )
    error = again["data"]["productCreate"]["userErrors"][0]
    assert error == {
        "field": ["variants", "0", "sku"],
        "code": "DUPLICATE_SKU",
        "message": "SKU 'SD-S' exists",
    }
    assert await m.Product.all().count() == 1
    bad_option = await gql(
        CREATE, {"input": {**data, "variants": [{"sku": "SD-X", "optionValues": {"Size": "XXL"}}]}}
    )
    assert bad_option["data"]["productCreate"]["userErrors"][0]["code"] == "INVALID_OPTION_VALUES"
    update = """mutation($id: ID!, $input: ProductInput!) { productUpdate(id: $id, input: $input) {
      product { title handle } userErrors { field code } } }"""
    body = await gql(
        update,
        {"id": product["id"], "input": {"title": "Linen Summer Dress", "handle": "Bad Handle"}},
    )
    assert body["data"]["productUpdate"]["userErrors"] == [
        {"field": ["handle"], "code": "INVALID_HANDLE"}
    ]
    assert (await m.Product.get(handle="summer-dress")).title == "Summer Dress"
    body = await gql(update, {"id": product["id"], "input": {"title": "Linen Summer Dress"}})
    assert body["data"]["productUpdate"]["product"] == {
        "title": "Linen Summer Dress",
        "handle": "summer-dress",
    }
    # archived products disappear from the storefront
    storefront = "{ products(first: 5) { nodes { handle } } }"
    assert len((await gql(storefront, token=""))["data"]["products"]["nodes"]) == 1
    archive = "mutation($id: ID!) { productArchive(id: $id) { product { status } } }"
    body = await gql(archive, {"id": product["id"]})
    assert body["data"]["productArchive"]["product"]["status"] == "ARCHIVED"
    gql.token = None
    assert (await gql(storefront))["data"]["products"]["nodes"] == []


async def test_collections_categories_and_variant_update(gql, settings):
    world = await make_world(products=2)
    gql.token = await staff_token(settings.secret_key)
    ids = [world.gid(p) for p in world.products]
    coll = """mutation($ids: [ID!]) { collectionCreate(input: {title: "Bestsellers", productIds: $ids}) {
      collection { handle } userErrors { code field } } }"""
    body = await gql(coll, {"ids": ids[:1]})
    assert body["data"]["collectionCreate"]["collection"]["handle"] == "bestsellers"
    listed = await gql(
        '{ products(first: 5, query: "collection:bestsellers") { nodes { handle } } }'
    )
    assert [n["handle"] for n in listed["data"]["products"]["nodes"]] == ["linen-shirt-000"]
    missing = await gql(coll, {"ids": [to_global_id("Product", 999)]})
    assert missing["data"]["collectionCreate"]["userErrors"][0] == {
        "code": "NOT_FOUND",
        "field": ["productIds"],
    }
    parent = await gql('mutation { categoryCreate(input: {name: "Men"}) { category { id } } }')
    pid = parent["data"]["categoryCreate"]["category"]["id"]
    child = await gql(
        'mutation($p: ID!) { categoryCreate(input: {name: "Shirts", parentId: $p}) { category { id } } }',
        {"p": pid},
    )
    cid = child["data"]["categoryCreate"]["category"]["id"]
    cycle = await gql(
        "mutation($id: ID!, $p: ID!) { categoryUpdate(id: $id, input: {parentId: $p}) { userErrors { code } } }",
        {"id": pid, "p": cid},
    )
    assert cycle["data"]["categoryUpdate"]["userErrors"][0]["code"] == "CATEGORY_CYCLE"
    vu = """mutation($id: ID!, $sku: String) { productVariantUpdate(id: $id, input: {sku: $sku, barcode: "4006381333931"}) {
      productVariant { sku barcode } userErrors { code } } }"""
    taken = await gql(vu, {"id": world.gid(world.variants[0]), "sku": world.variants[1].sku})
    assert taken["data"]["productVariantUpdate"]["userErrors"][0]["code"] == "DUPLICATE_SKU"
    ok = await gql(vu, {"id": world.gid(world.variants[0]), "sku": "NEW-SKU-1"})
    assert ok["data"]["productVariantUpdate"]["productVariant"] == {
        "sku": "NEW-SKU-1",
        "barcode": "4006381333931",
    }


async def test_price_bulk_set_is_all_or_nothing(gql, settings):
    world = await make_world(products=1)
    gql.token = await staff_token(settings.secret_key)
    mutation = """mutation($p: [PriceInput!]!) { priceBulkSet(prices: $p) { count userErrors { field code } } }"""
    vid = world.gid(world.variants[0])
    bad = [
        {
            "variantId": vid,
            "amount": "10.00",
            "currencyCode": "EUR",
            "kind": "CHANNEL",
            "channel": "web",
        },
        {"variantId": vid, "amount": "-1", "currencyCode": "EUR"},
    ]
    body = await gql(mutation, {"p": bad})
    assert body["data"]["priceBulkSet"]["userErrors"][0]["code"] == "NEGATIVE_PRICE"
    assert body["data"]["priceBulkSet"]["userErrors"][0]["field"][:2] == ["prices", "1"]
    assert await m.Price.filter(kind="CHANNEL").count() == 0
    too_precise = [{"variantId": vid, "amount": "10.001", "currencyCode": "EUR"}]
    assert (await gql(mutation, {"p": too_precise}))["data"]["priceBulkSet"]["userErrors"][0][
        "code"
    ] == "INVALID"
    body = await gql(mutation, {"p": bad[:1]})
    assert body["data"]["priceBulkSet"]["count"] == 1
    price = "{ products(first: 1) { nodes { variants { nodes { price { amount } } } } } }"
    gql.token = None
    assert (await gql(price))["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["price"][
        "amount"
    ] == "10.00"
