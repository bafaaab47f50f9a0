"""Walmart Marketplace (US) as a marketplace channel: the Marketplace API v3 over MarketplaceHttp.

- Access tokens come from the Token API (OAuth client credentials, Basic client_id:client_secret)
  and go out as ``WM_SEC.ACCESS_TOKEN``; every call also carries ``WM_SVC.NAME`` and a fresh
  ``WM_QOS.CORRELATION_ID``.
- ``push_listings`` sets the quantity at the account's ship node (multi-node inventory) and the
  price, one SKU at a time; ``push_bulk`` sends an MP_INVENTORY feed and a price feed, polls the
  feed status until processed and reads the per-item statuses.
- Orders are read with getAllOrders (``lastModifiedStartDate``, or ``createdStartDate`` on the
  first pull, every page through ``nextCursor``) and getAnOrder; acknowledge, ship, cancel and
  refund act on order lines (a line's id is its ``lineNumber``).

Account: ``credentials`` {"client_id", "client_secret"}; ``options``: ``ship_node`` (the
fulfilment node inventory is set at; required for pushes), ``service_name`` (WM_SVC.NAME),
``channel_type`` (WM_CONSUMER.CHANNEL.TYPE, when Walmart gave one), the common ``rate_scale``,
``attempts``, ``backoff_initial``, ``backoff_jitter``, ``backoff_max`` and ``timeout`` (see
``MarketplaceHttp.for_account``), ``token_margin`` (seconds before expiry a token is renewed,
default 60), ``orders_page_size`` (default 100, at most 200),
``initial_days`` (how far back the first pull reads, default 30), ``cursor_overlap`` (seconds
the next pull re-reads, default 120), ``feed_poll_interval`` (default 15), ``feed_timeout``
(default 3600), ``feed_max_bytes``, ``token_url`` (default ``base_url`` + /v3/token).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import (
    Buckets,
    CachedToken,
    MarketplaceHttp,
    Rate,
    minor_to_decimal,
    money_to_minor,
    utc_iso,
)
from domain.marketplaces.model import (
    Listing,
    MarketplaceBuyer,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrder,
    MarketplaceOrderLine,
    MarketplaceOrderStatus,
    OrderPage,
    PushResult,
    Shipment,
    ShippedLine,
)

# Requests per second and burst per operation (operation ids of the Walmart spec files).
# The spec files give no throttling figures. Walmart's throttling table for feeds gives 10 bulk
# inventory feeds and 10 bulk price feeds per hour (files up to 5 MB and 10 MB); those two are
# taken as documented. The single-item inventory and price updates are described by Walmart as
# "highly throttled", meant for exceptions: 1 per second here. Reads and order actions: 2 per
# second with a burst of 10, and the token API 1 per second (a token lasts 900 s): conservative
# figures of ours, not Walmart's. ``rate_scale`` multiplies the per-second rates (bursts stay).
RATES: Mapping[str, Rate] = {
    "tokenAPI": Rate(1.0, 5),
    "updateMultiNodeInventory": Rate(1.0, 5),
    "updatePrice": Rate(1.0, 5),
    "updateBulkInventory": Rate(10 / 3600, 10),
    "priceBulkUploads": Rate(10 / 3600, 10),
    "getFeedItemStatus": Rate(1.0, 5),
    "getAllOrders": Rate(2.0, 10),
    "getAnOrder": Rate(2.0, 10),
    "acknowledgeOrders": Rate(2.0, 10),
    "shippingUpdates": Rate(2.0, 10),
    "cancelOrderLines": Rate(2.0, 10),
    "refundOrderLines": Rate(2.0, 10),
}

CURRENCIES = ("USD", "CAD")  # the only currencies Walmart's price schemas take
INVENTORY_FEED_MAX_BYTES = 5_000_000  # Walmart: 5 MB per bulk inventory feed file
PRICE_FEED_MAX_BYTES = 10_000_000  # Walmart: 10 MB per bulk price feed file
FEED_STATUS_PAGE = 1000  # items per feed status page (Walmart's largest ``limit``)

# Carriers Walmart names in trackingInfo.carrierName.carrier; any other goes as otherCarrier.
CARRIERS = {
    c.lower(): c
    for c in (
        "UPS",
        "USPS",
        "FedEx",
        "DHL",
        "DHL Ecommerce - US",
        "OnTrac",
        "LSO",
        "LS",
        "UDS",
        "GLS",
        "Royal Mail",
        "Canada Post",
        "Asendia",
        "Sendle",
        "Landmark Global",
        "AxleHire",
        "Better Trucks",
        "CEVA",
        "XPO Logistics",
        "TForce Freight",
        "OSM Worldwide",
        "ePost Global",
    )
}
METHOD_CODES = {"standard", "express", "oneday", "freight", "whiteglove", "value"}
CANCEL_REASONS = (
    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
    "SELLER_CANCEL_PRICING_ERROR",
    "SELLER_CANCEL_OUT_OF_STOCK",
    "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
    "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
)
REFUND_REASONS = (
    "BillingError",
    "TaxExemptCustomer",
    "ItemNotAsAdvertised",
    "IncorrectItemReceived",
    "CancelledYetShipped",
    "ItemNotReceivedByCustomer",
    "IncorrectShippingPrice",
    "DamagedItem",
    "DefectiveItem",
    "CustomerChangedMind",
    "CustomerReceivedItemLate",
    "Others",
)
# Webhook event types about orders (resourceName ORDER); ORDER_UPDATES carries a subEventType.
ORDER_EVENTS = {
    "PO_CREATED",
    "PO_LINE_AUTOCANCELLED",
    "ORDER_UPDATES",
    "INTENT_TO_CANCEL",
    "FRAUD_CANCEL",
}

_OPEN = {"Created", "Acknowledged"}
_SHIPPED = {"Shipped", "Delivered"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: Any) -> datetime:
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _errors_text(body: Any) -> str:
    """Walmart's ``errors`` list (or ingestionErrors) as one line."""
    items: list[Any] = []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            items = errors
        elif isinstance(errors, dict):
            items = errors.get("error", []) if isinstance(errors.get("error"), list) else []
        ingestion = body.get("ingestionErrors")
        if isinstance(ingestion, dict) and isinstance(ingestion.get("ingestionError"), list):
            items = items + ingestion["ingestionError"]
    parts = []
    for item in items:
        if isinstance(item, dict):
            text = item.get("description") or item.get("info") or ""
            parts.append(f"{item.get('code', '?')}: {text}".rstrip(": "))
    return "; ".join(parts) or "refused"


