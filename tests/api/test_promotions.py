"""Promotions in the cart with explanations, coupon limits that hold under concurrency,
vouchers issued to members and transferred between them."""

from __future__ import annotations

import asyncio

import pytest

from adapters.db import models as m
from adapters.db.database import is_postgres
from schema.relay import to_global_id
from tests.api.presence import presence_code
from tests.api.test_members import LOGIN, SIGNUP
from tests.api.test_orders import CHECKOUT, CREATE
from tests.factories import make_world, staff_token

PROMO = """mutation($i: PromotionInput!) { promotionCreate(input: $i) { promotionId userErrors { field code message } } }"""
CODES = """mutation($c: ID!, $codes: [String!]!) { cartDiscountCodesUpdate(cartId: $c, discountCodes: $codes) {
  cart { discountCodes { code applicable reason } discountAllocations { amount { amount } explanation }
         cost { subtotalAmount { amount } totalAmount { amount } } } userErrors { code } } }"""


async def _cart(gql, world, quantity=4, token=None):
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
        "buyerIdentity": {"email": "x@example.com"},
        "delivery": {"method": "SHIP", "address": {"city": "Lyon"}},
    }
    return (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]


async def test_spend_threshold_and_coupon_apply_with_explanations(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    spend = {
        "name": "Spend 100 save 10",
        "kind": "SPEND_THRESHOLD",
        "amount": "10.00",
        "threshold": "100.00",
        "repeat": True,
    }
    assert (await gql(PROMO, {"i": spend}, token=owner))["data"]["promotionCreate"][
        "userErrors"
    ] == []
    coupon = {
        "name": "Welcome 5 %",
        "kind": "PERCENTAGE",
        "percent": 5,
        "code": "welcome5",
        "usageLimit": 1,
    }
    assert (await gql(PROMO, {"i": coupon}, token=owner))["data"]["promotionCreate"][
        "userErrors"
    ] == []
    bad = await gql(PROMO, {"i": {**coupon, "percent": 150, "code": "x"}}, token=owner)
    assert bad["data"]["promotionCreate"]["userErrors"][0]["code"] == "INVALID_PROMOTION"
    dup = await gql(PROMO, {"i": coupon}, token=owner)
    assert dup["data"]["promotionCreate"]["userErrors"][0]["code"] == "DUPLICATE_CODE"

    cart = await _cart(gql, world, quantity=4)  # 4 x 29.90 = 119.60
    body = (await gql(CODES, {"c": cart["id"], "codes": ["WELCOME5", "NOPE"]}))["data"][
        "cartDiscountCodesUpdate"
    ]["cart"]
    assert body["discountCodes"] == [
        {"code": "WELCOME5", "applicable": True, "reason": None},
        {"code": "NOPE", "applicable": False, "reason": "INVALID_CODE"},
    ]
    explained = sorted(a["explanation"] for a in body["discountAllocations"])
    assert (
        len(explained) == 2
        and any("Spend 100 save 10" in e for e in explained)
        and any("Welcome" in e for e in explained)
    )
    saved = sum(int(a["amount"]["amount"].replace(".", "")) for a in body["discountAllocations"])
    assert body["cost"]["subtotalAmount"]["amount"] == f"{(11960 - saved) / 100:.2f}"
    order = (
        await gql(
            CHECKOUT.replace("total { amount }", "total { amount } discountTotal { amount }"),
            {"cart": cart["id"], "key": "p1"},
        )
    )["data"]["checkoutComplete"]["order"]
    assert order["discountTotal"]["amount"] == f"{saved / 100:.2f}"
    # the coupon was for one use only
    second = await _cart(gql, world, quantity=4)
    await gql(CODES, {"c": second["id"], "codes": ["welcome5"]})
    refused = (await gql(CHECKOUT, {"cart": second["id"], "key": "p2"}))["data"]["checkoutComplete"]
    assert refused["userErrors"][0]["code"] == "CODE_USAGE_LIMIT_REACHED"
    assert await m.Order.all().count() == 1


async def test_coupon_limit_holds_under_concurrent_checkouts(gql, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite does not lock rows")
    world = await make_world(products=1)
    await m.Stock.filter(variant_id=world.variants[0].id).update(on_hand=100)
    owner = await staff_token(settings.secret_key)
    await gql(
        PROMO,
        {
            "i": {
                "name": "Flash 10 %",
                "kind": "PERCENTAGE",
                "percent": 10,
                "code": "FLASH",
                "usageLimit": 3,
            }
        },
        token=owner,
    )
    carts = []
    for _ in range(8):
        cart = await _cart(gql, world, quantity=1)
        await gql(CODES, {"c": cart["id"], "codes": ["FLASH"]})
        carts.append(cart["id"])
    results = await asyncio.gather(*(gql(CHECKOUT, {"cart": c, "key": c}) for c in carts))
    outcomes = [r["data"]["checkoutComplete"] for r in results]
    assert sum(1 for o in outcomes if o["order"]) == 3
    assert {o["userErrors"][0]["code"] for o in outcomes if not o["order"]} == {
        "CODE_USAGE_LIMIT_REACHED"
    }
    promotion = await m.Promotion.get(code="FLASH")
    assert promotion.used_count == 3 and await m.PromotionUse.all().count() == 3


async def test_voucher_issued_transferred_and_used_once(gql, settings):
    world = await make_world(products=1)
    store = f"REF-S{world.part_dieu.id}"  # ada belongs to the manager's store
    for email, ref in (("ada@example.com", store), ("bo@example.com", None)):
        await gql(
            SIGNUP, {"i": {"email": email, "password": "a long enough secret", "referralCode": ref}}
        )
    ada = (await gql(LOGIN, {"id": "ada@example.com", "p": "a long enough secret"}))["data"][
        "memberLogin"
    ]
    bo = (await gql(LOGIN, {"id": "bo@example.com", "p": "a long enough secret"}))["data"][
        "memberLogin"
    ]
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    ada_id = to_global_id("Member", (await m.Member.get(email="ada@example.com")).id)
    issue = 'mutation($m: ID!) { voucherIssue(memberId: $m, amount: "7.50") { voucher { code status value { amount } } userErrors { code } } }'
    voucher = (await gql(issue, {"m": ada_id}, token=manager))["data"]["voucherIssue"]["voucher"]
    assert voucher["status"] == "ACTIVE" and voucher["value"]["amount"] == "7.50"
    transfer = "mutation($c: String!, $to: String!) { voucherTransfer(code: $c, toMemberCode: $to) { voucher { code } userErrors { code } } }"
    stolen = await gql(
        transfer, {"c": voucher["code"], "to": ada["member"]["memberCode"]}, token=bo["accessToken"]
    )
    assert stolen["data"]["voucherTransfer"]["userErrors"][0]["code"] == "INVALID_CODE"
    given = await gql(
        transfer, {"c": voucher["code"], "to": bo["member"]["memberCode"]}, token=ada["accessToken"]
    )
    assert given["data"]["voucherTransfer"]["userErrors"] == []
    vouchers = "{ me { vouchers { code status } } }"
    assert (await gql(vouchers, token=ada["accessToken"]))["data"]["me"]["vouchers"] == []
    # ada can no longer use it; bo can, once
    mine = await _cart(gql, world, quantity=1, token=ada["accessToken"])
    body = (await gql(CODES, {"c": mine["id"], "codes": [voucher["code"]]}))["data"][
        "cartDiscountCodesUpdate"
    ]["cart"]
    assert body["discountCodes"][0]["applicable"] is False
    his = await _cart(gql, world, quantity=1, token=bo["accessToken"])
    body = (await gql(CODES, {"c": his["id"], "codes": [voucher["code"]]}))["data"][
        "cartDiscountCodesUpdate"
    ]["cart"]
    assert body["cost"]["totalAmount"]["amount"] == "27.30"  # 29.90 + 4.90 delivery - 7.50
    placed = (await gql(CHECKOUT, {"cart": his["id"], "key": "v1"}, token=bo["accessToken"]))[
        "data"
    ]["checkoutComplete"]
    assert placed["order"] and (await gql(vouchers, token=bo["accessToken"]))["data"]["me"][
        "vouchers"
    ] == [{"code": voucher["code"], "status": "USED"}]


async def test_a_voucher_pays_at_the_till(gql, settings):
    world = await make_world(products=1)
    till = await m.Channel.create(
        handle="store-part-dieu", name="Till", kind="STORE", currency="EUR", store=world.part_dieu
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    ref = f"REF-S{world.part_dieu.id}"
    await gql(
        SIGNUP,
        {
            "i": {
                "email": "ada@example.com",
                "password": "a long enough secret",
                "referralCode": ref,
            }
        },
    )
    ada = (await gql(LOGIN, {"id": "ada@example.com", "p": "a long enough secret"}))["data"][
        "memberLogin"
    ]
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    ada_id = to_global_id("Member", (await m.Member.get(email="ada@example.com")).id)
    issue = 'mutation($m: ID!) { voucherIssue(memberId: $m, amount: "5.00") { voucher { code } } }'
    code = (await gql(issue, {"m": ada_id}, token=manager))["data"]["voucherIssue"]["voucher"][
        "code"
    ]
    pos = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { order { total { amount } discountTotal { amount } } userErrors { field code } } }"""
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "memberCode": ada["member"]["memberCode"],
        "discountCodes": [code],
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }
    here = await presence_code(gql, ada["accessToken"])  # ada shows her app's code
    body = await gql(
        pos, {"i": {**sale, "idempotencyKey": "t1", "memberPresence": here}}, token=clerk
    )
    assert body["data"]["posOrderCreate"]["order"] == {
        "total": {"amount": "24.90"},
        "discountTotal": {"amount": "5.00"},
    }
    here = await presence_code(gql, ada["accessToken"])
    again = await gql(
        pos, {"i": {**sale, "idempotencyKey": "t2", "memberPresence": here}}, token=clerk
    )
    assert again["data"]["posOrderCreate"]["order"]["discountTotal"]["amount"] == "0.00"  # spent
