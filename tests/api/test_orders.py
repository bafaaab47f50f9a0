"""Cart → checkout → pick-up, shipping with routing, till sales, cancel and returns, over GraphQL."""

from __future__ import annotations

from adapters.db import models as m
from tests.factories import PART_DIEU, make_world, staff_token

CART_FIELDS = """cart { id totalQuantity readyForCheckout
  cost { subtotalAmount { amount } deliveryAmount { amount } totalTaxAmount { amount } totalAmount { amount } }
  lines { id quantity problem cost { amountPerQuantity { amount } totalAmount { amount } }
          availability { quantityAvailableInChannel quantityAvailableAtStore
                         nearestStoresWithStock { location { handle } distanceKm } } }
  delivery { method location { handle } } }
userErrors { field code message }"""
CREATE = "mutation($input: CartInput!) { cartCreate(input: $input) { %s } }" % CART_FIELDS
CHECKOUT = """mutation($cart: ID!, $key: String!) { checkoutComplete(cartId: $cart, idempotencyKey: $key) {
  order { id number status paymentStatus total { amount } routingReason
          lines { id sku quantity unitPrice { amount } }
          fulfilments { id method status pickupCode qrPayload location { handle } } }
  orderAccessToken userErrors { field code message } } }"""
ORDER_FIELDS = (
    "order { id status paymentStatus fulfilments { id status } } userErrors { field code message }"
)


async def _stock(variant, location) -> tuple[int, int]:
    row = await m.Stock.get(variant_id=variant.id, location_id=location.id)
    return row.on_hand, row.reserved


async def _ledger_agrees() -> None:
    """On-hand moves and reservation moves of the ledger explain every stock row."""
    for row in await m.Stock.all():
        moves = await m.StockMovement.filter(variant_id=row.variant_id, location_id=row.location_id)
        reserved = sum(x.delta for x in moves if x.kind in ("RESERVATION", "RELEASE"))
        assert reserved == row.reserved, (row.variant_id, row.location_id)
    active = await m.Reservation.filter(status="ACTIVE")
    assert sum(r.quantity for r in active) == sum(r.reserved for r in await m.Stock.all())


async def _pickup_cart(gql, world, quantity=1):
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
        "buyerIdentity": {"email": " Ada@Example.com "},
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    body = await gql(CREATE, {"input": data})
    assert body["data"]["cartCreate"]["userErrors"] == [], body
    return body["data"]["cartCreate"]["cart"]


async def test_pickup_flow_from_cart_to_counter(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world, quantity=2)
    assert cart["readyForCheckout"] and cart["cost"]["totalAmount"]["amount"] == "59.80"
    assert cart["cost"]["deliveryAmount"]["amount"] == "0.00"
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "chk-1"}))["data"]["checkoutComplete"]
    assert placed["userErrors"] == []
    order = placed["order"]
    assert order["status"] == "PLACED" and order["paymentStatus"] == "PENDING"
    pickup = order["fulfilments"][0]
    assert pickup["location"]["handle"] == "part-dieu" and len(pickup["pickupCode"]) == 6
    assert await _stock(world.variants[0], world.part_dieu) == (3, 2)
    # replaying the checkout returns the same order and reserves nothing more
    again = (await gql(CHECKOUT, {"cart": cart["id"], "key": "chk-1"}))["data"]["checkoutComplete"]
    assert again["order"]["id"] == order["id"]
    assert await _stock(world.variants[0], world.part_dieu) == (3, 2)
    other = (await gql(CHECKOUT, {"cart": cart["id"], "key": "chk-2"}))["data"]["checkoutComplete"]
    assert other["userErrors"][0]["code"] == "CART_COMPLETED"

    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    elsewhere = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.bellecour.id]
    )
    ready = "mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) { %s } }" % ORDER_FIELDS
    confirm = (
        "mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) { %s } }"
        % ORDER_FIELDS
    )
    body = await gql(ready, {"f": pickup["id"]}, token=elsewhere)
    assert body["data"]["fulfilmentReadyForPickup"]["userErrors"][0]["code"] == "WRONG_STORE"
    body = await gql(confirm, {"f": pickup["id"], "c": pickup["pickupCode"]}, token=manager)
    assert body["data"]["pickupConfirm"]["userErrors"][0]["code"] == "INVALID_STATE"
    body = await gql(ready, {"f": pickup["id"]}, token=manager)
    assert body["data"]["fulfilmentReadyForPickup"]["order"]["status"] == "READY_FOR_PICKUP"
    wrong = "000000" if pickup["pickupCode"] != "000000" else "111111"
    body = await gql(confirm, {"f": pickup["id"], "c": wrong}, token=manager)
    assert body["data"]["pickupConfirm"]["userErrors"][0] == {
        "field": ["code"],
        "code": "WRONG_CODE",
        "message": "wrong pick-up code",
    }
    body = await gql(confirm, {"f": pickup["id"], "c": pickup["pickupCode"]}, token=manager)
    done = body["data"]["pickupConfirm"]["order"]
    assert done["status"] == "COMPLETED" and done["paymentStatus"] == "PAID"
    assert await _stock(world.variants[0], world.part_dieu) == (1, 0)
    await _ledger_agrees()
    # the buyer reads their order with its access token, nobody else without it
    read = (
        "query($id: ID!, $t: String) { order(id: $id, accessToken: $t) { status events { kind } } }"
    )
    mine = await gql(read, {"id": order["id"], "t": placed["orderAccessToken"]})
    assert mine["data"]["order"] == {"status": "COMPLETED", "events": []}
    assert (await gql(read, {"id": order["id"], "t": "guess"}))["data"]["order"] is None
    staff = await gql(read, {"id": order["id"]}, token=manager)
    assert [e["kind"] for e in staff["data"]["order"]["events"]] == [
        "PLACED",
        "READY_FOR_PICKUP",
        "PICKED_UP",
        "COMPLETED",
    ]


