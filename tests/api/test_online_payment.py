"""Paying online at checkout: what the client does next (client secret, next action), a decline
and a retry, the hand-over gated by the payment, the authorisation captured at the counter for
what was handed over, Alipay on a shipped order, and a replayed checkout opening one intent."""

from __future__ import annotations

from adapters.db import models as m
from domain.payments.model import IntentStatus
from tests.api.test_order_money import SHIP
from tests.api.test_orders import CREATE, _ledger_agrees
from tests.factories import make_world, staff_token

PAYMENT = "payment { id state amount { amount } clientSecret declineCode nextAction { type url qrCodeData returnUrl } }"
CHECKOUT = (
    """mutation($cart: ID!, $key: String!, $pay: CheckoutPaymentInput) {
  checkoutComplete(cartId: $cart, idempotencyKey: $key, payment: $pay) {
    order { id number status paymentStatus total { amount } fulfilments { id method status pickupCode } }
    orderAccessToken paymentRequired %s userErrors { field code message } } }"""
    % PAYMENT
)
CONFIRM = (
    """mutation($o: ID!, $t: String, $pay: CheckoutPaymentInput!) {
  checkoutPaymentConfirm(orderId: $o, accessToken: $t, payment: $pay) {
    order { status paymentStatus } %s userErrors { field code message } } }"""
    % PAYMENT
)
ORDER = """query($o: ID!, $t: String) { order(id: $o, accessToken: $t) { status paymentStatus
  refundedTotal { amount }
  payments { tender state amount { amount } authorised { amount } captured { amount }
             captureMethod provider providerReference } } }"""
READY = """mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) {
  order { status paymentStatus } userErrors { code } } }"""
HAND_OVER = """mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) {
  order { status paymentStatus } userErrors { code message } } }"""


async def _cart(gql, world, method: str, lines=None):
    delivery = (
        {"method": "PICKUP", "locationId": world.gid(world.part_dieu)}
        if method == "PICKUP"
        else {"method": "SHIP", "address": {"city": "Lyon"}}
    )
    data = {
        "lines": [
            {"merchandiseId": world.gid(v), "quantity": q}
            for v, q in (lines or [(world.variants[0], 2)])
        ],
        "buyerIdentity": {"email": "ada@example.com"},
        "delivery": delivery,
    }
    body = await gql(CREATE, {"input": data})
    assert body["data"]["cartCreate"]["userErrors"] == [], body
    return body["data"]["cartCreate"]["cart"]


async def _checkout(gql, cart, pay, key="k1"):
    body = await gql(CHECKOUT, {"cart": cart["id"], "key": key, "pay": pay})
    assert "errors" not in body, body
    return body["data"]["checkoutComplete"]


def _cents(money: dict) -> int:
    return int(money["amount"].replace(".", ""))


async def test_a_card_pickup_is_authorised_then_captured_at_the_counter(gql, settings, services):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "PICKUP")
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "pm_card_visa"})
    assert done["userErrors"] == []
    order, pay = done["order"], done["payment"]
    assert (pay["state"], done["paymentRequired"]) == ("AUTHORISED", "NONE")
    assert order["paymentStatus"] == "AUTHORISED" and order["status"] == "PLACED"
    total = _cents(order["total"])
    assert _cents(pay["amount"]) == total

    owner = await staff_token(settings.secret_key)
    f = order["fulfilments"][0]
    ready = (await gql(READY, {"f": f["id"]}, token=owner))["data"]["fulfilmentReadyForPickup"]
    assert ready["order"]["paymentStatus"] == "AUTHORISED"  # nothing taken before hand-over
    row = await m.Payment.get(order_id=int((await m.Order.get(number=order["number"])).id))
    assert services.payments.intents[row.provider_ref].intent.amount_received == 0

    given = {"f": f["id"], "c": f["pickupCode"]}
    handed = (await gql(HAND_OVER, given, token=owner))["data"]["pickupConfirm"]
    assert handed["userErrors"] == [] and handed["order"] == {
        "status": "COMPLETED",
        "paymentStatus": "PAID",
    }
    intent = services.payments.intents[row.provider_ref].intent
    assert (intent.status, intent.amount_received) == (IntentStatus.SUCCEEDED, total)
    seen = (await gql(ORDER, {"o": order["id"]}, token=owner))["data"]["order"]
    (card,) = seen["payments"]
    assert (card["tender"], card["state"], card["captureMethod"]) == ("CARD", "CAPTURED", "MANUAL")
    assert _cents(card["captured"]) == total and card["providerReference"] == row.provider_ref
    # the buyer sees how the order was paid, not the provider's reference (staff only)
    mine = (await gql(ORDER, {"o": order["id"], "t": done["orderAccessToken"]}))["data"]["order"]
    assert [(p["tender"], p["state"], p["providerReference"]) for p in mine["payments"]] == [
        ("CARD", "CAPTURED", None)
    ]
    assert (await gql(ORDER, {"o": order["id"], "t": "wrong"}))["data"]["order"] is None
    # a retried hand-over answers the same and captures nothing more
    again = (await gql(HAND_OVER, given, token=owner))["data"]["pickupConfirm"]
    assert again["userErrors"][0]["code"] == "INVALID_STATE"
    captures = [c for c in services.payments.calls if c[0] == "capture"]
    assert len(captures) == 1
    await _ledger_agrees()


