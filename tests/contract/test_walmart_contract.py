"""The Walmart adapter against the fake Walmart, in process: every request the adapter sends and
every answer the fake gives (errors included), every feed document and every webhook body is
checked against Walmart's published files (../shared/specs/walmart, see walmart_spec)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import MemoryBuckets
from adapters.marketplaces.walmart import WalmartMarketplace
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrderStatus,
    Shipment,
    ShippedLine,
)
from tests.contract import walmart_spec as ws
from tools.fake_marketplaces.walmart import FakeWalmartState, create_app

pytestmark = ws.requires_specs

OPTIONS = {
    "ship_node": "SN-1",
    "rate_scale": "1000",
    "backoff_initial": "0.01",
    "feed_poll_interval": "0.01",
    "orders_page_size": "2",
    "token_margin": "0",
}


class Fake:
    """The fake's state, its app and an in-process client for its control routes."""

    def __init__(self) -> None:
        self.state = FakeWalmartState(ship_nodes={"SN-1"}, feed_polls=1)
        self.app = create_app(self.state)
        self.control = httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app), base_url="http://fake"
        )

    async def post(self, path: str, body: Any) -> Any:
        response = await self.control.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    f = Fake()
    yield f
    await f.control.aclose()


@pytest.fixture
async def walmart(fake: Fake) -> AsyncIterator[WalmartMarketplace]:
    account = MarketplaceAccount(
        "marketplace-walmart-us",
        MarketplaceKind.WALMART,
        "http://fake",
        {"client_id": "contract-client", "client_secret": "contract-secret"},
        OPTIONS,
    )
    adapter = WalmartMarketplace(
        account, buckets=MemoryBuckets(), transport=httpx.ASGITransport(fake.app)
    )
    yield adapter
    await adapter.aclose()


def assert_exchanges_match_spec(state: FakeWalmartState) -> set[tuple[str, int]]:
    """Validate every exchange; the (operation, status) pairs seen."""
    assert state.exchanges, "no traffic reached the fake"
    seen = set()
    for ex in state.exchanges:
        try:
            ws.validate_recorded(ex)
        except Exception as error:  # the exchange in the message, not only the validator's
            raise AssertionError(
                f"{ex.operation} {ex.method} {ex.path}?{ex.query} -> {ex.status}: "
                f"{error!r} / {error.__cause__!r}"
            ) from error
        seen.add((ex.operation, ex.status))
        if ex.operation in ("updateBulkInventory", "priceBulkUploads") and ex.status == 200:
            feed_type = "MP_INVENTORY" if ex.operation == "updateBulkInventory" else "price"
            ws.validate_feed_document(feed_type, ws.multipart_file(ex.headers, ex.body))
    return seen