async def test_cart_names_nearest_stores_when_the_chosen_one_lacks_a_line(gql):
    world = await make_world(products=1)
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.bellecour)},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    line = cart["lines"][0]
    assert line["problem"] == "NOT_AVAILABLE_AT_STORE" and not cart["readyForCheckout"]
    assert line["availability"]["quantityAvailableAtStore"] == 0
    assert [s["location"]["handle"] for s in line["availability"]["nearestStoresWithStock"]] == [
        "part-dieu"
    ]
    body = await gql(CHECKOUT, {"cart": cart["id"], "key": "k"})
    assert body["data"]["checkoutComplete"]["userErrors"][0]["code"] == "BUYER_REQUIRED"
    buyer = """mutation($c: ID!) { cartBuyerIdentityUpdate(cartId: $c, buyerIdentity: {phone: "+33 6 12 34 56 78"}) { cart { id } } }"""
    await gql(buyer, {"c": cart["id"]})
    body = await gql(CHECKOUT, {"cart": cart["id"], "key": "k"})
    assert body["data"]["checkoutComplete"]["userErrors"][0]["code"] == "NOT_AVAILABLE_AT_STORE"
    assert await m.Order.all().count() == 0 and await m.OutboxEvent.all().count() == 0


async def test_cart_lines_update_remove_and_bad_input(gql):
    world = await make_world(products=2)
    v0, v1 = world.gid(world.variants[0]), world.gid(world.variants[2])
    cart = (await gql(CREATE, {"input": {"lines": [{"merchandiseId": v0, "quantity": 1}]}}))[
        "data"
    ]["cartCreate"]["cart"]
    add = (
        "mutation($c: ID!, $l: [CartLineInput!]!) { cartLinesAdd(cartId: $c, lines: $l) { %s } }"
        % CART_FIELDS
    )
    body = await gql(
        add,
        {
            "c": cart["id"],
            "l": [{"merchandiseId": v0, "quantity": 2}, {"merchandiseId": v1, "quantity": 1}],
        },
    )
    lines = body["data"]["cartLinesAdd"]["cart"]["lines"]
    assert [ln["quantity"] for ln in lines] == [3, 1]
    update = (
        "mutation($c: ID!, $l: [CartLineUpdateInput!]!) { cartLinesUpdate(cartId: $c, lines: $l) { %s } }"
        % CART_FIELDS
    )
    body = await gql(update, {"c": cart["id"], "l": [{"id": lines[0]["id"], "quantity": 0}]})
    assert [ln["id"] for ln in body["data"]["cartLinesUpdate"]["cart"]["lines"]] == [lines[1]["id"]]
    remove = (
        "mutation($c: ID!, $l: [ID!]!) { cartLinesRemove(cartId: $c, lineIds: $l) { %s } }"
        % CART_FIELDS
    )
    body = await gql(remove, {"c": cart["id"], "l": [lines[1]["id"]]})
    assert body["data"]["cartLinesRemove"]["cart"]["lines"] == []
    bad = [
        ({"c": cart["id"], "l": [{"merchandiseId": v0, "quantity": -1}]}, "INVALID_QUANTITY"),
        (
            {
                "c": cart["id"],
                "l": [{"merchandiseId": world.gid(world.products[0]), "quantity": 1}],
            },
            "INVALID_ID",
        ),
        ({"c": "c_unknown", "l": [{"merchandiseId": v0, "quantity": 1}]}, "NOT_FOUND"),
    ]
    for variables, code in bad:
        body = await gql(add, variables)
        assert body["data"]["cartLinesAdd"]["userErrors"][0]["code"] == code
    assert (await gql("query($id: ID!) { cart(id: $id) { id } }", {"id": "c_nope"}))["data"][
        "cart"
    ] is None


