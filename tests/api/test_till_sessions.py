"""Till sessions and tenders over GraphQL: a clerk opens their till with a float, sells for cash
(with change), the card terminal and points, closes with a count; who may open, read and close."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.db import models as m
from domain.payments.model import RefundRecord, RefundState, Tender
from schema.relay import parse_global_id
from tests.api.presence import presence_code
from tests.api.trust_world import gid, member_of, member_token
from tests.factories import make_world, staff_token

OPEN = """mutation($l: ID!, $f: Int!, $k: String) {
  tillSessionOpen(locationId: $l, openingFloat: $f, idempotencyKey: $k) {
    tillSession { id clerk openingFloat { amount } } userErrors { field code } } }"""
SESSION = """id clerk location { handle } openingFloat { amount } openedAt closedAt
  cashTaken { amount } cashPaidOut { amount } expected { amount } counted { amount }
  difference { amount }"""
CLOSE = (
    """mutation($s: ID!, $c: Int!) { tillSessionClose(sessionId: $s, counted: $c) {
  tillSession { %s } userErrors { field code } } }"""
    % SESSION
)
READ = "query($id: ID!) { tillSession(id: $id) { %s } }" % SESSION
LIST = """query($l: ID!, $after: String) { tillSessions(locationId: $l, first: 1, after: $after) {
  nodes { id closedAt } pageInfo { hasNextPage endCursor } } }"""
POS = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { id total { amount } paymentStatus pointsRedeemed
    payments { tender state amount { amount } captured { amount } change { amount }
               provider providerReference } }
  change { amount } userErrors { field code } } }"""
ADJUST = """mutation($m: ID!) { pointsAdjust(memberId: $m, points: 1000, reason: "welcome") {
  pointsBalance userErrors { code } } }"""
PRICE = 2990  # the first variant of make_world, tax included


