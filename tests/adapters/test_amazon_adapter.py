"""The Amazon SP-API adapter against the fake over a real socket: token refresh, 429 storms,
5xx, timeouts, rate-limit waits (in-process and shared through Redis), secrets kept out of the
log, a 2,000-SKU feed push end to end, and orders with their notifications."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.marketplaces.amazon import AmazonMarketplace
from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import Buckets, MemoryBuckets, RedisBuckets
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrderStatus,
    Shipment,
    ShippedLine,
)
from tests.contract.amazon_spec import SPECS_DIR, assert_exchanges_valid
from tools.fake_marketplaces.amazon import FakeAmazonState, create_app
from tools.fake_marketplaces.serve import serving

SELLER = "A1FAKESELLER"
MARKETPLACE = "A13V1IB3VIYZZH"
CLIENT_SECRET = "amzn1.oa2-cs.v1.TOPSECRETVALUE"
REFRESH_TOKEN = "Atzr|IwEBREFRESHSECRET"


@pytest.fixture
def fake() -> Iterator[tuple[FakeAmazonState, str]]:
    state = FakeAmazonState(seller_id=SELLER, marketplace_id=MARKETPLACE)
    state.seed({f"SKU-{i}": {"quantity": 50, "price": 1000, "currency": "EUR"} for i in range(40)})
    with serving(create_app(state)) as base:
        yield state, base
    if SPECS_DIR.is_dir():  # every exchange of these tests holds to the models too
        assert_exchanges_valid(state.exchanges)


def account(base: str, **options: str) -> MarketplaceAccount:
    return MarketplaceAccount(
        channel="marketplace-amazon-fr",
        kind=MarketplaceKind.AMAZON,
        base_url=base,
        credentials={
            "client_id": "amzn1.application-oa2-client.test",
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
        options={
            "seller_id": SELLER,
            "marketplace_id": MARKETPLACE,
            "token_url": f"{base}/auth/o2/token",
            "rate_scale": "1000",
            "backoff_initial": "0.01",
            "backoff_max": "0.05",
            "timeout": "2",
            "feed_poll": "0.01",
            **options,
        },
    )


def adapter(base: str, buckets: Buckets | None = None, **options: str) -> AmazonMarketplace:
    return AmazonMarketplace(account(base, **options), buckets=buckets or MemoryBuckets())


def listings(n: int, *, quantity: int = 3, price: int = 1250) -> list[Listing]:
    return [Listing(f"SKU-{i}", quantity, price, "EUR") for i in range(n)]


async def test_token_refreshed_when_amazon_refuses_it(fake: tuple[FakeAmazonState, str]) -> None:
    state, base = fake
    mp = adapter(base)
    try:
        assert all(r.accepted for r in await mp.push_listings(listings(2)))
        state.expire_tokens()  # Amazon answers 403 Unauthorized (expired token)
        assert all(r.accepted for r in await mp.push_listings(listings(2, quantity=4)))
    finally:
        await mp.aclose()
    assert state.token_grants == 2  # one refresh, though both calls in flight were refused
    assert [e.status for e in state.exchanges if e.operation == "patchListingsItem"].count(403) == 2
    assert state.listings["SKU-1"]["quantity"] == 4


async def test_token_refreshed_before_it_expires(fake: tuple[FakeAmazonState, str]) -> None:
    state, base = fake
    state.token_lifetime = 1
    mp = adapter(base, token_margin="0.8")  # kept 0.2 s
    try:
        await mp.push_listings(listings(1))
        await asyncio.sleep(0.25)
        await mp.push_listings(listings(1))
    finally:
        await mp.aclose()
    assert state.token_grants == 2
    assert all(e.status != 403 for e in state.exchanges)


async def test_a_429_storm_is_absorbed_without_duplicates(
    fake: tuple[FakeAmazonState, str],
) -> None:
    state, base = fake
    state.fail_next(429, 429, 429, 429, 429, operation="patchListingsItem")
    mp = adapter(base, concurrency="3")
    try:
        results = await mp.push_listings(listings(6, quantity=9, price=1999))
    finally:
        await mp.aclose()
    assert all(r.accepted for r in results)
    assert sorted(sku for sku, _, _ in state.applied) == sorted(f"SKU-{i}" for i in range(6))
    assert all(state.listings[f"SKU-{i}"] == {"quantity": 9, "price": 1999, "currency": "EUR"}
               for i in range(6))  # fmt: skip
    assert [e.status for e in state.exchanges].count(429) == 5


async def test_5xx_are_retried_then_reported_as_retryable(
    fake: tuple[FakeAmazonState, str],
) -> None:
    state, base = fake
    order = state.create_order({"lines": [{"sku": "SKU-1", "quantity": 1}], "buyer": {}})
    mp = adapter(base)
    try:
        state.fail_next(500, 500, operation="getOrder")
        found = await mp.order(order["orderId"])
        assert found is not None and found.order_id == order["orderId"]
        state.fail_next(*[500] * 6, operation="getOrder")
        with pytest.raises(MarketplaceFailure) as failure:
            await mp.order(order["orderId"])
    finally:
        await mp.aclose()
    assert failure.value.retryable and failure.value.status == 500


async def test_a_timeout_is_retried(fake: tuple[FakeAmazonState, str]) -> None:
    state, base = fake
    state.timeout_seconds = 0.6
    order = state.create_order({"lines": [{"sku": "SKU-2", "quantity": 2}], "buyer": {}})
    mp = adapter(base, timeout="0.25")
    try:
        state.fail_next("timeout", operation="getOrder")
        started = time.monotonic()
        found = await mp.order(order["orderId"])
        elapsed = time.monotonic() - started
    finally:
        await mp.aclose()
    assert found is not None and found.lines[0].quantity == 2
    assert 0.25 <= elapsed < 0.6


async def test_calls_wait_for_the_rate_bucket(fake: tuple[FakeAmazonState, str]) -> None:
    _, base = fake
    # patchListingsItem: 5 requests/s, burst 5 (documented) x 4 -> 20/s after a burst of 5
    mp = adapter(base, rate_scale="4", concurrency="20")
    try:
        started = time.monotonic()
        results = await mp.push_listings(listings(15))
        elapsed = time.monotonic() - started
    finally:
        await mp.aclose()
    assert all(r.accepted for r in results)
    assert elapsed >= 0.4  # 10 calls past the burst at 20/s


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/11", parts.query, parts.fragment))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set")
async def test_two_clients_share_the_redis_bucket(fake: tuple[FakeAmazonState, str]) -> None:
    import redis.asyncio as aioredis

    _, base = fake
    url = redis_url()
    assert url is not None
    prefix = f"o2o:test:amazon:{uuid.uuid4().hex}:"
    one, two = aioredis.from_url(url), aioredis.from_url(url)
    first = adapter(base, RedisBuckets(one, prefix=prefix), rate_scale="4", concurrency="20")
    second = adapter(base, RedisBuckets(two, prefix=prefix), rate_scale="4", concurrency="20")
    try:
        started = time.monotonic()
        a, b = await asyncio.gather(
            first.push_listings(listings(10)), second.push_listings(listings(10))
        )
        elapsed = time.monotonic() - started
    finally:
        await first.aclose()
        await second.aclose()
        keys = [k async for k in one.scan_iter(match=prefix + "*")]
        if keys:
            await one.delete(*keys)
        await one.aclose()
        await two.aclose()
    assert all(r.accepted for r in a + b)
    # one bucket for both: 15 of the 20 calls past the burst of 5 at 20/s (apart: ~0.25 s)
    assert elapsed >= 0.6


async def test_tokens_and_secrets_never_reach_the_log(
    fake: tuple[FakeAmazonState, str], caplog: pytest.LogCaptureFixture
) -> None:
    state, base = fake
    caplog.set_level(logging.DEBUG)
    mp = adapter(base)
    try:
        await mp.push_listings(listings(2))
        state.expire_tokens()
        state.fail_next(429, 500)
        await mp.push_listings(listings(2))
        await mp.push_bulk(listings(5))
        with pytest.raises(MarketplaceFailure) as failure:
            await mp.http.json("getFeed", "GET", "/feeds/2021-06-30/feeds/nope")
        logging.getLogger("test").error("failure: %s", failure.value)
    finally:
        await mp.aclose()
    issued = [e.response_body for e in state.exchanges if e.operation == "lwaToken"]
    tokens = [httpx.Response(200, content=body).json()["access_token"] for body in issued]
    assert len(tokens) == 2
    assert "retry" in caplog.text  # the retries were logged...
    for secret in [*tokens, CLIENT_SECRET, REFRESH_TOKEN, "IwEBREFRESHSECRET"]:
        assert secret not in caplog.text  # ...without a token or secret
        assert secret not in repr(mp.account)


async def test_a_bulk_push_of_2000_skus_end_to_end(fake: tuple[FakeAmazonState, str]) -> None:
    state, base = fake
    state.seed({f"BULK-{i}": {"quantity": 0, "price": 1, "currency": "EUR"} for i in range(1990)})
    state.feed_polls = 2
    pushes = [Listing(f"BULK-{i}", i % 17, 100 + i, "EUR") for i in range(2000)]
    state.fail_next(429, operation="createFeed")
    state.fail_next(500, operation="getFeed")
    mp = adapter(base, feed_max_messages="800")
    try:
        results = await mp.push_bulk(pushes)
    finally:
        await mp.aclose()
    assert [r.sku for r in results] == [p.sku for p in pushes]
    refused = [r for r in results if not r.accepted]
    assert [r.sku for r in refused] == [f"BULK-{i}" for i in range(1990, 2000)]
    assert all("no listing" in (r.error or "") for r in refused)
    assert state.listings["BULK-1989"] == {"quantity": 1989 % 17, "price": 2089, "currency": "EUR"}
    created = [e for e in state.exchanges if e.operation == "createFeed" and e.status == 202]
    assert len(created) == 3  # 800 + 800 + 400 messages
    assert len(state.applied) == 1990


class Inbox:
    """A webhook receiver standing in for the SQS consumer."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

        async def receive(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=204)

        self.app = Starlette(routes=[Route("/amazon", receive, methods=["POST"])])


