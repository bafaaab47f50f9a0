"""Amazon Selling Partner API (SP-API) as a marketplace: Listings Items 2021-08-01 for a few
SKUs, Feeds 2021-06-30 (JSON_LISTINGS_FEED) for bulk pushes, Orders 2026-01-01 to read orders,
Orders v0 ``confirmShipment`` to ship, Login with Amazon (LWA) for access tokens.

Options (``account.options``): ``seller_id`` and ``marketplace_id`` (required), ``product_type``
(default ``PRODUCT``), ``token_url`` (default LWA's), ``currency`` (when an order carries no
amount), ``fulfillment_channel_code`` (``DEFAULT``: the seller ships), ``feed_poll`` (seconds
between ``getFeed`` polls, default 30), ``feed_timeout`` (default 3600), ``feed_max_messages``
(default 25,000, the feed schema's ``maxItems``), ``orders_page_size`` (1..100, default 100),
``lookback_days`` (orders pulled when no cursor is known, default 30), ``concurrency``
(requests in flight for per-SKU pushes, default 5), ``token_margin`` (seconds before expiry a
token is refreshed, default 60), plus the common ``rate_scale``, ``attempts``, ``backoff_initial``,
``backoff_jitter``, ``backoff_max`` and ``timeout`` (see ``MarketplaceHttp.for_account``).

What the given API descriptions do not offer, the adapter does not pretend to do:

- ``acknowledge`` sends nothing: SP-API has no order acknowledgement operation (an ``Unshipped``
  order is the seller's to ship; its status moves on with ``confirmShipment``).
- ``cancel`` and ``refund`` raise ``MarketplaceFailure(retryable=False)``: neither the Orders
  APIs nor the Listings/Feeds descriptions given here define a seller cancellation or refund
  operation (Amazon takes them as order-acknowledgement/adjustment feeds whose document formats
  are not part of these descriptions). They are done in Seller Central.

Expired access tokens: SP-API answers ``403`` with code ``Unauthorized`` ("Expired Token" per
every operation's 403 description), not ``401``; ``MarketplaceHttp`` is told so
(``token_refused``): it forgets the token and repeats the call with a fresh one, as for ``401``.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import zlib
from collections.abc import Iterable, Sequence
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
    redact,
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

log = logging.getLogger("o2o.marketplaces.amazon")

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
FEED_TYPE = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_MAX_MESSAGES = 25_000  # listings-feed-schema-v2.json: messages.maxItems
ORDER_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "CANCELLATION", "FULFILLMENT")
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})

# Default usage plans, from each operation's description ("Rate (requests per second) | Burst")
# in the Swagger files of ../shared/specs/amazon-sp-api/ (multiplied by options.rate_scale).
DOCUMENTED_RATES: dict[str, tuple[float, int]] = {
    "patchListingsItem": (5.0, 5),  # listingsItems_2021-08-01.json
    "createFeedDocument": (0.5, 15),  # feeds_2021-06-30.json
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "searchOrders": (0.0056, 20),  # orders_2026-01-01.json
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),  # ordersV0.json
}
# Not SP-API operations (no documented plan): LWA token requests and the feed documents' own
# pre-signed URLs; kept modest, scaled like the others.
OTHER_RATES: dict[str, tuple[float, int]] = {
    "lwaToken": (1.0, 5),
    "uploadFeedDocument": (5.0, 15),
    "downloadFeedDocument": (5.0, 15),
}
RATES = {op: Rate(*figures) for op, figures in {**DOCUMENTED_RATES, **OTHER_RATES}.items()}

FULFILLMENT_STATUS = {
    "PENDING_AVAILABILITY": MarketplaceOrderStatus.PENDING,
    "PENDING": MarketplaceOrderStatus.PENDING,
    "UNSHIPPED": MarketplaceOrderStatus.UNSHIPPED,
    "PARTIALLY_SHIPPED": MarketplaceOrderStatus.UNSHIPPED,
    "SHIPPED": MarketplaceOrderStatus.SHIPPED,
    "CANCELLED": MarketplaceOrderStatus.CANCELLED,
    "UNFULFILLABLE": MarketplaceOrderStatus.CANCELLED,
}
ADDRESS_FIELDS = (
    "name", "companyName", "addressLine1", "addressLine2", "addressLine3", "city",
    "districtOrCounty", "stateOrRegion", "municipality", "postalCode", "countryCode", "phone",
)  # fmt: skip


def _exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _errors_text(response: httpx.Response) -> str:
    """The ``errors`` of an SP-API error body as one line (redacted), else its text."""
    try:
        body = response.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            parts = []
            for e in errors:
                text = f"{e.get('code', '')}: {e.get('message', '')}"
                if e.get("details"):
                    text += f" ({e['details']})"
                parts.append(text)
            return redact("; ".join(parts))
    except (ValueError, AttributeError):
        pass
    return redact(response.text[:500])


def _token_refused(response: httpx.Response) -> bool:
    """SP-API's answer to an expired or revoked access token: 403 with code Unauthorized (or
    a plain 401)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(e, dict) and e.get("code") == "Unauthorized" for e in errors)