async def test_without_a_card_token_the_client_confirms_and_the_counter_waits(
    gql, settings, services
):
    world = await make_world(products=1)
    done = await _checkout(gql, await _cart(gql, world, "PICKUP"), {"method": "CARD"})
    pay, order = done["payment"], done["order"]
    assert (pay["state"], done["paymentRequired"]) == ("PENDING", "CONFIRM_WITH_CLIENT_SECRET")
    assert pay["clientSecret"] and pay["clientSecret"].startswith("pi_")
    owner = await staff_token(settings.secret_key)
    f = order["fulfilments"][0]
    await gql(READY, {"f": f["id"]}, token=owner)
    refused = (await gql(HAND_OVER, {"f": f["id"], "c": f["pickupCode"]}, token=owner))["data"]
    assert refused["pickupConfirm"]["userErrors"][0]["code"] == "PAYMENT_REQUIRED"
    # the buyer's client confirms with a card; the order can then be handed over
    token = done["orderAccessToken"]
    pay_now = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
    confirmed = (await gql(CONFIRM, {"o": order["id"], "t": token, "pay": pay_now}))["data"]
    step = confirmed["checkoutPaymentConfirm"]
    assert step["payment"]["state"] == "AUTHORISED"
    assert step["order"]["paymentStatus"] == "AUTHORISED"
    handed = (await gql(HAND_OVER, {"f": f["id"], "c": f["pickupCode"]}, token=owner))["data"]
    assert handed["pickupConfirm"]["order"]["paymentStatus"] == "PAID"


async def test_a_declined_card_can_be_retried_with_another(gql, services):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "SHIP")
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "pm_card_declined"})
    assert done["userErrors"] == [] and done["order"]["paymentStatus"] == "PENDING"
    assert (done["payment"]["state"], done["payment"]["declineCode"]) == ("FAILED", "generic")
    assert done["paymentRequired"] == "RETRY_PAYMENT"
    order, token = done["order"], done["orderAccessToken"]
    # someone without the order's token cannot pay or probe it
    other = {"o": order["id"], "t": "wrong", "pay": {"method": "CARD"}}
    refused = (await gql(CONFIRM, other))["data"]["checkoutPaymentConfirm"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND" and refused["payment"] is None
    retry = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
    paid = (await gql(CONFIRM, {"o": order["id"], "t": token, "pay": retry}))["data"]
    step = paid["checkoutPaymentConfirm"]
    assert step["payment"]["state"] == "CAPTURED"  # shipped goods: charged at confirmation
    assert step["order"] == {"status": "PAID", "paymentStatus": "PAID"}
    # one intent, confirmed twice with two keys
    assert [c[0] for c in services.payments.calls].count("create") == 1
    confirms = [k for op, k in services.payments.calls if op == "confirm"]
    assert len(set(confirms)) == 2


async def test_alipay_answers_a_redirect_and_a_shipped_order_waits_for_it(gql, settings, services):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "SHIP")
    back = "https://shop.example/return"
    done = await _checkout(gql, cart, {"method": "ALIPAY", "returnUrl": back})
    pay, order = done["payment"], done["order"]
    assert (pay["state"], done["paymentRequired"]) == ("REQUIRES_ACTION", "NEXT_ACTION")
    assert pay["nextAction"]["type"] == "REDIRECT" and pay["nextAction"]["url"]
    assert pay["nextAction"]["returnUrl"] == back
    owner = await staff_token(settings.secret_key)
    f = order["fulfilments"][0]["id"]
    early = (await gql(SHIP, {"f": f}, token=owner))["data"]["fulfilmentShip"]
    assert early["userErrors"][0]["code"] == "PAYMENT_REQUIRED"
    # the shopper approves in Alipay; back on the shop, the client asks where it stands
    row = await m.Payment.get(order_id=int((await m.Order.get(number=order["number"])).id))
    services.payments.complete_action(row.provider_ref)
    again = {"o": order["id"], "t": done["orderAccessToken"], "pay": {"method": "ALIPAY"}}
    step = (await gql(CONFIRM, again))["data"]["checkoutPaymentConfirm"]
    assert step["payment"]["state"] == "CAPTURED" and step["order"]["paymentStatus"] == "PAID"
    shipped = (await gql(SHIP, {"f": f}, token=owner))["data"]["fulfilmentShip"]
    assert shipped["userErrors"] == [] and shipped["order"]["status"] == "FULFILLED"


