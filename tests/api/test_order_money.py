"""The order follows its money: what has left cannot be cancelled, unpaid orders are not
completed by delivery, refunds are of money received, points are earned on what was kept."""

from __future__ import annotations

from adapters.db import models as m
from tests.api.test_orders import CHECKOUT, CREATE, _ledger_agrees
from tests.factories import make_world, staff_token

FIELDS = """order { id status paymentStatus refundedTotal { amount }
  fulfilments { id status location { handle } } }
userErrors { field code message }"""
SHIP = (
    """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "Colissimo",
  trackingNumber: "6A1") { %s } }"""
    % FIELDS
)
DELIVER = (
    "mutation($f: ID!, $c: Boolean!) { fulfilmentDeliver(fulfilmentId: $f, cashCollected: $c) { %s } }"
    % FIELDS
)
CANCEL = 'mutation($o: ID!) { orderCancel(orderId: $o, reason: "late") { %s } }' % FIELDS
CANCEL_PART = (
    'mutation($f: ID!) { fulfilmentCancel(fulfilmentId: $f, reason: "no stock") { %s } }' % FIELDS
)
PAID = 'mutation($o: ID!) { orderMarkPaid(orderId: $o, reference: "t1") { %s } }' % FIELDS
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) {
  order { status paymentStatus } refundDue { amount } userErrors { code } } }"""
LINES = "query($id: ID!) { order(id: $id) { lines { id sku quantity } } }"


async def _shipped_order(gql, world, lines):
    data = {
        "lines": [{"merchandiseId": world.gid(v), "quantity": q} for v, q in lines],
        "buyerIdentity": {"email": "bo@example.com"},
        "delivery": {"method": "SHIP", "address": {"city": "Lyon"}},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": cart["id"]}))["data"]
    assert placed["checkoutComplete"]["userErrors"] == [], placed
    return placed["checkoutComplete"]["order"]


async def test_a_split_order_cannot_be_cancelled_once_a_part_left(gql, settings):
    world = await make_world(products=2, variants_per_product=1)
    a, b = world.variants[0], world.variants[1]
    # no location holds both: a only at the warehouse, b only at Part-Dieu
    await m.Stock.filter(variant_id=a.id, location_id=world.part_dieu.id).update(on_hand=0)
    await m.Stock.filter(variant_id=b.id, location_id=world.warehouse.id).update(on_hand=0)
    order = await _shipped_order(gql, world, [(a, 1), (b, 1)])
    owner = await staff_token(settings.secret_key)
    assert (await gql(PAID, {"o": order["id"]}, token=owner))["data"]["orderMarkPaid"]["order"][
        "paymentStatus"
    ] == "PAID"
    first, second = order["fulfilments"]
    shipped = (await gql(SHIP, {"f": first["id"]}, token=owner))["data"]["fulfilmentShip"]
    assert shipped["order"]["status"] == "PAID"  # one part is still open

    refused = (await gql(CANCEL, {"o": order["id"]}, token=owner))["data"]["orderCancel"]
    assert (refused["order"], refused["userErrors"][0]["code"]) == (None, "INVALID_STATE")

    part = (await gql(CANCEL_PART, {"f": second["id"]}, token=owner))["data"]["fulfilmentCancel"]
    assert part["userErrors"] == []
    after = part["order"]
    assert after["status"] == "FULFILLED"  # what is left has left
    assert after["paymentStatus"] == "REFUND_DUE"
    total = (await m.Order.get(number=order["number"])).total
    refunded = int(after["refundedTotal"]["amount"].replace(".", ""))
    assert 0 < refunded < total  # only the cancelled part's money is owed back
    statuses = sorted(f["status"] for f in after["fulfilments"])
    assert statuses == ["CANCELLED", "SHIPPED"]
    await _ledger_agrees()


async def test_an_unpaid_delivery_is_not_complete_and_a_return_refunds_nothing(gql, settings):
    world = await make_world(products=1, variants_per_product=1)
    order = await _shipped_order(gql, world, [(world.variants[0], 2)])
    owner = await staff_token(settings.secret_key)
    f = order["fulfilments"][0]["id"]
    await gql(SHIP, {"f": f}, token=owner)
    delivered = (await gql(DELIVER, {"f": f, "c": False}, token=owner))["data"]["fulfilmentDeliver"]
    assert (delivered["order"]["status"], delivered["order"]["paymentStatus"]) == (
        "DELIVERED",
        "PENDING",
    )
    lines = (await gql(LINES, {"id": order["id"]}, token=owner))["data"]["order"]["lines"]
    ret = {
        "orderId": order["id"],
        "locationId": world.gid(world.part_dieu),
        "lines": [{"orderLineId": lines[0]["id"], "quantity": 1}],
    }
    back = (await gql(RETURN, {"i": ret}, token=owner))["data"]["orderReturnCreate"]
    assert back["userErrors"] == [] and back["refundDue"]["amount"] == "0.00"  # nothing was paid
    assert back["order"]["paymentStatus"] == "PENDING"
    paid = (await gql(PAID, {"o": order["id"]}, token=owner))["data"]["orderMarkPaid"]["order"]
    assert (paid["status"], paid["paymentStatus"]) == ("COMPLETED", "PAID")


async def test_mark_paid_refuses_a_cancelled_order(gql, settings):
    world = await make_world(products=1, variants_per_product=1)
    order = await _shipped_order(gql, world, [(world.variants[0], 1)])
    owner = await staff_token(settings.secret_key)
    cancelled = (await gql(CANCEL, {"o": order["id"]}, token=owner))["data"]["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert [f["status"] for f in cancelled["order"]["fulfilments"]] == ["CANCELLED"]
    refused = (await gql(PAID, {"o": order["id"]}, token=owner))["data"]["orderMarkPaid"]
    assert (refused["order"], refused["userErrors"][0]["code"]) == (None, "INVALID_STATE")
    # shipping a cancelled order is a clear refusal, not an internal error
    ship = (await gql(SHIP, {"f": order["fulfilments"][0]["id"]}, token=owner))["data"]
    assert ship["fulfilmentShip"]["userErrors"][0]["code"] == "INVALID_STATE"


async def test_points_are_earned_on_what_was_kept(gql, settings):
    """A return before the order completes is not earned on: half kept, half the points."""
    from tests.api.test_points import _member

    world = await make_world(products=1, variants_per_product=1)
    token = (await _member(gql, world))["accessToken"]
    owner = await staff_token(settings.secret_key)
    earned = "query($id: ID!) { order(id: $id) { pointsEarned lines { id } } }"

    async def delivered(quantity: int) -> dict:
        data = {
            "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
            "delivery": {"method": "SHIP", "address": {"city": "Lyon"}},
        }
        cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
        body = await gql(CHECKOUT, {"cart": cart["id"], "key": cart["id"]}, token=token)
        order = body["data"]["checkoutComplete"]["order"]
        f = order["fulfilments"][0]["id"]
        await gql(SHIP, {"f": f}, token=owner)
        await gql(DELIVER, {"f": f, "c": False}, token=owner)
        return order

    two = await delivered(2)
    line = (await gql(earned, {"id": two["id"]}, token=owner))["data"]["order"]["lines"][0]["id"]
    ret = {
        "orderId": two["id"],
        "locationId": world.gid(world.part_dieu),
        "lines": [{"orderLineId": line, "quantity": 1}],
    }
    assert (await gql(RETURN, {"i": ret}, token=owner))["data"]["orderReturnCreate"][
        "userErrors"
    ] == []
    await gql(PAID, {"o": two["id"]}, token=owner)
    one = await delivered(1)
    await gql(PAID, {"o": one["id"]}, token=owner)
    points_two = (await gql(earned, {"id": two["id"]}, token=owner))["data"]["order"]
    points_one = (await gql(earned, {"id": one["id"]}, token=owner))["data"]["order"]
    assert points_one["pointsEarned"] > 0
    assert points_two["pointsEarned"] == points_one["pointsEarned"]