async def test_a_whole_round_of_calls_and_errors_matches_the_walmart_files(
    fake: Fake, walmart: WalmartMarketplace
) -> None:
    await fake.post(
        "/_fake/listings",
        {f"WM-{i}": {"quantity": 5, "price": 1000, "currency": "USD"} for i in range(4)},
    )

    pushed = await walmart.push_listings(
        [Listing("WM-0", 7, 1999, "USD"), Listing("UNKNOWN", 1, 100, "USD")]
    )
    assert [r.accepted for r in pushed] == [True, False]
    assert "CONTENT_NOT_FOUND" in (pushed[1].error or "")

    bulk = await walmart.push_bulk(
        [
            Listing("WM-1", 3, 1250, "USD"),
            Listing("WM-2", 0, 99, "USD"),
            Listing("NOPE", 1, 100, "USD"),
        ]
    )
    assert [r.accepted for r in bulk] == [True, True, False]
    assert fake.state.listings["WM-1"] == {"quantity": 3, "price": 1250, "currency": "USD"}

    ids = [
        (
            await fake.post(
                "/_fake/orders",
                {
                    "lines": [{"sku": "WM-0", "quantity": 2}, {"sku": "WM-3", "quantity": 1}],
                    "buyer": {"name": "Ann Buyer", "email": "ann@example.com", "phone": "5550100"},
                },
            )
        )["orderId"]
        for _ in range(3)
    ]
    page = await walmart.orders_since(None)  # three orders, two per page
    assert sorted(o.order_id for o in page.orders) == sorted(ids)
    order = next(o for o in page.orders if o.order_id == ids[0])
    assert order.status is MarketplaceOrderStatus.UNSHIPPED
    assert [(ln.line_id, ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("1", "WM-0", 2, 1999),
        ("2", "WM-3", 1, 1000),
    ]
    assert order.buyer.email == "ann@example.com" and order.buyer.phone == "5550100"

    assert await walmart.order("0000000000000") is None  # 404
    fake.state.fail_next(429, operation="getAnOrder")
    fake.state.fail_next(500, operation="getAllOrders")
    fake.state.expire_tokens()  # the next call answers 401 and the adapter fetches a new token
    again = await walmart.order(ids[0])
    assert again is not None and again.order_id == ids[0]
    assert (await walmart.orders_since(datetime(2000, 1, 1, tzinfo=UTC))).orders

    await walmart.acknowledge(order)
    now = datetime.now(UTC)
    await walmart.confirm_shipment(
        order, Shipment("UPS", "1Z999", now, (ShippedLine("1", "WM-0", 2),))
    )
    with pytest.raises(MarketplaceFailure) as refused:  # more units than the line has left
        await walmart.confirm_shipment(
            order, Shipment("Acme Post", "AP-1", now, (ShippedLine("1", "WM-0", 1),))
        )
    assert refused.value.status == 400 and not refused.value.retryable
    await walmart.cancel(order, [ShippedLine("2", "WM-3", 1)], reason="out of stock")
    await walmart.refund(order, [ShippedLine("1", "WM-0", 1, amount=500)], reason="damaged")
    after = await walmart.order(ids[0])
    assert after is not None and after.status is MarketplaceOrderStatus.SHIPPED
    assert after.lines[1].cancelled == 1

    await fake.post(f"/_fake/orders/{ids[1]}/cancel", {})
    cancelled = await walmart.order(ids[1])
    assert cancelled is not None and cancelled.status is MarketplaceOrderStatus.CANCELLED

    seen = assert_exchanges_match_spec(fake.state)
    statuses = {status for _, status in seen}
    assert {200, 400, 401, 404, 429, 500} <= statuses
    assert {op for op, _ in seen} >= {
        "tokenAPI",
        "updateMultiNodeInventory",
        "updatePrice",
        "updateBulkInventory",
        "priceBulkUploads",
        "getFeedItemStatus",
        "getAllOrders",
        "getAnOrder",
        "acknowledgeOrders",
        "shippingUpdates",
        "cancelOrderLines",
        "refundOrderLines",
    }

    events = [ws.validate_notification(body) for body in fake.state.notifications]
    assert events == ["PO_CREATED"] * 3 + ["PO_LINE_AUTOCANCELLED"]
    assert [walmart.order_ids_in_notification(b, {}) for b in fake.state.notifications] == [
        [ids[0]],
        [ids[1]],
        [ids[2]],
        [ids[1]],
    ]


async def test_fake_errors_for_bad_input_match_the_files(fake: Fake) -> None:
    """Answers the adapter never provokes: a bad token request, a missing WM_ header, a price
    for an unknown SKU, an unknown feed, a multipart upload without a file."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(fake.app), base_url="http://fake")
    wm = {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": "c-1"}
    token = await client.post(
        "/v3/token",
        headers={**wm, "Authorization": "Basic YTpi"},
        data={"grant_type": "client_credentials"},
    )
    access = {**wm, "WM_SEC.ACCESS_TOKEN": token.json()["access_token"]}
    await client.post(
        "/v3/token",
        headers={**wm, "Authorization": "Basic Og=="},
        data={"grant_type": "client_credentials"},
    )
    await client.put(
        "/v3/price",
        headers=access,
        json={
            "sku": "GHOST",
            "pricing": [
                {"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": 1.0}}
            ],
        },
    )
    await client.get("/v3/feeds/NOFEED", headers=access, params={"includeDetails": "true"})
    await client.get("/v3/orders/123", headers={"WM_SEC.ACCESS_TOKEN": access["WM_SEC.ACCESS_TOKEN"],
                                                 "WM_SVC.NAME": "x"})  # fmt: skip
    await client.post(
        "/v3/feeds",
        headers=access,
        params={"feedType": "price"},
        files={"other": ("x.json", b"{}", "application/json")},
    )
    await client.aclose()
    statuses = []
    for ex in fake.state.exchanges:
        statuses.append(ex.status)
        request_ok = True
        try:
            ws.validate_request(ex.method, ex.path, ex.query, ex.headers, ex.body)
        except Exception:
            request_ok = False
        if request_ok:
            ws.validate_recorded(ex)
        else:  # the request itself is off-spec on purpose: check the answer's envelope alone
            body = json.loads(ex.response_body)
            assert ex.status >= 400 and body["errors"][0]["code"]
    assert statuses == [200, 401, 404, 404, 400, 400]


def test_the_adapter_reads_walmart_example_orders() -> None:
    orders = ws.loaded("orders")["paths"]
    get = orders["/v3/orders/{purchaseOrderId}"]["get"]["responses"]["200"]
    example = get["content"]["application/json"]["examples"]["ORDER"]["value"]["order"]
    order = WalmartMarketplace.parse_order(example)
    assert order.order_id == example["purchaseOrderId"]
    assert order.status is MarketplaceOrderStatus.SHIPPED
    first = example["orderLines"]["orderLine"][0]
    assert order.lines[0].line_id == first["lineNumber"]
    assert order.lines[0].sku == first["item"]["sku"]
    assert order.currency == "USD"
    assert order.buyer.email == example["customerEmailId"]
    assert order.ship_to["postalCode"] == example["shippingInfo"]["postalAddress"]["postalCode"]
    for path in ("acknowledge", "shipping", "cancel", "refund"):
        post = orders[f"/v3/orders/{{purchaseOrderId}}/{path}"]["post"]["responses"]["200"]
        content = post["content"]["application/json"]
        samples = [content["example"]] if "example" in content else []
        samples += [e["value"] for e in content.get("examples", {}).values()]
        for sample in samples:
            parsed = WalmartMarketplace.parse_order(sample["order"])
            assert parsed.order_id == sample["order"]["purchaseOrderId"]
            assert all(ln.quantity >= ln.cancelled for ln in parsed.lines)


def test_the_patched_files_are_valid_openapi() -> None:
    from openapi_spec_validator import OpenAPIV30SpecValidator

    for name in ("auth", "feeds", "inventory", "notifications", "prices"):
        errors = [str(e)[:200] for e in OpenAPIV30SpecValidator(ws.spec(name)).iter_errors()]
        assert errors == [], name


def test_the_example_based_checks_are_not_vacuous() -> None:
    good = {
        "inventoryHeader": {"version": "1.5"},
        "inventory": [
            {
                "sku": "A",
                "shipNodes": [{"shipNode": "N", "quantity": {"unit": "EACH", "amount": 1}}],
            }
        ],
    }
    ws.validate_feed_document("MP_INVENTORY", json.dumps(good).encode())
    bad = json.loads(json.dumps(good))
    bad["inventory"][0]["qty"] = 1
    with pytest.raises(Exception, match="qty"):
        ws.validate_feed_document("MP_INVENTORY", json.dumps(bad).encode())
    price = {"PriceHeader": {"version": "1.7"}, "Price": [{"sku": "A", "pricing": [{}]}]}
    with pytest.raises(Exception, match="currentPrice"):
        ws.validate_feed_document("price", json.dumps(price).encode())
    with pytest.raises(Exception, match="payload"):
        ws.validate_notification(b'{"source": {"eventType": "PO_CREATED"}}')
    assert {"PO_CREATED", "PO_LINE_AUTOCANCELLED"} <= ws.order_event_types()


def test_notifications_the_adapter_reads_and_refuses(walmart: WalmartMarketplace) -> None:
    item_event = {
        "source": {"eventType": "OFFER_UNPUBLISHED", "eventTime": "t", "eventId": "e"},
        "payload": {"sku": "A"},
    }
    assert walmart.order_ids_in_notification(json.dumps(item_event).encode(), {}) == []
    updates = {
        "source": {"eventType": "ORDER_UPDATES", "eventTime": "t", "eventId": "e"},
        "payload": {"subEventType": "INTENT_TO_CANCEL", "order": {"purchaseOrderId": "42"}},
    }
    assert walmart.order_ids_in_notification(json.dumps(updates).encode(), {}) == ["42"]
    for body in (b"not json", b"[1, 2]", b'{"eventType": "PO_CREATED"}'):
        with pytest.raises(ValueError):
            walmart.order_ids_in_notification(body, {})
    with pytest.raises(ValueError):  # an order event must name its order
        walmart.order_ids_in_notification(
            b'{"source": {"eventType": "PO_CREATED"}, "payload": {}}', {}
        )