async def test_wechat_pay_answers_a_qr_code(gql):
    world = await make_world(products=1)
    done = await _checkout(gql, await _cart(gql, world, "SHIP"), {"method": "WECHAT_PAY"})
    action = done["payment"]["nextAction"]
    # TEST MODE: the QR code opens the server's own test page for the intent
    assert action["type"] == "QR_CODE" and "/test-payments/pi_fake_" in action["qrCodeData"]


async def test_a_replayed_checkout_opens_one_intent(gql, services):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "PICKUP")
    pay = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
    first = await _checkout(gql, cart, pay, key="same")
    second = await _checkout(gql, cart, pay, key="same")
    assert first["order"]["id"] == second["order"]["id"]
    assert first["payment"]["id"] == second["payment"]["id"]
    assert second["payment"]["state"] == "AUTHORISED"
    assert [c[0] for c in services.payments.calls].count("create") == 1
    assert [c[0] for c in services.payments.calls].count("confirm") == 1
    assert await m.Payment.all().count() == 1


REFUSE = """mutation($f: ID!, $c: String!, $r: [ReturnLineInput!]) {
  pickupConfirm(fulfilmentId: $f, code: $c, refusedLines: $r) {
    order { status paymentStatus refundedTotal { amount } }
    userErrors { field code message } } }"""
LINE_IDS = "query($o: ID!) { order(id: $o) { lines { id sku quantity } } }"


async def test_units_left_at_the_counter_are_not_captured(gql, settings, services):
    world = await make_world(products=2, variants_per_product=1)
    a, b = world.variants[0], world.variants[1]
    cart = await _cart(gql, world, "PICKUP", lines=[(a, 2), (b, 1)])
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "pm_card_visa"})
    order, total = done["order"], _cents(done["order"]["total"])
    (part,) = order["fulfilments"]
    owner = await staff_token(settings.secret_key)
    lines = (await gql(LINE_IDS, {"o": order["id"]}, token=owner))["data"]["order"]["lines"]
    first = next(ln for ln in lines if ln["quantity"] == 2)
    row_a = await m.OrderLine.get(variant_id=a.id)
    await gql(READY, {"f": part["id"]}, token=owner)
    on_hand = (await m.Stock.get(variant_id=a.id, location_id=world.part_dieu.id)).on_hand

    everything = [{"orderLineId": ln["id"], "quantity": ln["quantity"]} for ln in lines]
    all_refused = {"f": part["id"], "c": part["pickupCode"], "r": everything}
    nothing_taken = (await gql(REFUSE, all_refused, token=owner))["data"]["pickupConfirm"]
    assert nothing_taken["userErrors"][0]["field"] == ["refused"]

    refuse_one = [{"orderLineId": first["id"], "quantity": 1}]
    one = {"f": part["id"], "c": part["pickupCode"], "r": refuse_one}
    handed = (await gql(REFUSE, one, token=owner))["data"]["pickupConfirm"]
    assert handed["userErrors"] == [], handed
    assert (handed["order"]["status"], handed["order"]["paymentStatus"]) == ("COMPLETED", "PAID")
    row = await m.Payment.get(tender="CARD")
    intent = services.payments.intents[row.provider_ref].intent
    refused_value = (row_a.line_total - row_a.discount) // row_a.quantity
    assert intent.amount_received == total - refused_value  # the rest of the hold is released
    assert row.captured == total - refused_value
    # the refused unit is back on the store's shelf
    after = (await m.Stock.get(variant_id=a.id, location_id=world.part_dieu.id)).on_hand
    assert after == on_hand - 2 + 1
    await _ledger_agrees()


async def test_online_payment_is_refused_clearly_when_not_configured(gql, services):
    services.payments = None
    world = await make_world(products=1)
    cart = await _cart(gql, world, "PICKUP")
    done = await _checkout(gql, cart, {"method": "CARD"})
    assert done["order"] is None
    assert done["userErrors"][0]["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    assert await m.Order.all().count() == 0  # nothing placed


async def test_a_bad_payment_token_is_a_user_error(gql):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "PICKUP")
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "x" * 5000})
    assert done["userErrors"][0]["field"] == ["payment", "paymentMethodToken"]
    assert await m.Order.all().count() == 0
    bad_url = {"method": "ALIPAY", "returnUrl": "javascript:alert(1)"}
    done = await _checkout(gql, cart, bad_url, key="k2")
    assert done["userErrors"][0]["field"] == ["payment", "returnUrl"]
    assert await m.Order.all().count() == 0