async def test_orders_notifications_and_shipping(fake: tuple[FakeAmazonState, str]) -> None:
    state, base = fake
    inbox = Inbox()
    mp = adapter(base, orders_page_size="2")
    with serving(inbox.app) as hook:
        async with httpx.AsyncClient(base_url=base) as control:
            config = {"notify_url": f"{hook}/amazon", "duplicate_notifications": True}
            await control.post("/_fake/config", json=config)
            placed: list[dict[str, Any]] = []
            for n in range(3):
                answer = await control.post(
                    "/_fake/orders",
                    json={
                        "lines": [{"sku": "SKU-5", "quantity": 1}, {"sku": "SKU-6", "quantity": 2}],
                        "buyer": {"name": f"Client {n}", "email": f"c{n}@marketplace.amazon.fr",
                                  "phone": "+33100000000"},
                    },
                )  # fmt: skip
                placed.append(answer.json())
            try:
                assert len(inbox.bodies) == 6  # each notification twice
                ids = [mp.order_ids_in_notification(b, {})[0] for b in inbox.bodies]
                assert ids == [p["orderId"] for p in placed for _ in range(2)]

                page = await mp.orders_since(None)
                assert [o.order_id for o in page.orders] == [p["orderId"] for p in placed]
                order = page.orders[0]
                assert order.status is MarketplaceOrderStatus.UNSHIPPED
                assert order.buyer.email == "c0@marketplace.amazon.fr"
                assert order.buyer.phone == "+33100000000"
                assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
                    ("SKU-5", 1, 1000),
                    ("SKU-6", 2, 1000),
                ]
                assert state.listings["SKU-6"]["quantity"] == 50 - 6

                before = len(state.exchanges)
                await mp.acknowledge(order)
                assert len(state.exchanges) == before  # no call: SP-API has none

                first_line = order.lines[0]
                await mp.confirm_shipment(
                    order,
                    Shipment("Colissimo", "6A0001", datetime.now(UTC),
                             (ShippedLine(first_line.line_id, first_line.sku, 1),)),
                )  # fmt: skip
                seen = (await control.get(f"/_fake/orders/{order.order_id}")).json()
                assert seen["status"] == "PARTIALLY_SHIPPED"
                assert seen["shipments"] == [
                    {"carrier": "Colissimo", "tracking": "6A0001",
                     "lines": [{"lineId": first_line.line_id, "quantity": 1}]}
                ]  # fmt: skip
                assert seen["acknowledged"] is False

                await control.post(f"/_fake/orders/{placed[2]['orderId']}/cancel")
                later = await mp.orders_since(page.cursor)
                statuses = {o.order_id: o.status for o in later.orders}
                assert statuses[placed[2]["orderId"]] is MarketplaceOrderStatus.CANCELLED
                assert statuses[order.order_id] is MarketplaceOrderStatus.UNSHIPPED  # partly

                for call in (mp.cancel, mp.refund):
                    with pytest.raises(MarketplaceFailure) as failure:
                        await call(order, [ShippedLine(first_line.line_id, "SKU-5", 1)], reason="x")
                    assert not failure.value.retryable
                    assert "Seller Central" in str(failure.value)
            finally:
                await mp.aclose()
    assert len(inbox.bodies) == 6 + 2 + 2  # shipment and cancellation notified too


