"""Contract: every request the Amazon adapter sends and every answer the fake gives (errors,
feed documents, processing reports and notifications included) match Amazon's published
models in ../shared/specs/amazon-sp-api/. In-process (ASGI transport): fast."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.marketplaces.amazon import DOCUMENTED_RATES, AmazonMarketplace
from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import MemoryBuckets
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrderStatus,
    Shipment,
    ShippedLine,
)
from tests.contract.amazon_spec import (
    API_FILES,
    NOTIFICATION_SCHEMA,
    REPORT_SCHEMA,
    assert_exchanges_valid,
    exchange_errors,
    json_schema,
    notification_errors,
    requires_spec,
    swagger,
)
from tools.fake_marketplaces.amazon import FakeAmazonState, create_app

pytestmark = requires_spec

BASE = "http://amazon.test"
SELLER = "A1FAKESELLER"
MARKETPLACE = "A13V1IB3VIYZZH"


def make_account(**options: str) -> MarketplaceAccount:
    return MarketplaceAccount(
        channel="marketplace-amazon-fr",
        kind=MarketplaceKind.AMAZON,
        base_url=BASE,
        credentials={
            "client_id": "amzn1.application-oa2-client.test",
            "client_secret": "amzn1.oa2-cs.v1.SECRET",
            "refresh_token": "Atzr|REFRESH",
        },
        options={
            "seller_id": SELLER,
            "marketplace_id": MARKETPLACE,
            "token_url": f"{BASE}/auth/o2/token",
            "rate_scale": "1000",
            "backoff_initial": "0.01",
            "backoff_max": "0.05",
            "feed_poll": "0.001",
            **options,
        },
    )


@pytest.fixture
def state() -> FakeAmazonState:
    fake = FakeAmazonState(seller_id=SELLER, marketplace_id=MARKETPLACE)
    fake.seed({f"SKU-{i}": {"quantity": 100, "price": 1000, "currency": "EUR"} for i in range(60)})
    return fake


@pytest.fixture
async def market(state: FakeAmazonState) -> AsyncIterator[AmazonMarketplace]:
    transport = httpx.ASGITransport(app=create_app(state))
    mp = AmazonMarketplace(
        make_account(feed_max_messages="20", orders_page_size="2"),
        buckets=MemoryBuckets(),
        transport=transport,
    )
    yield mp
    await mp.aclose()


async def test_rates_are_the_documented_usage_plans() -> None:
    plans = {}
    for name in API_FILES:
        for item in swagger(name)["paths"].values():
            for method, op in item.items():
                if method == "parameters":
                    continue
                found = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op.get("description", ""))
                if found:
                    plans[op["operationId"], name] = (float(found[1]), int(found[2]))
    files = {
        "patchListingsItem": "listingsItems_2021-08-01.json",
        "searchOrders": "orders_2026-01-01.json",
        "getOrder": "orders_2026-01-01.json",
        "confirmShipment": "ordersV0.json",
    }
    for operation, rate in DOCUMENTED_RATES.items():
        assert plans[operation, files.get(operation, "feeds_2021-06-30.json")] == rate, operation


async def test_push_listings(market: AmazonMarketplace, state: FakeAmazonState) -> None:
    results = await market.push_listings(
        [
            Listing("SKU-1", 7, 1299, "EUR"),
            Listing("SKU/2", 1, 100, "EUR"),  # unknown (and a slash in the path)
            Listing("SKU-3", 0, 5, "EUR"),
        ]
    )
    assert [(r.sku, r.accepted) for r in results] == [
        ("SKU-1", True),
        ("SKU/2", False),
        ("SKU-3", True),
    ]
    assert "no listing" in (results[1].error or "")
    assert state.listings["SKU-1"] == {"quantity": 7, "price": 1299, "currency": "EUR"}
    assert state.listings["SKU-3"]["quantity"] == 0
    assert_exchanges_valid(state.exchanges)
    patches = [e for e in state.exchanges if e.operation == "patchListingsItem"]
    assert len(patches) == 3


async def test_push_bulk_through_feeds(market: AmazonMarketplace, state: FakeAmazonState) -> None:
    listings = [Listing(f"SKU-{i}", i, 500 + i, "EUR") for i in range(48)]
    listings += [Listing("NOPE-1", 1, 1, "EUR"), Listing("NOPE-2", 1, 1, "EUR")]
    state.fail_next(429, operation="createFeed")
    state.fail_next(500, operation="uploadFeedDocument")
    results = await market.push_bulk(listings)
    assert len(results) == 50
    assert [r.sku for r in results] == [x.sku for x in listings]
    refused = {r.sku: r.error for r in results if not r.accepted}
    assert set(refused) == {"NOPE-1", "NOPE-2"}
    assert state.listings["SKU-47"] == {"quantity": 47, "price": 547, "currency": "EUR"}
    feeds = [e for e in state.exchanges if e.operation == "createFeed" and e.status == 202]
    assert len(feeds) == 3  # 20 messages per feed here
    assert len(state.applied) == 48  # each SKU once, despite the retried calls
    kinds = {e.operation for e in state.exchanges}
    assert {"uploadFeedDocument", "downloadFeedDocument", "getFeedDocument", "getFeed"} <= kinds
    assert_exchanges_valid(state.exchanges)


async def test_orders_search_get_and_ship(
    market: AmazonMarketplace, state: FakeAmazonState
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = []
    for n in range(5):
        order = state.create_order(
            {
                "lines": [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": 2}],
                "buyer": {"name": f"Buyer {n}", "email": f"b{n}@marketplace.amazon.fr"},
            }
        )
        ids.append(order["orderId"])
    page = await market.orders_since(start)
    assert [o.order_id for o in page.orders] == ids  # three pages of two
    first = page.orders[0]
    assert first.status is MarketplaceOrderStatus.UNSHIPPED
    assert first.buyer.email == "b0@marketplace.amazon.fr"
    assert [(line.sku, line.quantity, line.unit_price) for line in first.lines] == [
        ("SKU-1", 1, 1000),
        ("SKU-2", 2, 1000),
    ]
    assert first.ship_to["postalCode"] == "75002"
    assert page.cursor >= first.updated_at

    again = await market.order(ids[0])
    assert again == first
    assert await market.order("999-0000000-0000000") is None

    shipment = Shipment(
        carrier="Colissimo",
        tracking_number="6A12345678901",
        shipped_at=datetime.now(UTC),
        lines=tuple(ShippedLine(line.line_id, line.sku, line.quantity) for line in first.lines),
    )
    await market.confirm_shipment(first, shipment)
    await market.confirm_shipment(first, shipment)  # the same package again: harmless
    shipped = await market.order(ids[0])
    assert shipped is not None and shipped.status is MarketplaceOrderStatus.SHIPPED
    assert len(state.shipments[ids[0]]) == 1

    state.cancel_order(ids[1])
    later = await market.orders_since(page.cursor - timedelta(seconds=1))
    cancelled = next(o for o in later.orders if o.order_id == ids[1])
    assert cancelled.status is MarketplaceOrderStatus.CANCELLED
    assert [line.cancelled for line in cancelled.lines] == [1, 2]

    wrong = Shipment("UPS", "1Z999", datetime.now(UTC), (ShippedLine("nope", "SKU-1", 1),))
    with pytest.raises(MarketplaceFailure) as failure:
        await market.confirm_shipment(later.orders[-1], wrong)
    assert failure.value.status == 400 and not failure.value.retryable
    assert_exchanges_valid(state.exchanges)


async def test_error_answers_match_the_models(
    market: AmazonMarketplace, state: FakeAmazonState
) -> None:
    state.fail_next(429, 500, operation="getOrder")
    assert await market.order("nope") is None
    await market.push_listings([Listing("SKU-1", 1, 1, "EUR")])
    state.expire_tokens()
    await market.push_listings([Listing("SKU-1", 2, 1, "EUR")])
    statuses = [e.status for e in state.exchanges]
    assert {429, 500, 403, 404} <= set(statuses)
    # answers to calls the adapter would not make: unknown feed, bad feed, bad search
    await market.http.request("getFeed", "GET", "/feeds/2021-06-30/feeds/1")
    await market.http.request(
        "createFeed",
        "POST",
        "/feeds/2021-06-30/feeds",
        json={"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MARKETPLACE],
              "inputFeedDocumentId": "missing"},
    )  # fmt: skip
    await market.http.request("searchOrders", "GET", "/orders/2026-01-01/orders")
    assert [e.status for e in state.exchanges[-3:]] == [404, 400, 400]
    assert_exchanges_valid(state.exchanges)


async def access_token(client: httpx.AsyncClient) -> str:
    """An access token from the fake's LWA endpoint (for calls made by hand)."""
    answer = await client.post(
        "/auth/o2/token",
        data={"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c",
              "client_secret": "s"},
    )  # fmt: skip
    token: str = answer.json()["access_token"]
    return token


