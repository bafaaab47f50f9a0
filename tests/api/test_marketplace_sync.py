"""The marketplace sync end to end, on the test database (SQLite, or PostgreSQL + Redis in CI):
the three fake marketplaces over real sockets, the real adapters, the engine, the outbox.

Stock sold at a till reaches every marketplace; a marketplace order becomes an order here
(routed, shipped, its shipment confirmed back); a cancellation and a refund flow back; what the
marketplace cancels is cancelled here; an order that cannot be placed is flagged, then placed by
hand; failures (429 storms, a worker gone mid-push or mid-call) lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.db import models as m
from adapters.events import LogPublisher
from adapters.marketplaces.sync import MarketplaceSync
from adapters.marketplaces.worker import InProcessEvents, build_sync, run_sync
from domain.marketplaces.model import ActionKind, order_from_json
from domain.outbox import relay
from schema.relay import to_global_id
from tests.factories import make_world, staff_token
from tools.fake_marketplaces.serve import serving

NAMES = ("amazon", "walmart", "ebay")
STATES = {"amazon": "FakeAmazonState", "walmart": "FakeWalmartState", "ebay": "FakeEbayState"}
TOKEN_PATHS = {
    "amazon": "/auth/o2/token",
    "walmart": "/v3/token",
    "ebay": "/identity/v1/oauth2/token",
}
OPTIONS = {
    "amazon": {
        "seller_id": "A1FAKESELLER",
        "marketplace_id": "A13V1IB3VIYZZH",
        "feed_poll": "0.05",
    },
    "walmart": {"ship_node": "10001", "feed_poll_interval": "0.05"},
    "ebay": {"marketplace_id": "EBAY_FR"},
}
SHIP = """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "UPS", trackingNumber: "1Z999") { order { status } userErrors { code message } } }"""
DELIVER = (
    """mutation($f: ID!) { fulfilmentDeliver(fulfilmentId: $f) { userErrors { code message } } }"""
)
CANCEL = """mutation($o: ID!) { orderCancel(orderId: $o, reason: "out of stock") { order { status paymentStatus } userErrors { code message } } }"""
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) { refundDue { amount } userErrors { code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status paymentStatus externalReference source channel fulfilments { id location { handle } } lines { id sku quantity } payments { tender state } refunds { tender state amount { amount } } } }"""
POS = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { order { id } userErrors { code message } } }"""


@dataclass
class Market:
    name: str
    channel: m.Channel
    base: str
    state: Any


@pytest.fixture
async def world(db: str) -> Any:
    world = await make_world(products=2)
    world.marketplace.handle = "marketplace-amazon-fr"  # handles as long as the demo's
    await world.marketplace.save()
    # the marketplace channels ship from the warehouse and the Part-Dieu store
    for market in (world.marketplace,):
        await m.ChannelLocation.create(channel=market, location=world.part_dieu)
    for handle, currency in (("walmart", "USD"), ("ebay", "EUR")):
        channel = await m.Channel.create(handle=handle, name=handle, kind="MARKETPLACE",
                                         currency=currency, allocation_share_percent=100)  # fmt: skip
        for loc in (world.warehouse, world.part_dieu):
            await m.ChannelLocation.create(channel=channel, location=loc)
    for variant in world.variants:  # Walmart sells in dollars: the US price list
        await m.Price.create(variant=variant, kind="BASE", currency="USD", amount=3290)
    return world


@contextlib.contextmanager
def fakes(skus: list[str], channels: dict[str, m.Channel]) -> Iterator[dict[str, Market]]:
    import importlib

    with contextlib.ExitStack() as stack:
        found = {}
        for name in NAMES:
            module = importlib.import_module(f"tools.fake_marketplaces.{name}")
            state = getattr(module, STATES[name])()
            base = stack.enter_context(serving(module.create_app(state)))
            currency = "USD" if name == "walmart" else "EUR"
            listings = {s: {"quantity": 0, "price": 0, "currency": currency} for s in skus}
            httpx.post(f"{base}/_fake/listings", json=listings).raise_for_status()
            found[name] = Market(name, channels[name], base, state)
        yield found


def accounts(markets: dict[str, Market]) -> str:
    return json.dumps(
        [
            {
                "channel": mk.channel.handle,
                "kind": name.upper(),
                "base_url": mk.base,
                "credentials": {"client_id": "id", "client_secret": "secret",
                                "refresh_token": "refresh"},
                "options": OPTIONS[name] | {"rate_scale": "1000", "backoff_initial": "0.01",
                                            "timeout": "2", "token_url": mk.base + TOKEN_PATHS[name]},
            }
            for name, mk in markets.items()
        ]
    )  # fmt: skip


@pytest.fixture
def initial_push(request: pytest.FixtureRequest) -> bool:
    """Push every SKU before the test (a test parametrized False starts from nothing)."""
    return bool(getattr(request, "param", True))


@pytest.fixture
async def market(
    world: Any, services: Any, initial_push: bool
) -> AsyncIterator[tuple[MarketplaceSync, dict[str, Market]]]:
    channels = {
        "amazon": world.marketplace,
        "walmart": await m.Channel.get(handle="walmart"),
        "ebay": await m.Channel.get(handle="ebay"),
    }
    with fakes([v.sku for v in world.variants], channels) as markets:
        sync = build_sync(accounts(markets), uow=services.uow, clock=services.clock,
                          queries=services.queries, redis_client=None)  # fmt: skip
        assert sync is not None
        services.marketplaces = sync
        try:
            if initial_push:
                await sync.mark(list((await sync.channels(fresh=True)).values()), None)
                for handle in sync.adapters:
                    await sync.push_due(handle)
            yield sync, markets
        finally:
            await sync.aclose()


def listing(mk: Market, sku: str) -> dict[str, Any]:
    return httpx.get(f"{mk.base}/_fake/listings").json()[sku]


def fake_order(mk: Market, order_id: str) -> dict[str, Any]:
    return httpx.get(f"{mk.base}/_fake/orders/{order_id}").json()


def place(mk: Market, sku: str, quantity: int = 1, email: str = "buyer@example.com") -> str:
    body = {"lines": [{"sku": sku, "quantity": quantity}], "buyer": {"name": "Ada", "email": email}}
    answer = httpx.post(f"{mk.base}/_fake/orders", json=body)
    answer.raise_for_status()
    return str(answer.json()["orderId"])


async def settle(services: Any, sync: MarketplaceSync) -> None:
    """What the worker does after a commit: relay the outbox, apply the events, push, call."""
    events = InProcessEvents(LogPublisher(show_notifications=False))
    while await relay(services.uow, events, clock=services.clock) > 0:
        pass
    batch = await events.read(0.01)
    if batch:
        await sync.handle([e for _, e in batch])
    await sync.tick(import_orders=False)


@pytest.mark.parametrize("initial_push", [False], indirect=True)
async def test_every_sku_is_pushed_with_the_channel_price_and_allocation(
    world, market, initial_push
):
    sync, markets = market
    await sync.mark(list((await sync.channels(fresh=True)).values()), None)
    for handle in sync.adapters:
        await sync.push_due(handle)
    sku = world.variants[0].sku
    # amazon: 50 % of (10 warehouse + 3 store) less a buffer of 1 = 5; the others sell all 13
    assert listing(markets["amazon"], sku)["quantity"] == 5
    assert listing(markets["walmart"], sku)["quantity"] == 13
    assert listing(markets["ebay"], sku)["quantity"] == 13
    assert [listing(markets[n], sku)["price"] for n in NAMES] == [2990, 3290, 2990]
    rows = await m.MarketplaceListing.filter(state="OK", dirty=False).count()
    assert rows == 3 * len(world.variants)
    # nothing changed: a second round pushes nothing
    await sync.mark(list((await sync.channels()).values()), None)
    reports = [await sync.push_due(h) for h in sync.adapters]
    assert all(r.pushed == 0 and r.unchanged == r.claimed > 0 for r in reports)


async def test_a_till_sale_lowers_every_marketplace_within_seconds(
    world, market, services, gql, settings
):
    sync, markets = market
    await m.Channel.create(handle="store-part-dieu", name="Part-Dieu", kind="STORE",
                           currency="EUR", store=world.part_dieu)  # fmt: skip
    till = await m.Channel.get(handle="store-part-dieu")
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    events = InProcessEvents(LogPublisher(show_notifications=False))
    stop = asyncio.Event()  # stopped, not cancelled: never in the middle of a transaction
    worker = asyncio.create_task(
        run_sync(sync, events, push_seconds=0.1, import_seconds=3600, stop=stop)
    )

    async def relaying() -> None:
        while not stop.is_set():
            await relay(services.uow, events, clock=services.clock)
            await asyncio.sleep(0.1)

    relayer = asyncio.create_task(relaying())
    sku = world.variants[0].sku
    try:
        await _until(lambda: listing(markets["walmart"], sku)["quantity"] == 13)
        clerk = await staff_token(
            settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id]
        )
        sale = {"locationId": world.gid(world.part_dieu), "tender": "CARD_TERMINAL",
                "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 2}]}  # fmt: skip
        body = await gql(POS, {"i": sale}, token=clerk)
        assert body["data"]["posOrderCreate"]["order"], body
        loop = asyncio.get_running_loop()
        sold_at = loop.time()
        await _until(lambda: [listing(markets[n], sku)["quantity"] for n in NAMES] == [4, 11, 11])
        assert loop.time() - sold_at < 5.0
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(worker, relayer), 30)


async def _until(check: Any, seconds: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        ok = await asyncio.to_thread(check)
        if ok:
            return
        if loop.time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


async def _import(sync: MarketplaceSync, mk: Market) -> dict[str, int]:
    return await sync.import_orders(mk.channel.handle)


async def test_an_amazon_order_is_placed_routed_shipped_and_confirmed(
    world, market, services, gql, settings
):
    sync, markets = market
    amazon = markets["amazon"]
    sku = world.variants[1].sku
    external = place(amazon, sku, 2)
    assert await _import(sync, amazon) == {"PLACED": 1}
    assert await _import(sync, amazon) in ({}, {"UNCHANGED": 1})  # the same order twice: once
    row = await m.Order.get(external_reference=external)
    owner = await staff_token(settings.secret_key)
    order = (await gql(ORDER, {"id": to_global_id("Order", row.id)}, token=owner))["data"]["order"]
    assert order is not None, "order query shape"
    assert (order["status"], order["paymentStatus"], order["source"], order["channel"]) == (
        "PAID", "PAID", "MARKETPLACE", world.marketplace.handle)  # fmt: skip
    assert order["payments"] == [{"tender": "MARKETPLACE", "state": "CAPTURED"}]
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [(sku, 2)]
    (fulfilment,) = order["fulfilments"]
    assert fulfilment["location"]["handle"] in ("warehouse", "part-dieu")
    shipped = await gql(SHIP, {"f": fulfilment["id"]}, token=owner)
    assert not shipped["data"]["fulfilmentShip"]["userErrors"], shipped
    await settle(services, sync)
    seen = fake_order(amazon, external)
    assert [s["tracking"] for s in seen["shipments"]] == ["1Z999"]
    # the worker runs again (a retry, a second worker): no second confirmation
    await settle(services, sync)
    assert len(fake_order(amazon, external)["shipments"]) == 1
    assert await m.MarketplaceAction.filter(kind="SHIP", state="DONE").count() == 1


async def test_a_cancellation_here_reaches_walmart_and_settles_the_refund(
    world, market, services, gql, settings
):
    sync, markets = market
    walmart = markets["walmart"]
    external = place(walmart, world.variants[0].sku, 1)
    assert await _import(sync, walmart) == {"PLACED": 1}
    row = await m.Order.get(external_reference=external)
    owner = await staff_token(settings.secret_key)
    body = await gql(CANCEL, {"o": to_global_id("Order", row.id)}, token=owner)
    assert body["data"]["orderCancel"]["order"]["status"] == "CANCELLED", body
    await settle(services, sync)
    seen = fake_order(walmart, external)
    assert seen["acknowledged"] is True
    assert [c["quantity"] for c in seen["cancellations"]] == [1]
    order = (await gql(ORDER, {"id": to_global_id("Order", row.id)}, token=owner))["data"]["order"]
    assert order["paymentStatus"] == "REFUNDED"
    assert [(r["tender"], r["state"]) for r in order["refunds"]] == [("MARKETPLACE", "SUCCEEDED")]


async def test_a_return_refunds_the_ebay_buyer_through_ebay(world, market, services, gql, settings):
    sync, markets = market
    ebay = markets["ebay"]
    external = place(ebay, world.variants[0].sku, 2)
    assert await _import(sync, ebay) == {"PLACED": 1}
    row = await m.Order.get(external_reference=external)
    owner = await staff_token(settings.secret_key)
    gid = to_global_id("Order", row.id)
    order = (await gql(ORDER, {"id": gid}, token=owner))["data"]["order"]
    await gql(SHIP, {"f": order["fulfilments"][0]["id"]}, token=owner)
    delivered = await gql(DELIVER, {"f": order["fulfilments"][0]["id"]}, token=owner)
    assert not delivered["data"]["fulfilmentDeliver"]["userErrors"], delivered
    line = order["lines"][0]["id"]
    returned = await gql(RETURN, {"i": {"orderId": gid, "locationId": world.gid(world.part_dieu),
                                        "lines": [{"orderLineId": line, "quantity": 1}]}},
                         token=owner)  # fmt: skip
    assert returned["data"]["orderReturnCreate"]["refundDue"], returned
    assert returned["data"]["orderReturnCreate"]["refundDue"]["amount"] == "29.90", returned
    await settle(services, sync)
    seen = fake_order(ebay, external)
    assert [s["tracking"] for s in seen["shipments"]] == ["1Z999"]
    assert sum(r["amount"] for r in seen["refunds"]) == 2990
    order = (await gql(ORDER, {"id": gid}, token=owner))["data"]["order"]
    assert [(r["tender"], r["state"], r["amount"]["amount"]) for r in order["refunds"]] == [
        ("MARKETPLACE", "SUCCEEDED", "29.90")
    ]
    await settle(services, sync)  # again: the refund is not sent twice
    assert sum(r["amount"] for r in fake_order(ebay, external)["refunds"]) == 2990


async def test_a_marketplace_cancellation_cancels_the_order_here(world, market, services):
    sync, markets = market
    amazon = markets["amazon"]
    variant = world.variants[0]
    external = place(amazon, variant.sku, 1)
    await _import(sync, amazon)
    reserved = sum(s.reserved for s in await m.Stock.filter(variant_id=variant.id))
    assert reserved == 1
    cancelled = await asyncio.to_thread(httpx.post, f"{amazon.base}/_fake/orders/{external}/cancel")
    cancelled.raise_for_status()
    assert await _import(sync, amazon) == {"CANCELLED": 1}
    row = await m.Order.get(external_reference=external)
    assert (row.status, row.payment_status) == ("CANCELLED", "REFUNDED")
    assert sum(s.reserved for s in await m.Stock.filter(variant_id=variant.id)) == 0


async def test_an_order_that_cannot_be_placed_is_flagged_then_placed_by_hand(
    world, market, gql, settings
):
    sync, markets = market
    walmart = markets["walmart"]
    variant = world.variants[0]
    external = place(walmart, variant.sku, 20)  # 13 in stock: sold elsewhere meanwhile
    assert await _import(sync, walmart) == {"FLAGGED": 1}
    assert not await m.Order.filter(external_reference=external).exists()
    owner = await staff_token(settings.secret_key)
    query = """{ marketplaceSync(channel: "walmart") { flaggedOrders orders(state: "FLAGGED") { externalId flagCode flagReason } } }"""
    body = await gql(query, token=owner)
    sync_view = body["data"]["marketplaceSync"]
    assert sync_view["flaggedOrders"] == 1
    assert sync_view["orders"][0]["externalId"] == external
    assert sync_view["orders"][0]["flagCode"] == "UNFULFILLABLE"
    await m.Stock.filter(variant_id=variant.id, location_id=world.warehouse.id).update(on_hand=30)
    retry = """mutation($e: String!) { marketplaceOrderRetry(channel: "walmart", externalId: $e) { outcome order { state orderId } userErrors { code } } }"""
    done = (await gql(retry, {"e": external}, token=owner))["data"]["marketplaceOrderRetry"]
    assert done["outcome"] == "PLACED" and done["order"]["state"] == "IMPORTED"
    assert await m.Order.filter(external_reference=external).count() == 1


async def test_a_notification_imports_its_order_once_even_when_sent_twice(
    world, market, services, app
):
    sync, markets = market
    amazon = markets["amazon"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        external = place(amazon, world.variants[0].sku, 1)
        body = {
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0", "EventTime": "2026-12-02T10:00:00Z",
            "Payload": {"OrderChangeNotification": {"NotificationLevel": "OrderLevel",
                        "SellerId": "A1FAKESELLER", "AmazonOrderId": external,
                        "Summary": {"OrderStatus": "Unshipped"}}},
            "NotificationMetadata": {"ApplicationId": "app", "SubscriptionId": "sub",
                                     "PublishTime": "2026-12-02T10:00:00Z",
                                     "NotificationId": "n-1"},
        }  # fmt: skip
        url = f"/marketplaces/{world.marketplace.handle}/notifications"
        for _ in range(2):
            answer = await http.post(url, json=body)
            assert answer.status_code == 202, answer.text
        bad = await http.post(url, content=b"not json")
        assert bad.status_code == 400
        unknown = await http.post("/marketplaces/nowhere/notifications", json=body)
        assert unknown.status_code == 404
    await settle(services, sync)
    assert await m.Order.filter(external_reference=external).count() == 1


@pytest.mark.parametrize("initial_push", [False], indirect=True)
async def test_a_429_storm_backs_off_and_loses_nothing(world, market, initial_push):
    sync, markets = market
    walmart = markets["walmart"]
    handle = walmart.channel.handle
    walmart.state.fail_next(*([429] * 6))  # every attempt of the first push
    await sync.mark([await sync.channel(handle)], None)
    report = await sync.push_due(handle)
    assert report.failed == report.claimed == len(world.variants)
    rows = await m.MarketplaceListing.filter(channel_id=walmart.channel.id)
    assert {(r.state, r.dirty, r.attempts) for r in rows} == {("RETRYING", True, 1)}
    assert (await sync.push_due(handle)).claimed == 0  # backing off
    await m.MarketplaceListing.filter(channel_id=walmart.channel.id).update(
        next_attempt_at=services_now() - timedelta(seconds=1))  # fmt: skip
    report = await sync.push_due(handle)
    assert report.pushed == len(world.variants)
    assert listing(walmart, world.variants[0].sku)["quantity"] == 13


def services_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.parametrize("initial_push", [False], indirect=True)
async def test_a_worker_gone_mid_push_leaves_the_rows_to_the_next(world, market, initial_push):
    sync, markets = market
    ebay = markets["ebay"]
    channel = await sync.channel(ebay.channel.handle)
    await sync.mark([channel], None)
    claims = await sync._claim(channel, 100)  # a worker leased the rows, then died
    assert len(claims) == len(world.variants)
    assert (await sync.push_due(ebay.channel.handle)).claimed == 0  # leased
    await m.MarketplaceListing.filter(channel_id=channel.id).update(
        leased_until=services_now() - timedelta(seconds=1))  # fmt: skip
    report = await sync.push_due(ebay.channel.handle)
    assert report.pushed == len(world.variants)
    assert listing(ebay, world.variants[0].sku)["quantity"] == 13


async def test_a_call_cut_short_is_not_made_twice(world, market, services, gql, settings):
    sync, markets = market
    amazon = markets["amazon"]
    external = place(amazon, world.variants[0].sku, 1)
    await _import(sync, amazon)
    row = await m.Order.get(external_reference=external)
    owner = await staff_token(settings.secret_key)
    order = (await gql(ORDER, {"id": to_global_id("Order", row.id)}, token=owner))["data"]["order"]
    await gql(SHIP, {"f": order["fulfilments"][0]["id"]}, token=owner)
    events = InProcessEvents(LogPublisher(show_notifications=False))
    await relay(services.uow, events, clock=services.clock)
    await sync.handle([e for _, e in await events.read(0.01)])
    action = await m.MarketplaceAction.get(kind="SHIP")
    # the call reached the marketplace, then the worker died before recording it
    pulled = order_from_json(dict((await m.MarketplaceOrder.get(external_id=external)).data))
    adapter = sync.adapters[amazon.channel.handle]
    await sync._call(adapter, ActionKind.SHIP, pulled, dict(action.payload))
    await m.MarketplaceAction.filter(id=action.id).update(state="SENDING", attempts=1)
    await sync.run_actions()
    assert len(fake_order(amazon, external)["shipments"]) == 1
    assert (await m.MarketplaceAction.get(id=action.id)).state == "DONE"


async def test_only_brand_staff_read_and_drive_the_sync(world, market, gql, settings):
    query = "{ marketplaceSyncs { channel marketplace pending lagSeconds } }"
    anonymous = await gql(query)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    assert (await gql(query, token=clerk))["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    owner = await staff_token(settings.secret_key)
    found = (await gql(query, token=owner))["data"]["marketplaceSyncs"]
    assert sorted((s["channel"], s["marketplace"]) for s in found) == [
        ("ebay", "EBAY"), ("marketplace-amazon-fr", "AMAZON"), ("walmart", "WALMART")]  # fmt: skip
    resync = """mutation { marketplaceResync(channel: "walmart", skus: ["NOPE"]) { queued userErrors { code } } }"""
    body = await gql(resync, token=owner)
    assert body["data"]["marketplaceResync"]["userErrors"][0]["code"] == "UNKNOWN_SKU"
    body = await gql(resync.replace('skus: ["NOPE"]', ""), token=owner)
    assert body["data"]["marketplaceResync"]["queued"] == len(world.variants)
    denied = await gql(resync, token=clerk)
    assert denied["data"]["marketplaceResync"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_a_marketplace_buyer_is_matched_to_the_member_with_that_verified_email(world, market):
    sync, markets = market
    ebay = markets["ebay"]
    verified = await m.Member.create(email="ada@example.com", email_verified=True, name="Ada",
                                     password_hash="x", member_code="M-ADA-0001")  # fmt: skip
    await m.Member.create(email="bob@example.com", email_verified=False, name="Bob",
                          password_hash="x", member_code="M-BOB-0001")  # fmt: skip
    ada = place(ebay, world.variants[0].sku, 1, email="  ADA@Example.com ")
    bob = place(ebay, world.variants[0].sku, 1, email="bob@example.com")
    await _import(sync, ebay)
    assert (await m.Order.get(external_reference=ada)).member_id == verified.id
    assert (await m.Order.get(external_reference=bob)).member_id is None  # not proven theirs


PRICES = """mutation($p: [PriceInput!]!) { priceBulkSet(prices: $p) { count userErrors { code message } } }"""
ARCHIVE = """mutation($id: ID!) { productArchive(id: $id) { userErrors { code message } } }"""


async def test_price_edits_archived_products_and_scheduled_sales_reach_the_marketplaces(
    world, market, services, gql, settings
):
    sync, markets = market
    owner = await staff_token(settings.secret_key)
    first, second = world.variants[0], world.variants[2]  # of two products
    body = await gql(PRICES, {"p": [{"variantId": world.gid(first), "amount": "24.90",
                                     "currencyCode": "EUR"}]}, token=owner)  # fmt: skip
    assert body["data"]["priceBulkSet"]["count"] == 1, body
    archived = await gql(ARCHIVE, {"id": world.gid(world.products[1])}, token=owner)
    assert not archived["data"]["productArchive"]["userErrors"], archived
    await settle(services, sync)
    assert [listing(markets[n], first.sku)["price"] for n in ("amazon", "ebay")] == [2490, 2490]
    assert listing(markets["walmart"], first.sku)["price"] == 3290  # its dollar price is unchanged
    assert {listing(markets[n], second.sku)["quantity"] for n in NAMES} == {0}  # off sale
    # a sale written to start a moment ago: no edit announces it, the next round sees it
    now = services.clock.now()
    await m.Price.create(variant=first, kind="SALE", currency="EUR", amount=1990,
                         starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(days=1))  # fmt: skip
    sync._checked_at = now - timedelta(seconds=31)  # the last look, a round ago
    await sync.tick(import_orders=False)
    assert [listing(markets[n], first.sku)["price"] for n in ("amazon", "ebay")] == [1990, 1990]


async def test_an_ebay_notification_counts_only_when_ebay_signed_it(world, market, services, app):
    sync, markets = market
    ebay = markets["ebay"]
    external = place(ebay, world.variants[0].sku, 1)
    (body,) = [n for n in ebay.state.notifications if external in json.dumps(n)]
    content = json.dumps(body).encode()
    url = f"/marketplaces/{ebay.channel.handle}/notifications"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        unsigned = await http.post(url, content=content)
        forged = await http.post(url, content=content.replace(b"ORDER", b"ORDER "),
                                 headers={"X-EBAY-SIGNATURE": ebay.state.signature_header(content)})  # fmt: skip
        assert (unsigned.status_code, forged.status_code) == (401, 401)
        assert not await m.OutboxEvent.filter(topic="marketplace.notified").exists()
        signed = await http.post(url, content=content,
                                 headers={"X-EBAY-SIGNATURE": ebay.state.signature_header(content)})  # fmt: skip
        assert signed.status_code == 202, signed.text
    await settle(services, sync)
    assert await m.Order.filter(external_reference=external).count() == 1
