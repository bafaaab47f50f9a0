"""A day of payments, end to end over HTTP, as the issue's "done when" tells it: a shopper pays a
pick-up order by card and the store captures what was handed over; a shipped order is paid with
Alipay through its next action; a partial return at another store refunds the card for those
lines; a till sale takes cash and points; the day reconciles with no mismatch, and shows one
when a webhook was lost, until the worker has read the payment back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.db import models as m
from domain.payments.jobs import Round, run_due
from domain.payments.refresh import refresh_unsettled
from schema.relay import to_global_id
from tests.api.presence import presence_code
from tests.api.test_online_payment import CHECKOUT, READY, REFUSE, _cart, _cents
from tests.api.test_order_money import SHIP
from tests.api.trust_world import member_of, member_token
from tests.factories import make_world, staff_token

RECONCILE = """query($d: Date!) { paymentReconciliation(date: $d) {
  clean mismatches { kind orderId providerRef expected actual }
  scopes { channel ordersTotal tenders { tender amount received } refundsSucceeded }
  tills { expected counted difference } } }"""
ORDER = """query($o: ID!) { order(id: $o) { status paymentStatus refundedTotal { amount }
  payments { tender state captured { amount } refunded { amount } }
  refunds { tender state amount { amount } } lines { id sku quantity } } }"""
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) {
  refundDue { amount } userErrors { field code } } }"""
OPEN = """mutation($l: ID!) { tillSessionOpen(locationId: $l, openingFloat: 10000) {
  tillSession { id } userErrors { code } } }"""
CLOSE = """mutation($s: ID!, $c: Int!) { tillSessionClose(sessionId: $s, counted: $c) {
  tillSession { expected { amount } difference { amount } } userErrors { code } } }"""