async def test_contract_checks_catch_a_bad_request(state: FakeAmazonState) -> None:
    """The checks are not vacuous: an undocumented parameter and a bad body are reported."""
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(base_url=BASE, transport=transport) as client:
        token = await access_token(client)
        await client.patch(
            f"/listings/2021-08-01/items/{SELLER}/SKU-1",
            params={"marketplaceIds": MARKETPLACE, "verbose": "1"},
            json={"productType": "PRODUCT", "patches": [{"op": "set", "path": "/x"}]},
            headers={"x-amz-access-token": token},
        )
    problems = exchange_errors(state.exchanges[-1])
    assert any("undocumented query parameter verbose" in p for p in problems)
    assert any("'set' is not one of" in p for p in problems)


async def test_notifications_match_their_schema(
    market: AmazonMarketplace, state: FakeAmazonState
) -> None:
    state.duplicate_notifications = True
    order = state.create_order({"lines": [{"sku": "SKU-9", "quantity": 1}], "buyer": {}})
    await state.notify(order, "Order placed")
    state.cancel_order(order["orderId"])
    await state.notify(order, "Buyer cancelled")
    assert len(state.notifications) == 4
    for body in state.notifications:
        assert notification_errors(body) == []
        assert market.order_ids_in_notification(body, {}) == [order["orderId"]]
    example = json_schema(NOTIFICATION_SCHEMA)["examples"][0]
    assert market.order_ids_in_notification(json.dumps(example).encode(), {}) == [
        "903-8868176-2219830"
    ]
    wrapped = {"detail-type": "ORDER_CHANGE", "detail": example}  # as EventBridge delivers
    assert market.order_ids_in_notification(json.dumps(wrapped).encode(), {}) == [
        "903-8868176-2219830"
    ]
    fallback = {"NotificationType": "FEED_PROCESSING_FINISHED", "Payload": {}}
    other = (json_schema("FeedProcessingFinishedNotification.json").get("examples") or [fallback])[
        0
    ]
    assert market.order_ids_in_notification(json.dumps(other).encode(), {}) == []
    for junk in (b"not json", b"[]", b'{"hello": 1}'):
        with pytest.raises(ValueError):
            market.order_ids_in_notification(junk, {})