async def test_refused_credentials_fail_without_retrying(
    fake: tuple[FakeAmazonState, str],
) -> None:
    state, base = fake
    bad = account(base)
    bad = MarketplaceAccount(bad.channel, bad.kind, bad.base_url,
                             {"client_id": "x", "refresh_token": REFRESH_TOKEN}, bad.options)  # fmt: skip
    mp = AmazonMarketplace(bad, buckets=MemoryBuckets())
    try:
        with pytest.raises(MarketplaceFailure) as failure:
            await mp.push_listings(listings(1))
    finally:
        await mp.aclose()
    assert failure.value.status == 401 and not failure.value.retryable
    assert REFRESH_TOKEN not in str(failure.value)
    assert [e.operation for e in state.exchanges] == ["lwaToken"]
    state.exchanges.clear()  # a token request without client_secret, on purpose


def test_a_feed_document_is_written_without_building_messages() -> None:
    """Listings cost the document's bytes and little else: no message objects pile up."""
    import io
    import tracemalloc

    from adapters.marketplaces.amazon import write_feed_document

    def generated() -> Iterator[Listing]:
        for i in range(3_000):
            yield Listing(f"SKU-{i:06d}", i % 50, 999 + i, "EUR")

    out = io.BytesIO()
    tracemalloc.start()
    count = write_feed_document(out, generated(), seller_id=SELLER, marketplace_id=MARKETPLACE,
                                product_type="PRODUCT", channel_code="DEFAULT")  # fmt: skip
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = len(out.getbuffer())
    assert count == 3_000
    assert peak - size < 200_000, (peak, size)  # ~1.1 MB document, a few kB beside it