def listing_patches(
    listing: Listing, *, marketplace_id: str, channel_code: str
) -> list[dict[str, Any]]:
    """The JSON-Patch operations that set a listing's quantity and price (absolute values)."""
    price = float(minor_to_decimal(listing.price, _exponent(listing.currency)))
    return [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": channel_code, "quantity": listing.quantity}],
        },
        {
            "op": "replace",
            "path": "/attributes/purchasable_offer",
            "value": [
                {
                    "marketplace_id": marketplace_id,
                    "currency": listing.currency,
                    "our_price": [{"schedule": [{"value_with_tax": price}]}],
                }
            ],
        },
    ]


def write_feed_document(
    out: io.RawIOBase | io.BufferedIOBase | io.BytesIO,
    listings: Iterable[Listing],
    *,
    seller_id: str,
    marketplace_id: str,
    product_type: str,
    channel_code: str,
) -> int:
    """Write a JSON_LISTINGS_FEED document (listings-feed-schema-v2) to ``out`` one message at
    a time (no list of messages is ever built); returns the number of messages."""
    header = {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}
    out.write(b'{"header":' + json.dumps(header, separators=(",", ":")).encode())
    out.write(b',"messages":[')
    count = 0
    for count, listing in enumerate(listings, start=1):
        message = {
            "messageId": count,
            "sku": listing.sku,
            "operationType": "PATCH",
            "productType": product_type,
            "patches": listing_patches(
                listing, marketplace_id=marketplace_id, channel_code=channel_code
            ),
        }
        if count > 1:
            out.write(b",")
        out.write(json.dumps(message, separators=(",", ":")).encode())
    out.write(b"]}")
    return count