async def test_the_documented_examples_map(market: AmazonMarketplace) -> None:
    """The models' own examples: a searchOrders answer and a processing report."""
    op = swagger("orders_2026-01-01.json")["paths"]["/orders/2026-01-01/orders"]["get"]
    example: dict[str, Any] = op["responses"]["200"]["examples"]["application/json"]
    order = market._order(copy.deepcopy(example["orders"][0]))
    assert order.order_id == "123-4567890-1234567"
    assert order.status is MarketplaceOrderStatus.SHIPPED
    assert order.buyer.email == "buyer-email@marketplace.amazon.com"
    assert order.lines[0].line_id == "12345678901234"
    assert order.lines[0].unit_price == 4999 and order.currency == "USD"

    report = json_schema(REPORT_SCHEMA.replace(".json", ".example.json"))
    chunk = [Listing(f"S{i}", 1, 1, "USD") for i in range(1, 7)]
    results = market._results(chunk, "DONE", "1234567890", report)
    refused = {r.sku for r in results if not r.accepted}
    assert refused == {"S4", "S5"}  # the example's ERROR issues name messages 4 and 5


async def test_a_fatal_feed_refuses_every_sku(
    market: AmazonMarketplace, state: FakeAmazonState
) -> None:
    """A feed document Amazon cannot read ends FATAL; its report (issues naming no message)
    holds to the report schema, and every SKU of the feed is refused."""
    document = await market.http.json(
        "createFeedDocument", "POST", "/feeds/2021-06-30/documents",
        json={"contentType": "application/json; charset=UTF-8"},
    )  # fmt: skip
    await market._plain.request("uploadFeedDocument", "PUT", document["url"], content=b"{oops")
    created = await market.http.json(
        "createFeed", "POST", "/feeds/2021-06-30/feeds",
        json={"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MARKETPLACE],
              "inputFeedDocumentId": document["feedDocumentId"]},
    )  # fmt: skip
    feed = await market._wait_for_feed(created["feedId"])
    assert feed["processingStatus"] == "FATAL"
    report = await market._download_report(feed["resultFeedDocumentId"])
    results = market._results([Listing("SKU-1", 1, 1, "EUR")], "FATAL", created["feedId"], report)
    assert not results[0].accepted and "Invalid feed" in (results[0].error or "")
    assert not market._results([Listing("SKU-1", 1, 1, "EUR")], "CANCELLED", "9", {})[0].accepted
    # the upload is not a valid feed document: the only problem the checks report
    problems = [p for e in state.exchanges for p in exchange_errors(e)]
    assert len(problems) == 1 and problems[0].startswith("feed document")


async def test_contract_checks_catch_a_bad_answer(state: FakeAmazonState) -> None:
    """An order without its required orderItems is reported against the model."""
    transport = httpx.ASGITransport(app=create_app(state))
    order = state.create_order({"lines": [{"sku": "SKU-1", "quantity": 1}], "buyer": {}})
    async with httpx.AsyncClient(base_url=BASE, transport=transport) as client:
        token = await access_token(client)
        await client.get(
            f"/orders/2026-01-01/orders/{order['orderId']}",
            headers={"x-amz-access-token": token},
        )
    exchange = state.exchanges[-1]
    assert exchange_errors(exchange) == []
    broken = json.loads(exchange.response_body)
    del broken["order"]["orderItems"]
    exchange.response_body = json.dumps(broken).encode()
    assert any("'orderItems' is a required property" in p for p in exchange_errors(exchange))
