"""The Walmart adapter against the fake Walmart served over a real socket: tokens (fetch, renewal
before expiry, renewal on 401, never logged), 429 storms, 500s, timeouts, shared rate buckets,
a 2,000-SKU bulk push, and the order round (acknowledge, ship, cancel, refund, notifications).
Every exchange is also checked against Walmart's files when ../shared/specs is present."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import Buckets, MemoryBuckets
from adapters.marketplaces.walmart import WalmartMarketplace
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrder,
    MarketplaceOrderStatus,
    Shipment,
    ShippedLine,
)
from tests.contract import walmart_spec as ws
from tools.fake_marketplaces.serve import serving
from tools.fake_marketplaces.walmart import FakeWalmartState, create_app

CLIENT_SECRET = "wm-secret-do-not-log"
FAST = {
    "ship_node": "SN-1",
    "rate_scale": "1000",
    "backoff_initial": "0.01",
    "backoff_jitter": "0.05",
    "feed_poll_interval": "0.01",
    "token_margin": "0",
    "timeout": "5",
}


APP = create_app()
_served: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _serve_fake() -> Iterator[None]:
    """One fake Walmart on a loopback port for the module; each test gives it a fresh state."""
    with serving(APP) as url:
        _served.append(url)
        yield
        _served.clear()


@contextmanager
def fake_walmart(**kwargs: Any) -> Iterator[tuple[FakeWalmartState, str]]:
    """A fresh fake Walmart state, served; its exchanges are checked against the files after."""
    state = FakeWalmartState(ship_nodes={"SN-1"}, **kwargs)
    APP.state.fake = state
    yield state, _served[0]
    if (ws.SPECS_DIR / ws.FILES["orders"]).is_file():
        for ex in state.exchanges:
            ws.validate_recorded(ex)


@asynccontextmanager
async def walmart(
    url: str, buckets: Buckets | None = None, channel: str = "walmart-us", **options: str
) -> AsyncIterator[WalmartMarketplace]:
    account = MarketplaceAccount(
        channel,
        MarketplaceKind.WALMART,
        url,
        {"client_id": "wm-client", "client_secret": CLIENT_SECRET},
        {**FAST, **options},
    )
    adapter = WalmartMarketplace(account, buckets=buckets or MemoryBuckets())
    try:
        yield adapter
    finally:
        await adapter.aclose()


async def control(url: str, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()


async def place_order(url: str, *lines: tuple[str, int]) -> str:
    body = {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
        "buyer": {"name": "Bo Buyer", "email": "bo@example.com", "phone": "5550199"},
    }
    return str((await control(url, "POST", "/_fake/orders", body))["orderId"])


def seed(state: FakeWalmartState, *skus: str, quantity: int = 10, price: int = 1000) -> None:
    state.seed({sku: {"quantity": quantity, "price": price, "currency": "USD"} for sku in skus})


def calls(state: FakeWalmartState, operation: str, status: int | None = None) -> int:
    return sum(
        1
        for ex in state.exchanges
        if ex.operation == operation and (status is None or ex.status == status)
    )


async def test_one_token_serves_many_calls_and_is_renewed_before_it_expires() -> None:
    with fake_walmart(token_lifetime=1) as (state, url):
        seed(state, "A")
        async with walmart(url, token_margin="0.5") as wm:
            for _ in range(3):
                assert await wm.push_listings([Listing("A", 1, 100, "USD")])
            assert state.token_grants == 1
            await asyncio.sleep(0.6)  # past lifetime - margin: renewed before the fake expires it
            await wm.push_listings([Listing("A", 2, 100, "USD")])
            assert state.token_grants == 2
            assert calls(state, "updateMultiNodeInventory", 401) == 0


async def test_a_401_drops_the_token_fetches_another_and_retries() -> None:
    with fake_walmart() as (state, url):
        seed(state, "A")
        order_id = await place_order(url, ("A", 1))
        async with walmart(url) as wm:
            assert await wm.order(order_id) is not None
            state.expire_tokens()
            order = await wm.order(order_id)
            assert order is not None and order.order_id == order_id
            assert state.token_grants == 2
            assert calls(state, "getAnOrder", 401) == 1


async def test_bad_credentials_are_refused_for_good() -> None:
    with fake_walmart(client_id="wm-client", client_secret="another") as (state, url):
        async with walmart(url) as wm:
            with pytest.raises(MarketplaceFailure) as failure:
                await wm.order("1")
            assert failure.value.status == 401 and not failure.value.retryable
            assert calls(state, "getAnOrder") == 0


async def test_a_429_storm_is_ridden_out_without_duplicates() -> None:
    with fake_walmart() as (state, url):
        seed(state, "A", "B")
        order_id = await place_order(url, ("A", 2), ("B", 1))
        async with walmart(url) as wm:
            order = await wm.order(order_id)
            assert order is not None
            state.fail_next(429, 429, 429, 429, operation="shippingUpdates")
            state.fail_next(429, 429, 429, operation="updatePrice")
            shipment = Shipment("FedEx", "FX-1", datetime.now(UTC), (ShippedLine("1", "A", 2),))
            await wm.confirm_shipment(order, shipment)
            pushed = await wm.push_listings([Listing("B", 4, 2500, "USD")])
        assert pushed[0].accepted
        assert state.listings["B"] == {"quantity": 4, "price": 2500, "currency": "USD"}
        assert calls(state, "shippingUpdates", 429) == 4
        assert calls(state, "shippingUpdates", 200) == 1
        summary = await control(url, "GET", f"/_fake/orders/{order_id}")
        assert summary["shipments"] == [
            {"carrier": "FedEx", "tracking": "FX-1", "lines": [{"lineId": "1", "quantity": 2}]}
        ]


async def test_500s_are_retried_and_a_lasting_outage_fails_retryable() -> None:
    with fake_walmart() as (state, url):
        seed(state, "A")
        await place_order(url, ("A", 1))
        async with walmart(url, attempts="2") as wm:
            state.fail_next(500, operation="getAllOrders")
            page = await wm.orders_since(None)
            assert len(page.orders) == 1
            state.fail_next(500, 500, operation="getAnOrder")
            with pytest.raises(MarketplaceFailure) as failure:
                await wm.order(page.orders[0].order_id)
            assert failure.value.retryable and failure.value.status == 500
            assert calls(state, "getAnOrder", 500) == 2


async def test_a_timeout_is_retried_and_the_late_answer_ships_nothing_twice() -> None:
    with fake_walmart(timeout_delay=0.4) as (state, url):
        seed(state, "A")
        order_id = await place_order(url, ("A", 3))
        async with walmart(url, timeout="0.2") as wm:
            order = await wm.order(order_id)
            assert order is not None
            state.fail_next("timeout", operation="shippingUpdates")
            started = time.monotonic()
            await wm.confirm_shipment(
                order,
                Shipment("UPS", "1Z-LATE", datetime.now(UTC), (ShippedLine("1", "A", 3),)),
            )
            assert time.monotonic() - started >= 0.2
            await asyncio.sleep(0.4)  # the timed-out request is answered late, after the retry
        assert calls(state, "shippingUpdates", 200) == 2
        summary = await control(url, "GET", f"/_fake/orders/{order_id}")
        assert summary["status"] == "Shipped"
        assert summary["shipments"] == [
            {"carrier": "UPS", "tracking": "1Z-LATE", "lines": [{"lineId": "1", "quantity": 3}]}
        ]


async def test_calls_wait_for_the_rate_bucket() -> None:
    # getAnOrder: 2/s with a burst of 10; rate_scale 10 -> 20/s: 10 calls at once, then one
    # every 50 ms.
    with fake_walmart() as (state, url):
        seed(state, "A")
        order_id = await place_order(url, ("A", 1))
        async with walmart(url, rate_scale="10") as wm:
            await wm.order(order_id)  # the token, and one bucket token
            started = time.monotonic()
            for _ in range(19):
                await wm.order(order_id)
            elapsed = time.monotonic() - started
        assert 0.4 <= elapsed < 3, elapsed


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL unset")
async def test_two_clients_share_redis_buckets() -> None:
    import redis.asyncio as aioredis

    from adapters.marketplaces.http import RedisBuckets

    url_12 = urlsplit(os.environ["REDIS_URL"])._replace(path="/12").geturl()  # our db: 12
    client = aioredis.Redis.from_url(url_12)
    prefix = f"o2o:test:walmart:{uuid.uuid4().hex}:"
    try:
        with fake_walmart() as (state, url):
            seed(state, "A")
            order_id = await place_order(url, ("A", 1))
            async with (
                walmart(url, RedisBuckets(client, prefix=prefix), rate_scale="10") as one,
                walmart(url, RedisBuckets(client, prefix=prefix), rate_scale="10") as two,
            ):
                await one.order(order_id)
                await two.order(order_id)  # tokens fetched; 8 bucket tokens left
                started = time.monotonic()

                async def many(wm: WalmartMarketplace) -> None:
                    for _ in range(9):
                        await wm.order(order_id)

                await asyncio.gather(many(one), many(two))
                elapsed = time.monotonic() - started
            # 18 calls on one shared bucket of 8 refilling at 20/s: >= 0.5 s; alone, each
            # client's 9 calls would have fitted in its own burst of 10.
            assert 0.4 <= elapsed < 3, elapsed
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            assert sorted(k.decode() for k in keys) == [
                f"{prefix}walmart:walmart-us:getAnOrder",
                f"{prefix}walmart:walmart-us:tokenAPI",
            ]
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


async def test_tokens_and_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with fake_walmart() as (state, url):
        seed(state, "A")
        order_id = await place_order(url, ("A", 1))
        async with walmart(url, attempts="2") as wm:
            await wm.order(order_id)
            state.expire_tokens()
            await wm.order(order_id)
            state.fail_next(429, operation="getAnOrder")
            await wm.order(order_id)
            state.fail_next(500, 500, operation="getAnOrder")
            with pytest.raises(MarketplaceFailure) as failure:
                await wm.order(order_id)
    tokens = [
        json.loads(ex.response_body)["access_token"]
        for ex in state.exchanges
        if ex.operation == "tokenAPI" and ex.status == 200
    ]
    assert len(tokens) == 2
    assert "retry" in caplog.text  # the retries were logged
    basic = next(
        ex.headers["authorization"] for ex in state.exchanges if ex.operation == "tokenAPI"
    )
    for secret in [*tokens, CLIENT_SECRET, basic.split()[1]]:
        assert secret not in caplog.text
        assert secret not in str(failure.value)
    assert CLIENT_SECRET not in repr(wm.account)


async def test_a_bulk_push_of_2000_skus_through_the_feeds() -> None:
    skus = [f"SKU-{i:05d}" for i in range(2000)]
    with fake_walmart(feed_polls=2) as (state, url):
        seed(state, *skus, quantity=1, price=100)
        listings = [Listing(sku, i % 50, 1000 + i, "USD") for i, sku in enumerate(skus)]
        listings.append(Listing("NOT-LISTED", 1, 100, "USD"))
        listings.append(Listing(skus[0], 1, 100, "EUR"))
        async with walmart(url) as wm:
            results = await wm.push_bulk(listings)
        assert len(results) == 2002
        assert all(r.accepted for r in results[:2000])
        assert not results[2000].accepted and "CONTENT_NOT_FOUND" in (results[2000].error or "")
        assert not results[2001].accepted and "EUR" in (results[2001].error or "")
        assert state.listings["SKU-01234"] == {"quantity": 34, "price": 2234, "currency": "USD"}
        assert calls(state, "updateBulkInventory") == 1 and calls(state, "priceBulkUploads") == 1
        # per feed: 2 polls in progress, then 3 pages of item details (1,000 per page)
        assert calls(state, "getFeedItemStatus") == 10


async def test_feeds_are_split_at_the_size_limit() -> None:
    skus = [f"S{i}" for i in range(300)]
    with fake_walmart(feed_polls=0) as (state, url):
        seed(state, *skus)
        async with walmart(url, feed_max_bytes="4000") as wm:
            results = await wm.push_bulk([Listing(s, 5, 500, "USD") for s in skus])
        assert all(r.accepted for r in results) and len(results) == 300
        feeds = [ex for ex in state.exchanges if ex.path == "/v3/feeds" and ex.method == "POST"]
        assert len(feeds) > 2
        assert all(len(ws.multipart_file(ex.headers, ex.body)) <= 4000 for ex in feeds)


async def test_a_feed_failing_as_a_whole_refuses_its_skus_and_a_stuck_feed_times_out() -> None:
    with fake_walmart(feed_polls=0) as (state, url):
        seed(state, "A", "B")
        state.reject_feeds = 1  # the inventory feed
        async with walmart(url) as wm:
            results = await wm.push_bulk([Listing("A", 1, 100, "USD"), Listing("B", 2, 200, "USD")])
        assert [r.accepted for r in results] == [False, False]
        assert all("could not be read" in (r.error or "") for r in results)
        assert state.listings["A"]["price"] == 100  # the price feed went through
    with fake_walmart(feed_polls=1000) as (state, url):
        seed(state, "A")
        async with walmart(url, feed_timeout="0.1") as wm:
            with pytest.raises(MarketplaceFailure) as failure:
                await wm.push_bulk([Listing("A", 1, 100, "USD")])
        assert failure.value.retryable and "INPROGRESS" in str(failure.value)


async def test_acknowledge_then_ship_as_seen_by_the_fake() -> None:
    with fake_walmart() as (state, url):
        seed(state, "A", "B")
        order_id = await place_order(url, ("A", 2), ("B", 1))
        async with walmart(url) as wm:
            page = await wm.orders_since(None)
            order = next(o for o in page.orders if o.order_id == order_id)
            assert order.status is MarketplaceOrderStatus.UNSHIPPED
            await wm.acknowledge(order)
            assert (await control(url, "GET", f"/_fake/orders/{order_id}"))["acknowledged"]
            shipped_at = datetime.now(UTC)
            await wm.confirm_shipment(
                order,
                Shipment(
                    "USPS",
                    "9400-1",
                    shipped_at,
                    (ShippedLine("1", "A", 2), ShippedLine("2", "B", 1)),
                    method="Express",
                ),
            )
            summary = await control(url, "GET", f"/_fake/orders/{order_id}")
            assert summary["status"] == "Shipped" and summary["acknowledged"] is True
            assert summary["shipments"] == [
                {
                    "carrier": "USPS",
                    "tracking": "9400-1",
                    "lines": [{"lineId": "1", "quantity": 2}, {"lineId": "2", "quantity": 1}],
                }
            ]
            later = await wm.orders_since(page.cursor)
            assert [o.status for o in later.orders if o.order_id == order_id] == [
                MarketplaceOrderStatus.SHIPPED
            ]
            raw = state.orders[order_id]["orderLines"]["orderLine"][0]
            tracking = raw["orderLineStatuses"]["orderLineStatus"][-1]["trackingInfo"]
            assert tracking["methodCode"] == "Express"
            assert abs(tracking["shipDateTime"] - shipped_at.timestamp() * 1000) < 1000


async def test_cancel_lines_and_refund_lines() -> None:
    with fake_walmart() as (state, url):
        seed(state, "A", "B", price=1500)
        order_id = await place_order(url, ("A", 3), ("B", 1))
        async with walmart(url) as wm:
            order = await wm.order(order_id)
            assert order is not None
            await wm.cancel(order, [ShippedLine("1", "A", 1)], reason="SELLER_CANCEL_OUT_OF_STOCK")
            await wm.confirm_shipment(
                order, Shipment("UPS", "1Z-2", datetime.now(UTC), (ShippedLine("1", "A", 2),))
            )
            await wm.cancel(order, [ShippedLine("2", "B", 1)], reason="pricing error")
            await wm.refund(order, [ShippedLine("1", "A", 1, amount=1500)], reason="damaged item")
            after = await wm.order(order_id)
        summary = await control(url, "GET", f"/_fake/orders/{order_id}")
        assert summary["cancellations"] == [
            {"lineId": "1", "quantity": 1},
            {"lineId": "2", "quantity": 1},
        ]
        assert summary["refunds"] == [{"lineId": "1", "amount": 1500}]
        assert summary["status"] == "Shipped"
        assert after is not None and after.status is MarketplaceOrderStatus.SHIPPED
        assert [(ln.line_id, ln.cancelled) for ln in after.lines] == [("1", 1), ("2", 1)]
        reasons = [
            e.get("cancellationReason")
            for ln in state.orders[order_id]["orderLines"]["orderLine"]
            for e in ln["orderLineStatuses"]["orderLineStatus"]
            if e["status"] == "Cancelled"
        ]
        assert reasons == ["SELLER_CANCEL_OUT_OF_STOCK", "SELLER_CANCEL_PRICING_ERROR"]
        refund = state.orders[order_id]["orderLines"]["orderLine"][0]["refund"]
        charge = refund["refundCharges"]["refundCharge"][0]
        assert charge["refundReason"] == "DamagedItem"
        assert charge["charge"]["chargeAmount"] == {"currency": "USD", "amount": -15.0}


async def test_notifications_reach_the_receiver_and_a_buyer_cancellation_is_seen() -> None:
    received: list[bytes] = []

    async def receive(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=200)

    receiver = Starlette(routes=[Route("/hooks/walmart", receive, methods=["POST"])])
    with serving(receiver) as hooks, fake_walmart() as (state, url):
        seed(state, "A")
        await control(
            url,
            "POST",
            "/_fake/config",
            {"notify_url": f"{hooks}/hooks/walmart", "duplicate_notifications": True},
        )
        order_id = await place_order(url, ("A", 2))
        async with walmart(url) as wm:
            since = datetime.now(UTC) - timedelta(seconds=5)
            assert len(received) == 2 and received[0] == received[1]
            assert wm.order_ids_in_notification(received[0], {}) == [order_id]
            await control(url, "POST", f"/_fake/orders/{order_id}/cancel")
            assert len(received) == 4
            assert wm.order_ids_in_notification(received[2], {}) == [order_id]
            assert json.loads(received[2])["source"]["eventType"] == "PO_LINE_AUTOCANCELLED"
            page = await wm.orders_since(since)
        order: MarketplaceOrder = next(o for o in page.orders if o.order_id == order_id)
        assert order.status is MarketplaceOrderStatus.CANCELLED
        assert order.lines[0].cancelled == 2
        assert state.listings["A"]["quantity"] == 8
