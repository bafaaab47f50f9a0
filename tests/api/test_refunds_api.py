"""Refunds over GraphQL: a partial return at another store refunds the card for those lines
once the payment worker runs; a cancelled authorised order releases its hold; a failed refund
stays visible (its error for staff only) until refundRetry; cash goes back at a till with an
open session, or later with refundPayOut."""

from __future__ import annotations

from adapters.db import models as m
from domain.payments.jobs import Round, run_due
from domain.payments.model import IntentStatus, PaymentErrorCode
from schema.relay import parse_global_id, to_global_id
from tests.api.test_online_payment import HAND_OVER, READY, _cart, _cents, _checkout
from tests.api.test_till_sessions import PRICE, _open, _sale, _sell, _store
from tests.factories import make_world, staff_token

REFUND = "id tender state amount { amount } reason attempts lastError"
ORDER = (
    """query($o: ID!, $t: String) { order(id: $o, accessToken: $t) { status paymentStatus
  refundedTotal { amount } payments { tender state captured { amount } refunded { amount } }
  refunds { %s } } }"""
    % REFUND
)
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) {
  refundDue { amount } order { paymentStatus } userErrors { field code } } }"""
CANCEL = """mutation($o: ID!, $t: String) { orderCancel(orderId: $o, accessToken: $t) {
  order { status paymentStatus } userErrors { code } } }"""
RETRY = (
    """mutation($r: ID!, $k: String) { refundRetry(refundId: $r, idempotencyKey: $k) {
  refund { %s } order { paymentStatus } userErrors { field code } } }"""
    % REFUND
)
PAY_OUT = (
    """mutation($r: ID!, $l: ID) { refundPayOut(refundId: $r, locationId: $l) {
  refund { %s } order { paymentStatus } userErrors { field code } } }"""
    % REFUND
)


async def _paid_pickup(gql, settings, world, quantity: int = 2) -> tuple[dict, str, str]:
    """A pick-up order paid by card, handed over at Part-Dieu: (order, token, owner)."""
    cart = await _cart(gql, world, "PICKUP", lines=[(world.variants[0], quantity)])
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "pm_card_visa"})
    order, owner = done["order"], await staff_token(settings.secret_key)
    f = order["fulfilments"][0]
    await gql(READY, {"f": f["id"]}, token=owner)
    handed = await gql(HAND_OVER, {"f": f["id"], "c": f["pickupCode"]}, token=owner)
    assert handed["data"]["pickupConfirm"]["order"]["paymentStatus"] == "PAID", handed
    return order, done["orderAccessToken"], owner


async def _return(gql, token: str, order: dict, location, quantity: int = 1) -> dict:
    order_id = parse_global_id(order["id"])[1]
    line = await m.OrderLine.filter(order_id=order_id).order_by("id").first()
    assert line is not None
    given = {
        "orderId": order["id"],
        "locationId": location,
        "lines": [{"orderLineId": to_global_id("OrderLine", line.id), "quantity": quantity}],
    }
    body = await gql(RETURN, {"i": given}, token=token)
    assert body["data"]["orderReturnCreate"]["userErrors"] == [], body
    return body["data"]["orderReturnCreate"]


async def _order(gql, order: dict, token: str | None = None, access: str | None = None) -> dict:
    body = await gql(ORDER, {"o": order["id"], "t": access}, token=token)
    assert "errors" not in body, body
    return body["data"]["order"]


async def _intent(order: dict) -> str:
    row = await m.Payment.get(order_id=parse_global_id(order["id"])[1])
    assert row.provider_ref is not None
    return row.provider_ref


async def test_partial_returns_at_another_store_refund_the_card_for_those_lines(
    gql, settings, services
):
    world = await make_world(products=1)
    order, access, owner = await _paid_pickup(gql, settings, world)
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.bellecour.id])

    returned = await _return(gql, clerk, order, world.gid(world.bellecour))
    assert _cents(returned["refundDue"]) == PRICE
    assert returned["order"]["paymentStatus"] == "REFUND_DUE"
    seen = await _order(gql, order, owner)
    (owed,) = seen["refunds"]
    assert (owed["tender"], owed["state"], _cents(owed["amount"])) == ("CARD", "PENDING", PRICE)
    intent = await _intent(order)
    assert services.payments.refunds_of(intent) == []  # sent by the worker, after the commit
    await _return(gql, clerk, order, world.gid(world.bellecour))  # the second unit, later

    done = await run_due(services.uow, services.payments, clock=services.clock)
    assert done == Round(refunds=2)
    assert [r.amount for r in services.payments.refunds_of(intent)] == [PRICE, PRICE]
    seen = await _order(gql, order, owner)
    assert seen["paymentStatus"] == "REFUNDED"
    assert [r["state"] for r in seen["refunds"]] == ["SUCCEEDED", "SUCCEEDED"]
    (card,) = seen["payments"]
    assert (_cents(card["captured"]), _cents(card["refunded"])) == (2 * PRICE, 2 * PRICE)
    mine = await _order(gql, order, access=access)  # the buyer sees it, with their token
    assert [r["state"] for r in mine["refunds"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round()


async def test_an_order_partly_refunded_is_partially_refunded(gql, settings, services):
    world = await make_world(products=1)
    order, _, owner = await _paid_pickup(gql, settings, world)
    await _return(gql, owner, order, world.gid(world.bellecour))
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round(refunds=1)
    seen = await _order(gql, order, owner)
    assert seen["paymentStatus"] == "PARTIALLY_REFUNDED"
    assert seen["refunds"][0]["state"] == "SUCCEEDED"


async def test_a_cancelled_authorised_order_releases_the_hold(gql, services):
    world = await make_world(products=1)
    cart = await _cart(gql, world, "PICKUP")
    done = await _checkout(gql, cart, {"method": "CARD", "paymentMethodToken": "pm_card_visa"})
    order, access = done["order"], done["orderAccessToken"]
    assert order["paymentStatus"] == "AUTHORISED"
    cancelled = await gql(CANCEL, {"o": order["id"], "t": access})
    assert cancelled["data"]["orderCancel"]["order"] == {
        "status": "CANCELLED",
        "paymentStatus": "AUTHORISED",  # released by the payment worker, after this commit
    }

    assert await run_due(services.uow, services.payments, clock=services.clock) == Round(released=1)
    intent = await _intent(order)
    assert services.payments.intents[intent].intent.status is IntentStatus.CANCELED
    seen = await _order(gql, order, access=access)
    assert seen["paymentStatus"] == "VOIDED" and seen["refunds"] == []
    assert seen["payments"][0]["state"] == "CANCELLED"
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round()


async def test_a_failed_refund_stays_visible_and_refund_retry_sends_it(gql, settings, services):
    world = await make_world(products=1)
    order, access, owner = await _paid_pickup(gql, settings, world, quantity=1)
    await _return(gql, owner, order, world.gid(world.part_dieu))
    services.payments.fail_next(PaymentErrorCode.AUTHENTICATION_FAILED)
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round(refunds=1)

    staff_view = await _order(gql, order, owner)
    (failed,) = staff_view["refunds"]
    assert failed["state"] == "FAILED" and "AUTHENTICATION" in failed["lastError"]
    assert staff_view["paymentStatus"] == "REFUND_DUE"
    buyer_view = await _order(gql, order, access=access)
    assert buyer_view["refunds"][0]["state"] == "FAILED"
    assert buyer_view["refunds"][0]["lastError"] is None  # the provider's message: staff only
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round()

    elsewhere = await staff_token(
        settings.secret_key, role="CLERK", location_ids=[world.bellecour.id]
    )
    for token, code in ((None, None), (elsewhere, "PERMISSION_DENIED")):
        body = await gql(RETRY, {"r": failed["id"]}, token=token)
        if token is None:
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        else:
            assert body["data"]["refundRetry"]["userErrors"][0]["code"] == code
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    retried = (await gql(RETRY, {"r": failed["id"], "k": "retry-1"}, token=manager))["data"]
    assert retried["refundRetry"]["refund"]["state"] == "PENDING"
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round(refunds=1)
    seen = await _order(gql, order, owner)
    assert seen["refunds"][0]["state"] == "SUCCEEDED"
    assert seen["paymentStatus"] == "REFUNDED"
    again = (await gql(RETRY, {"r": failed["id"]}, token=manager))["data"]["refundRetry"]
    assert again["userErrors"] == [{"field": ["refundId"], "code": "REFUND_NOT_FAILED"}]
    replay = (await gql(RETRY, {"r": failed["id"], "k": "retry-1"}, token=manager))["data"]
    assert replay["refundRetry"]["userErrors"] == []  # the same request answers the same
    assert len(services.payments.refunds_of(await _intent(order))) == 1


async def test_cash_goes_back_at_a_till_with_an_open_session(gql, settings, services):
    world, t = await _store(gql, settings)
    session = (await _open(gql, world, t["clerk"]))["tillSession"]
    cash = {"kind": "CASH", "amount": PRICE, "given": PRICE}
    sold = await _sell(gql, t["clerk"], _sale(world, cash))
    assert sold["userErrors"] == [], sold

    await _return(gql, t["clerk"], sold["order"], world.gid(world.part_dieu))
    seen = await _order(gql, sold["order"], t["owner"])
    (paid,) = seen["refunds"]
    assert (paid["tender"], paid["state"], _cents(paid["amount"])) == ("CASH", "SUCCEEDED", PRICE)
    assert seen["paymentStatus"] == "REFUNDED"
    row = await m.PaymentRefund.get()
    assert row.till_session_id == parse_global_id(session["id"])[1]


async def test_a_cash_refund_without_a_till_is_paid_out_later(gql, settings, services):
    world, t = await _store(gql, settings)
    await _open(gql, world, t["clerk"])
    cash = {"kind": "CASH", "amount": PRICE, "given": 5000}
    sold = await _sell(gql, t["clerk"], _sale(world, cash))
    # the manager takes the goods back without a till of their own: owed, not paid
    await _return(gql, t["manager"], sold["order"], world.gid(world.part_dieu))
    (owed,) = (await _order(gql, sold["order"], t["owner"]))["refunds"]
    assert (owed["tender"], owed["state"]) == ("CASH", "PENDING")

    refused = (await gql(PAY_OUT, {"r": owed["id"]}, token=t["manager"]))["data"]
    assert refused["refundPayOut"]["userErrors"][0]["code"] == "TILL_SESSION_REQUIRED"
    elsewhere = (await gql(PAY_OUT, {"r": owed["id"]}, token=t["elsewhere"]))["data"]
    assert elsewhere["refundPayOut"]["userErrors"][0]["code"] == "PERMISSION_DENIED"
    paid = (await gql(PAY_OUT, {"r": owed["id"]}, token=t["clerk"]))["data"]["refundPayOut"]
    assert paid["userErrors"] == [] and paid["refund"]["state"] == "SUCCEEDED"
    assert paid["order"]["paymentStatus"] == "REFUNDED"
    twice = (await gql(PAY_OUT, {"r": owed["id"]}, token=t["clerk"]))["data"]["refundPayOut"]
    assert twice["userErrors"][0]["code"] == "REFUND_NOT_PENDING"


async def test_an_online_refund_is_not_paid_out_at_the_till(gql, settings, services):
    world = await make_world(products=1)
    order, _, owner = await _paid_pickup(gql, settings, world)
    await _return(gql, owner, order, world.gid(world.part_dieu))
    (owed,) = (await _order(gql, order, owner))["refunds"]
    body = (await gql(PAY_OUT, {"r": owed["id"]}, token=owner))["data"]["refundPayOut"]
    assert body["userErrors"] == [{"field": ["refundId"], "code": "REFUND_NOT_AT_THE_TILL"}]
    wrong = (await gql(PAY_OUT, {"r": order["id"]}, token=owner))["data"]["refundPayOut"]
    assert wrong["userErrors"][0]["code"] == "INVALID_ID"