async def test_shipping_routes_to_the_nearest_location_holding_everything(gql, settings):
    world = await make_world(products=1)
    near_part_dieu = {"latitude": PART_DIEU[0] + 0.001, "longitude": PART_DIEU[1]}
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 2}],
        "buyerIdentity": {"email": "bo@example.com"},
        "delivery": {
            "method": "SHIP",
            "address": {"line1": "1 rue", "city": "Lyon", **near_part_dieu},
        },
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    assert cart["cost"]["deliveryAmount"]["amount"] == "4.90"
    order = (await gql(CHECKOUT, {"cart": cart["id"], "key": "s1"}))["data"]["checkoutComplete"][
        "order"
    ]
    assert order["routingReason"] is None  # not shown to the buyer
    token = await staff_token(settings.secret_key)
    staff_view = await gql(
        "query($id: ID!) { order(id: $id) { routingReason fulfilments { id location { handle } } } }",
        {"id": order["id"]},
        token=token,
    )
    assert staff_view["data"]["order"]["fulfilments"][0]["location"]["handle"] == "part-dieu"
    assert "nearest" in staff_view["data"]["order"]["routingReason"]
    ship = (
        """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "Colissimo", trackingNumber: "6A123") { %s } }"""
        % ORDER_FIELDS
    )
    body = await gql(ship, {"f": staff_view["data"]["order"]["fulfilments"][0]["id"]}, token=token)
    assert body["data"]["fulfilmentShip"]["order"]["status"] == "FULFILLED"
    assert await _stock(world.variants[0], world.part_dieu) == (1, 0)
    await _ledger_agrees()


async def test_cancel_releases_and_checkout_refuses_more_than_available(gql):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world, quantity=3)
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "c1"}))["data"]["checkoutComplete"]
    assert await _stock(world.variants[0], world.part_dieu) == (3, 3)
    second = await _pickup_cart(gql, world, quantity=1)
    body = await gql(CHECKOUT, {"cart": second["id"], "key": "c2"})
    assert body["data"]["checkoutComplete"]["userErrors"][0]["code"] == "NOT_AVAILABLE_AT_STORE"
    cancel = (
        'mutation($o: ID!, $t: String) { orderCancel(orderId: $o, accessToken: $t, reason: "changed my mind") { %s } }'
        % ORDER_FIELDS
    )
    refused = await gql(cancel, {"o": placed["order"]["id"], "t": "nope"})
    assert refused["data"]["orderCancel"]["userErrors"][0]["code"] == "PERMISSION_DENIED"
    body = await gql(cancel, {"o": placed["order"]["id"], "t": placed["orderAccessToken"]})
    assert body["data"]["orderCancel"]["order"]["status"] == "CANCELLED"
    assert await _stock(world.variants[0], world.part_dieu) == (3, 0)
    again = await gql(cancel, {"o": placed["order"]["id"], "t": placed["orderAccessToken"]})
    assert again["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_STATE"
    await _ledger_agrees()


async def test_till_sale_then_return_of_an_online_order_in_another_store(gql, settings):
    world = await make_world(products=1)
    store_channel = await m.Channel.create(
        handle="store-part-dieu",
        name="Part-Dieu till",
        kind="STORE",
        currency="EUR",
        store=world.part_dieu,
    )
    await m.ChannelLocation.create(channel=store_channel, location=world.part_dieu)
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    pos = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { order { id status paymentStatus channel total { amount } lines { id } } userErrors { field code } } }"""
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "idempotencyKey": "till-1",
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 2}],
    }
    body = await gql(pos, {"i": sale}, token=clerk)
    order = body["data"]["posOrderCreate"]["order"]
    assert (
        order["status"] == "COMPLETED"
        and order["channel"] == "store-part-dieu"
        and order["total"]["amount"] == "59.80"
    )
    assert await _stock(world.variants[0], world.part_dieu) == (1, 0)
    replay = await gql(pos, {"i": sale}, token=clerk)
    assert replay["data"]["posOrderCreate"]["order"]["id"] == order["id"]
    reused = await gql(pos, {"i": {**sale, "tender": "CARD_TERMINAL"}}, token=clerk)
    assert reused["data"]["posOrderCreate"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_store = await gql(
        pos,
        {"i": {**sale, "locationId": world.gid(world.bellecour), "idempotencyKey": "x"}},
        token=clerk,
    )
    assert other_store["data"]["posOrderCreate"]["userErrors"][0]["code"] == "WRONG_STORE"

    # an online order shipped from the warehouse comes back at Bellecour
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[1]), "quantity": 2}],
        "buyerIdentity": {"email": "cy@example.com"},
        "delivery": {"method": "SHIP", "address": {"city": "Paris"}},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "r1"}))["data"]["checkoutComplete"][
        "order"
    ]
    owner = await staff_token(settings.secret_key)
    ship = (
        """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "DHL", trackingNumber: "1") { %s } }"""
        % ORDER_FIELDS
    )
    await gql(ship, {"f": placed["fulfilments"][0]["id"]}, token=owner)
    deliver = (
        "mutation($f: ID!) { fulfilmentDeliver(fulfilmentId: $f, cashCollected: true) { %s } }"
        % ORDER_FIELDS
    )
    body = await gql(deliver, {"f": placed["fulfilments"][0]["id"]}, token=owner)
    assert body["data"]["fulfilmentDeliver"]["order"]["status"] == "COMPLETED"  # paid on delivery
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.bellecour.id]
    )
    ret = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) { refundDue { amount } order { status refundedTotal { amount } lines { returnedQuantity } } userErrors { field code } } }"""
    before = await _stock(world.variants[1], world.bellecour)
    body = await gql(
        ret,
        {
            "i": {
                "orderId": placed["id"],
                "locationId": world.gid(world.bellecour),
                "lines": [{"orderLineId": placed["lines"][0]["id"], "quantity": 1}],
            }
        },
        token=manager,
    )
    result = body["data"]["orderReturnCreate"]
    assert (
        result["refundDue"]["amount"] == "30.90"
        and result["order"]["lines"][0]["returnedQuantity"] == 1
    )
    assert await _stock(world.variants[1], world.bellecour) == (before[0] + 1, 0)
    too_many = await gql(
        ret,
        {
            "i": {
                "orderId": placed["id"],
                "locationId": world.gid(world.bellecour),
                "lines": [{"orderLineId": placed["lines"][0]["id"], "quantity": 2}],
            }
        },
        token=manager,
    )
    assert (
        too_many["data"]["orderReturnCreate"]["userErrors"][0]["code"] == "RETURN_EXCEEDS_ORDERED"
    )
    await _ledger_agrees()


