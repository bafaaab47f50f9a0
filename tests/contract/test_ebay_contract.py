"""The eBay adapter against the fake eBay (in process, through httpx's ASGI transport): every
request the adapter sends and every answer the fake gives, errors included, validates against
eBay's published specs (tests/contract/ebay_spec.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.contract.ebay_spec import SKIP_REASON, specs_present

if not specs_present:  # pragma: no cover - a fresh clone without ../shared/specs
    pytest.skip(SKIP_REASON, allow_module_level=True)

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.ebay import SCOPES, EbayMarketplace
from adapters.marketplaces.http import MemoryBuckets
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrderStatus,
    Shipment,
    ShippedLine,
)
from tests.contract.ebay_spec import validate_exchange, validate_exchanges
from tools.fake_marketplaces.ebay import FakeEbayState, create_app

BASE = "http://ebay.fake"
SEED = {
    "SKU-1": {"quantity": 10, "price": 1999, "currency": "EUR"},
    "SKU-2": {"quantity": 3, "price": 450, "currency": "EUR"},
    "SKU-3": {"quantity": 0, "price": 12000, "currency": "EUR"},
}


def account(**options: str) -> MarketplaceAccount:
    return MarketplaceAccount(
        channel="marketplace-ebay-fr",
        kind=MarketplaceKind.EBAY,
        base_url=BASE,
        credentials={"client_id": "app-id", "client_secret": "cert-id", "refresh_token": "v^1"},
        options={"marketplace_id": "EBAY_FR", "rate_scale": "1000", "backoff_initial": "0.01"}
        | options,
    )


@pytest.fixture
def state() -> FakeEbayState:
    fake = FakeEbayState(client_id="app-id", client_secret="cert-id", refresh_token="v^1")
    fake.seed(SEED)
    return fake


@pytest.fixture
async def ebay(state: FakeEbayState) -> AsyncIterator[EbayMarketplace]:
    transport = httpx.ASGITransport(app=create_app(state))
    adapter = EbayMarketplace(account(), buckets=MemoryBuckets(), transport=transport)
    yield adapter
    await adapter.aclose()
    assert validate_exchanges(state.exchanges) > 0


async def fake_call(
    state: FakeEbayState, method: str, path: str, **kwargs: object
) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_push_sets_price_and_quantity_and_reports_unknown_skus(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    results = await ebay.push_listings(
        [
            Listing("SKU-1", 7, 2199, "EUR"),
            Listing("NOPE", 1, 100, "EUR"),
            Listing("SKU-3", 2, 11000, "EUR"),
        ]
    )
    assert [(r.sku, r.accepted) for r in results] == [
        ("SKU-1", True),
        ("NOPE", False),
        ("SKU-3", True),
    ]
    assert "no eBay offer" in (results[1].error or "")
    assert state.listings["SKU-1"] == {"quantity": 7, "price": 2199, "currency": "EUR"}
    assert state.listings["SKU-3"]["quantity"] == 2
    bulk = [e for e in state.exchanges if e.operation == "bulkUpdatePriceQuantity"]
    sent = json.loads(bulk[0].body)["requests"]
    assert {r["sku"] for r in sent} == {"SKU-1", "SKU-3"}
    assert sent[0]["offers"][0]["price"] == {"value": "21.99", "currency": "EUR"}
    # offer ids are cached: a second push looks nothing up
    lookups = sum(e.operation == "getOffers" for e in state.exchanges)
    await ebay.push_listings([Listing("SKU-1", 6, 2199, "EUR")])
    assert sum(e.operation == "getOffers" for e in state.exchanges) == lookups


async def test_push_reads_per_offer_errors_of_a_multi_status_answer(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    await ebay.push_listings([Listing("SKU-2", 1, 450, "EUR")])
    results = await ebay.push_listings([Listing("SKU-2", 2, 450, "USD")])  # wrong currency
    assert not results[0].accepted and "25709" in (results[0].error or "")
    assert state.exchanges[-1].status == 207


async def test_bulk_push_batches_25_skus_per_call(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    state.seed({f"B-{i:03d}": {"quantity": 1, "price": 100, "currency": "EUR"} for i in range(60)})
    listings = [Listing(f"B-{i:03d}", i, 500 + i, "EUR") for i in range(60)]
    results = await ebay.push_bulk(listings)
    assert [r.sku for r in results] == [listing.sku for listing in listings]
    assert all(r.accepted for r in results)
    bulk = [e for e in state.exchanges if e.operation == "bulkUpdatePriceQuantity"]
    assert [len(json.loads(e.body)["requests"]) for e in bulk] == [25, 25, 10]
    assert state.listings["B-059"] == {"quantity": 59, "price": 559, "currency": "EUR"}


async def test_orders_pages_maps_and_follows_the_modified_date(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    first = state.place_order(
        [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}],
        {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+33600000000"},
        shipping=490,
    )
    page = await ebay.orders_since(None)
    assert [o.order_id for o in page.orders] == [first["orderId"]]
    order = page.orders[0]
    assert order.status is MarketplaceOrderStatus.UNSHIPPED
    assert order.currency == "EUR" and order.shipping_total == 490
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU-1", 2, 1999),
        ("SKU-2", 1, 450),
    ]
    assert order.lines[0].line_id == first["lineItems"][0]["lineItemId"]
    assert order.buyer.name == "Ada Lovelace" and order.buyer.email == "ada@example.com"
    assert order.ship_to["countryCode"] == "FR"
    later = await ebay.orders_since(page.cursor + timedelta(milliseconds=1))
    assert later.orders == () and later.cursor == page.cursor + timedelta(milliseconds=1)
    since = await ebay.orders_since(page.cursor)
    filters = [e.query for e in state.exchanges if e.operation == "getOrders"]
    assert "lastmodifieddate" in filters[-1]
    assert [o.order_id for o in since.orders] == [first["orderId"]]


async def test_orders_since_follows_every_page(ebay: EbayMarketplace, state: FakeEbayState) -> None:
    state.seed({"MANY": {"quantity": 1000, "price": 100, "currency": "EUR"}})
    for _ in range(205):
        state.place_order([{"sku": "MANY", "quantity": 1}])
    page = await ebay.orders_since(datetime.now(UTC) - timedelta(hours=1))
    assert len(page.orders) == 205 == len({o.order_id for o in page.orders})
    offsets = [e.query for e in state.exchanges if e.operation == "getOrders"]
    assert len(offsets) == 2 and "offset=200" in offsets[1]


async def test_ship_refund_and_statuses(ebay: EbayMarketplace, state: FakeEbayState) -> None:
    placed = state.place_order([{"sku": "SKU-1", "quantity": 2}])
    order = await ebay.order(placed["orderId"])
    assert order is not None
    await ebay.acknowledge(order)  # no call
    line = order.lines[0]
    shipment = Shipment(
        "ColiPoste", "6A123", datetime.now(UTC), (ShippedLine(line.line_id, "SKU-1", 2),)
    )
    await ebay.confirm_shipment(order, shipment)
    await ebay.confirm_shipment(order, shipment)  # 409: already recorded, not an error
    assert state.exchanges[-1].status == 409
    shipped = await ebay.order(order.order_id)
    assert shipped is not None and shipped.status is MarketplaceOrderStatus.SHIPPED
    await ebay.refund(
        order, [ShippedLine(line.line_id, "SKU-1", 1, amount=1999)], reason="buyer_return"
    )
    partly = await ebay.order(order.order_id)
    assert partly is not None and partly.status is MarketplaceOrderStatus.SHIPPED
    with pytest.raises(MarketplaceFailure) as refused:  # more than the line's remaining amount
        await ebay.refund(order, [ShippedLine(line.line_id, "SKU-1", 2, amount=3998)], reason="x")
    assert refused.value.status == 409 and not refused.value.retryable
    await ebay.refund(order, [ShippedLine(line.line_id, "SKU-1", 1, amount=1999)], reason="other")
    refunded = await ebay.order(order.order_id)
    assert refunded is not None and refunded.status is MarketplaceOrderStatus.REFUNDED
    summary = state.order_summary(order.order_id)
    assert summary is not None
    assert summary["shipments"] == [
        {
            "carrier": "ColiPoste",
            "tracking": "6A123",
            "lines": [{"lineId": line.line_id, "quantity": 2}],
        }
    ]
    assert summary["refunds"] == [
        {"lineId": line.line_id, "amount": 1999},
        {"lineId": line.line_id, "amount": 1999},
    ]
    body = json.loads(next(e.body for e in state.exchanges if e.operation == "issueRefund"))
    assert body["reasonForRefund"] == "BUYER_RETURN"


async def test_cancelled_orders_and_seller_cancel(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    placed = state.place_order([{"sku": "SKU-2", "quantity": 2}])
    assert state.listings["SKU-2"]["quantity"] == 1
    state.cancel_order(placed["orderId"])
    assert state.listings["SKU-2"]["quantity"] == 3
    order = await ebay.order(placed["orderId"])
    assert order is not None and order.status is MarketplaceOrderStatus.CANCELLED
    assert order.lines[0].cancelled == 2
    with pytest.raises(MarketplaceFailure) as failure:
        await ebay.cancel(order, [ShippedLine(order.lines[0].line_id, "SKU-2", 2)], reason="stock")
    assert not failure.value.retryable and "Seller Hub" in str(failure.value)
    assert await ebay.order("00-00000-00000") is None


async def test_failures_are_retried_and_answered_in_ebay_format(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    placed = state.place_order([{"sku": "SKU-1", "quantity": 1}])
    state.fail_next(429, 500, operation="getOrder")
    assert await ebay.order(placed["orderId"]) is not None
    state.expire_tokens()
    assert await ebay.order(placed["orderId"]) is not None
    statuses = [e.status for e in state.exchanges if e.operation == "getOrder"]
    assert statuses == [429, 500, 200, 401, 200]
    assert state.token_grants == 2


async def test_notification_signatures_checked_with_the_public_key(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    placed = state.place_order([{"sku": "SKU-1", "quantity": 1}])
    body = json.dumps(state.notification("ORDER_CONFIRMATION", placed)).encode()
    signed = {"X-EBAY-SIGNATURE": state.signature_header(body)}
    assert await ebay.verify_notification(body, signed)
    assert not await ebay.verify_notification(body + b" ", signed)
    other = FakeEbayState()  # another key under another kid: eBay answers 404
    assert not await ebay.verify_notification(
        body, {"X-EBAY-SIGNATURE": other.signature_header(body)}
    )
    assert [e.status for e in state.exchanges if e.operation == "getPublicKey"] == [200, 404]


async def test_fake_error_answers_match_the_spec(state: FakeEbayState) -> None:
    """Errors the adapter never provokes: checked straight against the fake."""
    token = (
        await fake_call(
            state,
            "POST",
            "/identity/v1/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": "v^1", "scope": SCOPES},
            auth=("app-id", "cert-id"),
        )
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    calls = [
        ("GET", "/sell/fulfillment/v1/order", {"params": {"filter": "nope:[x..]"}}),
        ("GET", "/sell/fulfillment/v1/order", {"params": {"limit": "500"}}),
        ("GET", "/sell/inventory/v1/offer", {}),
        ("POST", "/sell/inventory/v1/bulk_update_price_quantity", {"json": {"requests": []}}),
        ("POST", "/sell/fulfillment/v1/order/1-2-3/issue_refund", {"json": {}}),
        (
            "POST",
            "/sell/fulfillment/v1/order/1-2-3/shipping_fulfillment",
            {"json": {"lineItems": []}},
        ),
    ]
    for method, path, kwargs in calls:
        response = await fake_call(state, method, path, headers=bearer, **kwargs)  # type: ignore[arg-type]
        assert 400 <= response.status_code < 500, (path, response.text)
    stale = {"Authorization": "Bearer v^1.1#expired"}
    assert (
        await fake_call(state, "GET", "/sell/fulfillment/v1/order", headers=stale)
    ).status_code == 401
    bad = await fake_call(
        state,
        "POST",
        "/identity/v1/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "revoked", "scope": SCOPES},
        auth=("app-id", "cert-id"),
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert validate_exchanges(state.exchanges) == len(calls) + 1


def test_the_validator_rejects_what_the_spec_does_not_allow() -> None:
    from openapi_core.validation.request.exceptions import RequestValidationError
    from openapi_core.validation.response.exceptions import ResponseValidationError

    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    path = "/sell/fulfillment/v1/order/1-2-3/shipping_fulfillment"
    with pytest.raises(RequestValidationError):  # quantity is an integer
        validate_exchange(
            "POST", path, "", headers, b'{"lineItems": [{"lineItemId": "1", "quantity": "two"}]}',
            status=201, response_body=b"{}",
        )  # fmt: skip
    with pytest.raises(RequestValidationError):  # no bearer token
        validate_exchange(
            "GET", "/sell/fulfillment/v1/order", "", {}, b"", status=200, response_body=b"{}"
        )
    with pytest.raises(ResponseValidationError):  # total is an integer
        validate_exchange(
            "GET", "/sell/fulfillment/v1/order", "", headers, b"",
            status=200, response_body=b'{"total": "many"}',
        )  # fmt: skip
    with pytest.raises(ResponseValidationError):  # the error container
        validate_exchange(
            "GET", "/sell/fulfillment/v1/order", "", headers, b"",
            status=500, response_body=b'{"message": "boom"}',
        )  # fmt: skip
