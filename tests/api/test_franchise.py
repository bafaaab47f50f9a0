"""Franchisees over HTTP: the brand creates them and gives them stores (a store without one is
company-owned), sets wholesale prices, and reads ``Location.franchisee`` (staff only); a
franchisee's statement adds to its commissions the contract's lines: its stores' till sales
(owed to the brand), till refunds, the brand's online orders they served (credited: the net
paid amount of the goods served, ``FranchiseTerms``), and the goods transferred to them at the
wholesale price (owed; goods sent back credited), to the cent."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from adapters.db import models as m
from domain.settlement.model import (
    FranchiseTerms,
    FulfilledLine,
    FulfilledOrder,
    fulfilment_credit,
    period_of,
)
from schema.relay import to_global_id
from tests.api.test_statements import (
    AT,
    CLOSE,
    OCT,
    entry,
    order,
    read,
    staff,
)
from tests.api.trust_world import member_of, member_token
from tests.factories import World, make_world

CREATE = """mutation($i: FranchiseeInput!) { franchiseeCreate(input: $i) {
  franchisee { id handle name locations { handle } } userErrors { field code } } }"""
ASSIGN = """mutation($l: ID!, $f: ID) { franchiseeAssignLocation(locationId: $l, franchiseeId: $f) {
  location { handle franchisee { id name } } franchisee { name }
  userErrors { field code } } }"""
WHOLESALE = """mutation($p: [WholesalePriceInput!]!) { wholesalePriceBulkSet(prices: $p) {
  count userErrors { field code message } } }"""
FRANCHISEES = "{ franchisees { id handle name locations { handle } } }"
LOCATIONS = "{ locations { location { handle franchisee { id name } } } }"
TRANSFER = """mutation($i: InventoryTransferInput!) { inventoryTransfer(input: $i) {
  userErrors { code message } } }"""


async def rhone(gql: Any, owner: str, world: World) -> str:
    """The franchisee owning Bellecour; its global ID."""
    made = await gql(
        CREATE, {"i": {"handle": "rhone", "name": "Rhône Franchise SARL"}}, token=owner
    )
    franchisee = made["data"]["franchiseeCreate"]["franchisee"]
    assigned = await gql(
        ASSIGN,
        {"l": to_global_id("Location", world.bellecour.id), "f": franchisee["id"]},
        token=owner,
    )
    assert assigned["data"]["franchiseeAssignLocation"]["userErrors"] == []
    return str(franchisee["id"])


async def test_the_brand_creates_franchisees_and_gives_them_stores(gql, settings):
    world = await make_world(products=1)
    _, owner = await staff(settings, "OWNER")
    _, admin = await staff(settings, "ADMIN")
    made = await gql(
        CREATE, {"i": {"handle": "rhone", "name": "Rhône Franchise SARL"}}, token=admin
    )
    created = made["data"]["franchiseeCreate"]
    assert created["userErrors"] == [] and created["franchisee"]["locations"] == []
    fid = created["franchisee"]["id"]
    twin = await gql(CREATE, {"i": {"handle": "rhone", "name": "Other"}}, token=owner)
    assert twin["data"]["franchiseeCreate"]["userErrors"] == [
        {"field": ["handle"], "code": "DUPLICATE_HANDLE"}
    ]
    bellecour = to_global_id("Location", world.bellecour.id)
    given = (await gql(ASSIGN, {"l": bellecour, "f": fid}, token=owner))["data"]
    assert given["franchiseeAssignLocation"] == {
        "location": {
            "handle": "bellecour",
            "franchisee": {"id": fid, "name": "Rhône Franchise SARL"},
        },
        "franchisee": {"name": "Rhône Franchise SARL"},
        "userErrors": [],
    }
    again = (await gql(ASSIGN, {"l": bellecour, "f": fid}, token=owner))["data"]
    assert again["franchiseeAssignLocation"]["userErrors"] == []
    assert await m.FranchiseLocation.all().count() == 1
    listed = (await gql(FRANCHISEES, token=owner))["data"]["franchisees"]
    assert listed == [
        {
            "id": fid,
            "handle": "rhone",
            "name": "Rhône Franchise SARL",
            "locations": [{"handle": "bellecour"}],
        }
    ]
    warehouse = to_global_id("Location", world.warehouse.id)
    for args, code in (
        ({"l": warehouse, "f": fid}, "NOT_A_STORE"),
        ({"l": to_global_id("Location", 999), "f": fid}, "UNKNOWN_LOCATION"),
        ({"l": bellecour, "f": to_global_id("Franchisee", 999)}, "UNKNOWN_FRANCHISEE"),
        ({"l": bellecour, "f": to_global_id("Order", 1)}, "INVALID_ID"),
    ):
        body = (await gql(ASSIGN, args, token=owner))["data"]["franchiseeAssignLocation"]
        assert body["userErrors"][0]["code"] == code, args
    back = (await gql(ASSIGN, {"l": bellecour, "f": None}, token=owner))["data"]
    assert back["franchiseeAssignLocation"]["location"]["franchisee"] is None
    assert await m.FranchiseLocation.all().count() == 0


async def test_location_franchisee_is_for_staff_and_franchise_mutations_for_the_brand(
    gql, settings
):
    world = await make_world(products=1)
    _, owner = await staff(settings, "OWNER")
    fid = await rhone(gql, owner, world)
    _, clerk = await staff(settings, "CLERK", [world.part_dieu.id])
    _, manager = await staff(settings, "STORE_MANAGER", [world.part_dieu.id])
    member = member_token(settings.secret_key, await member_of(world.part_dieu, "m@example.com"))
    expected = {"bellecour": {"id": fid, "name": "Rhône Franchise SARL"}, "part-dieu": None}
    for token in (owner, manager, clerk):
        found = (await gql(LOCATIONS, token=token))["data"]["locations"]
        owners = {x["location"]["handle"]: x["location"]["franchisee"] for x in found}
        assert {k: owners[k] for k in expected} == expected
    for token in (member, ""):
        found = (await gql(LOCATIONS, token=token))["data"]["locations"]
        assert {x["location"]["franchisee"] for x in found} == {None}
    variant = to_global_id("ProductVariant", world.variants[0].id)
    for token in (manager, clerk):
        for query, args in (
            (CREATE, {"i": {"handle": "x", "name": "X"}}),
            (ASSIGN, {"l": to_global_id("Location", world.part_dieu.id), "f": fid}),
            (WHOLESALE, {"p": [{"variantId": variant, "amount": "1.00"}]}),
        ):
            body = (await gql(query, args, token=token))["data"]
            assert next(iter(body.values()))["userErrors"][0]["code"] == "PERMISSION_DENIED"
        refused = await gql(FRANCHISEES, token=token)
        assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    anonymous = await gql(FRANCHISEES, token="")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await m.Franchisee.all().count() == 1


async def test_wholesale_prices_are_set_all_or_none(gql, settings):
    world = await make_world(products=1, variants_per_product=2)
    _, owner = await staff(settings, "OWNER")
    first, second = (to_global_id("ProductVariant", v.id) for v in world.variants)
    body = await gql(
        WHOLESALE,
        {"p": [{"variantId": first, "amount": "14.95"}, {"variantId": second, "amount": "15"}]},
        token=owner,
    )
    assert body["data"]["wholesalePriceBulkSet"] == {"count": 2, "userErrors": []}
    changed = await gql(WHOLESALE, {"p": [{"variantId": first, "amount": "13.50"}]}, token=owner)
    assert changed["data"]["wholesalePriceBulkSet"]["count"] == 1
    rows = {(r.variant_id, r.currency): r.amount for r in await m.WholesalePrice.all()}
    assert rows == {(world.variants[0].id, "EUR"): 1350, (world.variants[1].id, "EUR"): 1500}
    for prices, code, where in (
        ([{"variantId": first, "amount": "1.001"}], "INVALID_PRICE", ["prices", "0", "amount"]),
        ([{"variantId": first, "amount": "-1"}], "INVALID_PRICE", ["prices", "0", "amount"]),
        ([{"variantId": first, "amount": "abc"}], "INVALID_PRICE", ["prices", "0", "amount"]),
        (
            [
                {"variantId": first, "amount": "1"},
                {"variantId": to_global_id("ProductVariant", 999), "amount": "2"},
            ],
            "UNKNOWN_VARIANT",
            ["prices"],
        ),
    ):
        refused = (await gql(WHOLESALE, {"p": prices}, token=owner))["data"][
            "wholesalePriceBulkSet"
        ]
        assert (refused["userErrors"][0]["code"], refused["userErrors"][0]["field"]) == (
            code,
            where,
        )
    assert {(r.variant_id, r.amount) for r in await m.WholesalePrice.all()} == {
        (world.variants[0].id, 1350),
        (world.variants[1].id, 1500),
    }  # nothing of a refused lot was kept


async def _october_at_bellecour(world: World) -> dict[str, Any]:
    """At Bellecour (franchised) in October: two till sales (one partly refunded at the till,
    one cancelled), one web order picked up there (3 of its 4 units served, points used), 5
    units received from the warehouse and 1 sent back, 2 units from Part-Dieu; a till sale at
    Part-Dieu (company-owned) that is not the franchisee's; a till sale in November."""
    store, wh = world.bellecour, world.warehouse
    v0, v1 = world.variants[0], world.variants[1]
    sale = await order(world, at=AT[OCT], total=8_990, source="STORE_TILL", location=store)
    await order(
        world, at=AT[OCT], total=5_000, source="STORE_TILL", location=store, status="CANCELLED"
    )
    await order(world, at=AT[OCT], total=7_000, source="STORE_TILL", location=world.part_dieu)
    await order(
        world,
        at=datetime(2026, 11, 1, 0, 30, tzinfo=UTC),
        total=1_000,
        source="STORE_TILL",
        location=store,
    )  # 01:30 in Paris on 1 November: November's
    await m.OrderReturn.create(
        order_id=sale.id, location_id=store.id, lines=[], refund_due=2_990, currency="EUR",
        actor="staff:1", created_at=AT[OCT],
    )  # fmt: skip
    web = await order(world, at=AT[OCT], total=10_000, location=store)
    await m.OrderLine.create(
        order=web, variant_id=v0.id, sku=v0.sku, title="S", quantity=2, unit_price=3_000,
        line_total=6_000, discount=1_000,
    )  # fmt: skip
    await m.OrderLine.create(
        order=web, variant_id=v1.id, sku=v1.sku, title="M", quantity=2, unit_price=2_000,
        line_total=4_000,
    )  # fmt: skip
    web.points_value = 900
    await web.save()
    await m.Fulfilment.create(
        order=web, location_id=store.id, method="PICKUP", status="PICKED_UP",
        lines=[{"variantId": v0.id, "quantity": 2}, {"variantId": v1.id, "quantity": 1}],
    )  # fmt: skip
    await m.Fulfilment.create(
        order=web, location_id=wh.id, method="SHIP", status="SHIPPED",
        lines=[{"variantId": v1.id, "quantity": 1}],
    )  # fmt: skip
    await m.OrderEvent.create(
        order_id=web.id, kind="COMPLETED", actor="staff:1", created_at=AT[OCT]
    )
    moves = []
    for variant, location, kind, delta, ref in (
        (v0, store, "TRANSFER_IN", 5, f"transfer:{wh.id}->{store.id}"),
        (v0, store, "TRANSFER_OUT", -1, f"transfer:{store.id}->{wh.id}"),
        (v1, store, "TRANSFER_IN", 2, f"transfer:{world.part_dieu.id}->{store.id}"),
        (v0, world.part_dieu, "TRANSFER_IN", 4, f"transfer:{wh.id}->{world.part_dieu.id}"),
        (v0, store, "ADJUSTMENT", 3, None),
    ):
        moves.append(
            await m.StockMovement.create(
                variant_id=variant.id, location_id=location.id, kind=kind, delta=delta,
                on_hand_after=10, reference=ref, created_at=AT[OCT],
            )
        )  # fmt: skip
    await m.WholesalePrice.create(variant_id=v0.id, currency="EUR", amount=1_495)
    await m.WholesalePrice.create(variant_id=v1.id, currency="EUR", amount=1_545)
    return {"sale": sale, "web": web, "moves": moves}