@dataclass
class _FeedResult:
    """Per-SKU outcome of one feed (None: accepted; else the error)."""

    outcome: dict[str, str | None]


class WalmartMarketplace:
    """One Walmart seller account."""

    kind = MarketplaceKind.WALMART

    def __init__(
        self,
        account: MarketplaceAccount,
        *,
        buckets: Buckets,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = account.options
        self.account = account
        self.ship_node = options.get("ship_node", "")
        self.service_name = options.get("service_name", "Walmart Marketplace")
        self.channel_type = options.get("channel_type")
        self.page_size = max(1, min(200, int(options.get("orders_page_size", "100"))))
        self.initial_days = float(options.get("initial_days", "30"))
        self.cursor_overlap = float(options.get("cursor_overlap", "120"))
        self.poll_interval = float(options.get("feed_poll_interval", "15"))
        self.feed_timeout = float(options.get("feed_timeout", "3600"))
        self.feed_max_bytes = int(options.get("feed_max_bytes", "0")) or None
        self.token_url = options.get("token_url") or "/v3/token"
        # The token API goes through its own client (no auth, same buckets and retries): the
        # cached token's lock is held while it is fetched.
        self._token_http = MarketplaceHttp.for_account(
            account, buckets=buckets, rates=RATES, transport=transport
        )
        self.token = CachedToken(self._fetch_token, margin=float(options.get("token_margin", "60")))
        self.http = MarketplaceHttp.for_account(
            account, buckets=buckets, rates=RATES, transport=transport, auth=self.token
        )

    # -- plumbing -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {
            "WM_SVC.NAME": self.service_name,
            "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
            "Accept": "application/json",
        }
        if self.channel_type:
            headers["WM_CONSUMER.CHANNEL.TYPE"] = self.channel_type
        return headers

    async def _fetch_token(self, _client: httpx.AsyncClient) -> tuple[dict[str, str], float]:
        creds = self.account.credentials
        if not creds.get("client_id") or not creds.get("client_secret"):
            raise MarketplaceFailure(
                f"walmart:{self.account.channel}: client_id and client_secret are not configured",
                retryable=False,
            )
        basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode())
        headers = {**self._headers(), "Authorization": f"Basic {basic.decode()}"}
        body = await self._token_http.json(
            "tokenAPI",
            "POST",
            self.token_url,
            headers=headers,
            data={"grant_type": "client_credentials"},
        )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MarketplaceFailure(
                f"walmart:{self.account.channel} tokenAPI: no access_token in the answer",
                retryable=True,
            )
        return {"WM_SEC.ACCESS_TOKEN": str(body["access_token"])}, float(
            body.get("expires_in", 900)
        )

    async def _call(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return await self.http.request(operation, method, url, headers=headers, **kwargs)

    async def _json(self, operation: str, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        return await self.http.json(operation, method, url, headers=headers, **kwargs)

    def _require_ship_node(self) -> str:
        if not self.ship_node:
            raise MarketplaceFailure(
                f"walmart:{self.account.channel}: options.ship_node is not configured",
                retryable=False,
            )
        return self.ship_node

    # -- listings -------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> list[PushResult]:
        node = self._require_ship_node()
        results = []
        for listing in listings:
            if listing.currency not in CURRENCIES:
                results.append(PushResult(listing.sku, False, self._currency_error(listing)))
                continue
            sku = quote(listing.sku, safe="")
            inventory = await self._call(
                "updateMultiNodeInventory",
                "PUT",
                f"/v3/inventories/{sku}",
                json={
                    "inventories": {
                        "nodes": [
                            {
                                "shipNode": node,
                                "inputQty": {"unit": "EACH", "amount": max(0, listing.quantity)},
                            }
                        ]
                    }
                },
            )
            error = self._inventory_error(inventory, node)
            if error is None:
                price = await self._call(
                    "updatePrice",
                    "PUT",
                    "/v3/price",
                    json={
                        "sku": listing.sku,
                        "pricing": [
                            {
                                "currentPriceType": "BASE",
                                "currentPrice": {
                                    "currency": listing.currency,
                                    "amount": float(minor_to_decimal(listing.price)),
                                },
                            }
                        ],
                    },
                )
                error = self._price_error(price)
            results.append(PushResult(listing.sku, error is None, error))
        return results

    @staticmethod
    def _currency_error(listing: Listing) -> str:
        return f"Walmart takes prices in {' or '.join(CURRENCIES)}, not {listing.currency}"

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _inventory_error(self, response: httpx.Response, node: str) -> str | None:
        body = self._body(response)
        if response.status_code >= 400:
            return f"HTTP {response.status_code}: {_errors_text(body)}"
        for item in (body or {}).get("nodes", []) if isinstance(body, dict) else []:
            if item.get("shipNode") == node and str(item.get("status", "")).lower() != "success":
                return _errors_text(item)
        return None

    def _price_error(self, response: httpx.Response) -> str | None:
        body = self._body(response)
        if response.status_code >= 400:
            return f"HTTP {response.status_code}: {_errors_text(body)}"
        if isinstance(body, dict) and body.get("errors"):
            return _errors_text(body)
        return None

    async def push_bulk(self, listings: Sequence[Listing]) -> list[PushResult]:
        node = self._require_ship_node()
        sendable = [x for x in listings if x.currency in CURRENCIES]
        inventory = await self._run_feeds(
            "updateBulkInventory",
            "MP_INVENTORY",
            self._inventory_feeds(sendable, node),
        )
        prices = await self._run_feeds("priceBulkUploads", "price", self._price_feeds(sendable))
        results = []
        for listing in listings:
            if listing.currency not in CURRENCIES:
                results.append(PushResult(listing.sku, False, self._currency_error(listing)))
                continue
            missing = "not in the feed's report"
            errors = [
                e
                for e in (
                    inventory.outcome.get(listing.sku, missing),
                    prices.outcome.get(listing.sku, missing),
                )
                if e is not None
            ]
            results.append(PushResult(listing.sku, not errors, "; ".join(errors) or None))
        return results

    @staticmethod
    def _chunked(
        head: bytes, items: Iterator[tuple[str, bytes]], tail: bytes, limit: int
    ) -> Iterator[tuple[bytes, list[str]]]:
        """Feed documents of at most ``limit`` bytes, written item by item, with their SKUs."""
        buffer = io.BytesIO()
        skus: list[str] = []
        for sku, item in items:
            if skus and buffer.tell() + len(item) + len(tail) + 1 > limit:
                buffer.write(tail)
                yield buffer.getvalue(), skus
                buffer, skus = io.BytesIO(), []
            buffer.write(head if not skus else b",")
            buffer.write(item)
            skus.append(sku)
        if skus:
            buffer.write(tail)
            yield buffer.getvalue(), skus

    def _inventory_feeds(
        self, listings: Sequence[Listing], node: str
    ) -> Iterator[tuple[bytes, list[str]]]:
        """MP_INVENTORY feed documents (spec 1.5: quantities per ship node)."""
        node_json = json.dumps(node)
        items = (
            (
                x.sku,
                (
                    f'{{"sku":{json.dumps(x.sku)},"shipNodes":[{{"shipNode":{node_json},'
                    f'"quantity":{{"unit":"EACH","amount":{max(0, x.quantity)}}}}}]}}'
                ).encode(),
            )
            for x in listings
        )
        head = b'{"inventoryHeader":{"version":"1.5"},"inventory":['
        return self._chunked(head, items, b"]}", self.feed_max_bytes or INVENTORY_FEED_MAX_BYTES)

    def _price_feeds(self, listings: Sequence[Listing]) -> Iterator[tuple[bytes, list[str]]]:
        """Price feed documents (spec 1.7); amounts written as exact decimals."""
        items = (
            (
                x.sku,
                (
                    f'{{"sku":{json.dumps(x.sku)},"pricing":[{{"currentPriceType":"BASE",'
                    f'"currentPrice":{{"currency":{json.dumps(x.currency)},'
                    f'"amount":{minor_to_decimal(x.price)}}}}}]}}'
                ).encode(),
            )
            for x in listings
        )
        head = b'{"PriceHeader":{"version":"1.7"},"Price":['
        return self._chunked(head, items, b"]}", self.feed_max_bytes or PRICE_FEED_MAX_BYTES)

    async def _run_feeds(
        self, operation: str, feed_type: str, documents: Iterator[tuple[bytes, list[str]]]
    ) -> _FeedResult:
        outcome: dict[str, str | None] = {}
        for document, skus in documents:
            body = await self._json(
                operation,
                "POST",
                "/v3/feeds",
                params={"feedType": feed_type},
                files={"file": ("feed.json", document, "application/json")},
            )
            del document
            feed_id = str((body or {}).get("feedId") or "")
            if not feed_id:
                raise MarketplaceFailure(
                    f"walmart:{self.account.channel} {operation}: no feedId in the answer",
                    retryable=True,
                )
            failed = await self._await_feed(feed_id, outcome)
            for sku in skus:
                if failed is not None:
                    outcome[sku] = failed
                else:
                    outcome.setdefault(sku, f"feed {feed_id}: not in its item report")
        return _FeedResult(outcome)

    async def _await_feed(self, feed_id: str, outcome: dict[str, str | None]) -> str | None:
        """Wait for the feed, record each item's outcome; the feed's error when it failed
        as a whole."""
        url = f"/v3/feeds/{quote(feed_id, safe='')}"
        deadline = time.monotonic() + self.feed_timeout
        while True:
            status = await self._feed_page(url, 0)
            state = str(status.get("feedStatus", ""))
            if state in ("PROCESSED", "ERROR"):
                break
            if time.monotonic() > deadline:
                raise MarketplaceFailure(
                    f"walmart:{self.account.channel} feed {feed_id} still {state} after "
                    f"{self.feed_timeout:.0f} s",
                    retryable=True,
                )
            await asyncio.sleep(self.poll_interval)
        received = int(status.get("itemsReceived") or 0)
        offset = 0
        while True:
            details = (status.get("itemDetails") or {}).get("itemIngestionStatus") or []
            for item in details:
                ok = item.get("ingestionStatus") == "SUCCESS"
                outcome[str(item.get("sku", ""))] = (
                    None if ok else f"{item.get('ingestionStatus')}: {_errors_text(item)}"
                )
            offset += FEED_STATUS_PAGE
            if not details or offset >= received:
                break
            status = await self._feed_page(url, offset)
        if state == "ERROR" and not received:
            return f"feed {feed_id} failed: {_errors_text(status)}"
        return None

    async def _feed_page(self, url: str, offset: int) -> Any:
        body = await self._json(
            "getFeedItemStatus",
            "GET",
            url,
            params={
                "includeDetails": "true",
                "offset": str(offset),
                "limit": str(FEED_STATUS_PAGE),
            },
        )
        if not isinstance(body, dict):
            raise MarketplaceFailure(
                f"walmart:{self.account.channel} getFeedItemStatus: not a feed status",
                retryable=True,
            )
        return body

    # -- orders ---------------------------------------------------------------------------

    async def orders_since(self, since: datetime | None) -> OrderPage:
        started = datetime.now(UTC)
        params: dict[str, str] = {"limit": str(self.page_size)}
        if since is None:
            params["createdStartDate"] = utc_iso(started - timedelta(days=self.initial_days))
        else:
            params["lastModifiedStartDate"] = utc_iso(since)
        orders: dict[str, MarketplaceOrder] = {}
        url: str = "/v3/orders"
        query: dict[str, str] | None = params
        while True:
            response = await self._call("getAllOrders", "GET", url, params=query)
            if response.status_code == 404:  # Walmart answers 404 when no order matches
                break
            body = self._checked(response, "getAllOrders")
            listing = (body or {}).get("list") or {}
            for raw in (listing.get("elements") or {}).get("order") or []:
                order = self.parse_order(raw)
                orders[order.order_id] = order
            cursor = (listing.get("meta") or {}).get("nextCursor")
            if not cursor:
                break
            url, query = f"/v3/orders{cursor if cursor.startswith('?') else '?' + cursor}", None
        return OrderPage(
            tuple(sorted(orders.values(), key=lambda o: (o.updated_at, o.order_id))),
            started - timedelta(seconds=self.cursor_overlap),
        )

    def _checked(self, response: httpx.Response, operation: str) -> Any:
        if response.status_code >= 400:
            raise MarketplaceFailure(
                f"walmart:{self.account.channel} {operation}: HTTP {response.status_code}: "
                f"{_errors_text(self._body(response))}",
                status=response.status_code,
                retryable=False,
            )
        return self._body(response)

    async def order(self, order_id: str) -> MarketplaceOrder | None:
        response = await self._call("getAnOrder", "GET", f"/v3/orders/{quote(order_id, safe='')}")
        if response.status_code == 404:
            return None
        body = self._checked(response, "getAnOrder")
        raw = body.get("order", body) if isinstance(body, dict) else None
        if not isinstance(raw, dict):
            raise MarketplaceFailure(
                f"walmart:{self.account.channel} getAnOrder: no order in the answer", retryable=True
            )
        return self.parse_order(raw)

    @staticmethod
    def parse_order(raw: Mapping[str, Any]) -> MarketplaceOrder:
        """A Walmart purchase order (getAllOrders/getAnOrder shape) in the project's terms."""
        currency = ""
        shipping = 0
        lines = []
        placed = _from_ms(raw["orderDate"])
        updated = placed
        open_units = shipped_units = cancelled_units = refunded_units = 0
        for line in (raw.get("orderLines") or {}).get("orderLine") or []:
            quantity = int(str((line.get("orderLineQuantity") or {}).get("amount", "0")))
            product = 0
            for charge in (line.get("charges") or {}).get("charge") or []:
                amount = charge.get("chargeAmount") or {}
                currency = currency or str(amount.get("currency", ""))
                value = money_to_minor(amount.get("amount", 0))
                tax = (charge.get("tax") or {}).get("taxAmount") or {}
                value += money_to_minor(tax.get("amount", 0)) if tax else 0
                if charge.get("chargeType") == "SHIPPING":
                    shipping += value
                else:
                    product += value
            cancelled = 0
            for status in (line.get("orderLineStatuses") or {}).get("orderLineStatus") or []:
                units = int(str((status.get("statusQuantity") or {}).get("amount", "0")))
                name = status.get("status")
                if name == "Cancelled":
                    cancelled += units
                    cancelled_units += units
                elif name in _OPEN:
                    open_units += units
                elif name in _SHIPPED:
                    shipped_units += units
                elif name == "Refund":
                    refunded_units += units
            if line.get("statusDate"):
                updated = max(updated, _from_ms(line["statusDate"]))
            lines.append(
                MarketplaceOrderLine(
                    line_id=str(line["lineNumber"]),
                    sku=str((line.get("item") or {}).get("sku", "")),
                    quantity=quantity,
                    unit_price=round(product / quantity) if quantity else product,
                    cancelled=min(cancelled, quantity),
                )
            )
        if open_units:
            status_ = MarketplaceOrderStatus.UNSHIPPED
        elif shipped_units:
            status_ = MarketplaceOrderStatus.SHIPPED
        elif refunded_units:
            status_ = MarketplaceOrderStatus.REFUNDED
        elif cancelled_units:
            status_ = MarketplaceOrderStatus.CANCELLED
        else:
            status_ = MarketplaceOrderStatus.UNSHIPPED
        if not currency:
            total = (raw.get("orderSummary") or {}).get("totalAmount") or {}
            currency = str(total.get("currencyUnit", "USD"))
        info = raw.get("shippingInfo") or {}
        address = info.get("postalAddress") or {}
        return MarketplaceOrder(
            order_id=str(raw["purchaseOrderId"]),
            status=status_,
            currency=currency,
            placed_at=placed,
            updated_at=updated,
            lines=tuple(lines),
            buyer=MarketplaceBuyer(
                name=address.get("name") or None,
                email=raw.get("customerEmailId") or None,
                phone=info.get("phone") or None,
            ),
            ship_to={str(k): str(v) for k, v in address.items() if v not in (None, "")},
            shipping_total=shipping,
        )

    async def acknowledge(self, order: MarketplaceOrder) -> None:
        await self._json(
            "acknowledgeOrders", "POST", f"/v3/orders/{quote(order.order_id, safe='')}/acknowledge"
        )

    async def confirm_shipment(self, order: MarketplaceOrder, shipment: Shipment) -> None:
        carrier = CARRIERS.get(shipment.carrier.strip().lower())
        carrier_name = {"carrier": carrier} if carrier else {"otherCarrier": shipment.carrier}
        method = next(
            (m for m in ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
             if m.lower() == shipment.method.strip().lower()),
            "Standard",
        )  # fmt: skip
        lines = [
            {
                "lineNumber": line.line_id,
                "sellerOrderId": order.order_id,
                "orderLineStatuses": {
                    "orderLineStatus": [
                        {
                            "status": "Shipped",
                            "statusQuantity": {
                                "unitOfMeasurement": "EACH",
                                "amount": str(line.quantity),
                            },
                            "trackingInfo": {
                                "shipDateTime": _ms(shipment.shipped_at),
                                "carrierName": carrier_name,
                                "methodCode": method,
                                "trackingNumber": shipment.tracking_number,
                            },
                        }
                    ]
                },
            }
            for line in shipment.lines
        ]
        await self._json(
            "shippingUpdates",
            "POST",
            f"/v3/orders/{quote(order.order_id, safe='')}/shipping",
            json={"orderShipment": {"orderLines": {"orderLine": lines}}},
        )

    @staticmethod
    def cancellation_reason(reason: str) -> str:
        """The cancellationReason Walmart takes for a free-text or coded reason."""
        upper = reason.strip().upper()
        if upper in CANCEL_REASONS:
            return upper
        for word, code in (
            ("PRIC", "SELLER_CANCEL_PRICING_ERROR"),
            ("FRAUD", "SELLER_CANCEL_FRAUD_STOP_SHIPMENT"),
            ("ADDRESS", "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE"),
            ("CUSTOMER", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"),
            ("BUYER", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"),
        ):
            if word in upper:
                return code
        return "SELLER_CANCEL_OUT_OF_STOCK"

    async def cancel(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        code = self.cancellation_reason(reason)
        body = {
            "orderCancellation": {
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": line.line_id,
                            "orderLineStatuses": {
                                "orderLineStatus": [
                                    {
                                        "status": "Cancelled",
                                        "cancellationReason": code,
                                        "statusQuantity": {
                                            "unitOfMeasurement": "EACH",
                                            "amount": str(line.quantity),
                                        },
                                    }
                                ]
                            },
                        }
                        for line in lines
                    ]
                }
            }
        }
        await self._json(
            "cancelOrderLines",
            "POST",
            f"/v3/orders/{quote(order.order_id, safe='')}/cancel",
            json=body,
        )

    @staticmethod
    def refund_reason(reason: str) -> str:
        """The refundReason Walmart takes for a free-text or coded reason."""
        squashed = reason.replace("_", "").replace(" ", "").lower()
        for code in REFUND_REASONS:
            if code.lower() == squashed:
                return code
        for word, code in (
            ("damag", "DamagedItem"),
            ("defect", "DefectiveItem"),
            ("mind", "CustomerChangedMind"),
            ("return", "CustomerChangedMind"),
            ("late", "CustomerReceivedItemLate"),
            ("notreceived", "ItemNotReceivedByCustomer"),
            ("shipping", "IncorrectShippingPrice"),
            ("cancel", "CancelledYetShipped"),
            ("billing", "BillingError"),
        ):
            if word in squashed:
                return code
        return "Others"

    async def refund(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        code = self.refund_reason(reason)
        body = {
            "orderRefund": {
                "purchaseOrderId": order.order_id,
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": line.line_id,
                            "isFullRefund": False,
                            "refunds": {
                                "refund": [
                                    {
                                        "refundComments": reason[:200] or code,
                                        "refundCharges": {
                                            "refundCharge": [
                                                {
                                                    "refundReason": code,
                                                    "charge": {
                                                        "chargeType": "PRODUCT",
                                                        "chargeName": "Item Price",
                                                        "chargeAmount": {
                                                            "currency": order.currency,
                                                            "amount": -float(
                                                                minor_to_decimal(line.amount)
                                                            ),
                                                        },
                                                    },
                                                }
                                            ]
                                        },
                                    }
                                ]
                            },
                        }
                        for line in lines
                    ]
                },
            }
        }
        await self._json(
            "refundOrderLines",
            "POST",
            f"/v3/orders/{quote(order.order_id, safe='')}/refund",
            json=body,
        )

    # -- notifications --------------------------------------------------------------------

    def order_ids_in_notification(self, body: bytes, headers: dict[str, str]) -> list[str]:
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("not a Walmart notification: the body is not JSON") from None
        if not isinstance(event, dict):
            raise ValueError("not a Walmart notification: the body is not an object")
        source, payload = event.get("source"), event.get("payload")
        if not isinstance(source, dict) or not isinstance(payload, dict):
            raise ValueError("not a Walmart notification: no source and payload")
        event_type = str(source.get("eventType", ""))
        if not event_type:
            raise ValueError("not a Walmart notification: no source.eventType")
        if event_type not in ORDER_EVENTS and "purchaseOrderId" not in payload:
            return []  # an item, price or other event
        nested = payload.get("order")
        order: dict[str, Any] = nested if isinstance(nested, dict) else payload
        ids: list[str] = []
        for candidate in (order.get("purchaseOrderId"), payload.get("purchaseOrderId")):
            if candidate and str(candidate) not in ids:
                ids.append(str(candidate))
        if not ids:
            raise ValueError(f"Walmart {event_type} notification without a purchaseOrderId")
        return ids

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._token_http.aclose()