class AmazonMarketplace:
    """One SP-API seller account in one marketplace (``options.marketplace_id``)."""

    kind = MarketplaceKind.AMAZON
    # per-SKU patches (5/s) push 600 SKUs in the 2 minutes createFeed's rate (after its burst)
    # leaves between two feeds, with no feed processing time: the feed only pays past that
    bulk_threshold = 600

    def __init__(
        self,
        account: MarketplaceAccount,
        *,
        buckets: Buckets,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = account.options
        self.account = account
        self.seller_id = options.get("seller_id", "")
        self.marketplace_id = options.get("marketplace_id", "")
        if not self.seller_id or not self.marketplace_id:
            raise ValueError(f"{account!r}: options seller_id and marketplace_id are required")
        self.product_type = options.get("product_type", "PRODUCT")
        self.channel_code = options.get("fulfillment_channel_code", "DEFAULT")
        self.currency = options.get("currency", "EUR")
        self.token_url = options.get("token_url", LWA_TOKEN_URL)
        self.feed_poll = float(options.get("feed_poll", "30"))
        self.feed_timeout = float(options.get("feed_timeout", "3600"))
        self.feed_max_messages = max(
            1, min(FEED_MAX_MESSAGES, int(options.get("feed_max_messages", FEED_MAX_MESSAGES)))
        )
        self.page_size = max(1, min(100, int(options.get("orders_page_size", "100"))))
        self.lookback = timedelta(days=float(options.get("lookback_days", "30")))
        self.concurrency = max(1, int(options.get("concurrency", "5")))
        # Token requests and pre-signed document URLs must not carry the access token.
        self._plain = MarketplaceHttp.for_account(
            account, base_url="", buckets=buckets, rates=RATES, transport=transport
        )
        self.token = CachedToken(self._fetch_token, margin=float(options.get("token_margin", "60")))
        self.http = MarketplaceHttp.for_account(
            account,
            buckets=buckets,
            rates=RATES,
            transport=transport,
            auth=self.token,
            token_refused=_token_refused,
            error_text=_errors_text,
        )

    # -- plumbing ---------------------------------------------------------------------------

    async def _fetch_token(self, _client: httpx.AsyncClient) -> tuple[dict[str, str], float]:
        creds = self.account.credentials
        response = await self._plain.request(
            "lwaToken",
            "POST",
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": creds.get("refresh_token", ""),
                "client_id": creds.get("client_id", ""),
                "client_secret": creds.get("client_secret", ""),
            },
        )
        if response.status_code != 200:
            raise MarketplaceFailure(
                f"amazon:{self.account.channel} LWA token refused: HTTP "
                f"{response.status_code}: {redact(response.text[:300])}",
                status=response.status_code,
                retryable=False,
            )
        body = response.json()
        return {"x-amz-access-token": str(body["access_token"])}, float(
            body.get("expires_in", 3600)
        )

    # -- listings ---------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> list[PushResult]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(listing: Listing) -> PushResult:
            async with gate:
                return await self._patch_listing(listing)

        outcomes = await asyncio.gather(
            *(one(listing) for listing in listings), return_exceptions=True
        )
        results: list[PushResult] = []
        for outcome in outcomes:  # every call finished: none is left running on a failure
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        return results

    async def _patch_listing(self, listing: Listing) -> PushResult:
        seller, sku = quote(self.seller_id, safe=""), quote(listing.sku, safe="")
        url = f"/listings/2021-08-01/items/{seller}/{sku}"
        body = {
            "productType": self.product_type,
            "patches": listing_patches(
                listing, marketplace_id=self.marketplace_id, channel_code=self.channel_code
            ),
        }
        response = await self.http.request(
            "patchListingsItem",
            "PATCH",
            url,
            params={"marketplaceIds": self.marketplace_id, "includedData": "issues"},
            json=body,
        )
        if response.status_code == 400:
            return PushResult(listing.sku, False, _errors_text(response))
        if response.status_code >= 400:
            raise self.http.refusal("patchListingsItem", response)
        answer = response.json()
        errors = [i for i in answer.get("issues") or [] if i.get("severity") == "ERROR"]
        if answer.get("status") == "ACCEPTED" and not errors:
            return PushResult(listing.sku, True)
        text = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in errors)
        return PushResult(listing.sku, False, text or f"status {answer.get('status')}")

    async def push_bulk(self, listings: Sequence[Listing]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(listings), self.feed_max_messages):
            chunk = listings[start : start + self.feed_max_messages]
            results.extend(await self._push_feed(chunk))
        return results

    async def _push_feed(self, chunk: Sequence[Listing]) -> list[PushResult]:
        document = await self.http.json(
            "createFeedDocument",
            "POST",
            "/feeds/2021-06-30/documents",
            json={"contentType": FEED_CONTENT_TYPE},
        )
        buffer = io.BytesIO()
        write_feed_document(
            buffer,
            chunk,
            seller_id=self.seller_id,
            marketplace_id=self.marketplace_id,
            product_type=self.product_type,
            channel_code=self.channel_code,
        )
        upload = await self._plain.request(
            "uploadFeedDocument",
            "PUT",
            document["url"],
            content=buffer.getvalue(),
            headers={"content-type": FEED_CONTENT_TYPE},
        )
        del buffer
        if upload.status_code >= 300:
            raise MarketplaceFailure(
                f"amazon:{self.account.channel} feed document upload: HTTP {upload.status_code}",
                status=upload.status_code,
                retryable=upload.status_code >= 500,
            )
        created = await self.http.json(
            "createFeed",
            "POST",
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": FEED_TYPE,
                "marketplaceIds": [self.marketplace_id],
                "inputFeedDocumentId": document["feedDocumentId"],
            },
        )
        feed_id = str(created["feedId"])
        feed = await self._wait_for_feed(feed_id)
        status = feed["processingStatus"]
        report: dict[str, Any] = {}
        if feed.get("resultFeedDocumentId"):
            report = await self._download_report(str(feed["resultFeedDocumentId"]))
        return self._results(chunk, status, feed_id, report)

    async def _wait_for_feed(self, feed_id: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.feed_timeout
        while True:
            feed: dict[str, Any] = await self.http.json(
                "getFeed", "GET", f"/feeds/2021-06-30/feeds/{quote(feed_id, safe='')}"
            )
            if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
                return feed
            if loop.time() >= deadline:
                raise MarketplaceFailure(
                    f"amazon:{self.account.channel} feed {feed_id} still "
                    f"{feed['processingStatus']} after {self.feed_timeout:g} s",
                    retryable=True,
                )
            await asyncio.sleep(self.feed_poll)

    async def _download_report(self, document_id: str) -> dict[str, Any]:
        info = await self.http.json(
            "getFeedDocument", "GET", f"/feeds/2021-06-30/documents/{quote(document_id, safe='')}"
        )
        response = await self._plain.request("downloadFeedDocument", "GET", info["url"])
        if response.status_code >= 300:
            raise MarketplaceFailure(
                f"amazon:{self.account.channel} processing report download: HTTP "
                f"{response.status_code}",
                status=response.status_code,
                retryable=response.status_code >= 500,
            )
        content = response.content
        if info.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        report: dict[str, Any] = json.loads(content)
        return report

    def _results(
        self, chunk: Sequence[Listing], status: str, feed_id: str, report: dict[str, Any]
    ) -> list[PushResult]:
        """One result per message: refused when the report has an ERROR issue for it (by
        messageId, else by SKU) or for the whole feed (an issue naming no message)."""
        by_message: dict[int, list[str]] = {}
        by_sku: dict[str, list[str]] = {}
        whole: list[str] = []
        for issue in report.get("issues") or []:
            if issue.get("severity") != "ERROR":
                continue
            text = f"{issue.get('code', 'ERROR')}: {issue.get('message', '')}"
            if isinstance(issue.get("messageId"), int):
                by_message.setdefault(issue["messageId"], []).append(text)
            elif issue.get("sku"):
                by_sku.setdefault(str(issue["sku"]), []).append(text)
            else:
                whole.append(text)
        if status != "DONE" and not whole and not by_message and not by_sku:
            whole.append(f"feed {feed_id} {status}")
        results = []
        for number, listing in enumerate(chunk, start=1):
            errors = whole + by_message.get(number, []) + by_sku.get(listing.sku, [])
            if errors:
                results.append(PushResult(listing.sku, False, "; ".join(errors)))
            else:
                results.append(PushResult(listing.sku, True))
        return results

    # -- orders -----------------------------------------------------------------------------

    async def orders_since(self, since: datetime | None) -> OrderPage:
        after = since or (datetime.now(UTC) - self.lookback)
        params: dict[str, str] = {
            "lastUpdatedAfter": utc_iso(after),
            "marketplaceIds": self.marketplace_id,
            "includedData": ",".join(ORDER_DATA),
            "maxResultsPerPage": str(self.page_size),
        }
        orders: list[MarketplaceOrder] = []
        cursor: datetime | None = None
        latest = after
        token: str | None = None
        while True:
            page_params = dict(params, paginationToken=token) if token else params
            body = await self.http.json(
                "searchOrders", "GET", "/orders/2026-01-01/orders", params=page_params
            )
            if cursor is None and body.get("lastUpdatedBefore"):
                cursor = _parse_time(body["lastUpdatedBefore"])
            for raw in body.get("orders") or []:
                order = self._order(raw)
                orders.append(order)
                latest = max(latest, order.updated_at)
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                break
        return OrderPage(tuple(orders), cursor or latest)

    async def order(self, order_id: str) -> MarketplaceOrder | None:
        response = await self.http.request(
            "getOrder",
            "GET",
            f"/orders/2026-01-01/orders/{quote(order_id, safe='')}",
            params={"includedData": ",".join(ORDER_DATA)},
        )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self.http.refusal("getOrder", response)
        return self._order(response.json()["order"])

    def _order(self, raw: dict[str, Any]) -> MarketplaceOrder:
        fulfillment_status = (raw.get("fulfillment") or {}).get("fulfillmentStatus", "PENDING")
        status = FULFILLMENT_STATUS.get(fulfillment_status, MarketplaceOrderStatus.PENDING)
        currency = ""
        lines = []
        for item in raw.get("orderItems") or []:
            product = item.get("product") or {}
            unit = (product.get("price") or {}).get("unitPrice") or {}
            currency = currency or unit.get("currencyCode", "")
            quantity = int(item.get("quantityOrdered", 0))
            if status is MarketplaceOrderStatus.CANCELLED:
                cancelled = quantity
            elif (item.get("cancellation") or {}).get("cancellationExecution"):
                shipped = int((item.get("fulfillment") or {}).get("quantityFulfilled", 0))
                cancelled = max(0, quantity - shipped)
            else:
                cancelled = 0
            lines.append(
                MarketplaceOrderLine(
                    line_id=str(item["orderItemId"]),
                    sku=str(product.get("sellerSku", "")),
                    quantity=quantity,
                    unit_price=money_to_minor(
                        unit.get("amount", "0"), _exponent(unit.get("currencyCode", "EUR"))
                    ),
                    cancelled=cancelled,
                )
            )
        proceeds = raw.get("proceeds") or {}
        currency = currency or (proceeds.get("grandTotal") or {}).get("currencyCode", "")
        currency = currency or self.currency
        shipping = sum(
            money_to_minor(b["subtotal"]["amount"], _exponent(currency))
            for b in proceeds.get("breakdowns") or []
            if b.get("type") == "SHIPPING"
        )
        buyer = raw.get("buyer") or {}
        address = (raw.get("recipient") or {}).get("deliveryAddress") or {}
        return MarketplaceOrder(
            order_id=str(raw["orderId"]),
            status=status,
            currency=currency,
            placed_at=_parse_time(raw["createdTime"]),
            updated_at=_parse_time(raw["lastUpdatedTime"]),
            lines=tuple(lines),
            buyer=MarketplaceBuyer(
                name=buyer.get("buyerName") or address.get("name") or None,
                email=buyer.get("buyerEmail") or None,
                phone=address.get("phone") or None,
            ),
            ship_to={k: str(address[k]) for k in ADDRESS_FIELDS if address.get(k)},
            shipping_total=shipping,
        )

    async def acknowledge(self, order: MarketplaceOrder) -> None:
        """Nothing to send: SP-API has no acknowledgement (see the module's docstring)."""
        return None

    async def confirm_shipment(self, order: MarketplaceOrder, shipment: Shipment) -> None:
        # A positive number unique within the order; derived from the tracking number, so a
        # repeated confirmation names the same package.
        package = str(zlib.crc32(shipment.tracking_number.encode()) % 999_999_999 + 1)
        await self.http.json(
            "confirmShipment",
            "POST",
            f"/orders/v0/orders/{quote(order.order_id, safe='')}/shipmentConfirmation",
            json={
                "marketplaceId": self.marketplace_id,
                "packageDetail": {
                    "packageReferenceId": package,
                    "carrierCode": shipment.carrier,
                    "carrierName": shipment.carrier,
                    "shippingMethod": shipment.method,
                    "trackingNumber": shipment.tracking_number,
                    "shipDate": utc_iso(shipment.shipped_at),
                    "orderItems": [
                        {"orderItemId": line.line_id, "quantity": line.quantity}
                        for line in shipment.lines
                    ],
                },
            },
        )

    async def cancel(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        raise MarketplaceFailure(
            f"amazon:{self.account.channel} cannot cancel order {order.order_id} through the "
            "API: the Orders APIs offer no seller cancellation; cancel it in Seller Central",
            retryable=False,
        )

    async def refund(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        raise MarketplaceFailure(
            f"amazon:{self.account.channel} cannot refund order {order.order_id} through the "
            "API: the Orders APIs offer no refund operation; refund it in Seller Central",
            retryable=False,
        )

    # -- notifications ----------------------------------------------------------------------

    def order_ids_in_notification(self, body: bytes, headers: dict[str, str]) -> list[str]:
        """The AmazonOrderId of an ORDER_CHANGE notification (as delivered in an SQS message
        body, or as an EventBridge event's ``detail``); [] for other notification types."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"not an SP-API notification: {error}") from None
        if isinstance(data, dict) and isinstance(data.get("detail"), dict):
            data = data["detail"]
        if not isinstance(data, dict):
            raise ValueError("not an SP-API notification (a JSON object)")
        # ORDER_CHANGE and older types spell the envelope in PascalCase, newer ones
        # (FEED_PROCESSING_FINISHED...) in camelCase
        kind = data.get("NotificationType", data.get("notificationType"))
        payload = data.get("Payload", data.get("payload"))
        if not isinstance(kind, str) or not isinstance(payload, dict):
            raise ValueError("not an SP-API notification (NotificationType and Payload)")
        if kind != "ORDER_CHANGE":
            return []
        change = payload.get("OrderChangeNotification")
        if not isinstance(change, dict) or not isinstance(change.get("AmazonOrderId"), str):
            raise ValueError("ORDER_CHANGE notification without an AmazonOrderId")
        return [change["AmazonOrderId"]]

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._plain.aclose()