async def test_a_franchisee_statement_settles_its_stores_to_the_cent(gql, settings):
    world = await make_world(products=1, variants_per_product=2)
    _, owner = await staff(settings, "OWNER")
    fid = await rhone(gql, owner, world)
    franchisee = await m.Franchisee.get(handle="rhone")
    facts = await _october_at_bellecour(world)
    await entry(facts["web"], "FRANCHISEE", franchisee.id, 450, period=OCT, role="FRANCHISEE")
    closed = (await gql(CLOSE, {"p": OCT}, token=owner))["data"]["settlementClose"]
    assert closed["userErrors"] == []
    [statement] = await read(gql, owner, kind="FRANCHISEE")
    assert statement["beneficiaryId"] == fid
    assert statement["beneficiaryName"] == "Rhône Franchise SARL"
    # the web order: net paid 5000 + 4000 less 900 of points spread 500/400 -> 4500 + 3600;
    # served 2 of 2 units of the first line, 1 of 2 of the second: 4500 + 1800 = 6300
    rows = [(x["kind"], x["orderNumber"], x["amount"]["amount"]) for x in statement["lines"]]
    assert rows == [
        ("COMMISSION", facts["web"].number, "4.50"),
        ("TILL_SALES", facts["sale"].number, "-89.90"),
        ("TILL_RETURN", facts["sale"].number, "29.90"),
        ("FULFILLED", facts["web"].number, "63.00"),
        ("WHOLESALE", None, "-74.75"),
        ("WHOLESALE", None, "14.95"),
        ("WHOLESALE", None, "-30.90"),
    ]
    assert statement["total"]["amount"] == "-83.20"
    assert statement["lines"][4]["description"] == (
        f"5 x {world.variants[0].sku} received by Bellecour at 14.95"
    )
    assert (
        statement["csv"]
        .splitlines()[5]
        .endswith(
            f",WHOLESALE,,5 x {world.variants[0].sku} received by Bellecour at 14.95,-74.75,EUR"
        )
    )
    line_rows = await m.StatementLine.filter(kind="WHOLESALE").order_by("id")
    assert [x.movement_id for x in line_rows] == [x.id for x in facts["moves"][:3]]
    # a refresh recomputes the contract's lines instead of adding them again
    await gql(CLOSE, {"p": OCT}, token=owner)
    [again] = await read(gql, owner, kind="FRANCHISEE")
    assert again["lines"] == statement["lines"] and again["total"] == statement["total"]
    # approved, a late till sale of October changes nothing
    await gql(
        """mutation($s: ID!) { statementApprove(statementId: $s) { userErrors { code } } }""",
        {"s": statement["id"]},
        token=owner,
    )
    await order(world, at=AT[OCT], total=500, source="STORE_TILL", location=world.bellecour)
    await gql(CLOSE, {"p": OCT}, token=owner)
    [locked] = await read(gql, owner, kind="FRANCHISEE")
    assert locked["lines"] == statement["lines"] and locked["state"] == "APPROVED"
    # the company-owned stores have no franchise lines
    assert await m.Statement.filter(beneficiary_kind="LOCATION").count() == 0


