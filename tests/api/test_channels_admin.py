"""Admin: locations and channels, and which locations serve which channel."""

from __future__ import annotations

from schema.relay import to_global_id
from tests.factories import make_world, staff_token

LOC = """mutation($input: LocationInput!) { locationCreate(input: $input) {
  location { id handle kind pickUpEnabled latitude } userErrors { field code } } }"""
CHAN = """mutation($input: ChannelInput!) { channelCreate(input: $input) {
  channel { handle currencyCode allocationSharePercent allocationBuffer locations { handle } }
  userErrors { field code } } }"""


async def test_new_store_serves_a_new_channel(gql, settings):
    world = await make_world(products=1)
    gql.token = await staff_token(settings.secret_key)
    store = {
        "handle": "confluence",
        "name": "Confluence",
        "kind": "STORE",
        "latitude": 45.7431,
        "longitude": 4.8176,
        "pickUpEnabled": True,
        "openingHours": [{"day": "MON", "opens": "10:00", "closes": "19:00"}],
    }
    body = await gql(LOC, {"input": store})
    location = body["data"]["locationCreate"]["location"]
    assert location["kind"] == "STORE" and location["pickUpEnabled"] is True
    dup = await gql(LOC, {"input": store})
    assert dup["data"]["locationCreate"]["userErrors"] == [
        {"field": ["handle"], "code": "DUPLICATE_HANDLE"}
    ]
    bad = await gql(LOC, {"input": {**store, "handle": "x", "latitude": 123.0}})
    assert bad["data"]["locationCreate"]["userErrors"][0]["code"] == "INVALID_COORDINATES"
    channel = {
        "handle": "store-confluence",
        "name": "Confluence till",
        "kind": "STORE",
        "currencyCode": "eur",
        "storeLocationId": location["id"],
        "locationIds": [location["id"], world.gid(world.warehouse)],
        "allocationSharePercent": 50,
        "allocationBuffer": 1,
    }
    body = await gql(CHAN, {"input": channel})
    made = body["data"]["channelCreate"]["channel"]
    assert made["currencyCode"] == "EUR"
    assert sorted(x["handle"] for x in made["locations"]) == ["confluence", "warehouse"]
    share = await gql(CHAN, {"input": {**channel, "handle": "x2", "allocationSharePercent": 150}})
    assert share["data"]["channelCreate"]["userErrors"][0]["field"] == ["sharePercent"]
    gql.token = None
    query = '{ products(first: 1, channel: "store-confluence") { nodes { variants { nodes { quantityAvailable } } } } }'
    body = await gql(query)
    # warehouse 10 + new store 0 -> 50 % -> 5, minus buffer 1
    assert body["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["quantityAvailable"] == 4


async def test_store_manager_cannot_create_locations(gql, settings):
    world = await make_world(products=0)
    token = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    body = await gql(LOC, {"input": {"handle": "x", "name": "X", "kind": "STORE"}}, token=token)
    assert body["data"]["locationCreate"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_channel_tax_and_fees_reach_the_cart(gql, settings):
    world = await make_world(products=1)
    gql.token = await staff_token(settings.secret_key)
    update = """mutation($id: ID!) { channelUpdate(id: $id, input: {pricesIncludeTax: false,
      taxRateBp: 2000, shippingFee: "5.00", freeShippingOver: "100.00"}) {
      channel { handle } userErrors { field code } } }"""
    channel_id = to_global_id("Channel", world.web.id)
    assert (await gql(update, {"id": channel_id}))["data"]["channelUpdate"]["userErrors"] == []
    bad = update.replace('"5.00"', '"-1"')
    assert (await gql(bad, {"id": channel_id}))["data"]["channelUpdate"]["userErrors"][0][
        "code"
    ] == "INVALID"
    gql.token = None
    create = """mutation($v: ID!) { cartCreate(input: {lines: [{merchandiseId: $v, quantity: 2}],
      delivery: {method: "SHIP", address: {city: "Lyon"}}}) { cart { cost {
      subtotalAmount { amount } deliveryAmount { amount } totalTaxAmount { amount } totalAmount { amount } } } } }"""
    cost = (await gql(create, {"v": world.gid(world.variants[0])}))["data"]["cartCreate"]["cart"][
        "cost"
    ]
    # 2 x 29.90 + 5.00 shipping = 64.80, 20 % on top = 12.96
    assert cost == {
        "subtotalAmount": {"amount": "59.80"},
        "deliveryAmount": {"amount": "5.00"},
        "totalTaxAmount": {"amount": "12.96"},
        "totalAmount": {"amount": "77.76"},
    }