POS = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { id total { amount } paymentStatus payments { tender amount { amount } } }
  change { amount } userErrors { field code } } }"""
POINTS = """mutation($m: ID!) { pointsAdjust(memberId: $m, points: 1000, reason: "welcome") {
  userErrors { code } } }"""
CARD = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}


async def _reconcile(gql, owner: str) -> dict:
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    body = await gql(RECONCILE, {"d": today}, token=owner)
    assert "errors" not in body, body
    return body["data"]["paymentReconciliation"]


async def test_a_day_of_payments_reconciles(gql, settings, services):
    world = await make_world(products=2, variants_per_product=1)
    a, b = world.variants[0], world.variants[1]
    till = await m.Channel.create(
        handle="store-part-dieu", name="Till", kind="STORE", currency="EUR", store=world.part_dieu
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    key = settings.secret_key
    owner = await staff_token(key)
    clerk = await staff_token(key, role="CLERK", location_ids=[world.part_dieu.id])
    elsewhere = await staff_token(key, role="CLERK", location_ids=[world.bellecour.id])

    # 1. a pick-up order paid by card: authorised, then captured for what was handed over
    cart = await _cart(gql, world, "PICKUP", lines=[(a, 2), (b, 1)])
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "p1", "pay": CARD}))["data"]
    pickup = placed["checkoutComplete"]
    assert pickup["payment"]["state"] == "AUTHORISED"
    order1 = pickup["order"]
    (part,) = order1["fulfilments"]
    await gql(READY, {"f": part["id"]}, token=clerk)
    line_a = await m.OrderLine.get(variant_id=a.id, order__number=order1["number"])
    refused = [{"orderLineId": to_global_id("OrderLine", line_a.id), "quantity": 1}]
    handed = await gql(
        REFUSE, {"f": part["id"], "c": part["pickupCode"], "r": refused}, token=clerk
    )
    assert handed["data"]["pickupConfirm"]["userErrors"] == [], handed
    unit_a = (line_a.line_total - line_a.discount) // line_a.quantity
    card_row = await m.Payment.get(order_id=line_a.order_id, tender="CARD")
    assert card_row.captured == _cents(order1["total"]) - unit_a  # the refused unit was released

    # 2. a shipped order paid with Alipay through its next action (the TEST MODE page)
    cart = await _cart(gql, world, "SHIP", lines=[(b, 1)])
    pay = {"method": "ALIPAY", "returnUrl": "https://shop.example/back"}
    shipped = (await gql(CHECKOUT, {"cart": cart["id"], "key": "p2", "pay": pay}))["data"]
    alipay = shipped["checkoutComplete"]
    action = alipay["payment"]["nextAction"]
    assert action["type"] == "REDIRECT"
    page = action["url"].removeprefix(settings.public_base_url)
    approved = await gql.http.post(page, data={"decision": "approve"})
    assert approved.status_code == 303
    order2 = (await gql(ORDER, {"o": alipay["order"]["id"]}, token=owner))["data"]["order"]
    assert order2["paymentStatus"] == "PAID"
    f2 = alipay["order"]["fulfilments"][0]["id"]
    sent = (await gql(SHIP, {"f": f2}, token=owner))["data"]["fulfilmentShip"]
    assert sent["userErrors"] == []

    # 3. a partial return of order 1 at another store refunds the card for that line
    back = {
        "orderId": order1["id"],
        "locationId": world.gid(world.bellecour),
        "lines": [{"orderLineId": to_global_id("OrderLine", line_a.id), "quantity": 1}],
    }
    returned = (await gql(RETURN, {"i": back}, token=elsewhere))["data"]["orderReturnCreate"]
    assert returned["userErrors"] == [] and _cents(returned["refundDue"]) == unit_a
    assert await run_due(services.uow, services.payments, clock=services.clock) == Round(refunds=1)
    seen = (await gql(ORDER, {"o": order1["id"]}, token=owner))["data"]["order"]
    assert [(r["tender"], r["state"], _cents(r["amount"])) for r in seen["refunds"]] == [
        ("CARD", "SUCCEEDED", unit_a)
    ]
    assert seen["paymentStatus"] == "PARTIALLY_REFUNDED"
    (refund,) = services.payments.refunds_of(card_row.provider_ref)
    assert refund.amount == unit_a  # the provider sent back exactly those lines

    # 4. a till sale paid with cash and points, change given
    session = (await gql(OPEN, {"l": world.gid(world.part_dieu)}, token=clerk))["data"]
    session_id = session["tillSessionOpen"]["tillSession"]["id"]
    ada = await member_of(world.part_dieu, "ada@example.com")
    await gql(POINTS, {"m": to_global_id("Member", ada.id)}, token=owner)
    here = await presence_code(gql, member_token(key, ada))
    sale = {
        "locationId": world.gid(world.part_dieu),
        "lines": [{"variantId": world.gid(a), "quantity": 1}],
        "tenders": [{"kind": "POINTS"}, {"kind": "CASH", "amount": unit_a - 500, "given": 5000}],
        "memberCode": ada.member_code,
        "memberPresence": here,
        "pointsToRedeem": 500,
    }
    sold = (await gql(POS, {"i": sale}, token=clerk))["data"]["posOrderCreate"]
    assert sold["userErrors"] == [], sold
    assert _cents(sold["change"]) == 5000 - (unit_a - 500)
    closed = await gql(CLOSE, {"s": session_id, "c": 10000 + unit_a - 500}, token=clerk)
    assert closed["data"]["tillSessionClose"]["tillSession"]["difference"] == {"amount": "0.00"}

    # 5. the day reconciles
    day = await _reconcile(gql, owner)
    assert (day["clean"], day["mismatches"]) == (True, [])

    # 6. a webhook lost: the provider took an Alipay payment and nobody told us
    cart = await _cart(gql, world, "SHIP", lines=[(b, 1)])
    lost = (await gql(CHECKOUT, {"cart": cart["id"], "key": "p3", "pay": pay}))["data"]
    order3 = lost["checkoutComplete"]["order"]
    assert order3["paymentStatus"] == "PENDING"
    row = await m.Payment.filter(tender="ALIPAY").order_by("-id").first()
    assert row is not None and row.state == "REQUIRES_ACTION"
    services.payments.complete_action(row.provider_ref)  # approved at Alipay; no webhook
    day = await _reconcile(gql, owner)
    assert not day["clean"]
    assert [(x["kind"], x["providerRef"]) for x in day["mismatches"]] == [
        ("ORDER_WITHOUT_PAYMENT", row.provider_ref)
    ]
    # the worker reads quiet waiting payments back from the provider; then it reconciles
    later = services.clock.now() + timedelta(minutes=6)
    moved = await refresh_unsettled(services.uow, services.payments, clock=_At(later))
    assert moved == 1
    day = await _reconcile(gql, owner)
    assert (day["clean"], day["mismatches"]) == (True, [])


class _At:
    """A clock standing at one moment (the worker's round, some minutes later)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