async def _store(gql, settings) -> tuple[Any, dict[str, str]]:
    """A world whose Part-Dieu store has a till, and tokens: clerk, colleague and manager of
    Part-Dieu, a clerk of Bellecour, the owner."""
    world = await make_world(products=1)
    till = await m.Channel.create(
        handle="store-part-dieu", name="Till", kind="STORE", currency="EUR", store=world.part_dieu
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    here, there = [world.part_dieu.id], [world.bellecour.id]
    key = settings.secret_key
    tokens = {
        "clerk": await staff_token(key, role="CLERK", location_ids=here),
        "colleague": await staff_token(key, role="CLERK", location_ids=here),
        "manager": await staff_token(key, role="STORE_MANAGER", location_ids=here),
        "elsewhere": await staff_token(key, role="CLERK", location_ids=there),
        "owner": await staff_token(key, role="OWNER"),
    }
    return world, tokens


async def _open(gql, world, token: str, opening_float: int = 10_000, key: str | None = None):
    body = await gql(
        OPEN, {"l": world.gid(world.part_dieu), "f": opening_float, "k": key}, token=token
    )
    return body["data"]["tillSessionOpen"]


def _sale(world, *tenders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "locationId": world.gid(world.part_dieu),
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
        "tenders": list(tenders),
        **extra,
    }


async def _sell(gql, token: str, sale: dict[str, Any]) -> dict[str, Any]:
    return (await gql(POS, {"i": sale}, token=token))["data"]["posOrderCreate"]


async def _nothing_sold(services) -> None:
    assert await m.Order.all().count() == 0 and await m.Payment.all().count() == 0
    stock = await m.Stock.filter(location__handle="part-dieu").first()
    assert stock is not None and stock.on_hand == 3
    terminal = services.terminal
    assert sum(c.amount for c in terminal.charges) == sum(r.amount for r in terminal.refunds)


async def test_cash_and_points_pay_a_till_sale_and_the_change_is_answered(gql, settings):
    world, t = await _store(gql, settings)
    session = (await _open(gql, world, t["clerk"]))["tillSession"]
    ada = await member_of(world.part_dieu, "ada@example.com")
    await gql(ADJUST, {"m": gid(ada)}, token=t["owner"])
    here = await presence_code(gql, member_token(settings.secret_key, ada))

    sold = await _sell(
        gql,
        t["clerk"],
        _sale(
            world,
            {"kind": "POINTS"},
            {"kind": "CASH", "amount": PRICE - 500, "given": 3000},
            memberCode=ada.member_code,
            memberPresence=here,
            pointsToRedeem=500,
        ),
    )

    assert sold["userErrors"] == [] and sold["change"] == {"amount": "5.10"}
    order = sold["order"]
    assert (order["paymentStatus"], order["pointsRedeemed"]) == ("PAID", 500)
    paid = {p["tender"]: p for p in order["payments"]}
    assert paid["CASH"]["amount"] == paid["CASH"]["captured"] == {"amount": "24.90"}
    assert paid["CASH"]["change"] == {"amount": "5.10"}
    assert paid["POINTS"]["amount"] == {"amount": "5.00"}
    read = (await gql(READ, {"id": session["id"]}, token=t["clerk"]))["data"]["tillSession"]
    assert read["cashTaken"] == {"amount": "24.90"} and read["expected"] == {"amount": "124.90"}
    cash_row = await m.Payment.get(tender="CASH")
    assert cash_row.till_session_id == parse_global_id(session["id"])[1]
    assert cash_row.cash_given == 3000


async def test_cash_without_an_open_till_session_is_refused(gql, settings, services):
    world, t = await _store(gql, settings)
    await _open(gql, world, t["colleague"])  # a colleague's drawer does not take her cash

    refused = await _sell(gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": PRICE}))

    assert refused["userErrors"] == [
        {"field": ["tenders", "0", "kind"], "code": "TILL_SESSION_REQUIRED"}
    ]
    await _nothing_sold(services)


async def test_a_declined_terminal_card_refuses_the_sale_and_loses_nothing(gql, settings, services):
    world, t = await _store(gql, settings)
    await _open(gql, world, t["clerk"])
    split = _sale(  # the test terminal declines amounts ending in 13 cents
        world,
        {"kind": "CASH", "amount": PRICE - 1013, "given": 5000},
        {"kind": "CARD_TERMINAL", "amount": 1013},
    )

    declined = await _sell(gql, t["clerk"], split)

    assert declined["userErrors"] == [{"field": ["tenders", "1"], "code": "CARD_DECLINED"}]
    assert declined["order"] is None and declined["change"] is None
    await _nothing_sold(services)


async def test_cash_and_a_card_split_exactly_and_less_or_more_is_refused(gql, settings, services):
    world, t = await _store(gql, settings)
    await _open(gql, world, t["clerk"])
    card = {"kind": "CARD_TERMINAL", "amount": 2000}

    short = await _sell(gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": 900}, card))
    over = await _sell(gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": 1000}, card))
    assert short["userErrors"] == [{"field": ["tenders"], "code": "TENDER_SHORT"}]
    assert over["userErrors"] == [{"field": ["tenders"], "code": "TENDER_OVER"}]
    await _nothing_sold(services)

    sold = await _sell(
        gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": 990, "given": 1000}, card)
    )

    assert sold["userErrors"] == [] and sold["change"] == {"amount": "0.10"}
    paid = {p["tender"]: p for p in sold["order"]["payments"]}
    approval = services.terminal.charges[0].approval_code
    assert paid["CARD_TERMINAL"]["providerReference"] == approval
    assert (paid["CARD_TERMINAL"]["provider"], paid["CARD_TERMINAL"]["amount"]) == (
        "terminal",
        {"amount": "20.00"},
    )
    assert [c.amount for c in services.terminal.charges] == [2000]


async def test_a_replayed_sale_charges_the_terminal_once(gql, settings, services):
    world, t = await _store(gql, settings)
    await _open(gql, world, t["clerk"])
    sale = _sale(
        world,
        {"kind": "CASH", "amount": 990, "given": 2000},
        {"kind": "CARD_TERMINAL", "amount": PRICE - 990},
        idempotencyKey="till-sale-1",
    )

    first, again = await _sell(gql, t["clerk"], sale), await _sell(gql, t["clerk"], sale)

    assert first["userErrors"] == [] and again == first
    assert first["change"] == {"amount": "10.10"}
    assert len(services.terminal.charges) == 1
    assert await m.Order.all().count() == 1 and await m.Payment.all().count() == 2


async def test_the_single_tender_of_older_clients_still_works(gql, settings, services):
    world, t = await _store(gql, settings)
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CARD_TERMINAL",
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }

    sold = await _sell(gql, t["clerk"], sale)
    both = await _sell(gql, t["clerk"], {**sale, "tenders": [{"kind": "CASH", "amount": PRICE}]})

    assert sold["userErrors"] == [] and sold["change"] == {"amount": "0.00"}
    assert [p["tender"] for p in sold["order"]["payments"]] == ["CARD_TERMINAL"]
    assert [c.amount for c in services.terminal.charges] == [PRICE]
    assert both["userErrors"] == [{"field": ["tenders"], "code": "INVALID"}]


async def test_closing_computes_expected_and_difference_with_a_cash_refund(gql, settings, services):
    world, t = await _store(gql, settings)
    session = (await _open(gql, world, t["clerk"], 10_000))["tillSession"]
    session_id = parse_global_id(session["id"])[1]
    sold = await _sell(
        gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": PRICE, "given": 5000})
    )
    order_id = parse_global_id(sold["order"]["id"])[1]
    cash = await m.Payment.get(order_id=order_id)
    async with services.uow() as uow:  # a return paid back 10.00 cash from this drawer
        await uow.payments.add_refund(
            RefundRecord(
                id=0,
                order_id=order_id,
                payment_id=cash.id,
                tender=Tender.CASH,
                amount=1000,
                currency="EUR",
                state=RefundState.SUCCEEDED,
                reason="return",
                location_id=world.part_dieu.id,
                till_session_id=session_id,
            )
        )

    closed = (await gql(CLOSE, {"s": session["id"], "c": 11_900}, token=t["clerk"]))["data"]
    again = (await gql(CLOSE, {"s": session["id"], "c": 11_900}, token=t["clerk"]))["data"]
    other = (await gql(CLOSE, {"s": session["id"], "c": 1}, token=t["clerk"]))["data"]

    till = closed["tillSessionClose"]["tillSession"]
    assert closed["tillSessionClose"]["userErrors"] == [] and again == closed
    assert (till["cashTaken"], till["cashPaidOut"]) == ({"amount": "29.90"}, {"amount": "10.00"})
    assert till["expected"] == {"amount": "119.90"}  # 100.00 + 29.90 - 10.00
    assert (till["counted"], till["difference"]) == ({"amount": "119.00"}, {"amount": "-0.90"})
    assert till["closedAt"] is not None and till["location"] == {"handle": "part-dieu"}
    assert other["tillSessionClose"]["userErrors"] == [
        {"field": ["counted"], "code": "TILL_SESSION_CLOSED"}
    ]
    late = await _sell(gql, t["clerk"], _sale(world, {"kind": "CASH", "amount": PRICE}))
    assert late["userErrors"][0]["code"] == "TILL_SESSION_REQUIRED"
    reopened = await _open(gql, world, t["clerk"])
    page = await gql(LIST, {"l": world.gid(world.part_dieu)}, token=t["manager"])
    sessions = page["data"]["tillSessions"]
    assert [n["id"] for n in sessions["nodes"]] == [reopened["tillSession"]["id"]]
    after = sessions["pageInfo"]["endCursor"]
    older = await gql(LIST, {"l": world.gid(world.part_dieu), "after": after}, token=t["manager"])
    assert [n["id"] for n in older["data"]["tillSessions"]["nodes"]] == [session["id"]]


async def test_one_open_session_per_clerk_and_a_replayed_open(gql, settings):
    world, t = await _store(gql, settings)
    first = await _open(gql, world, t["clerk"], key="open-1")
    replay = await _open(gql, world, t["clerk"], key="open-1")
    twice = await _open(gql, world, t["clerk"], key="open-2")

    assert first["userErrors"] == [] and replay == first
    assert twice["userErrors"] == [{"field": ["locationId"], "code": "TILL_SESSION_OPEN"}]
    assert await m.TillSessionRow.all().count() == 1


async def test_two_opens_at_once_by_one_clerk_give_one_session(gql, settings):
    """Meant for PostgreSQL (the suite's PG run): the twin waits on the first open's claim."""
    world, t = await _store(gql, settings)
    for _ in range(3):
        answers = await asyncio.gather(*(_open(gql, world, t["clerk"]) for _ in range(3)))
        opened = [a for a in answers if a["userErrors"] == []]
        refused = [a["userErrors"][0]["code"] for a in answers if a["userErrors"]]
        assert len(opened) == 1 and refused == ["TILL_SESSION_OPEN"] * 2, answers
        open_rows = await m.TillSessionRow.filter(closed_at=None).count()
        assert open_rows == 1
        close = {"s": opened[0]["tillSession"]["id"], "c": 10_000}
        assert (await gql(CLOSE, close, token=t["clerk"]))["data"]["tillSessionClose"][
            "userErrors"
        ] == []
    assert await m.TillSessionRow.all().count() == 3


async def test_only_the_stores_staff_open_read_and_close_its_tills(gql, settings):
    world, t = await _store(gql, settings)
    session = (await _open(gql, world, t["clerk"]))["tillSession"]
    sid = {"s": session["id"], "c": 10_000}

    elsewhere_open = await _open(gql, world, t["elsewhere"])
    elsewhere_close = (await gql(CLOSE, sid, token=t["elsewhere"]))["data"]["tillSessionClose"]
    elsewhere_read = await gql(READ, {"id": session["id"]}, token=t["elsewhere"])
    elsewhere_list = await gql(LIST, {"l": world.gid(world.part_dieu)}, token=t["elsewhere"])
    colleague_close = (await gql(CLOSE, sid, token=t["colleague"]))["data"]["tillSessionClose"]
    anonymous = await gql(READ, {"id": session["id"]}, token="")

    assert elsewhere_open["userErrors"] == [{"field": ["locationId"], "code": "PERMISSION_DENIED"}]
    assert elsewhere_close["userErrors"][0]["code"] == "NOT_FOUND"
    assert elsewhere_read["data"]["tillSession"] is None
    assert elsewhere_list["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert colleague_close["userErrors"][0]["code"] == "PERMISSION_DENIED"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    colleague_read = await gql(READ, {"id": session["id"]}, token=t["colleague"])
    assert colleague_read["data"]["tillSession"]["clerk"] == session["clerk"]
    managed = (await gql(CLOSE, sid, token=t["manager"]))["data"]["tillSessionClose"]
    assert managed["userErrors"] == [] and managed["tillSession"]["closedAt"] is not None


async def test_a_replay_of_a_sale_stored_before_tenders_answers_no_change(gql, settings):
    world, t = await _store(gql, settings)
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "idempotencyKey": "old-sale",
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }
    first = await _sell(gql, t["clerk"], sale)
    order_id = parse_global_id(first["order"]["id"])[1]
    # the answer as it was stored before sales answered their change
    await m.IdempotencyRecord.filter(key="old-sale").update(response={"order_id": order_id})

    replay = await _sell(gql, t["clerk"], sale)

    assert replay["userErrors"] == [] and replay["order"]["id"] == first["order"]["id"]
    assert replay["change"] == {"amount": "0.00"}