async def test_outbox_event_is_written_exactly_when_the_order_commits(gql):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world, quantity=99)
    body = await gql(CHECKOUT, {"cart": cart["id"], "key": "o1"})
    assert body["data"]["checkoutComplete"]["userErrors"]
    assert await m.OutboxEvent.all().count() == 0 and await m.Order.all().count() == 0
    ok = await _pickup_cart(gql, world, quantity=1)
    await gql(CHECKOUT, {"cart": ok["id"], "key": "o2"})
    events = await m.OutboxEvent.all().order_by("id")
    # the order, and its stock reserved (for the marketplaces' quantities), in one commit
    assert [e.topic for e in events] == ["order.placed", "stock.changed"]
    assert events[0].payload["orderId"] == (await m.Order.first()).id
    assert events[1].payload == {"variantIds": [world.variants[0].id]}


async def test_staff_mark_an_order_paid_once(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    order = (await gql(CHECKOUT, {"cart": cart["id"], "key": "mp"}))["data"]["checkoutComplete"][
        "order"
    ]
    paid = 'mutation($o: ID!) { orderMarkPaid(orderId: $o, reference: "terminal 42") { order { status paymentStatus } userErrors { code } } }'
    elsewhere = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.bellecour.id]
    )
    assert (await gql(paid, {"o": order["id"]}, token=elsewhere))["data"]["orderMarkPaid"][
        "userErrors"
    ][0]["code"] == "PERMISSION_DENIED"
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    first = await gql(paid, {"o": order["id"]}, token=manager)
    assert first["data"]["orderMarkPaid"]["order"] == {"status": "PAID", "paymentStatus": "PAID"}
    again = await gql(paid, {"o": order["id"]}, token=manager)
    assert again["data"]["orderMarkPaid"]["order"] == {"status": "PAID", "paymentStatus": "PAID"}
    assert await m.OrderEvent.filter(kind="PAID").count() == 1
    # cancelled while paid: the money is due back, and marking it paid again is refused
    cancel = 'mutation($o: ID!) { orderCancel(orderId: $o, reason: "changed mind") { order { status paymentStatus } userErrors { code } } }'
    cancelled = (await gql(cancel, {"o": order["id"]}, token=manager))["data"]["orderCancel"]
    assert cancelled["order"] == {"status": "CANCELLED", "paymentStatus": "REFUND_DUE"}
    refused = (await gql(paid, {"o": order["id"]}, token=manager))["data"]["orderMarkPaid"]
    assert (refused["order"], refused["userErrors"][0]["code"]) == (None, "INVALID_STATE")
    row = await m.Order.get(id=int(order["number"].split("-")[1]))
    assert (row.status, row.payment_status) == ("CANCELLED", "REFUND_DUE")