async def test_a_transfer_through_the_api_is_charged_at_the_wholesale_price(gql, settings):
    world = await make_world(products=1, variants_per_product=1)
    _, owner = await staff(settings, "OWNER")
    await rhone(gql, owner, world)
    variant = world.variants[0]
    await gql(
        WHOLESALE,
        {"p": [{"variantId": to_global_id("ProductVariant", variant.id), "amount": "14.95"}]},
        token=owner,
    )
    moved = await gql(
        TRANSFER,
        {
            "i": {
                "variantId": to_global_id("ProductVariant", variant.id),
                "fromLocationId": to_global_id("Location", world.warehouse.id),
                "toLocationId": to_global_id("Location", world.bellecour.id),
                "quantity": 3,
                "idempotencyKey": secrets.token_hex(8),
            }
        },
        token=owner,
    )
    assert moved["data"]["inventoryTransfer"]["userErrors"] == []
    period = period_of(datetime.now(UTC), "Europe/Paris")
    await gql(CLOSE, {"p": period}, token=owner)
    [statement] = await read(gql, owner, period=period, kind="FRANCHISEE")
    assert [(x["kind"], x["amount"]["amount"]) for x in statement["lines"]] == [
        ("WHOLESALE", "-44.85")
    ]


def test_the_fulfilment_credit_follows_the_terms():
    served = FulfilledOrder(
        1, "O-1", "EUR", 0,
        (FulfilledLine(6_000, 1_000, 2, 2, 1_495), FulfilledLine(4_000, 0, 2, 1, 1_545)),
        "Bellecour",
    )  # fmt: skip
    assert fulfilment_credit(served, FranchiseTerms()) == 5_000 + 2_000
    assert fulfilment_credit(served, FranchiseTerms(fulfilment_share_bp=1_000)) == 700
    assert (
        fulfilment_credit(served, FranchiseTerms(deduct_wholesale=True))
        == 7_000 - 2 * 1_495 - 1_545
    )


async def test_the_demo_has_a_franchisee_owning_two_stores_with_wholesale_prices(
    gql, settings, capsys
):
    from adapters.db.seed import seed_demo

    await seed_demo(settings)
    assert (
        "Franchisee Rhône Franchise SARL owns confluence, villeurbanne" in capsys.readouterr().out
    )
    _, owner = await staff(settings, "OWNER")
    [franchisee] = (await gql(FRANCHISEES, token=owner))["data"]["franchisees"]
    assert franchisee["name"] == "Rhône Franchise SARL"
    assert [x["handle"] for x in franchisee["locations"]] == ["confluence", "villeurbanne"]
    base = {
        p.variant_id: p.amount
        for p in await m.Price.filter(kind="BASE", currency="EUR", channel=None, tier=None)
    }
    wholesale = {w.variant_id: w.amount for w in await m.WholesalePrice.filter(currency="EUR")}
    assert set(wholesale) == set(base) == set(await m.Variant.all().values_list("id", flat=True))
    assert all(wholesale[v] == (base[v] * 50 + 50) // 100 for v in base)
